"""
The documentation's examples run, and the code shown in the pages is the code of the examples.
"""

from __future__ import annotations

import ast
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rrset
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def pythonBlocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), re.S)


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_blocksCompile(page: Path) -> None:
    """
    Every Python block in the pages is valid Python.
    """
    for block in pythonBlocks(page):
        compile(block, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_transportPageShowsTheExample() -> None:
    """
    The transport page's example is the body of the runnable example file.
    """
    (block,) = pythonBlocks(DOCS / "transport.md")
    assert block.strip() in (DOCS / "examples" / "dnsquery.py").read_text()


@pytest.mark.parametrize(
    "page, examples",
    [
        ("endpoints.md", ["https_get.py", "dane_lines.py", "dane_client.tac"]),
        ("mail.md", ["mail_send.py", "mail_factory.py"]),
        ("xmpp.md", ["xmpp_send.py"]),
        ("twisted.md", ["treq_get.py", "irc_join.py", "pb_call.py", "xmlrpc_call.py"]),
    ],
)
def test_pagesShowTheirExamples(page: str, examples: list[str]) -> None:
    """
    Each example block of a page (but the first, a sketch) is part of a runnable example file.
    """
    sources = "".join((DOCS / "examples" / name).read_text() for name in examples)
    blocks = pythonBlocks(DOCS / page)
    shown = [b for b in blocks if b.strip() in sources]
    assert len(shown) == len(examples), [b[:60] for b in blocks]


@pytest.fixture
def responder() -> Iterator[int]:
    """
    A loopback UDP server answering every query with one TLSA record.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, addr = sock.recvfrom(65535)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            response = dns.message.make_response(query)
            response.answer.append(
                dns.rrset.from_text(query.question[0].name, 300, "IN", "TLSA", "3 1 1 " + "ab" * 32)
            )
            sock.sendto(response.to_wire(), addr)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


def test_dnsqueryExample(responder: int) -> None:
    """
    docs/examples/dnsquery.py prints the answer of a real server.
    """
    output = subprocess.run(
        [
            sys.executable,
            str(DOCS / "examples" / "dnsquery.py"),
            f"127.0.0.1#{responder}",
            "_443._tcp.www.example.test",
            "TLSA",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert output.stdout.strip() == ("_443._tcp.www.example.test. 300 IN TLSA 3 1 1 " + "ab" * 32)


def test_rolloverPageShowsTheScript() -> None:
    """
    The rollover page shows the hook script as it is.
    """
    page = (DOCS / "rollover.md").read_text()
    (block,) = re.findall(r"```bash\n(.*?)```", page, re.S)
    assert block == (DOCS / "examples" / "dane-rollover.sh").read_text()

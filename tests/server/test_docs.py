"""
docs/server.md: its examples run, its option names work, its table is the fixture's.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus, main
from txdane.server.keys import writeKeyFiles
from txdane.server.signing import SigningKey
from txdane.server.tap import Options
from txdane.testing import CASES


def optionalProgram(name: str) -> str:
    """
    The path of C{name}, a program of BIND's server package that CI does not install; skip
    the test without it.
    """
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


ROOT = Path(__file__).resolve().parent.parent.parent
PAGE = ROOT / "docs" / "server.md"
EXAMPLE = ROOT / "docs" / "examples" / "hierarchy.py"
ZONE = """$ORIGIN example.com.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
_443._tcp.www IN TLSA 3 1 1 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
"""


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), re.S)


def test_hierarchyExampleRuns() -> None:
    """
    The example program prints the signed TLSA record and the trust anchor; the page shows
    its main function.
    """
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "IN TLSA 3 1 1 abab" in result.stdout
    assert "IN RRSIG TLSA 13 5 300" in result.stdout
    assert re.search(r"^\. 3600 IN DS \d+ 13 2 [0-9a-f]{64}$", result.stdout, re.M)
    shown = blocks("python")[1]
    assert shown in EXAMPLE.read_text()


def test_tableIsTheFixtures() -> None:
    """
    The verdict table lists exactly L{CASES}, in order.
    """
    rows = re.findall(r"^\| `([^`]+)` \| (\w+) \| (\w+) \| (\w+)", PAGE.read_text(), re.M)
    expected = [(c.name, c.rdtype, c.rcode, c.status.value) for c in CASES]
    assert rows == expected


def test_documentedCommandLines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The keygen command works as shown, in a directory holding nothing yet, and the twistd
    line's options parse with its key.
    """
    keygen, twistd, _ = blocks("sh")
    argv = shlex.split(keygen.splitlines()[0])[1:]
    monkeypatch.chdir(tmp_path)
    assert main(argv) == ExitStatus.OK
    (public,) = (tmp_path / "keys").glob("Kexample.com.+013+*.key")
    (tmp_path / "example.com.zone").write_text(ZONE)
    words = shlex.split(twistd.replace("\\\n", " "))
    assert words[:3] == ["twistd", "-n", "txdane-dns"]
    options = words[3:]
    options[options.index("--key") + 1] = str(public)[: -len(".key")]
    zone = options.index("--zone") + 1
    options[zone] = f"example.com.={tmp_path / 'example.com.zone'}"
    parsed = Options()
    parsed.parseOptions(options)
    assert parsed["interfaces"] == ["192.0.2.53", "2001:db8::53"]
    assert parsed["loaded"][0].signed


class InProcessExampleTests(TestCase):
    async def test_serveZone(self) -> None:
        """
        The in-process example serves its zone on one port for UDP and TCP.
        """
        directory = Path(tempfile.mkdtemp())
        path = directory / "example.com.zone"
        path.write_text(ZONE)
        namespace: dict[str, object] = {}
        exec(blocks("python")[0], namespace)
        server = await namespace["serveZone"](reactor, str(path))  # type: ignore[operator]
        self.addCleanup(server.stop)
        query = dns.message.make_query("_443._tcp.www.example.com.", "TLSA")
        for send in (dns.query.udp, dns.query.tcp):
            response = await deferToThread(send, query, server.host, port=server.port, timeout=5)
            self.assertEqual(response.rcode(), dns.rcode.NOERROR)
            self.assertEqual(len(response.answer), 1)


def test_documentedUpdateLines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The dynamic update example's tsig-keygen line writes a key file that the twistd line's
    --allow-update reads, with the grant the page describes.
    """
    _, _, updates = blocks("sh")
    keygen, twistd = updates.split("\n", 1)
    monkeypatch.chdir(tmp_path)
    program = optionalProgram("tsig-keygen")
    words = shlex.split(keygen)
    assert words[0] == "tsig-keygen" and words[-2] == ">"
    result = subprocess.run([program, *words[1:-2]], capture_output=True, text=True, check=True)
    (tmp_path / words[-1]).write_text(result.stdout)
    key = SigningKey.generate()
    public = writeKeyFiles(dns.name.from_text("example.com."), key, tmp_path).public
    (tmp_path / "example.com.zone").write_text(ZONE)
    options = shlex.split(twistd.replace("\\\n", " "))[3:]
    options[options.index("--key") + 1] = str(public)[: -len(".key")]
    parsed = Options()
    parsed.parseOptions(options)
    (grant,) = parsed["updateGrants"]
    assert grant.key.name == dns.name.from_text("tlsa-updater.")
    assert grant.suffix == dns.name.from_text("_tcp.mail.example.com.")
    assert grant.types == frozenset({dns.rdatatype.TLSA})

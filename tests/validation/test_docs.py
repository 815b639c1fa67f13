"""
The examples of docs/validation.md run, in order, against the signed test hierarchy.
"""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent.parent / "docs" / "validation.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)


def test_examplesRun(capsys) -> None:
    found = blocks()
    # The first example talks to the system's resolvers: it only has to compile.
    compile(found[0], str(PAGE), "exec")
    assert "ValidatingResolver(DNSClient(reactor))" in found[0]
    namespace: dict[str, object] = {}
    for block in found[1:]:
        exec(compile(block, str(PAGE), "exec"), namespace)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("nosig.example.test. A: bogus (EDE 10): ")
    assert printed[1].startswith("_443._tcp.www.example.test. TLSA: lookup failed: query ")
    assert printed[2] == (
        "trust anchors from <text>: . A: only DS and DNSKEY records can be trust anchors"
    )
    assert printed[3].startswith(
        "trust anchors from <anchors>: every trust anchor of . uses an unsupported digest type 3 "
    )
    assert printed[4] == ";;id: . 1"
    assert len(namespace["answers"]) == 7  # type: ignore[arg-type]

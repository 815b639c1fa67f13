"""
The records C{txdane verify} checks against offline: C{--tlsa-file} reads zone-file lines as
zone files write them (owner, TTL, class, type, parentheses over several lines) and refuses
lines of other types; C{--tlsa} takes the four fields and says so when given a zone-file line.
"""

from __future__ import annotations

from pathlib import Path

import dns.name
import pytest

from txdane.cli import ExitStatus, UsageError, main
from txdane.cli.verify import readRecords
from txdane.dane.tlsa import TLSARecord

SHA = "8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1"
RECORD = TLSARecord.fromText(f"3 1 1 {SHA}")


def fromFile(tmp_path: Path, text: str) -> tuple[TLSARecord, ...]:
    path = tmp_path / "records"
    path.write_text(text)
    records = readRecords([], path)
    assert records is not None
    return records


@pytest.mark.parametrize(
    "text",
    [
        f"3 1 1 {SHA}\n",
        f"DANE-EE SPKI SHA2-256 {SHA}\n",
        f"_443._tcp.www.example.test. 300 IN TLSA 3 1 1 {SHA}\n",
        f"_443._tcp.www.example.test. IN 300 TLSA 3 1 1 {SHA}\n",
        f"_443._tcp.www IN TLSA 3 1 1 {SHA}\n",
        f"_443._tcp.www 1h IN TLSA 3 1 1 {SHA}\n",
        f"_443._tcp.www TLSA 3 1 1 {SHA}\n",
        f"   300 IN TLSA 3 1 1 {SHA}\n",
        f"\tTLSA 3 1 1 {SHA}\n",
        f"_443._tcp.www.example.test. 300 IN TLSA ( 3 1 1\n    {SHA[:32]}\n    {SHA[32:]} )\n",
        f"_443._tcp.www.example.test. 300 IN TLSA (\n  3 1 1 ; usage, selector, type\n"
        f"  {SHA} ) ; the key\n",
        f"_443._tcp.www 300 IN TLSA (3 1 1 {SHA})\n",
        f"3 1 1 ( {SHA[:32]}\n {SHA[32:]} )\n",
        f"$TTL 300\n$ORIGIN example.test.\n# a comment\n_443._tcp.www TLSA 3 1 1 {SHA}\n",
    ],
)
def test_zoneFileLines(tmp_path: Path, text: str) -> None:
    """
    Rdata alone, or a zone-file line with any of owner, TTL and class, on one line or over
    several in parentheses, with comments.
    """
    assert fromFile(tmp_path, text) == (RECORD,)


OWNER = dns.name.from_text("_443._tcp.www.example.test.")


def test_genericForm(tmp_path: Path) -> None:
    """
    A record written in the generic form (RFC 3597: C{TYPE52}, C{\\# LENGTH HEX}), as zone
    files write types a tool does not know, is a TLSA record.
    """
    generic = f"_443._tcp.www.example.test. 300 IN TYPE52 \\# 35 030101{SHA}\n"
    assert fromFile(tmp_path, generic) == (RECORD,)
    assert fromFile(tmp_path, f"_443._tcp.www IN TLSA \\# 35 030101{SHA}\n") == (RECORD,)


@pytest.mark.parametrize(
    "text, problem",
    [
        (f"_25._tcp.other.example. 300 IN TLSA 3 1 1 {SHA}\n", "a record of _25._tcp.other."),
        (f"_443._tcp.www.example.test. CH TLSA 3 1 1 {SHA}\n", "a record of class CH, not IN"),
        (f"_443._tcp.www TYPE52 \\# 34 030101{SHA}\n", "generic data of 35 bytes, not the 34"),
        ("_443._tcp.www TYPE52 \\# 2 0301\n", "too short for a TLSA record"),
    ],
)
def test_recordNotForTheService(tmp_path: Path, text: str, problem: str) -> None:
    """
    A record whose owner is written in full and is another service's, of another class than
    IN, or whose generic data does not add up, is refused: it used to be checked against the
    certificate as if it were this service's.
    """
    path = tmp_path / "records"
    path.write_text(text)
    with pytest.raises(UsageError, match=problem.replace("(", "\\(")):
        readRecords([], path, OWNER)


def test_severalRecords(tmp_path: Path) -> None:
    other = TLSARecord.fromText("2 0 1 " + "11" * 32)
    text = f"_443._tcp.www IN TLSA (\n 3 1 1\n {SHA} )\n  IN TLSA {other}\n{RECORD}\n"
    assert fromFile(tmp_path, text) == (RECORD, other, RECORD)


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            "www.example.test. IN A 192.0.2.1\n",
            "line 1: a record of type A, not TLSA (the file holds TLSA records only)",
        ),
        (
            f"_443._tcp.www TLSA 3 1 1 {SHA}\nwww 300 IN AAAA 2001:db8::1\n",
            "line 2: a record of type AAAA, not TLSA",
        ),
        (
            "_443._tcp.www 300 IN RRSIG TLSA 13 5 300 (\n 20300101000000 20200101000000 1 . "
            "ab== )\n",
            "line 1: a record of type RRSIG, not TLSA",
        ),
        (f"_443._tcp.www IN TLSA ( 3 1 1\n{SHA}\n", "line 1: '(' is not closed"),
        (f"3 1 1 {SHA} )\n", "line 1: ')' without '('"),
        ("$INCLUDE other.zone\n", "line 1: $INCLUDE is not supported here"),
        (f"_443._tcp.www IN TLSA ( FOO 1\n 1 {SHA} )\n", "line 1: unknown TLSA usage 'FOO'"),
        ("; nothing\n", "no TLSA record in the file"),
    ],
)
def test_fileMistakes(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(UsageError) as caught:
        fromFile(tmp_path, text)
    message = str(caught.value)
    assert message.startswith(f"--tlsa-file {tmp_path / 'records'}")
    assert problem in message
    assert "unknown TLSA usage '('" not in message and "\n" not in message


@pytest.mark.parametrize(
    "text",
    [
        f"_443._tcp.www.example.test. IN TLSA 3 1 1 {SHA}",
        f"_443._tcp.www.example.test. 300 IN TLSA 3 1 1 {SHA}",
        f"TLSA 3 1 1 {SHA}",
        f"IN TLSA 3 1 1 {SHA}",
    ],
)
def test_zoneFileLineAsTLSA(text: str) -> None:
    """
    A zone-file line given to C{--tlsa} gets the hint of the four fields or C{--tlsa-file}.
    """
    with pytest.raises(UsageError) as caught:
        readRecords([text], None)
    assert str(caught.value) == (
        f"--tlsa {text!r} is a zone-file line: give only the four fields "
        '("3 1 1 8cb0..."), or put the line in a file for --tlsa-file'
    )


def test_fourFieldsMistakes() -> None:
    """
    A malformed record of four fields keeps its own reason.
    """
    with pytest.raises(UsageError, match="unknown TLSA usage 'FOO'"):
        readRecords([f"FOO SPKI SHA2-256 {SHA}"], None)


def test_commandLine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    Through the command line: a multi-line record in the file is read; an A line is refused
    in one line, exit status 2.
    """
    from tests.dane.certs import issue

    cert = tmp_path / "cert.pem"
    cert.write_bytes(issue("www.example.test").certPEM())
    records = tmp_path / "records"
    records.write_text(f"_443._tcp.www.example.test. 300 IN TLSA ( 3 1 1\n {SHA} )\n")
    argv = ["verify", "--cert", str(cert), "--tlsa-file", str(records), "www.example.test"]
    assert main(argv) == ExitStatus.NOT_VERIFIED
    assert "3 1 1 8cb0fc6c...21f1" in capsys.readouterr().out
    records.write_text("www.example.test. 300 IN A 192.0.2.1\n")
    assert main(argv) == ExitStatus.USAGE
    assert capsys.readouterr().err == (
        f"txdane: --tlsa-file {records}, line 1: a record of type A, not TLSA (the file holds "
        "TLSA records only)\n"
    )

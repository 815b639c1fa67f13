"""
C{txdane keygen ZONE} checks the zone's name before it makes a key: an empty name (an unset
shell variable) does not make a key for the root, and an address or a name with spaces does
not end up in the key files' names. The files and the DS record are tested with the server's
key files, in tests/server/test_service.py.
"""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rrset
import pytest

from txdane.cli import ExitStatus, main
from txdane.server.keys import readKeyFiles


@pytest.mark.parametrize(
    "zone, message",
    [
        ("", "the zone name is empty (for the root zone, give '.')"),
        ("  ", "the zone name is empty (for the root zone, give '.')"),
        ("127.0.0.1", "127.0.0.1 is an address, not a zone name"),
        ("::1", "::1 is an address, not a zone name"),
        ("a b", "'a b' is not a zone name, such as example.com"),
        ("a/b.example", "'a/b.example' is not a zone name, such as example.com"),
        ("a..b", "'a..b' is not a zone name, such as example.com"),
        ("..", "'..' is not a zone name, such as example.com"),
        ("-foo.test", "'-foo.test' is not a zone name, such as example.com"),
        ("example.com:53", "'example.com:53' is not a zone name, such as example.com"),
        ("https://example.com", "'https://example.com' is not a zone name, such as example.com"),
    ],
)
def test_notAZoneName(
    zone: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    What is not a zone name is refused in one line, exit status 2, and no key is made.
    """
    keys = tmp_path / "keys"
    assert main(["keygen", "-d", str(keys), "--", zone]) == ExitStatus.USAGE
    captured = capsys.readouterr()
    assert captured.err == f"txdane: {message}\n"
    assert captured.out == ""
    assert not keys.exists()


def test_rootZone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    The root zone's key is made when asked for by its name, C{.}.
    """
    assert main(["keygen", "-d", str(tmp_path), "."]) == ExitStatus.OK
    (public,) = tmp_path.glob("K.+013+*.key")
    owner, key = readKeyFiles(public)
    assert owner == dns.name.root
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(". 3600 IN DS ")
    ds = dns.rrset.from_text_list(".", 3600, "IN", "DS", [last.split(" DS ")[1]])
    assert ds[0] == key.ds(owner)


@pytest.mark.parametrize(
    "zone, prefix",
    [
        ("example.com", "Kexample.com.+013+"),
        ("example.com.", "Kexample.com.+013+"),
        ("b\u00fccher.example", "Kxn--bcher-kva.example.+013+"),
        ("_tcp.example", "K_tcp.example.+013+"),
    ],
)
def test_zoneNames(zone: str, prefix: str, tmp_path: Path) -> None:
    """
    A zone name is accepted with or without its final dot, and in Unicode (its key files are
    named in ASCII).
    """
    assert main(["keygen", "-d", str(tmp_path), zone]) == ExitStatus.OK
    assert [p.name.startswith(prefix) for p in tmp_path.iterdir()] == [True, True]


@pytest.mark.parametrize(
    "algorithm, number",
    [("13", 13), ("15", 15), ("8", 8), ("ed25519", 15), ("RSASHA256", 8)],
)
def test_algorithmByNameOrNumber(algorithm: str, number: int, tmp_path: Path) -> None:
    """
    The algorithm is taken by name, in any case, or by number, as C{dnssec-keygen -a} takes
    it; another is refused with the choices.
    """
    assert main(["keygen", "-a", algorithm, "-d", str(tmp_path), "example.com"]) == 0
    (public,) = tmp_path.glob(f"Kexample.com.+{number:03d}+*.key")
    assert readKeyFiles(public)[1].dnskey.algorithm == number


def test_algorithmUnknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "-a", "7", "-d", str(tmp_path), "example.com"]) == ExitStatus.USAGE
    assert "invalid choice: '7'" in capsys.readouterr().err

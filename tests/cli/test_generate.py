"""
Tests for C{txdane generate}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from txdane.cli import ExitStatus, main
from txdane.dane.tlsa import recordForCertificate

from ..dane.certs import issue

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    server = issue("mail.example.com")
    directory = tmp_path_factory.mktemp("generate")
    (directory / "server.pem").write_bytes(server.certPEM())
    (directory / "server.key").write_bytes(server.keyPEM())
    return directory / "server.pem", directory / "server.key", server


def test_defaultRecord(files, capsys: pytest.CaptureFixture[str]) -> None:
    cert, key, server = files
    expected = recordForCertificate(server.cert)
    assert main(["generate", "--cert", str(cert), "mail.example.com", "25"]) == ExitStatus.OK
    assert capsys.readouterr().out == f"_25._tcp.mail.example.com. 3600 IN TLSA {expected}\n"
    assert main(["generate", "--key", str(key), "mail.example.com", "25"]) == ExitStatus.OK
    assert capsys.readouterr().out == f"_25._tcp.mail.example.com. 3600 IN TLSA {expected}\n"


def test_fieldsByNameOrNumber(files, capsys: pytest.CaptureFixture[str]) -> None:
    cert, _, server = files
    argv = [
        "generate",
        "--cert",
        str(cert),
        "--usage",
        "dane-ta",
        "--selector",
        "0",
        "--mtype",
        "SHA2-512",
        "--ttl",
        "60",
        "--proto",
        "udp",
        "x.example",
        "853",
    ]
    assert main(argv) == ExitStatus.OK
    expected = recordForCertificate(server.cert, 2, 0, 2)
    assert capsys.readouterr().out == f"_853._udp.x.example. 60 IN TLSA {expected}\n"


def test_json(files, capsys: pytest.CaptureFixture[str]) -> None:
    cert, _, server = files
    assert main(["generate", "--json", "--cert", str(cert), "www.example.com", "443"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = recordForCertificate(server.cert)
    assert data == {
        "name": "_443._tcp.www.example.com.",
        "ttl": 3600,
        "usage": 3,
        "selector": 1,
        "matching_type": 1,
        "data": expected.data.hex(),
        "mnemonic": "DANE-EE SPKI SHA2-256",
        "record": str(expected),
    }


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--usage", "7"], "unknown usage 7"),
        (["--ttl", "-5"], "--ttl: '-5' is not in 0-2147483647"),
        (["--selector", "bogus"], "unknown TLSA selector 'bogus'"),
        (["--key", "KEY", "--selector", "Cert"], "holds a key"),
        (["--cert", "/nonexistent/server.pem"], "cannot read /nonexistent/server.pem"),
        (["--proto", "x" * 64], "label is > 63 octets"),
    ],
)
def test_usageErrors(
    files, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    cert, key, _ = files
    argv = ["generate", *[str(key) if a == "KEY" else a for a in extra]]
    if "--key" not in extra and "--cert" not in extra:
        argv += ["--cert", str(cert)]
    assert main([*argv, "mail.example.com", "25"]) == ExitStatus.USAGE
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.startswith("txdane: ")
    assert "Traceback" not in captured.err


def test_notAKeyFile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_bytes(b"not a certificate")
    assert main(["generate", "--cert", str(junk), "a.example", "443"]) == ExitStatus.USAGE
    assert "not a certificate or an unencrypted key" in capsys.readouterr().err
    der = tmp_path / "pub.der"
    der.write_bytes(
        issue("a.example")
        .key.public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert main(["generate", "--key", str(der), "a.example", "443"]) == ExitStatus.OK


def test_closedOutputIsNotATraceback(files) -> None:
    """
    When standard output is closed before the record is printed (C{txdane generate ... |
    head -0}), the command ends quietly with status 141 (128 + SIGPIPE), not a traceback.
    """
    cert, _, _ = files
    readEnd, writeEnd = os.pipe()
    os.close(readEnd)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "txdane", "generate", "--cert", str(cert), "a.test", "443"],
            stdout=writeEnd,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
    finally:
        os.close(writeEnd)
    assert result.stderr == ""
    assert result.returncode == 141


def test_badHostName(files, capsys: pytest.CaptureFixture[str]) -> None:
    cert, _, _ = files
    assert main(["generate", "--cert", str(cert), "a..b", "443"]) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert err.startswith("txdane: ") and "label is empty" in err and "Traceback" not in err

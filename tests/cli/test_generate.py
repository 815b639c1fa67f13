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
from cryptography.hazmat.primitives.asymmetric import ed25519

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
        (["--proto", "x" * 64], "is not a protocol label, such as tcp"),
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


@pytest.fixture(scope="module")
def sshKey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """
    An OpenSSH public key file (Ed25519).
    """
    path = tmp_path_factory.mktemp("sshfp") / "key.pub"
    line = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    )
    path.write_bytes(line + b" me@example\n")
    return path


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """
    Run C{txdane ARGV...}, check that it is refused as a usage error, in one line and with
    nothing on standard output, and return the line without its C{txdane: } prefix.
    """
    status = main(argv)
    captured = capsys.readouterr()
    assert status == ExitStatus.USAGE, captured
    assert captured.out == ""
    assert captured.err.startswith("txdane: ") and captured.err.count("\n") == 1, captured.err
    return captured.err.removeprefix("txdane: ").rstrip("\n")


#: Hosts and ports every command refuses, and what they say.
BAD_TARGETS = [
    (["", "443"], "'' is not a valid host name"),
    (["www.example.test", "0"], "argument PORT: '0' is not in 1-65535"),
    (["www.example.test", "65536"], "argument PORT: '65536' is not in 1-65535"),
    (["www.example.test", "abc"], "argument PORT: 'abc' is not a port number"),
    (
        ["127.0.0.1", "443"],
        "127.0.0.1 is an address, not a host name: TLSA and SSHFP records are found by name",
    ),
    (["a b", "443"], "'a b' is not a valid host name"),
    (["--", "-foo.test", "443"], "'-foo.test' is not a valid host name"),
    (["a..b", "443"], "'a..b' is not a valid host name (A DNS label is empty.)"),
    (["www.example.test:443"], "give the port as its own argument: www.example.test 443"),
]


@pytest.mark.parametrize("target, message", BAD_TARGETS)
def test_badTarget(
    files, capsys: pytest.CaptureFixture[str], target: list[str], message: str
) -> None:
    """
    C{generate} refuses the host names and ports C{tlsa} refuses, in the same words: no
    record is printed at C{_443._tcp.} or C{_0._tcp.HOST}.
    """
    cert, _, _ = files
    assert refusal(["generate", "--cert", str(cert), *target], capsys) == message
    tlsa = ["tlsa", "--resolver", "127.0.0.1#9", *target]
    assert refusal(tlsa, capsys) == message


def test_ownerNameAsHost(files, capsys: pytest.CaptureFixture[str]) -> None:
    """
    A HOST that is already a TLSA name would get a second prefix: refused with the command
    line meant, as C{tlsa} and C{check} do; so is a C{--proto} with its underscore.
    """
    cert, _, _ = files
    assert refusal(["generate", "--cert", str(cert), "_443._tcp.www.example.test"], capsys) == (
        "_443._tcp.www.example.test is a TLSA owner name, not a host name: "
        f"txdane generate --cert {cert} www.example.test 443"
    )
    argv = ["generate", "--cert", str(cert), "--proto", "_tcp", "www.example.test", "443"]
    assert "give the label without its underscore: --proto tcp" in refusal(argv, capsys)


def test_ownerNameHintKeepsOptions(files, capsys: pytest.CaptureFixture[str]) -> None:
    """
    The command line meant keeps the file and the fields given (quoted for the shell), and
    the label of the owner name.
    """
    cert, _, _ = files
    argv = ["generate", "--cert", str(cert), "--usage", "2", "--ttl", "60", "--json"]
    assert refusal([*argv, "_5061._udp.sip.example.test", "5061"], capsys) == (
        "_5061._udp.sip.example.test is a TLSA owner name, not a host name: "
        f"txdane generate --cert {cert} --usage 2 --ttl 60 --json --proto udp "
        "sip.example.test 5061"
    )
    spaced = cert.parent / "my cert.pem"
    spaced.write_bytes(cert.read_bytes())
    argv = ["generate", "--key", str(spaced), "_443._tcp.www.example.test"]
    assert refusal(argv, capsys).endswith(f"txdane generate --key '{spaced}' www.example.test 443")


@pytest.mark.parametrize(
    "host, owner",
    [
        ("www.example.test.", "_443._tcp.www.example.test."),
        ("B\u00fccher.example", "_443._tcp.xn--bcher-kva.example."),
        ("_sip._udp.example", "_443._tcp._sip._udp.example."),
    ],
)
def test_goodHostNames(files, capsys: pytest.CaptureFixture[str], host: str, owner: str) -> None:
    cert, _, server = files
    assert main(["generate", "--cert", str(cert), host, "443"]) == ExitStatus.OK
    expected = recordForCertificate(server.cert)
    assert capsys.readouterr().out == f"{owner} 3600 IN TLSA {expected}\n"


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "'' is not a valid host name"),
        ("a..b", "'a..b' is not a valid host name (A DNS label is empty.)"),
        (
            "127.0.0.1",
            "127.0.0.1 is an address, not a host name: TLSA and SSHFP records are found by name",
        ),
        ("a b", "'a b' is not a valid host name"),
    ],
)
def test_sshfpBadName(
    sshKey: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    """
    The name of C{--sshfp} is checked as the host names of the other commands; an empty one
    is refused, not replaced by this machine's name.
    """
    assert refusal(["generate", "--sshfp", str(sshKey), "--", name], capsys) == message


@pytest.mark.parametrize(
    "name, owner",
    [
        ("h.example", "h.example"),
        ("h.example.", "h.example."),
        ("b\u00fccher.example", "xn--bcher-kva.example"),
    ],
)
def test_sshfpName(sshKey: Path, capsys: pytest.CaptureFixture[str], name: str, owner: str) -> None:
    """
    The records are printed at the name as typed (absolute when it ends with a dot, as
    C{ssh-keygen -r} prints it), in ASCII.
    """
    assert main(["generate", "--sshfp", str(sshKey), name]) == ExitStatus.OK
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" IN SSHFP ")[0] for line in lines] == [owner, owner]


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--usage", "2"], "--usage"),
        (["--selector", "Cert"], "--selector"),
        (["--mtype", "SHA2-512"], "--mtype"),
        (["--proto", "udp"], "--proto"),
        (["--ttl", "60"], "--ttl"),
        (["--mtype", "1", "--usage", "DANE-EE"], "--usage, --mtype"),
    ],
)
def test_sshfpRefusesTLSAOptions(
    sshKey: Path, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    """
    The options of a TLSA record are refused with C{--sshfp} rather than ignored, even when
    they say what the default says.
    """
    argv = ["generate", "--sshfp", str(sshKey), *extra, "h.example"]
    assert refusal(argv, capsys) == f"--sshfp cannot be used with {named}"

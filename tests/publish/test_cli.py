"""
C{txdane publish} and C{txdane check --ready}: what they refuse before asking any server, and
the one line and exit status of a primary that does not answer.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.dane.certs import issue
from txdane.cli import main

KEY = (
    'key "up." { algorithm hmac-sha256; secret "EIgbzExr622/fmdbjf/OzDklYI8JVL6+UQIawzfFA7c="; };\n'
)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "up.key").write_text(KEY)
    (tmp_path / "cert.pem").write_bytes(issue("www.example.test").certPEM())
    (tmp_path / "host.pub").write_text(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n"
    )
    (tmp_path / "bad.key").write_text("nothing here\n")
    return {name: str(tmp_path / name) for name in ("up.key", "cert.pem", "host.pub", "bad.key")}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["www.example.test", "443", "--key-file-missing"], "unrecognized arguments"),
        (["www.example.test", "443"], "give --cert, --key or --sshfp"),
        (["www.example.test", "--cert", "@cert.pem"], "need the host name and the port"),
        (["www.example.test", "22", "--sshfp", "@host.pub"], "no port"),
        (["www.example.test", "--sshfp", "@host.pub", "--cert", "@cert.pem"], "mixed"),
        (["www.example.test", "443", "--cert", "/nonexistent.pem"], "cannot read"),
        (["www.example.test", "443", "--cert", "@host.pub"], "not a certificate"),
        (["www.example.test", "443", "--cert", "@cert.pem", "--zone", "other.test"], "not in"),
        (["www.example.test", "443", "--cert", "@cert.pem", "--wait", "0"], "positive"),
        (["www.example.test", "443", "--cert", "@cert.pem", "--proto", "_tcp"], "underscore"),
    ],
)
def test_usage(
    argv: list[str], message: str, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """
    Each mistake is one line and exit status 2, before any server is asked.
    """
    argv = [files.get(a[1:], a) if a.startswith("@") else a for a in argv]
    status = main(["publish", *argv, "--server", "127.0.0.1#9", "--tsig-key", files["up.key"]])
    err = capsys.readouterr().err
    assert status == 2, err
    assert message in err and err.count("\n") == 1, err


def test_badKeyFile(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        ["publish", "www.example.test", "443", "--cert", files["cert.pem"],
         "--server", "127.0.0.1", "--tsig-key", files["bad.key"]]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert status == 2 and "TSIG key" in err and "no key found" in err, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--ssh", "--ready", "@cert.pem"], "--ready checks the TLSA records"),
        (["--state", "state.json"], "--state goes with --ready"),
    ],
)
def test_readyUsage(
    argv: list[str], message: str, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [files.get(a[1:], a) if a.startswith("@") else a for a in argv]
    status = main(["check", "www.example.test", "443", *argv])
    err = capsys.readouterr().err
    assert status == 2 and message in err, err


def _publish(files: dict[str, str], port: int, timeout: int) -> subprocess.CompletedProcess[str]:
    """
    Run C{txdane publish} for the test certificate against the primary on C{port}.
    """
    return subprocess.run(
        [sys.executable, "-m", "txdane", "publish", "www.example.test", "443",
         "--cert", files["cert.pem"], "--server", f"127.0.0.1#{port}",
         "--tsig-key", files["up.key"], "--zone", "example.test", "--timeout", str(timeout)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


def test_noAnswer(files: dict[str, str]) -> None:
    """
    A primary that refuses the connection: exit status 4, one line naming it.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        done = _publish(files, port, 2)
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith(f"txdane: no answer from 127.0.0.1#{port}: ")
    assert done.stderr.count("\n") == 1


def test_recordsOfCertificatesAndKeys(tmp_path: Path) -> None:
    """
    C{--cert} and C{--key} give one C{3 1 1} record each, in order, a key given twice once.
    """
    import argparse

    from cryptography.hazmat.primitives import serialization

    from txdane.cli.publish import tlsaRecords
    from txdane.dane.tlsa import recordForCertificate

    current, following = issue("www.example.test"), issue("www.example.test")
    (tmp_path / "current.pem").write_bytes(current.certPEM())
    (tmp_path / "next.pub").write_bytes(
        following.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp_path / "next.pem").write_bytes(following.certPEM())
    options = argparse.Namespace(
        cert=[tmp_path / "current.pem", tmp_path / "next.pem"], key=[tmp_path / "next.pub"]
    )
    assert [r.to_text() for r in tlsaRecords(options)] == [
        recordForCertificate(current.cert).toRdata().to_text(),
        recordForCertificate(following.cert).toRdata().to_text(),
    ]


def _unsignedPrimary(listener: socket.socket, updateRcode: int) -> None:
    """
    Answer DNS queries over TCP, unsigned: an empty NOERROR to a query, C{updateRcode} to
    the update, as a server that knows no TSIG key does (or, with NOERROR, an impostor).
    """
    import dns.flags
    import dns.message
    import dns.opcode
    import dns.rcode

    listener.settimeout(20)
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            length = int.from_bytes(connection.recv(2), "big")
            wire = b""
            while len(wire) < length:
                wire += connection.recv(length - len(wire))
            flags = int.from_bytes(wire[2:4], "big")
            update = dns.opcode.from_flags(flags) == dns.opcode.UPDATE
            answer = dns.message.Message(id=int.from_bytes(wire[:2], "big"))
            answer.flags = dns.flags.QR | dns.flags.AA
            answer.set_opcode(dns.opcode.from_flags(flags))
            answer.set_rcode(dns.rcode.Rcode(updateRcode) if update else dns.rcode.NOERROR)
            data = answer.to_wire()
            connection.sendall(len(data).to_bytes(2, "big") + data)
            if update:
                return


@pytest.mark.parametrize(
    "rcode, status, message",
    [
        # A server that takes no TSIG (or not this key) names its error: refused (9).
        ("FORMERR", 9, "answered FORMERR for zone example.test.: the server could not parse"),
        # An unsigned success is no success: it could come from anyone on the path.
        (
            "NOERROR",
            8,
            "answered NOERROR for zone example.test.: the answer to the signed message",
        ),
    ],
)
def test_unsignedAnswerToUpdate(
    rcode: str, status: int, message: str, files: dict[str, str]
) -> None:
    """
    The answer to the signed update must be signed too. An unsigned error is reported with
    its code and the missing signature, not as "no answer"; an unsigned NOERROR is refused,
    never reported as published.
    """
    import threading

    import dns.rcode

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        server = threading.Thread(
            target=_unsignedPrimary, args=(listener, dns.rcode.from_text(rcode)), daemon=True
        )
        server.start()
        done = _publish(files, port, 5)
        server.join(5)
    assert done.returncode == status, done.stderr
    assert done.stderr.startswith(f"txdane: 127.0.0.1#{port} {message}"), done.stderr
    assert "not signed" in done.stderr and done.stderr.count("\n") == 1

"""
The TLSA name C{tlsa} and C{verify} look up is made of C{--proto} and HOST: a label given
with its underscore, or a HOST that is already a TLSA owner name, would double the prefix
(C{_443.__tcp...}, C{_443._tcp._443._tcp...}), so each is refused with what to type instead.
"""

from __future__ import annotations

import argparse

import pytest

from txdane.cli import ExitStatus, UsageError, main
from txdane.cli._common import protoLabel, refuseOwnerName

Capture = pytest.CaptureFixture[str]


@pytest.mark.parametrize("command", ["tlsa", "verify"])
@pytest.mark.parametrize(
    "proto, message",
    [
        ("_tcp", "argument --proto: give the label without its underscore: --proto tcp"),
        ("_udp", "argument --proto: give the label without its underscore: --proto udp"),
        ("a.b", "argument --proto: 'a.b' is not a protocol label, such as tcp"),
        ("", "argument --proto: '' is not a protocol label, such as tcp"),
    ],
)
def test_protoWithUnderscore(command: str, proto: str, message: str, capsys: Capture) -> None:
    argv = [command, "--proto", proto, "www.example.test"]
    if command == "verify":
        argv += ["--cert", "cert.pem"]
    assert main(argv) == ExitStatus.USAGE
    assert capsys.readouterr().err == f"txdane: {message}\n"


@pytest.mark.parametrize("label", ["tcp", "udp", "sctp", "TCP"])
def test_protoLabels(label: str) -> None:
    assert protoLabel(label) == label


def test_protoLabelRefused() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        protoLabel("__tcp")


@pytest.mark.parametrize(
    "host, hint",
    [
        ("_443._tcp.www.example.test", "txdane tlsa www.example.test 443"),
        ("_443._tcp.www.example.test.", "txdane tlsa www.example.test 443"),
        ("_25._tcp.mail.example.test", "txdane tlsa mail.example.test 25"),
        ("_5061._udp.sip.example.test", "txdane tlsa --proto udp sip.example.test 5061"),
    ],
)
def test_ownerNameAsHost(host: str, hint: str, capsys: Capture) -> None:
    """
    A TLSA owner name given as HOST is refused, with the command line meant.
    """
    assert main(["tlsa", host]) == ExitStatus.USAGE
    assert capsys.readouterr().err == (
        f"txdane: {host.rstrip('.')} is a TLSA owner name, not a host name: {hint}\n"
    )


def test_ownerNameVerify(capsys: Capture) -> None:
    argv = ["verify", "--cert", "c.pem", "--tlsa", "3 1 1 ab", "_443._tcp.www.example.test"]
    assert main(argv) == ExitStatus.USAGE
    assert capsys.readouterr().err == (
        "txdane: _443._tcp.www.example.test is a TLSA owner name, not a host name: "
        "txdane verify --cert c.pem www.example.test 443\n"
    )


@pytest.mark.parametrize(
    "host", ["www.example.test", "_dmarc.example.test", "_tcp.example.test", "_443.example.test"]
)
def test_otherNamesWithUnderscores(host: str) -> None:
    """
    Only a C{_PORT._PROTO.} prefix makes an owner name: other underscore labels are names.
    """
    refuseOwnerName("tlsa", host)


def test_ownerNameRaises() -> None:
    with pytest.raises(UsageError):
        refuseOwnerName("tlsa", "_443._tcp.h.example")

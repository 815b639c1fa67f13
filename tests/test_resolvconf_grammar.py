"""
The one grammar of a resolver address (L{NameServer.fromString}, C{--resolver},
C{publish --server}): C{ADDR} or C{ADDR#PORT}, an IPv6 C{ADDR} optionally in brackets
(C{[::1]#5353}, and C{[::1]:5353} as in URLs); no white space inside. Each refusal says which
forms are expected.
"""

from __future__ import annotations

import pytest

from txdane.cli import ExitStatus, main
from txdane.resolvconf import FORMS, NameServer, NameServerError


@pytest.mark.parametrize(
    "text, expected",
    [
        ("192.0.2.1", NameServer("192.0.2.1")),
        ("192.0.2.1#5300", NameServer("192.0.2.1", 5300)),
        ("::1", NameServer("::1")),
        ("::1#5300", NameServer("::1", 5300)),
        ("[::1]", NameServer("::1")),
        ("[::1]#5300", NameServer("::1", 5300)),
        ("[::1]:5300", NameServer("::1", 5300)),
        ("fe80::1%eth0#5300", NameServer("fe80::1%eth0", 5300)),
        ("[fe80::1%eth0]#5300", NameServer("fe80::1%eth0", 5300)),
        (" 192.0.2.1#5300\n", NameServer("192.0.2.1", 5300)),
    ],
)
def test_accepted(text: str, expected: NameServer) -> None:
    assert NameServer.fromString(text) == expected


@pytest.mark.parametrize(
    "text, problem",
    [
        ("127.0.0.1# 5300", "white space inside"),
        ("127.0.0.1 #5300", "white space inside"),
        ("[::1] #5300", "white space inside"),
        ("", "no address"),
        ("#53", "no address"),
        ("[]#53", "no address"),
        ("example.test", "'example.test' is not an IPv4 or IPv6 address"),
        ("[example.test]#53", "'example.test' is not an IPv4 or IPv6 address"),
        ("[127.0.0.1]#53", "brackets are for IPv6 addresses only"),
        ("[::1", "'[' without ']'"),
        ("::1]#53", "']' without '['"),
        ("[::1]x", "'x' after ']'"),
        ("[::1]:53#54", "':53' after ']'"),
        ("192.0.2.1##53", "more than one '#'"),
        ("192.0.2.1#", "port '' is not a number"),
        ("192.0.2.1#+53", "port '+53' is not a number"),
        ("192.0.2.1#0", "port 0 is not in 1-65535"),
        ("192.0.2.1#70000", "port 70000 is not in 1-65535"),
        ("192.0.2.1%eth0", "'192.0.2.1%eth0' is not an IPv4 or IPv6 address"),
    ],
)
def test_refused(text: str, problem: str) -> None:
    with pytest.raises(NameServerError) as caught:
        NameServer.fromString(text)
    assert str(caught.value) == f"name server {text.strip()!r}: {problem} (give {FORMS})"


def test_portAfterColon() -> None:
    """
    C{ADDR:PORT} with an IPv4 address gets the form to type instead.
    """
    with pytest.raises(NameServerError) as caught:
        NameServer.fromString("127.0.0.1:5300")
    assert (
        str(caught.value) == "name server '127.0.0.1:5300': the port goes after '#': 127.0.0.1#5300"
    )


@pytest.mark.parametrize(
    "resolver, message",
    [
        (
            "127.0.0.1# 5300",
            f"--resolver: name server '127.0.0.1# 5300': white space inside (give {FORMS})",
        ),
        (
            "[::1]#x",
            f"--resolver: name server '[::1]#x': port 'x' is not a number (give {FORMS})",
        ),
    ],
)
def test_commandLine(resolver: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lookup", "--resolver", resolver, "example.test"]) == ExitStatus.USAGE
    assert capsys.readouterr().err == f"txdane: {message}\n"


def test_bracketsWithHashOnCommandLine() -> None:
    """
    C{--resolver '[::1]#5300'} is read as C{::1} on port 5300.
    """
    import argparse

    from txdane.cli._common import resolverSettings
    from txdane.cli.lookup import addArguments

    parser = argparse.ArgumentParser()
    addArguments(parser)
    options = parser.parse_args(["--resolver", "[::1]#5300", "example.test"])
    assert resolverSettings(options).servers == (NameServer("::1", 5300),)

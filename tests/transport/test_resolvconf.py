"""
Tests for L{txdane.resolvconf}.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from txdane.resolvconf import (
    DEFAULT_ATTEMPTS,
    DEFAULT_TIMEOUT,
    NameServer,
    NameServerError,
    parseResolvConf,
    readResolvConf,
)
from txdane.transport import DNSClient

from .fakes import FakeReactor


def test_parse() -> None:
    config = parseResolvConf(
        """
        # a comment
        search example.test
        nameserver 192.0.2.53
        nameserver 2001:db8::53   ; trailing comment
        nameserver fe80::1%eth0
        nameserver bogus
        options ndots:2 timeout:3 attempts:4 rotate
        """.splitlines()
    )
    assert config.servers == (
        NameServer("192.0.2.53"),
        NameServer("2001:db8::53"),
        NameServer("fe80::1%eth0"),
    )
    assert (config.timeout, config.attempts, config.rotate) == (3.0, 4, True)


def test_atMostThreeServers() -> None:
    """
    Like the C library (MAXNS), only the first three usable nameserver lines count: each one
    more would add a full timeout per round to a lookup whose servers are down.
    """
    lines = [f"nameserver 192.0.2.{i}" for i in range(1, 8)]
    config = parseResolvConf(["nameserver bogus", *lines])
    assert config.servers == tuple(NameServer(f"192.0.2.{i}") for i in (1, 2, 3))


def test_defaultsAndCaps() -> None:
    """
    Without nameserver lines the local host is used; options are capped as glibc caps them.
    """
    config = parseResolvConf(["options timeout:99 attempts:99"])
    assert config.servers == (NameServer("127.0.0.1"),)
    assert (config.timeout, config.attempts) == (30.0, 5)
    empty = parseResolvConf([])
    assert (empty.timeout, empty.attempts, empty.rotate) == (
        DEFAULT_TIMEOUT,
        DEFAULT_ATTEMPTS,
        False,
    )


def test_missingFile(tmp_path: Path) -> None:
    assert readResolvConf(str(tmp_path / "none")).servers == (NameServer("127.0.0.1"),)


def test_clientReadsFile(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 198.51.100.7\noptions timeout:2 attempts:1\n")
    client = DNSClient(FakeReactor(), resolvConf=str(conf))
    assert client.servers == (NameServer("198.51.100.7"),)
    assert (client.timeout, client.attempts) == (2.0, 1)
    explicit = DNSClient(FakeReactor(), [("192.0.2.9", 5353)], resolvConf=str(conf))
    assert explicit.servers == (NameServer("192.0.2.9", 5353),)
    assert explicit.timeout == 2.0


@pytest.mark.parametrize(
    "text, expected",
    [
        ("192.0.2.1", NameServer("192.0.2.1", 53)),
        ("192.0.2.1#5353", NameServer("192.0.2.1", 5353)),
        ("::1#5353", NameServer("::1", 5353)),
        ("[::1]:5353", NameServer("::1", 5353)),
        ("[2001:db8::1]", NameServer("2001:db8::1", 53)),
    ],
)
def test_nameServerFromString(text: str, expected: NameServer) -> None:
    assert NameServer.fromString(text) == expected


@pytest.mark.parametrize(
    "text", ["example.test", "192.0.2.1#0", "192.0.2.1#70000", "::1#x", "192.0.2.1%eth0"]
)
def test_nameServerErrors(text: str) -> None:
    with pytest.raises(NameServerError):
        NameServer.fromString(text)


def test_scopedIPv4Skipped() -> None:
    """
    A zone index belongs to IPv6 link-local addresses only: an IPv4 address with one is
    skipped, as the C library skips it, rather than failing every query later.
    """
    config = parseResolvConf(["nameserver 192.0.2.1%eth0", "nameserver 192.0.2.2"])
    assert config.servers == (NameServer("192.0.2.2"),)


def test_nameServerText() -> None:
    assert str(NameServer("::1", 5353)) == "::1#5353"
    assert str(NameServer("192.0.2.1")) == "192.0.2.1"


@pytest.mark.parametrize(
    "servers, message",
    [
        ("127.0.0.1", "not a str: give ['127.0.0.1']"),
        (b"127.0.0.1#5353", "not a bytes: give ['127.0.0.1#5353']"),
        (("127.0.0.1", 53), "not one (address, port) pair: give [('127.0.0.1', 53)]"),
        (NameServer("::1"), "not a NameServer: give [NameServer(host='::1', port=53)]"),
        (53, "not 53"),
    ],
)
def test_serversMustBeAList(servers: object, message: str) -> None:
    """
    One server given where the list of servers belongs is refused, saying how to give it,
    instead of being read as a list of its characters (or of an address and a port).
    """
    with pytest.raises(
        TypeError, match=re.escape(f"servers must be a list of name servers, {message}")
    ):
        DNSClient(FakeReactor(), servers, timeout=1, attempts=1)  # type: ignore[arg-type]


def test_serversAsATuple() -> None:
    """
    A tuple of servers is a list of them, two included.
    """
    client = DNSClient(FakeReactor(), ("192.0.2.1", "192.0.2.2#5353"), timeout=1, attempts=1)
    assert client.servers == (NameServer("192.0.2.1"), NameServer("192.0.2.2", 5353))


@pytest.mark.parametrize("port", [True, False, "53", 53.0])
def test_portIsAnInt(port: object) -> None:
    """
    A port is an int: C{True} is not port 1.
    """
    with pytest.raises(NameServerError, match="is not a number in 1-65535"):
        DNSClient(FakeReactor(), [("192.0.2.1", port)], timeout=1, attempts=1)  # type: ignore[list-item]
    with pytest.raises(NameServerError, match="is not a number in 1-65535"):
        NameServer("192.0.2.1", port)  # type: ignore[arg-type]

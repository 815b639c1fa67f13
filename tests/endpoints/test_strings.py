"""
Tests of the C{dane:} and C{dnssec:} endpoint strings, through Twisted's own
C{clientFromString} (so through the plugins).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from txdane.dane.decision import Policy
from txdane.endpoints import DANEEndpoint, DNSSECEndpoint, EndpointStringError, SRVEndpoint
from txdane.resolvconf import NameServer

from ..dane.certs import issue
from ..dane.tlsserver import RecordingClient
from .world import makeWorld, reactor, startTLSServer


def parse(text: str | bytes) -> Any:
    return clientFromString(MemoryReactorClock(), text)


def test_danePlugin() -> None:
    endpoint = parse(
        "dane:host=www.example.test:port=8443:resolver=127.0.0.1#5353,2001\\:db8\\:\\:53"
        ":require=yes:tlsaHost=tlsa.example.test:timeout=7"
    )
    assert isinstance(endpoint, DANEEndpoint)
    assert (endpoint.host, endpoint.port, endpoint.options.tlsaHost) == (
        "www.example.test",
        8443,
        "tlsa.example.test",
    )
    assert endpoint.options.policy is Policy.DANE_ONLY
    assert endpoint.resolver.querier.servers == (  # type: ignore[attr-defined]
        NameServer("127.0.0.1", 5353),
        NameServer("2001:db8::53", 53),
    )


def test_dnssecPlugin() -> None:
    endpoint = parse(b"dnssec:host=git.example.test:port=22:allowInsecure=yes")
    assert isinstance(endpoint, DNSSECEndpoint)
    assert (endpoint.host, endpoint.port, endpoint.allowInsecure) == ("git.example.test", 22, True)


def test_positional() -> None:
    endpoint = parse("dnssec:git.example.test:22")
    assert (endpoint.host, endpoint.port) == ("git.example.test", 22)


def test_ipv6Host() -> None:
    endpoint = parse("dnssec:host=2001\\:db8\\:\\:1:port=22")
    assert endpoint.host == "2001:db8::1"


@pytest.mark.parametrize(
    "text, option",
    [
        ("dane:host=::1:port=443", "host=::1"),
        ("dnssec:port=22:host=2001:db8::1", "host=2001:db8::1"),
        ("dane:host=fe80::1%eth0:port=443", "host=fe80::1%eth0"),
        ("dane:host=h:port=443:resolver=::1#5353", "resolver=::1#5353"),
        ("dane:host=h:port=443:bindAddress=::1", "bindAddress=::1"),
        ("dane:::1:443", "host=::1"),
    ],
)
def test_unescapedIPv6(text: str, option: str) -> None:
    """
    An IPv6 literal whose colons are not escaped gets a message saying how to escape them, and
    the escaped form it shows parses.
    """
    with pytest.raises(EndpointStringError) as e:
        parse(text)
    escaped = option.replace(":", "\\:")
    assert str(e.value).endswith(
        f"{option}: escape each colon of an IPv6 address with a backslash, as in {escaped}"
        f' (in Python source: r"{escaped}")'
    )
    name = option.split("=")[0]
    if name in ("host", "bindAddress"):
        assert parse(f"dane:host=h:port=443:{escaped}") is not None


def test_givenTwice() -> None:
    """
    A host given twice, when no colon was forgotten, is said to be given twice.
    """
    with pytest.raises(EndpointStringError, match="host given twice"):
        parse("dane:a.example:port=443:host=b.example")


def test_sharedResolver() -> None:
    """
    Endpoints with the same resolver settings share one resolver (and its cache).
    """
    reactor = MemoryReactorClock()
    a = clientFromString(reactor, "dane:host=a.example.test:port=443:resolver=127.0.0.1#53")
    b = clientFromString(reactor, "dnssec:host=b.example.test:port=22:resolver=127.0.0.1#53")
    c = clientFromString(reactor, "dnssec:host=b.example.test:port=22:resolver=127.0.0.2#53")
    assert a.resolver is b.resolver
    assert a.resolver is not c.resolver


@pytest.mark.parametrize(
    "text, message",
    [
        ("dane:host=www.example.test", "port is required"),
        ("dane:port=443", "host is required"),
        ("dane:host=h:port=https", "port='https' is not a number"),
        ("dane:host=h:port=70000", "not in 1-65535"),
        ("dane:host=h:port=443:colour=blue", "unknown option 'colour'"),
        ("dnssec:host=h:port=22:require=yes", "unknown option 'require'"),
        ("dane:host=h:port=443:require=perhaps", "require='perhaps' is not yes or no"),
        ("dane:host=h:port=443:timeout=-1", "timeout='-1' must be positive"),
        ("dane:host=h:port=443:resolver=dns.example", "resolver"),
        ("dane:host=h:port=443:proto=udp", "only tcp"),
        ("dane:host=h:port=443:trustAnchor=/nonexistent", "trustAnchor"),
        ("dane:host=h:port=443:trustAD=yes:trustAnchor=/x", "exclude each other"),
        ("dane:host=h:port=443:certificate=/nonexistent.pem", "certificate='/nonexistent.pem'"),
        ("dane:host=h:port=443:trustRoots=/nonexistent.pem", "trustRoots"),
        ("dane:host=h:port=443:timeout=nan", "timeout='nan' must be positive"),
        ("dane:host=h:port=443:timeout=inf", "timeout='inf' must be positive"),
        ("dane:host=a..example:port=443", "host='a..example'"),
        ("dnssec:host=a..example:port=22", "host='a..example'"),
        (f"dane:host={'a' * 64}.example:port=443", "host="),
        ("dane:host=h:port=443:tlsaHost=a..example", "tlsaHost='a..example'"),
        ("dane:host=h:port=443:trustRoots=/tmp/\x00.pem", "trustRoots="),
        ("dane:host=h:port=443:certificate=/tmp/\x00.pem", "certificate="),
        ("dane:host=h:port=443:trustAnchor=/tmp/\x00.pem", "trustAnchor"),
    ],
)
def test_errors(text: str, message: str) -> None:
    """
    A bad option is a clear error naming it.
    """
    with pytest.raises(EndpointStringError, match=message.replace("(", "\\(")):
        parse(text)


def test_badCertificateFile(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(EndpointStringError, match="not a PEM certificate"):
        parse(f"dane:host=h:port=443:certificate={bad}")


class StringEndToEndTests(TestCase):
    async def test_connect(self) -> None:
        """
        clientFromString with a trust anchor file and our resolver connects by DANE.
        """
        server = startTLSServer(issue("www.example.test"))
        for port in server.ports:
            self.addCleanup(port.stopListening)
        world = await makeWorld(
            {"example.test.": [f"_{server.port}._tcp.www 300 IN TLSA {server.record()}"]}
        )
        self.addCleanup(world.dnsServer.stop)
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        anchor = Path(directory.name) / "anchor"
        anchor.write_text(world.hierarchy.trustAnchorText())
        endpoint = clientFromString(
            reactor,
            f"dane:host=www.example.test:port={server.port}:resolver={world.resolverAddress}"
            f":trustAnchor={anchor}",
        )
        protocol: Any = await endpoint.connect(Factory.forProtocol(RecordingClient))
        await protocol.greeted
        protocol.transport.abortConnection()
        await protocol.lost


def test_starttlsOption() -> None:
    endpoint = parse("dane:host=mail.example.test:port=143:starttls=imap")
    assert isinstance(endpoint, DANEEndpoint)
    assert endpoint.options.starttls == "imap"
    with pytest.raises(EndpointStringError, match="starttls='gopher': not one of"):
        parse("dane:host=mail.example.test:port=70:starttls=gopher")


def test_mxOption() -> None:
    from txdane.endpoints.planner import PlannedEndpoint

    endpoint = parse("dane:mx=example.test")
    assert isinstance(endpoint, PlannedEndpoint)
    assert (endpoint.starttls, endpoint.service) == ("smtp", "MX of example.test")
    endpoint = parse("dane:mx=example.test:port=2525:timeout=3")
    assert endpoint.settings.timeout == 3
    for bad, message in (
        ("dane:mx=example.test:host=mx.example.test", "mx and host exclude"),
        ("dane:mx=example.test:starttls=imap", "mx implies starttls=smtp"),
        ("dane:mx=exa..mple", "mx="),
    ):
        with pytest.raises(EndpointStringError, match=message):
            parse(bad)


def test_srvOption() -> None:
    """
    C{dane:srv=SERVICE:domain=DOMAIN} builds an L{SRVEndpoint} with the L{DANEOptions} the
    string sets; the options the SRV records decide are refused.
    """
    endpoint = parse("dane:srv=xmpp-client:domain=example.test:require=yes:timeout=4")
    assert isinstance(endpoint, SRVEndpoint)
    assert (endpoint.srv.name, endpoint.domain, endpoint.timeout) == (
        "xmpp-client",
        "example.test",
        4.0,
    )
    assert endpoint.options.policy is Policy.DANE_ONLY
    for text, message in [
        ("dane:srv=xmpp-client:domain=example.test:host=h.example.test", "srv and host"),
        ("dane:srv=imap:domain=example.test:port=143", "srv and port"),
        ("dane:srv=imap:domain=example.test:starttls=imap", "srv and starttls"),
        ("dane:srv=imap:domain=example.test:tlsaHost=t.example.test", "srv and tlsaHost"),
        ("dane:srv=imap:domain=example.test:mx=example.test", "srv and mx"),
        ("dane:srv=gopher:domain=example.test", "unknown service 'gopher'"),
        ("dane:srv=imap", "domain is required"),
        ("dane:domain=example.test", "srv is required"),
        ("dane:srv=imap:domain=exa..mple", "domain="),
    ]:
        with pytest.raises(EndpointStringError, match=message):
            parse(text)

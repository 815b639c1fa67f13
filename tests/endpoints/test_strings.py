"""
Tests of the C{dane:} and C{dnssec:} endpoint strings, through Twisted's own
C{clientFromString} (so through the plugins).
"""

from __future__ import annotations

import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import dns.rdatatype
import pytest
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from txdane.adapters import AddressValidationError
from txdane.dane.decision import Action, Policy
from txdane.dane.errors import DANEPolicyError
from txdane.endpoints import DANEEndpoint, DNSSECEndpoint, EndpointStringError, SRVEndpoint
from txdane.resolvconf import NameServer
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy
from txdane.validation import ADTrustingResolver
from txdane.validation.ede import EDE

from ..dane.certs import issue
from ..dane.tlsserver import RecordingClient
from ..validation.fakes import EngineQuerier
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
    if name in ("host", "bindAddress") and "%" not in option:
        assert parse(f"dane:host=h:port=443:{escaped}") is not None


@pytest.mark.parametrize(
    "text, message",
    [
        ("dane:a.example:port=443:host=b.example", "unexpected field 'a.example'"),
        ("dane:host=h:port=443:resolver=127.0.0.1:5300", "unexpected field '5300'"),
        ("dane:host=h:port=443:trustAnchor=C:/anchors/root.txt", "unexpected field '/anchors"),
        ("dane:host=example.test:port=443:", "an empty field (a colon too many?)"),
        ("dane::host=example.test:port=443", "an empty field"),
    ],
)
def test_strayFields(text: str, message: str) -> None:
    """
    A field that is no option, where host and port are given by name (a colon left unescaped
    inside a value), is named with how to write the value; an empty field too.
    """
    with pytest.raises(EndpointStringError) as e:
        parse(text)
    assert message in str(e.value)
    if "unexpected" in message:
        assert str(e.value).endswith("a colon inside a value is escaped with a backslash (\\:)")


def test_unnamedPort() -> None:
    """
    As in Twisted's C{tcp:} strings, a field after C{host=} is the port, and one before
    C{port=} the host.
    """
    for text in ("dane:host=www.example.test:443", "dane:www.example.test:port=443"):
        endpoint = parse(text)
        assert (endpoint.host, endpoint.port) == ("www.example.test", 443)


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
        ("dane:host=h:port=443:trustADRemote=yes", "trustADRemote=yes: applies only when"),
        ("dane:host=999.1.1.1:port=443", "host='999.1.1.1' is neither an IP address nor a"),
        ("dane:host=.:port=443", "host='.' is not a host name: it names the root"),
        ("dane:host=h:port=443:tlsaHost=192.0.2.1", "tlsaHost='192.0.2.1' is an address"),
        ("dane:mx=192.0.2.1", "mx='192.0.2.1' is an address, not a domain name"),
        ("dane:srv=imap:domain=192.0.2.1", "domain='192.0.2.1' is an address"),
        ("dane:host=h:port=443:bindAddress=localhost", "bindAddress='localhost' is not an IP"),
        ("dnssec:host=h:port=22:bindAddress=1.2.3.4#5", "bindAddress='1.2.3.4#5' is not an IP"),
        ("dane:host=h:port=70000", "not in 1-65535"),
        ("dane:host=h:port=443:colour=blue", "unknown option 'colour'"),
        # An empty value is refused, never read as the option's default.
        ("dane:host=h:port=443:policy=", "policy= has no value"),
        ("dane:host=h:port=443:require=", "require= has no value"),
        ("dane:host=h:port=443:trustRoots=", "trustRoots= has no value"),
        ("dane:host=h:port=443:resolver=", "resolver= has no value"),
        ("dnssec:host=h:port=22:trustAnchor=", "trustAnchor= has no value"),
        ("dane:host=:port=443", "host= has no value"),
        ("dane:host=h:prot=443", "unknown option 'prot'; did you mean 'port'\\?"),
        ("dnssec:host=h:port=22:require=yes", "unknown option 'require'"),
        ("dane:host=h:port=443:require=perhaps", "require='perhaps' is not yes or no"),
        ("dane:host=h:port=443:timeout=-1", "timeout='-1' must be positive"),
        ("dane:host=h:port=443:resolver=dns.example", "resolver"),
        ("dane:host=h:port=443:proto=udp", "only tcp"),
        ("dane:host=h:port=443:trustAnchor=/nonexistent", "trustAnchor"),
        ("dane:host=h:port=443:trustAD=yes:trustAnchor=/x", "exclude each other"),
        (
            "dane:host=h:port=443:trustAnchorState=/nonexistent/state",
            "trustAnchorState: trust anchor state file /nonexistent/state: cannot write",
        ),
        (
            "dnssec:host=h:port=22:trustAD=yes:trustAnchorState=/x",
            "trustAD and trustAnchorState exclude each other",
        ),
        (
            r"dane:host=h:port=443:trustAD=yes:resolver=192.0.2.53",
            "trustAD: the AD bit of 192.0.2.53 would be trusted",
        ),
        ("dnssec:host=h:port=22:trustAD=yes:resolver=192.0.2.53", "trustADRemote=yes"),
        (
            "dane:host=h:port=443:trustAD=yes:resolver=127.0.0.1#53:strictNSEC3=yes",
            "trustAD and strictNSEC3 exclude each other",
        ),
        ("dnssec:host=h:port=22:strictNSEC3=perhaps", "strictNSEC3='perhaps' is not yes or no"),
        ("dane:host=h:port=443:certificate=/nonexistent.pem", "certificate='/nonexistent.pem'"),
        ("dane:host=h:port=443:trustRoots=/nonexistent.pem", "trustRoots"),
        ("dane:host=h:port=443:timeout=nan", "timeout='nan' must be positive"),
        ("dane:host=h:port=443:handshakeTimeout=0", "handshakeTimeout='0' must be positive"),
        ("dnssec:host=h:port=22:handshakeTimeout=5", "unknown option 'handshakeTimeout'"),
        ("dane:host=h:port=443:timeout=inf", "timeout='inf' must be positive"),
        ("dane:host=a..example:port=443", "host='a..example'"),
        ("dnssec:host=a..example:port=22", "host='a..example'"),
        (f"dane:host={'a' * 64}.example:port=443", "host="),
        ("dane:host=h:port=443:tlsaHost=a..example", "tlsaHost='a..example'"),
        ("dane:host=h:port=443:trustRoots=/tmp/\x00.pem", "trustRoots="),
        ("dane:host=h:port=443:certificate=/tmp/\x00.pem", "certificate="),
        ("dane:host=h:port=443:trustAnchor=/tmp/\x00.pem", "trustAnchor"),
        ("dane:host=h:port=443:resolverTrustRoots=/x.pem", "resolverTrustRoots: applies only"),
        ("dnssec:host=h:port=22:resolverTLS=a..example", "resolverTLS: 'a..example' is not"),
        # int() takes these; a port and a count are ASCII digits.
        ("dane:host=h:port=4_43", "port='4_43' is not a number"),
        ("dane:host=h:port=+443", "port='.443' is not a number"),
        ("dane:host=h:port=\u0664\u0664\u0663", "is not a number"),
        ("dane:mx=example.test:maxHosts=+3", "maxHosts='.3' is not a whole number"),
        (
            "dane:host=h:port=443:resolverTLS=dns.example:resolverTrustRoots=/nonexistent.pem",
            "resolverTrustRoots: /nonexistent.pem",
        ),
    ],
)
def test_errors(text: str, message: str) -> None:
    """
    A bad option is a clear error naming it.
    """
    with pytest.raises(EndpointStringError, match=message.replace("(", "\\(")):
        parse(text)


def test_trustADLoopbackOrOverride() -> None:
    """
    trustAD=yes is accepted for a loopback resolver, and for a remote one only with
    trustADRemote=yes.
    """
    reactor = MemoryReactorClock()
    local = clientFromString(reactor, "dane:host=h:port=443:trustAD=yes:resolver=127.0.0.1#53")
    assert isinstance(local.resolver, ADTrustingResolver)
    remote = clientFromString(
        reactor, "dnssec:host=h:port=22:trustAD=yes:trustADRemote=yes:resolver=192.0.2.53"
    )
    assert isinstance(remote.resolver, ADTrustingResolver)


def test_handshakeTimeout() -> None:
    """
    handshakeTimeout= sets the TLS handshake deadline of dane: endpoints (30 s by default),
    for each MX host with mx=.
    """
    reactor = MemoryReactorClock()
    resolver = "resolver=127.0.0.1#53"
    assert clientFromString(reactor, f"dane:host=h:port=443:{resolver}").handshakeTimeout == 30
    endpoint = clientFromString(reactor, f"dane:host=h:port=443:handshakeTimeout=2.5:{resolver}")
    assert endpoint.handshakeTimeout == 2.5
    mx = clientFromString(reactor, f"dane:mx=example.test:handshakeTimeout=7:{resolver}")
    assert mx.settings.handshakeTimeout == 7


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

    async def test_connectWithTrustAnchorState(self) -> None:
        """
        With C{trustAnchorState}, the anchors come from a state file made from the trust
        anchor file; the connection succeeds, and the file records the root's key as valid.
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
        state = Path(directory.name) / "root.state"
        options = f"resolver={world.resolverAddress}:trustAnchor={anchor}:trustAnchorState={state}"
        endpoint = clientFromString(
            reactor, f"dane:host=www.example.test:port={server.port}:{options}"
        )
        resolver = endpoint.resolver
        self.addCleanup(resolver.stopRefreshing)
        protocol: Any = await endpoint.connect(Factory.forProtocol(RecordingClient))
        await protocol.greeted
        protocol.transport.abortConnection()
        await protocol.lost
        rootKey = world.hierarchy.keys[dns.name.root][0]
        assert f"id = {rootKey.keyTag} (ksk)" in state.read_text()
        assert ";;state=2 [  VALID  ]" in state.read_text()


def test_starttlsOption() -> None:
    endpoint = parse("dane:host=mail.example.test:port=143:starttls=imap")
    assert isinstance(endpoint, DANEEndpoint)
    assert endpoint.options.starttls == "imap"
    with pytest.raises(EndpointStringError, match="starttls='gopher': not one of"):
        parse("dane:host=mail.example.test:port=70:starttls=gopher")


def test_maxHostsOption() -> None:
    """
    C{maxHosts} caps the hosts C{mx=} and C{srv=} try (default 5, as Postfix); it means
    nothing for one host.
    """
    assert parse("dane:mx=example.test").settings.maxHosts == 5
    assert parse("dane:mx=example.test:maxHosts=2").settings.maxHosts == 2
    assert parse("dane:srv=imap:domain=example.test:maxHosts=9").settings.maxHosts == 9
    for bad, message in (
        ("dane:mx=example.test:maxHosts=0", "maxHosts=0 is not in 1-1000"),
        ("dane:mx=example.test:maxHosts=many", "maxHosts='many' is not a whole number"),
        ("dane:host=a.example.test:port=443:maxHosts=2", "maxHosts is for mx= and srv="),
    ):
        with pytest.raises(EndpointStringError, match=message):
            parse(bad)


@pytest.mark.parametrize(
    "value, policy",
    [
        ("default", Policy.DEFAULT),
        ("dane-only", Policy.DANE_ONLY),
        ("smtp", Policy.SMTP),
        ("smtp-sts", Policy.SMTP_STS),
        ("SMTP", Policy.SMTP),
    ],
)
def test_policyOption(value: str, policy: Policy) -> None:
    """
    C{policy=} names a L{Policy} by its value; C{policy=dane-only} is C{require=yes}.
    """
    endpoint = parse(f"dane:host=www.example.test:port=25:policy={value}")
    assert endpoint.options.policy is policy
    assert parse("dane:host=www.example.test:port=443").options.policy is Policy.DEFAULT
    assert parse("dane:host=www.example.test:port=443:require=yes").options.policy is (
        Policy.DANE_ONLY
    )
    srv = parse(f"dane:srv=imap:domain=example.test:policy={value}")
    assert srv.options.policy is policy


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "dane:host=h:port=443:policy=strict",
            "policy='strict': not one of default, dane-only, smtp, smtp-sts",
        ),
        ("dane:host=h:port=443:policy=smtp:require=yes", "policy and require exclude each other"),
        ("dane:host=h:port=443:policy=default:require=no", "policy and require exclude each other"),
        ("dane:mx=example.test:policy=smtp", "mx and policy exclude each other"),
        ("dnssec:host=h:port=22:policy=smtp", "unknown option 'policy'"),
    ],
)
def test_policyOptionErrors(text: str, message: str) -> None:
    with pytest.raises(EndpointStringError, match=message):
        parse(text)


def test_dnsTimeoutOption() -> None:
    """
    C{dnsTimeout=} is L{ResolverSettings.timeout<txdane.settings.ResolverSettings.timeout>}:
    the most seconds a query may take, every retry included.
    """
    endpoint = parse("dane:host=a.example.test:port=443:resolver=127.0.0.1#53:dnsTimeout=1.5")
    assert endpoint.resolver.querier.deadline == 1.5
    assert endpoint.resolver.querier.timeout == 0.5
    plain = parse("dnssec:host=a.example.test:port=22:resolver=127.0.0.1#53")
    assert plain.resolver is not endpoint.resolver
    for bad, message in (
        ("dane:host=h:port=443:dnsTimeout=0", "dnsTimeout='0' must be positive"),
        ("dnssec:host=h:port=22:dnsTimeout=soon", "dnsTimeout='soon' is not a number"),
    ):
        with pytest.raises(EndpointStringError, match=message):
            parse(bad)


class ClosedResolverTests(TestCase):
    async def test_closedResolverPort(self) -> None:
        """
        A resolver whose port is closed fails the connection at once, not after
        C{dnsTimeout}, with EDE 23 (Network Error).
        """
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        endpoint = clientFromString(
            reactor, f"dane:host=www.example.test:port=443:resolver=127.0.0.1#{port}:dnsTimeout=30"
        )
        started = time.monotonic()
        error: Any = await self.assertFailure(
            endpoint.connect(Factory.forProtocol(Protocol)), AddressValidationError
        )
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(error.ede, 23)
        self.assertIn("port unreachable", str(error))


def test_mxOption() -> None:
    from txdane.endpoints.planner import PlannedEndpoint

    endpoint = parse("dane:mx=example.test")
    assert isinstance(endpoint, PlannedEndpoint)
    assert endpoint.service == "MX of example.test"
    endpoint = parse("dane:mx=example.test:port=2525:timeout=3")
    assert endpoint.settings.timeout == 3
    # starttls= takes the protocol's name in any case, with mx= as without it.
    assert parse("dane:mx=example.test:starttls=SMTP").service == "MX of example.test"
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
        ("dane:domain=example.test", "domain goes with srv, the service whose SRV records"),
        ("dane:mx=example.test:domain=example.org", "domain goes with srv"),
        ("dane:srv=imap:domain=exa..mple", "domain="),
    ]:
        with pytest.raises(EndpointStringError, match=message):
            parse(text)


@pytest.fixture(scope="module")
def iterationsHierarchy() -> Hierarchy:
    """
    The hierarchy with a TLSA record in C{iterations.test.}, whose NSEC3 chain uses more
    iterations than the validator's limit. The host has an AAAA record as well as its A
    record, so that both address answers are secure (a NODATA proof in this zone is
    insecure, which makes the host's addresses insecure and its TLSA records unused).
    """
    records = ["www 300 IN AAAA ::1", "_443._tcp.www 300 IN TLSA 3 1 1 " + "00" * 32]
    return buildHierarchy(extraRecords={"iterations.test.": records})


def _stripSignatures(message: dns.message.Message) -> dns.message.Message:
    message.answer = [r for r in message.answer if r.rdtype != dns.rdatatype.RRSIG]
    return message


@pytest.mark.parametrize("strict", [False, True])
def test_strictNSEC3Option(iterationsHierarchy: Hierarchy, tmp_path: Path, strict: bool) -> None:
    """
    An on-path attacker strips the signatures of the TLSA records of a host in a zone above
    the NSEC3 iteration limit: by default the TLSA lookup is insecure and the endpoint falls
    back to PKIX (it dials); with C{strictNSEC3=yes} the lookup is bogus and the endpoint
    refuses before dialling.
    """
    anchor = tmp_path / "anchor"
    anchor.write_text(iterationsHierarchy.trustAnchorText())
    reactor = MemoryReactorClock()
    reactor.advance(iterationsHierarchy.now)
    text = f"dane:host=www.iterations.test:port=443:resolver=127.0.0.1#53:trustAnchor={anchor}"
    endpoint = clientFromString(reactor, text + (":strictNSEC3=yes" if strict else ""))
    # The recursive resolver, as the attacker rewrites its answers.
    querier = EngineQuerier.forHierarchy(iterationsHierarchy)
    querier.tamper[("_443._tcp.www.iterations.test.", "TLSA")] = _stripSignatures
    endpoint.resolver.querier = querier
    assert endpoint.resolver.limits.strictNSEC3Iterations is strict
    results: list[Any] = []
    Deferred.fromCoroutine(endpoint.plan()).addBoth(results.append)
    connecting = endpoint.connect(Factory.forProtocol(RecordingClient))
    if strict:
        (failure,) = results
        assert isinstance(failure.value, DANEPolicyError), failure
        assert failure.value.status is Status.BOGUS
        assert failure.value.ede == EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE
        assert isinstance(_failureOf(connecting), DANEPolicyError)
        assert reactor.tcpClients == []
    else:
        ((_, plan),) = results
        assert plan.action is Action.PKIX, plan.reason
        assert "TLSA lookup for _443._tcp.www.iterations.test is insecure" in plan.reason
        assert reactor.tcpClients and reactor.tcpClients[0][1] == 443
        connecting.cancel()
        connecting.addErrback(lambda _: None)


def _failureOf(d: Deferred[Any]) -> BaseException:
    failures: list[Any] = []
    d.addErrback(failures.append)
    (failure,) = failures
    return failure.value


def test_reprNamesTheTarget() -> None:
    """
    An endpoint's repr names where it connects and how, for logs (Twisted's ClientService
    logs its retries with it).
    """
    assert repr(parse("dane:host=mail.example.test:port=143:starttls=imap")) == (
        "<DANEEndpoint mail.example.test:143 starttls=imap policy=default>"
    )
    assert repr(parse("dnssec:host=git.example.test:port=22")) == (
        "<DNSSECEndpoint git.example.test:22>"
    )
    assert repr(parse("dane:mx=example.test")) == (
        "<PlannedEndpoint MX of example.test, at most 5 hosts>"
    )
    assert repr(parse("dane:srv=imap:domain=example.test")).startswith(
        "<SRVEndpoint imap of example.test"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("dane:host=h/x.example.test:port=443", "host='h/x.example.test' is not a host name: '/'"),
        ("dnssec:host=user@www.example.test:port=22", "host='user@www.example.test' is not a"),
        ("dane:host=www.example.test\\:443:port=443", "the port is given on its own"),
        ("dane:host=https\\://www.example.test/:port=443", "host='https://www.example.test/' is a"),
        ("dane:host=*.example.test:port=443", "host='*.example.test' is not a host name: '*'"),
        (
            "dane:host=[\\:\\:1]:port=443",
            "host='[::1]' is an IP address in brackets: give the address without them (::1)",
        ),
        (
            "dane:host=[::1]:port=443",
            "host=[::1]: give the address without brackets, each colon escaped with a "
            'backslash, as in host=\\:\\:1 (in Python source: r"host=\\:\\:1")',
        ),
        ("dane:mx=*.example.test", "mx='*.example.test' is not a host name: '*' is not allowed"),
        ("dane:mx=[192.0.2.1]", "mx='[192.0.2.1]' is an address, not a domain name"),
        ("dane:srv=imap:domain=a b.example.test", "domain='a b.example.test' is not a host name"),
        ("dane:host=h:port=443:tlsaHost=-t.example.test", "tlsaHost='-t.example.test' is not a"),
    ],
)
def test_hostNotAName(text: str, message: str) -> None:
    """
    The options naming a host or a domain are checked by the rule the endpoints' constructors
    follow (L{hostProblem<txdane.endpoints._arguments.hostProblem>}): text that names no host
    is an error naming the option and the character.
    """
    with pytest.raises(EndpointStringError) as e:
        parse(text)
    assert message in str(e.value)


@pytest.mark.parametrize(
    "text, host",
    [
        ("dane:host=_xmpp.example.test:port=443", "_xmpp.example.test"),
        ("dane:host=www.example.test.:port=443", "www.example.test."),
        ("dane:host=B\u00dcCHER.example.test:port=443", "B\u00dcCHER.example.test"),
        ("dnssec:host=Stra\u00dfe.example.test:port=22", "Stra\u00dfe.example.test"),
    ],
)
def test_oddHostsAccepted(text: str, host: str) -> None:
    assert parse(text).host == host

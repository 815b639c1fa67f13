"""
Tests for L{txdane.dotauth}: how DNS-over-TLS upstreams are authenticated, and what may be sent
to one before it is. The DANE paths, which need a signed hierarchy behind a real resolver, are
tested against Unbound in C{tests/peers/test_dot.py}.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import dns.name
from twisted.internet import reactor
from twisted.internet.defer import succeed
from twisted.trial.unittest import TestCase

from txdane.dot import DoTAuthenticationError, DoTClient
from txdane.dotauth import BootstrapQueryError, UpstreamAuthenticator, _ChainOnly
from txdane.testing import issue

from .dotserver import DoTServer, within


class _Recorder:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, name: dns.name.Name, rdtype: Any, rdclass: Any = 1, **kw: Any) -> Any:
        self.asked.append(f"{name} {rdtype}")
        return succeed(None)


class ChainOnlyTests(TestCase):
    """
    Before a server is authenticated, only the lookup of its TLSA records may use it.
    """

    def test_chainPasses(self) -> None:
        """
        The TLSA owner and the names above it (their DS and DNSKEY RRsets) are asked.
        """
        recorder = _Recorder()
        guard = _ChainOnly(recorder, dns.name.from_text("_853._tcp.dns.example.net."))  # type: ignore[arg-type]
        for name, rdtype in [
            ("_853._tcp.dns.example.net.", "TLSA"),
            ("example.net.", "DNSKEY"),
            ("dns.example.net.", "DS"),
            (".", "DNSKEY"),
        ]:
            self.successResultOf(guard.query(name, rdtype))
        self.assertEqual(len(recorder.asked), 4)

    def test_otherNamesRefused(self) -> None:
        """
        Any other name (a user's query, a CNAME's target, a sibling) is refused before it is
        written, with L{BootstrapQueryError}.
        """
        recorder = _Recorder()
        owner = dns.name.from_text("_853._tcp.dns.example.net.")
        guard = _ChainOnly(recorder, owner)  # type: ignore[arg-type]
        for name in (
            "www.example.net.",
            "_443._tcp.dns.example.net.",
            "x._853._tcp.dns.example.net.",
        ):
            failure = self.failureResultOf(guard.query(name, "A"), BootstrapQueryError)
            self.assertEqual(failure.value.owner, owner)
            self.assertIn(
                "not sent to a DNS-over-TLS server before it is authenticated", str(failure.value)
            )
        self.assertEqual(recorder.asked, [])


class AddressNameTests(TestCase):
    """
    A server authenticated for an IP address: PKIX only (an address has no TLSA records), with
    the trust store OpenSSL finds, C{SSL_CERT_FILE} included.
    """

    def setUp(self) -> None:
        self.server = DoTServer(name="127.0.0.1")
        self.server.start()
        self.addCleanup(self.server.stop)
        saved = os.environ.get("SSL_CERT_FILE")

        def restore() -> None:
            if saved is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = saved

        self.addCleanup(restore)

    def client(self) -> DoTClient:
        client = DoTClient(
            reactor,
            [self.server.address],
            "127.0.0.1",
            UpstreamAuthenticator(reactor, "127.0.0.1"),
            timeout=5,
            attempts=1,
        )
        self.addCleanup(client.close)
        return client

    def caFile(self) -> str:
        """
        A path for a CA file in a temporary directory removed after the test (not below the
        working directory, where trial's C{mktemp} would leave it).
        """
        directory = tempfile.TemporaryDirectory(prefix="txdane-dotauth-")
        self.addCleanup(directory.cleanup)
        return os.path.join(directory.name, "ca.pem")

    async def test_sslCertFile(self) -> None:
        """
        With the server's CA in C{SSL_CERT_FILE}, it is authenticated; the only query it
        receives is the user's (no TLSA lookup for an address).
        """
        caFile = self.caFile()
        with open(caFile, "wb") as f:
            f.write(self.server.ca.certPEM())
        os.environ["SSL_CERT_FILE"] = caFile
        response = await self.client().query("www.example.test", "A")
        self.assertEqual(str(response.answer[0].name), "www.example.test.")
        self.assertEqual(
            [str(q.question[0].name) for q in self.server.queries], ["www.example.test."]
        )

    async def test_untrusted(self) -> None:
        """
        Without the CA in the trust store, the server is refused by PKIX, and sent nothing.
        """
        caFile = self.caFile()
        with open(caFile, "wb") as f:
            f.write(issue("Someone else's CA", ca=True).certPEM())
        os.environ["SSL_CERT_FILE"] = caFile
        with self.assertRaises(DoTAuthenticationError) as raised:
            await self.client().query("www.example.test", "A")
        text = str(raised.exception)
        self.assertIn("refused as DNS-over-TLS server 127.0.0.1", text)
        self.assertIn("PKIX verification failed", text)
        self.assertEqual(self.server.bytesReceived, 0)


class CloseNotifyIgnoredTests(TestCase):
    """
    A server that ignores TLS's close_notify (neither answers it nor closes the connection)
    holds up neither the decision on how to authenticate it nor the queries after it.
    """

    async def test_decisionNotWedged(self) -> None:
        """
        The server answers the TLSA lookup with SERVFAIL: it is refused once the bootstrap
        connection is closed (aborted after the grace, here the lookup's timeout), and the
        next query asks for a decision again instead of waiting for the first for ever.
        """
        import dns.message
        import dns.rcode

        def servfail(query: dns.message.Message, connection: Any) -> None:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            connection.reply(response.to_wire())

        server = DoTServer(handler=servfail, ignoreCloseNotify=True)
        server.start()
        self.addCleanup(server.stop)
        authenticator = UpstreamAuthenticator(reactor, server.name, timeout=0.3)
        client = DoTClient(
            reactor, [server.address], server.name, authenticator, timeout=2, attempts=1
        )
        self.addCleanup(client.close)
        for name in ("one.example.test", "two.example.test"):
            with self.assertRaises(DoTAuthenticationError) as raised:
                await client.query(name, "A")
            self.assertIn("SERVFAIL", str(raised.exception))
        self.assertGreaterEqual(len(server.connections), 2)
        for connection in server.connections:
            self.assertTrue(await within(connection.lost, 1))


class OverlappingDecisionsTests(TestCase):
    """
    Two decisions on the same server at once (the DoT client stopped waiting for the first
    after its deadline, and the next query asked again) share the bootstrap client: the
    first to end does not close it under the other.
    """

    def test_lastOneCloses(self) -> None:
        """
        The bootstrap client is closed when the last decision using it ends, not before.
        """
        from twisted.internet.defer import Deferred

        from txdane.resolvconf import nameServers

        lookups: list[Deferred[Any]] = []
        closes: list[int] = []

        class Resolver:
            def lookupTLSA(self, name: str, port: int) -> Deferred[Any]:
                lookups.append(Deferred())
                return lookups[-1]

        class Client:
            def close(self) -> Deferred[None]:
                closes.append(1)
                return succeed(None)

        authenticator = UpstreamAuthenticator(reactor, "dot.example.test")
        shared = (Resolver(), Client())
        authenticator._bootstrap = lambda server, owner: shared  # type: ignore[assignment,method-assign,return-value]
        (server,) = nameServers(["127.0.0.1#853"])
        first = authenticator(server)
        second = authenticator(server)
        lookups[0].errback(ValueError("the lookup failed"))
        self.failureResultOf(first, DoTAuthenticationError)
        self.assertEqual(closes, [])
        lookups[1].errback(ValueError("the lookup failed"))
        self.failureResultOf(second, DoTAuthenticationError)
        self.assertEqual(closes, [1])


class TrackedAnchorTests(TestCase):
    """
    With a trust anchor state file (RFC 5011), the lookup that decides how to authenticate a
    DNS-over-TLS upstream is validated from the keys the file trusts, as every other lookup
    is: after the root's key-signing key rolled, the configured anchor alone matches nothing.
    """

    async def test_rolledRootKey(self) -> None:
        from txdane.server.service import responderForZones
        from txdane.server.signing import SigningKey
        from txdane.settings import ResolverSettings
        from txdane.status import Status
        from txdane.testing import buildHierarchy

        hierarchy = buildHierarchy()
        old = hierarchy.keys[dns.name.root]
        new = SigningKey.generate()
        # The root now signs its DNSKEY RRset with the new key only; the old ones stay
        # published, as they sign the zone's other records.
        rolled = hierarchy.withDNSKEYs(dns.name.root, (*old, new), (new,))
        responder = responderForZones(rolled.zones.values())
        server = DoTServer(
            name="dot.example.test",
            handler=lambda query, connection: connection.reply(responder.respond(query).to_wire()),
        )
        server.start()
        self.addCleanup(server.stop)
        directory = tempfile.TemporaryDirectory(prefix="txdane-dotauth-")
        self.addCleanup(directory.cleanup)
        seed = os.path.join(directory.name, "root.anchor")
        with open(seed, "w") as f:
            f.write(hierarchy.trustAnchorText())
        state = os.path.join(directory.name, "root.state")
        with open(state, "w") as f:
            f.write(f". 3600 IN DNSKEY {new.dnskey.to_text()}\n")
        roots = os.path.join(directory.name, "ca.pem")
        with open(roots, "wb") as f:
            f.write(server.ca.certPEM())
        settings = ResolverSettings.fromStrings(
            [server.address],
            seed,
            trustAnchorState=state,
            resolverTLS="dot.example.test",
            resolverTrustRootsFile=roots,
            timeout=5,
        )
        resolver: Any = settings.build(reactor)
        self.addCleanup(resolver.querier.close)
        self.addCleanup(resolver.stopRefreshing)
        answer = await resolver.lookup("www.example.test", "A")
        self.assertIs(answer.status, Status.SECURE, answer.reason)

    def test_bootstrapFollowsTracker(self) -> None:
        """
        The lookup's resolver for a server is kept while the tracker trusts the same keys,
        and made anew with the keys it trusts once they change.
        """
        from txdane.resolvconf import nameServers
        from txdane.testing import buildHierarchy
        from txdane.validation.anchors import TrustAnchor, TrustAnchors

        hierarchy = buildHierarchy()
        seed = TrustAnchors.fromText(hierarchy.trustAnchorText())
        first = TrustAnchor(
            dns.name.root, (), tuple(key.dnskey for key in hierarchy.keys[dns.name.root])
        )

        class Tracker:
            zone = dns.name.root
            current = first

            def anchor(self) -> TrustAnchor:
                return self.current

        tracker = Tracker()
        authenticator = UpstreamAuthenticator(
            reactor,
            "dot.example.test",
            trustAnchors=seed,
            trustAnchorTracker=tracker,  # type: ignore[arg-type]
        )
        (server,) = nameServers(["127.0.0.1#853"])
        owner = dns.name.from_text("_853._tcp.dot.example.test.")
        resolver, client = authenticator._bootstrap(server, owner)
        self.addCleanup(client.close)
        self.assertEqual(resolver.trustAnchors.anchors, (first,))
        self.assertIs(authenticator._bootstrap(server, owner)[0], resolver)
        tracker.current = TrustAnchor(dns.name.root, tuple(seed.anchors[0].ds), ())
        again, other = authenticator._bootstrap(server, owner)
        self.addCleanup(other.close)
        self.assertIsNot(again, resolver)
        self.assertEqual(again.trustAnchors.anchors, (tracker.current,))

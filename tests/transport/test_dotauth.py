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

from .dotserver import DoTServer


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

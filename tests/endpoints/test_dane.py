"""
End-to-end tests of L{DANEEndpoint} and L{DNSSECEndpoint} on loopback: the signed hierarchy
served by txdane's DNS server, the validating resolver asking it through the real DNS client,
and real TLS servers.
"""

from __future__ import annotations

from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
from OpenSSL import SSL
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import PrivateCertificate, TLSVersion
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from txdane.adapters import AddressValidationError, NoAddressesError
from txdane.dane.decision import Action, Policy
from txdane.dane.errors import DANEPolicyError, DANEVerificationError, PKIXVerificationError
from txdane.dane.pkix import PKIXTrust
from txdane.endpoints import DANEEndpoint, DNSSECEndpoint, TLSHandshakeError
from txdane.errors import HandshakeTimeoutError, TxdaneError
from txdane.resolvconf import NameServer
from txdane.status import Status
from txdane.testing import TLSA_RDATA
from txdane.transport import DNSServerError, DNSTimeoutError

from ..dane.certs import issue
from ..dane.tlsserver import GREETING, RecordingClient
from .world import FailingQuerier, TLSServer, World, makeWorld, reactor, startTLSServer

WWW = "www.example.test"
CLIENT_CA = issue("Client CA", ca=True)
CLIENT = issue("client.example.test", CLIENT_CA, clientAuth=True)


class Recording(RecordingClient):
    made = False

    def connectionMade(self) -> None:
        self.made = True


def recordingFactory() -> tuple[Any, list[Recording]]:
    built: list[Recording] = []

    def build() -> Recording:
        protocol = Recording()
        built.append(protocol)
        return protocol

    return Factory.forProtocol(build), built


class DANEEndpointTests(TestCase):
    async def world(self, records: dict[str, list[str]], **kw: Any) -> World:
        world = await makeWorld(records, **kw)
        self.addCleanup(world.dnsServer.stop)
        return world

    def tlsServer(self, certificate: Any = None, *chain: Any, **kw: Any) -> Any:
        server = startTLSServer(certificate or issue(WWW), *chain, **kw)
        for port in server.ports:
            self.addCleanup(port.stopListening)
        return server

    async def connect(self, endpoint: DANEEndpoint) -> Recording:
        factory, _ = recordingFactory()
        protocol: Any = await endpoint.connect(factory)

        def close() -> Deferred[None]:
            if not protocol.lost.called:
                protocol.transport.abortConnection()
            return protocol.lost

        self.addCleanup(close)
        return protocol

    async def test_matchingTLSAConnects(self) -> None:
        """
        A server whose key matches a secure 3 1 1 record is connected to; connect() fires
        only after the handshake, the protocol gets the server's data, and SNI was sent.
        """
        server = self.tlsServer()
        world = await self.world(
            {"example.test.": [f"_{server.port}._tcp.www 300 IN TLSA {server.record()}"]}
        )
        endpoint = DANEEndpoint(reactor, world.resolver, WWW, server.port)
        self.assertTrue(verifyObject(IStreamClientEndpoint, endpoint))
        protocol = await self.connect(endpoint)
        self.assertTrue(protocol.made)
        await protocol.greeted
        self.assertEqual(b"".join(protocol.received), GREETING)
        self.assertEqual(server.factory.serverNames, [WWW.encode()])

    async def test_mismatchRefused(self) -> None:
        """
        A secure TLSA record that does not match fails connect() with the DANE error naming
        the record; the application's protocol never saw a connection.
        """
        server = self.tlsServer()
        other = issue(WWW)
        from txdane.dane.tlsa import recordForCertificate

        wrong = recordForCertificate(other.cert, 3, 1, 1)
        world = await self.world(
            {"example.test.": [f"_{server.port}._tcp.www 300 IN TLSA {wrong}"]}
        )
        factory, built = recordingFactory()
        error: Any = await self.assertFailure(
            DANEEndpoint(reactor, world.resolver, WWW, server.port).connect(factory),
            DANEVerificationError,
        )
        self.assertIn(wrong.data.hex()[:8], str(error))
        self.assertTrue(all(not p.made and not p.received for p in built))

    async def test_bogusTLSARefused(self) -> None:
        """
        A bogus TLSA RRset (expired signatures) refuses before any connection is made.
        """
        server = self.tlsServer()
        world = await self.world(
            {
                "example.test.": [f"_{server.port}._tcp.www 300 IN TLSA {server.record()}"],
                "expired.test.": [f"_{server.port}._tcp.www 300 IN TLSA {server.record()}"],
            }
        )
        endpoint = DANEEndpoint(
            reactor, world.resolver, WWW, server.port, tlsaHost="www.expired.test"
        )
        error: Any = await self.assertFailure(endpoint.connect(Factory()), DANEPolicyError)
        self.assertIs(error.status, Status.BOGUS)
        self.assertEqual(server.connections, 0)
        # The reason names the records that were looked up: the TLSA host's, not the host's.
        self.assertIn(f"TLSA lookup for _{server.port}._tcp.www.expired.test is bogus", str(error))
        required = DANEEndpoint(
            reactor,
            world.resolver,
            WWW,
            server.port,
            tlsaHost="ssh.example.test",
            policy=Policy.DANE_ONLY,
        )
        error = await self.assertFailure(required.connect(Factory()), DANEPolicyError)
        self.assertIn(
            f"DANE is required but _{server.port}._tcp.ssh.example.test has no TLSA records",
            str(error),
        )
        self.assertEqual(server.connections, 0)

    async def test_bogusAddressRefused(self) -> None:
        """
        A bogus address record fails with the address error; nothing is dialled.
        """
        server = self.tlsServer()
        world = await self.world({})
        error: Any = await self.assertFailure(
            DANEEndpoint(reactor, world.resolver, "nosig.example.test", server.port).connect(
                Factory()
            ),
            AddressValidationError,
        )
        self.assertIs(error.status, Status.BOGUS)
        self.assertEqual(server.connections, 0)

    async def test_servfailOnTLSARefused(self) -> None:
        """
        A SERVFAIL on the TLSA lookup is a refusal, never "no TLSA".
        """
        server = self.tlsServer()
        response = dns.message.make_response(dns.message.make_query("x.", "TLSA"))
        response.set_rcode(dns.rcode.SERVFAIL)
        failure = DNSServerError(response, NameServer("127.0.0.1"))
        world = await self.world({}, querier=lambda client: FailingQuerier(client, "TLSA", failure))
        error: Any = await self.assertFailure(
            DANEEndpoint(reactor, world.resolver, WWW, server.port).connect(Factory()),
            DANEPolicyError,
        )
        self.assertIn("SERVFAIL", str(error))
        self.assertEqual(server.connections, 0)

    async def test_timeoutOnTLSARefused(self) -> None:
        server = self.tlsServer()
        import dns.name
        import dns.rdatatype

        timeout = DNSTimeoutError(
            dns.name.from_text("x."), dns.rdatatype.TLSA, [NameServer("127.0.0.1")], 3
        )
        world = await self.world({}, querier=lambda client: FailingQuerier(client, "TLSA", timeout))
        await self.assertFailure(
            DANEEndpoint(reactor, world.resolver, WWW, server.port).connect(Factory()),
            DANEPolicyError,
        )
        self.assertEqual(server.connections, 0)

    async def test_unsignedZoneBehavesLikeTLS(self) -> None:
        """
        In an unsigned zone the server is verified by PKIX and the host name, as by tls:.
        """
        root = issue("Test Root", ca=True)
        leaf = issue("www.unsigned.test", root)
        server = self.tlsServer(leaf)
        world = await self.world({})
        trusted = PKIXTrust((root.cert,))
        protocol = await self.connect(
            DANEEndpoint(
                reactor, world.resolver, "www.unsigned.test", server.port, trustRoots=trusted
            )
        )
        await protocol.greeted
        # Not trusted by PKIX: refused.
        untrusted = PKIXTrust((issue("Other Root", ca=True).cert,))
        factory, built = recordingFactory()
        # OpenSSL refuses the chain, as with tls: (Twisted's optionsForClientTLS); the error
        # says why DANE did not apply and keeps OpenSSL's as its cause.
        error: Any = await self.assertFailure(
            DANEEndpoint(
                reactor, world.resolver, "www.unsigned.test", server.port, trustRoots=untrusted
            ).connect(factory),
            PKIXVerificationError,
        )
        self.assertIsInstance(error, TxdaneError)
        self.assertIsInstance(error.__cause__, SSL.Error)
        self.assertIn("no DANE (the addresses of www.unsigned.test are insecure", str(error))
        self.assertIn("PKIX verification failed: the certificate chain is not valid", str(error))
        self.assertTrue(all(not p.made for p in built))

    async def test_requireRefusesWithoutTLSA(self) -> None:
        server = self.tlsServer(issue("www.unsigned.test"))
        world = await self.world({})
        for host in ("www.unsigned.test", WWW):
            error: Any = await self.assertFailure(
                DANEEndpoint(
                    reactor, world.resolver, host, server.port, policy=Policy.DANE_ONLY
                ).connect(Factory()),
                DANEPolicyError,
            )
            self.assertIn("DANE is required", str(error))
        self.assertEqual(server.connections, 0)

    async def connectOverIPv6(self, label: str) -> tuple[TLSServer, World, Recording]:
        """
        Connect to C{label}.example.test, which has only an AAAA record (::1), to a server
        listening on ::1 only; return once it greeted.
        """
        server = self.tlsServer(interfaces=("::1",))
        world = await self.world(
            {
                "example.test.": [
                    f"{label} 300 IN AAAA ::1",
                    f"_{server.port}._tcp.{label} 300 IN TLSA {server.record()}",
                ]
            }
        )
        protocol = await self.connect(
            DANEEndpoint(reactor, world.resolver, f"{label}.example.test", server.port)
        )
        await protocol.greeted
        return server, world, protocol

    async def test_ipv6Only(self) -> None:
        """
        A name with only an AAAA record is reached over IPv6.
        """
        _, _, protocol = await self.connectOverIPv6("v6")
        self.assertEqual(protocol.transport.getPeer().host, "::1")  # type: ignore[union-attr]

    async def test_onlyValidatedAddressesDialled(self) -> None:
        """
        The addresses dialled are those the validator proved, whatever the system resolver
        says: the name is unknown to it, and the IPv4 address in the zone has no listener
        while the IPv6 one has, so a connection proves the validated AAAA was used.
        """
        server, world, _ = await self.connectOverIPv6("v6only")
        # A name whose only address has no listener fails to connect: nothing else is tried.
        await self.assertFailure(
            DANEEndpoint(
                reactor, world.resolver, "mx.example.test", server.port, policy=Policy.DEFAULT
            ).connect(Factory()),
            ConnectionRefusedError,
        )

    async def test_cnameBaseDomain(self) -> None:
        """
        Through a secure CNAME, the TLSA records of the target are used and SNI names the
        target (RFC 7671 section 7).
        """
        server = self.tlsServer()
        world = await self.world(
            {"example.test.": [f"_{server.port}._tcp.www 300 IN TLSA {server.record()}"]}
        )
        protocol = await self.connect(
            DANEEndpoint(reactor, world.resolver, "alias.example.test", server.port)
        )
        await protocol.greeted
        self.assertEqual(server.factory.serverNames, [WWW.encode()])

    async def clientCertificateWorld(self, **serverOptions: Any) -> tuple[TLSServer, World]:
        """
        A server that requires a client certificate issued by L{CLIENT_CA}.
        """
        server = self.tlsServer(requireClientCertificate=CLIENT_CA, **serverOptions)
        world = await self.world(
            {"example.test.": [f"_{server.port}._tcp.www 300 IN TLSA {server.record()}"]}
        )
        return server, world

    async def test_clientCertificate(self) -> None:
        """
        The client certificate of the options is the one the server receives.
        """
        server, world = await self.clientCertificateWorld()
        certificate = PrivateCertificate.loadPEM(CLIENT.certPEM() + CLIENT.keyPEM())
        protocol = await self.connect(
            DANEEndpoint(reactor, world.resolver, WWW, server.port, clientCertificate=certificate)
        )
        await protocol.greeted
        self.assertEqual(server.factory.clientCertificates, [CLIENT.cert])

    async def test_noClientCertificateRefused(self) -> None:
        """
        Without a client certificate, a server that requires one refuses the handshake (TLS
        1.2, where the client learns it before its handshake completes), so connect() fails
        with a L{TLSHandshakeError} keeping OpenSSL's error.
        """
        server, world = await self.clientCertificateWorld(maximumVersion=TLSVersion.TLSv1_2)
        factory, built = recordingFactory()
        error: Any = await self.assertFailure(
            DANEEndpoint(reactor, world.resolver, WWW, server.port).connect(factory),
            TLSHandshakeError,
        )
        self.assertIsInstance(error.cause, SSL.Error)
        self.assertIs(error.__cause__, error.cause)
        self.assertIn("the TLS handshake failed: ", str(error))
        self.assertEqual(server.factory.clientCertificates, [])
        self.assertTrue(all(not p.made for p in built))

    async def test_cancelDuringLookup(self) -> None:
        """
        Cancelling while the lookups are in flight stops them.
        """
        server = self.tlsServer()
        world = await self.world({})
        pending: list[Deferred[Any]] = []

        class Silent:
            def query(self, *a: Any, **k: Any) -> Deferred[Any]:
                pending.append(Deferred())
                return pending[-1]

        from txdane.validation import TrustAnchors, ValidatingResolver

        resolver = ValidatingResolver(
            Silent(),
            trustAnchors=TrustAnchors.fromRRsets([world.hierarchy.trustAnchor]),
            clock=reactor,
        )
        d = DANEEndpoint(reactor, resolver, WWW, server.port).connect(Factory())
        self.assertTrue(pending)
        d.cancel()
        await self.assertFailure(d, CancelledError)
        self.assertEqual(server.connections, 0)
        self.assertTrue(all(q.called for q in pending))

    async def test_cancelDuringHandshake(self) -> None:
        """
        Cancelling while the TLS handshake waits for a silent server closes the connection;
        the application's protocol never saw it. (The other stages: test_memory.)
        """
        accepted: Deferred[None] = Deferred()
        lost: Deferred[None] = Deferred()

        class Silent(Protocol):
            def dataReceived(self, data: bytes) -> None:
                # The client's first handshake message: it is connected and waiting.
                if not accepted.called:
                    accepted.callback(None)

            def connectionLost(self, reason: Any = None) -> None:
                lost.callback(None)

        port = reactor.listenTCP(0, Factory.forProtocol(Silent), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        record = "3 1 1 " + "ab" * 32
        world = await self.world(
            {
                "example.test.": [
                    "v4 300 IN A 127.0.0.1",
                    f"_{number}._tcp.v4 300 IN TLSA {record}",
                ]
            }
        )
        factory, built = recordingFactory()
        d = DANEEndpoint(reactor, world.resolver, "v4.example.test", number).connect(factory)
        await accepted
        d.cancel()
        await self.assertFailure(d, CancelledError)
        await lost
        self.assertTrue(all(not p.made for p in built))


class DNSSECEndpointTests(TestCase):
    async def test_secureConnects(self) -> None:
        world = await makeWorld({})
        self.addCleanup(world.dnsServer.stop)
        received: Deferred[bytes] = Deferred()

        class Greeter(Protocol):
            def connectionMade(self) -> None:
                self.transport.write(b"hi")  # type: ignore[union-attr]
                self.transport.loseConnection()  # type: ignore[union-attr]

        class Reader(Protocol):
            def dataReceived(self, data: bytes) -> None:
                if not received.called:
                    received.callback(data)

        port = reactor.listenTCP(0, Factory.forProtocol(Greeter), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        endpoint = DNSSECEndpoint(reactor, world.resolver, "ssh.example.test", 22)
        self.assertTrue(verifyObject(IStreamClientEndpoint, endpoint))
        # ssh.example.test is 127.0.0.3: nothing listens there, so it is refused...
        await self.assertFailure(
            DNSSECEndpoint(
                reactor, world.resolver, "ssh.example.test", port.getHost().port
            ).connect(Factory.forProtocol(Reader)),
            ConnectionRefusedError,
        )
        # ...while www.example.test (127.0.0.1, ::1) reaches the server.
        await DNSSECEndpoint(reactor, world.resolver, WWW, port.getHost().port).connect(
            Factory.forProtocol(Reader)
        )
        self.assertEqual(await received, b"hi")

    async def test_insecureNeedsPermission(self) -> None:
        world = await makeWorld({})
        self.addCleanup(world.dnsServer.stop)
        error: Any = await self.assertFailure(
            DNSSECEndpoint(reactor, world.resolver, "www.unsigned.test", 9).connect(Factory()),
            AddressValidationError,
        )
        self.assertIs(error.status, Status.INSECURE)
        await self.assertFailure(
            DNSSECEndpoint(
                reactor, world.resolver, "www.unsigned.test", 9, allowInsecure=True
            ).connect(Factory()),
            ConnectionRefusedError,
        )
        await self.assertFailure(
            DNSSECEndpoint(
                reactor, world.resolver, "www.expired.test", 9, allowInsecure=True
            ).connect(Factory()),
            AddressValidationError,
        )
        await self.assertFailure(
            DNSSECEndpoint(reactor, world.resolver, "nx.example.test", 9).connect(Factory()),
            NoAddressesError,
        )


#: A 3 1 1 record whose SHA2-256 digest is 31 bytes: malformed, so unusable (RFC 7671 s.4).
MALFORMED_TLSA = r"\# 34 030101" + "ab" * 31


class MalformedTLSATests(TestCase):
    """
    A TLSA RRset holding a record whose data has the wrong length for its matching type: that
    record is unusable and the others still count, as in OpenSSL and Postfix.
    """

    async def test_goodRecordStillVerifies(self) -> None:
        server = startTLSServer(issue(WWW))
        for port in server.ports:
            self.addCleanup(port.stopListening)
        world = await makeWorld(
            {
                "example.test.": [
                    f"_{server.port}._tcp.www 300 IN TLSA {MALFORMED_TLSA}",
                    f"_{server.port}._tcp.www 300 IN TLSA {server.record()}",
                ]
            }
        )
        self.addCleanup(world.dnsServer.stop)
        endpoint = DANEEndpoint(reactor, world.resolver, WWW, server.port)
        _, plan = await endpoint.plan()
        self.assertIs(plan.action, Action.DANE)
        unusable = [r for r in plan.records if not r.usable]
        self.assertEqual(len(unusable), 1)
        self.assertEqual(unusable[0].unusableReason, "SHA2-256 data is 31 bytes, not 32")
        factory, _ = recordingFactory()
        protocol: Any = await endpoint.connect(factory)
        self.assertTrue(protocol.made)
        await protocol.greeted
        protocol.transport.abortConnection()
        await protocol.lost

    async def test_planForAnotherProtocolLabel(self) -> None:
        """
        C{plan(proto="udp")} plans with the records of C{_PORT._udp.HOST}, not those of the
        endpoint's own label, and its reasons name them.
        """
        world = await makeWorld({"example.test.": [f"_853._udp.www 300 IN TLSA {MALFORMED_TLSA}"]})
        self.addCleanup(world.dnsServer.stop)
        endpoint = DANEEndpoint(reactor, world.resolver, WWW, 853)
        _, plan = await endpoint.plan()
        self.assertIs(plan.action, Action.PKIX)
        self.assertIn("_853._tcp.www.example.test has no TLSA records", plan.reason)
        _, plan = await endpoint.plan(proto="udp")
        self.assertTrue(plan.tlsRequired)
        self.assertIn("every TLSA record of _853._udp.www.example.test is unusable", plan.reason)

    async def test_underscoreHost(self) -> None:
        """
        A host whose name has an underscore connects under DANE-EE, which checks no name; under
        PKIX, which checks the certificate against the name and cannot take such a name, the
        connection is refused with a L{DANEPolicyError} saying so, before any TCP connection.
        """
        server = startTLSServer(issue("_x.example.test"))
        for port in server.ports:
            self.addCleanup(port.stopListening)
        world = await makeWorld(
            {
                "example.test.": [
                    "_x 300 IN A 127.0.0.1",
                    f"_{server.port}._tcp._x 300 IN TLSA {server.record()}",
                    "_y 300 IN A 127.0.0.1",
                ]
            }
        )
        self.addCleanup(world.dnsServer.stop)
        factory, _ = recordingFactory()
        dane = DANEEndpoint(reactor, world.resolver, "_x.example.test", server.port)
        protocol: Any = await dane.connect(factory)
        await protocol.greeted
        protocol.transport.abortConnection()
        await protocol.lost
        pkix = DANEEndpoint(reactor, world.resolver, "_y.example.test", server.port)
        with self.assertRaises(DANEPolicyError) as caught:
            await pkix.connect(factory)
        self.assertIn(
            "_y.example.test has no TLSA records (proven by DNSSEC); but PKIX cannot check a"
            " certificate for _y.example.test, which is not a host name by IDNA",
            str(caught.exception),
        )
        self.assertEqual(server.connections, 1)

    async def test_onlyMalformedRecords(self) -> None:
        """
        Every record malformed: secure and all unusable, so TLS without DANE
        authentication under SMTP (encrypt) and PKIX with TLS required by default.
        """
        world = await makeWorld({"example.test.": [f"_25._tcp.www 300 IN TLSA {MALFORMED_TLSA}"]})
        self.addCleanup(world.dnsServer.stop)
        smtp = DANEEndpoint(reactor, world.resolver, WWW, 25, policy=Policy.SMTP)
        _, plan = await smtp.plan()
        self.assertIs(plan.action, Action.ENCRYPT)
        self.assertTrue(plan.tlsRequired)
        _, plan = await DANEEndpoint(reactor, world.resolver, WWW, 25).plan()
        self.assertIs(plan.action, Action.PKIX)
        self.assertTrue(plan.tlsRequired)


class HandshakeDeadlineLoopbackTests(TestCase):
    async def test_silentServer(self) -> None:
        """
        A real server on loopback that accepts the connection and never answers the
        ClientHello: connect() fails with HandshakeTimeoutError at the deadline, and the
        connection is closed.
        """
        closed: Deferred[None] = Deferred()

        class Silent(Protocol):
            def connectionLost(self, reason: Any = None) -> None:
                closed.callback(None)

        port: Any = reactor.listenTCP(0, Factory.forProtocol(Silent), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        record = f"_{number}._tcp.www 300 IN TLSA {TLSA_RDATA}"
        world = await makeWorld({"example.test.": [record]})
        self.addCleanup(world.dnsServer.stop)
        endpoint = DANEEndpoint(reactor, world.resolver, WWW, number, handshakeTimeout=0.3)
        started = reactor.seconds()
        connecting = endpoint.connect(Factory.forProtocol(Protocol))
        error: Any = await self.assertFailure(connecting, HandshakeTimeoutError)
        self.assertGreaterEqual(reactor.seconds() - started, 0.3)
        self.assertEqual(str(error), f"{WWW}:{number}: no TLS handshake within 0.3 s")
        await closed

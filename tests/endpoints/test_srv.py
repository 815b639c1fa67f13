"""
L{SRVEndpoint} on loopback: the signed hierarchy with SRV and TLSA records, TLS servers and a
small scripted XMPP server for the endpoint's own STARTTLS.
"""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol, ReconnectingClientFactory
from twisted.internet.ssl import CertificateOptions
from twisted.internet.task import deferLater
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints import ServiceNotOfferedError, SRVConnectError, SRVEndpoint
from txdane.endpoints.connection import IDANEConnection, Protection
from txdane.endpoints.errors import StartTLSError
from txdane.errors import HandshakeTimeoutError

from ..dane.certs import Issued, issue
from ..dane.tlsserver import GREETING, GreetingServer, RecordingClient, serverOptions
from .test_srvplan import FakeRandom
from .world import World, makeWorld, reactor

DOMAIN = "chat.example.test"
TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"


def options(certificate: Issued, alpn: tuple[bytes, ...] = ()) -> CertificateOptions:
    if not alpn:
        return serverOptions(certificate)
    # cryptography objects, which pyOpenSSL prefers to its own (Twisted's hints predate that).
    kw: dict[str, object] = {
        "privateKey": certificate.key,
        "certificate": certificate.cert,
        "acceptableProtocols": list(alpn),
    }
    return CertificateOptions(**kw)  # type: ignore[arg-type]


class ScriptedXMPPServer(Protocol):
    """
    Plays an XMPP server up to STARTTLS as C{factory.mode} says: C{ok} offers and grants it,
    then greets over TLS; C{none} offers no STARTTLS; C{failure} refuses it; C{error} sends
    a stream error; C{inject} writes cleartext right after C{<proceed/>}.
    """

    def connectionMade(self) -> None:
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        factory: Any = self.factory
        transport: Any = self.transport
        self.buffer += data
        factory.received.append(data)
        if b"<stream:stream" in data:
            transport.write(
                b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                b"xmlns:stream='http://etherx.jabber.org/streams' id='1' version='1.0'>"
            )
            if factory.mode == "error":
                transport.write(
                    b"<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                    b"</stream:error>"
                )
            elif factory.mode == "none":
                transport.write(b"<stream:features><mechanisms/></stream:features>")
            else:
                transport.write(
                    f"<stream:features><starttls xmlns='{TLS_NS}'><required/></starttls>"
                    "</stream:features>".encode()
                )
        elif b"<starttls" in data:
            if factory.mode == "failure":
                transport.write(f"<failure xmlns='{TLS_NS}'/>".encode())
                return
            transport.write(f"<proceed xmlns='{TLS_NS}'/>".encode())
            if factory.mode == "inject":
                transport.write(b"INJECTED")
            transport.startTLS(factory.options)
            transport.write(GREETING)


class ScriptedLineServer(Protocol):
    """
    Plays an IMAP, POP3 or submission server up to STARTTLS: C{factory.script} maps each
    line the client sends to the reply; the reply to C{factory.upgradeOn} is followed by
    TLS and a greeting inside it.
    """

    def connectionMade(self) -> None:
        factory: Any = self.factory
        assert self.transport is not None
        self.transport.write(factory.greeting)
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        factory: Any = self.factory
        transport: Any = self.transport
        self.buffer += data
        while b"\r\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            factory.received.append(line)
            transport.write(factory.script.get(line.split()[0], b"500 what?\r\n"))
            if line == factory.upgradeOn:
                transport.startTLS(factory.options)
                transport.write(GREETING)


#: For each STARTTLS service: the greeting, the replies and the command that upgrades.
LINE_SERVERS = {
    "imap": (
        b"* OK [ALERT] the server's own\r\n",
        {b"a001": b"a001 OK Begin TLS\r\n"},
        b"a001 STARTTLS",
    ),
    "pop3": (b"+OK POP3 <1.2@server>\r\n", {b"STLS": b"+OK Begin TLS\r\n"}, b"STLS"),
    "submission": (
        b"220 the server's own ESMTP\r\n",
        {
            b"EHLO": b"250-mail.example.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n",
            b"STARTTLS": b"220 go ahead\r\n",
        },
        b"STARTTLS",
    ),
}


class _Reconnecting(ReconnectingClientFactory):
    """
    A reconnecting factory (as twisted.words' C{XmlStreamFactory} is) that records what it
    hears from the connector: C{("lost", destination port, reason)} and C{("failed",
    error)}; it stops trying when the connector has no target left.
    """

    initialDelay = delay = 0.01
    factor = 1.0

    def __init__(self) -> None:
        self.clients: list[RecordingClient] = []
        self.events: list[tuple[Any, ...]] = []
        self.event: Deferred[None] = Deferred()

    def buildProtocol(self, addr: Any) -> RecordingClient:
        client = RecordingClient()
        client.greeted.addErrback(lambda _: None)
        self.clients.append(client)
        return client

    def _note(self, *event: Any) -> None:
        self.events.append(event)
        happened, self.event = self.event, Deferred()
        happened.callback(None)

    def clientConnectionLost(self, connector: Any, reason: Any) -> None:
        self._note("lost", connector.getDestination().port, reason)
        super().clientConnectionLost(connector, reason)

    def clientConnectionFailed(self, connector: Any, reason: Any) -> None:
        self.stopTrying()
        self._note("failed", reason.value)


class SRVEndpointTests(TestCase):
    async def world(self, records: list[str]) -> World:
        world = await makeWorld({"example.test.": records})
        self.addCleanup(world.dnsServer.stop)
        return world

    def listen(self, factory: Any) -> int:
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return int(port.getHost().port)

    def tlsServer(
        self, certificate: Issued, alpn: tuple[bytes, ...] = (b"xmpp-client", b"imap")
    ) -> tuple[int, Any]:
        factory: Any = Factory.forProtocol(GreetingServer)
        factory.serverNames = []
        factory.clientCertificates = []
        return self.listen(TLSMemoryBIOFactory(options(certificate, alpn), False, factory)), factory

    def xmppServer(self, certificate: Issued, mode: str = "ok") -> tuple[int, Any]:
        factory: Any = Factory.forProtocol(ScriptedXMPPServer)
        factory.mode = mode
        factory.options = options(certificate)
        factory.received = []
        return self.listen(factory), factory

    def lineServer(self, certificate: Issued, service: str) -> tuple[int, Any]:
        factory: Any = Factory.forProtocol(ScriptedLineServer)
        factory.greeting, factory.script, factory.upgradeOn = LINE_SERVERS[service]
        factory.options = options(certificate)
        factory.received = []
        return self.listen(factory), factory

    async def connect(self, endpoint: Any) -> RecordingClient:
        client = RecordingClient()
        protocol: Any = await endpoint.connect(Factory.forProtocol(lambda: client))
        self.addCleanup(protocol.transport.abortConnection)
        # Tests that wait for the greeting see its failure through the received data.
        client.greeted.addErrback(lambda _: None)
        return client

    def endpoint(self, world: World, service: str = "xmpp-client", **kw: Any) -> SRVEndpoint:
        return SRVEndpoint(reactor, world.resolver, service, DOMAIN, timeout=5, **kw)

    def tlsa(self, port: int, certificate: Issued, host: str = "xmpp") -> list[str]:
        record = recordForCertificate(certificate.cert, 3, 1, 1)
        return [f"{host} 300 IN A 127.0.0.1", f"_{port}._tcp.{host} 300 IN TLSA {record}"]

    async def test_starttls(self) -> None:
        """
        The endpoint opens the stream to the service domain, asks for STARTTLS, verifies the
        server by DANE with the service domain as SNI, and only then connects the
        application, which sees nothing of the cleartext part.
        """
        certificate = issue("anything.example")
        port, server = self.xmppServer(certificate)
        world = await self.world(
            [f"_xmpp-client._tcp.chat 300 IN SRV 0 0 {port} xmpp", *self.tlsa(port, certificate)]
        )
        endpoint = self.endpoint(world)
        self.assertTrue(verifyObject(IStreamClientEndpoint, endpoint))
        client = await self.connect(endpoint)
        await client.greeted
        self.assertEqual(b"".join(client.received), GREETING)
        self.assertIn(b'to="chat.example.test"', server.received[0])
        self.assertIn(b'xmlns="jabber:client"', server.received[0])
        info = IDANEConnection(client.transport).connectionInfo
        self.assertEqual(
            (info.host, info.domain, info.protection),
            ("xmpp.example.test", DOMAIN, Protection.VERIFIED),
        )

    async def test_lineProtocolsStartTLS(self) -> None:
        """
        C{dane:srv=imap}, C{pop3} and C{submission}: the endpoint does the protocol's
        STARTTLS, verifies the target by DANE (SNI: the target, RFC 7673) and connects the
        application only then, handing it a greeting of the endpoint's making (never the
        server's cleartext one) first.
        """
        made = {
            "imap": b"* OK IMAP4rev1 mail.example.test ready\r\n",
            "pop3": b"+OK mail.example.test ready\r\n",
            "submission": b"220 mail.example.test ESMTP\r\n",
        }
        for service in ("imap", "pop3", "submission"):
            certificate = issue("anything.example")
            port, server = self.lineServer(certificate, service)
            world = await self.world(
                [
                    f"_{service}._tcp.chat 300 IN SRV 0 0 {port} mail",
                    *self.tlsa(port, certificate, host="mail"),
                ]
            )
            client = await self.connect(self.endpoint(world, service))
            await client.greeted
            self.assertEqual(b"".join(client.received), made[service] + GREETING)
            self.assertEqual(server.received[-1], LINE_SERVERS[service][2])
            info = IDANEConnection(client.transport).connectionInfo
            self.assertEqual(info.protection, Protection.VERIFIED)
            self.assertEqual(info.plan.serverName, "mail.example.test")

    async def refusedStartTLS(self, mode: str) -> StartTLSError:
        certificate = issue("xmpp.example.test")
        port, _ = self.xmppServer(certificate, mode)
        world = await self.world(
            [f"_xmpp-client._tcp.chat 300 IN SRV 0 0 {port} xmpp", *self.tlsa(port, certificate)]
        )
        built: list[Any] = []

        def build() -> RecordingClient:
            built.append(RecordingClient())
            return built[-1]

        factory = Factory.forProtocol(build)
        error: Any = await self.assertFailure(
            self.endpoint(world).connect(factory), SRVConnectError
        )
        [attempt] = error.attempts
        cause = attempt.error
        self.assertIsInstance(cause, StartTLSError)
        self.assertTrue(all(not c.received and c.transport is None for c in built))
        return cause

    async def test_starttlsNotOffered(self) -> None:
        """
        A server (or an attacker) that leaves STARTTLS out of the features: refused, the
        application never connected.
        """
        error = await self.refusedStartTLS("none")
        self.assertIn("does not offer STARTTLS", str(error))

    async def test_starttlsFailure(self) -> None:
        error = await self.refusedStartTLS("failure")
        self.assertIn("<failure/>", str(error))

    async def test_streamError(self) -> None:
        error = await self.refusedStartTLS("error")
        self.assertIn("stream error host-unknown", str(error))

    async def test_cleartextAfterProceedDropped(self) -> None:
        """
        Cleartext sent after C{<proceed/>} never reaches the application (nor TLS).
        """
        certificate = issue("xmpp.example.test")
        port, _ = self.xmppServer(certificate, "inject")
        world = await self.world(
            [f"_xmpp-client._tcp.chat 300 IN SRV 0 0 {port} xmpp", *self.tlsa(port, certificate)]
        )
        client = await self.connect(self.endpoint(world))
        await client.greeted
        self.assertEqual(b"".join(client.received), GREETING)

    async def test_directTLSOffersALPNAndSendsDomain(self) -> None:
        """
        A direct TLS target (XEP-0368): ALPN C{xmpp-client} and SNI the service domain.
        """
        certificate = issue("xmpp.example.test")
        port, server = self.tlsServer(certificate, alpn=(b"xmpp-client",))
        world = await self.world(
            [f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {port} xmpp", *self.tlsa(port, certificate)]
        )
        client = await self.connect(self.endpoint(world))
        await client.greeted
        assert client.transport is not None
        self.assertEqual(client.transport.negotiatedProtocol, b"xmpp-client")  # type: ignore[attr-defined]
        self.assertEqual(server.serverNames, [DOMAIN.encode()])

    async def test_sniTargetForOtherServices(self) -> None:
        """
        RFC 7673 for other services: under DANE, SNI names the target.
        """
        certificate = issue("imap.example.test")
        port, server = self.tlsServer(certificate)
        world = await self.world(
            [
                f"_imaps._tcp.chat 300 IN SRV 0 0 {port} imap",
                *self.tlsa(port, certificate, host="imap"),
            ]
        )
        client = await self.connect(self.endpoint(world, "imaps"))
        await client.greeted
        self.assertEqual(server.serverNames, [b"imap.example.test"])

    async def test_weightOrder(self) -> None:
        """
        Two targets of one priority: the random source decides which is tried first.
        """
        certificate = issue("xmpp.example.test")
        port, _ = self.tlsServer(certificate)
        world = await self.world(
            [
                f"_xmpps-client._tcp.chat 300 IN SRV 0 10 {port} a",
                f"_xmpps-client._tcp.chat 300 IN SRV 0 30 {port} b",
                *self.tlsa(port, certificate, "a"),
                *self.tlsa(port, certificate, "b"),
            ]
        )
        for draw, first in ((5, "a.example.test"), (11, "b.example.test")):
            endpoint = self.endpoint(world, random=FakeRandom([draw]))
            await self.connect(endpoint)
            assert endpoint.connectedTarget is not None
            self.assertEqual(endpoint.connectedTarget.host, first)

    async def test_priorityFallbackListsErrors(self) -> None:
        """
        Targets are tried by priority; a target that fails (nothing listening; no TLSA
        record matched) is followed by the next, and the error lists every target.
        """
        certificate = issue("xmpp.example.test")
        port, _ = self.tlsServer(certificate)
        # A port bound but not listening refuses connections, and stays ours for the test
        # (a closed listening port could be taken by another process meanwhile).
        refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(refusing.close)
        refusing.bind(("127.0.0.1", 0))
        closed = refusing.getsockname()[1]
        wrong = issue("xmpp.example.test")
        world = await self.world(
            [
                f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {port} bad",
                f"_xmpps-client._tcp.chat 300 IN SRV 10 0 {port} xmpp",
                *self.tlsa(port, wrong, "bad"),
                *self.tlsa(port, certificate),
            ]
        )
        endpoint = self.endpoint(world)
        await self.connect(endpoint)
        assert endpoint.connectedTarget is not None
        self.assertEqual(endpoint.connectedTarget.host, "xmpp.example.test")
        # Now with no good target at all.
        world = await self.world(
            [
                f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {port} bad",
                f"_xmpps-client._tcp.chat 300 IN SRV 10 0 {closed} xmpp",
                *self.tlsa(port, wrong, "bad"),
                *self.tlsa(closed, certificate),
            ]
        )
        error: Any = await self.assertFailure(
            self.endpoint(world).connect(Factory.forProtocol(Protocol)), SRVConnectError
        )
        self.assertEqual(
            [a.host for a in error.attempts], ["bad.example.test", "xmpp.example.test"]
        )
        # Each target once, as host:port: why.
        self.assertEqual(str(error).count("bad.example.test"), 1)
        self.assertEqual(str(error).count(f"xmpp.example.test:{closed}"), 1)
        self.assertIn(f"bad.example.test:{port} (127.0.0.1): refused: ", str(error))
        self.assertIn("no TLSA record matched", str(error))
        self.assertIn("ConnectionRefusedError", str(error))

    async def test_handshakeTimeout(self) -> None:
        """
        A target that accepts the connection and then says nothing is given up on after
        the timeout.
        """
        silent = self.listen(Factory.forProtocol(Protocol))
        certificate = issue("xmpp.example.test")
        world = await self.world(
            [
                f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {silent} xmpp",
                *self.tlsa(silent, certificate),
            ]
        )
        endpoint = SRVEndpoint(reactor, world.resolver, "xmpp-client", DOMAIN, handshakeTimeout=0.2)
        error: Any = await self.assertFailure(
            endpoint.connect(Factory.forProtocol(Protocol)), SRVConnectError
        )
        self.assertIsInstance(error.attempts[0].error, HandshakeTimeoutError)
        self.assertIn("no TLS handshake within 0.2 s", str(error))

    async def test_fromStringTargetDot(self) -> None:
        """
        C{dane:srv=...:domain=...} from a string; a target C{.} means the service is not
        offered.
        """
        world = await self.world(["_xmpp-client._tcp.chat 300 IN SRV 0 0 0 ."])
        anchor = str(Path(tempfile.mkdtemp(prefix="txdane-anchor-")) / "anchor")
        with open(anchor, "w") as f:
            f.write(world.hierarchy.trustAnchorText())
        address = world.resolverAddress.replace(":", "\\:")
        endpoint = clientFromString(
            reactor,
            f"dane:srv=xmpp-client:domain={DOMAIN}:resolver={address}:trustAnchor={anchor}",
        )
        self.assertIsInstance(endpoint, SRVEndpoint)
        error: Any = await self.assertFailure(endpoint.connect(Factory()), ServiceNotOfferedError)
        self.assertIn("SRV target is '.'", str(error))

    async def test_lostConnectionReportedNextTargetOnReconnect(self) -> None:
        """
        A C{ClientFactory} hears of a lost connection through C{clientConnectionLost}, as
        with C{connectTCP}, for direct TLS and STARTTLS targets alike; the connector it gets
        dials the next target, and when none is left C{clientConnectionFailed} gets the
        L{SRVConnectError}.
        """
        certificate = issue("xmpp.example.test")
        direct, _ = self.tlsServer(certificate, alpn=(b"xmpp-client",))
        starttls, _ = self.xmppServer(certificate)
        world = await self.world(
            [
                f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {direct} a",
                f"_xmpp-client._tcp.chat 300 IN SRV 10 0 {starttls} xmpp",
                *self.tlsa(direct, certificate, "a"),
                *self.tlsa(starttls, certificate),
            ]
        )
        factory = _Reconnecting()
        endpoint = self.endpoint(world)
        protocol: Any = await endpoint.connect(factory)
        self.addCleanup(factory.stopTrying)
        [first] = factory.clients
        self.assertIs(protocol, first)
        await first.greeted
        self.assertEqual(factory.events, [])
        # The server side goes away: the factory hears of it and reconnects.
        lost = factory.event
        first.transport.loseConnection()  # type: ignore[union-attr]
        await lost
        [(what, port, reason)] = factory.events
        self.assertEqual((what, port), ("lost", direct))
        self.assertIsInstance(reason, Failure)
        while len(factory.clients) < 2 or not factory.clients[1].greeted.called:
            await deferLater(reactor, 0.01)
        second = factory.clients[1]
        self.assertEqual(b"".join(second.received), GREETING)
        assert endpoint.connectedTarget is not None
        self.assertEqual(endpoint.connectedTarget.port, starttls)
        info = IDANEConnection(second.transport).connectionInfo
        self.assertEqual(info.protection, Protection.VERIFIED)
        # Lost again: no target is left.
        failed = factory.event
        second.transport.abortConnection()  # type: ignore[union-attr]
        await failed
        if len(factory.events) < 3:
            await factory.event
        [_, (what, port, _), (failure, error)] = factory.events
        self.assertEqual((what, port, failure), ("lost", starttls, "failed"))
        self.assertIsInstance(error, SRVConnectError)
        self.assertEqual(len(factory.clients), 2)

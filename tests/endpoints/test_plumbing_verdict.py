"""
L{HandshakeGate<txdane.endpoints._plumbing.HandshakeGate>} connects the application only
once the DANE check of the handshake reached a positive verdict: a handshake that completes
without one (which the check aborts) never connects it, over TLS from the first byte and
after STARTTLS alike, although an aborted TCP transport does not say it is disconnecting.
"""

from __future__ import annotations

from typing import Any

import dns.name
from OpenSSL import SSL
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import SynchronousTestCase, TestCase

from txdane.dane import tls
from txdane.dane.decision import TLSAResult, planConnection
from txdane.dane.errors import DANEVerificationError
from txdane.dane.tls import DANEClientTLSOptions
from txdane.dane.tlsa import TLSARecord, recordForCertificate
from txdane.endpoints import DANEEndpoint
from txdane.endpoints._plumbing import HandshakeGate
from txdane.status import Status

from ..dane.certs import Issued, issue
from ..dane.tlsserver import GreetingServer, serverOptions
from ..mail.smtpserver import listenSMTP
from .world import makeWorld, reactor

HOST = "www.example.test"
UNCHECKED = "the handshake completed without the server's certificates being checked"


class _Application(Protocol):
    """
    Records whether it was connected, and what reached it.
    """

    def __init__(self) -> None:
        self.made = False
        self.received: list[bytes] = []

    def connectionMade(self) -> None:
        self.made = True

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)


def _accepting(self: Any, *args: Any) -> bool:
    """
    A verify callback that lets the handshake go on without deciding: an OpenSSL that
    completed a handshake without calling it at depth 0, which the check exists for.
    """
    return True


class UncheckedHandshakeTests(TestCase):
    """
    On loopback, the verify callback made to pass without a verdict: C{connect()} fails with
    the check's error, direct TLS and STARTTLS alike, and the application never connects.
    """

    async def attempt(self, starttls: str | None) -> None:
        certificate = issue(HOST)
        options = serverOptions(certificate)
        if starttls is None:
            factory: Any = Factory.forProtocol(GreetingServer)
            factory.serverNames, factory.clientCertificates = [], []
            port = reactor.listenTCP(
                0, TLSMemoryBIOFactory(options, False, factory), interface="127.0.0.1"
            )
            self.addCleanup(port.stopListening)
            number = port.getHost().port
        else:
            server = listenSMTP(options, ("127.0.0.1",))
            for listening in server.ports:
                self.addCleanup(listening.stopListening)
            number = server.port
        record = recordForCertificate(certificate.cert, 3, 1, 1)
        world = await makeWorld({"example.test.": [f"_{number}._tcp.www 300 IN TLSA {record}"]})
        self.addCleanup(world.dnsServer.stop)
        self.patch(tls._HandshakeVerification, "verifyCallback", _accepting)
        application = _Application()
        endpoint = DANEEndpoint(reactor, world.resolver, HOST, number, starttls=starttls)
        error: Any = await self.assertFailure(
            endpoint.connect(Factory.forProtocol(lambda: application)), DANEVerificationError
        )
        self.assertEqual(str(error), f"{HOST}:{number} refused: {UNCHECKED}")
        self.assertFalse(application.made)
        self.assertEqual(application.received, [])

    async def test_directTLS(self) -> None:
        await self.attempt(None)

    async def test_startTLS(self) -> None:
        await self.attempt("smtp")


def _handshake(client: SSL.Connection, server: Issued) -> None:
    """
    Run a TLS handshake in memory between C{client} and a server presenting C{server}'s
    certificate, until neither end has more to say (however it ended).
    """
    context = SSL.Context(SSL.TLS_METHOD)
    context.use_certificate(server.cert)
    context.use_privatekey(server.key)
    end = SSL.Connection(context, None)
    end.set_accept_state()
    client.set_connect_state()
    for _ in range(10):
        for side in (client, end):
            try:
                side.do_handshake()
            except SSL.Error:
                pass
        for source, sink in ((client, end), (end, client)):
            try:
                sink.bio_write(source.bio_read(65536))
            except SSL.Error:
                pass


class _TLSProtocol:
    """
    Enough of C{TLSMemoryBIOProtocol} for C{clientConnectionForTLS}: failures are recorded.
    """

    class factory:
        wrappedFactory = object()

    def __init__(self) -> None:
        self.failures: list[Any] = []

    def failVerification(self, reason: Any) -> None:
        self.failures.append(reason)


class _TCPTransport(StringTransport):
    """
    The TCP transport of a connection after STARTTLS: C{getHandle()} is the OpenSSL
    connection, and an abort does not make it disconnecting.
    """

    def __init__(self, handle: SSL.Connection) -> None:
        super().__init__()
        self.handle = handle

    def getHandle(self) -> SSL.Connection:
        return self.handle


class GateVerdictTests(SynchronousTestCase):
    """
    L{HandshakeGate} alone, over a transport that is not disconnecting, whose OpenSSL
    connection had a handshake in memory: it connects the application only after a positive
    DANE verdict, or when the connection has no DANE check.
    """

    def completed(self, creator: DANEClientTLSOptions, server: Issued) -> tuple[Any, Any, Any]:
        connection = creator.clientConnectionForTLS(_TLSProtocol())  # type: ignore[arg-type]
        _handshake(connection, server)
        application = _Application()
        ready: Deferred[IProtocol] = Deferred()
        gate = HandshakeGate(application, ready)
        gate.makeConnection(_TCPTransport(connection))
        gate.handshakeCompleted()
        return gate, application, ready

    def plan(self, *records: TLSARecord) -> Any:
        result = TLSAResult(Status.SECURE, records, dns.name.from_text(HOST))
        return planConnection(result, HOST, 443)

    def test_verdictConnects(self) -> None:
        server = issue(HOST)
        creator = DANEClientTLSOptions(self.plan(recordForCertificate(server.cert)))
        gate, application, ready = self.completed(creator, server)
        self.assertIs(self.successResultOf(ready), application)
        self.assertTrue(application.made and gate.secured)

    def test_refusedNeverConnects(self) -> None:
        server = issue(HOST)
        creator = DANEClientTLSOptions(self.plan(TLSARecord(3, 1, 1, bytes(32))))
        gate, application, ready = self.completed(creator, server)
        self.assertNoResult(ready)
        self.assertFalse(application.made or gate.secured)

    def test_noVerdictNeverConnects(self) -> None:
        """
        A handshake Twisted reports complete while the check has not decided (the verify
        callback never reached depth 0) does not connect the application.
        """
        self.patch(tls._HandshakeVerification, "verifyCallback", _accepting)
        server = issue(HOST)
        creator = DANEClientTLSOptions(self.plan(recordForCertificate(server.cert)))
        gate, application, ready = self.completed(creator, server)
        self.assertNoResult(ready)
        self.assertFalse(application.made or gate.secured)
        gate.dataReceived(b"after the handshake")
        self.assertEqual(application.received, [])

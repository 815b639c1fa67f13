"""
L{DANEEndpoint}'s stages in memory: lookups held by a fake resolver, TCP connections recorded
by a C{MemoryReactorClock}, the TLS handshake pumped by C{iosim}. Nothing waits on real time.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectingCancelledError
from twisted.internet.interfaces import IProtocol
from twisted.internet.protocol import Factory
from twisted.internet.testing import MemoryReactorClock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from txdane.endpoints import DANEEndpoint

from ..dane.certs import issue
from ..dane.tlsserver import GREETING, GreetingServer, RecordingClient, serverOptions
from ..fakeresolver import PendingResolver

HOST = "www.example.test."
PORT = 443
TLSA = ("_443._tcp.www.example.test.", "TLSA")
SERVER = issue("www.example.test")


class Recording(RecordingClient):
    made = False

    def connectionMade(self) -> None:
        self.made = True


class StagesTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.resolver = PendingResolver()
        self.protocol = Recording()
        endpoint = DANEEndpoint(self.reactor, self.resolver, HOST.rstrip("."), PORT)
        self.connected: Deferred[IProtocol] = endpoint.connect(
            Factory.forProtocol(lambda: self.protocol)
        )

    def answerLookups(self, record: str | None = None) -> None:
        """
        Answer the address lookups (127.0.0.1 only) and the TLSA lookup (C{record}, or a
        record for the server's key).
        """
        from txdane.dane.tlsa import recordForCertificate

        self.resolver.answer(HOST, "A", "127.0.0.1")
        self.resolver.answer(HOST, "AAAA")
        self.resolver.answer(*TLSA, record or str(recordForCertificate(SERVER.cert)))

    def connectTCP(self) -> iosim.IOPump:
        """
        Complete the TCP connection the endpoint asked the reactor for, to a TLS server.
        """
        ((host, port, factory, _, _),) = self.reactor.tcpClients
        self.assertEqual((host, port), ("127.0.0.1", PORT))
        client = factory.buildProtocol(None)
        serverFactory: Any = Factory.forProtocol(GreetingServer)
        serverFactory.serverNames, serverFactory.clientCertificates = [], []
        tls = TLSMemoryBIOFactory(serverOptions(SERVER), False, serverFactory, clock=self.reactor)
        server = tls.buildProtocol(None)
        return iosim.connect(
            server,
            iosim.makeFakeServer(server),
            client,
            iosim.makeFakeClient(client),
            greet=False,
            clock=self.reactor,
        )

    def test_firesOnlyAfterTheVerifiedHandshake(self) -> None:
        """
        connect() waits for the lookups, then for the TCP connection, then for the handshake:
        only when the server's certificate has been verified does it fire, and only then is
        the application's protocol connected.
        """
        self.assertNoResult(self.connected)
        self.assertEqual(sorted(self.resolver.pending), sorted([(HOST, "A"), (HOST, "AAAA"), TLSA]))
        self.answerLookups()
        self.assertNoResult(self.connected)
        pump = self.connectTCP()
        self.assertNoResult(self.connected)
        self.assertFalse(self.protocol.made)
        pump.pump()  # the ClientHello reaches the server; the handshake is not over
        self.assertNoResult(self.connected)
        self.assertFalse(self.protocol.made)
        pump.flush()
        self.assertIs(self.successResultOf(self.connected), self.protocol)
        self.assertTrue(self.protocol.made and self.protocol.handshakeDone)
        self.assertEqual(b"".join(self.protocol.received), GREETING)

    def test_refusedHandshakeNeverConnects(self) -> None:
        """
        A certificate the TLSA records do not match fails connect(); the application's
        protocol never sees the connection.
        """
        self.answerLookups("3 1 1 " + "00" * 32)
        self.connectTCP().flush()
        from txdane.errors import DANEVerificationError

        self.failureResultOf(self.connected, DANEVerificationError)
        self.assertFalse(self.protocol.made)
        self.assertEqual(self.protocol.received, [])

    def test_cancelDuringAddressLookup(self) -> None:
        """
        Cancelling while every lookup is in flight stops them all; nothing is dialled.
        """
        self.connected.cancel()
        self.failureResultOf(self.connected, CancelledError)
        self.assertEqual(sorted(self.resolver.cancelled), sorted(self.resolver.pending))
        self.assertEqual(self.reactor.tcpClients, [])

    def test_cancelDuringTLSALookup(self) -> None:
        """
        Cancelling once the addresses are in but the TLSA lookup is not fails with
        CancelledError (not with a refusal about a "failed" lookup) and stops the lookup.
        """
        self.resolver.answer(HOST, "A", "127.0.0.1")
        self.resolver.answer(HOST, "AAAA")
        self.connected.cancel()
        self.failureResultOf(self.connected, CancelledError)
        self.assertEqual(self.resolver.cancelled, [TLSA])
        self.assertEqual(self.reactor.tcpClients, [])

    def test_cancelDuringTCPConnect(self) -> None:
        """
        Cancelling while the TCP connection is being made stops the attempt.
        """
        self.answerLookups()
        (connector,) = self.reactor.connectors
        self.connected.cancel()
        self.failureResultOf(self.connected, ConnectingCancelledError)
        self.assertTrue(connector.stoppedConnecting)
        self.assertFalse(self.protocol.made)

    def test_cancelDuringHandshake(self) -> None:
        """
        Cancelling during the handshake aborts the connection; the application's protocol
        never sees it.
        """
        self.answerLookups()
        pump = self.connectTCP()
        pump.pump()
        self.connected.cancel()
        self.failureResultOf(self.connected, CancelledError)
        self.assertTrue(pump.clientIO.disconnecting)
        pump.flush()
        self.assertFalse(self.protocol.made)
        self.assertEqual(self.protocol.received, [])

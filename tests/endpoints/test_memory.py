"""
L{DANEEndpoint}'s stages in memory: lookups held by a fake resolver, TCP connections recorded
by a C{MemoryReactorClock}, the TLS handshake pumped by C{iosim}. Nothing waits on real time.
"""

from __future__ import annotations

import gc
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectingCancelledError, ConnectionAborted
from twisted.internet.interfaces import IHandshakeListener, IProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import optionsForClientTLS
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import Interface, directlyProvidedBy, directlyProvides, providedBy
from zope.interface.interface import InterfaceClass

from txdane.endpoints import DANEEndpoint, _plumbing
from txdane.endpoints._plumbing import (
    KEPT_DECLARATIONS,
    HandshakeGate,
    KeptTLSFactory,
    KeptTLSProtocol,
    provide,
)

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

    def test_tlsDeclarationsKept(self) -> None:
        """
        The connection's TLS protocol is a L{KeptTLSProtocol}: the declarations it made while
        connecting, one for each interface of the TCP transport beneath it, are kept, so the
        next connection finds them built.
        """
        self.patch(_plumbing, "_keptTLS", {})  # whatever earlier tests kept, room for these
        self.answerLookups()
        self.connectTCP().flush()
        self.successResultOf(self.connected)
        tls = self.protocol.transport
        self.assertIsInstance(tls, KeptTLSProtocol)
        beneath = list(providedBy(tls.transport))  # type: ignore[union-attr]
        self.assertTrue(beneath)
        for interface in beneath:
            self.assertIn((KeptTLSProtocol, interface), _plumbing._keptTLS)

    def test_refusedHandshakeNeverConnects(self) -> None:
        """
        A certificate the TLSA records do not match fails connect(); the application's
        protocol never sees the connection.
        """
        self.answerLookups("3 1 1 " + "00" * 32)
        self.connectTCP().flush()
        from txdane.dane.errors import DANEVerificationError

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


class HandshakeDeadlineTests(SynchronousTestCase):
    """
    A server that accepts the connection and never answers the ClientHello: the handshake
    deadline aborts the connection and fails connect() with a typed error.
    """

    def connectSilent(self, reactor: MemoryReactorClock, **kw: Any) -> tuple[Any, Any]:
        resolver = PendingResolver()
        protocol = Recording()
        endpoint = DANEEndpoint(reactor, resolver, HOST.rstrip("."), PORT, **kw)
        connected = endpoint.connect(Factory.forProtocol(lambda: protocol))
        resolver.answer(HOST, "A", "127.0.0.1")
        resolver.answer(HOST, "AAAA")
        resolver.answer(*TLSA, "3 1 1 " + "00" * 32)
        ((_, _, factory, _, _),) = reactor.tcpClients
        client = factory.buildProtocol(None)
        server = Protocol()  # accepts, reads the ClientHello, says nothing
        pump = iosim.connect(
            server,
            iosim.makeFakeServer(server),
            client,
            iosim.makeFakeClient(client),
            greet=False,
            clock=reactor,
        )
        pump.flush()
        return connected, pump

    def test_silentServerTimesOut(self) -> None:
        from txdane.errors import HandshakeTimeoutError

        reactor = MemoryReactorClock()
        connected, pump = self.connectSilent(reactor)
        reactor.advance(29.9)
        self.assertNoResult(connected)
        reactor.advance(0.1)
        self.assertTrue(pump.clientIO.disconnecting)
        pump.flush()
        error = self.failureResultOf(connected, HandshakeTimeoutError).value
        self.assertEqual((error.host, error.port, error.timeout), (HOST.rstrip("."), PORT, 30))
        self.assertEqual(str(error), f"{HOST.rstrip('.')}:{PORT}: no TLS handshake within 30 s")
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_deadlineIsAnOption(self) -> None:
        from txdane.errors import HandshakeTimeoutError

        reactor = MemoryReactorClock()
        connected, pump = self.connectSilent(reactor, handshakeTimeout=2.5)
        reactor.advance(2.5)
        pump.flush()
        self.failureResultOf(connected, HandshakeTimeoutError)

    def test_completedHandshakeCancelsTheDeadline(self) -> None:
        """
        Once the handshake is over, the deadline no longer applies.
        """
        stages = StagesTests("test_firesOnlyAfterTheVerifiedHandshake")
        stages.setUp()
        stages.answerLookups()
        stages.connectTCP().flush()
        stages.successResultOf(stages.connected)
        self.assertEqual(stages.reactor.getDelayedCalls(), [])

    def test_startTLSDeadlineCoversThePrelude(self) -> None:
        """
        With starttls=, one deadline runs from the TCP connection through the STARTTLS
        prelude and the handshake: a server that says go ahead and then never completes the
        handshake is aborted at it, and connect() fails with the typed error; the
        application was never connected.
        """
        from twisted.python.failure import Failure

        from txdane.errors import HandshakeTimeoutError

        reactor = MemoryReactorClock()
        resolver = PendingResolver()
        protocol = Recording()
        endpoint = DANEEndpoint(
            reactor, resolver, HOST.rstrip("."), 25, starttls="smtp", handshakeTimeout=10
        )
        connected = endpoint.connect(Factory.forProtocol(lambda: protocol))
        resolver.answer(HOST, "A", "127.0.0.1")
        resolver.answer(HOST, "AAAA")
        resolver.answer("_25._tcp.www.example.test.", "TLSA", "3 1 1 " + "00" * 32)
        ((_, _, factory, _, _),) = reactor.tcpClients
        client: Any = factory.buildProtocol(None)
        transport = _SilentTLSTransport()
        client.makeConnection(transport)
        client.dataReceived(b"220 ready\r\n")
        reactor.advance(5)
        client.dataReceived(b"250-mx\r\n250 STARTTLS\r\n")
        client.dataReceived(b"220 go ahead\r\n")
        self.assertTrue(transport.tlsStarted)
        reactor.advance(4.9)
        self.assertFalse(transport.disconnecting)
        self.assertNoResult(connected)
        reactor.advance(0.1)
        self.assertTrue(transport.disconnecting)
        client.connectionLost(Failure(ConnectionAborted()))
        error = self.failureResultOf(connected, HandshakeTimeoutError).value
        self.assertIn("www.example.test:25: no TLS handshake within 10 s", str(error))
        self.assertFalse(protocol.made)
        self.assertEqual(reactor.getDelayedCalls(), [])


class _SilentTLSTransport(StringTransport):
    """
    A TCP transport to a server that never answers: startTLS is recorded, nothing arrives.
    """

    tlsStarted = False

    def startTLS(self, contextFactory: Any, normal: bool = True) -> None:
        self.tlsStarted = True


class HandshakeGateTests(SynchronousTestCase):
    """
    L{HandshakeGate} alone, on a string transport.
    """

    def test_lateRefusalNeverConnects(self) -> None:
        """
        A verification refused in OpenSSL's last callback aborts the connection from inside
        the handshake, which Twisted may still report as completed: when the transport is
        already disconnecting at C{handshakeCompleted}, the application's protocol is not
        connected, C{ready} waits, and the loss that follows fails it with the reason.
        """
        protocol = Recording()
        ready: Deferred[IProtocol] = Deferred()
        gate = HandshakeGate(protocol, ready)
        transport = StringTransport()
        gate.makeConnection(transport)
        transport.loseConnection()
        self.assertTrue(transport.disconnecting)
        gate.handshakeCompleted()
        self.assertNoResult(ready)
        self.assertFalse(protocol.made)
        self.assertFalse(protocol.handshakeDone)
        self.assertFalse(gate.secured)
        gate.dataReceived(b"after the refusal")
        self.assertEqual(protocol.received, [])
        gate.connectionLost(Failure(ConnectionAborted()))
        self.failureResultOf(ready, ConnectionAborted)
        self.assertFalse(protocol.made)

    def test_completedHandshakeConnects(self) -> None:
        """
        The same gate on a transport that is not disconnecting connects the application's
        protocol and fires C{ready} with it.
        """
        protocol = Recording()
        ready: Deferred[IProtocol] = Deferred()
        gate = HandshakeGate(protocol, ready)
        gate.makeConnection(StringTransport())
        gate.handshakeCompleted()
        self.assertIs(self.successResultOf(ready), protocol)
        self.assertTrue(protocol.made and protocol.handshakeDone and gate.secured)


class _Declared:
    pass


class KeptTLSTests(SynchronousTestCase):
    """
    L{KeptTLSProtocol} keeps at most L{KEPT_TLS_DECLARATIONS} declarations.
    """

    def test_bounded(self) -> None:
        self.patch(_plumbing, "_keptTLS", {})
        self.patch(_plumbing, "KEPT_TLS_DECLARATIONS", 2)
        factory = KeptTLSFactory(
            optionsForClientTLS("example.test"), True, Factory.forProtocol(Protocol)
        )
        for _ in range(2):
            protocol = factory.buildProtocol(None)
            transport = StringTransport()
            protocol.makeConnection(transport)
            self.assertTrue(transport.value())  # the ClientHello went out
            self.assertEqual(len(list(providedBy(transport))), 3)
        self.assertEqual(len(_plumbing._keptTLS), 2)
        self.assertEqual(
            list(_plumbing._keptTLS),
            [(KeptTLSProtocol, i) for i in list(providedBy(transport))[:2]],
        )
        # What Twisted declares on the next connection's protocol is the kept declaration.
        interface = next(iter(providedBy(transport)))
        later = factory.buildProtocol(None)
        directlyProvides(later, interface)
        self.assertIs(
            later.__provides__,
            _plumbing._keptTLS[(KeptTLSProtocol, interface)],
        )


class ProvideTests(SynchronousTestCase):
    """
    L{provide} declares interfaces as C{zope.interface} does, and keeps the last
    L{KEPT_DECLARATIONS} declarations alive, so that the next connection's objects reuse them
    instead of building them again.
    """

    def test_declarationsAsZope(self) -> None:
        obj = _Declared()
        provide(obj, IProtocol)
        provide(obj, IHandshakeListener)
        self.assertEqual(list(directlyProvidedBy(obj)), [IProtocol, IHandshakeListener])
        provide(obj, IHandshakeListener, replace=True)
        self.assertEqual(list(directlyProvidedBy(obj)), [IHandshakeListener])

    def test_declarationKeptAcrossObjects(self) -> None:
        """
        An object declared like one that is gone (and collected) gets the very same
        declaration; C{zope.interface} alone would have built it again.
        """
        first = _Declared()
        provide(first, IProtocol, IHandshakeListener, replace=True)
        declaration = id(first.__provides__)  # type: ignore[attr-defined]
        del first
        gc.collect()
        second = _Declared()
        provide(second, IProtocol, IHandshakeListener, replace=True)
        self.assertEqual(id(second.__provides__), declaration)  # type: ignore[attr-defined]

    def test_keptAreBounded(self) -> None:
        """
        However many distinct declarations are made, at most L{KEPT_DECLARATIONS} are kept:
        the latest, each once.
        """
        interfaces = [
            InterfaceClass(f"IBounded{i}", (Interface,), __module__=__name__) for i in range(20)
        ]
        objects = []
        for interface in interfaces:
            for _ in range(2):
                obj = _Declared()
                provide(obj, interface, replace=True)
                objects.append(obj)
        self.assertEqual(len(_plumbing._kept), KEPT_DECLARATIONS)
        self.assertEqual(
            [list(d) for d in _plumbing._kept],  # type: ignore[call-overload]
            [[i] for i in interfaces[-KEPT_DECLARATIONS:]],
        )

"""
L{txdane.mail.sendMail}'s deadline before TLS (C{handshakeTimeout}, and C{timeout} for the
server's greeting), in memory: an MX host that accepts STARTTLS and then never answers the
ClientHello, and one that accepts the connection and never greets; and on loopback, against
a silent server, with the deadlines on a clock.
"""

from __future__ import annotations

from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import directlyProvides, providedBy

from txdane.endpoints.connection import Protection
from txdane.endpoints.planner import HostSettings
from txdane.errors import HandshakeTimeoutError
from txdane.mail import TemporaryDeliveryError, sendMail
from txdane.status import Status

from ..fakeresolver import FakeResolver, answer
from .smtpserver import listenSMTP
from .test_hostile import MemoryMail, hosts

realReactor: Any = _reactor

DOMAIN = "example.org."
MX = "mx.example.org."


class _SilentTLSTransport(StringTransport):
    """
    A TCP transport to a server that never answers once TLS starts: C{startTLS} is
    recorded, nothing arrives.
    """

    tlsStarted = False

    def startTLS(self, contextFactory: Any, normal: bool = True) -> None:
        self.tlsStarted = True


class HandshakeDeadlineTests(SynchronousTestCase):
    def deliver(self, **kw: Any) -> tuple[MemoryReactorClock, Any, Any, _SilentTLSTransport]:
        """
        Start a delivery to the one MX host of C{example.org}, and take its SMTP session as
        far as the server's reply to C{STARTTLS}.
        """
        reactor = MemoryReactorClock()
        resolver = FakeResolver(
            {
                (DOMAIN, "MX"): answer("MX", f"10 {MX}", name=DOMAIN),
                (MX, "A"): answer("A", "192.0.2.25", name=MX),
                (MX, "AAAA"): answer("AAAA", name=MX),
                (f"_25._tcp.{MX}", "TLSA"): answer(
                    "TLSA", "3 1 1 " + "00" * 32, name=f"_25._tcp.{MX}"
                ),
            }
        )
        sending = sendMail(
            reactor, resolver, "alice@example.net", ["bob@example.org"], b"hello\r\n", **kw
        )
        ((host, port, factory, _, _),) = reactor.tcpClients
        self.assertEqual((host, port), ("192.0.2.25", 25))
        client: Any = factory.buildProtocol(None)
        transport = _SilentTLSTransport()
        client.makeConnection(transport)
        client.dataReceived(b"220 mx.example.org ESMTP\r\n")
        self.assertTrue(transport.value().startswith(b"EHLO "))
        transport.clear()
        client.dataReceived(b"250-mx.example.org\r\n250 STARTTLS\r\n")
        self.assertEqual(transport.value(), b"STARTTLS\r\n")
        client.dataReceived(b"220 2.0.0 Ready to start TLS\r\n")
        self.assertTrue(transport.tlsStarted)
        return reactor, sending, client, transport

    def expire(
        self, reactor: MemoryReactorClock, client: Any, transport: Any, after: float
    ) -> None:
        reactor.advance(after - 0.1)
        self.assertFalse(transport.disconnecting)
        reactor.advance(0.1)
        self.assertTrue(transport.disconnecting)
        client.connectionLost(Failure(ConnectionAborted()))
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_handshakeTimeout(self) -> None:
        """
        The deadline covers the STARTTLS prelude and the handshake; past it the host fails
        with the deadline named, and with no other host the delivery is deferred.
        """
        reactor, sending, client, transport = self.deliver(handshakeTimeout=3)
        self.expire(reactor, client, transport, 3)
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertIn("no TLS handshake within 3 s", str(error))
        (attempt,) = error.tries
        self.assertIsInstance(attempt.error, HandshakeTimeoutError)
        self.assertEqual(attempt.host, MX.rstrip("."))

    def test_defaultDeadline(self) -> None:
        reactor, sending, client, transport = self.deliver()
        self.expire(reactor, client, transport, 30)
        self.assertIn(
            "within 30 s", str(self.failureResultOf(sending, TemporaryDeliveryError).value)
        )

    def test_overridesSettings(self) -> None:
        """
        C{handshakeTimeout} replaces that of C{settings}; without it, the settings' applies.
        """
        settings = HostSettings(timeout=5, handshakeTimeout=7)
        reactor, sending, client, transport = self.deliver(settings=settings)
        self.expire(reactor, client, transport, 7)
        self.failureResultOf(sending, TemporaryDeliveryError)
        reactor, sending, client, transport = self.deliver(settings=settings, handshakeTimeout=2)
        self.expire(reactor, client, transport, 2)
        self.assertIn(
            "within 2 s", str(self.failureResultOf(sending, TemporaryDeliveryError).value)
        )


def unsigned(*addresses: str, port: int = 25) -> FakeResolver:
    """
    A resolver for C{example.org} in an unsigned zone, with an MX host at each of
    C{addresses}, C{mx0} (preference 10) to C{mxN}: no TLSA records count, so each host is
    tried with SMTP's opportunistic TLS.
    """
    names = [f"mx{i}.example.org." for i in range(len(addresses))]
    insecure = Status.INSECURE
    records: dict[Any, Any] = {
        (DOMAIN, "MX"): answer(
            "MX", *(f"{10 + i} {n}" for i, n in enumerate(names)), name=DOMAIN, status=insecure
        )
    }
    for name, address in zip(names, addresses, strict=True):
        records[(name, "A")] = answer("A", address, name=name, status=insecure)
        records[(name, "AAAA")] = answer("AAAA", name=name, status=insecure)
        tlsa = f"_{port}._tcp.{name}"
        records[(tlsa, "TLSA")] = answer("TLSA", name=tlsa, status=insecure)
    return FakeResolver(records)


#: One and two MX hosts of C{example.org} in an unsigned zone, in memory.
ONE = ("192.0.2.1",)
TWO = ("192.0.2.1", "192.0.2.2")


class SilentGreetingTests(MemoryMail):
    """
    A host that accepts the TCP connection and then sends no greeting is given up after the
    caller's C{timeout} (which bounds every server reply), not after the 30 s of the
    handshake deadline, unless C{handshakeTimeout} is given: the endpoint reads the greeting
    under that deadline, before twisted.mail's client and its own timeout have the
    connection.
    """

    def silentFor(self, seconds: float) -> tuple[Any, StringTransport]:
        """
        Connect to the next host, which says nothing: still connected just before
        C{seconds}, cut off at C{seconds}.
        """
        client, transport = self.connect()
        self.reactor.advance(seconds - 0.1)
        self.assertFalse(transport.disconnecting)
        self.reactor.advance(0.1)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        return client, transport

    def assertGivenUpAfter(self, seconds: float, **kw: Any) -> None:
        """
        A delivery to one silent host, with C{kw}, is deferred after C{seconds}.
        """
        sending = self.send(unsigned(*ONE), **kw)
        self.silentFor(seconds)
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertIn(f"within {seconds:g} s", str(error))
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_timeoutBoundsTheGreeting(self) -> None:
        """
        With C{timeout=5}, a silent first host is given up after 5 s, its failure the
        deadline, and the second host takes the message.
        """
        sending = self.send(unsigned(*TWO), heloName="client.example.net", timeout=5)
        _, transport = self.silentFor(5)
        self.assertEqual(transport.value(), b"")
        self.assertNoResult(sending)
        result = self.deliverOnNextHost(sending)
        self.assertEqual(result.mx, "mx1.example.org")
        (first,) = result.tries
        self.assertEqual((first.host, first.address), ("mx0.example.org", "192.0.2.1"))
        error = first.error
        assert isinstance(error, HandshakeTimeoutError)
        self.assertEqual(error.timeout, 5)

    def test_noHostLeftIsDeferred(self) -> None:
        """
        Every host silent: the delivery is deferred after C{timeout} per host, naming each,
        and nothing was sent to any.
        """
        sending = self.send(unsigned(*TWO), timeout=5)
        _, first = self.silentFor(5)
        _, second = self.silentFor(5)
        self.assertEqual((first.value(), second.value()), (b"", b""))
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertEqual([t.host for t in error.tries], ["mx0.example.org", "mx1.example.org"])
        self.assertTrue(all(isinstance(t.error, HandshakeTimeoutError) for t in error.tries))
        self.assertEqual(self.reactor.seconds(), 10)

    def test_wholePreludeWithinTimeout(self) -> None:
        """
        The deadline is the prelude's as a whole, from the TCP connection: a greeting after
        3 s and no reply to C{EHLO} 2 s later is given up at 5 s.
        """
        sending = self.send(unsigned(*ONE), timeout=5)
        client, transport = self.connect()
        self.reactor.advance(3)
        client.dataReceived(b"220 mx ESMTP\r\n")
        self.assertTrue(transport.value().startswith(b"EHLO "))
        self.reactor.advance(1.9)
        self.assertFalse(transport.disconnecting)
        self.reactor.advance(0.1)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertIn("within 5 s", str(error))

    def test_slowButInTime(self) -> None:
        """
        A host whose greeting and reply to C{EHLO} come within C{timeout} is used.
        """
        sending = self.send(unsigned(*ONE), heloName="client.example.net", timeout=5)
        client, transport = self.connect()
        self.reactor.advance(2)
        client.dataReceived(b"220 mx ESMTP\r\n")
        self.reactor.advance(2.9)
        client.dataReceived(b"250-mx\r\n250 PIPELINING\r\n")
        self.assertTrue(transport.value().endswith(b"EHLO client.example.net\r\n"))
        self.reactor.advance(10)
        self.assertFalse(transport.disconnecting)
        for reply in (b"250 mx\r\n", b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n", b"250 q\r\n"):
            client.dataReceived(reply)
        self.assertIn(b"MAIL FROM:<alice@example.net>", transport.value())
        client.dataReceived(b"221 bye\r\n")
        self.end(client, ConnectionDone)
        result = self.successResultOf(sending)
        self.assertEqual((result.reply, result.protection), ("250 q", Protection.CLEARTEXT))

    def test_daneHostToo(self) -> None:
        """
        A host with TLSA records that stays silent is given up after C{timeout} in the same
        way, and never becomes a cleartext session: the host without TLSA records after it
        takes the message.
        """
        sending = self.send(hosts(2, tlsa=True), heloName="client.example.net", timeout=5)
        _, transport = self.silentFor(5)
        self.assertEqual(transport.value(), b"")
        result = self.deliverOnNextHost(sending)
        self.assertEqual(result.mx, "mx1.example.org")
        self.assertIsInstance(result.tries[0].error, HandshakeTimeoutError)

    def test_default(self) -> None:
        """
        Without C{timeout} (60 s), the settings' 30 s; a longer C{timeout} does not make it
        longer.
        """
        self.assertGivenUpAfter(30)
        self.assertGivenUpAfter(30, timeout=120)

    def test_handshakeTimeoutGiven(self) -> None:
        """
        C{handshakeTimeout}, when given, is the deadline, shorter or longer than
        C{timeout}.
        """
        self.assertGivenUpAfter(20, timeout=5, handshakeTimeout=20)
        self.assertGivenUpAfter(2, timeout=5, handshakeTimeout=2)

    def test_settingsNoLongerThanTimeout(self) -> None:
        """
        The C{handshakeTimeout} of C{settings} applies, but no longer than C{timeout}.
        """
        self.assertGivenUpAfter(5, timeout=5, settings=HostSettings(handshakeTimeout=60))
        self.assertGivenUpAfter(7, timeout=60, settings=HostSettings(handshakeTimeout=7))

    def test_timeoutChecked(self) -> None:
        """
        A C{timeout} that is not a positive number of seconds is refused when called,
        with or without C{settings}.
        """
        for timeout in (0, -1, float("inf"), "5", None, True):
            for settings in (None, HostSettings()):
                with self.assertRaises(ValueError) as caught:
                    self.send(unsigned(*ONE), timeout=timeout, settings=settings)
                self.assertIn("is not a positive number of seconds", str(caught.exception))
        self.assertEqual(self.reactor.tcpClients, [])


class _SilentServer(Protocol):
    """
    Accepts the connection and says nothing; tells its factory when connected and when the
    connection is lost.
    """

    def connectionMade(self) -> None:
        self.factory.made.callback(None)

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: B008
        self.factory.lost.callback(None)


class _ClockedReactor:
    """
    The real reactor for the network, a L{Clock} for time: connections to loopback servers
    are real, and the deadlines of a delivery pass only when the test advances the clock.
    """

    def __init__(self, reactor: Any, clock: Clock) -> None:
        self._reactor = reactor
        self.clock = clock
        self.connectors: list[Any] = []
        directlyProvides(self, providedBy(reactor))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)

    def connectTCP(self, *args: Any, **kw: Any) -> Any:
        connector = self._reactor.connectTCP(*args, **kw)
        self.connectors.append(connector)
        return connector

    async def connected(self, count: int) -> None:
        """
        Wait, in real time, until the C{count}th connection dialled is made on the client's
        side: its deadline is then on the clock.
        """
        while len(self.connectors) < count or self.connectors[count - 1].state != "connected":
            await deferLater(self._reactor, 0.01, lambda: None)

    def callLater(self, delay: float, f: Any, *args: Any, **kw: Any) -> Any:
        return self.clock.callLater(delay, f, *args, **kw)

    def seconds(self) -> float:
        return self.clock.seconds()

    def getDelayedCalls(self) -> Any:
        return self.clock.getDelayedCalls()


class SilentLoopbackTests(TestCase):
    """
    On loopback: a server that accepts the connection and says nothing (127.0.0.2), and one
    that takes mail without STARTTLS on the same port (127.0.0.3), both MX hosts of an
    unsigned domain. The delivery's deadlines run on a clock.
    """

    #: The network work takes well under a second; a deadline that never passes on the
    #: clock would leave a test waiting, and it fails after this long instead.
    timeout = 30

    def silentServer(self) -> Any:
        """
        Start the silent server on a free port of 127.0.0.2: its factory has C{made},
        C{lost} (Deferreds) and C{port}.
        """
        factory: Any = Factory.forProtocol(_SilentServer)
        factory.made, factory.lost = Deferred(), Deferred()
        listening = realReactor.listenTCP(0, factory, interface="127.0.0.2")
        self.addCleanup(listening.stopListening)
        factory.port = listening.getHost().port
        return factory

    async def test_silentHostThenNext(self) -> None:
        """
        With C{timeout=5}, the silent host is cut off when the clock reaches 5 s, not
        before, and the message goes to the next host.
        """
        silent = self.silentServer()
        port = silent.port
        server = listenSMTP(None, ("127.0.0.3",), port)
        for listening in server.ports:
            self.addCleanup(listening.stopListening)
        clock = Clock()
        reactor = _ClockedReactor(realReactor, clock)
        sending = sendMail(
            reactor,
            unsigned("127.0.0.2", "127.0.0.3", port=port),
            "alice@example.net",
            ["bob@example.org"],
            b"Subject: hi\r\n\r\nhello\r\n",
            port=port,
            timeout=5,
        )
        await silent.made
        await reactor.connected(1)
        clock.advance(4.9)
        await deferLater(realReactor, 0.05, lambda: None)
        self.assertFalse(silent.lost.called)
        clock.advance(0.1)
        await silent.lost
        result = await sending
        self.assertEqual((result.mx, result.address), ("mx1.example.org", "127.0.0.3"))
        self.assertEqual(result.protection, Protection.CLEARTEXT)
        self.assertEqual(clock.seconds(), 5)
        (first,) = result.tries
        self.assertEqual(first.address, "127.0.0.2")
        self.assertIsInstance(first.error, HandshakeTimeoutError)
        (message,) = server.messages
        self.assertIn(b"Subject: hi", message)
        self.assertEqual(clock.getDelayedCalls(), [])

    async def test_silentHostAloneIsDeferred(self) -> None:
        """
        The one MX host silent: the message is deferred when the clock reaches 5 s, the
        deadline named.
        """
        silent = self.silentServer()
        port = silent.port
        clock = Clock()
        reactor = _ClockedReactor(realReactor, clock)
        sending = sendMail(
            reactor,
            unsigned("127.0.0.2", port=port),
            "alice@example.net",
            ["bob@example.org"],
            b"hello\r\n",
            port=port,
            timeout=5,
        )
        await silent.made
        await reactor.connected(1)
        clock.advance(5)
        await silent.lost
        with self.assertRaises(TemporaryDeliveryError) as caught:
            await sending
        self.assertIn("no TLS handshake within 5 s", str(caught.exception))
        self.assertEqual(clock.getDelayedCalls(), [])

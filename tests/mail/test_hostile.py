"""
Hostile MX hosts, in memory: what a server (or anyone on the path) controls cannot bounce a
message, hold a delivery forever, grow its memory, or make it dial without end.

Each MX host of C{example.org} here publishes no TLSA records (SMTP's opportunistic policy)
unless a test says otherwise, so that a session may go on in cleartext where the server
offers no STARTTLS, which is where a server's replies reach twisted.mail's client.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.error import ConnectionRefusedError as Refused
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from txdane.endpoints.connection import Protection
from txdane.endpoints.errors import StartTLSError
from txdane.mail import (
    MAX_REPLY,
    DeliveryResult,
    ServerLimitError,
    TemporaryDeliveryError,
    sendMail,
)

from ..fakeresolver import FakeResolver, answer

DOMAIN = "example.org."


def hosts(count: int, tlsa: bool = False) -> FakeResolver:
    """
    A resolver for C{example.org} with C{count} MX hosts, C{mx0} (preference 10) to
    C{mxN}, at 192.0.2.1 and up; with C{tlsa}, the first publishes a DANE-EE record.
    """
    names = [f"mx{i}.example.org." for i in range(count)]
    records: dict[Any, Any] = {
        (DOMAIN, "MX"): answer("MX", *(f"{10 + i} {n}" for i, n in enumerate(names)), name=DOMAIN)
    }
    for i, name in enumerate(names):
        records[(name, "A")] = answer("A", f"192.0.2.{i + 1}", name=name)
        records[(name, "AAAA")] = answer("AAAA", name=name)
        tlsaName = f"_25._tcp.{name}"
        rdatas = ("3 1 1 " + "00" * 32,) if tlsa and i == 0 else ()
        records[(tlsaName, "TLSA")] = answer("TLSA", *rdatas, name=tlsaName)
    return FakeResolver(records)


class MemoryMail(SynchronousTestCase):
    """
    Deliveries in memory: the connections they dial, played by the test.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.dialled = 0

    def send(self, resolver: FakeResolver, **kw: Any) -> Any:
        return sendMail(
            self.reactor,
            resolver,
            "alice@example.net",
            ["bob@example.org"],
            b"Subject: hi\r\n\r\nhello\r\n",
            **kw,
        )

    def connect(self) -> tuple[Any, StringTransport]:
        """
        The next connection the delivery dialled, connected to a transport.
        """
        host, _, factory, _, _ = self.reactor.tcpClients[self.dialled]
        self.dialled += 1
        client: Any = factory.buildProtocol(None)
        transport = StringTransport(peerAddress=IPv4Address("TCP", host, 25))
        client.makeConnection(transport)
        return client, transport

    def cleartextSession(self) -> tuple[Any, StringTransport]:
        """
        Connect to the next host, which offers no STARTTLS: the endpoint settles for
        cleartext and hands twisted.mail's client its own greeting, which it answers.
        """
        client, transport = self.connect()
        client.dataReceived(b"220 mx ESMTP\r\n")
        client.dataReceived(b"250-mx\r\n250 PIPELINING\r\n")
        self.assertTrue(transport.value().endswith(b"EHLO client.example.net\r\n"))
        transport.clear()
        return client, transport

    def refuseAll(self) -> None:
        """
        Refuse every connection the delivery dials, until it dials no more.
        """
        while self.dialled < len(self.reactor.tcpClients):
            _, _, factory, _, _ = self.reactor.tcpClients[self.dialled]
            self.dialled += 1
            factory.clientConnectionFailed(None, Failure(Refused()))  # type: ignore[arg-type]
            self.reactor.advance(1)

    def end(self, client: Any, reason: Any = ConnectionAborted) -> None:
        client.connectionLost(Failure(reason()))

    def deliverOnNextHost(self, sending: Any) -> DeliveryResult:
        """
        Take the delivery through a well-behaved cleartext session with the next host.
        """
        client, transport = self.cleartextSession()
        for reply in (
            b"250 mx\r\n",
            b"250 2.1.0 Ok\r\n",
            b"250 2.1.5 Ok\r\n",
            b"354 go\r\n",
            b"250 2.0.0 queued\r\n",
            b"221 bye\r\n",
        ):
            client.dataReceived(reply)
        self.assertIn(b"MAIL FROM", transport.value())
        self.end(client, ConnectionDone)
        result: DeliveryResult = self.successResultOf(sending)
        self.assertEqual(result.protection, Protection.CLEARTEXT)
        return result


class HostileTests(MemoryMail):
    def test_5xxGreetingBeforeTLSIsNoBounce(self) -> None:
        """
        A first MX that greets 554 before the TLS its TLSA record requires: anyone on the
        path can send that line, so it is that host's temporary failure, and the second MX
        takes the message.
        """
        sending = self.send(hosts(2, tlsa=True), heloName="client.example.net")
        client, transport = self.connect()
        client.dataReceived(b"554 5.7.1 go away\r\n")
        self.assertTrue(transport.disconnecting)
        self.end(client)
        self.assertNoResult(sending)
        result = self.deliverOnNextHost(sending)
        (first,) = result.tries
        self.assertIsInstance(first.error, StartTLSError)
        self.assertIn("expected the greeting 220, got '554 5.7.1 go away'", str(first))

    def test_5xxGreetingWithoutTLSAIsNoBounceEither(self) -> None:
        """
        Without TLSA records too (Postfix's smtp_skip_5xx_greeting): the next MX is tried.
        """
        sending = self.send(hosts(2), heloName="client.example.net")
        client, _ = self.connect()
        client.dataReceived(b"554 no\r\n")
        self.end(client)
        self.deliverOnNextHost(sending)

    def test_greetingFloodIsBounded(self) -> None:
        """
        An endless multi-line greeting: refused once it passes the prelude's bound, in
        bounded memory, and the next MX takes the message.
        """
        sending = self.send(hosts(2), heloName="client.example.net")
        client, transport = self.connect()
        line = b"220-" + b"A" * 996 + b"\r\n"
        tracemalloc.start()
        try:
            for _ in range(10_000):  # 10 MB
                client.dataReceived(line)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 1_000_000)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        result = self.deliverOnNextHost(sending)
        self.assertIn("more than 65536 bytes before STARTTLS", str(result.tries[0]))

    def test_replyFloodIsBounded(self) -> None:
        """
        A server whose reply to EHLO never ends: the host fails with L{ServerLimitError}
        once the reply passes L{MAX_REPLY}, in bounded memory, and the next MX is tried.
        """
        sending = self.send(hosts(2), heloName="client.example.net")
        client, transport = self.cleartextSession()
        line = b"250-" + b"B" * 96 + b"\r\n"
        tracemalloc.start()
        try:
            for _ in range(100_000):  # 10 MB
                client.dataReceived(line)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 1_000_000)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        result = self.deliverOnNextHost(sending)
        error = result.tries[0].error
        self.assertIsInstance(error, ServerLimitError)
        self.assertIn(f"a reply longer than {MAX_REPLY} bytes", str(error))

    def test_longLineIsBounded(self) -> None:
        sending = self.send(hosts(2), heloName="client.example.net")
        client, transport = self.cleartextSession()
        client.dataReceived(b"250 " + b"C" * 100_000)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        result = self.deliverOnNextHost(sending)
        self.assertIn("a reply line longer than 4096 bytes", str(result.tries[0].error))

    def test_slowTrickleMeetsTheAttemptDeadline(self) -> None:
        """
        A server that keeps the session alive with one reply line every few seconds (which
        resets twisted.mail's own timeout each time) is cut off at the attempt's deadline.
        """
        sending = self.send(hosts(2), heloName="client.example.net", attemptTimeout=60)
        client, transport = self.cleartextSession()
        for _ in range(11):
            self.reactor.advance(5)
            client.dataReceived(b"250-still here\r\n")
        self.assertFalse(transport.disconnecting)
        self.reactor.advance(5)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        result = self.deliverOnNextHost(sending)
        error = result.tries[0].error
        self.assertIsInstance(error, ServerLimitError)
        self.assertEqual(str(error), "mx0.example.org:25: the session took more than 60 s")
        self.assertEqual(result.tries[0].address, "192.0.2.1")

    def test_wholeDeliveryDeadline(self) -> None:
        """
        The delivery as a whole has a deadline too: the second host gets only what is left
        of it, and the third is never dialled.
        """
        sending = self.send(
            hosts(3), heloName="client.example.net", attemptTimeout=60, deliveryTimeout=100
        )
        client, transport = self.cleartextSession()
        self.reactor.advance(60)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        client, transport = self.cleartextSession()
        self.reactor.advance(39.9)
        self.assertFalse(transport.disconnecting)
        self.reactor.advance(0.1)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertIn("not done within 100 s", str(error))
        self.assertEqual(len(error.tries), 2)
        self.assertEqual(len(self.reactor.tcpClients), 2)

    def test_fanOutIsCapped(self) -> None:
        """
        Seven MX hosts that refuse connections: five are dialled (Postfix's
        smtp_mx_address_limit), and the error names the two skipped.
        """
        sending = self.send(hosts(7))
        self.refuseAll()
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertEqual(len(self.reactor.tcpClients), 5)
        self.assertEqual(len(error.tries), 5)
        self.assertEqual(error.skipped, ("mx5.example.org:25", "mx6.example.org:25"))
        self.assertIn("2 more not tried: mx5.example.org:25, mx6.example.org:25", str(error))

    def test_fanOutIsAnOption(self) -> None:
        sending = self.send(hosts(7), maxHosts=2)
        self.refuseAll()
        self.assertEqual(len(self.reactor.tcpClients), 2)
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertEqual(len(error.skipped), 5)
        with self.assertRaises(ValueError):
            self.send(hosts(1), maxHosts=0)

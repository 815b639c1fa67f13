"""
L{txdane.mail.sendMail}'s C{handshakeTimeout}, in memory: an MX host that accepts STARTTLS
and then never answers the ClientHello.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.error import ConnectionAborted
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from txdane.endpoints.planner import HostSettings
from txdane.errors import HandshakeTimeoutError
from txdane.mail import TemporaryDeliveryError, sendMail

from ..fakeresolver import FakeResolver, answer

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

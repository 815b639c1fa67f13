"""
The bound on a policy fetch's whole response (L{HEADER_ALLOWANCE} beyond C{maxSize}),
against HTTPS servers on loopback with certificates of the world's private CA: one that
answers C{200 OK} and then sends header lines without end, and twisted.web with many
headers that stay within the allowance.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocolNegotiationFactory
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from txdane.mtasts import HEADER_ALLOWANCE, PolicyFailure
from txdane.mtasts.fetch import _BoundedConnection

from ..dane.tlsserver import serverOptions
from ..endpoints.world import reactor
from .policyworld import POLICY, PolicyWorld, makePolicyWorld

#: One header line of about 8 KiB, under twisted.web's limit on a line (16 KiB).
PAD = b"X-Pad: " + b"a" * 8000 + b"\r\n"

#: What the flooding server sends at most, so that a client without the bound still ends
#: (at its deadline) rather than filling memory.
FLOOD_CAP = 4 * 1024 * 1024


class HeaderFlood(Protocol):
    """
    Answers the request with C{200 OK} and a content type, then header lines, 64 KiB a
    turn of the reactor, never ending the header section (up to L{FLOOD_CAP}).
    """

    def __init__(self, sent: list[int], lost: Deferred[None]) -> None:
        self.sent = sent
        self.lost = lost
        self.started = False

    def dataReceived(self, data: bytes) -> None:
        if not self.started:
            self.started = True
            self.transport.write(  # type: ignore[union-attr]
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            )
            self.pump()

    def pump(self) -> None:
        if self.transport is None or self.sent[0] >= FLOOD_CAP:
            return
        self.transport.write(PAD * 8)
        self.sent[0] += len(PAD) * 8
        reactor.callLater(0, self.pump)

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        self.transport = None
        self.lost.callback(None)


@implementer(IProtocolNegotiationFactory)
class HTTPFactory(Factory):
    """
    Offers C{http/1.1} by ALPN, as the client asks.
    """

    def acceptableProtocols(self) -> list[bytes]:
        return [b"http/1.1"]


class ResponseBoundTests(TestCase):
    async def world(self) -> PolicyWorld:
        return await makePolicyWorld(self.addCleanup)

    async def test_headerFlood(self) -> None:
        """
        A policy host that answers C{200 OK} and then sends header lines without end: the
        connection is aborted once C{maxSize} plus L{HEADER_ALLOWANCE} bytes arrived, and
        the fetch fails at once (not at its deadline) saying the response is too large.
        """
        world = await self.world()
        sent = [0]
        lost: Deferred[None] = Deferred()
        server = world.server
        factory = TLSMemoryBIOFactory(
            serverOptions(server.certificate, server.ca),
            False,
            HTTPFactory.forProtocol(lambda: HeaderFlood(sent, lost)),
        )
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        received: list[int] = []
        original = _BoundedConnection.connectionLost

        def noted(self: _BoundedConnection, reason: Any) -> None:
            received.append(self.received)
            original(self, reason)

        self.patch(_BoundedConnection, "connectionLost", noted)
        policies = world.policyResolver(httpsPort=port.getHost().port, maxSize=1000, timeout=5)
        started = reactor.seconds()
        outcome = await policies.policyFor("example.test")
        await lost
        limit = 1000 + HEADER_ALLOWANCE
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
        self.assertIn(f"the response is larger than {limit} bytes", outcome.reason)
        self.assertLess(reactor.seconds() - started, 4)
        # What reached the HTTP client: the bound, plus at most the last piece TLS handed
        # over (a TLS record's plaintext, 16 KiB).
        (count,) = received
        self.assertGreater(count, limit)
        self.assertLessEqual(count, limit + 16384)
        self.assertLess(sent[0], FLOOD_CAP)

    async def test_headersWithinAllowance(self) -> None:
        """
        A response whose header lines take nearly all of L{HEADER_ALLOWANCE}, with a policy
        of nearly C{maxSize}: the policy is fetched.
        """
        world = await self.world()
        resource = world.server.resource
        resource.extraHeaders = [(b"x-pad-%d" % i, b"a" * 8000) for i in range(7)]
        resource.body = POLICY.encode() + b"note: " + b"n" * (1990 - len(POLICY)) + b"\n"
        outcome = await world.policyResolver(maxSize=2000).policyFor("example.test")
        assert outcome.policy is not None, outcome.reason
        self.assertEqual(outcome.policy.text.encode(), resource.body)

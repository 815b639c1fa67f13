"""
An HTTP server that answers C{200 OK} and then sends header lines without end, for the tests
of the bound on a whole response (L{BoundedEndpoint<txdane.endpoints.web.BoundedEndpoint>}):
MTA-STS fetches, C{daneAgent(maxResponseBytes=...)}, TLS reports, the XML-RPC proxy.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocolNegotiationFactory
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.endpoints._bounded import BoundedConnection

from .world import reactor

#: One header line of about 8 KiB, under twisted.web's limit on a line (16 KiB).
PAD = b"X-Pad: " + b"a" * 8000 + b"\r\n"

#: What the flooding server sends at most, so that a client without the bound still ends
#: (at its deadline) rather than filling memory.
FLOOD_CAP = 4 * 1024 * 1024

#: The most plaintext one TLS record carries: what a bounded connection may have counted
#: beyond its bound, the last piece TLS handed over.
TLS_RECORD = 16384


class HeaderFlood(Protocol):
    """
    Answers the request with C{200 OK} and a content type, then header lines, 64 KiB a
    turn of the reactor, never ending the header section (up to L{FLOOD_CAP}).
    """

    def __init__(self, flood: Flood) -> None:
        self.flood = flood
        self.started = False

    def dataReceived(self, data: bytes) -> None:
        if not self.started:
            self.started = True
            self.transport.write(  # type: ignore[union-attr]
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
            )
            self.pump()

    def pump(self) -> None:
        if self.transport is None or self.flood.sent >= FLOOD_CAP:
            return
        self.transport.write(PAD * 8)
        self.flood.sent += len(PAD) * 8
        reactor.callLater(0, self.pump)

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        self.transport = None
        self.flood.lost.callback(None)


@implementer(IProtocolNegotiationFactory)
class HTTPFactory(Factory):
    """
    Offers C{http/1.1} by ALPN, as the client asks.
    """

    def acceptableProtocols(self) -> list[bytes]:
        return [b"http/1.1"]


class Flood:
    """
    What a flooding server did: the bytes it sent, and a Deferred that fires when its (one)
    connection is lost.

    @ivar sent: the bytes of header lines sent.
    @ivar lost: fires when the connection is lost.
    """

    def __init__(self) -> None:
        self.sent = 0
        self.lost: Deferred[None] = Deferred()

    def factory(self) -> Factory[Any]:
        """
        A factory of L{HeaderFlood}s reporting here (one connection is expected), offering
        C{http/1.1} by ALPN.
        """
        return HTTPFactory.forProtocol(lambda: HeaderFlood(self))

    def listen(self, contextFactory: Any, addCleanup: Any) -> int:
        """
        Serve L{HeaderFlood} behind TLS (C{contextFactory}) on 127.0.0.1, until the test's
        cleanup; return the port.
        """
        factory = TLSMemoryBIOFactory(contextFactory, False, self.factory())
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        addCleanup(port.stopListening)
        return int(port.getHost().port)


def countReceived(testCase: Any) -> list[int]:
    """
    Patch L{BoundedConnection} for C{testCase}: the list returned gets the bytes each
    bounded connection had counted when it was lost.
    """
    received: list[int] = []
    original = BoundedConnection.connectionLost

    def noted(self: BoundedConnection, reason: Any) -> None:
        received.append(self.received)
        original(self, reason)

    testCase.patch(BoundedConnection, "connectionLost", noted)
    return received

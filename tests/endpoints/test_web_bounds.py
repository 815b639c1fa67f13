"""
C{daneAgent(maxResponseBytes=...)}: the bound on what a response may take on its connection,
status line, header lines and body together, against HTTPS servers on loopback: one that
answers C{200 OK} and then sends header lines without end, and twisted.web.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import URI, HTTPConnectionPool, PotentialDataLoss, ResponseDone
from twisted.web.resource import Resource
from twisted.web.server import Site

from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints import DANEEndpoint, DANEEndpointFactory, DNSSECEndpoint, daneAgent
from txdane.endpoints.errors import ResponseTooLargeError
from txdane.endpoints.web import HEADER_ALLOWANCE, BoundedEndpoint, readBounded

from ..dane.certs import issue
from ..dane.tlsserver import serverOptions
from ..fakeresolver import PendingResolver
from .headerflood import FLOOD_CAP, TLS_RECORD, Flood, HTTPFactory, countReceived
from .world import World, makeWorld, reactor


class Sized(Resource):
    """
    Answers C{GET /N} with N bytes.
    """

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"x" * int(request.path[1:])


async def publish(testCase: TestCase, port: int, certificate: Any) -> World:
    """
    The world naming C{web.example.test} at 127.0.0.1, with the TLSA record (DANE-EE) of
    C{certificate} for C{port}.
    """
    record = recordForCertificate(certificate.cert, 3, 1, 1)
    world = await makeWorld(
        {"example.test.": ["web 300 IN A 127.0.0.1", f"_{port}._tcp.web 300 IN TLSA {record}"]}
    )
    testCase.addCleanup(world.dnsServer.stop)
    return world


class CloseDelimited(Protocol):
    """
    Answers any request with a body of C{size} bytes and neither a C{Content-Length} nor
    chunking: its end is the connection's close (RFC 9112 section 6.3).
    """

    size = 200000

    def dataReceived(self, data: bytes) -> None:
        if self.transport is None or not data.endswith(b"\r\n\r\n"):
            return
        self.transport.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        self.transport.write(b"x" * self.size)
        self.transport.loseConnection()


class Collector(Protocol):
    """
    Collects a body as many clients do: the close of a body without a length (twisted.web's
    C{PotentialDataLoss}) is its end.
    """

    def __init__(self) -> None:
        self.received = 0
        self.reasons: list[Failure] = []
        self.lost: Deferred[None] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:  # noqa: B008
        self.reasons.append(reason)
        self.lost.callback(None)


class BoundTests(TestCase):
    async def serveSized(self) -> tuple[World, int, list[Any]]:
        """
        Serve L{Sized} over TLS; return the world, the port and the list of its connections.
        """
        certificate = issue("web.example.test")
        site = Site(Sized())
        connections: list[Any] = []
        original = site.buildProtocol

        def counting(addr: Any) -> Any:
            connections.append(addr)
            return original(addr)

        site.buildProtocol = counting  # type: ignore[method-assign]
        listening = reactor.listenTCP(
            0, TLSMemoryBIOFactory(serverOptions(certificate), False, site), interface="127.0.0.1"
        )
        self.addCleanup(listening.stopListening)
        port = listening.getHost().port
        return await publish(self, port, certificate), port, connections

    async def test_headerFlood(self) -> None:
        """
        A server that answers C{200 OK} and then sends header lines without end: once
        C{maxResponseBytes} arrived the connection is aborted and the request fails at once
        with L{ResponseTooLargeError}, naming the origin (a kept connection carries other
        paths) and the bound.
        """
        certificate = issue("web.example.test")
        flood = Flood()
        port = flood.listen(serverOptions(certificate), self.addCleanup)
        world = await publish(self, port, certificate)
        received = countReceived(self)
        agent = daneAgent(reactor, world.resolver, maxResponseBytes=20000)
        started = reactor.seconds()
        url = f"https://web.example.test:{port}/a/path?q=1"
        requested: Deferred[Any] = agent.request(b"GET", url.encode()).addTimeout(5, reactor)
        error = await self.assertFailure(requested, ResponseTooLargeError)
        await flood.lost
        self.assertEqual((error.url, error.limit), (f"https://web.example.test:{port}", 20000))
        self.assertEqual(
            str(error), f"https://web.example.test:{port}: the response is larger than 20000 bytes"
        )
        self.assertLess(reactor.seconds() - started, 4)
        # What reached the HTTP client: the bound, plus at most the last TLS record's
        # plaintext.
        (count,) = received
        self.assertGreater(count, 20000)
        self.assertLessEqual(count, 20000 + TLS_RECORD)
        self.assertLess(flood.sent, FLOOD_CAP)

    async def test_eachResponseOfAKeptConnection(self) -> None:
        """
        A persistent connection carries any number of responses within the bound: each is
        counted alone, not the connection's bytes in all.
        """
        world, port, connections = await self.serveSized()
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        agent = daneAgent(reactor, world.resolver, pool=pool, maxResponseBytes=40000)
        for _ in range(4):
            response = await agent.request(
                b"GET", f"https://web.example.test:{port}/30000".encode()
            )
            body = await readBounded(response, 30000, ValueError("too large"))
            self.assertEqual(body, b"x" * 30000)
        self.assertEqual(len(connections), 1)

    async def test_bodyCut(self) -> None:
        """
        A body that takes the response past the bound: the request got its response, and
        reading the body fails with the bound's L{ResponseTooLargeError}, not a truncated
        body.
        """
        world, port, _ = await self.serveSized()
        agent = daneAgent(reactor, world.resolver, maxResponseBytes=50000)
        response = await agent.request(b"GET", f"https://web.example.test:{port}/200000".encode())
        self.assertEqual(response.code, 200)
        body: Deferred[Any] = readBounded(response, 300000, ValueError("too large"))
        error = await self.assertFailure(body, ResponseTooLargeError)
        self.assertEqual(error.limit, 50000)

    async def test_closeDelimitedBodyCut(self) -> None:
        """
        A body without a length, which ends when the connection closes, cut by the bound:
        reading it fails with the bound's L{ResponseTooLargeError}. twisted.web reports the
        close of such a body as its possible end (C{PotentialDataLoss}), which many clients
        take as the end, so the cut would read as a whole, shorter body.
        """
        certificate = issue("web.example.test")
        listening = reactor.listenTCP(
            0,
            TLSMemoryBIOFactory(
                serverOptions(certificate), False, HTTPFactory.forProtocol(CloseDelimited)
            ),
            interface="127.0.0.1",
        )
        self.addCleanup(listening.stopListening)
        port = listening.getHost().port
        world = await publish(self, port, certificate)
        agent = daneAgent(reactor, world.resolver, maxResponseBytes=50000)
        url = f"https://web.example.test:{port}/".encode()
        response = await agent.request(b"GET", url)
        body: Deferred[Any] = readBounded(response, 300000, ValueError("too large"))
        error = await self.assertFailure(body, ResponseTooLargeError)
        self.assertEqual(error.limit, 50000)
        response = await agent.request(b"GET", url)
        collector = Collector()
        response.deliverBody(collector)
        await collector.lost
        (reason,) = collector.reasons
        self.assertFalse(reason.check(ResponseDone, PotentialDataLoss), reason)
        self.assertLess(collector.received, 50000)
        # Within the bound, such a body is read whole.
        agent = daneAgent(reactor, world.resolver, maxResponseBytes=300000)
        response = await agent.request(b"GET", url)
        self.assertEqual(len(await readBounded(response, 300000, ValueError())), 200000)

    async def test_withinAllowance(self) -> None:
        """
        A body of the size a client reads, with the bound that size plus L{HEADER_ALLOWANCE}:
        read whole.
        """
        world, port, _ = await self.serveSized()
        agent = daneAgent(reactor, world.resolver, maxResponseBytes=100000 + HEADER_ALLOWANCE)
        response = await agent.request(b"GET", f"https://web.example.test:{port}/100000".encode())
        body = await readBounded(response, 100000, ValueError("too large"))
        self.assertEqual(len(body), 100000)


class ArgumentTests(SynchronousTestCase):
    def test_unboundedByDefault(self) -> None:
        """
        Without C{maxResponseBytes} the endpoints are the plain ones, as before.
        """
        factory = DANEEndpointFactory(reactor, PendingResolver())
        self.assertIsNone(factory.maxResponseBytes)
        endpoint = factory.endpointForURI(URI.fromBytes(b"https://www.example.test/"))
        self.assertIsInstance(endpoint, DANEEndpoint)

    def test_bounded(self) -> None:
        """
        With C{maxResponseBytes}, each endpoint, C{https} or C{http}, is bounded.
        """
        factory = DANEEndpointFactory(reactor, PendingResolver(), maxResponseBytes=1000)
        for url, kind in (
            (b"https://www.example.test/x", DANEEndpoint),
            (b"http://www.example.test:8080/x", DNSSECEndpoint),
        ):
            endpoint = factory.endpointForURI(URI.fromBytes(url))
            assert isinstance(endpoint, BoundedEndpoint)
            self.assertIsInstance(endpoint.wrapped, kind)
            self.assertEqual(endpoint.limit, 1000)
            self.assertIsInstance(endpoint.tooLarge, ResponseTooLargeError)

    def test_checked(self) -> None:
        """
        C{maxResponseBytes} is an C{int} of at least 1, checked when the agent is made.
        """
        for value in ("1000", 1000.0, True):
            with self.assertRaises(TypeError) as raised:
                daneAgent(reactor, PendingResolver(), maxResponseBytes=value)  # type: ignore[arg-type]
            self.assertIn("maxResponseBytes must be a number of bytes", str(raised.exception))
        for value in (0, -1):
            with self.assertRaises(ValueError) as raised:
                daneAgent(reactor, PendingResolver(), maxResponseBytes=value)
            self.assertIn("maxResponseBytes", str(raised.exception))

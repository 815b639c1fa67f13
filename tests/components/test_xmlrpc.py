"""
L{txdane.xmlrpc}: XML-RPC calls over C{daneAgent}, against twisted.web's own C{XMLRPC}
resource behind TLS on loopback.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from twisted.internet.defer import CancelledError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import HTTPConnectionPool, ResponseNeverReceived
from twisted.web.error import Error
from twisted.web.pages import notFound
from twisted.web.resource import Resource
from twisted.web.server import Site
from twisted.web.xmlrpc import XMLRPC, Fault

from txdane.dane.errors import DANEVerificationError
from txdane.endpoints import UnsupportedSchemeError
from txdane.endpoints.web import HEADER_ALLOWANCE
from txdane.xmlrpc import AgentProxy, ResponseTooLargeError, daneXMLRPCProxy

from ..endpoints.headerflood import FLOOD_CAP, TLS_RECORD, Flood, countReceived
from .loopback import Loopback, LoopbackTestCase, reactor


class Huge(Resource):
    """
    Answers any request with 70,000 bytes of text/xml.
    """

    isLeaf = True

    def render_POST(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/xml")
        return b"<" * 70000


class Calculator(XMLRPC):
    """
    Two methods, and the C{Host} header and credentials of each call that reaches them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[bytes | None, bytes, bytes]] = []

    def render_POST(self, request: Any) -> Any:
        self.calls.append((request.getHeader(b"host"), request.getUser(), request.getPassword()))
        return super().render_POST(request)

    def xmlrpc_add(self, a: int, b: int) -> int:
        return a + b

    def xmlrpc_fail(self) -> None:
        raise Fault(7, "as asked")

    def xmlrpc_echo(self, text: str) -> str:
        return text


class Silent(Protocol):
    """
    Reads a request and never answers; or, with C{factory.close}, closes the connection.
    """

    def dataReceived(self, data: bytes) -> None:
        if getattr(self.factory, "close", False):
            self.transport.loseConnection()  # type: ignore[union-attr]


class ProxyTests(LoopbackTestCase):
    async def serveCalculator(self, *, good: bool = True) -> tuple[Loopback, Calculator]:
        calculator = Calculator()
        root = Resource()
        root.putChild(b"RPC2", calculator)
        root.putChild(b"gone", notFound())
        root.putChild(b"huge", Huge())
        return await self.serve(Site(root), "rpc", good=good), calculator

    async def test_call(self) -> None:
        """
        L{daneXMLRPCProxy}: results and faults come back from a server verified by its TLSA
        record, with the URL's host in each request and its user and password as basic
        authentication.
        """
        server, calculator = await self.serveCalculator()
        url = f"https://alice:s%3Acret@{server.host}:{server.port}/RPC2"
        proxy = daneXMLRPCProxy(reactor, server.world.resolver, url)
        self.assertEqual(await proxy.callRemote("add", 2, 3), 5)
        fault = await self.assertFailure(proxy.callRemote("fail"), xmlrpc.client.Fault)
        self.assertEqual((fault.faultCode, fault.faultString), (7, "as asked"))
        host = f"{server.host}:{server.port}".encode()
        self.assertEqual(calculator.calls, [(host, b"alice", b"s:cret")] * 2)
        self.assertEqual(server.connections, 2)

    async def test_pooled(self) -> None:
        """
        With a connection pool, calls share one verified connection.
        """
        server, calculator = await self.serveCalculator()
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        url = f"https://{server.host}:{server.port}/RPC2"
        proxy = daneXMLRPCProxy(reactor, server.world.resolver, url, pool=pool)
        for a in range(3):
            self.assertEqual(await proxy.callRemote("add", a, 1), a + 1)
        self.assertEqual((len(calculator.calls), server.connections), (3, 1))

    async def test_mismatchRefused(self) -> None:
        """
        A server whose certificate matches no TLSA record is refused inside the TLS
        handshake: the call fails with L{DANEVerificationError} and the server receives not
        one byte of the request.
        """
        server, calculator = await self.serveCalculator(good=False)
        proxy = daneXMLRPCProxy(
            reactor, server.world.resolver, f"https://{server.host}:{server.port}/RPC2"
        )
        error = await self.assertFailure(proxy.callRemote("add", 2, 3), DANEVerificationError)
        self.assertIn("no TLSA record matched", str(error))
        await server.allEnded()
        self.assertEqual((server.connections, server.received), (1, b""))
        self.assertEqual(calculator.calls, [])

    async def test_nameChecked(self) -> None:
        """
        As with L{daneAgent <txdane.endpoints.daneAgent>}, the certificate must name the
        host even when a DANE-EE record matches it, unless C{checkDANEEENames} is off.
        """
        calculator = Calculator()
        server = await self.serve(Site(calculator), "rpc", certificateName="other.example.test")
        url = f"https://{server.host}:{server.port}/"
        proxy = daneXMLRPCProxy(reactor, server.world.resolver, url)
        await self.assertFailure(proxy.callRemote("add", 1, 2), DANEVerificationError)
        self.assertEqual(calculator.calls, [])
        proxy = daneXMLRPCProxy(reactor, server.world.resolver, url, checkDANEEENames=False)
        self.assertEqual(await proxy.callRemote("add", 1, 2), 3)

    async def test_httpError(self) -> None:
        """
        An HTTP status other than 200 fails the call with twisted.web's C{Error}.
        """
        server, _ = await self.serveCalculator()
        proxy = daneXMLRPCProxy(
            reactor, server.world.resolver, f"https://{server.host}:{server.port}/gone"
        )
        error = await self.assertFailure(proxy.callRemote("add", 2, 3), Error)
        self.assertEqual(error.status, b"404")

    async def test_responseBounded(self) -> None:
        """
        A response larger than C{maxResponse} fails the call with L{ResponseTooLargeError}
        instead of growing in memory; one within it is read.
        """
        server, _ = await self.serveCalculator()
        url = f"https://{server.host}:{server.port}/huge"
        proxy = daneXMLRPCProxy(reactor, server.world.resolver, url, maxResponse=65536)
        error = await self.assertFailure(proxy.callRemote("add", 2, 3), ResponseTooLargeError)
        self.assertEqual(error.limit, 65536)
        self.assertIn("larger than 65536 bytes", str(error))
        proxy = daneXMLRPCProxy(reactor, server.world.resolver, url, maxResponse=70000)
        # Within the bound: read whole, then refused as XML.
        await self.assertFailure(proxy.callRemote("add", 2, 3), Exception)

    async def test_headerFlood(self) -> None:
        """
        A server that answers C{200 OK} and then sends header lines without end: the
        connection is aborted once C{maxResponse} plus L{HEADER_ALLOWANCE} bytes arrived,
        and the call fails at once with L{ResponseTooLargeError}.
        """
        flood = Flood()
        server = await self.serve(flood.factory(), "rpc")
        received = countReceived(self)
        proxy = daneXMLRPCProxy(
            reactor,
            server.world.resolver,
            f"https://{server.host}:{server.port}/RPC2",
            maxResponse=1000,
        )
        started = reactor.seconds()
        call = proxy.callRemote("add", 2, 3).addTimeout(5, reactor)
        error = await self.assertFailure(call, ResponseTooLargeError)
        await flood.lost
        limit = 1000 + HEADER_ALLOWANCE
        self.assertEqual((error.url, error.limit), (f"https://{server.host}:{server.port}", limit))
        self.assertLess(reactor.seconds() - started, 4)
        (count,) = received
        self.assertLessEqual(count, limit + TLS_RECORD)
        self.assertLess(flood.sent, FLOOD_CAP)

    async def test_pooledLargeResponses(self) -> None:
        """
        Through a persistent connection, each response is bounded alone: calls whose
        responses together pass C{maxResponse} plus L{HEADER_ALLOWANCE} share the
        connection.
        """
        server, calculator = await self.serveCalculator()
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        url = f"https://{server.host}:{server.port}/RPC2"
        proxy = daneXMLRPCProxy(reactor, server.world.resolver, url, pool=pool, maxResponse=50000)
        text = "a" * 40000
        for _ in range(4):
            self.assertEqual(await proxy.callRemote("echo", text), text)
        self.assertEqual((len(calculator.calls), server.connections), (4, 1))

    async def test_closedWithoutAnswer(self) -> None:
        """
        A server that closes the connection without answering fails the call.
        """
        factory = Factory.forProtocol(Silent)
        factory.close = True  # type: ignore[attr-defined]
        server = await self.serve(factory, "rpc", alpn=[b"http/1.1"])
        proxy = daneXMLRPCProxy(
            reactor, server.world.resolver, f"https://{server.host}:{server.port}/"
        )
        await self.assertFailure(proxy.callRemote("add", 2, 3), ResponseNeverReceived)
        self.assertIn(b"POST / HTTP/1.1", server.received)

    async def test_cancel(self) -> None:
        """
        Cancelling a call that waits for its answer closes its connection.
        """
        server = await self.serve(Factory.forProtocol(Silent), "rpc", alpn=[b"http/1.1"])
        proxy = daneXMLRPCProxy(
            reactor, server.world.resolver, f"https://{server.host}:{server.port}/"
        )
        call = proxy.callRemote("add", 2, 3)
        while not server.received.endswith(b"</methodCall>\n"):
            await deferLater(reactor, 0.01)
        call.cancel()
        await self.assertFailure(call, CancelledError)
        await server.allEnded()

    async def test_cancelWhileConnecting(self) -> None:
        """
        Cancelling a call before its connection is made stops the connection attempt.
        """
        server, calculator = await self.serveCalculator()
        proxy = daneXMLRPCProxy(
            reactor, server.world.resolver, f"https://{server.host}:{server.port}/"
        )
        call = proxy.callRemote("add", 2, 3)
        call.cancel()
        await self.assertFailure(call, CancelledError)
        self.assertEqual((server.connections, calculator.calls), (0, []))

    async def test_example(self) -> None:
        """
        docs/examples/xmlrpc_call.py calls the method and prints the result.
        """
        server, _ = await self.serveCalculator()
        url = f"https://{server.host}:{server.port}/RPC2"
        code, out, err = await self.runExample(
            "xmlrpc_call.py", url, "add", "2", "3", *server.resolverArguments()
        )
        self.assertEqual((code, out), (0, "5\n"), err)

    async def test_exampleRefused(self) -> None:
        """
        docs/examples/xmlrpc_call.py, given a server that fails DANE, says so and exits with
        1; the server receives nothing.
        """
        server, calculator = await self.serveCalculator(good=False)
        url = f"https://{server.host}:{server.port}/RPC2"
        code, out, err = await self.runExample(
            "xmlrpc_call.py", url, "add", "2", "3", *server.resolverArguments()
        )
        self.assertEqual((code, out), (1, ""))
        self.assertIn("refused: ", err)
        self.assertIn("no TLSA record matched", err)
        self.assertEqual((server.received, calculator.calls), (b"", []))


class URLTests(SynchronousTestCase):
    def test_httpsOnly(self) -> None:
        """
        L{daneXMLRPCProxy} takes C{https} URLs only, with a host.
        """
        with self.assertRaises(UnsupportedSchemeError) as caught:
            daneXMLRPCProxy(reactor, None, "http://rpc.example.test/")  # type: ignore[arg-type]
        self.assertIn("needs an https URL, not http", str(caught.exception))
        with self.assertRaises(ValueError):
            daneXMLRPCProxy(reactor, None, "https:///RPC2")  # type: ignore[arg-type]

    def test_refusedWhenMade(self) -> None:
        """
        What would fail every call, or be read as something else, fails when the proxy is
        made, naming the argument: a port that is no number (it used to be looked up as part
        of the host name), C{httpsOnly} (Python's own "multiple values" error), a
        C{maxResponse} that is no positive C{int} (C{"10"} dropped every response body),
        flags given as text (C{"no"} would be true), a URL that is no text.
        """
        resolver: Any = None
        for url, message in [
            ("https://rpc.example.test:abc/RPC2", "port"),
            ("https://rpc.example.test:0/RPC2", "port"),
            ("https://bob:pw@rpc.example.test:99999/RPC2", "port"),
        ]:
            with self.assertRaises(ValueError) as caught:
                daneXMLRPCProxy(reactor, resolver, url)
            self.assertIn(message, str(caught.exception))
            self.assertNotIn("pw", str(caught.exception))
        url = "https://rpc.example.test/RPC2"
        with self.assertRaises(TypeError) as caught:
            daneXMLRPCProxy(reactor, resolver, url, httpsOnly=False)
        self.assertIn("takes no httpsOnly", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            daneXMLRPCProxy(reactor, resolver, url, maxResponseBytes=10)
        self.assertIn("takes no maxResponseBytes", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            daneXMLRPCProxy(reactor, resolver, url, maxResponse="10")  # type: ignore[arg-type]
        self.assertIn("maxResponse must be a number of bytes", str(caught.exception))
        for value, error in [
            ("10", TypeError),
            (True, TypeError),
            (0, ValueError),
            (-1, ValueError),
        ]:
            with self.assertRaises(error) as caught:
                AgentProxy(None, url, maxResponse=value)  # type: ignore[arg-type]
            self.assertIn("maxResponse", str(caught.exception))
        for flag in ("allowNone", "useDateTime"):
            with self.assertRaises(TypeError) as caught:
                AgentProxy(None, url, **{flag: "no"})  # type: ignore[arg-type]
            self.assertIn(f"{flag} must be True or False", str(caught.exception))
        with self.assertRaises(TypeError):
            AgentProxy(None, None)  # type: ignore[arg-type]

    def test_credentialsOutOfTheURL(self) -> None:
        """
        A user and password in the URL are the proxy's, not part of the URL requested; the
        path defaults to C{/}; arguments take precedence.
        """
        proxy = AgentProxy(None, b"https://bob:pw@rpc.example.test:8443")  # type: ignore[arg-type]
        self.assertEqual(
            (proxy.url, proxy.user, proxy.password),
            ("https://rpc.example.test:8443/", b"bob", b"pw"),
        )
        proxy = AgentProxy(None, "https://bob@rpc.example.test/x", password=b"p")  # type: ignore[arg-type]
        self.assertEqual(
            (proxy.url, proxy.user, proxy.password), ("https://rpc.example.test/x", b"bob", b"p")
        )
        proxy = AgentProxy(None, "https://[::1]/RPC2", user=b"carol")  # type: ignore[arg-type]
        self.assertEqual(
            (proxy.url, proxy.user, proxy.password), ("https://[::1]/RPC2", b"carol", None)
        )
        # Text credentials are sent as UTF-8, not refused at the first call.
        proxy = AgentProxy(None, "https://rpc.example.test/", user="b\u00f6b", password="pw")  # type: ignore[arg-type]
        self.assertEqual((proxy.user, proxy.password), (b"b\xc3\xb6b", b"pw"))
        with self.assertRaises(TypeError):
            AgentProxy(None, "https://rpc.example.test/", user=42)  # type: ignore[arg-type]
        with self.assertRaises(ValueError) as caught:
            AgentProxy(None, "https://b\u00fccher.example/RPC2")  # type: ignore[arg-type]
        self.assertIn("xn-- form", str(caught.exception))

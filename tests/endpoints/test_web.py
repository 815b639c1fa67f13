"""
The HTTPS Agent over DANE, against a real HTTPS server on loopback.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import HTTPConnectionPool, readBody
from twisted.web.resource import Resource
from twisted.web.server import Site

from txdane.dane.errors import DANEVerificationError
from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints import UnsupportedSchemeError, daneAgent
from txdane.errors import HandshakeTimeoutError

from ..dane.certs import issue
from ..dane.tlsserver import serverOptions
from ..fakeresolver import PendingResolver
from .world import makeWorld, reactor


class Hello(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"hello over DANE"


class AgentTests(TestCase):
    def serve(self, certificate: Any) -> tuple[int, list[Any]]:
        """
        Serve L{Hello} over TLS with C{certificate} on 127.0.0.1 until the test ends; return
        the port and the list of the connections it accepted.
        """
        site = Site(Hello())
        connections: list[Any] = []
        original = site.buildProtocol

        def counting(addr: Any) -> Any:
            connections.append(addr)
            return original(addr)

        site.buildProtocol = counting  # type: ignore[method-assign]
        port = reactor.listenTCP(
            0, TLSMemoryBIOFactory(serverOptions(certificate), False, site), interface="127.0.0.1"
        )
        self.addCleanup(port.stopListening)
        return port.getHost().port, connections

    async def test_fetchPooledAndRefuse(self) -> None:
        certificate = issue("www.example.test")
        number, connections = self.serve(certificate)
        good = recordForCertificate(certificate.cert, 3, 1, 1)
        wrong = recordForCertificate(issue("www.example.test").cert, 3, 1, 1)
        world = await makeWorld(
            {
                "example.test.": [
                    "web 300 IN A 127.0.0.1",
                    f"_{number}._tcp.web 300 IN TLSA {good}",
                    "evil 300 IN A 127.0.0.1",
                    f"_{number}._tcp.evil 300 IN TLSA {wrong}",
                ]
            }
        )
        self.addCleanup(world.dnsServer.stop)
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        # DANE-EE names are checked for the web: the certificate names www.example.test, so
        # turn that off for web.example.test.
        agent = daneAgent(reactor, world.resolver, pool=pool, checkDANEEENames=False)
        for _ in range(2):
            response = await agent.request(b"GET", f"https://web.example.test:{number}/".encode())
            self.assertEqual(response.code, 200)
            self.assertEqual(await readBody(response), b"hello over DANE")
        self.assertEqual(len(connections), 1)
        await self.assertFailure(
            agent.request(b"GET", f"https://evil.example.test:{number}/".encode()),
            DANEVerificationError,
        )
        self.assertEqual(len(connections), 2)

    async def test_nameCheckedForWeb(self) -> None:
        """
        By default the Agent checks the certificate's name even for DANE-EE records.
        """
        certificate = issue("other.example.test")
        port = reactor.listenTCP(
            0,
            TLSMemoryBIOFactory(serverOptions(certificate), False, Site(Hello())),
            interface="127.0.0.1",
        )
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        record = recordForCertificate(certificate.cert, 3, 1, 1)
        world = await makeWorld({"example.test.": [f"_{number}._tcp.www 300 IN TLSA {record}"]})
        self.addCleanup(world.dnsServer.stop)
        pool = HTTPConnectionPool(reactor, persistent=False)
        await self.assertFailure(
            daneAgent(reactor, world.resolver, pool=pool).request(
                b"GET", f"https://www.example.test:{number}/".encode()
            ),
            DANEVerificationError,
        )

    async def test_sharedPool(self) -> None:
        """
        A pool shared by several agents: each uses the connections it made, checked by its
        own rules, never another's to the same origin (twisted.web keys a pool's connections
        by scheme, host and port alone). An agent that does not check DANE-EE names made
        the pool's connection; the default agent, which checks them, refuses the server.
        """
        certificate = issue("other.example.test")
        number, connections = self.serve(certificate)
        record = recordForCertificate(certificate.cert, 3, 1, 1)
        world = await makeWorld({"example.test.": [f"_{number}._tcp.www 300 IN TLSA {record}"]})
        self.addCleanup(world.dnsServer.stop)
        pool = HTTPConnectionPool(reactor)
        self.addCleanup(pool.closeCachedConnections)
        url = f"https://www.example.test:{number}/".encode()
        loose = daneAgent(reactor, world.resolver, pool=pool, checkDANEEENames=False)
        response = await loose.request(b"GET", url)
        self.assertEqual(await readBody(response), b"hello over DANE")
        strict = daneAgent(reactor, world.resolver, pool=pool)
        await self.assertFailure(strict.request(b"GET", url), DANEVerificationError)
        self.assertEqual(len(connections), 2)
        # The first agent still has its connection, kept in the pool.
        response = await loose.request(b"GET", url)
        self.assertEqual(await readBody(response), b"hello over DANE")
        self.assertEqual(len(connections), 2)

    def test_unsupportedScheme(self) -> None:
        from twisted.web.client import URI

        from txdane.endpoints import DANEEndpointFactory

        factory = DANEEndpointFactory(reactor, PendingResolver(), httpsOnly=True)
        with self.assertRaises(UnsupportedSchemeError):
            factory.endpointForURI(URI.fromBytes(b"http://www.example.test/"))

    def test_argumentsChecked(self) -> None:
        """
        The agent's endpoint factory checks what it is given when made, not on each request.
        """
        from txdane.endpoints import DANEEndpointFactory
        from txdane.settings import ResolverSettings

        with self.assertRaises(TypeError) as raised:
            daneAgent(reactor, ResolverSettings())  # type: ignore[arg-type]
        self.assertIn("give settings.build(reactor)", str(raised.exception))
        with self.assertRaises(ValueError):
            daneAgent(reactor, PendingResolver(), timeout=-1)
        with self.assertRaises(TypeError):
            DANEEndpointFactory(reactor, PendingResolver(), httpsOnly="yes")  # type: ignore[arg-type]

    def test_punycodeHostKeptAsItIs(self) -> None:
        """
        A URL's host in its ASCII (IDNA) form names the endpoint as it is, including labels
        that only IDNA 2008 allows (C{xn--fa-hia} is "faß", which Python's IDNA 2003 codec
        cannot decode).
        """
        from twisted.web.client import URI

        from txdane.endpoints import DANEEndpointFactory

        factory = DANEEndpointFactory(reactor, PendingResolver())
        for url, host in (
            (b"https://xn--fa-hia.example/", "xn--fa-hia.example"),
            (b"https://xn--bcher-kva.example/", "xn--bcher-kva.example"),
            (b"http://WWW.Example.test/", "WWW.Example.test"),
        ):
            endpoint: Any = factory.endpointForURI(URI.fromBytes(url))
            self.assertEqual(endpoint.host, host)


class HandshakeDeadlineTests(SynchronousTestCase):
    """
    The agent's C{handshakeTimeout}: a server that accepts the connection and never answers
    the ClientHello fails the request at the deadline.
    """

    def silentRequest(self, **factoryOptions: Any) -> tuple[MemoryReactorClock, Any, Any]:
        reactor = MemoryReactorClock()
        resolver = PendingResolver()
        agent = daneAgent(
            reactor,
            resolver,
            pool=HTTPConnectionPool(reactor, persistent=False),
            **factoryOptions,
        )
        requested = agent.request(b"GET", b"https://www.example.test/")
        resolver.answer("www.example.test.", "A", "127.0.0.1")
        resolver.answer("www.example.test.", "AAAA")
        resolver.answer("_443._tcp.www.example.test.", "TLSA", "3 1 1 " + "00" * 32)
        ((_, port, factory, _, _),) = reactor.tcpClients
        self.assertEqual(port, 443)
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
        return reactor, requested, pump

    def test_handshakeTimeout(self) -> None:
        reactor, requested, pump = self.silentRequest(handshakeTimeout=2)
        reactor.advance(1.9)
        self.assertNoResult(requested)
        reactor.advance(0.1)
        pump.flush()
        error = self.failureResultOf(requested, HandshakeTimeoutError).value
        self.assertEqual((error.host, error.port, error.timeout), ("www.example.test", 443, 2))
        self.assertEqual(reactor.getDelayedCalls(), [])

    def test_defaultDeadline(self) -> None:
        reactor, requested, pump = self.silentRequest()
        reactor.advance(29.9)
        self.assertNoResult(requested)
        reactor.advance(0.1)
        pump.flush()
        self.failureResultOf(requested, HandshakeTimeoutError)

    def test_factoryPassesItOn(self) -> None:
        from twisted.web.client import URI

        from txdane.endpoints import DANEEndpointFactory

        factory = DANEEndpointFactory(MemoryReactorClock(), PendingResolver(), handshakeTimeout=4)
        endpoint: Any = factory.endpointForURI(URI.fromBytes(b"https://www.example.test/"))
        self.assertEqual(endpoint.handshakeTimeout, 4)
        default: Any = DANEEndpointFactory(MemoryReactorClock(), PendingResolver())
        self.assertEqual(default.handshakeTimeout, 30)

"""
What L{daneAgent} and L{DANEEndpointFactory} refuse, and how: their arguments when they are
made; a URL by the failed Deferred of C{request}, before anything is looked up or dialled
(never by raising, which an C{IAgent} must not do); and the limit of L{readBounded}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import URI, Agent, HTTPConnectionPool, ResponseDone
from twisted.web.iweb import IAgent
from zope.interface.verify import verifyObject

from txdane.endpoints import DANEEndpointFactory, UnsupportedSchemeError, daneAgent
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.options import DANEOptions
from txdane.endpoints.web import readBounded, urlHostAndPort

from ..fakeresolver import PendingResolver


class RequestFailureTests(SynchronousTestCase):
    """
    C{request} returns a Deferred for every URL; one it cannot fetch fails it at once,
    with nothing looked up and nothing dialled.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.resolver = PendingResolver()

    def request(self, url: bytes, method: Any = b"GET", **factoryOptions: Any) -> Any:
        agent = daneAgent(
            self.reactor,
            self.resolver,
            pool=HTTPConnectionPool(self.reactor, persistent=False),
            **factoryOptions,
        )
        return agent.request(method, url)

    def refused(self, url: bytes, error: type[Exception], **factoryOptions: Any) -> Exception:
        """
        The error that C{url}'s request fails with, checking that it failed before any
        lookup or connection.
        """
        requested = self.request(url, **factoryOptions)
        value = self.failureResultOf(requested, error).value
        self.assertEqual(self.resolver.pending, {})
        self.assertEqual(self.reactor.tcpClients, [])
        return value

    def test_unsupportedScheme(self) -> None:
        """
        Another scheme, and C{http} when C{httpsOnly}, fail the Deferred with
        L{UnsupportedSchemeError}.
        """
        self.assertIn("ftp", str(self.refused(b"ftp://www.example.test/", UnsupportedSchemeError)))
        error = self.refused(b"http://www.example.test/", UnsupportedSchemeError, httpsOnly=True)
        self.assertIn("httpsOnly", str(error))

    def test_httpsOnlyByDefault(self) -> None:
        """
        Unless given C{httpsOnly=False}, the agent fetches no C{http} URL: a redirect from
        C{https} to C{http} (which twisted.web's C{RedirectAgent} follows) fails, rather than
        going on in cleartext.
        """
        error = self.refused(b"http://www.example.test/", UnsupportedSchemeError)
        self.assertIn("httpsOnly", str(error))
        self.request(b"http://www.example.test/", httpsOnly=False)
        self.assertEqual(
            set(self.resolver.pending), {("www.example.test.", "A"), ("www.example.test.", "AAAA")}
        )

    def test_portOutOfRange(self) -> None:
        for url, port in (
            (b"https://www.example.test:0/", "'0'"),
            (b"https://www.example.test:65536/", "'65536'"),
            (b"http://www.example.test:99999/", "'99999'"),
        ):
            error = self.refused(url, ValueError, httpsOnly=False)
            self.assertIn(f"the port {port} is not a number from 1 to 65535", str(error))

    def test_portNotANumber(self) -> None:
        """
        A port that is not decimal digits fails the request, naming it, rather than being
        looked up as part of the host name.
        """
        for url, port in (
            (b"https://web.example.test:abc/", "'abc'"),
            (b"https://web.example.test:443:5/", "'443:5'"),
            (b"https://web.example.test:+443/", "'+443'"),
            (b"https://web.example.test:0x1bb/", "'0x1bb'"),
        ):
            error = self.refused(url, ValueError)
            self.assertIn(f"the port {port} is not a number", str(error))
            self.assertIn("https://web.example.test:", str(error))

    def test_emptyPortIsTheSchemes(self) -> None:
        """
        An empty port (C{host:}) is the scheme's (RFC 3986 section 3.2.3), and the host is
        looked up without the colon.
        """
        self.request(b"https://www.example.test:/")
        self.assertEqual(
            set(self.resolver.pending),
            {
                ("www.example.test.", "A"),
                ("www.example.test.", "AAAA"),
                ("_443._tcp.www.example.test.", "TLSA"),
            },
        )

    def test_userInfoRefused(self) -> None:
        """
        A user name or password in the URL fails the request: they are never looked up as
        part of the host name, never sent, and the error does not repeat them.
        """
        for url in (
            b"https://user:secret@web.example.test:5309/",
            b"https://user@web.example.test:5309/",
            b"http://user:secret@web.example.test:5309/",
        ):
            message = str(self.refused(url, ValueError, httpsOnly=False))
            self.assertIn("web.example.test:5309: the URL holds a user name or password", message)
            self.assertNotIn("secret", message)
            self.assertNotIn("user@", message)

    def test_noHost(self) -> None:
        for url in (b"https:///RPC2", b"https://:443/"):
            self.assertIn("names no host", str(self.refused(url, ValueError)))

    def test_anyErrorFailsTheDeferred(self) -> None:
        """
        What Twisted's C{Agent} raises itself (a method that is not bytes) fails the Deferred
        too.
        """
        requested = self.request(b"https://www.example.test/", method="GET")
        self.failureResultOf(requested, TypeError)

    def test_fetchableURLLookedUp(self) -> None:
        """
        A URL with a port, or an IPv6 address, is fetched from that host and port.
        """
        self.request(b"https://www.example.test:8443/path?query")
        self.assertIn(("_8443._tcp.www.example.test.", "TLSA"), self.resolver.pending)
        self.assertIn(("www.example.test.", "A"), self.resolver.pending)


class EndpointForURITests(SynchronousTestCase):
    """
    L{DANEEndpointFactory.endpointForURI} takes the host and port from the URL's authority
    strictly, and raises (as C{IAgentEndpointFactory} says) for one it cannot use.
    """

    def endpoint(self, url: bytes) -> Any:
        factory = DANEEndpointFactory(MemoryReactorClock(), PendingResolver())
        return factory.endpointForURI(URI.fromBytes(url))

    def test_hostAndPort(self) -> None:
        for url, kind, host, port in (
            (b"https://www.example.test/", DANEEndpoint, "www.example.test", 443),
            (b"https://www.example.test:8443/", DANEEndpoint, "www.example.test", 8443),
            (b"http://www.example.test/", DNSSECEndpoint, "www.example.test", 80),
            (b"http://www.example.test:8080/x", DNSSECEndpoint, "www.example.test", 8080),
            (b"https://[2001:db8::1]:8443/", DANEEndpoint, "2001:db8::1", 8443),
            (b"https://[::1]/", DANEEndpoint, "::1", 443),
            (b"http://[::1]:/", DNSSECEndpoint, "::1", 80),
        ):
            endpoint = self.endpoint(url)
            self.assertIsInstance(endpoint, kind)
            self.assertEqual((endpoint.host, endpoint.port), (host, port), url)

    def test_refused(self) -> None:
        for url, words in (
            (b"https://user:pw@www.example.test/", "user name or password"),
            (b"https://www.example.test:abc/", "the port 'abc'"),
        ):
            with self.assertRaises(ValueError) as raised:
                self.endpoint(url)
            self.assertIn(words, str(raised.exception))

    def test_urlHostAndPort(self) -> None:
        """
        L{urlHostAndPort} keeps the host as it is spelt, and refuses brackets that do not
        hold an IPv6 address (which Python's URL parsing, and so Twisted's C{URI}, may
        already refuse).
        """
        self.assertEqual(urlHostAndPort("https", "WWW.Example.test"), ("WWW.Example.test", 443))
        self.assertEqual(
            urlHostAndPort("http", "xn--fa-hia.example:81"), ("xn--fa-hia.example", 81)
        )
        for netloc, words in (
            ("[www.example.test]:443", "is not an [IPv6 address]"),
            ("[127.0.0.1]", "is not an [IPv6 address]"),
            ("[::1", "is not an [IPv6 address]"),
            ("[::1]x", "'x' follows the IPv6 address"),
        ):
            with self.assertRaises(ValueError) as raised:
                urlHostAndPort("https", netloc)
            self.assertIn(words, str(raised.exception))
        with self.assertRaises(UnsupportedSchemeError):
            urlHostAndPort("ftp", "www.example.test")


class ArgumentTests(SynchronousTestCase):
    """
    The agent's arguments are checked when it is made, not at its first request.
    """

    def test_agent(self) -> None:
        """
        The agent is a C{twisted.web.client.Agent} and an C{IAgent}.
        """
        agent = daneAgent(MemoryReactorClock(), PendingResolver())
        self.assertIsInstance(agent, Agent)
        self.assertTrue(verifyObject(IAgent, agent))

    def test_poolChecked(self) -> None:
        reactor = MemoryReactorClock()
        with self.assertRaises(TypeError) as raised:
            daneAgent(reactor, PendingResolver(), pool="pool")  # type: ignore[arg-type]
        self.assertIn("pool must be an HTTPConnectionPool", str(raised.exception))
        daneAgent(reactor, PendingResolver(), pool=HTTPConnectionPool(reactor))

    def test_optionsChecked(self) -> None:
        """
        C{options} that are not L{DANEOptions} are refused, with or without fields to set.
        """
        cases: tuple[dict[str, Any], ...] = ({}, {"checkDANEEENames": False})
        for fields in cases:
            with self.assertRaises(TypeError) as raised:
                daneAgent(MemoryReactorClock(), PendingResolver(), options="web", **fields)
            self.assertIn("options must be a DANEOptions", str(raised.exception))

    def test_starttlsRefused(self) -> None:
        """
        An C{https} connection starts with TLS: C{starttls}, as a keyword or in the options,
        is refused rather than spoken before HTTP.
        """
        for given in (
            {"starttls": "smtp"},
            {"options": DANEOptions(starttls="smtp")},
        ):
            with self.assertRaises(ValueError) as raised:
                daneAgent(MemoryReactorClock(), PendingResolver(), **given)
            self.assertIn("starttls='smtp'", str(raised.exception))


class _Response:
    """
    A response whose body is C{body}, delivered at once.
    """

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.delivered = 0

    def deliverBody(self, protocol: Any) -> None:
        self.delivered += 1
        protocol.makeConnection(StringTransport())
        protocol.dataReceived(self.body)
        protocol.connectionLost(Failure(ResponseDone()))


class ReadBoundedTests(SynchronousTestCase):
    def test_limitChecked(self) -> None:
        """
        A limit that is not an C{int} of at least 1 is refused before the body is read (a
        C{str} used to give an empty body).
        """
        for limit, error in (("10", TypeError), (True, TypeError), (10.0, TypeError)):
            response = _Response(b"hello")
            with self.assertRaises(error) as raised:
                readBounded(response, limit, ValueError("too large"))  # type: ignore[arg-type]
            self.assertIn(
                f"limit must be a number of bytes (an int), not {limit!r}", str(raised.exception)
            )
            self.assertEqual(response.delivered, 0)
        for limit in (0, -1):
            response = _Response(b"hello")
            with self.assertRaises(ValueError) as raised:
                readBounded(response, limit, ValueError("too large"))  # type: ignore[arg-type]
            self.assertIn(f"limit {limit} is not a positive number", str(raised.exception))
            self.assertEqual(response.delivered, 0)

    def test_limit(self) -> None:
        tooLarge = ValueError("too large")
        read = readBounded(_Response(b"a"), 1, tooLarge)  # type: ignore[arg-type]
        self.assertEqual(self.successResultOf(read), b"a")
        read = readBounded(_Response(b"ab"), 1, tooLarge)  # type: ignore[arg-type]
        self.assertIs(self.failureResultOf(read, ValueError).value, tooLarge)


def test_schemeErrorIsTwisteds() -> None:
    """
    L{UnsupportedSchemeError} is also Twisted's C{SchemeNotSupported}, which code written
    for Twisted's C{Agent} catches.
    """
    from twisted.web.error import SchemeNotSupported

    from txdane.endpoints.errors import UnsupportedSchemeError

    error = UnsupportedSchemeError("cannot fetch ftp: URLs with DANE")
    assert isinstance(error, SchemeNotSupported) and isinstance(error, ValueError)
    assert str(error) == "cannot fetch ftp: URLs with DANE"

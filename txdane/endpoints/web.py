"""
HTTPS with DANE: an endpoint factory for Twisted's C{Agent}::

    from twisted.web.client import Agent, HTTPConnectionPool
    agent = daneAgent(reactor, resolver, pool=HTTPConnectionPool(reactor))
    response = await agent.request(b"GET", b"https://www.example.com/")

C{treq} takes the same agent: C{treq.get(url, agent=agent)}, or
C{treq.client.HTTPClient(agent)}.

Its C{request} fails, as an C{IAgent}'s should, by its Deferred: a URL it cannot fetch (another
scheme, no host, a port that is not a number from 1 to 65535, a user name or password in it)
fails before anything is looked up or dialled.

Like twisted.web's C{Agent}, it bounds no response unless asked: with C{maxResponseBytes}
each response may take that many bytes on its connection, status line, header lines and
body together (twisted.web's client keeps every header line it is sent, however many); read
a body with L{readBounded} to bound it alone.

Tests: C{tests/endpoints/test_web.py}, C{tests/endpoints/test_web_arguments.py},
C{tests/endpoints/test_web_bounds.py}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IAgentEndpointFactory, IBodyProducer, IResponse
from zope.interface import implementer

from txdane.endpoints._arguments import (
    checkedFlag,
    checkedInstance,
    checkedResolver,
    checkedSeconds,
)
from txdane.endpoints._bounded import BoundedEndpoint, checkedLimit
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.errors import ResponseTooLargeError, UnsupportedSchemeError
from txdane.endpoints.options import DEFAULT_HANDSHAKE_TIMEOUT, DANEOptions
from txdane.names import isAddress
from txdane.validation.interfaces import IDNSSECResolver

__all__ = [
    "HEADER_ALLOWANCE",
    "WEB_OPTIONS",
    "BoundedEndpoint",
    "DANEEndpointFactory",
    "checkedLimit",
    "daneAgent",
    "readBounded",
    "urlHostAndPort",
]

#: The options of L{DANEEndpointFactory} unless it is given others: a web client checks the
#: host name even for DANE-EE records (it should not accept a certificate made for another
#: name, RFC 7671 section 5.1), and offers HTTP/1.1 by ALPN.
WEB_OPTIONS = DANEOptions(checkDANEEENames=True, acceptableProtocols=(b"http/1.1",))

#: The bytes a response may take beyond the largest body a client of txdane accepts: its
#: status line, header lines and chunk framing. Such a client gives its connections a
#: bound (L{daneAgent}'s C{maxResponseBytes}) of that body plus this, so that a server that
#: sends header lines without end cannot make it hold more (twisted.web's client bounds each
#: header line, not their number): MTA-STS policy fetches, TLS reports sent by HTTPS, the
#: XML-RPC proxy.
HEADER_ALLOWANCE = 65536

#: The port of each scheme the agent fetches, where a URL names none.
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _text(value: str | bytes) -> str:
    """
    C{value} as text: a C{URI}'s parts are bytes.
    """
    return value.decode("utf-8") if isinstance(value, bytes) else value


def urlHostAndPort(scheme: str, netloc: str) -> tuple[str, int]:
    """
    The host and port that the authority (C{netloc}) of an C{http} or C{https} URL names:
    C{host}, C{host:port} or C{[IPv6 address]:port}, the scheme's port when the URL names
    none (or leaves it empty, RFC 3986 section 3.2.3).

    Twisted's C{URI} reads the authority loosely: a port that is not a number, and a user
    name and password, are kept as part of the host name, which would then be looked up in
    DNS. This reads it strictly, so that such a URL fails before any lookup.

    @param scheme: C{"http"} or C{"https"}.
    @param netloc: the URL's authority, as it is written.
    @return: the host as the URL spells it (an IPv6 address without its brackets) and the
        port.
    @raise UnsupportedSchemeError: for another scheme.
    @raise ValueError: for a user name or password (the message does not repeat them), a
        port that is not a number from 1 to 65535, a bracketed host that is not an IPv6
        address, or no host.
    """
    if scheme not in _DEFAULT_PORTS:
        raise UnsupportedSchemeError(f"cannot fetch {scheme}: URLs with DANE")
    _, at, hostPort = netloc.rpartition("@")
    where = f"{scheme}://{hostPort}"
    if at:
        raise ValueError(
            f"{where}: the URL holds a user name or password, which this agent neither "
            "sends nor looks up: give credentials in an Authorization header"
        )
    host, port = _splitHostPort(hostPort, where)
    number = _urlPort(port, scheme, where)
    if not host:
        raise ValueError(f"{where}: the URL names no host")
    return host, number


def _splitHostPort(hostPort: str, where: str) -> tuple[str, str]:
    """
    C{hostPort} (C{host}, C{host:port}, C{[IPv6]:port}) as its host and its port's text,
    C{""} when there is none. A host name has no colon, so the first one starts the port.

    @raise ValueError: for a bracketed host that is not an IPv6 address, or text after it
        that is not a port.
    """
    if not hostPort.startswith("["):
        host, _, port = hostPort.partition(":")
        return host, port
    address, bracket, rest = hostPort[1:].partition("]")
    if not (bracket and ":" in address and isAddress(address)):
        raise ValueError(f"{where}: {hostPort!r} is not an [IPv6 address] and port")
    if rest and not rest.startswith(":"):
        raise ValueError(f"{where}: {rest!r} follows the IPv6 address; give :port")
    return address, rest[1:]


def _urlPort(text: str, scheme: str, where: str) -> int:
    """
    The port a URL names in C{text} (decimal digits), or the scheme's when C{text} is empty.

    @raise ValueError: for text that is not a number from 1 to 65535.
    """
    if not text:
        return _DEFAULT_PORTS[scheme]
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 65536):
        raise ValueError(f"{where}: the port {text!r} is not a number from 1 to 65535")
    return int(text)


@implementer(IAgentEndpointFactory)
class DANEEndpointFactory:
    """
    Makes a L{DANEEndpoint} for each C{https} URL and, unless C{httpsOnly}, a L{DNSSECEndpoint} for
    C{http} URLs (addresses from signed or unsigned zones, never bogus ones).

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param options: how to authenticate servers (default: L{WEB_OPTIONS}).
    @param httpsOnly: refuse plain C{http} URLs.
    @param timeout: seconds per TCP connection attempt.
    @param handshakeTimeout: seconds the TLS handshake of an C{https} connection may take once
        the TCP connection is made; past it the connection is aborted and the request fails
        with L{HandshakeTimeoutError<txdane.errors.HandshakeTimeoutError>}.
    @param maxResponseBytes: the most bytes each endpoint's connection hands the HTTP
        client for a response, status line, header lines and body together (C{None}: no
        bound); past them the connection is aborted and the HTTP client sees it lost with
        L{ResponseTooLargeError}. See L{daneAgent}.
    @param optionFields: fields of L{DANEOptions} to set, as for L{DANEEndpoint}: C{policy},
        C{trustRoots}, C{checkDANEEENames} (turn it off for servers whose DANE-EE
        certificates carry no name) ... but not C{starttls}: an C{https} connection starts
        with TLS.
    @raise TypeError: for an argument of the wrong type (C{options} that are not
        L{DANEOptions}, a C{httpsOnly} that is not a C{bool} ...).
    @raise ValueError: for a value that cannot be used (a timeout that is not a positive
        number of seconds, C{starttls} set, a C{maxResponseBytes} below 1).

    @ivar options: the L{DANEOptions} every C{https} endpoint gets.
    @ivar maxResponseBytes: the bound of each response on its connection, or C{None}.
    """

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        *,
        options: DANEOptions | None = None,
        httpsOnly: bool = False,
        timeout: float = 30,
        handshakeTimeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        maxResponseBytes: int | None = None,
        **optionFields: Any,
    ) -> None:
        self._reactor = reactor
        # Checked here, as the endpoints check them, rather than on every request.
        self.resolver = checkedResolver(resolver)
        if options is not None:
            checkedInstance(options, "options", DANEOptions)
        self.options = DANEOptions.given(WEB_OPTIONS if options is None else options, optionFields)
        if self.options.starttls is not None:
            raise ValueError(
                f"starttls={self.options.starttls!r}: an https connection starts with TLS"
            )
        self.httpsOnly = checkedFlag(httpsOnly, "httpsOnly")
        self.timeout = checkedSeconds(timeout, "timeout")
        self.handshakeTimeout = checkedSeconds(handshakeTimeout, "handshakeTimeout")
        self.maxResponseBytes = (
            None if maxResponseBytes is None else checkedLimit(maxResponseBytes, "maxResponseBytes")
        )

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        """
        The endpoint for C{uri}'s host and port (read by L{urlHostAndPort}, not from
        C{uri.host} and C{uri.port}, which keep a port that is not a number, and a user name
        and password, in the host name), within a L{BoundedEndpoint} of C{maxResponseBytes}
        when it is set.

        @param uri: a C{twisted.web.client.URI}.
        @raise UnsupportedSchemeError: for a scheme other than C{https}, or C{http} unless
            C{httpsOnly} is false.
        @raise ValueError: for a URL whose host or port cannot be used; see
            L{urlHostAndPort}.
        """
        scheme = _text(uri.scheme)
        if scheme == "http" and self.httpsOnly:
            raise UnsupportedSchemeError("cannot fetch http: URLs: this agent is httpsOnly")
        # The host as the URL spells it: an IDNA (xn--) label stays ASCII, so the DNS name
        # is exactly the URL's (Python's IDNA 2003 codec cannot decode every such label).
        netloc = _text(uri.netloc)
        host, port = urlHostAndPort(scheme, netloc)
        endpoint = self._endpoint(scheme, host, port)
        if self.maxResponseBytes is None:
            return endpoint
        # The origin only: a connection kept alive carries requests for other paths.
        tooLarge = ResponseTooLargeError(f"{scheme}://{netloc}", self.maxResponseBytes)
        return BoundedEndpoint(endpoint, self.maxResponseBytes, tooLarge)

    def _endpoint(self, scheme: str, host: str, port: int) -> IStreamClientEndpoint:
        """
        A L{DANEEndpoint} for C{https}, a L{DNSSECEndpoint} for C{http}.
        """
        if scheme == "https":
            return DANEEndpoint(
                self._reactor,
                self.resolver,
                host,
                port,
                options=self.options,
                timeout=self.timeout,
                handshakeTimeout=self.handshakeTimeout,
            )
        return DNSSECEndpoint(
            self._reactor,
            self.resolver,
            host,
            port,
            allowInsecure=True,
            timeout=self.timeout,
        )


class _DANEAgent(Agent):
    """
    An C{Agent} whose C{request} always returns a Deferred, as C{IAgent} says: what would
    raise (a URL the endpoint factory refuses, a method that is not bytes ...) fails it
    instead. Twisted's C{Agent} does so only for C{SchemeNotSupported}. A response that
    went past the bound of its connection fails it with the L{ResponseTooLargeError} the
    connection was lost with, not within Twisted's C{ResponseFailed}.
    """

    def request(
        self,
        method: bytes,
        uri: bytes,
        headers: Headers | None = None,
        bodyProducer: IBodyProducer | None = None,
    ) -> Deferred[IResponse]:
        requested = maybeDeferred(super().request, method, uri, headers, bodyProducer)
        return requested.addErrback(_boundReached)


def _boundReached(failure: Failure) -> Failure:
    """
    The L{ResponseTooLargeError} a connection was lost with, where twisted.web's client
    gives it among the reasons of one of its errors (C{ResponseFailed},
    C{ResponseNeverReceived}, C{RequestTransmissionFailed} ...); else C{failure}.
    """
    for reason in getattr(failure.value, "reasons", None) or ():
        if isinstance(reason, Failure) and reason.check(ResponseTooLargeError):
            return reason
    return failure


def daneAgent(
    reactor: Any,
    resolver: IDNSSECResolver,
    *,
    pool: HTTPConnectionPool | None = None,
    maxResponseBytes: int | None = None,
    **factoryOptions: Any,
) -> IAgent:
    """
    An C{IAgent} (a C{twisted.web.client.Agent}) whose HTTPS connections are authenticated by
    DANE. Pass an C{HTTPConnectionPool} to keep connections alive between requests.

    Like twisted.web's C{Agent}, it bounds no response unless given C{maxResponseBytes}.
    Then each connection it makes hands the HTTP client at most that many bytes of a
    response, status line, header lines and body together; past them the connection is
    aborted, and a request still waiting for its response (a server sending header lines
    without end) fails with L{ResponseTooLargeError}. The bound is per connection, counted
    again from nothing for each response of a connection a C{pool} keeps alive, so a
    persistent connection carries any number of responses of up to that size each. A body
    the bound cuts short ends as twisted.web ends one whose connection is lost:
    C{ResponseFailed} (with the L{ResponseTooLargeError} among its C{reasons}; L{readBounded}
    gives it alone), a body of no stated length (read until the connection closes) too. To
    bound a body alone, read it with L{readBounded}; give the bound that body's size plus
    L{HEADER_ALLOWANCE}.

    A C{pool} may be shared with other agents: the connections this agent makes are kept
    and reused for its own requests only. twisted.web keys a pool's connections by scheme,
    host and port alone, so another agent's connection (a plain C{Agent}'s, checked by PKIX,
    or another C{daneAgent}'s, checked with other options) would otherwise carry this one's
    requests, checked by neither DANE nor this agent's options.

    It fetches C{https} URLs only, unless given C{httpsOnly=False}: then C{http} URLs too,
    in cleartext, over a L{DNSSECEndpoint} (and a redirect from C{https} to C{http}, which
    twisted.web's C{RedirectAgent} follows, leaves TLS without a sign).

    Its C{request} always returns a Deferred: a URL that cannot be fetched fails it before
    any lookup, with L{UnsupportedSchemeError} for a scheme other than C{https} (or C{http},
    unless C{httpsOnly=False}), and C{ValueError} for a URL without a host, with a port that is
    not a number from 1 to 65535, or with a user name or password (they are neither sent
    nor looked up: give credentials in an C{Authorization} header).

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param pool: the connection pool (default: a non-persistent one), which other agents
        may share.
    @param maxResponseBytes: the most bytes of a response on its connection, an C{int} of
        at least 1, or C{None} for no bound.
    @param factoryOptions: the arguments of L{DANEEndpointFactory}: C{httpsOnly} (here
        C{True} unless given),
        C{timeout}, C{handshakeTimeout} (default 30 s), C{options} or L{DANEOptions} fields.
    @raise TypeError: for a C{pool} that is not a connection pool, a C{maxResponseBytes}
        that is not an C{int}, or an argument of L{DANEEndpointFactory} of the wrong type.
    @raise ValueError: for a C{maxResponseBytes} below 1, or a value L{DANEEndpointFactory}
        cannot use.
    """
    # https only unless asked: wrapped in twisted.web's RedirectAgent, an agent that also
    # fetched http: URLs followed a redirect from https to http in cleartext, without a sign.
    factoryOptions.setdefault("httpsOnly", True)
    factory = DANEEndpointFactory(
        reactor, resolver, maxResponseBytes=maxResponseBytes, **factoryOptions
    )
    return _DANEAgent.usingEndpointFactory(reactor, factory, pool=_checkedPool(pool))


def _checkedPool(pool: HTTPConnectionPool | None) -> HTTPConnectionPool | None:
    """
    C{pool}: C{None} or a connection pool (an C{HTTPConnectionPool}, or anything with its
    C{getConnection}), checked when the agent is made rather than at its first request;
    given, it is used through an L{_OwnConnections} of its own.

    @raise TypeError: otherwise.
    """
    if pool is None:
        return None
    if not callable(getattr(pool, "getConnection", None)):
        raise TypeError(f"pool must be an HTTPConnectionPool, not {pool!r}")
    return _OwnConnections(pool)  # type: ignore[return-value]


class _OwnConnections:
    """
    A connection pool as one agent uses it: the connections the agent gets are kept under
    keys of its own (twisted.web's C{(scheme, host, port)} after a token only this agent
    has), so that it never gets another agent's connection to the same origin, made and
    checked under other rules, nor hands its own to another. The pool's connections are
    kept by the pool itself: close them with it.
    """

    def __init__(self, pool: HTTPConnectionPool) -> None:
        self.pool = pool
        self._token = object()

    def getConnection(self, key: Any, endpoint: Any) -> Any:
        return self.pool.getConnection((self._token, key), endpoint)

    def __getattr__(self, name: str) -> Any:
        # The rest (twisted.web's Agent reads C{persistent}) as the pool has it.
        return getattr(self.pool, name)


class _BoundedBody(Protocol):
    """
    Reads a response's body up to a limit; past it, or when its Deferred is cancelled, the
    connection is closed.
    """

    def __init__(self, limit: int, tooLarge: Exception) -> None:
        self._chunks: list[bytes] = []
        self._received = 0
        self._limit = limit
        self._tooLarge = tooLarge
        self.done: Deferred[bytes] = Deferred(lambda _: self._close())

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        if self.done.called:
            return
        self._received += len(data)
        if self._received > self._limit:
            self._chunks.clear()
            self.done.errback(self._tooLarge)
            self._close()
        else:
            self._chunks.append(data)

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:  # noqa: B008
        if self.done.called:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(b"".join(self._chunks))
        else:
            self.done.errback(_boundReached(reason))


def readBounded(response: IResponse, limit: int, tooLarge: Exception) -> Deferred[bytes]:
    """
    The body of C{response}, at most C{limit} bytes: a larger body fails with C{tooLarge}
    and closes the connection, so that a server cannot make a client hold more. Cancelling
    the Deferred closes the connection too. A body cut short by the bound of its
    connection (L{daneAgent}'s C{maxResponseBytes}) fails with its L{ResponseTooLargeError}.

    @param limit: the most bytes taken: an C{int} of at least 1.
    @raise TypeError: for a C{limit} that is not an C{int} (a C{bool}, a C{str} ...).
    @raise ValueError: for a C{limit} below 1.
    """
    body = _BoundedBody(checkedLimit(limit, "limit"), tooLarge)
    response.deliverBody(body)
    return body.done

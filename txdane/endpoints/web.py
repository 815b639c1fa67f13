"""
HTTPS with DANE: an endpoint factory for Twisted's C{Agent}::

    from twisted.web.client import Agent, HTTPConnectionPool
    agent = daneAgent(reactor, resolver, pool=HTTPConnectionPool(reactor))
    response = await agent.request(b"GET", b"https://www.example.com/")

C{treq} takes the same agent: C{treq.get(url, agent=agent)}, or
C{treq.client.HTTPClient(agent)}.

Tests: C{tests/endpoints/test_web.py}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import IAgent, IAgentEndpointFactory, IResponse
from zope.interface import implementer

from txdane.endpoints._arguments import checkedFlag, checkedResolver, checkedSeconds
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.errors import UnsupportedSchemeError
from txdane.endpoints.options import DEFAULT_HANDSHAKE_TIMEOUT, DANEOptions
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["WEB_OPTIONS", "DANEEndpointFactory", "daneAgent", "readBounded"]

#: The options of L{DANEEndpointFactory} unless it is given others: a web client checks the
#: host name even for DANE-EE records (it should not accept a certificate made for another
#: name, RFC 7671 section 5.1), and offers HTTP/1.1 by ALPN.
WEB_OPTIONS = DANEOptions(checkDANEEENames=True, acceptableProtocols=(b"http/1.1",))


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
    @param optionFields: fields of L{DANEOptions} to set, as for L{DANEEndpoint}: C{policy},
        C{trustRoots}, C{checkDANEEENames} (turn it off for servers whose DANE-EE
        certificates carry no name) ...

    @ivar options: the L{DANEOptions} every C{https} endpoint gets.
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
        **optionFields: Any,
    ) -> None:
        self._reactor = reactor
        # Checked here, as the endpoints check them, rather than on every request.
        self.resolver = checkedResolver(resolver)
        self.options = DANEOptions.given(WEB_OPTIONS if options is None else options, optionFields)
        self.httpsOnly = checkedFlag(httpsOnly, "httpsOnly")
        self.timeout = checkedSeconds(timeout, "timeout")
        self.handshakeTimeout = checkedSeconds(handshakeTimeout, "handshakeTimeout")

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        # The host as the URL spells it: an IDNA (xn--) label stays ASCII, so the DNS name
        # is exactly the URL's (Python's IDNA 2003 codec cannot decode every such label).
        host = uri.host.decode("utf-8") if isinstance(uri.host, bytes) else uri.host
        scheme = uri.scheme.decode("ascii") if isinstance(uri.scheme, bytes) else uri.scheme
        if scheme == "https":
            return DANEEndpoint(
                self._reactor,
                self.resolver,
                host,
                uri.port,
                options=self.options,
                timeout=self.timeout,
                handshakeTimeout=self.handshakeTimeout,
            )
        if scheme == "http" and not self.httpsOnly:
            return DNSSECEndpoint(
                self._reactor,
                self.resolver,
                host,
                uri.port,
                allowInsecure=True,
                timeout=self.timeout,
            )
        raise UnsupportedSchemeError(f"cannot fetch {scheme}: URLs with DANE")


def daneAgent(
    reactor: Any,
    resolver: IDNSSECResolver,
    *,
    pool: HTTPConnectionPool | None = None,
    **factoryOptions: Any,
) -> IAgent:
    """
    An C{IAgent} whose HTTPS connections are authenticated by DANE. Pass an
    C{HTTPConnectionPool} to keep connections alive between requests.

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param pool: the connection pool (default: a non-persistent one).
    @param factoryOptions: the arguments of L{DANEEndpointFactory}: C{httpsOnly},
        C{timeout}, C{handshakeTimeout} (default 30 s), C{options} or L{DANEOptions} fields.
    """
    return Agent.usingEndpointFactory(
        reactor, DANEEndpointFactory(reactor, resolver, **factoryOptions), pool=pool
    )


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
            self.done.errback(reason)


def readBounded(response: IResponse, limit: int, tooLarge: Exception) -> Deferred[bytes]:
    """
    The body of C{response}, at most C{limit} bytes: a larger body fails with C{tooLarge}
    and closes the connection, so that a server cannot make a client hold more. Cancelling
    the Deferred closes the connection too.
    """
    body = _BoundedBody(limit, tooLarge)
    response.deliverBody(body)
    return body.done

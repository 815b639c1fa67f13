"""
XML-RPC calls over DANE-verified HTTPS::

    from txdane.xmlrpc import daneXMLRPCProxy

    proxy = daneXMLRPCProxy(reactor, resolver, "https://rpc.example.com/RPC2")
    total = await proxy.callRemote("add", 2, 3)

twisted.web's own C{twisted.web.xmlrpc.Proxy} cannot be given a C{dane:} endpoint: each of
its calls dials C{reactor.connectSSL} itself, with Twisted's PKIX verification, and it takes
no endpoint and no C{Agent}. Its HTTP client is also C{twisted.web.http.HTTPClient}, deprecated
since Twisted 24.7 (importing C{twisted.web.xmlrpc} warns). L{AgentProxy} makes the same
calls, C{callRemote(method, *args)}, over an C{IAgent}; L{daneXMLRPCProxy} gives it the
L{daneAgent <txdane.endpoints.web.daneAgent>} of an C{https} URL, so that nothing is sent to a
server before DANE has verified it.

A call reads a response body of at most C{maxResponse} bytes (L{MAX_RESPONSE}); through
L{daneXMLRPCProxy} the whole response, status and header lines included, may take at most
L{HEADER_ALLOWANCE<txdane.endpoints.web.HEADER_ALLOWANCE>} bytes more on its connection
(twisted.web's client keeps every header line it is sent, however many). Past either, the
call fails with L{ResponseTooLargeError<txdane.endpoints.errors.ResponseTooLargeError>}.

The XML is the standard library's (C{xmlrpc.client}), as with C{Proxy}: a fault arrives as
C{xmlrpc.client.Fault}, of which twisted.web's C{Fault} is a subclass. The servers are
unchanged: twisted.web's C{XMLRPC} resource, or any other XML-RPC server, behind TLS.
"""

from __future__ import annotations

import base64
import xmlrpc.client
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.internet.error import ConnectingCancelledError
from twisted.internet.interfaces import IConsumer
from twisted.web.client import HTTPConnectionPool, ResponseNeverReceived
from twisted.web.error import Error
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgent, IBodyProducer
from zope.interface import implementer

from txdane.endpoints import UnsupportedSchemeError, daneAgent
from txdane.endpoints.errors import ResponseTooLargeError
from txdane.endpoints.web import HEADER_ALLOWANCE, checkedLimit, readBounded, urlHostAndPort
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["MAX_RESPONSE", "AgentProxy", "ResponseTooLargeError", "daneXMLRPCProxy"]

#: The largest response body a call accepts by default, in bytes: a server cannot make a
#: call hold more memory than this (L{daneXMLRPCProxy}: nor more than this and
#: L{HEADER_ALLOWANCE<txdane.endpoints.web.HEADER_ALLOWANCE>} for the whole response).
MAX_RESPONSE = 16 * 1024 * 1024


@implementer(IBodyProducer)
class _Payload:
    """
    A request body that is all there at once.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.length = len(data)

    def startProducing(self, consumer: IConsumer) -> Deferred[None]:
        consumer.write(self._data)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class AgentProxy:
    """
    Calls the methods of an XML-RPC server through an C{IAgent}, as twisted.web's C{Proxy}
    does through C{connectSSL}.

    @param agent: the agent that makes the requests (from L{daneAgent
        <txdane.endpoints.web.daneAgent>} for DANE; treq's, or any other, work too).
    @param url: the server's URL. A user and password in it are sent by HTTP basic
        authentication, as with C{Proxy}, and not in the request's URL.
    @param user: the user name for basic authentication (default: the URL's); text is
        sent as UTF-8.
    @param password: its password (default: the URL's); text is sent as UTF-8.
    @raise ValueError: for a URL that is not ASCII.
    @raise TypeError: for a user or password that is neither bytes nor text.
    @param allowNone: allow C{None} in arguments (an XML-RPC extension).
    @param useDateTime: give C{datetime.datetime} values for dates, rather than
        C{xmlrpc.client.DateTime}.
    @param maxResponse: the largest response body accepted, in bytes; a larger one fails
        the call with L{ResponseTooLargeError<txdane.endpoints.errors.ResponseTooLargeError>}
        and closes the connection. The status and header lines are the agent's to bound
        (L{daneAgent <txdane.endpoints.web.daneAgent>}'s C{maxResponseBytes}, which
        L{daneXMLRPCProxy} sets).

    @ivar agent: the agent.
    @ivar url: the URL requested, without user and password.
    @ivar user: the user name, if any.
    @ivar password: the password, if any.
    """

    def __init__(
        self,
        agent: IAgent,
        url: str | bytes,
        *,
        user: bytes | str | None = None,
        password: bytes | str | None = None,
        allowNone: bool = False,
        useDateTime: bool = False,
        maxResponse: int = MAX_RESPONSE,
    ) -> None:
        if not isinstance(url, (str, bytes)):
            raise TypeError(f"url must be a str or bytes, not {url!r}")
        text = url.decode("ascii", "replace") if isinstance(url, bytes) else url
        if not text.isascii() or "\ufffd" in text:
            # Checked here, not at each call: the request line is ASCII.
            raise ValueError(
                f"{text!r}: give the URL in ASCII (an internationalized host in its xn-- form)"
            )
        parts = urlsplit(text)
        self.agent = agent
        self.url = parts._replace(
            netloc=parts.netloc.rpartition("@")[2], path=parts.path or "/"
        ).geturl()
        self.user = _credential("user", user) if user is not None else _decoded(parts.username)
        self.password = (
            _credential("password", password) if password is not None else _decoded(parts.password)
        )
        for name, flag in (("allowNone", allowNone), ("useDateTime", useDateTime)):
            if type(flag) is not bool:
                # A string such as "no" would be true.
                raise TypeError(f"{name} must be True or False, not {flag!r}")
        self.allowNone = allowNone
        self.useDateTime = useDateTime
        self.maxResponse = checkedLimit(maxResponse, "maxResponse")

    def callRemote(self, method: str, *args: Any) -> Deferred[Any]:
        """
        Call C{method} with C{args}.

        @return: a Deferred firing with the method's result, or failing with the server's
            C{xmlrpc.client.Fault}, with the agent's error when no response came (from
            L{daneAgent <txdane.endpoints.web.daneAgent>}:
            L{DANEVerificationError <txdane.dane.errors.DANEVerificationError>} and the other
            refusals of L{DANEEndpoint <txdane.endpoints.dane.DANEEndpoint>}, before anything
            was sent), with C{twisted.web.error.Error} for an HTTP status other than 200, or
            with L{ResponseTooLargeError<txdane.endpoints.errors.ResponseTooLargeError>} for
            a response larger than the call or the agent accepts. Cancelling it stops the
            request.
        """
        payload = xmlrpc.client.dumps(args, method, allow_none=self.allowNone)
        return Deferred.fromCoroutine(self._call(payload.encode("utf-8")))

    async def _call(self, payload: bytes) -> Any:
        headers = Headers(
            {b"Content-Type": [b"text/xml; charset=utf-8"], b"User-Agent": [b"txdane"]}
        )
        if self.user is not None:
            secret = base64.b64encode(self.user + b":" + (self.password or b""))
            headers.addRawHeader(b"Authorization", b"Basic " + secret)
        try:
            response = await self.agent.request(
                b"POST", self.url.encode("ascii"), headers, _Payload(payload)
            )
        except ConnectingCancelledError:
            # Cancelled while connecting: a cancellation, as at any other moment.
            raise CancelledError() from None
        except ResponseNeverReceived as e:
            # The Agent fails a request cancelled while it waits for the response with
            # ResponseNeverReceived([CancelledError]): the caller asked for a cancellation.
            if e.reasons and all(reason.check(CancelledError) for reason in e.reasons):
                raise CancelledError() from None
            raise
        body = await readBounded(
            response, self.maxResponse, ResponseTooLargeError(self.url, self.maxResponse)
        )
        if response.code != 200:
            raise Error(response.code, response.phrase, body)
        return xmlrpc.client.loads(body, use_datetime=self.useDateTime)[0][0]


def _decoded(part: str | None) -> bytes | None:
    return None if part is None else unquote_to_bytes(part)


def daneXMLRPCProxy(
    reactor: Any,
    resolver: IDNSSECResolver,
    url: str | bytes,
    *,
    pool: HTTPConnectionPool | None = None,
    user: bytes | str | None = None,
    password: bytes | str | None = None,
    allowNone: bool = False,
    useDateTime: bool = False,
    maxResponse: int = MAX_RESPONSE,
    **factoryOptions: Any,
) -> AgentProxy:
    """
    An L{AgentProxy} for an C{https} URL whose server is authenticated by DANE: its requests
    go through L{daneAgent <txdane.endpoints.web.daneAgent>}, with its options (by default
    the host name is checked even for DANE-EE records, RFC 7671 section 5.1), and with
    C{maxResponseBytes} of C{maxResponse} plus L{HEADER_ALLOWANCE
    <txdane.endpoints.web.HEADER_ALLOWANCE>}: a server cannot make a call hold more, header
    lines included (each response of a connection C{pool} keeps alive is counted alone).

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param url: the server's C{https} URL.
    @param pool: an C{HTTPConnectionPool} to keep connections alive between calls (default:
        a new connection for each call).
    @param user: the user name for HTTP basic authentication (default: the URL's).
    @param password: its password (default: the URL's).
    @param allowNone: allow C{None} in arguments.
    @param useDateTime: give C{datetime.datetime} values for dates.
    @param maxResponse: the largest response body accepted, in bytes (L{MAX_RESPONSE}); the
        whole response may take L{HEADER_ALLOWANCE <txdane.endpoints.web.HEADER_ALLOWANCE>}
        bytes more on its connection. Past either, the call fails with
        L{ResponseTooLargeError<txdane.endpoints.errors.ResponseTooLargeError>}.
    @param factoryOptions: the options of L{DANEEndpointFactory
        <txdane.endpoints.web.DANEEndpointFactory>}: C{timeout}, C{handshakeTimeout},
        C{options} or L{DANEOptions <txdane.endpoints.options.DANEOptions>} fields.
    @raise UnsupportedSchemeError: for a URL that is not C{https}.
    @raise ValueError: for a URL without a host or with a port that is not a number from 1
        to 65535, or a C{maxResponse} below 1.
    @raise TypeError: for C{httpsOnly} (the requests are https only), C{maxResponseBytes}
        (the bound follows C{maxResponse}), or an argument of the wrong type.
    """
    text = url.decode("ascii") if isinstance(url, bytes) else url
    parts = urlsplit(text)
    if parts.scheme != "https":
        raise UnsupportedSchemeError(
            f"{text}: XML-RPC with DANE needs an https URL, not {parts.scheme or 'none'}"
        )
    # The credentials are the proxy's (basic authentication), never part of the host; the
    # rest of the authority is read as the agent will read it, so that a port that is no
    # number or no host fails here rather than at each call.
    urlHostAndPort(parts.scheme, parts.netloc.rpartition("@")[2])
    if "httpsOnly" in factoryOptions:
        raise TypeError("daneXMLRPCProxy takes no httpsOnly: its requests are https only")
    if "maxResponseBytes" in factoryOptions:
        raise TypeError(
            "daneXMLRPCProxy takes no maxResponseBytes: each response may take maxResponse "
            "plus HEADER_ALLOWANCE bytes"
        )
    limit = checkedLimit(maxResponse, "maxResponse") + HEADER_ALLOWANCE
    agent = daneAgent(
        reactor, resolver, pool=pool, httpsOnly=True, maxResponseBytes=limit, **factoryOptions
    )
    return AgentProxy(
        agent,
        text,
        user=user,
        password=password,
        allowNone=allowNone,
        useDateTime=useDateTime,
        maxResponse=maxResponse,
    )


def _credential(what: str, value: object) -> bytes:
    """
    A user name or password for basic authentication: bytes, or text (sent as UTF-8).

    @raise TypeError: for anything else.
    """
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"{what} must be bytes or str, not {value!r}")

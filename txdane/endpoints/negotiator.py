"""
STARTTLS done by the endpoint: the cleartext prelude of a protocol up to its STARTTLS, then
the TLS handshake with a DANE-checking creator, and only then the application's protocol.

The application never sees the cleartext part of the connection: it is connected (and the
endpoint's C{connect()} fires) once the handshake has passed verification, exactly as over a
connection that spoke TLS from the first byte. A server that does not offer STARTTLS, refuses
it or sends anything unexpected fails the connection with L{StartTLSError}: there is no way
to continue in cleartext, so nothing can strip TLS away. Bytes that arrive in cleartext after
the server's go-ahead are dropped, never read as part of the TLS session.

This is the other half of C{starttls=} (L{txdane.endpoints.upgrade}), where the application
speaks the prelude itself: every cleartext message a negotiator sends passes the same
stripping guard (L{txdane.endpoints.guard}) that judges an application's, so the two agree on
what may precede TLS, protocol by protocol.

Protocols: C{xmpp-client} and C{xmpp-server} (RFC 6120 section 5.4). After the upgrade the
application restarts the stream over TLS as RFC 6120 requires: a twisted.words client does so
by itself, and should use L{txdane.xmpp}'s factory so that it does not ask for STARTTLS
again.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
)
from twisted.python.failure import Failure
from twisted.words.xish import domish

from txdane.endpoints._plumbing import GateFactory, HandshakeGate
from txdane.endpoints.guard import XMPP_STREAMS_NS, XMPP_TLS_NS, checkerFor
from txdane.errors import TxdaneError

__all__ = [
    "NEGOTIATORS",
    "NegotiatorFactory",
    "StartTLSError",
    "StartTLSProtocol",
    "XMPPServerStartTLS",
    "XMPPStartTLS",
    "negotiatorFor",
]


class StartTLSError(TxdaneError):
    """
    The server did not let the connection upgrade to TLS: STARTTLS not offered, refused, or
    a protocol error before it. Nothing was sent to the server but the protocol's cleartext
    prelude.

    @ivar host: the server's host name.
    @ivar port: the port.
    @ivar protocol: the protocol whose STARTTLS was attempted (C{xmpp-client}, C{imap}).
    @ivar reason: what went wrong, in words.
    """

    def __init__(self, host: str, port: int, protocol: str, reason: str) -> None:
        super().__init__(host, port, protocol, reason)
        self.host = host
        self.port = port
        self.protocol = protocol
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.host}:{self.port} refused: STARTTLS ({self.protocol}): {self.reason}"


class StartTLSProtocol(HandshakeGate):
    """
    The base of the negotiators: a L{HandshakeGate} that first speaks a protocol's cleartext
    prelude. Subclasses implement L{begin} and L{received}, L{send} what the client says,
    and call L{upgrade} when the server has agreed to start TLS, or L{refuse}.

    @cvar protocolName: the protocol's name: a key of L{NEGOTIATORS} and of the stripping
        guard's L{CHECKERS<txdane.endpoints.guard.CHECKERS>}.
    @cvar maxPrelude: the most cleartext bytes accepted from the server before TLS.
    """

    protocolName = ""
    maxPrelude = 65536

    def __init__(
        self,
        wrapped: IProtocol,
        ready: Deferred[IProtocol],
        creator: IOpenSSLClientConnectionCreator,
        host: str,
        port: int,
        domain: str,
    ) -> None:
        super().__init__(wrapped, ready)
        self.creator = creator
        self.host = host
        self.port = port
        self.domain = domain
        self.upgrading = False
        self._cleartext = 0
        self._refusal: StartTLSError | None = None
        self._guard = checkerFor(self.protocolName)

    def send(self, data: bytes) -> None:
        """
        Send cleartext to the server, through the stripping guard of this protocol: a
        negotiator says nothing in cleartext that an application could not.
        """
        assert self.transport is not None
        self.transport.write(self._guard.check(data))

    def connectionMade(self) -> None:
        self.begin()

    def begin(self) -> None:
        """
        Called once connected: send what the client says first.
        """

    def received(self, data: bytes) -> None:
        """
        Called with each piece of cleartext from the server, before the upgrade.
        """

    def upgrade(self) -> None:
        """
        The server agreed: start TLS with the creator. Cleartext that follows is dropped.
        """
        if self.upgrading or self._refusal is not None:
            return
        self.upgrading = True
        assert self.transport is not None
        self.transport.startTLS(self.creator)  # type: ignore[attr-defined]

    def refuse(self, reason: str) -> None:
        """
        End the connection: the upgrade cannot happen.
        """
        if self._refusal is None and not self.upgrading:
            self._refusal = StartTLSError(self.host, self.port, self.protocolName, reason)
            assert self.transport is not None
            self.transport.abortConnection()  # type: ignore[attr-defined]

    def dataReceived(self, data: bytes) -> None:
        if self.open:
            self.wrapped.dataReceived(data)
        elif not self.upgrading and self._refusal is None:
            self._cleartext += len(data)
            if self._cleartext > self.maxPrelude:
                self.refuse(f"more than {self.maxPrelude} bytes before STARTTLS")
                return
            self.received(data)

    def connectionLost(self, reason: Failure = Failure(ConnectionError())) -> None:  # noqa: B008
        if self._refusal is not None and not self.ready.called:
            self.ready.errback(self._refusal)
            return
        if not self.upgrading and not self.ready.called:
            reason = Failure(
                StartTLSError(
                    self.host,
                    self.port,
                    self.protocolName,
                    f"the connection closed before STARTTLS ({reason.getErrorMessage()})",
                )
            )
        super().connectionLost(reason)


class XMPPStartTLS(StartTLSProtocol):
    """
    STARTTLS for XMPP (RFC 6120 section 5.4): open a stream to the domain, wait for its
    features, which must offer C{<starttls/>}, ask for it and wait for C{<proceed/>}.

    The stream's content namespace is C{jabber:client} (L{XMPPServerStartTLS}:
    C{jabber:server}).
    """

    protocolName = "xmpp-client"
    #: The stream's content namespace.
    namespace = "jabber:client"

    def begin(self) -> None:
        self._stream = domish.elementStream()
        self._stream.DocumentStartEvent = self._started
        self._stream.ElementEvent = self._element
        self._stream.DocumentEndEvent = lambda: self.refuse("the server closed the stream")
        self._features = False
        self.send(
            (
                "<?xml version='1.0'?><stream:stream xmlns="
                f"{quoteattr(self.namespace)} xmlns:stream='{XMPP_STREAMS_NS}' "
                f"to={quoteattr(self.domain)} version='1.0'>"
            ).encode()
        )

    def received(self, data: bytes) -> None:
        try:
            self._stream.parse(data)
        except Exception as e:
            self.refuse(f"malformed XML from the server ({e})")

    def _started(self, root: domish.Element) -> None:
        if (root.uri, root.name) != (XMPP_STREAMS_NS, "stream"):
            self.refuse(f"the server opened no XMPP stream but <{root.name}>")

    def _element(self, element: domish.Element) -> None:
        if self.upgrading or self._refusal is not None:
            return
        where = (element.uri, element.name)
        if where == (XMPP_STREAMS_NS, "error"):
            conditions = [c.name for c in element.elements() if c.name != "text"]
            self.refuse(f"stream error {', '.join(conditions) or 'without a condition'}")
        elif not self._features:
            if where != (XMPP_STREAMS_NS, "features"):
                self.refuse(f"expected the stream features, got <{element.name}>")
                return
            if not any((c.uri, c.name) == (XMPP_TLS_NS, "starttls") for c in element.elements()):
                self.refuse("the server does not offer STARTTLS")
                return
            self._features = True
            self.send(f"<starttls xmlns='{XMPP_TLS_NS}'/>".encode())
        elif where == (XMPP_TLS_NS, "proceed"):
            self.upgrade()
        elif where == (XMPP_TLS_NS, "failure"):
            self.refuse("the server answered STARTTLS with <failure/>")
        else:
            self.refuse(f"expected <proceed/>, got <{element.name}>")


class XMPPServerStartTLS(XMPPStartTLS):
    """
    STARTTLS for a server-to-server XMPP stream: as L{XMPPStartTLS}, in C{jabber:server}.
    """

    protocolName = "xmpp-server"
    namespace = "jabber:server"


#: The negotiator of each protocol, by its name (a key of the stripping guard's
#: L{CHECKERS<txdane.endpoints.guard.CHECKERS>} too).
NEGOTIATORS: dict[str, type[StartTLSProtocol]] = {
    negotiator.protocolName: negotiator
    for negotiator in (
        XMPPStartTLS,
        XMPPServerStartTLS,
    )
}

#: A negotiator class, called as C{negotiator(wrapped, ready, creator, host, port, domain)}.
Negotiator = type[StartTLSProtocol]


def negotiatorFor(protocol: str) -> Negotiator:
    """
    The negotiator class for C{protocol}.

    @raise KeyError: for a protocol without one.
    """
    return NEGOTIATORS[protocol]


class NegotiatorFactory(GateFactory):
    """
    Builds, around the application's protocol, the negotiator that does STARTTLS first; its
    C{ready} fires with the application's protocol once the upgraded connection is verified.
    """

    def __init__(
        self,
        factory: IProtocolFactory,
        ready: Deferred[IProtocol],
        negotiator: Negotiator,
        creator: IOpenSSLClientConnectionCreator,
        host: str,
        port: int,
        domain: str,
    ) -> None:
        super().__init__(factory, ready)
        self._negotiator = negotiator
        self._arguments = (creator, host, port, domain)

    def buildProtocol(self, addr: Any) -> HandshakeGate | None:
        wrapped = self.factory.buildProtocol(addr)
        if wrapped is None:
            return None
        self.gate = self._negotiator(wrapped, self.ready, *self._arguments)
        self.gate.factory = self
        return self.gate

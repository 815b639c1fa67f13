"""
The endpoint's side of STARTTLS: L{Negotiator}, the base of every protocol's negotiator, and
L{NegotiatorFactory}, which puts one under the application's protocol.

A negotiator speaks the protocol's cleartext prelude itself, up to the server's go-ahead,
starts TLS with the DANE-checking creator, and connects the application's protocol only once
the handshake has passed verification. Whatever the server sent in cleartext (its greeting,
its capabilities, anything that came with or after its go-ahead) is dropped: nothing learnt
before TLS is trusted (RFC 3207 section 4.2). Protocols whose server speaks first get a
greeting of the negotiator's own making, so that stock clients (twisted.mail's
C{ESMTPClient}, C{IMAP4Client}, C{POP3Client}) start as over a connection that spoke TLS from
its first byte.

A server that does not offer STARTTLS, refuses it, breaks the protocol before it or drops the
handshake fails the connection with L{StartTLSError}, except under SMTP's opportunistic policy
(a host without usable TLSA records, RFC 7672 section 2.2): a server that does not offer
STARTTLS is then used in cleartext, the application getting the same made greeting, and the
connection's protection says C{cleartext}.

Tests: C{tests/endpoints/test_starttls.py}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from OpenSSL import SSL
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IProtocol
from twisted.python.failure import Failure

from txdane.endpoints._plumbing import GateFactory, HandshakeGate
from txdane.endpoints.connection import ConnectionInfo
from txdane.endpoints.errors import StartTLSError

__all__ = ["Negotiator", "NegotiatorFactory", "quoted"]


class Negotiator(HandshakeGate):
    """
    The base of the negotiators: a L{HandshakeGate} that first speaks a protocol's cleartext
    prelude. Subclasses implement L{begin} and L{received}, L{send} what the client says,
    and call L{upgrade} when the server has agreed to start TLS, L{notOffered} when it does
    not offer STARTTLS, or L{refuse}.

    @cvar protocolName: the protocol's name, its key in the registry
        (L{PROTOCOLS<txdane.endpoints.starttls.PROTOCOLS>}).
    @cvar defaultPort: the port the protocol's servers listen on unless told otherwise.
    @cvar maxPrelude: the most cleartext bytes accepted from the server before TLS.
    @cvar greeting: the greeting the application receives first, once connected (empty for
        protocols whose client speaks first); C{{host}} is replaced by the host's name.

    @ivar info: where the connection goes (host, port, the domain named to the server).
    @ivar upgrading: whether TLS has been started.
    @ivar cleartext: whether the connection settled for cleartext (SMTP's opportunistic
        policy only).
    """

    protocolName = ""
    defaultPort = 0
    maxPrelude = 65536
    greeting = ""

    def __init__(
        self,
        wrapped: IProtocol,
        ready: Deferred[IProtocol],
        creator: IOpenSSLClientConnectionCreator,
        info: ConnectionInfo,
        onLost: Callable[[Failure], object] | None = None,
        *,
        cleartextAllowed: bool = False,
    ) -> None:
        super().__init__(wrapped, ready, onLost)
        self.creator = creator
        self.info = info
        self.cleartextAllowed = cleartextAllowed
        self.upgrading = False
        self.cleartext = False
        self._received = 0
        self._refusal: StartTLSError | None = None

    @property
    def host(self) -> str:
        """
        The host connected to.
        """
        return self.info.host

    @property
    def domain(self) -> str:
        """
        The domain named to the server where the protocol names one (XMPP's C{to}): the
        domain the host serves, else the host.
        """
        return self.info.domain or self.info.host

    def send(self, data: bytes) -> None:
        """
        Send cleartext to the server.
        """
        assert self.transport is not None
        self.transport.write(data)

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
        if self.upgrading or self._refusal is not None or self.cleartext:
            return
        self.upgrading = True
        assert self.transport is not None
        self.transport.startTLS(self.creator)  # type: ignore[attr-defined]

    def refuse(self, reason: str) -> None:
        """
        End the connection: the upgrade cannot happen.
        """
        if self._refusal is None and not self.upgrading and not self.cleartext:
            self._refusal = StartTLSError(self.info.host, self.info.port, self.protocolName, reason)
            assert self.transport is not None
            self.transport.abortConnection()  # type: ignore[attr-defined]

    def notOffered(self, reason: str) -> None:
        """
        The server does not offer STARTTLS: cleartext where the policy allows it (the
        application is connected now, with the made greeting), else L{refuse}.
        """
        if not self.cleartextAllowed:
            self.refuse(reason)
            return
        if self.upgrading or self._refusal is not None or self.cleartext:
            return
        self.cleartext = True
        self.connectApplication()
        self.ready.callback(self.wrapped)
        self._greet()

    def handshakeCompleted(self) -> None:
        """
        Connect the application once the handshake has passed, then hand it the made
        greeting as its first data.
        """
        super().handshakeCompleted()
        if self.open:
            self._greet()

    def _greet(self) -> None:
        if self.greeting and not getattr(self.transport, "disconnecting", False):
            self.wrapped.dataReceived(self.greeting.format(host=self.info.host).encode())

    def dataReceived(self, data: bytes) -> None:
        if self.open:
            self.wrapped.dataReceived(data)
        elif not self.upgrading and self._refusal is None:
            self._received += len(data)
            if self._received > self.maxPrelude:
                self.refuse(f"more than {self.maxPrelude} bytes before STARTTLS")
                return
            self.received(data)

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: B008
        if not self.ready.called:
            if self._refusal is not None:
                reason = Failure(self._refusal)
            elif not self.upgrading:
                why = f"the connection closed before STARTTLS ({_words(reason)})"
                reason = self._failed(why, reason)
            elif reason.check(ConnectionDone, ConnectionLost, SSL.Error):
                reason = self._failed(f"the TLS handshake failed ({_words(reason)})", reason)
        super().connectionLost(reason)

    def _failed(self, why: str, cause: Failure) -> Failure:
        """
        The connection's failure as a L{StartTLSError}, its cause (an OpenSSL error that
        says why the handshake failed, say) kept as C{__cause__}.
        """
        error = StartTLSError(self.info.host, self.info.port, self.protocolName, why)
        error.__cause__ = cause.value
        return Failure(error)


def _words(reason: Failure) -> str:
    error = reason.value
    if isinstance(error, SSL.Error):
        try:
            return "; ".join(str(part[2]) for part in error.args[0]) or "TLS error"
        except (IndexError, TypeError):
            pass
    if isinstance(error, ConnectionDone):
        return "closed by the server"
    return reason.getErrorMessage() or type(error).__name__


def quoted(line: str) -> str:
    """
    A server's line for an error message: printable, and not too long.
    """
    text = "".join(c if c.isprintable() else "?" for c in line)
    return repr(text[:120] + ("..." if len(text) > 120 else ""))


class NegotiatorFactory(GateFactory):
    """
    Builds, around the application's protocol, the negotiator that does STARTTLS first; its
    C{ready} fires with the application's protocol once the upgraded connection is verified
    (or settled for cleartext where that is allowed), and C{onLost} is called when that
    connection is lost.
    """

    gate: Negotiator | None

    def __init__(
        self,
        factory: Any,
        ready: Deferred[IProtocol],
        negotiator: type[Negotiator],
        creator: IOpenSSLClientConnectionCreator,
        info: ConnectionInfo,
        onLost: Callable[[Failure], object] | None = None,
        *,
        cleartextAllowed: bool = False,
    ) -> None:
        super().__init__(factory, ready, onLost)
        self._negotiator = negotiator
        self._creator = creator
        self._info = info
        self._cleartextAllowed = cleartextAllowed

    def buildProtocol(self, addr: Any) -> Negotiator | None:
        wrapped = self.factory.buildProtocol(addr)
        if wrapped is None:
            return None
        self.gate = self._negotiator(
            wrapped,
            self.ready,
            self._creator,
            self._info,
            self.onLost,
            cleartextAllowed=self._cleartextAllowed,
        )
        self.gate.factory = self
        return self.gate

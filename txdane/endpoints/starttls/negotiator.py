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
connection's protection says C{cleartext}. Two of those failures have an error of their own,
a L{StartTLSError} still, because they are no answer from the server about TLS: a connection
that was closed or broke before the TLS handshake completed
(L{StartTLSConnectionLostError}), and a server whose first words are another protocol's
(L{StartTLSWrongProtocolError}, which names the protocol they look like).

Tests: C{tests/endpoints/test_starttls.py}.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from OpenSSL import SSL
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator, IProtocol
from twisted.python.failure import Failure

from txdane.endpoints._plumbing import GateFactory, HandshakeGate
from txdane.endpoints.connection import ConnectionInfo
from txdane.endpoints.errors import (
    MAX_GREETING,
    StartTLSConnectionLostError,
    StartTLSError,
    StartTLSWrongProtocolError,
)

__all__ = [
    "Negotiator",
    "NegotiatorFactory",
    "greetingProtocol",
    "quoted",
]

#: An SMTP-style greeting (SMTP, LMTP, FTP), and the words that tell them apart.
_CODE_220 = re.compile(r"220[ -]")
_SMTP_WORD = re.compile(r"\bE?SMTP\b", re.IGNORECASE)
_LMTP_WORD = re.compile(r"\bLMTP\b", re.IGNORECASE)
_IMAP_GREETING = re.compile(r"\* (OK|PREAUTH|BYE)\b", re.IGNORECASE)


def greetingProtocol(greeting: str) -> str | None:
    """
    The protocol of the registry (L{PROTOCOLS<txdane.endpoints.starttls.PROTOCOLS>}) whose
    servers' first words C{greeting} (a server's first line, or the start of what it sent)
    looks like, by its name there; C{None} when it looks like none. A guess, to say what to
    try instead: C{220 } starts an SMTP greeting (LMTP and FTP when it says so), C{* OK} an
    IMAP one, C{+OK} a POP3 one, C{<?xml} or C{<stream:} an XMPP stream (C{xmpp-server} in
    the C{jabber:server} namespace).
    """
    if _CODE_220.match(greeting):
        if _SMTP_WORD.search(greeting):
            return "smtp"
        if _LMTP_WORD.search(greeting):
            return "lmtp"
        if "FTP" in greeting.upper():
            return "ftp"
        return "smtp"
    if _IMAP_GREETING.match(greeting):
        return "imap"
    if greeting.startswith("+OK"):
        return "pop3"
    xml = greeting.lstrip("\ufeff \t\r\n")
    if xml.startswith(("<?xml", "<stream:")):
        return "xmpp-server" if "jabber:server" in xml else "xmpp-client"
    return None


class Negotiator(HandshakeGate):
    """
    The base of the negotiators: a L{HandshakeGate} that first speaks a protocol's cleartext
    prelude. Subclasses implement L{begin} and L{received}, L{send} what the client says,
    and call L{upgrade} when the server has agreed to start TLS, L{notOffered} when it does
    not offer STARTTLS, or L{refuse}.

    @cvar protocolName: the protocol's name, its key in the registry
        (L{PROTOCOLS<txdane.endpoints.starttls.PROTOCOLS>}).
    @cvar title: the protocol's name in messages (C{SMTP}, C{PostgreSQL}); a subclass that
        gives none gets its C{protocolName} upper-cased.
    @cvar firstWords: what the server's first words are called in messages: its greeting,
        or, where the client speaks first, its answer.
    @cvar defaultPort: the port the protocol's servers listen on unless told otherwise.
    @cvar maxPrelude: the most cleartext bytes accepted from the server before TLS.
    @cvar greeting: the greeting the application receives first, once connected (empty for
        protocols whose client speaks first); C{{host}} is replaced by the host's name.

    @ivar info: where the connection goes (host, port, the domain named to the server).
    @ivar upgrading: whether TLS has been started.
    @ivar cleartext: whether the connection settled for cleartext (SMTP's opportunistic
        policy only).
    @ivar heloName: the name to greet an SMTP or LMTP server with (C{EHLO}, C{LHLO}), as
        L{txdane.names.heloDomain} checks it; C{None} for the connection's local address as
        a literal. The other protocols have no such greeting.
    """

    protocolName = ""
    title: ClassVar[str] = ""
    firstWords: ClassVar[str] = "greeting"
    defaultPort = 0
    maxPrelude = 65536
    greeting = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.title:
            cls.title = cls.protocolName.upper()

    def __init__(
        self,
        wrapped: IProtocol,
        ready: Deferred[IProtocol],
        creator: IOpenSSLClientConnectionCreator,
        info: ConnectionInfo,
        onLost: Callable[[Failure], object] | None = None,
        *,
        cleartextAllowed: bool = False,
        heloName: str | None = None,
    ) -> None:
        super().__init__(wrapped, ready, onLost)
        self.creator = creator
        self.info = info
        self.cleartextAllowed = cleartextAllowed
        self.heloName = heloName
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
        self._refuseWith(StartTLSError(self.info.host, self.info.port, self.protocolName, reason))

    def wrongProtocol(self, said: bytes | str, answered: str = "") -> None:
        """
        End the connection: what the server said first, C{said}, is not this protocol's
        greeting (or answer), so the server speaks another protocol; C{answered}, when
        given, says how it answered the client's first command (C{"LHLO with '500 ...'"}),
        which showed it. The error quotes its first line and names the protocol it looks
        like (never this one).
        """
        from txdane.endpoints.starttls import negotiatorFor

        if isinstance(said, bytes):
            said = said.split(b"\n", 1)[0][:MAX_GREETING].decode("utf-8", "replace")
        line = said.split("\n", 1)[0][:MAX_GREETING].rstrip("\r")
        speaks = greetingProtocol(line)
        if speaks == self.protocolName:
            speaks = None
        reason = f"the server's {self.firstWords} is not {self.title}'s ({quoted(line)})"
        if answered:
            reason += f", and it answered {answered}"
        if speaks is not None:
            reason += f"; it looks like {negotiatorFor(speaks).title}"
        self._refuseWith(
            StartTLSWrongProtocolError(
                self.info.host, self.info.port, self.protocolName, reason, line, speaks
            )
        )

    def _refuseWith(self, error: StartTLSError) -> None:
        """
        End the connection with C{error}, unless it has already ended or been upgraded.
        """
        if self._refusal is None and not self.upgrading and not self.cleartext:
            self._refusal = error
            assert self.transport is not None
            self.transport.abortConnection()  # type: ignore[attr-defined]

    @property
    def heard(self) -> bool:
        """
        Whether the server has sent anything.
        """
        return self._received > 0

    def where(self) -> str:
        """
        Where the prelude stands, for the message of a connection lost before the upgrade:
        C{"after its greeting, before STARTTLS"}, C{"before answering STARTTLS"}.
        """
        return "before STARTTLS"

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
                if reason.check(ConnectionDone):
                    why = f"the server closed the connection {self.where()}"
                else:
                    why = f"the connection broke {self.where()} ({_words(reason)})"
                reason = self._failed(why, reason, lost=True)
            elif reason.check(ConnectionDone, ConnectionLost):
                why = f"the TLS handshake failed ({_words(reason)})"
                reason = self._failed(why, reason, lost=True)
            elif reason.check(SSL.Error):
                reason = self._failed(f"the TLS handshake failed ({_words(reason)})", reason)
        super().connectionLost(reason)

    def _failed(self, why: str, cause: Failure, *, lost: bool = False) -> Failure:
        """
        The connection's failure as a L{StartTLSError} (when C{lost}, a
        L{StartTLSConnectionLostError}), its cause (an OpenSSL error that says why the
        handshake failed, say) kept as C{__cause__}.
        """
        fields = (self.info.host, self.info.port, self.protocolName, why)
        error = (
            StartTLSConnectionLostError(*fields, upgrading=self.upgrading)
            if lost
            else StartTLSError(*fields)
        )
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
        heloName: str | None = None,
    ) -> None:
        super().__init__(factory, ready, onLost)
        self._negotiator = negotiator
        self._creator = creator
        self._info = info
        self._cleartextAllowed = cleartextAllowed
        self._heloName = heloName

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
            heloName=self._heloName,
        )
        self.gate.factory = self
        return self.gate

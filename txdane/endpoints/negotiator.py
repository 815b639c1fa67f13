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

Protocols: C{xmpp-client} and C{xmpp-server} (RFC 6120 section 5.4), C{imap} (RFC 3501
section 6.2.1), C{pop3} (RFC 2595 section 4), C{smtp} (RFC 3207, for submission) and C{lmtp},
C{ftp} (RFC 4217), C{ldap} (RFC 4511 section 4.14) and C{postgres}: every protocol of
C{starttls=}.

After the upgrade, the line protocols hand the application the server's cleartext greeting
as its first data, so that clients which wait for a greeting (twisted.mail's
C{ESMTPClient}, C{IMAP4Client} and C{POP3Client}) carry on as over a connection that spoke
TLS from the first byte: an SMTP client answers the C{220} greeting with C{EHLO}, which RFC
3207 section 4.2 requires again after TLS anyway; a POP3 client reads its C{+OK} greeting
(with any APOP challenge); an IMAP client reads its C{* OK} greeting without the
C{CAPABILITY} response code, which RFC 3501 section 6.2.1 says to forget after STARTTLS, so
that the client asks again over TLS. Nothing else of the cleartext part reaches the
application. The transport provides C{ISSLTransport} by then, so those clients do not try
STARTTLS themselves. An XMPP client speaks first: it gets no greeting and restarts the
stream (twisted.words does so by itself, and should use L{txdane.xmpp}'s factory so that it
does not ask for STARTTLS again).

The negotiators also run above a C{starttls=} connection, as its application (C{txdane
check --starttls} does so): the connection's stripping guard then judges their messages too,
and its DANE creator replaces the one they pass to C{startTLS}.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import quoteattr

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
)
from twisted.python.failure import Failure
from twisted.words.xish import domish

from txdane.endpoints._plumbing import GateFactory, HandshakeGate
from txdane.endpoints.guard import (
    LDAP_STARTTLS_OID,
    POSTGRES_SSL_REQUEST,
    XMPP_STREAMS_NS,
    XMPP_TLS_NS,
    checkerFor,
)
from txdane.errors import TxdaneError

__all__ = [
    "DEFAULT_PORTS",
    "NEGOTIATORS",
    "FTPStartTLS",
    "IMAPStartTLS",
    "LDAPStartTLS",
    "LMTPStartTLS",
    "NegotiatorFactory",
    "POP3StartTLS",
    "PostgresStartTLS",
    "SMTPStartTLS",
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
    #: The server's greeting as the application is to receive it after TLS (empty for
    #: protocols whose client speaks first).
    greeting = b""

    def __init__(
        self,
        wrapped: IProtocol,
        ready: Deferred[IProtocol],
        creator: IOpenSSLClientConnectionCreator,
        host: str,
        port: int,
        domain: str,
        onLost: Callable[[Failure], object] | None = None,
    ) -> None:
        super().__init__(wrapped, ready, onLost)
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

    def handshakeCompleted(self) -> None:
        """
        Connect the application once the handshake has passed, then hand it the server's
        L{greeting}, as its first data.
        """
        super().handshakeCompleted()
        greeting, self.greeting = self.greeting, b""
        if greeting and self.open and not getattr(self.transport, "disconnecting", False):
            self.wrapped.dataReceived(greeting)

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


class _LineStartTLS(StartTLSProtocol):
    """
    The base of the line-based negotiators: the server's cleartext split into lines (CRLF or
    LF ended), each given to L{line}; lines left after the upgrade are dropped.

    @cvar maxLine: the longest line accepted from the server.
    """

    maxLine = 4096

    def begin(self) -> None:
        self._buffer = b""
        self._raw = b""

    def received(self, data: bytes) -> None:
        self._buffer += data
        while not self.upgrading and self._refusal is None:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > self.maxLine:
                    self.refuse(f"a line longer than {self.maxLine} bytes")
                return
            line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
            self._raw = line.rstrip(b"\r")
            self.line(self._raw.decode("utf-8", "replace"))

    def line(self, line: str) -> None:
        """
        Called with each line from the server before the upgrade, without its line end.
        """

    def command(self, line: str) -> None:
        """
        Send one command line.
        """
        self.send(line.encode("ascii") + b"\r\n")

    def keepGreeting(self, line: bytes | None = None) -> None:
        """
        Add a line to the L{greeting} for the application: C{line}, or the line being read
        as the server sent it; CRLF-ended.
        """
        self.greeting += (self._raw if line is None else line) + b"\r\n"


def _quoted(line: str) -> str:
    """
    A server's line for an error message: printable, and not too long.
    """
    text = "".join(c if c.isprintable() else "?" for c in line)
    return repr(text[:120] + ("..." if len(text) > 120 else ""))


_CAPABILITY_CODE = re.compile(rb"\[CAPABILITY[^\]]*\]\s*", re.IGNORECASE)


def _withoutCapabilities(greeting: bytes) -> bytes:
    """
    An IMAP C{* OK} greeting without its C{CAPABILITY} response code (other codes, such as
    C{ALERT}, and the text are kept; a greeting left without text gets one, as the grammar
    of RFC 3501 requires).
    """
    words = _CAPABILITY_CODE.sub(b"", greeting).split(None, 2)
    text = words[2] if len(words) > 2 and words[2].strip() else b"ready"
    return b"* OK " + text


class IMAPStartTLS(_LineStartTLS):
    """
    STARTTLS for IMAP (RFC 3501 section 6.2.1): wait for the C{* OK} greeting, send
    C{a001 STARTTLS} and wait for its tagged C{OK}; untagged responses in between are
    skipped. A greeting whose C{CAPABILITY} response code lacks C{STARTTLS} means the server
    does not offer it; C{PREAUTH} or C{BYE} leaves no STARTTLS to do.

    The application receives the greeting without its C{CAPABILITY} response code: the
    capabilities before STARTTLS are stale after it (RFC 3501 section 6.2.1).
    """

    protocolName = "imap"
    tag = "a001"

    def begin(self) -> None:
        super().begin()
        self._greeted = False

    def line(self, line: str) -> None:
        words = line.split(None, 2)
        first = words[0] if words else ""
        status = words[1].upper() if len(words) > 1 else ""
        if not self._greeted:
            if first != "*" or status != "OK":
                self.refuse(f"expected the greeting '* OK', got {_quoted(line)}")
                return
            capability = re.search(r"\[CAPABILITY ([^\]]*)\]", line, re.IGNORECASE)
            if capability and "STARTTLS" not in capability.group(1).upper().split():
                self.refuse("the server does not offer STARTTLS")
                return
            self._greeted = True
            self.keepGreeting(_withoutCapabilities(self._raw))
            self.command(f"{self.tag} STARTTLS")
        elif first == "*":
            if status == "BYE":
                self.refuse(f"the server said {_quoted(line)}")
        elif first == self.tag and status == "OK":
            self.upgrade()
        elif first == self.tag and status in ("NO", "BAD"):
            self.refuse(f"the server answered STARTTLS with {_quoted(line)}")
        else:
            self.refuse(f"expected the answer to STARTTLS, got {_quoted(line)}")


class POP3StartTLS(_LineStartTLS):
    """
    STARTTLS for POP3 (RFC 2595 section 4): wait for the C{+OK} greeting, send C{STLS} and
    wait for C{+OK}. C{-ERR} (STLS not offered, or refused) ends the connection. The
    application receives the greeting as the server sent it (with any APOP challenge).
    """

    protocolName = "pop3"

    def begin(self) -> None:
        super().begin()
        self._greeted = False

    def line(self, line: str) -> None:
        status = line.split(None, 1)[0] if line.strip() else ""
        if not self._greeted:
            if status != "+OK":
                self.refuse(f"expected the greeting '+OK', got {_quoted(line)}")
                return
            self._greeted = True
            self.keepGreeting()
            self.command("STLS")
        elif status == "+OK":
            self.upgrade()
        elif status == "-ERR":
            self.refuse(f"the server answered STLS with {_quoted(line)}")
        else:
            self.refuse(f"expected the answer to STLS, got {_quoted(line)}")


_SMTP_REPLY = re.compile(r"([2-5][0-9][0-9])([ -])(.*)\Z", re.DOTALL)


class SMTPStartTLS(_LineStartTLS):
    """
    STARTTLS for SMTP and submission (RFC 3207): wait for the C{220} greeting, send C{EHLO},
    check that its reply offers C{STARTTLS}, send C{STARTTLS} and wait for C{220}. Replies
    may span several lines (C{250-...}, then C{250 ...}).

    The C{EHLO} argument is the client's address literal (RFC 5321 section 4.1.3): the
    client has no name of its own it could vouch for. The application receives the C{220}
    greeting, every line of it, and answers it with its own C{EHLO}, over TLS.
    """

    protocolName = "smtp"
    #: The greeting command.
    hello = "EHLO"

    def begin(self) -> None:
        super().begin()
        self._state = "greeting"
        self._reply: list[str] = []

    def line(self, line: str) -> None:
        match = _SMTP_REPLY.match(line) or _SMTP_REPLY.match(line + " ")
        if match is None or (self._reply and match.group(1) != self._reply[0][:3]):
            self.refuse(f"a malformed reply {_quoted(line)}")
            return
        self._reply.append(line)
        if self._state == "greeting":
            self.keepGreeting()
        if match.group(2) == "-":
            return
        reply, self._reply = self._reply, []
        code = reply[0][:3]
        if self._state == "greeting":
            if code != "220":
                self.refuse(f"expected the greeting 220, got {_quoted(reply[0])}")
                return
            self._state = "ehlo"
            self.command(f"{self.hello} {self._ehloName()}")
        elif self._state == "ehlo":
            if code != "250":
                self.refuse(f"the server answered {self.hello} with {_quoted(reply[0])}")
                return
            keywords = {r[4:].split(None, 1)[0].upper() for r in reply[1:] if r[4:].strip()}
            if "STARTTLS" not in keywords:
                self.refuse("the server does not offer STARTTLS")
                return
            self._state = "starttls"
            self.command("STARTTLS")
        elif code == "220":
            self.upgrade()
        else:
            self.refuse(f"the server answered STARTTLS with {_quoted(reply[0])}")

    def _ehloName(self) -> str:
        assert self.transport is not None
        local = self.transport.getHost()
        if isinstance(local, IPv6Address):
            return f"[IPv6:{local.host}]"
        if isinstance(local, IPv4Address):
            return f"[{local.host}]"
        return "localhost"


class LMTPStartTLS(SMTPStartTLS):
    """
    STARTTLS for LMTP (RFC 2033): as for SMTP, with C{LHLO}.
    """

    protocolName = "lmtp"
    hello = "LHLO"


_FTP_REPLY = re.compile(r"([1-5][0-9][0-9])([ -])(.*)\Z", re.DOTALL)


class FTPStartTLS(_LineStartTLS):
    """
    TLS for FTP (RFC 4217): wait for the C{220} greeting (a multi-line reply may hold lines
    of any text between C{220-} and C{220 }), send C{AUTH TLS} and wait for C{234}.
    """

    protocolName = "ftp"

    def begin(self) -> None:
        super().begin()
        self._greeted = False
        self._open: str | None = None

    def line(self, line: str) -> None:
        match = _FTP_REPLY.match(line) or _FTP_REPLY.match(line + " ")
        if self._open is not None:
            # Inside a multi-line reply: only "NNN " with the same code ends it.
            if match is not None and match.group(1) == self._open and match.group(2) == " ":
                self._open = None
                self._reply(match.group(1), line)
            return
        if match is None:
            self.refuse(f"a malformed reply {_quoted(line)}")
        elif match.group(2) == "-":
            self._open = match.group(1)
        else:
            self._reply(match.group(1), line)

    def _reply(self, code: str, line: str) -> None:
        if not self._greeted:
            if code != "220":
                self.refuse(f"expected the greeting 220, got {_quoted(line)}")
                return
            self._greeted = True
            self.command("AUTH TLS")
        elif code == "234":
            self.upgrade()
        else:
            self.refuse(f"the server answered AUTH TLS with {_quoted(line)}")


def _berLength(data: bytes, offset: int) -> tuple[int, int] | None:
    """
    The BER definite length at C{offset}: (length, offset of the contents); C{None} if more
    bytes are needed; a length of -1 for one no LDAP response uses.
    """
    if offset >= len(data):
        return None
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > 3:
        return -1, offset
    if offset + 1 + count > len(data):
        return None
    return int.from_bytes(data[offset + 1 : offset + 1 + count], "big"), offset + 1 + count


#: The LDAP unbind request (message 2).
_LDAP_UNBIND = b"\x30\x05\x02\x01\x02\x42\x00"


class LDAPStartTLS(StartTLSProtocol):
    """
    StartTLS for LDAP (RFC 4511 section 4.14): the StartTLS extended request as message 1;
    an extended response with C{resultCode} success starts TLS.
    """

    protocolName = "ldap"

    def begin(self) -> None:
        self._buffer = b""
        oid = b"\x80" + bytes([len(LDAP_STARTTLS_OID)]) + LDAP_STARTTLS_OID
        operation = b"\x77" + bytes([len(oid)]) + oid
        body = b"\x02\x01\x01" + operation
        self.send(b"\x30" + bytes([len(body)]) + body)

    def received(self, data: bytes) -> None:
        self._buffer += data
        code = self._resultCode()
        if code is None:
            return
        if code == 0:
            self.upgrade()
        elif code < 0:
            self.refuse("a malformed LDAP response")
        else:
            # protocolError (2) or unavailable (52): no StartTLS here.
            self.refuse(f"the server answered StartTLS with resultCode {code}")

    def _resultCode(self) -> int | None:
        """
        The resultCode of the extended response in the buffer; C{None} until it is whole,
        -1 when it is no extended response.
        """
        data = self._buffer
        header = _berLength(data, 1)
        if header is None:
            return None
        length, start = header
        if data[0] != 0x30 or length < 0:
            return -1
        if start + length > len(data):
            return None
        messageID = _berLength(data, start + 1)
        if data[start] != 0x02 or messageID is None or messageID[0] < 0:
            return -1
        op = messageID[1] + messageID[0]
        opHeader = _berLength(data, op + 1)
        if data[op : op + 1] != b"\x78" or opHeader is None:
            return -1
        code = opHeader[1]
        if data[code : code + 2] != b"\x0a\x01" or code + 2 >= len(data):
            return -1
        return data[code + 2]


class PostgresStartTLS(StartTLSProtocol):
    """
    TLS for PostgreSQL: the SSLRequest packet; C{S} starts TLS, C{N} declines it.
    """

    protocolName = "postgres"

    def begin(self) -> None:
        self.send(POSTGRES_SSL_REQUEST)

    def received(self, data: bytes) -> None:
        answer = data[:1]
        if answer == b"S":
            self.upgrade()
        elif answer == b"N":
            self.refuse("the server does not offer SSL (it answered SSLRequest with N)")
        else:
            self.refuse(f"the server answered SSLRequest with {answer!r}")


#: The negotiator of each protocol, by its name (a key of the stripping guard's
#: L{CHECKERS<txdane.endpoints.guard.CHECKERS>} too).
NEGOTIATORS: dict[str, type[StartTLSProtocol]] = {
    negotiator.protocolName: negotiator
    for negotiator in (
        XMPPStartTLS,
        XMPPServerStartTLS,
        IMAPStartTLS,
        POP3StartTLS,
        SMTPStartTLS,
        LMTPStartTLS,
        FTPStartTLS,
        LDAPStartTLS,
        PostgresStartTLS,
    )
}

#: The port each protocol's servers listen on unless told otherwise.
DEFAULT_PORTS: dict[str, int] = {
    "smtp": 25,
    "lmtp": 24,
    "imap": 143,
    "pop3": 110,
    "xmpp-client": 5222,
    "xmpp-server": 5269,
    "ldap": 389,
    "ftp": 21,
    "postgres": 5432,
}

#: A negotiator class, called as
#: C{negotiator(wrapped, ready, creator, host, port, domain, onLost)}.
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
    C{ready} fires with the application's protocol once the upgraded connection is verified,
    and C{onLost} is called when that connection is lost.
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
        onLost: Callable[[Failure], object] | None = None,
    ) -> None:
        super().__init__(factory, ready, onLost)
        self._negotiator = negotiator
        self._arguments = (creator, host, port, domain)

    def buildProtocol(self, addr: Any) -> HandshakeGate | None:
        wrapped = self.factory.buildProtocol(addr)
        if wrapped is None:
            return None
        self.gate = self._negotiator(wrapped, self.ready, *self._arguments, self.onLost)
        self.gate.factory = self
        return self.gate

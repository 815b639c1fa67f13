"""
The client side of each protocol's STARTTLS exchange, up to the TLS handshake and no further:
for C{txdane check --starttls} and for any program that only needs to reach TLS (a monitor, a
probe) over a connection made with C{starttls=PROTO}.

L{negotiatorFactory} builds a protocol that, once connected, says what its protocol says
before TLS (greeting, capabilities, the upgrade command), calls C{transport.startTLS} when
the server agrees, and fires L{STARTTLSNegotiator.done} when the handshake has completed (and
passed the DANE check of the connection's creator). It fails with L{STARTTLSUnavailableError}
when the server does not offer the upgrade, or with the reason the connection was lost
(L{DANEVerificationError<txdane.errors.DANEVerificationError>} for a refused server,
L{CleartextRefusedError<txdane.endpoints.guard.CleartextRefusedError>} ...).

Every message sent before TLS is one the stripping guard (L{txdane.endpoints.guard}) lets
through; nothing after the handshake is sent but the protocol's goodbye
(L{STARTTLSNegotiator.goodbye}).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.endpoints.guard import CHECKERS, LDAP_STARTTLS_OID, POSTGRES_SSL_REQUEST
from txdane.errors import TxdaneError

#: The port each protocol's server listens on by default.
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

#: The longest reply a negotiator reads before giving up on the server.
_MAX_REPLY = 65536


class STARTTLSUnavailableError(TxdaneError):
    """
    The server did not offer (or refused) the upgrade to TLS.

    @ivar protocol: the C{starttls} protocol name.
    @ivar reply: what the server said instead, shortened (or why the dialogue stopped).
    """

    def __init__(self, protocol: str, reply: str) -> None:
        super().__init__(protocol, reply)
        self.protocol = protocol
        self.reply = reply

    def __str__(self) -> str:
        return f"the server does not offer STARTTLS ({self.protocol}: {self.reply})"


def _short(data: bytes) -> str:
    text = data.decode("utf-8", "replace").strip().replace("\r\n", " | ").replace("\n", " | ")
    return text if len(text) <= 120 else text[:117] + "..."


@implementer(IHandshakeListener)
class STARTTLSNegotiator(Protocol):
    """
    Base class: buffers what the server sends and hands it to the step in progress.

    @ivar done: fires with this protocol once the TLS handshake has completed, or fails.
    @ivar serverName: the name the dialogue names the server by (the XMPP domain).
    @ivar tlsStarted: whether the server agreed and C{startTLS} was called.
    """

    #: The C{starttls} protocol name.
    name = ""
    #: What to send inside TLS before hanging up.
    farewell = b""

    def __init__(self, serverName: str) -> None:
        self.serverName = serverName
        self.done: Deferred[STARTTLSNegotiator] = Deferred()
        self._buffer = b""
        self._step: Callable[[], bool] = lambda: False
        self.tlsStarted = False
        self._failure: Failure | None = None

    # What subclasses use.

    def expect(self, step: Callable[[], bool]) -> None:
        """
        Run C{step} whenever data arrives, until it returns C{True} (it consumed its reply).
        """
        self._step = step
        self._advance()

    def upgrade(self) -> None:
        """
        The server agreed: start TLS (the connection uses its own DANE creator).
        """
        self._step = lambda: False
        self.tlsStarted = True
        assert self.transport is not None
        self.transport.startTLS(None)  # type: ignore[attr-defined]

    def unavailable(self, reply: bytes | str, goodbye: bytes = b"") -> None:
        """
        The server does not offer TLS: say C{goodbye} in cleartext, hang up and fail.
        """
        text = reply if isinstance(reply, str) else _short(reply)
        self._fail(Failure(STARTTLSUnavailableError(self.name, text or "nothing")))
        assert self.transport is not None
        if goodbye:
            self.transport.write(goodbye)
        self.transport.loseConnection()

    # Protocol.

    def dataReceived(self, data: bytes) -> None:
        if self.tlsStarted or self.done.called:
            return
        self._buffer += data
        if len(self._buffer) > _MAX_REPLY:
            self.unavailable("an overlong reply")
            return
        self._advance()

    def _advance(self) -> None:
        while self._buffer and not self.done.called and self._step():
            pass

    def take(self, size: int) -> bytes:
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def handshakeCompleted(self) -> None:
        if not self.done.called:
            self.done.callback(self)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._fail(reason)

    def _fail(self, reason: Failure) -> None:
        if not self.done.called:
            self.done.errback(reason)

    def goodbye(self) -> None:
        """
        Say the protocol's goodbye (inside TLS) and hang up.
        """
        if self.transport is None:
            return
        if self.tlsStarted and self.farewell:
            self.transport.write(self.farewell)
        self.transport.loseConnection()


class _LineNegotiator(STARTTLSNegotiator):
    """
    Line-based protocols: the server's replies are CRLF-ended lines.
    """

    def line(self) -> bytes | None:
        """
        The next complete line (without its end), or C{None}.
        """
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        return self.take(end + 1).rstrip(b"\r\n")


_REPLY = re.compile(rb"(\d{3})([ -])(.*)\Z", re.DOTALL)


class _CodedNegotiator(_LineNegotiator):
    """
    SMTP, LMTP and FTP: replies of one or more C{NNN-text} lines ending with C{NNN text}.
    """

    def __init__(self, serverName: str) -> None:
        super().__init__(serverName)
        self._lines: list[bytes] = []

    def reply(self) -> tuple[int, list[bytes]] | None:
        """
        The next complete reply: its code and the text of each line; C{None} until complete.
        """
        while (line := self.line()) is not None:
            match = _REPLY.match(line)
            if match is None:
                self._lines = []
                return 0, [line]
            self._lines.append(match.group(3))
            if match.group(2) == b" ":
                lines, self._lines = self._lines, []
                return int(match.group(1)), lines
        return None


class SMTPNegotiator(_CodedNegotiator):
    """
    SMTP (RFC 3207): greeting, C{EHLO}, C{STARTTLS}.
    """

    name = "smtp"
    hello = b"EHLO"
    farewell = b"QUIT\r\n"
    #: The name given in C{EHLO}.
    clientName = b"localhost"

    def connectionMade(self) -> None:
        self.expect(self._greeting)

    def _greeting(self) -> bool:
        reply = self.reply()
        if reply is None:
            return False
        code, lines = reply
        if code != 220:
            self.unavailable(b" ".join(lines), b"QUIT\r\n")
            return True
        assert self.transport is not None
        self.transport.write(self.hello + b" " + self.clientName + b"\r\n")
        self.expect(self._hello)
        return True

    def _hello(self) -> bool:
        reply = self.reply()
        if reply is None:
            return False
        code, lines = reply
        extensions = {line.split(None, 1)[0].upper() for line in lines[1:] if line.strip()}
        if code != 250 or b"STARTTLS" not in extensions:
            self.unavailable(
                f"the {self.hello.decode()} reply ({code}) lists no STARTTLS", b"QUIT\r\n"
            )
            return True
        assert self.transport is not None
        self.transport.write(b"STARTTLS\r\n")
        self.expect(self._ready)
        return True

    def _ready(self) -> bool:
        reply = self.reply()
        if reply is None:
            return False
        code, lines = reply
        if code != 220:
            self.unavailable(f"{code} {_short(b' '.join(lines))}", b"QUIT\r\n")
        else:
            self.upgrade()
        return True


class LMTPNegotiator(SMTPNegotiator):
    """
    LMTP (RFC 2033): as SMTP, with C{LHLO}.
    """

    name = "lmtp"
    hello = b"LHLO"


class FTPNegotiator(_CodedNegotiator):
    """
    FTP (RFC 4217): greeting, C{AUTH TLS}.
    """

    name = "ftp"
    farewell = b"QUIT\r\n"

    def connectionMade(self) -> None:
        self.expect(self._greeting)

    def _greeting(self) -> bool:
        reply = self.reply()
        if reply is None:
            return False
        code, lines = reply
        if code != 220:
            self.unavailable(f"{code} {_short(b' '.join(lines))}", b"QUIT\r\n")
            return True
        assert self.transport is not None
        self.transport.write(b"AUTH TLS\r\n")
        self.expect(self._ready)
        return True

    def _ready(self) -> bool:
        reply = self.reply()
        if reply is None:
            return False
        code, lines = reply
        if code != 234:
            self.unavailable(f"{code} {_short(b' '.join(lines))}", b"QUIT\r\n")
        else:
            self.upgrade()
        return True


class IMAPNegotiator(_LineNegotiator):
    """
    IMAP (RFC 3501 section 6.2.1): greeting, C{CAPABILITY}, C{STARTTLS}.
    """

    name = "imap"
    farewell = b"t3 LOGOUT\r\n"

    def connectionMade(self) -> None:
        self._capabilities: set[bytes] = set()
        self.expect(self._greeting)

    def _greeting(self) -> bool:
        line = self.line()
        if line is None:
            return False
        if not line.upper().startswith(b"* OK"):
            self.unavailable(line, b"t1 LOGOUT\r\n")
            return True
        assert self.transport is not None
        self.transport.write(b"t1 CAPABILITY\r\n")
        self.expect(self._capability)
        return True

    def _capability(self) -> bool:
        line = self.line()
        if line is None:
            return False
        words = line.upper().split()
        if words[:2] == [b"*", b"CAPABILITY"]:
            self._capabilities.update(words[2:])
            return True
        if words[:1] != [b"T1"]:
            return True  # another untagged response
        assert self.transport is not None
        if words[1:2] != [b"OK"] or b"STARTTLS" not in self._capabilities:
            self.unavailable(
                b"CAPABILITY " + b" ".join(sorted(self._capabilities)), b"t2 LOGOUT\r\n"
            )
            return True
        self.transport.write(b"t2 STARTTLS\r\n")
        self.expect(self._ready)
        return True

    def _ready(self) -> bool:
        line = self.line()
        if line is None:
            return False
        words = line.upper().split()
        if words[:1] != [b"T2"]:
            return True
        if words[1:2] == [b"OK"]:
            self.upgrade()
        else:
            self.unavailable(line, b"t3 LOGOUT\r\n")
        return True


class POP3Negotiator(_LineNegotiator):
    """
    POP3 (RFC 2595 section 4): greeting, C{STLS}.
    """

    name = "pop3"
    farewell = b"QUIT\r\n"

    def connectionMade(self) -> None:
        self.expect(self._greeting)

    def _greeting(self) -> bool:
        line = self.line()
        if line is None:
            return False
        if not line.startswith(b"+OK"):
            self.unavailable(line, b"QUIT\r\n")
            return True
        assert self.transport is not None
        self.transport.write(b"STLS\r\n")
        self.expect(self._ready)
        return True

    def _ready(self) -> bool:
        line = self.line()
        if line is None:
            return False
        if line.startswith(b"+OK"):
            self.upgrade()
        else:
            self.unavailable(line, b"QUIT\r\n")
        return True


_TLS_NS = b"urn:ietf:params:xml:ns:xmpp-tls"
_FEATURES_END = re.compile(rb"</(\w+:)?features\s*>|<(\w+:)?features\b[^>]*/>")


class XMPPNegotiator(STARTTLSNegotiator):
    """
    XMPP (RFC 6120 section 5): the stream header to the service domain, the features,
    C{<starttls/>}, C{<proceed/>}.
    """

    name = "xmpp-client"
    namespace = b"jabber:client"

    def connectionMade(self) -> None:
        assert self.transport is not None
        domain = self.serverName.encode("idna")
        self.transport.write(b"<?xml version='1.0'?>")
        self.transport.write(
            b"<stream:stream xmlns='" + self.namespace + b"' "
            b"xmlns:stream='http://etherx.jabber.org/streams' to='" + domain + b"' version='1.0'>"
        )
        self.expect(self._features)

    def _features(self) -> bool:
        match = _FEATURES_END.search(self._buffer)
        if match is None:
            if b"</stream:stream>" in self._buffer or b"<stream:error" in self._buffer:
                self.unavailable(self.take(len(self._buffer)), b"</stream:stream>")
                return True
            return False
        features = self.take(match.end())
        if not re.search(rb"<starttls\b[^>]*" + re.escape(_TLS_NS), features):
            self.unavailable("no <starttls/> among the stream features", b"</stream:stream>")
            return True
        assert self.transport is not None
        self.transport.write(b"<starttls xmlns='" + _TLS_NS + b"'/>")
        self.expect(self._ready)
        return True

    def _ready(self) -> bool:
        if b"<proceed" in self._buffer:
            self.take(len(self._buffer))
            self.upgrade()
            return True
        if b"<failure" in self._buffer or b"</stream:stream>" in self._buffer:
            self.unavailable(self.take(len(self._buffer)))
            return True
        return False


class XMPPServerNegotiator(XMPPNegotiator):
    """
    XMPP between servers: as for clients, in the C{jabber:server} namespace.
    """

    name = "xmpp-server"
    namespace = b"jabber:server"


#: The LDAP unbind request (message 2).
_LDAP_UNBIND = b"\x30\x05\x02\x01\x02\x42\x00"


class LDAPNegotiator(STARTTLSNegotiator):
    """
    LDAP (RFC 4511 section 4.14): the StartTLS extended request; a success result starts TLS.
    """

    name = "ldap"

    def connectionMade(self) -> None:
        assert self.transport is not None
        oid = b"\x80" + bytes([len(LDAP_STARTTLS_OID)]) + LDAP_STARTTLS_OID
        operation = b"\x77" + bytes([len(oid)]) + oid
        body = b"\x02\x01\x01" + operation
        self.transport.write(b"\x30" + bytes([len(body)]) + body)
        self.expect(self._response)

    def _response(self) -> bool:
        code = _ldapResultCode(self._buffer)
        if code is None:
            return False
        reply = self.take(len(self._buffer))
        if code == 0:
            self.upgrade()
        else:
            self.unavailable(f"resultCode {code}" if code >= 0 else reply, _LDAP_UNBIND)
        return True


def _berLength(data: bytes, offset: int) -> tuple[int, int] | None:
    if offset >= len(data):
        return None
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > 3:
        return -1, 0
    if offset + 1 + count > len(data):
        return None
    return int.from_bytes(data[offset + 1 : offset + 1 + count], "big"), offset + 1 + count


def _ldapResultCode(data: bytes) -> int | None:
    """
    The resultCode of the first LDAPMessage in C{data} (-1 when it is not an extended
    response), or C{None} until it is complete.
    """
    if not data:
        return None
    header = _berLength(data, 1)
    if header is None:
        return None
    length, start = header
    if data[0] != 0x30 or length < 0:
        return -1
    if start + length > len(data):
        return None
    idHeader = _berLength(data, start + 1)
    if idHeader is None or data[start] != 0x02:
        return -1
    op = idHeader[1] + idHeader[0]
    opHeader = _berLength(data, op + 1)
    if opHeader is None or data[op : op + 1] != b"\x78":
        return -1
    code = opHeader[1]
    if data[code : code + 2] != b"\x0a\x01":
        return -1
    return data[code + 2]


class PostgresNegotiator(STARTTLSNegotiator):
    """
    PostgreSQL: the SSLRequest packet; C{S} starts TLS, C{N} declines.
    """

    name = "postgres"

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(POSTGRES_SSL_REQUEST)
        self.expect(self._answer)

    def _answer(self) -> bool:
        answer = self.take(1)
        if answer == b"S":
            self.upgrade()
        else:
            self.unavailable(f"SSLRequest answered {answer!r}")
        return True


#: The negotiator of each protocol C{starttls=} accepts.
NEGOTIATORS: dict[str, type[STARTTLSNegotiator]] = {
    "smtp": SMTPNegotiator,
    "lmtp": LMTPNegotiator,
    "imap": IMAPNegotiator,
    "pop3": POP3Negotiator,
    "xmpp-client": XMPPNegotiator,
    "xmpp-server": XMPPServerNegotiator,
    "ldap": LDAPNegotiator,
    "ftp": FTPNegotiator,
    "postgres": PostgresNegotiator,
}

assert set(NEGOTIATORS) == set(CHECKERS) == set(DEFAULT_PORTS)


class NegotiatorFactory(Factory):
    """
    Builds the negotiator of one protocol.

    @ivar last: the last negotiator built, once connected.
    """

    def __init__(self, protocol: str, serverName: str) -> None:
        self.negotiator = NEGOTIATORS[protocol]
        self.serverName = serverName
        self.last: STARTTLSNegotiator | None = None

    def buildProtocol(self, addr: object) -> STARTTLSNegotiator:
        self.last = self.negotiator(self.serverName)
        self.last.factory = self
        return self.last


def negotiatorFactory(protocol: str, serverName: str) -> NegotiatorFactory:
    """
    A factory for the negotiator of C{protocol} (a key of L{NEGOTIATORS}), to connect with an
    endpoint made with the same C{starttls=protocol}.

    @param serverName: the name the dialogue names the server by: for XMPP, the service
        domain of the stream header; unused by the others.
    @raise KeyError: for an unknown protocol.
    """
    return NegotiatorFactory(protocol, serverName)

"""
The stripping guard: what a protocol that upgrades with STARTTLS may send in cleartext.

While TLS is owed (usable TLSA records, secure records that are all unusable, or DANE
required) and not yet started, a connection made with C{starttls=PROTO} lets through only the
messages that lead to TLS: greetings, capability queries, the STARTTLS command itself and a
clean goodbye. Anything else - C{MAIL FROM}, C{AUTH}, a login, a query - aborts the connection
before a byte of it leaves, so a protocol that never starts TLS (because the server did not
offer it, or an attacker removed the offer) cannot leak its data in cleartext.

Each protocol's checker buffers what it is given until it holds complete messages (a line,
an XML tag, a BER element, a length-prefixed packet) and judges each; a write that splits or
joins messages is judged message by message, and a write holding a forbidden message is not
sent at all, not even its allowed part.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from txdane.errors import DANEError

#: The longest cleartext message a checker buffers before judging it forbidden.
MAX_MESSAGE = 2048


class CleartextRefusedError(DANEError):
    """
    A protocol tried to send something other than its STARTTLS preamble in cleartext while
    TLS was required; the connection was aborted and nothing of it was sent.

    @ivar host: the host connected to.
    @ivar port: the port.
    @ivar protocol: the C{starttls} protocol name (C{"smtp"}, C{"imap"} ...).
    @ivar what: the kind of message refused (a command verb, never its arguments, which may
        be a password).
    """

    def __init__(self, host: str, port: int, protocol: str, what: str) -> None:
        super().__init__(host, port, protocol, what)
        self.host = host
        self.port = port
        self.protocol = protocol
        self.what = what

    def __str__(self) -> str:
        return (
            f"{self.host}:{self.port} refused: {self.what} would have been sent in cleartext "
            f"while TLS is required ({self.protocol} before STARTTLS)"
        )


class Forbidden(Exception):
    """
    Raised by a checker for a message that may not be sent in cleartext.

    @ivar what: the kind of message, for the error (no arguments, no secrets).
    """

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class _Checker:
    """
    Base class: buffers bytes, splits off complete messages and judges each.
    """

    def __init__(self) -> None:
        self._buffer = b""

    def check(self, data: bytes) -> bytes:
        """
        Take C{data} written by the protocol; return the bytes that may be sent now (whole
        allowed messages), keeping an incomplete message back.

        @raise Forbidden: if a complete message is not allowed, or an incomplete one grows
            beyond L{MAX_MESSAGE}.
        """
        buffer = self._buffer + data
        allowed = b""
        while True:
            size = self._complete(buffer)
            if size is None:
                break
            message, buffer = buffer[:size], buffer[size:]
            self._judge(message)
            allowed += message
        if len(buffer) > MAX_MESSAGE:
            raise Forbidden(f"an overlong message ({len(buffer)} bytes)")
        self._buffer = buffer
        return allowed

    def pending(self) -> bytes:
        """
        The incomplete message held back (sent inside TLS once it starts).
        """
        buffer, self._buffer = self._buffer, b""
        return buffer

    def _complete(self, buffer: bytes) -> int | None:
        raise NotImplementedError()

    def _judge(self, message: bytes) -> None:
        raise NotImplementedError()


class _LineChecker(_Checker):
    """
    Line-based protocols (SMTP, LMTP, POP3, IMAP, FTP): one command per CRLF-ended line.
    """

    #: Allowed lines, as regular expressions matched against the whole line (CRLF removed).
    patterns: tuple[bytes, ...] = ()
    #: Whether the command is preceded by a tag (IMAP).
    tagged = False

    def __init__(self) -> None:
        super().__init__()
        self._allowed = [re.compile(p + rb"\Z", re.IGNORECASE) for p in self.patterns]

    def _complete(self, buffer: bytes) -> int | None:
        end = buffer.find(b"\n")
        return None if end < 0 else end + 1

    def _judge(self, message: bytes) -> None:
        line = message[:-2] if message.endswith(b"\r\n") else message[:-1]
        if not any(p.match(line) for p in self._allowed):
            words = line.split(None, 2)
            verb = words[1] if self.tagged and len(words) > 1 else (words[0] if words else b"")
            if not re.fullmatch(rb"[A-Za-z]{1,16}", verb):
                raise Forbidden("a line that is no known command")
            raise Forbidden(verb.decode("ascii").upper())


_HOSTNAME = rb"[\x21-\x7e]{0,255}"


class _SMTPChecker(_LineChecker):
    patterns = (
        rb"(EHLO|HELO|LHLO) " + _HOSTNAME,
        rb"STARTTLS",
        rb"NOOP( [\x20-\x7e]*)?",
        rb"RSET",
        rb"QUIT",
    )


#: An IMAP tag: ASTRING-CHAR except "+" (RFC 3501 section 9).
_IMAP_TAG = rb"[!#$&',\-./0-9:;<=>?@A-Z\[\]^_`a-z|}~]{1,64}"


class _IMAPChecker(_LineChecker):
    tagged = True
    patterns = (_IMAP_TAG + rb" (CAPABILITY|STARTTLS|NOOP|LOGOUT)",)


class _POP3Checker(_LineChecker):
    patterns = (rb"CAPA", rb"STLS", rb"QUIT")


class _FTPChecker(_LineChecker):
    patterns = (rb"AUTH TLS", rb"FEAT", rb"QUIT")


#: The namespaces of XMPP's stream and of its STARTTLS elements (RFC 6120).
XMPP_STREAMS_NS = "http://etherx.jabber.org/streams"
XMPP_TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"
_XML_DECLARATION = re.compile(rb"<\?xml[^<>?]*\?>\Z")
_STREAM_OPEN = re.compile(rb"<stream:stream(\s[^<>]*)?(?<!/)>\Z")
_STREAM_CLOSE = re.compile(rb"</stream:stream\s*>\Z")
_STARTTLS = re.compile(
    rb"<starttls\s+xmlns\s*=\s*(['\"])" + XMPP_TLS_NS.encode() + rb"\1\s*(/>|>\s*</starttls\s*>)\Z"
)


class _XMPPChecker(_Checker):
    """
    XMPP (RFC 6120 section 5): the XML declaration, the stream header, the C{<starttls/>}
    element of the TLS namespace and the stream's end; white space between them.
    """

    def _complete(self, buffer: bytes) -> int | None:
        stripped = len(buffer) - len(buffer.lstrip())
        if stripped == len(buffer):
            return stripped or None
        if buffer[stripped : stripped + 1] != b"<":
            raise Forbidden("character data")
        if buffer.startswith(b"<starttls", stripped):
            # <starttls ...></starttls> holds two tags: wait for the end of the element.
            end = buffer.find(b">", stripped)
            if end >= 0 and buffer[end - 1 : end] == b"/":
                return end + 1
            close = buffer.find(b"</starttls", stripped)
            end = buffer.find(b">", close) if close >= 0 else -1
            return None if end < 0 else end + 1
        end = buffer.find(b">", stripped)
        return None if end < 0 else end + 1

    def _judge(self, message: bytes) -> None:
        tag = message.strip()
        if not tag:
            return
        for pattern in (_XML_DECLARATION, _STREAM_OPEN, _STREAM_CLOSE, _STARTTLS):
            if pattern.match(tag):
                return
        name = re.match(rb"</?([A-Za-z_][\w.:-]{0,40})", tag)
        raise Forbidden(f"<{name.group(1).decode()}>" if name else "an XML fragment")


#: The LDAP StartTLS extended operation (RFC 4511 section 4.14).
LDAP_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def _berLength(buffer: bytes, offset: int) -> tuple[int, int] | None:
    """
    The BER definite length at C{offset}: (length, offset of the contents), or C{None} if
    more bytes are needed.

    @raise Forbidden: for an indefinite or absurd length.
    """
    if offset >= len(buffer):
        return None
    first = buffer[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > 3:
        raise Forbidden("a malformed LDAP message")
    if offset + 1 + count > len(buffer):
        return None
    return int.from_bytes(buffer[offset + 1 : offset + 1 + count], "big"), offset + 1 + count


class _LDAPChecker(_Checker):
    """
    LDAP: only the StartTLS extended request and the unbind request, each a BER
    C{LDAPMessage} with no controls.
    """

    def _complete(self, buffer: bytes) -> int | None:
        if not buffer:
            return None
        if buffer[0] != 0x30:
            raise Forbidden("a malformed LDAP message")
        header = _berLength(buffer, 1)
        if header is None:
            return None
        length, start = header
        if length > MAX_MESSAGE:
            raise Forbidden(f"an overlong LDAP message ({length} bytes)")
        return start + length if start + length <= len(buffer) else None

    def _judge(self, message: bytes) -> None:
        _, offset = _berLength(message, 1) or (0, 0)
        if message[offset : offset + 1] != b"\x02":
            raise Forbidden("a malformed LDAP message")
        idLength, idStart = _berLength(message, offset + 1) or (0, 0)
        op = idStart + idLength
        tag = message[op : op + 1]
        opLength, opStart = _berLength(message, op + 1) or (0, 0)
        if opStart + opLength != len(message):
            raise Forbidden("an LDAP message with controls")
        body = message[opStart:]
        if tag == b"\x42" and opLength == 0:  # UnbindRequest
            return
        if tag == b"\x77":  # ExtendedRequest
            expected = b"\x80" + bytes([len(LDAP_STARTTLS_OID)]) + LDAP_STARTTLS_OID
            if body == expected:
                return
            raise Forbidden("an LDAP extended request other than StartTLS")
        raise Forbidden(f"an LDAP operation (tag {tag.hex() or 'none'})")


#: PostgreSQL's SSLRequest: length 8, code 80877103.
POSTGRES_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


class _PostgresChecker(_Checker):
    """
    PostgreSQL: only the 8-byte SSLRequest packet.
    """

    def _complete(self, buffer: bytes) -> int | None:
        return 8 if len(buffer) >= 8 else None

    def _judge(self, message: bytes) -> None:
        if message != POSTGRES_SSL_REQUEST:
            raise Forbidden("a PostgreSQL message other than SSLRequest")


#: The protocols C{starttls=} accepts, and the checker of each.
CHECKERS: dict[str, Callable[[], _Checker]] = {
    "smtp": _SMTPChecker,
    "lmtp": _SMTPChecker,
    "imap": _IMAPChecker,
    "pop3": _POP3Checker,
    "xmpp-client": _XMPPChecker,
    "xmpp-server": _XMPPChecker,
    "ldap": _LDAPChecker,
    "ftp": _FTPChecker,
    "postgres": _PostgresChecker,
}


def checkerFor(protocol: str) -> _Checker:
    """
    A fresh checker for one connection of C{protocol} (a key of L{CHECKERS}).

    @raise KeyError: for an unknown protocol.
    """
    return CHECKERS[protocol]()

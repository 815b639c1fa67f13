"""
Fuzz the STARTTLS negotiators with what a hostile server sends before TLS: any bytes, split
anywhere, from a server that may then close the connection, break it, fail the TLS handshake
or complete it. Each input ends with the connection's C{ready} fired once, and:

    - no exception escapes the negotiator;
    - C{ready} succeeds only when the negotiator started TLS after asking for it and the
      handshake completed, or when cleartext is allowed (SMTP's opportunistic policy) and
      the negotiator settled for cleartext (a completed handshake always succeeds);
      otherwise it fails with a L{StartTLSError} of the kind that says how the connection
      ended (the negotiator's refusal, a failed handshake, a lost connection), with a
      message of bounded length;
    - the application is connected only when C{ready} succeeds, and receives nothing but the
      negotiator's made greeting and what the server sends after that (over TLS, or in
      cleartext where that was allowed): nothing sent before TLS reaches it;
    - the client sends nothing but its protocol's prelude, each message once and in order,
      and nothing once it started TLS, settled for cleartext or ended the connection.

The first byte picks the protocol from the registry (its low four bits), whether cleartext
is allowed (bit 4) and how the connection ends (bits 5 and 6: once TLS is started, the
handshake completes, and what follows is the application's, or fails; else the connection
breaks, or the server closes it); the second byte how the rest, the server's bytes, is split
(0, or no second byte: in one piece; else pieces of 1 to that many bytes). A negotiator that
aborts the connection gets no more bytes and loses it.

    python fuzz/starttls_prelude.py -runs=100000
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface import alsoProvides

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.dane.decision import Action, ConnectionPlan
    from txdane.endpoints.connection import ConnectionInfo
    from txdane.endpoints.errors import MAX_GREETING
    from txdane.endpoints.starttls import (
        PROTOCOLS,
        Negotiator,
        StartTLSConnectionLostError,
        StartTLSError,
        StartTLSWrongProtocolError,
    )
    from txdane.endpoints.starttls.binary import POSTGRES_SSL_REQUEST, startTLSRequest
    from txdane.endpoints.starttls.xmpp import XMPP_STREAMS_NS, XMPP_TLS_NS

_HOST = "mail.example.test"
_DOMAIN = "example.test"
_LOCAL = IPv4Address("TCP", "192.0.2.7", 40000)

#: The protocols, in the registry's order: the first byte's low four bits pick one.
_NAMES = list(PROTOCOLS)

#: The longest error message accepted.
MAX_MESSAGE = 2000

#: The most bytes the client may write beyond the input's length (its prelude is shorter).
MAX_WRITTEN = 1024

#: How the connection ends (bits 5 and 6 of the first byte).
HANDSHAKE, HANDSHAKE_FAILS, BREAKS, CLOSES = range(4)


def _xmppOpen(namespace: str) -> bytes:
    return (
        f"<?xml version='1.0'?><stream:stream xmlns=\"{namespace}\" "
        f"xmlns:stream='{XMPP_STREAMS_NS}' to=\"{_DOMAIN}\" version='1.0'>"
    ).encode()


#: What each protocol's client says before TLS, in order: it says a prefix of this, each
#: message in one write, and starts TLS only once it said all of it.
SCRIPTS: dict[str, list[bytes]] = {
    "smtp": [b"EHLO [192.0.2.7]\r\n", b"STARTTLS\r\n"],
    "lmtp": [b"LHLO [192.0.2.7]\r\n", b"STARTTLS\r\n"],
    "imap": [b"a001 STARTTLS\r\n"],
    "pop3": [b"STLS\r\n"],
    "xmpp-client": [_xmppOpen("jabber:client"), f"<starttls xmlns='{XMPP_TLS_NS}'/>".encode()],
    "xmpp-server": [_xmppOpen("jabber:server"), f"<starttls xmlns='{XMPP_TLS_NS}'/>".encode()],
    "ldap": [startTLSRequest()],
    "ftp": [b"AUTH TLS\r\n"],
    "postgres": [POSTGRES_SSL_REQUEST],
}


class _Transport(StringTransport):
    """
    A transport that records each write, C{startTLS} and C{abortConnection}, and what the
    negotiator wrote after it should have stopped writing.
    """

    def __init__(self) -> None:
        super().__init__(hostAddress=_LOCAL)
        self.writes: list[bytes] = []
        self.late: list[bytes] = []
        self.started: list[object] = []
        self.aborted = False
        self.settled = False

    def write(self, data: bytes) -> None:
        super().write(data)
        if self.started or self.aborted or self.settled:
            self.late.append(data)
        else:
            self.writes.append(data)

    def startTLS(self, creator: object) -> None:
        assert not self.aborted, "TLS started on an aborted connection"
        self.started.append(creator)
        alsoProvides(self, ISSLTransport)  # as Twisted's TCP transports do

    def abortConnection(self) -> None:
        self.aborted = True


class _Application(Protocol):
    """
    The application's protocol: records what it receives, and what it received before
    C{ready} fired with it (C{outcome}, the results of C{ready}).
    """

    def __init__(self, outcome: list[object]) -> None:
        self.outcome = outcome
        self.received: list[bytes] = []
        self.early: list[bytes] = []
        self.connected = False
        self.lost = False

    def makeConnection(self, transport: Any) -> None:
        self.connected = True
        super().makeConnection(transport)

    def dataReceived(self, data: bytes) -> None:
        if self.outcome != [self]:
            self.early.append(data)
        self.received.append(data)

    def connectionLost(self, reason: Failure = Failure(ConnectionDone())) -> None:  # noqa: B008
        self.lost = True


def pieces(body: bytes, split: int) -> list[bytes]:
    """
    C{body} in pieces: whole when C{split} is 0, else pieces of 1 to C{split} bytes, the
    sizes following a fixed cycle.
    """
    if split == 0:
        return [body] if body else []
    out, index = [], 0
    while body:
        size = 1 + (index * 7919) % split
        out.append(body[:size])
        body = body[size:]
        index += 1
    return out


def _checkError(error: BaseException, negotiator: Negotiator, name: str) -> None:
    """
    What every failure of C{ready} satisfies: a L{StartTLSError} about this connection, with
    a message and a quoted greeting of bounded length.
    """
    assert isinstance(error, StartTLSError), repr(error)
    assert (error.host, error.port, error.protocol) == (_HOST, 25, name), repr(error)
    message = str(error)
    assert len(message) < MAX_MESSAGE, len(message)
    if isinstance(error, StartTLSWrongProtocolError):
        assert len(error.greeting) <= MAX_GREETING, len(error.greeting)
        assert error.speaks is None or error.speaks in PROTOCOLS, error.speaks
        assert error.speaks != name, "the protocol it looks like is its own"
    if isinstance(error, StartTLSConnectionLostError):
        assert error.upgrading == negotiator.upgrading, repr(error)


def testOneInput(data: bytes) -> str:
    """
    Connect the negotiator the input picks, feed it the server's bytes, end the connection,
    and check the invariants; return the protocol and how the connection ended.
    """
    if not data:
        return "empty"
    name = _NAMES[(data[0] & 0x0F) % len(_NAMES)]
    cleartextAllowed = bool(data[0] & 0x10)
    ending = (data[0] >> 5) & 3
    body = data[2:]
    transport = _Transport()
    outcome: list[object] = []
    ready: Deferred[Any] = Deferred()
    ready.addBoth(outcome.append)
    ready.addBoth(lambda _: setattr(transport, "settled", True))
    application = _Application(outcome)
    plan = ConnectionPlan(
        Action.UNAUTHENTICATED if cleartextAllowed else Action.PKIX, _HOST, 25, _HOST
    )
    info = ConnectionInfo(_HOST, 25, plan, domain=_DOMAIN, starttls=name)
    creator: Any = object()  # the DANE-checking creator, never used here
    negotiator = PROTOCOLS[name](
        application, ready, creator, info, cleartextAllowed=cleartextAllowed
    )
    negotiator.makeConnection(transport)

    # The server's bytes, until the negotiator aborts the connection. A piece delivered once
    # C{ready} fired (over TLS, or in cleartext where allowed) is the application's.
    expected = b""
    handshook = False
    for piece in pieces(body, data[1] if len(data) > 1 else 0):
        settled = bool(outcome)
        negotiator.dataReceived(piece)
        if settled:
            expected += piece
        if transport.aborted:
            break
        if transport.started and ending == HANDSHAKE and not handshook:
            negotiator.handshakeCompleted()
            handshook = True
    if transport.aborted:
        reason = Failure(ConnectionAborted())
    elif transport.started and ending == HANDSHAKE_FAILS:
        reason = Failure(SSL.Error([("SSL routines", "", "sslv3 alert handshake failure")]))
    elif ending == BREAKS:
        reason = Failure(ConnectionLost())
    else:
        reason = Failure(ConnectionDone())
    negotiator.connectionLost(reason)

    assert len(outcome) == 1, outcome
    [result] = outcome
    written = b"".join(transport.writes)
    assert len(written) + sum(map(len, transport.late)) <= MAX_WRITTEN + len(data)
    script = SCRIPTS[name]
    assert transport.writes == script[: len(transport.writes)], transport.writes
    assert not transport.late, f"written after TLS, cleartext or abort: {transport.late!r}"
    assert len(transport.started) <= 1 and transport.started in ([], [creator])
    assert negotiator.upgrading == bool(transport.started)
    if transport.started:
        assert transport.writes == script, "TLS started before the client asked for it"
    assert not (negotiator.upgrading and negotiator.cleartext)
    assert not negotiator.cleartext or cleartextAllowed, "cleartext where it is not allowed"
    assert not application.early, (
        f"the application heard before it was connected: {application.early!r}"
    )

    if isinstance(result, Failure):
        error = result.value
        assert error is not None
        _checkError(error, negotiator, name)
        assert not handshook, "a completed handshake, yet the connection failed"
        if transport.aborted:
            # The negotiator's own refusal, never taken for a lost connection.
            assert not isinstance(error, StartTLSConnectionLostError), repr(error)
        elif reason.check(SSL.Error):
            assert type(error) is StartTLSError, repr(error)
            assert error.reason.startswith("the TLS handshake failed ("), error.reason
        else:
            assert isinstance(error, StartTLSConnectionLostError), repr(error)
        assert not application.connected and not application.received
        assert not negotiator.secured and not negotiator.open
        if isinstance(error, StartTLSConnectionLostError):
            return f"{name}:lost"
        if isinstance(error, StartTLSWrongProtocolError):
            return f"{name}:wrong-protocol"
        return f"{name}:refused"

    assert result is application, result
    assert application.connected and application.lost and negotiator.open
    assert not transport.aborted, "ready succeeded on a connection the negotiator aborted"
    greeting = negotiator.greeting.format(host=_HOST).encode()
    assert b"".join(application.received) == greeting + expected, application.received
    if negotiator.cleartext:
        assert not negotiator.secured and not transport.started
        return f"{name}:cleartext"
    assert handshook and negotiator.secured and negotiator.upgrading
    return f"{name}:tls"


def _header(name: str, cleartextAllowed: bool = False, ending: int = HANDSHAKE) -> int:
    return _NAMES.index(name) | (0x10 if cleartextAllowed else 0) | (ending << 5)


_EHLO = b"250-mail.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"
_XMPP = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:%s' "
    b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><stream:features>"
    b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
)
_XMPP_NO_TLS = (
    b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    b"<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"
)


def _ldapResponse(code: int) -> bytes:
    result = b"\x0a\x01" + bytes([code]) + b"\x04\x00\x04\x00"
    operation = b"\x78" + bytes([len(result)]) + result
    body = b"\x02\x01\x01" + operation
    return b"\x30" + bytes([len(body)]) + body


#: Each protocol's dialogues: one that upgrades (with forged replies after the go-ahead),
#: one where STARTTLS is not offered (with more after it), one refused, and others'
#: greetings.
_DIALOGUES: list[tuple[str, bytes]] = [
    (
        "smtp",
        b"220-mail.example.test ESMTP\r\n220 welcome\r\n"
        + _EHLO
        + b"220 go\r\n250-FORGED\r\n250 FORGED\r\n",
    ),
    ("smtp", b"220 ready\r\n250-mail\r\n250 PIPELINING\r\n250 over cleartext\r\n"),
    ("smtp", b"220 ready\r\n" + _EHLO + b"454 4.7.0 TLS not available\r\n"),
    ("smtp", b"220 mail.example.test ESMTP\r\n500 5.5.1 what\r\n"),
    ("smtp", b"* OK IMAP4rev1 ready\r\n"),
    ("lmtp", b"220 lmtp ready\r\n250-lmtp\r\n250 STARTTLS\r\n220 go\r\n250 FORGED\r\n"),
    ("lmtp", b"220 mail.example.test ESMTP\r\n500 5.5.1 LHLO what\r\n"),
    (
        "imap",
        b"* OK [CAPABILITY IMAP4rev1 STARTTLS] [ALERT] click here\r\n"
        b"* CAPABILITY IMAP4rev1\r\na001 OK Begin TLS\r\n* {5}\r\nFORGE\r\n",
    ),
    ("imap", b"* OK [CAPABILITY IMAP4rev1 LOGIN] ready\r\n* 1 EXISTS\r\n"),
    ("imap", b"* OK ready\r\na001 NO not now\r\n"),
    ("imap", b"* PREAUTH logged in\r\n"),
    ("imap", b"* OK ready\r\n* BYE going away\r\n"),
    ("pop3", b"+OK POP3 ready <1.2@example.test>\r\n+OK Begin TLS\r\n+OK FORGED\r\n"),
    ("pop3", b"+OK ready\r\n-ERR no STLS\r\n"),
    ("pop3", b"-ERR busy\r\n"),
    ("xmpp-client", _XMPP % b"client" + b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
    ("xmpp-client", _XMPP_NO_TLS + b"<message>cleartext</message>"),
    (
        "xmpp-client",
        _XMPP_NO_TLS
        + b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
        + b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    ),
    ("xmpp-client", _XMPP % b"client" + b"<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
    (
        "xmpp-client",
        b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams'><stream:error>"
        b"<host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
        b"</stream:stream>",
    ),
    (
        "xmpp-server",
        b"\xef\xbb\xbf  "
        + _XMPP % b"server"
        + b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    ),
    ("xmpp-server", _XMPP % b"server" + b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
    ("xmpp-server", _XMPP_NO_TLS.replace(b"jabber:client", b"jabber:server")),
    ("ldap", _ldapResponse(0) + b"\x30\x03\x02\x01\x02"),
    ("ldap", _ldapResponse(52)),
    ("ldap", _ldapResponse(49)),
    ("ldap", b"\x30\x84\x00\x00\x00\x10"),
    ("ftp", b"220-welcome\r\nany text\r\n220 FTP ready\r\n234 AUTH TLS ok\r\n230 FORGED\r\n"),
    ("ftp", b"220 ready\r\n530 please login\r\n"),
    ("ftp", b"220 mail.example.test ESMTP\r\n502 what\r\n"),
    ("postgres", b"SFORGED"),
    ("postgres", b"Nover cleartext"),
    ("postgres", b"E\x00\x00\x00\x10SFATAL\x00"),
]


def seeds() -> list[bytes]:
    """
    Every dialogue of L{_DIALOGUES} whole, byte by byte and in pieces of up to 9 bytes, each
    with cleartext allowed and not, the ways of ending taken in turn.
    """
    out = []
    for name, body in _DIALOGUES:
        for variant, (split, allowed) in enumerate(itertools.product((0, 1, 9), (False, True))):
            out.append(bytes([_header(name, allowed, variant % 4), split]) + body)
    return out


if __name__ == "__main__":
    main(testOneInput, seeds())

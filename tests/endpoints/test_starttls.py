"""
The endpoint's own STARTTLS (L{txdane.endpoints.starttls}) in memory: the registry, each
protocol's cleartext exchange up to the upgrade, every way a server can stop it, and that
nothing the server sends before TLS reaches the application.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from OpenSSL import SSL
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionLost
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface import alsoProvides

from txdane.dane.decision import Action, ConnectionPlan
from txdane.endpoints.connection import ConnectionInfo
from txdane.endpoints.srvplan import SERVICES
from txdane.endpoints.starttls import (
    PROTOCOLS,
    Negotiator,
    StartTLSConnectionLostError,
    StartTLSError,
    StartTLSWrongProtocolError,
    UnknownProtocolError,
    defaultPort,
    greetingProtocol,
    negotiatorFor,
)

CREATOR: Any = object()


def info(host: str = "mail.example.test", port: int = 143) -> ConnectionInfo:
    plan = ConnectionPlan(Action.PKIX, host, port, host)
    return ConnectionInfo(host, port, plan, domain="example.test")


class TLSStringTransport(StringTransport):
    """
    A transport that records C{startTLS} and C{abortConnection}.
    """

    def __init__(self, local: Any = None) -> None:
        super().__init__(hostAddress=local or IPv4Address("TCP", "192.0.2.7", 40000))
        self.started: Any = None
        self.aborted = False

    def startTLS(self, creator: Any) -> None:
        self.started = creator
        # As Twisted's TCP transports do.
        alsoProvides(self, ISSLTransport)

    def abortConnection(self) -> None:
        self.aborted = True


class Application(Protocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)


def negotiate(
    protocol: str, lines: list[bytes], local: Any = None, cleartextAllowed: bool = False
) -> tuple[Negotiator, TLSStringTransport, Application, list[Any]]:
    """
    Connect the negotiator of C{protocol} and feed it the server's C{lines}; return it, its
    transport, the application behind it and the outcome of C{ready} (empty while pending).
    """
    application = Application()
    ready: Deferred[Any] = Deferred()
    outcome: list[Any] = []
    ready.addBoth(outcome.append)
    negotiator = negotiatorFor(protocol)(
        application, ready, CREATOR, info(), cleartextAllowed=cleartextAllowed
    )
    transport = TLSStringTransport(local)
    negotiator.makeConnection(transport)
    for line in lines:
        negotiator.dataReceived(line)
    if transport.aborted:
        negotiator.connectionLost(Failure(ConnectionAborted()))
    return negotiator, transport, application, outcome


def refusal(outcome: list[Any]) -> StartTLSError:
    [failure] = outcome
    assert isinstance(failure, Failure)
    assert isinstance(failure.value, StartTLSError)
    return failure.value


def answered(outcome: list[Any]) -> StartTLSError:
    """
    The L{StartTLSError} of a server that answered about TLS (it does not offer STARTTLS,
    refuses it, or broke the protocol): none of the subclasses that say the dialogue did
    not complete.
    """
    error = refusal(outcome)
    assert not isinstance(error, (StartTLSConnectionLostError, StartTLSWrongProtocolError))
    return error


def test_registry() -> None:
    """
    One registry: each STARTTLS service of C{dane:srv=} names a protocol in it, and each
    protocol has its negotiator, under its own name, and a default port.
    """
    assert {s.starttls for s in SERVICES.values()} - {None} <= set(PROTOCOLS)
    assert list(PROTOCOLS) == [
        "smtp",
        "lmtp",
        "imap",
        "pop3",
        "xmpp-client",
        "xmpp-server",
        "ldap",
        "ftp",
        "postgres",
    ]
    for name, negotiator in PROTOCOLS.items():
        assert negotiator.protocolName == name
        assert issubclass(negotiator, Negotiator)
        assert defaultPort(name) == negotiator.defaultPort > 0
    assert defaultPort("SMTP") == 25
    with pytest.raises(UnknownProtocolError, match=r"'gopher' \(one of smtp, lmtp, imap"):
        negotiatorFor("gopher")


# IMAP


def test_imapUpgrades() -> None:
    """
    Greeting, C{a001 STARTTLS}, untagged lines skipped, tagged C{OK}: TLS starts with the
    DANE creator; what follows in cleartext is dropped.
    """
    _, transport, application, outcome = negotiate(
        "imap",
        [
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n",
            b"* NOTE something\r\na001 OK Begin TLS\r\n* INJECTED\r\n",
        ],
    )
    assert transport.value() == b"a001 STARTTLS\r\n"
    assert transport.started is CREATOR
    assert (outcome, application.received, transport.aborted) == ([], [], False)


def test_imapGreetingSplitAcrossWrites() -> None:
    _, transport, _, _ = negotiate("imap", [b"* OK rea", b"dy\r", b"\n", b"a001 OK\r\n"])
    assert transport.started is CREATOR


@pytest.mark.parametrize(
    "lines, message",
    [
        # The server refuses.
        ([b"* OK ready\r\n", b"a001 NO TLS not now\r\n"], "answered STARTTLS with 'a001 NO"),
        ([b"* OK ready\r\n", b"a001 BAD unknown\r\n"], "answered STARTTLS with 'a001 BAD"),
        ([b"* OK ready\r\n", b"* BYE going away\r\n"], "the server said '* BYE"),
        # The server does not offer it.
        ([b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"], "does not offer STARTTLS"),
        ([b"* PREAUTH welcome\r\n"], "expected the greeting '* OK'"),
        # Garbage.
        ([b"* HELLO there\r\n"], "expected the greeting '* OK'"),
        ([b"* OK ready\r\n", b"a002 OK\r\n"], "expected the answer to STARTTLS"),
        ([b"* OK " + b"x" * 5000], "a line longer than 4096 bytes"),
    ],
)
def test_imapRefused(lines: list[bytes], message: str) -> None:
    _, transport, application, outcome = negotiate("imap", lines)
    error = answered(outcome)
    assert message in str(error)
    assert str(error).startswith("mail.example.test:143 refused: STARTTLS (imap): ")
    assert transport.started is None and transport.aborted
    assert transport.value() in (b"", b"a001 STARTTLS\r\n")
    assert application.transport is None


# POP3


def test_pop3Upgrades() -> None:
    _, transport, application, outcome = negotiate(
        "pop3", [b"+OK POP3 ready\r\n", b"+OK Begin TLS\r\n+OK injected\r\n"]
    )
    assert transport.value() == b"STLS\r\n"
    assert transport.started is CREATOR
    assert (outcome, application.received) == ([], [])


@pytest.mark.parametrize(
    "lines, message",
    [
        # The server refuses, or does not offer STLS: POP3 says -ERR to both.
        ([b"+OK ready\r\n", b"-ERR TLS not available now\r\n"], "answered STLS with '-ERR TLS"),
        ([b"+OK ready\r\n", b"-ERR unknown command\r\n"], "answered STLS with '-ERR unknown"),
        # The server turns the client away.
        ([b"-ERR too many connections\r\n"], "expected the greeting '+OK'"),
        # Garbage.
        ([b"+OK ready\r\n", b"hello\r\n"], "expected the answer to STLS, got 'hello'"),
    ],
)
def test_pop3Refused(lines: list[bytes], message: str) -> None:
    _, transport, application, outcome = negotiate("pop3", lines)
    assert message in str(answered(outcome))
    assert transport.started is None and transport.aborted
    assert application.transport is None


# SMTP


EHLO_STARTTLS = b"250-mail.example.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n"


def test_smtpUpgrades() -> None:
    """
    A multi-line greeting, EHLO with the client's address literal, STARTTLS in the EHLO
    reply, then C{220}.
    """
    _, transport, application, outcome = negotiate(
        "smtp",
        [b"220-mail.example.test ESMTP\r\n220 welcome\r\n", EHLO_STARTTLS, b"220 go ahead\r\n"],
    )
    assert transport.value() == b"EHLO [192.0.2.7]\r\nSTARTTLS\r\n"
    assert transport.started is CREATOR
    assert (outcome, application.received) == ([], [])


def test_smtpIPv6AddressLiteral() -> None:
    _, transport, _, _ = negotiate(
        "smtp", [b"220 ready\r\n"], local=IPv6Address("TCP", "2001:db8::7", 40000)
    )
    assert transport.value() == b"EHLO [IPv6:2001:db8::7]\r\n"


@pytest.mark.parametrize(
    "lines, message",
    [
        # The server refuses.
        (
            [b"220 ready\r\n", EHLO_STARTTLS, b"454 4.7.0 TLS not available\r\n"],
            "answered STARTTLS with '454 4.7.0",
        ),
        ([b"220 ready\r\n", b"550 go away\r\n"], "answered EHLO with '550 go away'"),
        ([b"554 no service\r\n"], "expected the greeting 220, got '554 no service'"),
        # The server does not offer it.
        ([b"220 ready\r\n", b"250-mail\r\n250 PIPELINING\r\n"], "does not offer STARTTLS"),
        # Garbage.
        ([b"220-ready\r\n250 mixed\r\n"], "a malformed reply '250 mixed'"),
        ([b"220 ready\r\n", b"hello\r\n"], "a malformed reply 'hello'"),
    ],
)
def test_smtpRefused(lines: list[bytes], message: str) -> None:
    _, transport, application, outcome = negotiate("smtp", lines)
    assert message in str(answered(outcome))
    assert transport.started is None and transport.aborted
    assert application.transport is None
    assert b"MAIL" not in transport.value()


def test_closedBeforeUpgrade() -> None:
    """
    A server that hangs up before the go-ahead: the error says so, and is a
    L{StartTLSConnectionLostError}, which callers that catch L{StartTLSError} still catch.
    """
    negotiator, _, _, outcome = negotiate("pop3", [b"+OK ready\r\n"])
    cause = ConnectionAborted()
    negotiator.connectionLost(Failure(cause))
    error = refusal(outcome)
    assert isinstance(error, StartTLSConnectionLostError)
    assert str(error).startswith(
        "mail.example.test:143 refused: STARTTLS (pop3): the connection broke before "
        "answering STLS ("
    )
    assert (error.upgrading, error.__cause__) == (False, cause)


#: For each protocol, the server's cleartext before it hangs up, and where the prelude
#: stood: the words of the error.
HANG_UPS: list[tuple[str, list[bytes], str]] = [
    ("smtp", [], "before its greeting"),
    ("smtp", [b"220-mail.example.test ESMTP\r\n"], "during its greeting"),
    ("smtp", [b"220 mail.example.test ESMTP\r\n"], "after its greeting, before STARTTLS"),
    ("smtp", [b"220 ready\r\n", b"250-mail\r\n"], "after its greeting, before STARTTLS"),
    ("smtp", [b"220 ready\r\n", EHLO_STARTTLS], "before answering STARTTLS"),
    ("lmtp", [b"220 ready\r\n"], "after its greeting, before STARTTLS"),
    ("imap", [], "before its greeting"),
    ("imap", [b"* OK ready\r\n"], "before answering STARTTLS"),
    ("pop3", [b"+OK"], "during its greeting"),
    ("pop3", [b"+OK ready\r\n"], "before answering STLS"),
    ("ftp", [b"220 ready\r\n"], "before answering AUTH TLS"),
    ("xmpp-client", [], "before opening its stream"),
    (
        "xmpp-client",
        [b"<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"],
        "before its stream features",
    ),
    ("xmpp-server", [b"<?xml version='1.0'?>"], "before opening its stream"),
    ("ldap", [], "before answering StartTLS"),
    ("postgres", [], "before answering SSLRequest"),
]


@pytest.mark.parametrize("protocol, lines, where", HANG_UPS)
def test_hangUpBeforeUpgrade(protocol: str, lines: list[bytes], where: str) -> None:
    """
    A server that closes the connection (or whose connection breaks) before its go-ahead:
    a L{StartTLSConnectionLostError}, saying where the prelude stood, not a refusal; under
    SMTP's opportunistic policy too, which allows cleartext only to a server that says it
    does not offer STARTTLS.
    """
    for cleartextAllowed in (False, True):
        negotiator, transport, application, outcome = negotiate(
            protocol, lines, cleartextAllowed=cleartextAllowed
        )
        assert outcome == [] and not transport.aborted
        cause = ConnectionDone()
        negotiator.connectionLost(Failure(cause))
        error = refusal(outcome)
        assert isinstance(error, StartTLSConnectionLostError)
        assert error.reason == f"the server closed the connection {where}"
        assert (error.upgrading, error.__cause__, error.protocol) == (False, cause, protocol)
        assert application.transport is None and transport.started is None
    negotiator, _, _, outcome = negotiate(protocol, lines)
    negotiator.connectionLost(Failure(ConnectionLost("reset by peer")))
    error = refusal(outcome)
    assert isinstance(error, StartTLSConnectionLostError)
    assert error.reason.startswith(f"the connection broke {where} (")
    assert "reset by peer" in error.reason


# LMTP, FTP, LDAP, PostgreSQL


def test_lmtpUpgrades() -> None:
    _, transport, _, outcome = negotiate(
        "lmtp", [b"220 lmtp ready\r\n", b"250-lmtp\r\n250 STARTTLS\r\n", b"220 go\r\n"]
    )
    assert transport.value() == b"LHLO [192.0.2.7]\r\nSTARTTLS\r\n"
    assert transport.started is CREATOR and outcome == []


def test_ftpUpgrades() -> None:
    """
    A multi-line greeting whose inner lines are any text, C{AUTH TLS}, then C{234}.
    """
    _, transport, _, outcome = negotiate(
        "ftp", [b"220-Welcome\r\nplain text line\r\n220 ready\r\n", b"234 AUTH TLS ok\r\n"]
    )
    assert transport.value() == b"AUTH TLS\r\n"
    assert transport.started is CREATOR and outcome == []


#: The LDAP extended responses: success, and protocolError (no StartTLS).
LDAP_SUCCESS = bytes.fromhex("300c02010178070a010004000400")
LDAP_REFUSED = bytes.fromhex("300c02010178070a010204000400")


def test_ldapUpgrades() -> None:
    _, transport, _, outcome = negotiate("ldap", [LDAP_SUCCESS[:5], LDAP_SUCCESS[5:]])
    assert transport.value() == bytes.fromhex("301d02010177188016") + b"1.3.6.1.4.1.1466.20037"
    assert transport.started is CREATOR and outcome == []


def test_postgresUpgrades() -> None:
    _, transport, _, outcome = negotiate("postgres", [b"S"])
    assert transport.value() == bytes.fromhex("0000000804d2162f")
    assert transport.started is CREATOR and outcome == []


@pytest.mark.parametrize(
    "protocol, lines, message",
    [
        ("lmtp", [b"220 ready\r\n", b"250 lmtp\r\n"], "does not offer STARTTLS"),
        ("lmtp", [b"220 ready\r\n", b"500 what\r\n"], "answered LHLO with '500 what'"),
        ("ftp", [b"220 ready\r\n", b"500 AUTH not understood\r\n"], "answered AUTH TLS with"),
        ("ftp", [b"421 busy\r\n"], "expected the greeting 220, got '421 busy'"),
        ("ftp", [b"220 ready\r\n", b"hello\r\n"], "a malformed reply 'hello'"),
        ("ldap", [LDAP_REFUSED], "answered StartTLS with resultCode 2"),
        ("ldap", [b"\x30\x03\x04\x01\x00"], "a malformed LDAP response"),
        ("postgres", [b"N"], "does not offer SSL"),
        ("postgres", [b"E"], "answered SSLRequest with b'E'"),
    ],
)
def test_moreRefused(protocol: str, lines: list[bytes], message: str) -> None:
    _, transport, application, outcome = negotiate(protocol, lines)
    assert message in str(answered(outcome))
    assert transport.started is None and transport.aborted
    assert application.transport is None


@pytest.mark.parametrize(
    "response",
    [
        # An empty SEQUENCE.
        b"\x30\x00",
        # A SEQUENCE that ends inside its message ID, followed by bytes that would complete a
        # successful extended response.
        b"\x30\x02\x02\x01" + b"\x01\x78\x07\x0a\x01\x00\x04\x00\x04\x00",
    ],
)
def test_ldapResponseEndsTooSoon(response: bytes) -> None:
    """
    An LDAP response whose SEQUENCE ends before its message ID and operation is a malformed
    response, not an C{IndexError}, and what follows it is no part of it (found by
    C{fuzz/starttls_prelude.py}).
    """
    _, transport, application, outcome = negotiate("ldap", [response])
    assert "a malformed LDAP response" in str(answered(outcome))
    assert transport.started is None and transport.aborted
    assert application.transport is None


# A server of another protocol.


#: An XMPP server's stream header, sent in one segment without a line end.
XMPP_HEADER = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' from='chat.example.test' id='x1' "
    b"version='1.0'>"
)


@pytest.mark.parametrize(
    "protocol, said, reason, speaks",
    [
        (
            "smtp",
            [b"* OK IMAP4rev1 ready\r\n"],
            "the server's greeting is not SMTP's ('* OK IMAP4rev1 ready'); it looks like IMAP",
            "imap",
        ),
        ("smtp", [b"+OK POP3 ready\r\n"], "is not SMTP's ('+OK POP3 ready')", "pop3"),
        ("smtp", [XMPP_HEADER], "is not SMTP's (\"<?xml version='1.0'?><stream:", "xmpp-client"),
        (
            "smtp",
            [XMPP_HEADER.replace(b"jabber:client", b"jabber:server")],
            "; it looks like XMPP",
            "xmpp-server",
        ),
        ("smtp", [b"hello\r\n"], "the server's greeting is not SMTP's ('hello')", None),
        ("smtp", [b"2hello\r\n"], "the server's greeting is not SMTP's ('2hello')", None),
        ("smtp", [b"* OK IMAP", b"4rev1 ready\r\n"], "is not SMTP's ('* OK IMAP')", "imap"),
        ("lmtp", [b"* OK ready\r\n"], "is not LMTP's ('* OK ready'); it looks like IMAP", "imap"),
        (
            "imap",
            [b"220 mail.example.test ESMTP Postfix\r\n"],
            "is not IMAP's ('220 mail.example.test ESMTP Postfix'); it looks like SMTP",
            "smtp",
        ),
        ("imap", [b"+OK ready\r\n"], "it looks like POP3", "pop3"),
        ("pop3", [b"* OK imap\r\n"], "is not POP3's ('* OK imap'); it looks like IMAP", "imap"),
        ("pop3", [b"220 (vsFTPd 3.0.5)\r\n"], "it looks like FTP", "ftp"),
        ("ftp", [b"hello\r\n"], "the server's greeting is not FTP's ('hello')", None),
        ("ftp", [b"* OK ready\r\n"], "it looks like IMAP", "imap"),
        (
            "xmpp-client",
            [b"220 mail.example.test ESMTP\r\n"],
            "the server's greeting is not XMPP's ('220 mail.example.test ESMTP'); "
            "it looks like SMTP",
            "smtp",
        ),
        ("xmpp-server", [b"\r\n", b"* OK IMAP4rev1\r\n"], "it looks like IMAP", "imap"),
        (
            "ldap",
            [b"220 lmtp.example.test LMTP ready\r\n"],
            "the server's answer to StartTLS is not LDAP's ('220 lmtp.example.test LMTP ready'); "
            "it looks like LMTP",
            "lmtp",
        ),
        (
            "postgres",
            [b"+OK POP3 ready\r\n"],
            "the server's answer to SSLRequest is not PostgreSQL's ('+OK POP3 ready'); "
            "it looks like POP3",
            "pop3",
        ),
        ("postgres", [b"HTTP/1.1 400 Bad Request\r\n"], "('HTTP/1.1 400 Bad Request')", None),
    ],
)
def test_wrongProtocol(protocol: str, said: list[bytes], reason: str, speaks: str | None) -> None:
    """
    A server whose first words are not the protocol's greeting (or answer): a
    L{StartTLSWrongProtocolError} (a L{StartTLSError}) that says so, quotes them and names
    the protocol they look like, decided on the first segment even without a line end;
    nothing but what the client says first was sent, and the application never connected.
    """
    _, transport, application, outcome = negotiate(protocol, said)
    error = refusal(outcome)
    assert isinstance(error, StartTLSWrongProtocolError)
    assert reason in error.reason
    assert error.reason.startswith("the server's ")
    assert error.speaks == speaks
    first = next(segment for segment in said if segment.strip())
    assert error.greeting == first.strip().split(b"\r\n")[0].decode()
    assert ("looks like" in error.reason) == (speaks is not None)
    assert transport.started is None and transport.aborted
    assert application.transport is None
    if negotiatorFor(protocol).greeting:
        assert transport.value() == b""


@pytest.mark.parametrize(
    "protocol, said, answer, speaks",
    [
        ("smtp", b"220 lmtp.example.test LMTP ready", b"500 5.5.1 what", "lmtp"),
        ("smtp", b"220 (vsFTPd 3.0.5)", b"500 Unknown command.", "ftp"),
        (
            "lmtp",
            b"220 mail.example.test ESMTP",
            b"502 5.5.2 Error: command not recognized",
            "smtp",
        ),
        ("ftp", b"220 mail.example.test ESMTP Postfix", b"504 Unrecognized auth type", "smtp"),
    ],
)
def test_notUnderstood(protocol: str, said: bytes, answer: bytes, speaks: str) -> None:
    """
    A greeting of the same grammar that names another protocol, and a first command not
    understood: the server speaks that protocol.
    """
    _, transport, _, outcome = negotiate(protocol, [said + b"\r\n", answer + b"\r\n"])
    error = refusal(outcome)
    assert isinstance(error, StartTLSWrongProtocolError)
    assert (error.greeting, error.speaks) == (said.decode(), speaks)
    command = {"smtp": "EHLO", "lmtp": "LHLO", "ftp": "AUTH TLS"}[protocol]
    assert f", and it answered {command} with {answer.decode()!r}; it looks like " in error.reason
    assert transport.started is None and transport.aborted


@pytest.mark.parametrize(
    "protocol, said, answer",
    [
        # A greeting that names no protocol, or this one.
        ("lmtp", b"220 ready", b"500 what"),
        ("smtp", b"220 ftp.example.test ESMTP", b"500 what"),
        ("ftp", b"220 ready", b"504 not that"),
        # A refusal, not a command not understood.
        ("smtp", b"220 (vsFTPd 3.0.5)", b"554 go away"),
        ("ftp", b"220 mail.example.test ESMTP", b"534 policy"),
    ],
)
def test_understoodAndRefused(protocol: str, said: bytes, answer: bytes) -> None:
    """
    Otherwise, a server that answers the first command with an error refused.
    """
    _, _, _, outcome = negotiate(protocol, [said + b"\r\n", answer + b"\r\n"])
    assert f"with {answer.decode()!r}" in answered(outcome).reason


def test_wrongProtocolBounded() -> None:
    """
    The greeting kept is the first line, at most 512 characters; the message quotes at most
    120, printable.
    """
    _, _, _, outcome = negotiate("smtp", [b"* OK \x00" + b"x" * 5000 + b"\r\nsecond\r\n"])
    error = refusal(outcome)
    assert isinstance(error, StartTLSWrongProtocolError)
    assert error.greeting == "* OK \x00" + "x" * 506
    assert "second" not in str(error) and "\x00" not in str(error)
    assert "('* OK ?" + "x" * 114 + "...')" in error.reason


def test_neverSuggestsItself() -> None:
    """
    The protocol a wrong greeting looks like is never the negotiator's own.
    """
    negotiator, transport, _, outcome = negotiate("smtp", [])
    negotiator.wrongProtocol(b"220 mail.example.test ESMTP\r\n")
    assert transport.aborted
    negotiator.connectionLost(Failure(ConnectionAborted()))
    error = refusal(outcome)
    assert isinstance(error, StartTLSWrongProtocolError)
    assert error.speaks is None and "looks like" not in error.reason


@pytest.mark.parametrize(
    "greeting, protocol",
    [
        ("220 mx.example.com ESMTP Postfix", "smtp"),
        ("220-mx.example.com ESMTP", "smtp"),
        ("220 ftp.example.com ESMTP ready", "smtp"),
        ("220 mail.example.com Service ready", "smtp"),
        ("220 lmtp.example.com LMTP ready", "lmtp"),
        ("220 (vsFTPd 3.0.5)", "ftp"),
        ("220 ProFTPD Server (Debian)", "ftp"),
        ("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready", "imap"),
        ("* ok Dovecot ready.", "imap"),
        ("* PREAUTH welcome", "imap"),
        ("+OK POP3 ready <1.2@example.com>", "pop3"),
        ("<?xml version='1.0'?><stream:stream xmlns='jabber:client'>", "xmpp-client"),
        ("<stream:stream xmlns='jabber:server' xmlns:stream='x'>", "xmpp-server"),
        ("\ufeff <?xml version='1.0'?>", "xmpp-client"),
        ("SSH-2.0-OpenSSH_9.6", None),
        ("HTTP/1.1 400 Bad Request", None),
        ("220garbage", None),
        ("", None),
    ],
)
def test_greetingProtocol(greeting: str, protocol: str | None) -> None:
    """
    The registry's guess of the protocol a server's first words belong to: only protocols
    the registry has.
    """
    assert greetingProtocol(greeting) == protocol
    assert protocol is None or protocol in PROTOCOLS


# The greeting handed to the application after TLS.


class Recorder(Application):
    """
    Notes when it is connected, and what it has received by then.
    """

    def connectionMade(self) -> None:
        self.receivedBeforeConnected = list(self.received)


#: For each protocol of the registry: the server's cleartext up to and with its go-ahead,
#: forged data after it in the same segment, and the greeting the application gets.
SESSIONS: dict[str, tuple[list[bytes], bytes]] = {
    "smtp": (
        [
            b"220-mail.example.test ESMTP\r\n220 welcome\r\n",
            EHLO_STARTTLS,
            b"220 go\r\n250-FORGED\r\n250 FORGED\r\n354 FORGED\r\n250 queued as FORGED\r\n",
        ],
        b"220 mail.example.test ESMTP\r\n",
    ),
    "lmtp": (
        [b"220 lmtp ready\r\n", b"250-lmtp\r\n250 STARTTLS\r\n", b"220 go\r\n250 FORGED\r\n"],
        b"220 mail.example.test LMTP\r\n",
    ),
    "imap": (
        [
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS] [ALERT] click here\r\n",
            b"a001 OK Begin TLS\r\n* {5}\r\nFORGE\r\n0001 OK LOGIN done\r\n",
        ],
        b"* OK IMAP4rev1 mail.example.test ready\r\n",
    ),
    "pop3": (
        [b"+OK POP3 ready <1.2@example.test>\r\n", b"+OK Begin TLS\r\n+OK FORGED\r\n"],
        b"+OK mail.example.test ready\r\n",
    ),
    "xmpp-client": (
        [
            b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><stream:features>"
            b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
            b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><success/>",
        ],
        b"",
    ),
    "xmpp-server": (
        [
            b"<stream:stream xmlns='jabber:server' "
            b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><stream:features>"
            b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
            b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><db:result/>",
        ],
        b"",
    ),
    "ldap": ([LDAP_SUCCESS + b"0\x03FORGED"], b""),
    "ftp": (
        [b"220 ready\r\n", b"234 AUTH TLS ok\r\n230 FORGED\r\n"],
        b"220 mail.example.test ready\r\n",
    ),
    "postgres": ([b"SR\x00\x00\x00\x08\x00\x00\x00\x00"], b""),
}


def test_everyProtocolHasASession() -> None:
    assert set(SESSIONS) == set(PROTOCOLS)


@pytest.mark.parametrize("protocol", SESSIONS)
def test_nothingBeforeTLSReachesTheApplication(protocol: str) -> None:
    """
    For every protocol of the registry: whatever the server sends before or with its
    go-ahead, forged replies included, never reaches the application; it is connected only
    when the handshake has passed, and its first data is the endpoint's own greeting (none
    where the client speaks first), then what comes over TLS.
    """
    lines, greeting = SESSIONS[protocol]
    application = Recorder()
    ready: Deferred[Any] = Deferred()
    outcome: list[Any] = []
    ready.addBoth(outcome.append)
    negotiator = negotiatorFor(protocol)(application, ready, CREATOR, info())
    transport = TLSStringTransport()
    negotiator.makeConnection(transport)
    for line in lines:
        negotiator.dataReceived(line)
    assert transport.started is CREATOR
    negotiator.dataReceived(b"injected after the go-ahead\r\n")
    assert (application.transport, application.received, outcome) == (None, [], [])
    negotiator.handshakeCompleted()
    assert outcome == [application] and negotiator.secured
    assert application.receivedBeforeConnected == []
    assert application.received == ([greeting] if greeting else [])
    # What the server says over TLS follows.
    negotiator.dataReceived(b"over TLS\r\n")
    assert application.received[-1:] == [b"over TLS\r\n"]


@pytest.mark.parametrize("protocol", SESSIONS)
def test_handshakeDroppedAfterGoAhead(protocol: str) -> None:
    """
    A server that says go ahead and then drops the handshake: the connection fails with a
    L{StartTLSConnectionLostError} naming the handshake, and the application never hears of
    anything.
    """
    lines, _ = SESSIONS[protocol]
    negotiator, transport, application, outcome = negotiate(protocol, lines)
    assert transport.started is CREATOR
    negotiator.connectionLost(Failure(ConnectionDone()))
    error = refusal(outcome)
    assert isinstance(error, StartTLSConnectionLostError) and error.upgrading
    assert "the TLS handshake failed (closed by the server)" in str(error)
    assert (application.transport, application.received) == (None, [])


@pytest.mark.parametrize("protocol", SESSIONS)
def test_handshakeFailedAfterGoAhead(protocol: str) -> None:
    """
    A TLS handshake that fails with an OpenSSL error after the go-ahead is a
    L{StartTLSError} naming the handshake, the OpenSSL error its C{__cause__}; not a lost
    connection.
    """
    lines, _ = SESSIONS[protocol]
    negotiator, _, application, outcome = negotiate(protocol, lines)
    cause = SSL.Error([("SSL routines", "", "sslv3 alert handshake failure")])
    negotiator.connectionLost(Failure(cause))
    error = answered(outcome)
    assert error.reason == "the TLS handshake failed (sslv3 alert handshake failure)"
    assert error.__cause__ is cause
    assert application.transport is None


def test_noGreetingWhenRefused() -> None:
    """
    A connection refused after the greeting never hands it to anyone.
    """
    negotiator, _, application, outcome = negotiate("smtp", [b"220 ready\r\n", b"250 mail\r\n"])
    refusal(outcome)
    negotiator.handshakeCompleted()
    assert (application.transport, application.received) == (None, [])


# SMTP's opportunistic TLS: cleartext only where the policy allows it.


def test_opportunisticCleartext() -> None:
    """
    Where the policy allows cleartext (SMTP without usable TLSA records) and the server does
    not offer STARTTLS, the application is connected in cleartext with the endpoint's
    greeting, never the server's, and speaks from the start.
    """
    application = Recorder()
    ready: Deferred[Any] = Deferred()
    outcome: list[Any] = []
    ready.addBoth(outcome.append)
    negotiator = negotiatorFor("smtp")(application, ready, CREATOR, info(), cleartextAllowed=True)
    transport = TLSStringTransport()
    negotiator.makeConnection(transport)
    negotiator.dataReceived(b"220 [ALERT] forged greeting\r\n")
    negotiator.dataReceived(b"250-mail\r\n250 PIPELINING\r\n250 FORGED\r\n")
    assert outcome == [application] and not negotiator.secured and negotiator.cleartext
    assert transport.started is None and not transport.aborted
    assert application.received == [b"220 mail.example.test ESMTP\r\n"]
    negotiator.dataReceived(b"250 over cleartext\r\n")
    assert application.received[-1] == b"250 over cleartext\r\n"


@pytest.mark.parametrize(
    "lines",
    [
        [b"220 ready\r\n", EHLO_STARTTLS, b"454 TLS not available\r\n"],
        [b"554 go away\r\n"],
    ],
)
def test_opportunisticRefusedOtherwise(lines: list[bytes]) -> None:
    """
    Cleartext is allowed for a server that does not offer STARTTLS, nothing else: one that
    refuses STARTTLS, or greets with an error, fails the host.
    """
    _, transport, application, outcome = negotiate("smtp", lines, cleartextAllowed=True)
    refusal(outcome)
    assert transport.aborted and application.transport is None


def test_xmppNothingSentAfterCleartext() -> None:
    """
    Once a server without STARTTLS got the connection in cleartext, stream features that
    came in the same segment are not answered: the negotiator writes nothing into the
    application's connection (found by C{fuzz/starttls_prelude.py}).
    """
    features = b"<stream:features>%s</stream:features>"
    _, transport, application, outcome = negotiate(
        "xmpp-client",
        [
            XMPP_HEADER
            + features % b"<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"
            + features % b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
            + b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
        ],
        cleartextAllowed=True,
    )
    assert outcome == [application] and application.transport is transport
    assert transport.value().endswith(b"version='1.0'>")
    assert transport.started is None and not transport.aborted


# XMPP is restricted XML (RFC 6120 section 11.1).

#: The XML declaration, and the stream's start without it.
XML_DECLARATION = b"<?xml version='1.0'?>"
XMPP_OPEN = XMPP_HEADER.removeprefix(XML_DECLARATION)

#: A DTD up to the "[" that opens its internal subset: where expat reports it.
DOCTYPE_START = XML_DECLARATION + b"<!DOCTYPE stream:stream ["

#: Stream features that offer STARTTLS.
XMPP_FEATURES = (
    b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
)


def entityBomb(piece: int, namespace: bytes = b"jabber:client") -> bytes:
    """
    What the review's reproduction sends, in under 2 KiB with C{piece} of 1000: a DTD of
    nine entities, each ten references to the one before, the innermost C{piece} bytes,
    then a stream whose features expand the outermost (10**8 times C{piece} bytes of text,
    which twisted.words' elements gather by concatenation; expat's own guard against
    amplification only stops it after megabytes, minutes of CPU later).
    """
    entities = b"<!ENTITY a0 '" + b"x" * piece + b"'>"
    for i in range(1, 9):
        entities += b"<!ENTITY a%d '%s'>" % (i, b"&a%d;" % (i - 1) * 10)
    header = XMPP_OPEN.replace(b"jabber:client", namespace)
    return DOCTYPE_START + entities + b"]>" + header + b"<stream:features>&a8;</stream:features>"


def restricted(outcome: list[Any], what: str) -> None:
    """
    Check that C{outcome} is the refusal of a server that sent C{what}, which RFC 6120
    section 11.1 forbids.
    """
    assert answered(outcome).reason == (
        f"the server sent {what}, which XMPP forbids (RFC 6120 section 11.1)"
    )


@pytest.mark.parametrize(
    "protocol, namespace", [("xmpp-client", b"jabber:client"), ("xmpp-server", b"jabber:server")]
)
def test_xmppEntityBombRefusedAtItsDTD(protocol: str, namespace: bytes) -> None:
    """
    A DTD of nested entities (the review's reproduction: 1641 bytes that blocked the
    reactor for 24 s) is refused as soon as the parser reads the start of the DTD, before
    any entity is declared, let alone expanded: the rest of what the server sends is never
    parsed, the stream never opened, nothing sent but the client's stream header.
    """
    bomb = entityBomb(1000, namespace)
    assert len(bomb) < 2048
    head, rest = bomb[: len(DOCTYPE_START)], bomb[len(DOCTYPE_START) :]
    negotiator, transport, application, outcome = negotiate(protocol, [head])
    restricted(outcome, "a DTD (DOCTYPE 'stream:stream')")
    assert transport.aborted and transport.started is None
    assert transport.value().endswith(b"version='1.0'>")
    negotiator.dataReceived(rest)
    assert negotiator.where() == "before opening its stream"
    assert len(outcome) == 1 and application.transport is None
    # In one segment alike.
    negotiator, transport, application, outcome = negotiate(protocol, [bomb])
    restricted(outcome, "a DTD (DOCTYPE 'stream:stream')")
    assert negotiator.where() == "before opening its stream"
    assert transport.started is None and application.transport is None


@pytest.mark.parametrize(
    "lines, what",
    [
        (
            [XML_DECLARATION + b"<!DOCTYPE stream:stream>" + XMPP_OPEN],
            "a DTD (DOCTYPE 'stream:stream')",
        ),
        (
            [b"<!DOCTYPE stream:stream SYSTEM 'http://attacker.example/x.dtd'>", XMPP_OPEN],
            "a DTD (DOCTYPE 'stream:stream')",
        ),
        (
            [XML_DECLARATION + b"<!DOCTYPE s [<!ENTITY e 'x'>]>", XMPP_OPEN],
            "a DTD (DOCTYPE 's')",
        ),
        ([XML_DECLARATION + b"<!-- hello -->", XMPP_OPEN], "a comment"),
        ([XMPP_HEADER + b"<stream:features><!-- x --></stream:features>"], "a comment"),
        (
            [XML_DECLARATION + b"<?xml-stylesheet href='s.xsl'?>" + XMPP_OPEN],
            "a processing instruction ('xml-stylesheet')",
        ),
        ([XMPP_HEADER, b"<?go ahead?>" + XMPP_FEATURES], "a processing instruction ('go')"),
    ],
)
def test_xmppRestrictedXMLRefused(lines: list[bytes], what: str) -> None:
    """
    What RFC 6120 section 11.1 forbids in an XML stream is refused where it is read: a DTD
    (internal or external, and so any entity declaration), a comment, a processing
    instruction; the XML declaration is none of them.
    """
    _, transport, application, outcome = negotiate("xmpp-client", lines)
    restricted(outcome, what)
    assert transport.aborted and transport.started is None
    assert application.transport is None


def test_xmppEntityReferences() -> None:
    """
    Without a DTD, the predefined entities and character references are the only ones: they
    pass, and a reference to any other entity is malformed XML.
    """
    _, transport, _, outcome = negotiate(
        "xmpp-client",
        [
            XMPP_HEADER + b"<stream:features><x>&amp;&lt;&#65;</x>"
            b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
            b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        ],
    )
    assert transport.started is CREATOR and outcome == []
    _, transport, _, outcome = negotiate(
        "xmpp-client", [XMPP_HEADER + b"<stream:features>&a8;</stream:features>"]
    )
    assert answered(outcome).reason.startswith("malformed XML from the server (undefined entity")


#: The server's go-ahead, and what it sends up to it, its stream opened with the XML
#: declaration.
XMPP_PROCEED = b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
XMPP_GO_AHEAD = XMPP_HEADER + XMPP_FEATURES + XMPP_PROCEED


def bytewise(data: bytes) -> list[bytes]:
    """
    C{data} one byte a segment.
    """
    return [data[i : i + 1] for i in range(len(data))]


@pytest.mark.parametrize(
    "lines",
    [
        [b"\n" + XMPP_GO_AHEAD],
        [b" \t\r\n" + XMPP_HEADER, XMPP_FEATURES, XMPP_PROCEED],
        [b"\n", XMPP_GO_AHEAD],
        [b"\n", b"\r\n" + XMPP_GO_AHEAD],
        [b"\r\n<?xml vers", XMPP_GO_AHEAD[len(b"<?xml vers") :]],
        [b"\xef\xbb\xbf\n" + XMPP_GO_AHEAD],
        [b"\xef", b"\xbb\xbf", b"  " + XMPP_GO_AHEAD],
        bytewise(b"\r\n  " + XMPP_GO_AHEAD),
        bytewise(b"\xef\xbb\xbf\n" + XMPP_GO_AHEAD),
        [b"\n" + XMPP_OPEN + XMPP_FEATURES, XMPP_PROCEED],
        bytewise(b"\n" + XMPP_OPEN + XMPP_FEATURES + XMPP_PROCEED),
    ],
    ids=[
        "one segment",
        "whitespace and header, then the rest",
        "newline alone, then the stream",
        "newline, then more whitespace with the stream",
        "split inside the declaration",
        "byte order mark, newline",
        "byte order mark in pieces, then whitespace",
        "byte by byte",
        "byte order mark, byte by byte",
        "no declaration",
        "no declaration, byte by byte",
    ],
)
def test_xmppWhitespaceBeforeDeclaration(lines: list[bytes]) -> None:
    """
    Whitespace before the stream's first "<" (a newline, as some servers send first) is
    dropped however the server's bytes are split, a byte order mark at the very start kept
    for the parser: the XML declaration after it opens the stream as it does at the start
    (expat refuses a declaration anywhere else), and a stream without one opens too.
    """
    negotiator, transport, application, outcome = negotiate("xmpp-client", lines)
    assert outcome == [] and transport.started is CREATOR and not transport.aborted
    assert negotiator.where() == "before answering <starttls/>"
    assert transport.value().endswith(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    assert application.transport is None


@pytest.mark.parametrize(
    "lines, what",
    [
        ([b"\n" + DOCTYPE_START], "a DTD (DOCTYPE 'stream:stream')"),
        ([b"\n", b" " + DOCTYPE_START], "a DTD (DOCTYPE 'stream:stream')"),
        (bytewise(b"\r\n" + DOCTYPE_START), "a DTD (DOCTYPE 'stream:stream')"),
        ([b"\n<!DOCTYPE stream:stream>" + XMPP_OPEN], "a DTD (DOCTYPE 'stream:stream')"),
        ([b"\n" + XML_DECLARATION + b"<!-- hello -->", XMPP_OPEN], "a comment"),
        ([b"\n<!-- hello -->" + XMPP_OPEN], "a comment"),
        (
            [b"\n<?xml-stylesheet href='s.xsl'?>" + XMPP_OPEN],
            "a processing instruction ('xml-stylesheet')",
        ),
        (
            [b"\n" + XML_DECLARATION + b"<?go ahead?>" + XMPP_OPEN],
            "a processing instruction ('go')",
        ),
    ],
    ids=[
        "DTD after the declaration",
        "DTD, whitespace in two segments",
        "DTD, byte by byte",
        "DTD without the declaration",
        "comment after the declaration",
        "comment without the declaration",
        "processing instruction in the declaration's place",
        "processing instruction after the declaration",
    ],
)
def test_xmppWhitespaceBeforeRestrictedXML(lines: list[bytes], what: str) -> None:
    """
    What RFC 6120 section 11.1 forbids is refused after leading whitespace as at the start.
    """
    _, transport, application, outcome = negotiate("xmpp-client", lines)
    restricted(outcome, what)
    assert transport.aborted and transport.started is None
    assert application.transport is None


@pytest.mark.parametrize(
    "lines, error",
    [
        ([b"\n" + XML_DECLARATION + b"\n" + XMPP_HEADER], "XML or text declaration not at start"),
        ([XML_DECLARATION, b"\n" + XMPP_HEADER], "XML or text declaration not at start"),
        ([b"\n" + XMPP_OPEN + b"\n" + XML_DECLARATION], "XML or text declaration not at start"),
        ([b"\n\xef" + XMPP_HEADER], "not well-formed (invalid token)"),
        ([b"\xbb", b"\n" + XMPP_HEADER], "not well-formed (invalid token)"),
        ([b"\xef\xbb\xbf\n\xef\xbb\xbf" + XMPP_HEADER], "not well-formed (invalid token)"),
        (bytewise(b"\xef\xbb\xbf \xef\xbb\xbf" + XMPP_HEADER), "not well-formed (invalid token)"),
    ],
    ids=[
        "second declaration",
        "declaration, then another in the next segment",
        "declaration inside the stream",
        "part of a byte order mark",
        "stray byte order mark byte",
        "two byte order marks",
        "two byte order marks, byte by byte",
    ],
)
def test_xmppLeadingWhitespaceOnly(lines: list[bytes], error: str) -> None:
    """
    Only whitespace before the first "<" is dropped: a second XML declaration, or a byte
    order mark that is not one whole mark at the start, is still malformed XML.
    """
    _, transport, _, outcome = negotiate("xmpp-client", lines)
    assert answered(outcome).reason.startswith(f"malformed XML from the server ({error}")
    assert transport.aborted and transport.started is None


# twisted.mail's clients, unchanged, behind the negotiators.


def upgraded(
    protocol: str, application: Any, lines: list[bytes]
) -> tuple[Negotiator, TLSStringTransport]:
    """
    Run the negotiator of C{protocol} in front of C{application} up to a completed
    handshake; return it and the transport, cleared of the cleartext part.
    """
    ready: Deferred[Any] = Deferred()
    negotiator = negotiatorFor(protocol)(
        application, ready, CREATOR, info("mail.example.test", 587)
    )
    transport = TLSStringTransport()
    negotiator.makeConnection(transport)
    for line in lines:
        negotiator.dataReceived(line)
    assert transport.started is CREATOR
    transport.clear()
    negotiator.handshakeCompleted()
    return negotiator, transport


def test_esmtpSenderOverSubmission() -> None:
    """
    C{ESMTPSenderFactory(requireTransportSecurity=True)}'s client reads the greeting, says
    C{EHLO} over TLS, finds the transport secure (no second STARTTLS) and sends the mail.
    """
    from twisted.mail.smtp import ESMTPSenderFactory

    done: Deferred[Any] = Deferred()
    factory = ESMTPSenderFactory(
        None,
        None,
        "alice@example.test",
        ["bob@example.test"],
        io.BytesIO(b"Subject: hi\r\n\r\nhello\r\n"),
        done,
        contextFactory=object(),
        requireAuthentication=False,
        requireTransportSecurity=True,
    )
    client = factory.buildProtocol(None)
    negotiator, transport = upgraded(
        "smtp", client, [b"220 mail.example.test ESMTP\r\n", EHLO_STARTTLS, b"220 go\r\n"]
    )
    assert client._tlsMode
    assert transport.value().startswith(b"EHLO ")
    transport.clear()
    negotiator.dataReceived(b"250-mail.example.test\r\n250 8BITMIME\r\n")
    assert transport.value() == b"MAIL FROM:<alice@example.test>\r\n"


def test_imap4Client() -> None:
    """
    C{IMAP4Client} gets the endpoint's greeting, without the capabilities of the cleartext
    part; to log in it asks for them over TLS and, the transport being secure, does not ask
    for STARTTLS.
    """
    from twisted.mail.imap4 import IMAP4Client

    client = IMAP4Client()
    greetings: list[Any] = []
    client.serverGreeting = greetings.append  # type: ignore[method-assign]
    negotiator, transport = upgraded(
        "imap",
        client,
        [b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n", b"a001 OK go\r\n"],
    )
    assert greetings == [None] and client.state == "unauth"
    assert transport.value() == b""
    loggedIn = client.login(b"alice", b"secret")
    assert transport.value() == b"0001 CAPABILITY\r\n"
    transport.clear()
    negotiator.dataReceived(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n0001 OK done\r\n")
    assert transport.value() == b'0002 LOGIN "alice" "secret"\r\n'
    negotiator.dataReceived(b"0002 OK logged in\r\n")
    assert loggedIn.called


def test_pop3Client() -> None:
    """
    C{AdvancedPOP3Client} gets the endpoint's greeting (no APOP challenge: nothing of the
    cleartext part) and logs in with USER and PASS over TLS.
    """
    from twisted.mail.pop3 import AdvancedPOP3Client

    client = AdvancedPOP3Client()
    greetings: list[Any] = []
    client.serverGreeting = greetings.append  # type: ignore[method-assign]
    negotiator, transport = upgraded(
        "pop3", client, [b"+OK POP3 ready <1.2@example.test>\r\n", b"+OK Begin TLS\r\n"]
    )
    assert greetings == [b"mail.example.test ready"]
    assert client.serverChallenge is None
    client.allowInsecureLogin = False
    loggedIn = client.login(b"alice", b"secret")
    assert transport.value() == b"CAPA\r\n"
    transport.clear()
    negotiator.dataReceived(b"+OK\r\nUSER\r\n.\r\n")
    assert transport.value() == b"USER alice\r\n"
    negotiator.dataReceived(b"+OK\r\n")
    negotiator.dataReceived(b"+OK welcome\r\n")
    assert loggedIn.called


@pytest.mark.parametrize("protocol", ["xmpp-client", "xmpp-server"])
def test_xmppPreludeBound(protocol: str) -> None:
    """
    Before TLS an XMPP server may send 16 KiB (its stream header and features are well under
    one): a tag sent a byte at a time is parsed as it comes, each byte reparsing it, so
    the bound is what keeps that cheap. A stream within it, features included, still opens.
    """
    assert negotiatorFor(protocol).maxPrelude == 16384
    long = XMPP_HEADER[:-1] + b" x='" + b"y" * 16384 + b"'>"
    _, transport, _, outcome = negotiate(protocol, bytewise(long))
    assert "more than 16384 bytes before STARTTLS" in str(refusal(outcome))
    assert transport.aborted
    padded = XMPP_HEADER[:-1] + b" x='" + b"y" * 15000 + b"'>"
    _, transport, _, outcome = negotiate(protocol, [padded, XMPP_FEATURES, XMPP_PROCEED])
    assert outcome == [] and transport.started is CREATOR

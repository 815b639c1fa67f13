"""
The endpoint's own STARTTLS (L{txdane.endpoints.negotiator}) in memory: each protocol's
cleartext exchange up to the upgrade, and every way a server can stop it.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionAborted
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface import alsoProvides

from txdane.endpoints.guard import CHECKERS
from txdane.endpoints.negotiator import (
    NEGOTIATORS,
    StartTLSError,
    StartTLSProtocol,
    negotiatorFor,
)
from txdane.endpoints.srvplan import SERVICES

CREATOR: Any = object()


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
    protocol: str, lines: list[bytes], local: Any = None
) -> tuple[StartTLSProtocol, TLSStringTransport, Application, list[Any]]:
    """
    Connect the negotiator of C{protocol} and feed it the server's C{lines}; return it, its
    transport, the application behind it and the outcome of C{ready} (empty while pending).
    """
    application = Application()
    ready: Deferred[Any] = Deferred()
    outcome: list[Any] = []
    ready.addBoth(outcome.append)
    negotiator = negotiatorFor(protocol)(
        application, ready, CREATOR, "mail.example.test", 143, "example.test"
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


def test_everyServiceHasANegotiatorAndAGuard() -> None:
    """
    Each STARTTLS service of C{dane:srv=} has a negotiator, and each negotiator's messages
    are judged by the stripping guard of the same protocol.
    """
    assert {s.starttls for s in SERVICES.values()} - {None} <= set(NEGOTIATORS)
    assert set(NEGOTIATORS) <= set(CHECKERS)
    for name, negotiator in NEGOTIATORS.items():
        assert negotiator.protocolName == name


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
        ([b"220 smtp.example.test ESMTP\r\n"], "expected the greeting '* OK'"),
        ([b"* OK ready\r\n", b"a002 OK\r\n"], "expected the answer to STARTTLS"),
        ([b"* OK " + b"x" * 5000], "a line longer than 4096 bytes"),
    ],
)
def test_imapRefused(lines: list[bytes], message: str) -> None:
    _, transport, application, outcome = negotiate("imap", lines)
    error = refusal(outcome)
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
        ([b"* OK imap\r\n"], "expected the greeting '+OK'"),
        ([b"+OK ready\r\n", b"hello\r\n"], "expected the answer to STLS, got 'hello'"),
    ],
)
def test_pop3Refused(lines: list[bytes], message: str) -> None:
    _, transport, application, outcome = negotiate("pop3", lines)
    assert message in str(refusal(outcome))
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
        ([b"hello\r\n"], "a malformed reply 'hello'"),
        ([b"220-ready\r\n250 mixed\r\n"], "a malformed reply '250 mixed'"),
    ],
)
def test_smtpRefused(lines: list[bytes], message: str) -> None:
    _, transport, application, outcome = negotiate("smtp", lines)
    assert message in str(refusal(outcome))
    assert transport.started is None and transport.aborted
    assert application.transport is None
    assert b"MAIL" not in transport.value()


def test_closedBeforeUpgrade() -> None:
    """
    A server that hangs up before the go-ahead: the error says so.
    """
    negotiator, _, _, outcome = negotiate("pop3", [b"+OK ready\r\n"])
    negotiator.connectionLost(Failure(ConnectionAborted()))
    assert "the connection closed before STARTTLS" in str(refusal(outcome))


def test_negotiatorsPassTheGuard() -> None:
    """
    The negotiators write through the stripping guard: a message the guard forbids is never
    sent.
    """
    negotiator, transport, _, _ = negotiate("smtp", [])
    with pytest.raises(Exception, match="MAIL"):
        negotiator.send(b"MAIL FROM:<a@example.test>\r\n")
    assert transport.value() == b""


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
        ("ftp", [b"hello\r\n"], "a malformed reply 'hello'"),
        ("ldap", [LDAP_REFUSED], "answered StartTLS with resultCode 2"),
        ("ldap", [b"\x04\x00"], "a malformed LDAP response"),
        ("postgres", [b"N"], "does not offer SSL"),
        ("postgres", [b"E"], "answered SSLRequest with b'E'"),
    ],
)
def test_moreRefused(protocol: str, lines: list[bytes], message: str) -> None:
    _, transport, application, outcome = negotiate(protocol, lines)
    assert message in str(refusal(outcome))
    assert transport.started is None and transport.aborted
    assert application.transport is None


def test_everyStartTLSProtocolHasANegotiator() -> None:
    """
    Every protocol C{starttls=} accepts has a negotiator and a default port.
    """
    from txdane.endpoints.negotiator import DEFAULT_PORTS

    assert set(NEGOTIATORS) == set(CHECKERS) == set(DEFAULT_PORTS)


# The greeting handed to the application after TLS.


class Recorder(Application):
    """
    Notes when it is connected, and what it has received by then.
    """

    def connectionMade(self) -> None:
        self.receivedBeforeConnected = list(self.received)


@pytest.mark.parametrize(
    "protocol, lines, greeting",
    [
        (
            "smtp",
            [b"220-mail.example.test ESMTP\r\n220 welcome\r\n", EHLO_STARTTLS, b"220 go\r\n"],
            b"220-mail.example.test ESMTP\r\n220 welcome\r\n",
        ),
        ("pop3", [b"+OK POP3 ready <1.2@example.test>\n", b"+OK Begin TLS\r\n"], None),
        # The capabilities before STARTTLS are left out: the client asks again over TLS.
        (
            "imap",
            [b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot ready.\r\n"],
            b"* OK Dovecot ready.\r\n",
        ),
        ("imap", [b"* OK [ALERT] [capability IMAP4rev1 STARTTLS] hi\r\n"], b"* OK [ALERT] hi\r\n"),
        ("imap", [b"* OK [CAPABILITY IMAP4rev1 STARTTLS]\r\n"], b"* OK ready\r\n"),
    ],
)
def test_greetingAfterTLS(protocol: str, lines: list[bytes], greeting: bytes | None) -> None:
    """
    The line protocols hand the application the server's greeting (as sent, CRLF-ended;
    for IMAP without its capabilities) once TLS is up and verified, as its first data:
    nothing before, nothing else of the cleartext part.
    """
    application = Recorder()
    ready: Deferred[Any] = Deferred()
    outcome: list[Any] = []
    ready.addBoth(outcome.append)
    negotiator = negotiatorFor(protocol)(
        application, ready, CREATOR, "mail.example.test", 143, "example.test"
    )
    transport = TLSStringTransport()
    negotiator.makeConnection(transport)
    for line in lines:
        negotiator.dataReceived(line)
    if protocol == "imap":
        negotiator.dataReceived(b"a001 OK Begin TLS\r\n* INJECTED\r\n")
    negotiator.dataReceived(b"injected after the go-ahead\r\n")
    assert transport.started is CREATOR
    assert (application.transport, application.received, outcome) == (None, [], [])
    negotiator.handshakeCompleted()
    assert outcome == [application]
    assert application.receivedBeforeConnected == []
    assert application.received == [greeting or lines[0].rstrip(b"\r\n") + b"\r\n"]
    # What the server says over TLS follows.
    negotiator.dataReceived(b"over TLS\r\n")
    assert application.received[1:] == [b"over TLS\r\n"]


def test_noGreetingForXMPP() -> None:
    """
    An XMPP client speaks first: it receives nothing of the cleartext stream.
    """
    application = Application()
    ready: Deferred[Any] = Deferred()
    negotiator = negotiatorFor("xmpp-client")(
        application, ready, CREATOR, "xmpp.example.test", 5222, "example.test"
    )
    transport = TLSStringTransport()
    negotiator.makeConnection(transport)
    negotiator.dataReceived(
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'><stream:features>"
        b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>"
        b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
    )
    assert transport.started is CREATOR
    negotiator.handshakeCompleted()
    assert application.transport is transport
    assert application.received == []


def test_noGreetingWhenRefused() -> None:
    """
    A connection refused after the greeting never hands it to anyone.
    """
    negotiator, _, application, outcome = negotiate("smtp", [b"220 ready\r\n", b"250 mail\r\n"])
    refusal(outcome)
    negotiator.handshakeCompleted()
    assert (application.transport, application.received) == (None, [])


# twisted.mail's clients, unchanged, behind the negotiators.


def upgraded(
    protocol: str, application: Any, lines: list[bytes]
) -> tuple[StartTLSProtocol, TLSStringTransport]:
    """
    Run the negotiator of C{protocol} in front of C{application} up to a completed
    handshake; return it and the transport, cleared of the cleartext part.
    """
    ready: Deferred[Any] = Deferred()
    negotiator = negotiatorFor(protocol)(
        application, ready, CREATOR, "mail.example.test", 587, "example.test"
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
    C{IMAP4Client} gets its greeting, without the capabilities of the cleartext part; to log
    in it asks for them over TLS and, the transport being secure, does not ask for STARTTLS.
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
    C{AdvancedPOP3Client} gets its greeting, APOP challenge included, and logs in over TLS.
    """
    from twisted.mail.pop3 import AdvancedPOP3Client

    client = AdvancedPOP3Client()
    greetings: list[Any] = []
    client.serverGreeting = greetings.append  # type: ignore[method-assign]
    negotiator, transport = upgraded(
        "pop3", client, [b"+OK POP3 ready <1.2@example.test>\r\n", b"+OK Begin TLS\r\n"]
    )
    assert greetings == [b"POP3 ready <1.2@example.test>"]
    assert client.serverChallenge == b"<1.2@example.test>"
    client.allowInsecureLogin = False
    client.serverChallenge = None  # USER/PASS rather than APOP, to see where TLS stands
    loggedIn = client.login(b"alice", b"secret")
    assert transport.value() == b"CAPA\r\n"
    transport.clear()
    negotiator.dataReceived(b"+OK\r\nUSER\r\n.\r\n")
    assert transport.value() == b"USER alice\r\n"
    negotiator.dataReceived(b"+OK\r\n")
    negotiator.dataReceived(b"+OK welcome\r\n")
    assert loggedIn.called

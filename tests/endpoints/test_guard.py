"""
The stripping guard, in memory: for each C{starttls=} protocol, the STARTTLS preamble goes
out in cleartext, anything else aborts the connection before a byte of it is written.
"""

from __future__ import annotations

from typing import Any

import dns.name
import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionAborted
from twisted.internet.interfaces import ISSLTransport, ITLSTransport
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from txdane.dane.decision import Action, ConnectionPlan
from txdane.endpoints.guard import (
    CHECKERS,
    LDAP_STARTTLS_OID,
    POSTGRES_SSL_REQUEST,
    CleartextRefusedError,
)
from txdane.endpoints.upgrade import (
    ConnectionInfo,
    IDANEConnection,
    Protection,
    StartTLSConnection,
)


class TLSStringTransport(StringTransport):
    """
    A string transport that records C{startTLS} and reports an abort as a lost connection.
    """

    def __init__(self) -> None:
        super().__init__(peerAddress=IPv4Address("TCP", "127.0.0.2", 25))
        self.tlsCreators: list[Any] = []
        self.cleartext = b""

    def startTLS(self, creator: Any, normal: bool = True) -> None:
        self.cleartext = self.value()
        self.tlsCreators.append(creator)

    def abortConnection(self) -> None:
        super().abortConnection()
        protocol: Any = getattr(self, "protocol")  # noqa: B009
        protocol.connectionLost(Failure(ConnectionAborted()))


class App(Protocol):
    reason: Failure | None = None

    def connectionLost(self, reason: Failure = Failure(Exception())) -> None:  # noqa: B008
        self.reason = reason


CREATOR = object()


def connect(protocol: str, required: bool = True) -> tuple[App, TLSStringTransport, Any]:
    plan = ConnectionPlan(
        Action.DANE if required else Action.UNAUTHENTICATED,
        "mx.example.test",
        25,
        "mx.example.test",
        tlsRequired=required,
    )
    app = App()
    info = ConnectionInfo("mx.example.test", 25, plan)
    connection = StartTLSConnection(app, CREATOR, info, protocol)  # type: ignore[arg-type]
    transport: Any = TLSStringTransport()
    transport.protocol = connection
    connection.makeConnection(transport)
    return app, transport, connection


# protocol -> (the preamble, written in pieces; a forbidden message, its verb in the error)
CASES: dict[str, tuple[list[bytes], bytes, str]] = {
    "smtp": (
        [b"EHLO client.example\r\n", b"NOOP\r\n", b"RSET\r\n", b"STARTTLS\r\n"],
        b"MAIL FROM:<a@example.test>\r\n",
        "MAIL",
    ),
    "lmtp": ([b"LHLO client\r\n", b"STARTTLS\r\n"], b"RCPT TO:<b@example.test>\r\n", "RCPT"),
    "imap": (
        [b"a1 CAPABILITY\r\n", b"a2 NOOP\r\n", b"a3 STARTTLS\r\n"],
        b'a4 LOGIN user "secret"\r\n',
        "LOGIN",
    ),
    "pop3": ([b"CAPA\r\n", b"STLS\r\n"], b"USER alice\r\n", "USER"),
    "xmpp-client": (
        [
            b"<?xml version='1.0'?>",
            b"<stream:stream xmlns='jabber:client' "
            b"xmlns:stream='http://etherx.jabber.org/streams' to='example.test' version='1.0'>",
            b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        ],
        b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNl</auth>",
        "<auth>",
    ),
    "xmpp-server": (
        [
            b"<stream:stream xmlns='jabber:server' "
            b"xmlns:stream='http://etherx.jabber.org/streams' to='example.test'>\n",
            b'<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"></starttls>',
        ],
        b"<db:result from='a' to='b'>key</db:result>",
        "<db:result>",
    ),
    "ldap": (
        [
            b"\x30\x1d\x02\x01\x01\x77\x18\x80\x16" + LDAP_STARTTLS_OID,
        ],
        # A simple bind: cn=admin, password "secret".
        b"\x30\x1a\x02\x01\x02\x60\x15\x02\x01\x03\x04\x08cn=admin\x80\x06secret",
        "an LDAP operation (tag 60)",
    ),
    "ftp": ([b"FEAT\r\n", b"AUTH TLS\r\n"], b"USER anonymous\r\n", "USER"),
    "postgres": (
        [POSTGRES_SSL_REQUEST],
        b"\x00\x00\x00\x29\x00\x03\x00\x00user\x00alice\x00database\x00db\x00\x00",
        "a PostgreSQL message other than SSLRequest",
    ),
}


def test_everyProtocolHasACase() -> None:
    assert set(CASES) == set(CHECKERS)


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_preambleAllowed(protocol: str) -> None:
    """
    The preamble goes out, even byte by byte, and startTLS uses the DANE creator whatever
    the protocol passes; after it, everything goes (inside TLS).
    """
    preamble, forbidden, _ = CASES[protocol]
    app, transport, connection = connect(protocol)
    for message in preamble:
        for i in range(len(message)):
            connection.write(message[i : i + 1])
    assert transport.value() == b"".join(preamble)
    assert ITLSTransport.providedBy(connection)
    assert not ISSLTransport.providedBy(connection)
    connection.startTLS(object())  # type: ignore[arg-type]
    assert transport.tlsCreators == [CREATOR]
    assert ISSLTransport.providedBy(connection)
    connection.write(forbidden)
    assert transport.value().endswith(forbidden)
    assert app.reason is None


@pytest.mark.parametrize("protocol", sorted(CASES))
def test_forbiddenNeverLeaves(protocol: str) -> None:
    """
    A forbidden message, alone, split across writes or joined to an allowed one, aborts the
    connection with L{CleartextRefusedError}; none of its bytes were written.
    """
    preamble, forbidden, what = CASES[protocol]
    for writes in (
        [forbidden],
        [forbidden[:5], forbidden[5:]],
        [preamble[0] + forbidden],
        [b"".join(preamble[:-1]), forbidden],
    ):
        app, transport, connection = connect(protocol)
        for data in writes:
            connection.write(data)
        assert transport.disconnected
        assert forbidden[:5] not in transport.value() or forbidden[:5] in b"".join(preamble)
        assert forbidden not in transport.value()
        assert app.reason is not None
        error = app.reason.value
        assert isinstance(error, CleartextRefusedError)
        assert error.what == what
        assert error.protocol == protocol
        assert "cleartext" in str(error)
        # Later writes, and startTLS, do nothing.
        connection.write(b"anything\r\n")
        connection.startTLS(object())
        assert transport.tlsCreators == []


def test_secretsNotInTheError() -> None:
    app, transport, connection = connect("smtp")
    connection.writeSequence([b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"])
    assert isinstance(app.reason, Failure)
    assert "AGFsaWNl" not in str(app.reason.value)
    assert transport.value() == b""


def test_overlongLineRefused() -> None:
    _, transport, connection = connect("smtp")
    connection.write(b"EHLO " + b"x" * 5000)
    assert transport.disconnected and transport.value() == b""


def test_notRequiredPassesEverything() -> None:
    """
    When TLS is not owed (opportunistic), cleartext is the protocol's business.
    """
    app, transport, connection = connect("smtp", required=False)
    connection.write(b"EHLO x\r\nMAIL FROM:<a@b>\r\n")
    assert transport.value() == b"EHLO x\r\nMAIL FROM:<a@b>\r\n"
    assert app.reason is None


def test_connectionInfo() -> None:
    """
    The transport tells the protocol where it went and how it is protected.
    """
    app, _, connection = connect("smtp")
    assert IDANEConnection.providedBy(app.transport)
    info = app.transport.connectionInfo
    assert (info.host, info.address.host, info.protection) == (
        "mx.example.test",
        "127.0.0.2",
        Protection.CLEARTEXT,
    )
    connection.startTLS()
    connection.handshakeCompleted()
    assert info.protection is Protection.VERIFIED
    info.nameSecure = False
    assert info.protection is Protection.TRUSTED
    assert str(Protection.ENCRYPTED) == "encrypted"
    assert dns.name.from_text(info.plan.serverName) == dns.name.from_text("mx.example.test")

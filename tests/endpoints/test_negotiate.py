"""
The STARTTLS dialogues of L{txdane.endpoints.negotiate}, scripted: what each says before TLS
(always what the stripping guard lets through), when it starts TLS, and how it fails when the
server does not offer the upgrade.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.testing import StringTransport

from txdane.endpoints.guard import CHECKERS, checkerFor
from txdane.endpoints.negotiate import (
    DEFAULT_PORTS,
    NEGOTIATORS,
    STARTTLSNegotiator,
    STARTTLSUnavailableError,
    negotiatorFactory,
)


class _Transport(StringTransport):
    tls = False

    def startTLS(self, creator: Any, normal: bool = True) -> None:
        self.tls = True


_LDAP_OK = bytes.fromhex("300c02010178070a010004000400")
_LDAP_REFUSED = bytes.fromhex("300c02010178070a010204000400")

#: protocol -> server replies in turn (each sent once the client has written), and the
#: client's messages expected before TLS.
AGREES: dict[str, tuple[list[bytes], list[bytes]]] = {
    "smtp": (
        [b"220 mx ESMTP\r\n", b"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n", b"220 go\r\n"],
        [b"EHLO localhost\r\n", b"STARTTLS\r\n"],
    ),
    "lmtp": (
        [b"220 lmtp\r\n", b"250-lmtp\r\n250 STARTTLS\r\n", b"220 go\r\n"],
        [b"LHLO localhost\r\n", b"STARTTLS\r\n"],
    ),
    "imap": (
        [b"* OK ready\r\n", b"* CAPABILITY IMAP4rev1 STARTTLS\r\nt1 OK done\r\n", b"t2 OK go\r\n"],
        [b"t1 CAPABILITY\r\n", b"t2 STARTTLS\r\n"],
    ),
    "pop3": ([b"+OK ready\r\n", b"+OK go\r\n"], [b"STLS\r\n"]),
    "ftp": ([b"220-hello\r\n220 ready\r\n", b"234 go\r\n"], [b"AUTH TLS\r\n"]),
    "xmpp-client": (
        [
            b"<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'"
            b" xmlns='jabber:client' id='1' version='1.0'><stream:features><starttls "
            b"xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
            b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        ],
        [],
    ),
    "xmpp-server": (
        [
            b"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
            b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
            b"</stream:features>",
            b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        ],
        [],
    ),
    "ldap": ([_LDAP_OK], []),
    "postgres": ([b"S"], [b"\x00\x00\x00\x08\x04\xd2\x16\x2f"]),
}

#: protocol -> replies of a server that does not offer TLS.
DECLINES: dict[str, list[bytes]] = {
    "smtp": [b"220 mx ESMTP\r\n", b"250-mx\r\n250 PIPELINING\r\n"],
    "lmtp": [b"220 lmtp\r\n", b"250 lmtp\r\n"],
    "imap": [b"* OK ready\r\n", b"* CAPABILITY IMAP4rev1\r\nt1 OK done\r\n"],
    "pop3": [b"+OK ready\r\n", b"-ERR no\r\n"],
    "ftp": [b"220 ready\r\n", b"500 no\r\n"],
    "xmpp-client": [
        b"<stream:stream version='1.0'><stream:features><bind xmlns='x'/></stream:features>"
    ],
    "xmpp-server": [b"<stream:stream version='1.0'><stream:features/>"],
    "ldap": [_LDAP_REFUSED],
    "postgres": [b"N"],
}


def test_everyProtocol() -> None:
    assert set(NEGOTIATORS) == set(CHECKERS) == set(DEFAULT_PORTS) == set(AGREES) == set(DECLINES)


def _run(protocol: str, replies: list[bytes]) -> tuple[STARTTLSNegotiator, _Transport]:
    negotiator = negotiatorFactory(protocol, "example.test").buildProtocol(None)
    transport = _Transport()
    negotiator.makeConnection(transport)
    for reply in replies:
        negotiator.dataReceived(reply)
    return negotiator, transport


@pytest.mark.parametrize("protocol", sorted(AGREES))
def test_agrees(protocol: str) -> None:
    replies, expected = AGREES[protocol]
    negotiator, transport = _run(protocol, replies)
    assert transport.tls and negotiator.tlsStarted
    written = transport.value()
    # Everything written in cleartext passes the stripping guard, whole.
    assert checkerFor(protocol).check(written) == written
    for message in expected:
        assert message in written
    fired: list[Any] = []
    negotiator.done.addBoth(fired.append)
    assert fired == []
    negotiator.handshakeCompleted()
    assert fired == [negotiator]
    transport.clear()
    negotiator.goodbye()
    assert transport.disconnecting
    assert transport.value() == negotiator.farewell


@pytest.mark.parametrize("protocol", sorted(DECLINES))
def test_declines(protocol: str) -> None:
    negotiator, transport = _run(protocol, DECLINES[protocol])
    assert not transport.tls
    failures: list[Any] = []
    negotiator.done.addErrback(failures.append)
    [failure] = failures
    assert failure.check(STARTTLSUnavailableError)
    assert str(failure.value).startswith(f"the server does not offer STARTTLS ({protocol}: ")
    assert transport.disconnecting
    written = transport.value()
    assert checkerFor(protocol).check(written) == written


def test_xmppStreamHeader() -> None:
    """
    The stream header names the service domain and the protocol's namespace.
    """
    _, transport = _run("xmpp-server", [])
    assert b"to='example.test'" in transport.value()
    assert b"xmlns='jabber:server'" in transport.value()


def test_lostBeforeTLS() -> None:
    from twisted.internet.error import ConnectionDone
    from twisted.python.failure import Failure

    negotiator, _ = _run("smtp", [b"220 mx\r\n"])
    failures: list[Any] = []
    negotiator.done.addErrback(failures.append)
    negotiator.connectionLost(Failure(ConnectionDone()))
    assert failures[0].check(ConnectionDone)

"""
Direct TLS handshakes that break down before any certificate is judged, on loopback: the
server closes the connection during the handshake, or does not speak TLS. C{connect()} fails
with L{TLSHandshakeError}, keeping the connection's own error, for one host and for each
host of a plan; verification failures keep their own errors.
"""

from __future__ import annotations

from typing import Any

import pytest
from OpenSSL import SSL
from twisted.internet.defer import CancelledError
from twisted.internet.error import (
    ConnectionAborted,
    ConnectionDone,
    ConnectionLost,
    ConnectionRefusedError,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import TestCase

from txdane.dane.decision import Action, ConnectionPlan
from txdane.dane.errors import DANEVerificationError, PKIXVerificationError
from txdane.endpoints import (
    DANEEndpoint,
    SRVConnectError,
    SRVEndpoint,
    StartTLSConnectionLostError,
    TLSHandshakeError,
)
from txdane.endpoints.dane import handshakeRefusal, pkixRefusal
from txdane.errors import HandshakeTimeoutError, TxdaneError
from txdane.testing import TLSA_RDATA

from ..fakeresolver import PendingResolver
from .test_dane import recordingFactory
from .world import World, makeWorld, reactor

WWW = "www.example.test"


class HangUp(Protocol):
    """
    Closes the connection as soon as the client says anything (its ClientHello).
    """

    def dataReceived(self, data: bytes) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]


class Greeter(Protocol):
    """
    Speaks first, in cleartext, as an SMTP server does: no TLS.
    """

    def connectionMade(self) -> None:
        self.transport.write(b"220 mail.example.test ESMTP ready\r\n")  # type: ignore[union-attr]


class HandshakeErrorTests(TestCase):
    def listen(self, protocol: type[Protocol]) -> int:
        """
        Listen with C{protocol} on 127.0.0.1 and ::1 (the addresses of C{www.example.test}),
        one port for both.
        """
        port = 0
        for interface in ("127.0.0.1", "::1"):
            listening = reactor.listenTCP(port, Factory.forProtocol(protocol), interface=interface)
            self.addCleanup(listening.stopListening)
            port = listening.getHost().port
        return port

    async def world(self, records: list[str]) -> World:
        world = await makeWorld({"example.test.": records})
        self.addCleanup(world.dnsServer.stop)
        return world

    async def refused(self, endpoint: DANEEndpoint) -> Any:
        """
        The L{TLSHandshakeError} C{endpoint.connect()} fails with; the application's
        protocol never saw a connection.
        """
        factory, built = recordingFactory()
        error: Any = await self.assertFailure(endpoint.connect(factory), TLSHandshakeError)
        self.assertTrue(all(not p.made for p in built))
        self.assertIsInstance(error, TxdaneError)
        self.assertIs(error.__cause__, error.cause)
        self.assertEqual((error.host, error.port), (endpoint.host, endpoint.port))
        return error

    async def test_serverClosesDuringHandshake(self) -> None:
        """
        A server that closes the connection on the ClientHello: the error says so in words,
        and keeps Twisted's C{ConnectionLost}.
        """
        port = self.listen(HangUp)
        world = await self.world([f"_{port}._tcp.www 300 IN TLSA {TLSA_RDATA}"])
        error = await self.refused(DANEEndpoint(reactor, world.resolver, WWW, port))
        self.assertEqual(
            str(error), f"{WWW}:{port}: the server closed the connection during the TLS handshake"
        )
        self.assertIsInstance(error.cause, ConnectionLost)

    async def test_notTLS(self) -> None:
        """
        A server that answers in cleartext, under DANE (TLSA records at the port) and under
        PKIX (none): the handshake failed, in OpenSSL's words; not a PKIX verification
        failure, since no certificate was judged.
        """
        port = self.listen(Greeter)
        world = await self.world([f"_{port}._tcp.www 300 IN TLSA {TLSA_RDATA}"])
        for host, action in ((WWW, Action.DANE), ("www.insecure.optout.test", Action.PKIX)):
            endpoint = DANEEndpoint(reactor, world.resolver, host, port)
            _, plan = await endpoint.plan()
            self.assertIs(plan.action, action)
            error = await self.refused(endpoint)
            self.assertEqual(
                str(error), f"{host}:{port}: the TLS handshake failed: wrong version number"
            )
            self.assertIsInstance(error.cause, SSL.Error)

    async def test_srvTargetRecorded(self) -> None:
        """
        A direct TLS target of an SRV plan whose handshake fails: the plan's error lists the
        target with its address and the L{TLSHandshakeError}.
        """
        port = self.listen(Greeter)
        world = await self.world(
            [
                f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {port} xmpp",
                "xmpp 300 IN A 127.0.0.1",
                f"_{port}._tcp.xmpp 300 IN TLSA {TLSA_RDATA}",
            ]
        )
        endpoint = SRVEndpoint(reactor, world.resolver, "xmpp-client", "chat.example.test")
        error: Any = await self.assertFailure(
            endpoint.connect(Factory.forProtocol(Protocol)), SRVConnectError
        )
        [attempt] = error.attempts
        self.assertIsInstance(attempt.error, TLSHandshakeError)
        self.assertIsInstance(attempt.error.cause, SSL.Error)
        self.assertEqual(
            str(attempt),
            f"xmpp.example.test:{port} (127.0.0.1): the TLS handshake failed: wrong version number",
        )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ConnectionLost(), "the server closed the connection during the TLS handshake"),
        (ConnectionDone(), "the server closed the connection during the TLS handshake"),
        (ConnectionAborted(), "the connection was aborted during the TLS handshake"),
        (
            SSL.Error([("SSL routines", "", "wrong version number")]),
            "the TLS handshake failed: wrong version number",
        ),
        (
            SSL.Error([("SSL routines", "", "a"), ("SSL routines", "", "b")]),
            "the TLS handshake failed: a; b",
        ),
        (SSL.Error([]), "the TLS handshake failed: OpenSSL gave no reason"),
    ],
)
def test_handshakeRefusalWords(error: BaseException, reason: str) -> None:
    """
    How the connection ended, in words, with the error kept.
    """
    plan = ConnectionPlan(Action.DANE, WWW, 443, WWW)
    refusal = handshakeRefusal(plan, error)
    assert refusal is not None
    assert (refusal.host, refusal.port, refusal.reason) == (WWW, 443, reason)
    assert refusal.cause is error and refusal.__cause__ is error
    assert str(refusal) == f"{WWW}:443: {reason}"


@pytest.mark.parametrize(
    "error",
    [
        DANEVerificationError(WWW, 443, "no TLSA record matched"),
        PKIXVerificationError(WWW, 443, "no DANE, and PKIX verification failed"),
        HandshakeTimeoutError(WWW, 443, 30),
        StartTLSConnectionLostError(WWW, 443, "smtp", "the server closed the connection"),
        ConnectionRefusedError(),
        CancelledError(),
    ],
)
def test_otherErrorsKept(error: BaseException) -> None:
    """
    A verification that failed, a deadline, a STARTTLS failure, a TCP connection never made
    and a cancellation keep their own errors.
    """
    plan = ConnectionPlan(Action.DANE, WWW, 443, WWW)
    assert handshakeRefusal(plan, error) is None


def test_starttlsNegotiatorReports() -> None:
    """
    With C{starttls}, the negotiator reports a failed handshake itself, as a
    L{StartTLSError}: the endpoint leaves the connection's error alone.
    """
    endpoint = DANEEndpoint(MemoryReactorClock(), PendingResolver(), WWW, 25, starttls="smtp")
    plan = ConnectionPlan(Action.DANE, WWW, 25, WWW)
    assert endpoint.handshakeRefusal(plan, ConnectionLost()) is None
    direct = DANEEndpoint(MemoryReactorClock(), PendingResolver(), WWW, 443)
    assert isinstance(direct.handshakeRefusal(plan, ConnectionLost()), TLSHandshakeError)


@pytest.mark.parametrize(
    ("text", "refusal"),
    [
        ("certificate verify failed", PKIXVerificationError),
        ("tlsv13 alert certificate required", TLSHandshakeError),
        ("sslv3 alert bad certificate", TLSHandshakeError),
    ],
)
def test_pkixOrHandshake(text: str, refusal: type[Exception]) -> None:
    """
    Under a PKIX plan, OpenSSL refusing the server's chain is a PKIX verification failure;
    an alert from the server about the client's certificate is a failed handshake.
    """
    plan = ConnectionPlan(Action.PKIX, WWW, 443, WWW, reason="no TLSA records")
    error = SSL.Error([("SSL routines", "", text)])
    found = pkixRefusal(plan, error) or handshakeRefusal(plan, error)
    assert isinstance(found, refusal)
    assert found.__cause__ is error

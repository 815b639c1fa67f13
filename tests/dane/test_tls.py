"""
End-to-end tests of L{txdane.dane.tls.DANEClientTLSOptions} over real TLS on loopback.
"""

from __future__ import annotations

import functools
from typing import Any

import dns.name
from cryptography import x509
from OpenSSL import SSL, crypto
from twisted.internet import interfaces
from twisted.internet.ssl import PrivateCertificate, TLSVersion
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from txdane.dane.decision import Action, Policy, TLSAResult, planConnection
from txdane.dane.errors import DANEVerificationError
from txdane.dane.matching import DANEResult, FailureKind
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tls import DANEClientTLSOptions, _HandshakeVerification, handshakeVerified
from txdane.dane.tlsa import TLSARecord, recordForCertificate
from txdane.status import Status

from . import tlsserver
from .certs import Hierarchy, Issued, hierarchy, issue

HOST = "service.example"


@functools.cache
def selfSigned() -> Issued:
    return issue(HOST)


@functools.cache
def chained() -> Hierarchy:
    return hierarchy(HOST)


@functools.cache
def clientIdentity() -> tuple[Issued, Issued]:
    authority = issue("Client CA", ca=True)
    return authority, issue("client.example", authority, clientAuth=True)


def plan(*records: TLSARecord, status: Status = Status.SECURE, base: str = HOST, **kw):
    return planConnection(TLSAResult(status, records, dns.name.from_text(base)), HOST, 443, **kw)


class ConnectionTests(TestCase):
    def listen(self, options):
        port, factory = tlsserver.listen(options)
        self.addCleanup(port.stopListening)
        return port, factory

    async def assertRefused(self, client: tlsserver.RecordingClient) -> DANEVerificationError:
        await client.lost
        assert client.reason is not None
        reason = client.reason
        self.assertIsInstance(reason.value, DANEVerificationError)
        self.assertEqual(client.received, [], "application data reached the protocol")
        self.assertFalse(client.handshakeDone)
        self.assertTrue(client.greeted.called)
        client.greeted.addErrback(lambda f: None)
        return reason.value  # type: ignore[return-value]

    def test_interface(self) -> None:
        creator = DANEClientTLSOptions(plan(recordForCertificate(selfSigned().cert)))
        self.assertTrue(verifyObject(interfaces.IOpenSSLClientConnectionCreator, creator))

    async def test_matchingDANEEEConnects(self) -> None:
        """
        A self-signed server with a matching C{3 1 1} record connects, with SNI set to the
        TLSA base domain, and the observer sees which record matched.
        """
        port, factory = self.listen(tlsserver.serverOptions(selfSigned()))
        record = recordForCertificate(selfSigned().cert)
        results: list[DANEResult] = []
        creator = DANEClientTLSOptions(plan(record), observer=results.append)
        client = await tlsserver.connect(port, creator)
        await client.greeted
        self.assertTrue(client.handshakeDone)
        self.assertEqual(factory.serverNames, [HOST.encode()])
        self.assertEqual([(r.verified, r.record, r.depth) for r in results], [(True, record, 0)])
        client.transport.loseConnection()  # type: ignore[union-attr]
        await client.lost

    async def test_tls12(self) -> None:
        """
        The check works the same over TLS 1.2: a match connects, a mismatch is refused.
        """
        options = tlsserver.serverOptions(selfSigned(), maximumVersion=TLSVersion.TLSv1_2)
        port, _ = self.listen(options)
        good = DANEClientTLSOptions(plan(recordForCertificate(selfSigned().cert)))
        client = await tlsserver.connect(port, good)
        await client.greeted
        transport: Any = client.transport
        self.assertEqual(transport.getHandle().get_protocol_version_name(), "TLSv1.2")
        transport.loseConnection()
        await client.lost
        bad = DANEClientTLSOptions(plan(TLSARecord(3, 1, 1, bytes(32))))
        client = await tlsserver.connect(port, bad)
        error = await self.assertRefused(client)
        self.assertIn("no TLSA record matched", str(error))

    async def test_noVerdictCarriedOver(self) -> None:
        """
        Each connection is checked anew, over TLS 1.2 and 1.3, although the server offers
        session resumption and the creators share one context: a creator resumes no session
        (an OpenSSL client resumes only the session it is handed), so a second connection,
        with records the server does not match, is refused after a first was verified.
        """
        for version in (TLSVersion.TLSv1_2, None):
            port, _ = self.listen(tlsserver.serverOptions(selfSigned(), maximumVersion=version))
            results: list[DANEResult] = []
            good = DANEClientTLSOptions(
                plan(recordForCertificate(selfSigned().cert)), observer=results.append
            )
            bad = DANEClientTLSOptions(plan(TLSARecord(3, 1, 1, bytes(32))))
            self.assertIs(good._options, bad._options)
            for creator in (good, good):
                client = await tlsserver.connect(port, creator)
                await client.greeted
                transport: Any = client.transport
                self.assertIsNotNone(transport.getHandle().get_session())
                transport.loseConnection()
                await client.lost
            self.assertEqual([r.verified for r in results], [True, True])
            await self.assertRefused(await tlsserver.connect(port, bad))

    async def test_sharedContextEachConnectionItsOwnVerdict(self) -> None:
        """
        Creators of DANE plans share one OpenSSL context (unless a client certificate or other
        options are set): connections made at the same time with it, one whose plan matches
        the server and one whose plan does not, each get their own verdict and server name.
        """
        port, factory = self.listen(tlsserver.serverOptions(selfSigned()))
        good = DANEClientTLSOptions(plan(recordForCertificate(selfSigned().cert)))
        bad = DANEClientTLSOptions(plan(TLSARecord(3, 1, 1, bytes(32)), base="other.example"))
        self.assertIs(good._options, bad._options)
        _, client = clientIdentity()
        identified = DANEClientTLSOptions(
            plan(recordForCertificate(selfSigned().cert)),
            clientCertificate=client.privateCertificate(),
        )
        self.assertIsNot(identified._options, good._options)
        alpn = DANEClientTLSOptions(
            plan(recordForCertificate(selfSigned().cert)), acceptableProtocols=[b"h2"]
        )
        self.assertIsNot(alpn._options, good._options)
        connected = await tlsserver.connect(port, good)
        refused = await tlsserver.connect(port, bad)
        await connected.greeted
        self.assertTrue(connected.handshakeDone)
        await self.assertRefused(refused)
        # The refused handshake never completes on the server's side.
        self.assertEqual(factory.serverNames, [HOST.encode()])
        connected.transport.loseConnection()  # type: ignore[union-attr]
        await connected.lost

    async def test_sniIsBaseDomain(self) -> None:
        port, factory = self.listen(tlsserver.serverOptions(selfSigned()))
        creator = DANEClientTLSOptions(
            plan(recordForCertificate(selfSigned().cert), base="cdn.example.net")
        )
        client = await tlsserver.connect(port, creator)
        await client.greeted
        self.assertEqual(factory.serverNames, [b"cdn.example.net"])
        client.transport.loseConnection()  # type: ignore[union-attr]
        await client.lost

    async def test_mismatchRefused(self) -> None:
        """
        A mismatching record fails the handshake; connectionLost gets an error naming the
        record and the certificate; no application data was delivered.
        """
        port, _ = self.listen(tlsserver.serverOptions(selfSigned()))
        wrong = TLSARecord(3, 1, 1, bytes.fromhex("fadec4b5" + "00" * 26 + "ceab"))
        client = await tlsserver.connect(port, DANEClientTLSOptions(plan(wrong)))
        error = await self.assertRefused(client)
        actual = recordForCertificate(selfSigned().cert).data.hex()
        self.assertEqual(
            str(error),
            f"{HOST}:443 refused: no TLSA record matched (3 1 1 fadec4b5...ceab: the server's"
            f" key hashes to {actual[:8]}...{actual[-4:]}); server certificate CN={HOST},"
            " self-signed",
        )
        assert error.result is not None
        self.assertEqual(error.result.failure, FailureKind.NO_MATCH)
        self.assertEqual(error.result.chain, (selfSigned().cert,))
        self.assertEqual(error.certificates, (selfSigned().cert,))
        self.assertEqual([c.record for c in error.checks], [wrong])
        self.assertEqual((error.host, error.port), (HOST, 443))

    async def test_daneTAChain(self) -> None:
        """
        DANE-TA over a real chain: the server sends its intermediate; names are checked.
        """
        h = chained()
        port, _ = self.listen(tlsserver.serverOptions(h.leaf, h.intermediate))
        record = recordForCertificate(h.intermediate.cert, 2, 1, 1)
        client = await tlsserver.connect(port, DANEClientTLSOptions(plan(record)))
        await client.greeted
        client.transport.loseConnection()  # type: ignore[union-attr]
        await client.lost
        creator = DANEClientTLSOptions(
            planConnection(
                TLSAResult(Status.SECURE, (record,), dns.name.from_text("other.example")),
                "other.example",
                443,
            )
        )
        client = await tlsserver.connect(port, creator)
        error = await self.assertRefused(client)
        self.assertIn("the certificate does not match the name", str(error))

    async def test_startTLS(self) -> None:
        """
        The creator works with C{transport.startTLS}: success and refusal.
        """
        port = tlsserver.listenStartTLS(tlsserver.serverOptions(selfSigned()))
        self.addCleanup(port.stopListening)
        good = DANEClientTLSOptions(plan(recordForCertificate(selfSigned().cert)))
        client = await tlsserver.connectStartTLS(port, good)
        await client.greeted
        client.transport.loseConnection()  # type: ignore[union-attr]
        await client.lost
        bad = DANEClientTLSOptions(plan(TLSARecord(3, 1, 1, bytes(32))))
        client = await tlsserver.connectStartTLS(port, bad)
        error = await self.assertRefused(client)
        self.assertIn("no TLSA record matched", str(error))

    async def test_clientCertificate(self) -> None:
        authority, identity = clientIdentity()
        port, factory = self.listen(
            tlsserver.serverOptions(selfSigned(), requireClientCertificate=authority)
        )
        certificate = PrivateCertificate.loadPEM(identity.certPEM() + identity.keyPEM())
        creator = DANEClientTLSOptions(
            plan(recordForCertificate(selfSigned().cert)), clientCertificate=certificate
        )
        client = await tlsserver.connect(port, creator)
        await client.greeted
        self.assertEqual(factory.clientCertificates, [identity.cert])
        client.transport.loseConnection()  # type: ignore[union-attr]
        await client.lost

    async def test_noClientCertificateRefused(self) -> None:
        """
        Without a client certificate, a server that requires one refuses the handshake (over
        TLS 1.2, before the client's handshake completes); the protocol sees no data.
        """
        authority, _ = clientIdentity()
        port, factory = self.listen(
            tlsserver.serverOptions(
                selfSigned(),
                requireClientCertificate=authority,
                maximumVersion=TLSVersion.TLSv1_2,
            )
        )
        creator = DANEClientTLSOptions(plan(recordForCertificate(selfSigned().cert)))
        client = await tlsserver.connect(port, creator)
        await client.lost
        client.greeted.addErrback(lambda f: None)
        assert client.reason is not None
        self.assertIsInstance(client.reason.value, SSL.Error)
        self.assertEqual((client.received, client.handshakeDone), ([], False))
        self.assertEqual(factory.clientCertificates, [])

    async def test_pkixFallback(self) -> None:
        """
        Without TLSA records, the creator verifies like C{optionsForClientTLS}: a chain to the
        given root and the host name; anything else fails.
        """
        h = chained()
        port, _ = self.listen(tlsserver.serverOptions(h.leaf, h.intermediate))
        trust = PKIXTrust((h.root.cert,))
        ok = DANEClientTLSOptions(plan(trust=trust))
        self.assertIs(ok.plan.action, Action.PKIX)
        client = await tlsserver.connect(port, ok)
        await client.greeted
        client.transport.loseConnection()  # type: ignore[union-attr]
        await client.lost
        untrusted = DANEClientTLSOptions(plan(trust=PKIXTrust((issue("Other", ca=True).cert,))))
        client = await tlsserver.connect(port, untrusted)
        await client.lost
        client.greeted.addErrback(lambda f: None)
        self.assertEqual(client.received, [])
        self.assertFalse(client.handshakeDone)
        assert client.reason is not None
        self.assertIsInstance(client.reason.value, SSL.Error)
        self.assertIn("certificate verify failed", str(client.reason.value))

    async def test_pkixFallbackAbsoluteName(self) -> None:
        """
        The PKIX fallback for a host name written with its final dot checks and sends the
        name without it, as the DANE path does.
        """
        h = chained()
        port, factory = self.listen(tlsserver.serverOptions(h.leaf, h.intermediate))
        creator = DANEClientTLSOptions(
            planConnection(
                TLSAResult(Status.SECURE, (), dns.name.from_text(HOST)),
                HOST + ".",
                443,
                trust=PKIXTrust((h.root.cert,)),
            )
        )
        self.assertIs(creator.plan.action, Action.PKIX)
        client = await tlsserver.connect(port, creator)
        await client.greeted
        client.transport.loseConnection()  # type: ignore[union-attr]
        await client.lost
        self.assertEqual(factory.serverNames, [HOST.encode()])

    async def test_unauthenticatedSMTP(self) -> None:
        """
        SMTP to a host of an unsigned zone (no TLSA): the plan is opportunistic,
        unauthenticated TLS (RFC 7672 section 2.2), cleartext allowed when STARTTLS is not
        offered, and a self-signed certificate, which PKIX refuses, completes the handshake.
        """
        port, _ = self.listen(tlsserver.serverOptions(selfSigned()))
        plan = planConnection(
            TLSAResult(Status.INSECURE, (), dns.name.from_text(HOST)), HOST, 25, Policy.SMTP
        )
        self.assertIs(plan.action, Action.UNAUTHENTICATED)
        self.assertFalse(plan.tlsRequired)
        self.assertEqual((plan.records, plan.serverName), ((), HOST))
        client = await tlsserver.connect(port, DANEClientTLSOptions(plan))
        await client.greeted
        self.assertTrue(client.handshakeDone)
        client.transport.loseConnection()  # type: ignore[union-attr]
        await client.lost
        # The same server and the same answer outside SMTP: PKIX, which refuses it.
        pkix = planConnection(TLSAResult(Status.INSECURE, (), dns.name.from_text(HOST)), HOST, 443)
        self.assertIs(pkix.action, Action.PKIX)
        refused = await tlsserver.connect(port, DANEClientTLSOptions(pkix))
        await self.assertFailure(refused.greeted, Exception)
        self.assertFalse(refused.handshakeDone)


class FakeTLSProtocol:
    """
    Records L{failVerification} calls, as C{TLSMemoryBIOProtocol} would receive them.
    """

    def __init__(self) -> None:
        self.failures: list[Failure] = []

    def failVerification(self, reason: Failure) -> None:
        self.failures.append(reason)


class FakeConnection:
    def __init__(self, chain: list[x509.Certificate] | Exception) -> None:
        self.chain = chain

    def get_peer_cert_chain(self) -> list[crypto.X509]:
        if isinstance(self.chain, Exception):
            raise self.chain
        return [crypto.X509.from_cryptography(c) for c in self.chain]


def _verification(record: TLSARecord) -> tuple[_HandshakeVerification, FakeTLSProtocol, list]:
    protocol = FakeTLSProtocol()
    results: list[DANEResult] = []
    check = _HandshakeVerification(plan(record), protocol, results.append)  # type: ignore[arg-type]
    return check, protocol, results


def test_verifyCallbackDecidesOnceAtDepthZero() -> None:
    """
    Depths above 0 pass through; the decision is made at the first depth-0 call and repeated
    for any later one without matching again.
    """
    good = recordForCertificate(selfSigned().cert)
    check, protocol, results = _verification(good)
    connection = FakeConnection([selfSigned().cert])
    assert check.verifyCallback(connection, None, 20, 1, 0) is True  # type: ignore[arg-type]
    assert results == []
    assert check.verifyCallback(connection, None, 18, 0, 0) is True  # type: ignore[arg-type]
    assert check.verifyCallback(connection, None, 0, 0, 1) is True  # type: ignore[arg-type]
    assert len(results) == 1 and results[0].verified
    assert protocol.failures == []
    bad, badProtocol, _ = _verification(TLSARecord(3, 1, 1, bytes(32)))
    assert bad.verifyCallback(connection, None, 0, 0, 1) is False  # type: ignore[arg-type]
    assert bad.verifyCallback(connection, None, 0, 0, 1) is False  # type: ignore[arg-type]
    assert len(badProtocol.failures) == 1
    assert isinstance(badProtocol.failures[0].value, DANEVerificationError)


def test_verifyCallbackFailsClosedOnError() -> None:
    """
    An exception while checking refuses the connection instead of escaping into OpenSSL.
    """
    check, protocol, _ = _verification(recordForCertificate(selfSigned().cert))
    connection = FakeConnection(RuntimeError("broken"))
    assert check.verifyCallback(connection, None, 0, 0, 1) is False  # type: ignore[arg-type]
    assert check.verifyCallback(connection, None, 0, 0, 1) is False  # type: ignore[arg-type]
    (failure,) = protocol.failures
    assert str(failure.value) == f"{HOST}:443 refused: internal error while checking TLSA"


def test_handshakeDoneWithoutVerdictAborts() -> None:
    """
    The safety net: a handshake reported complete without a positive verdict is aborted.
    """
    check, protocol, _ = _verification(recordForCertificate(selfSigned().cert))
    check.infoCallback(None, 0x10, 1)  # type: ignore[arg-type]
    assert protocol.failures == []
    check.infoCallback(None, 0x20, 1)  # type: ignore[arg-type]
    (failure,) = protocol.failures
    assert "without the server's certificates being checked" in str(failure.value)
    good, goodProtocol, _ = _verification(recordForCertificate(selfSigned().cert))
    good.verifyCallback(FakeConnection([selfSigned().cert]), None, 0, 0, 1)  # type: ignore[arg-type]
    good.infoCallback(None, 0x20, 1)  # type: ignore[arg-type]
    assert goodProtocol.failures == []


class _TLSProtocolStub(FakeTLSProtocol):
    """
    Enough of C{TLSMemoryBIOProtocol} for C{clientConnectionForTLS}.
    """

    class factory:
        wrappedFactory = object()


def _exchange(client: SSL.Connection, server: SSL.Connection, step: Any) -> list[Exception]:
    """
    Run C{step} on both ends and move the bytes between them until neither has more to say.
    """
    errors: list[Exception] = []
    for _ in range(10):
        for end in (client, server):
            try:
                step(end)
            except SSL.WantReadError:
                pass
            except SSL.Error as e:
                errors.append(e)
        for source, sink in ((client, server), (server, client)):
            try:
                sink.bio_write(source.bio_read(65536))
            except SSL.WantReadError:
                pass
    return errors


def test_renegotiationCannotChangeTheCertificate() -> None:
    """
    After a verified TLS 1.2 handshake, the server cannot renegotiate and present a
    certificate the TLSA records do not match: the client refuses to renegotiate, so the
    only certificate it ever accepts is the verified one.
    """
    verified, other = selfSigned(), issue(HOST)
    protocol = _TLSProtocolStub()
    creator = DANEClientTLSOptions(plan(recordForCertificate(verified.cert)))
    client = creator.clientConnectionForTLS(protocol)  # type: ignore[arg-type]
    client.set_connect_state()
    context = SSL.Context(SSL.TLS_METHOD)
    context.set_max_proto_version(SSL.TLS1_2_VERSION)
    context.set_options(0x00010000)  # SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION
    context.use_certificate(verified.cert)
    context.use_privatekey(verified.key)
    server = SSL.Connection(context, None)
    server.set_accept_state()
    assert _exchange(client, server, SSL.Connection.do_handshake) == []
    assert client.get_peer_certificate().to_cryptography() == verified.cert  # type: ignore[union-attr]
    server.use_certificate(other.cert)
    server.use_privatekey(other.key)
    assert server.renegotiate()
    _exchange(client, server, lambda end: end.recv(1024))
    assert protocol.failures == []
    peer = client.get_peer_certificate()
    assert peer is not None and peer.to_cryptography() == verified.cert


def test_pkixFallbackInternationalName() -> None:
    """
    The PKIX fallback sends and checks the host name in its ASCII (A-label) form, the name
    the addresses were looked up under, whatever case the caller wrote it in.
    """
    for host in ("Bücher.example", "bücher.example."):
        fallback = planConnection(
            TLSAResult(Status.SECURE, (), dns.name.from_text(host)), host, 443
        )
        assert fallback.serverName == "xn--bcher-kva.example"
        creator = DANEClientTLSOptions(fallback)
        assert creator.plan.action is Action.PKIX


def test_handshakeVerified() -> None:
    """
    L{handshakeVerified} tells whether the DANE check of a connection passed: C{True} after
    a matching handshake; C{False} after a refused one, or before the check decided;
    C{None} for a connection without a DANE check (PKIX) and for anything else.
    """
    server = selfSigned()
    context = SSL.Context(SSL.TLS_METHOD)
    context.use_certificate(server.cert)
    context.use_privatekey(server.key)

    def handshake(record: TLSARecord) -> SSL.Connection:
        creator = DANEClientTLSOptions(plan(record))
        client = creator.clientConnectionForTLS(_TLSProtocolStub())  # type: ignore[arg-type]
        assert handshakeVerified(client) is False
        client.set_connect_state()
        end = SSL.Connection(context, None)
        end.set_accept_state()
        _exchange(client, end, SSL.Connection.do_handshake)
        return client

    assert handshakeVerified(handshake(recordForCertificate(server.cert))) is True
    assert handshakeVerified(handshake(TLSARecord(3, 1, 1, bytes(32)))) is False
    pkix = DANEClientTLSOptions(plan())
    assert pkix.plan.action is Action.PKIX
    assert handshakeVerified(pkix.clientConnectionForTLS(_TLSProtocolStub())) is None  # type: ignore[arg-type]
    assert handshakeVerified(SSL.Connection(context, None)) is None
    assert handshakeVerified(object()) is None

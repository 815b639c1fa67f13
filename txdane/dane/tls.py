"""
A TLS client connection creator that enforces a DANE decision inside the handshake.

L{DANEClientTLSOptions} plays the part of Twisted's C{optionsForClientTLS} for a connection
whose L{ConnectionPlan} says how to authenticate the server: under DANE, a verify callback
collects the certificates the server presented and runs L{verifyChain} when OpenSSL reaches
depth 0, before the handshake can complete, so no application data reaches the protocol of a
refused server; the protocol's C{connectionLost} receives a L{DANEVerificationError}
explaining why. Without DANE, it is exactly C{optionsForClientTLS} (PKIX and the host name),
or, for SMTP's opportunistic TLS, TLS without authentication.

It works wherever Twisted takes an C{IOpenSSLClientConnectionCreator}: C{SSL4ClientEndpoint},
C{wrapClientTLS}, C{connectSSL} and C{transport.startTLS} (SMTP, XMPP). Code that acts once
Twisted reports the handshake complete asks L{handshakeVerified} whether the DANE check
passed, rather than whether the connection is closing: a refusal in OpenSSL's last callback
aborts the connection, and after C{startTLS} the TCP transport does not show it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL
from OpenSSL.crypto import FILETYPE_ASN1
from twisted.internet import interfaces
from twisted.internet._sslverify import IOpenSSLTrustRoot
from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.ssl import (
    Certificate,
    CertificateOptions,
    PrivateCertificate,
    optionsForClientTLS,
    platformTrust,
    trustRootFromCertificates,
)
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.dane.decision import Action, ConnectionPlan
from txdane.dane.errors import DANEPolicyError, DANEVerificationError
from txdane.dane.matching import DANEResult, certificateLabel, verifyChain
from txdane.dane.pkix import PKIXTrust
from txdane.names import nameFromText

_log = Logger()

#: OpenSSL's C{SSL_CB_HANDSHAKE_DONE} info callback flag.
_HANDSHAKE_DONE = 0x20


def twistedTrustRoot(trust: PKIXTrust) -> IOpenSSLTrustRoot:
    """
    Twisted's trust root for C{trust}: the platform's, or exactly the given roots.
    """
    if trust.roots is None:
        return platformTrust()
    return trustRootFromCertificates(
        [Certificate.load(c.public_bytes(Encoding.DER), format=FILETYPE_ASN1) for c in trust.roots]
    )


def _serverNameBytes(name: str) -> bytes:
    return nameFromText(name).to_text(omit_final_dot=True).encode("ascii")


def describeRefusal(result: DANEResult) -> str:
    """
    The reason of a L{DANEVerificationError}: the matcher's summary and the server's
    certificate.
    """
    reason = result.summary()
    if result.chain:
        leaf = result.chain[0]
        issuer = (
            "self-signed"
            if leaf.issuer == leaf.subject
            else f"issued by {leaf.issuer.rfc4514_string() or 'no name'}"
        )
        reason += f"; server certificate {certificateLabel(leaf)}, {issuer}"
    return reason


class _HandshakeVerification:
    """
    The DANE check of one connection: decides once, at depth 0 of the verify callback.
    """

    def __init__(
        self,
        plan: ConnectionPlan,
        tlsProtocol: TLSMemoryBIOProtocol,
        observer: Callable[[DANEResult], object] | None,
    ) -> None:
        self._plan = plan
        self._protocol: TLSMemoryBIOProtocol | None = tlsProtocol
        self._observer = observer
        self.verdict: bool | None = None

    def _refuse(self, error: DANEVerificationError) -> None:
        self.verdict = False
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            protocol.failVerification(Failure(error))

    def verifyCallback(
        self, connection: SSL.Connection, certificate: Any, error: int, depth: int, ok: int
    ) -> bool:
        try:
            if depth != 0:
                return True
            if self.verdict is None:
                self._decide(connection, certificate)
            return bool(self.verdict)
        except BaseException:
            # An exception escaping an OpenSSL callback is lost: log it and fail closed.
            _log.failure("while verifying the server's certificates against TLSA records")
            self._refuse(
                DANEVerificationError(
                    self._plan.host, self._plan.port, "internal error while checking TLSA"
                )
            )
            return False

    def _decide(self, connection: SSL.Connection, certificate: Any) -> None:
        # Converted one by one: as_cryptography=True needs a newer pyOpenSSL than we require.
        chain: list[x509.Certificate] = [
            c.to_cryptography() for c in connection.get_peer_cert_chain() or []
        ]
        if not chain:
            chain = [certificate.to_cryptography()]
        result = verifyChain(self._plan.records, chain, self._plan.matchOptions)
        if self._observer is not None:
            self._observer(result)
        if result.verified:
            self.verdict = True
            self._protocol = None
        else:
            self._refuse(
                DANEVerificationError(
                    self._plan.host, self._plan.port, describeRefusal(result), result
                )
            )

    def infoCallback(self, connection: SSL.Connection, where: int, ret: int) -> None:
        """
        A safety net: a handshake that completes without a positive DANE verdict (which the
        verify callback should make impossible) is aborted at once.
        """
        if where & _HANDSHAKE_DONE and self.verdict is not True:
            self._refuse(
                DANEVerificationError(
                    self._plan.host,
                    self._plan.port,
                    "the handshake completed without the server's certificates being checked",
                )
            )


#: The DANE check of each OpenSSL connection L{DANEClientTLSOptions} made, while the
#: connection lives. Both sides are weak: the connection's own callbacks keep its check.
_checks: weakref.WeakKeyDictionary[SSL.Connection, weakref.ref[_HandshakeVerification]] = (
    weakref.WeakKeyDictionary()
)


def handshakeVerified(connection: object) -> bool | None:
    """
    Whether the DANE check of C{connection} (the OpenSSL connection of a TLS transport, its
    C{getHandle()}) passed, for code that acts once the handshake completed: C{True} when the
    server's certificates matched the TLSA records; C{False} when they were refused, or were
    never checked (a handshake that completed without the verify callback deciding, which
    the check aborts); C{None} for a connection without a DANE check (PKIX, which OpenSSL
    and Twisted enforce inside the handshake; unauthenticated TLS; a connection this module
    did not make).
    """
    if not isinstance(connection, SSL.Connection):
        return None
    ref = _checks.get(connection)
    check = ref() if ref is not None else None
    if check is None:
        return None
    return check.verdict is True


#: How many OpenSSL contexts (with Twisted's options around them) the process keeps for
#: connections verified by the verify callback, or not at all, when nothing but ALPN
#: protocols is set: one per list of protocols, forgotten all at once when full. A context
#: holds nothing of one connection (the server name, the callbacks and the refusal to
#: renegotiate are set on each connection, and a client context resumes no session by
#: itself), so connections share it instead of each building one.
SHARED_CONTEXTS = 16
_SHARED_OPTIONS: dict[tuple[bytes, ...] | None, CertificateOptions] = {}


def _sharedOptions(acceptableProtocols: Sequence[bytes] | None) -> CertificateOptions:
    key = None if acceptableProtocols is None else tuple(acceptableProtocols)
    options = _SHARED_OPTIONS.get(key)
    if options is None:
        if len(_SHARED_OPTIONS) >= SHARED_CONTEXTS:
            _SHARED_OPTIONS.clear()
        options = _SHARED_OPTIONS[key] = CertificateOptions(
            verify=False, acceptableProtocols=acceptableProtocols
        )
    return options


@implementer(interfaces.IOpenSSLClientConnectionCreator)
class DANEClientTLSOptions:
    """
    Client TLS for one L{ConnectionPlan}.

    @ivar plan: the plan this creator enforces.
    """

    def __init__(
        self,
        plan: ConnectionPlan,
        clientCertificate: PrivateCertificate | None = None,
        acceptableProtocols: Sequence[bytes] | None = None,
        *,
        observer: Callable[[DANEResult], object] | None = None,
        extraCertificateOptions: dict[str, Any] | None = None,
    ) -> None:
        """
        @param plan: from L{txdane.dane.decision.planConnection}.
        @param clientCertificate: a client certificate with its key, sent when asked.
        @param acceptableProtocols: ALPN protocols, as for C{optionsForClientTLS}.
        @param observer: called with each connection's L{DANEResult} (success or not), for
            callers that show the evidence (which record matched, at which depth).
        @param extraCertificateOptions: further arguments for Twisted's C{CertificateOptions}.
        """
        self.plan = plan
        self._observer = observer
        extra = dict(extraCertificateOptions or {})
        if clientCertificate is not None:
            # As cryptography objects: pyOpenSSL deprecates its own key and certificate types
            # (which Twisted's clientCertificate= argument would pass it).
            extra.update(
                privateKey=clientCertificate.privateKey.original.to_cryptography_key(),
                certificate=clientCertificate.original.to_cryptography(),
            )
        self._delegate: interfaces.IOpenSSLClientConnectionCreator | None = None
        if plan.action is Action.PKIX:
            try:
                self._delegate = optionsForClientTLS(
                    plan.serverName,
                    trustRoot=twistedTrustRoot(plan.trust),
                    acceptableProtocols=acceptableProtocols,
                    extraCertificateOptions=extra,
                )
            except UnicodeError as e:
                # Twisted reads the name by IDNA 2008 (the idna package's errors are
                # UnicodeErrors): a DNS name with an underscore, or R-LDH hyphens in the 3rd
                # and 4th place, is no host name a certificate can be checked against
                # (RFC 6125 section 2.2), so PKIX cannot authenticate it: closed.
                raise DANEPolicyError(
                    plan.host,
                    plan.port,
                    f"{plan.reason}; but PKIX cannot check a certificate for"
                    f" {plan.serverName}, which is not a host name by IDNA ({e})",
                ) from None
            return
        # OpenSSL's own verification is off: the verify callback decides (DANE), or nobody
        # does (unauthenticated TLS).
        self._options = (
            _sharedOptions(acceptableProtocols)
            if not extra
            else CertificateOptions(verify=False, acceptableProtocols=acceptableProtocols, **extra)
        )
        name = plan.serverName
        self._serverName: bytes | None = (
            None if isIPAddress(name) or isIPv6Address(name) else _serverNameBytes(name)
        )

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        """
        Create the OpenSSL connection for C{tlsProtocol}, with SNI set to the TLSA base
        domain and the DANE check installed.
        """
        if self._delegate is not None:
            return self._delegate.clientConnectionForTLS(tlsProtocol)
        connection = self._options.clientConnectionForTLS(tlsProtocol)
        if self._serverName is not None:
            connection.set_tlsext_host_name(self._serverName)
        if self.plan.action is Action.DANE:
            # The verdict covers the first handshake only: a TLS 1.2 renegotiation could
            # present other certificates after it, so the client refuses to renegotiate.
            connection.set_options(SSL.OP_NO_RENEGOTIATION)
            check = _HandshakeVerification(self.plan, tlsProtocol, self._observer)
            connection.set_verify(
                SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, check.verifyCallback
            )
            connection.set_info_callback(check.infoCallback)
            _checks[connection] = weakref.ref(check)
        return connection

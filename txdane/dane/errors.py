"""
The errors of the DANE layer: a server refused because its certificates did not satisfy its
TLSA records (L{DANEVerificationError}), or because the policy forbids connecting at all
(L{DANEPolicyError}). Both derive from L{DANEError}, a L{TxdaneError<txdane.errors.TxdaneError>}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from txdane.errors import TxdaneError

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from txdane.dane.matching import DANEResult, RecordCheck
    from txdane.status import Status


class DANEError(TxdaneError):
    """
    Base class of the DANE layer's errors.
    """


class DANEVerificationError(DANEError):
    """
    The server's certificates did not satisfy its TLSA records (or, without DANE, the PKIX
    check that replaced them); the TLS connection was closed before any application data.

    @ivar host: the host connected to.
    @ivar port: the port connected to.
    @ivar reason: the cause in words.
    @ivar result: the matcher's verdict, with every record tried and the certificates
        presented; C{None} when the failure came before matching (PKIX fallback, handshake).
    """

    host: str
    port: int
    reason: str
    result: DANEResult | None = None
    template = "{host}:{port} refused: {reason}"

    @property
    def certificates(self) -> tuple[Certificate, ...]:
        """
        The certificates the server presented, leaf first (empty when unknown).
        """
        return self.result.chain if self.result is not None else ()

    @property
    def checks(self) -> tuple[RecordCheck, ...]:
        """
        Every TLSA record with what happened to it (empty when matching did not run).
        """
        return self.result.checks if self.result is not None else ()


class PKIXVerificationError(DANEVerificationError):
    """
    DANE did not apply (no TLSA records, an unsigned zone, or an MTA-STS policy's PKIX
    requirement), and the certificate check that replaced it, PKIX for the host name, failed.
    The reason says both; the underlying error (OpenSSL's, or service_identity's for a name
    mismatch) is kept as C{__cause__}.
    """


class DANEPolicyError(DANEError):
    """
    The policy forbids connecting at all: the TLSA lookup failed or was bogus (never a reason
    to fall back), or DANE was required and is not available.

    @ivar host: the host.
    @ivar port: the port.
    @ivar reason: the cause in words.
    @ivar status: the DNSSEC status of the TLSA lookup, or C{None} when it did not complete.
    @ivar ede: the RFC 8914 extended DNS error code, when there is one.
    """

    host: str
    port: int
    reason: str
    status: Status | None = None
    ede: int | None = None
    template = "{host}:{port} refused: {reason}"

"""
The errors txdane raises on purpose, for every layer below the endpoints.

All derive from L{TxdaneError} so a caller can catch everything txdane raises deliberately in
one clause. The C{str()} of each error is one line that reads like the command line's message
for the same failure, and the facts are attributes.

A lookup whose data could be classified ends in an L{Answer<txdane.validation.answer.Answer>}
(secure, insecure, bogus or indeterminate). A lookup that could not finish - the recursive
resolver timed out, answered SERVFAIL or something malformed, or a work limit stopped it -
fails with L{LookupFailedError}: never an empty answer, so that no caller can mistake a failure
for "no such record".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dns.name
import dns.rdatatype

from txdane.status import Status

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

    from txdane.dane.matching import DANEResult, RecordCheck


class TxdaneError(Exception):
    """
    Base class of every error txdane raises deliberately.
    """


class ValidationError(TxdaneError):
    """
    Base class of the validation layer's errors.
    """


class LookupFailedError(ValidationError):
    """
    A lookup could not complete, so its data is neither proven nor disproven.

    @ivar name: the name looked up.
    @ivar rdtype: the type looked up.
    @ivar reason: one human-readable line saying why.
    @ivar ede: the RFC 8914 extended error code that describes the failure, if any.
    @ivar cause: the underlying exception (a L{txdane.transport.DNSError} for transport
        failures), or C{None}.
    """

    def __init__(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        reason: str,
        ede: int | None = None,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(name, rdtype, reason)
        self.name = name
        self.rdtype = rdtype
        self.reason = reason
        self.ede = ede
        self.cause = cause

    def __str__(self) -> str:
        ede = f" (EDE {self.ede})" if self.ede is not None else ""
        return (
            f"{self.name} {dns.rdatatype.to_text(self.rdtype)}: lookup failed{ede}: {self.reason}"
        )


class WorkLimitExceededError(LookupFailedError):
    """
    A lookup used up a budget that bounds the work one lookup may cause (queries, total time).
    """


class TrustAnchorError(ValidationError):
    """
    A trust anchor file or text could not be used.

    @ivar source: where the anchors came from (a path or C{"<text>"}).
    @ivar reason: why they could not be used.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, reason)
        self.source = source
        self.reason = reason

    def __str__(self) -> str:
        return f"trust anchors from {self.source}: {self.reason}"


class InsecureAnswerError(ValidationError):
    """
    Raised by L{Answer.require<txdane.validation.answer.Answer.require>} when the caller
    needs more than the answer's status gives.

    @ivar answer: the answer.
    """

    def __init__(self, answer: object) -> None:
        super().__init__(answer)
        self.answer = answer

    def __str__(self) -> str:
        return str(self.answer)


class TLSAFormatError(TxdaneError, ValueError):
    """
    A TLSA record, its text form, its owner name or a certificate/key file could not be
    understood.
    """


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
    @ivar result: the matcher's verdict, with every record tried and the certificates
        presented; C{None} when the failure came before matching (PKIX fallback, handshake).
    @ivar reason: the cause in words.
    """

    def __init__(self, host: str, port: int, reason: str, result: DANEResult | None = None) -> None:
        super().__init__(host, port, reason, result)
        self.host = host
        self.port = port
        self.reason = reason
        self.result = result

    def __str__(self) -> str:
        return f"{self.host}:{self.port} refused: {self.reason}"

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


class DANEPolicyError(DANEError):
    """
    The policy forbids connecting at all: the TLSA lookup failed or was bogus (never a reason
    to fall back), or DANE was required and is not available.

    @ivar host: the host.
    @ivar port: the port.
    @ivar status: the DNSSEC status of the TLSA lookup, or C{None} when it did not complete.
    @ivar reason: the cause in words.
    @ivar ede: the RFC 8914 extended DNS error code, when there is one.
    """

    def __init__(
        self,
        host: str,
        port: int,
        reason: str,
        status: Status | None = None,
        ede: int | None = None,
    ) -> None:
        super().__init__(host, port, reason, status, ede)
        self.host = host
        self.port = port
        self.reason = reason
        self.status = status
        self.ede = ede

    def __str__(self) -> str:
        return f"{self.host}:{self.port} refused: {self.reason}"


class HandshakeTimeoutError(TxdaneError, TimeoutError):
    """
    A server accepted the connection but did not complete the TLS handshake in time (it
    stayed silent, or answered too slowly); the connection was aborted before any
    application data.

    @ivar host: the host connected to.
    @ivar port: the port connected to.
    @ivar timeout: the deadline in seconds, counted from the start of the handshake.
    """

    def __init__(self, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout)
        self.host = host
        self.port = port
        self.timeout = timeout

    def __str__(self) -> str:
        return f"{self.host}:{self.port}: no TLS handshake within {self.timeout:g} s"

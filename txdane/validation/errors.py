"""
Errors of the validation layer.

A lookup whose data could be classified ends in an L{Answer<txdane.validation.answer.Answer>}
(secure, insecure, bogus or indeterminate). A lookup that could not finish - the recursive
resolver timed out, answered SERVFAIL or something malformed, or a work limit stopped it -
fails with L{LookupFailedError}: never an empty answer, so that no caller can mistake a failure
for "no such record".
"""

from __future__ import annotations

import dns.name
import dns.rdatatype

from txdane.errors import TxdaneError


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
        failures), or L{None}.
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

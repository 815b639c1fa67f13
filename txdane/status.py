"""
The security status of DNS data (RFC 4033 section 5, RFC 4035 section 4.3).

Shared by the validator, which assigns it, and by everything above it (DANE, endpoints, the
command line), which decides what to do with it.
"""

from __future__ import annotations

import enum


class Status(enum.Enum):
    """
    The outcome of validating a piece of DNS data.

    @cvar SECURE: a chain of trust from a trust anchor proves the data (or its non-existence).
    @cvar INSECURE: the data lies below a proven unsigned delegation (or uses only algorithms
        we do not support), so it cannot be proven either way; treated as ordinary DNS.
    @cvar BOGUS: the data should have been provable but the proof failed; never use it.
    @cvar INDETERMINATE: no trust anchor covers the data, or validation could not finish.
    """

    SECURE = "secure"
    INSECURE = "insecure"
    BOGUS = "bogus"
    INDETERMINATE = "indeterminate"

    def __str__(self) -> str:
        return self.value

    @property
    def rank(self) -> int:
        """
        Order of strength, used to take the weakest status along a CNAME chain: a higher rank
        is weaker.
        """
        return _RANK[self]

    @classmethod
    def weakest(cls, *statuses: Status) -> Status:
        """
        The weakest of C{statuses} (bogus beats indeterminate beats insecure beats secure).
        """
        return max(statuses, key=lambda s: s.rank)


_RANK = {
    Status.SECURE: 0,
    Status.INSECURE: 1,
    Status.INDETERMINATE: 2,
    Status.BOGUS: 3,
}

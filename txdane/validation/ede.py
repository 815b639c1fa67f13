"""
The RFC 8914 extended DNS error (EDE) codes answers and errors carry, and their names.

L{EDE} numbers the codes of the IANA registry, under the member names dnspython's
C{dns.edns.EDECode} gives them (2.9 has them all; 2.8, the newest release for Python 3.10,
stops at 24); L{edeText} gives the name a report prints for one of them, derived from that
enumeration in this one place.
"""

from __future__ import annotations

from enum import IntEnum


class EDE(IntEnum):
    """
    The extended DNS error codes (RFC 8914 and the registry's later entries), an C{IntEnum}:
    members compare equal to their numbers, and so to dnspython's C{dns.edns.EDECode}
    members of the same number.
    """

    OTHER = 0
    UNSUPPORTED_DNSKEY_ALGORITHM = 1
    UNSUPPORTED_DS_DIGEST_TYPE = 2
    STALE_ANSWER = 3
    FORGED_ANSWER = 4
    DNSSEC_INDETERMINATE = 5
    DNSSEC_BOGUS = 6
    SIGNATURE_EXPIRED = 7
    SIGNATURE_NOT_YET_VALID = 8
    DNSKEY_MISSING = 9
    RRSIGS_MISSING = 10
    NO_ZONE_KEY_BIT_SET = 11
    NSEC_MISSING = 12
    CACHED_ERROR = 13
    NOT_READY = 14
    BLOCKED = 15
    CENSORED = 16
    FILTERED = 17
    PROHIBITED = 18
    STALE_NXDOMAIN_ANSWER = 19
    NOT_AUTHORITATIVE = 20
    NOT_SUPPORTED = 21
    NO_REACHABLE_AUTHORITY = 22
    NETWORK_ERROR = 23
    INVALID_DATA = 24
    SIGNATURE_EXPIRED_BEFORE_VALID = 25
    TOO_EARLY = 26
    UNSUPPORTED_NSEC3_ITERATIONS_VALUE = 27
    UNABLE_TO_CONFORM_TO_POLICY = 28
    SYNTHESIZED = 29
    INVALID_QUERY_TYPE = 30
    RATE_LIMITED = 31
    OVER_QUOTA = 32


#: Words of the enumeration's member names written as RFC 8914 writes them.
_WORDS = {
    "DNSKEY": "DNSKEY",
    "DNSSEC": "DNSSEC",
    "DS": "DS",
    "NSEC": "NSEC",
    "NSEC3": "NSEC3",
    "NXDOMAIN": "NXDOMAIN",
    "RRSIGS": "RRSIGs",
}

#: Names that read better than the member's own (C{OTHER} is RFC 8914's "Other Error").
_NAMES = {EDE.OTHER: "other error"}

_KNOWN = frozenset(int(code) for code in EDE)


def edeText(code: int) -> str | None:
    """
    The name of an EDE code, in lower case but for acronyms, e.g. C{"DNSKEY missing"} for 9
    or C{"unsupported NSEC3 iterations value"} for 27.

    @param code: the code's number.
    @return: its name, or C{None} for a number RFC 8914 and its registry updates (as
        dnspython knows them) do not assign.
    """
    if code not in _KNOWN:
        return None
    member = EDE(code)
    if member in _NAMES:
        return _NAMES[member]
    return " ".join(_WORDS.get(word, word.lower()) for word in member.name.split("_"))

"""
The RFC 8914 extended DNS error (EDE) codes answers and errors carry, and their names.

The numbers are dnspython's C{dns.edns.EDECode}, re-exported as C{EDE}; L{edeText} gives the
name a report prints for one of them, derived from that enumeration in this one place.
"""

from __future__ import annotations

from dns.edns import EDECode

#: The RFC 8914 codes: dnspython's C{dns.edns.EDECode} (an C{IntEnum}), under the name the
#: rest of the package uses. Members compare equal to their numbers.
EDE = EDECode

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
    @return: its name, or L{None} for a number RFC 8914 and its registry updates (as
        dnspython knows them) do not assign.
    """
    if code not in _KNOWN:
        return None
    member = EDE(code)
    if member in _NAMES:
        return _NAMES[member]
    return " ".join(_WORDS.get(word, word.lower()) for word in member.name.split("_"))

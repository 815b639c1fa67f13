"""
Finding RRsets and their signatures in a response.
"""

from __future__ import annotations

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.RRSIG import RRSIG

from txdane.validation.cache import nameKey, sameName


def signaturesFor(
    message: dns.message.Message, section: list[dns.rrset.RRset], rrset: dns.rrset.RRset
) -> list[RRSIG]:
    """
    The RRSIG records in C{section} that cover C{rrset}.
    """
    sigs: list[RRSIG] = []
    for candidate in section:
        if (
            candidate.rdtype == dns.rdatatype.RRSIG
            and candidate.covers == rrset.rdtype
            and sameName(candidate.name, rrset.name)
        ):
            sigs.extend(candidate)
    return sigs


def signatureIndex(
    section: list[dns.rrset.RRset],
) -> dict[tuple[tuple[bytes, ...], int], list[RRSIG]]:
    """
    The RRSIG records of C{section} by owner (as L{nameKey} gives it) and type covered: what
    L{signaturesFor} finds, for every RRset of a large section in one pass.
    """
    index: dict[tuple[tuple[bytes, ...], int], list[RRSIG]] = {}
    for candidate in section:
        if candidate.rdtype == dns.rdatatype.RRSIG:
            index.setdefault((nameKey(candidate.name), candidate.covers), []).extend(candidate)
    return index


def findRRset(
    section: list[dns.rrset.RRset], name: dns.name.Name, rdtype: int
) -> dns.rrset.RRset | None:
    """
    The RRset of C{name} and C{rdtype} in C{section}, if any.
    """
    for rrset in section:
        if (
            rrset.rdtype == rdtype
            and rrset.rdclass == dns.rdataclass.IN
            and sameName(rrset.name, name)
        ):
            return rrset
    return None


def dnameFor(message: dns.message.Message, name: dns.name.Name) -> dns.rrset.RRset | None:
    """
    The DNAME RRset in the answer section of C{message} whose owner is the closest proper
    ancestor of C{name}, if any.
    """
    best = None
    for rrset in message.answer:
        if (
            rrset.rdtype == dns.rdatatype.DNAME
            and name != rrset.name
            and name.is_subdomain(rrset.name)
            and (best is None or len(rrset.name) > len(best.name))
        ):
            best = rrset
    return best

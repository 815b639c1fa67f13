"""
What NSEC and NSEC3 denial proofs share: their verdict (L{DenialVerdict}), reading a type
bitmap (L{typesOf}), and the rule for what a record matching a name proves about one type
there (L{typeAbsent}).

The proofs themselves are in L{txdane.validation.nsec} and L{txdane.validation.nsec3}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import dns.name
import dns.rdatatype

from txdane.status import Status
from txdane.validation.ede import EDE

NS = dns.rdatatype.NS
SOA = dns.rdatatype.SOA
DS = dns.rdatatype.DS
CNAME = dns.rdatatype.CNAME
DNAME = dns.rdatatype.DNAME


@dataclasses.dataclass(frozen=True)
class DenialVerdict:
    """
    The result of checking a denial-of-existence proof.

    @ivar status: secure when proven; insecure when the proof is valid but cannot be relied on
        (NSEC3 opt-out, NSEC3 iterations over the limit); bogus when it does not prove it.
    @ivar reason: one line.
    @ivar ede: the RFC 8914 code when not secure.
    @ivar delegation: for a DS query, whether the proof shows an unsigned delegation at the
        name (NS present, DS absent, or an opt-out span covering it).
    """

    status: Status
    reason: str
    ede: int | None = None
    delegation: bool = False


def typeText(rdtype: int) -> str:
    """
    The mnemonic of a type number.
    """
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))


def bogus(reason: str, ede: int = EDE.NSEC_MISSING) -> DenialVerdict:
    """
    A failed proof.
    """
    return DenialVerdict(Status.BOGUS, reason, ede)


def typesOf(windows: Sequence[tuple[int, bytes]]) -> frozenset[int]:
    """
    The types present in an NSEC or NSEC3 type bitmap.
    """
    types = set()
    for window, bitmap in windows:
        for i, byte in enumerate(bitmap):
            for j in range(8):
                if byte & (0x80 >> j):
                    types.add(window * 256 + i * 8 + j)
    return frozenset(types)


def isDelegation(types: frozenset[int]) -> bool:
    """
    Whether a bitmap is that of the parent side of a zone cut: NS without SOA.
    """
    return NS in types and SOA not in types


def typeAbsent(
    types: frozenset[int],
    rdtype: int,
    where: dns.name.Name,
    zone: dns.name.Name,
    kind: str,
    record: str,
) -> DenialVerdict:
    """
    What an NSEC or NSEC3 record matching C{where}, whose bitmap holds C{types}, proves
    about C{rdtype} at that name (RFC 4035 section 5.4, RFC 5155 sections 8.5 and 8.6,
    RFC 6840 section 4.3): that there is none, unless the bitmap lists the type or a CNAME,
    or comes from the wrong side of a zone cut. For a DS, only the parent side may deny it,
    and the proof says whether the name is an unsigned delegation.

    @param zone: the zone that signed the record.
    @param kind: C{"NSEC"} or C{"NSEC3"}, for the reasons.
    @param record: how the reasons name the record, e.g. C{"NSEC at www.example."}.
    """
    if rdtype == DS:
        # The root has no parent: its own apex is the only side that can deny a DS there.
        apex = where == zone
        if apex and zone != dns.name.root:
            return bogus(f"{kind} at the apex {zone} is from the child side and cannot deny a DS")
        if SOA in types and where != dns.name.root:
            # Whichever zone signed it, a bitmap with SOA is that of a zone's apex (as
            # Unbound rules too).
            return bogus(f"{record} lists SOA: it is from the child side and cannot deny a DS")
        if DS in types:
            return bogus(f"{record} lists DS")
        if CNAME in types:
            return bogus(f"{record} lists CNAME")
        delegation = NS in types and not apex
        return DenialVerdict(
            Status.SECURE,
            f"{record} proves there is no DS" + (" (unsigned delegation)" if delegation else ""),
            delegation=delegation,
        )
    if isDelegation(types):
        return bogus(f"{record} is from the parent side of a delegation")
    if rdtype in types:
        return bogus(f"{record} lists {typeText(rdtype)}")
    if CNAME in types:
        return bogus(f"{record} lists CNAME")
    return DenialVerdict(Status.SECURE, f"{record} proves no {typeText(rdtype)} there")

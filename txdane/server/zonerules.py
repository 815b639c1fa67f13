"""
What a zone may hold: the rules that loading a zone file and a dynamic update both enforce.

A master file and an UPDATE message can both say things that dnspython stores without a
word but that no server may serve, or that make the zone say something else than was meant:

  - a TTL of 2**31 or more, which RFC 2181 section 8 says to read as 0 (L{servedTTL});
  - a DNSKEY whose key does not decode for its algorithm (L{dnskeyProblem}): signed and
    published, it would be a key that validates nothing;
  - a DS record anywhere but at a delegation point of the zone (RFC 4034 section 5, RFC 4035
    section 2.4): at the apex (the DS of a zone belongs in its parent), at a name without NS
    records, or below a delegation; and any name below a DNAME (RFC 6672 section 2.3),
    which would never be served (L{structureProblems});
  - an RRset too large for any DNS message (L{rrsetTooLarge}), which could only ever be
    answered with an empty truncated response, even over TCP.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import dns.dnssecalgs
import dns.exception
import dns.name
import dns.node
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rrset
import dns.zone

#: The largest TTL served as it is; a larger one means 0 (RFC 2181 section 8).
MAX_TTL = 2**31 - 1
#: The most bytes a DNS message holds (its length field over TCP is 16 bits).
MAX_MESSAGE = 65535
#: The bytes of an EDNS OPT record without options, which an answer to a query with one holds.
_OPT_SIZE = 11
#: Types whose records hold at most 16 bytes of data: a few hundred of them always fit.
_SMALL_TYPES = frozenset({dns.rdatatype.A, dns.rdatatype.AAAA})
#: What may sit below a DNAME in a signed zone: NSEC3 records live in their own namespace.
_DNSSEC_ONLY = frozenset({dns.rdatatype.NSEC3, dns.rdatatype.RRSIG})


def servedTTL(ttl: int) -> int:
    """
    The TTL to serve for C{ttl} as written: itself, or 0 when it is 2**31 or more, as RFC 2181
    section 8 says a receiver must read it (and as BIND's C{named-checkzone} does).
    """
    return ttl if ttl <= MAX_TTL else 0


def dnskeyProblem(rdata: dns.rdtypes.ANY.DNSKEY.DNSKEY) -> str | None:
    """
    Why the key of DNSKEY record C{rdata} is not a key of its algorithm (its words), or
    C{None} when it is, or when its algorithm is one dnspython does not know (nothing can be
    said of those; validators ignore them).
    """
    try:
        algorithm = dns.dnssecalgs.get_algorithm_cls_from_dnskey(rdata)
        algorithm.public_cls.from_dnskey(rdata)
    except dns.exception.UnsupportedAlgorithm:
        return None
    except Exception as e:  # cryptography's errors, of many kinds, for bytes that are no key
        return str(e) or type(e).__name__
    return None


@dataclass(frozen=True)
class Problem:
    """
    A record where it must not be.

    @ivar name: its owner.
    @ivar rdtype: its type.
    @ivar reason: what is wrong, in a sentence naming the owner.
    """

    name: dns.name.Name
    rdtype: int
    reason: str


def structureProblems(zone: dns.zone.Zone) -> Iterator[Problem]:
    """
    The DS records that are not at a delegation of C{zone} (an absolute-named zone), and the
    names below a DNAME, in no particular order.
    """
    origin = zone.origin
    assert origin is not None
    cuts = set()
    dnames = set()
    for name, node in zone.nodes.items():
        types = {rdataset.rdtype for rdataset in node.rdatasets}
        if dns.rdatatype.NS in types and name != origin:
            cuts.add(name)
        if dns.rdatatype.DNAME in types:
            dnames.add(name)
    for name, node in zone.nodes.items():
        types = {rdataset.rdtype for rdataset in node.rdatasets}
        if dnames and types - _DNSSEC_ONLY:
            dname = _strictlyAbove(name, origin, dnames)
            if dname is not None:
                first = min(types - _DNSSEC_ONLY)
                yield Problem(
                    name,
                    first,
                    f"{name} is below the DNAME at {dname}: no name may exist below a DNAME "
                    "(RFC 6672 section 2.3), and it would never be served",
                )
                continue
        if dns.rdatatype.DS in types:
            reason = _dsProblem(name, origin, cuts)
            if reason is not None:
                yield Problem(name, dns.rdatatype.DS, reason)


def _strictlyAbove(
    name: dns.name.Name, origin: dns.name.Name, owners: set[dns.name.Name]
) -> dns.name.Name | None:
    """
    The highest of C{owners} strictly above C{name}, at or below C{origin}, if any.
    """
    found = None
    while name != origin and len(name) > len(origin):
        name = name.parent()
        if name in owners:
            found = name
    return found


def _dsProblem(name: dns.name.Name, origin: dns.name.Name, cuts: set[dns.name.Name]) -> str | None:
    """
    Why a DS record may not be at C{name}, or C{None} when C{name} is a delegation point.
    """
    rule = "a DS record belongs at a delegation, in the parent zone (RFC 4035 section 2.4)"
    if name == origin:
        return f"DS record at the zone's apex {name}: {rule}, not in the zone it is about"
    above = _strictlyAbove(name, origin, cuts)
    if above is not None:
        return f"DS record at {name}, below the delegation at {above}: {rule}"
    if name not in cuts:
        return f"DS record at {name}, which is not a delegation (no NS records there): {rule}"
    return None


def rrsetTooLarge(name: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> int | None:
    """
    The size of the smallest answer that could hold C{rdataset} (owned by C{name}): a header,
    the question and an OPT record besides the records, names compressed; or C{None} when
    that fits in a DNS message.
    """
    if rdataset.rdtype in _SMALL_TYPES and len(rdataset) <= 1000:
        return None
    # At most: a header, the longest question, and per record a compressed owner, the fixed
    # fields and the data with no name in it compressed. Only near the limit is it measured.
    bound = 12 + 259 + _OPT_SIZE + sum(12 + len(rdata.to_wire()) for rdata in rdataset)
    if bound <= MAX_MESSAGE:
        return None
    out = io.BytesIO()
    out.write(bytes(12))
    compress: dict[dns.name.Name, int] = {}
    name.to_wire(out, compress)
    out.write(bytes(4))
    rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype, rdataset.covers)
    rrset.update(rdataset)
    rrset.to_wire(out, compress)
    size = out.tell() + _OPT_SIZE
    return size if size > MAX_MESSAGE else None

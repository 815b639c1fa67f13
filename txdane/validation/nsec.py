"""
Authenticated denial of existence with NSEC (RFC 4035 sections 3.1.3 and 5.4, RFC 6840).

The functions here are pure logic over NSEC records whose signatures the caller has already
verified with the keys of C{zone}; they say whether the records prove what is claimed. What
they share with NSEC3 is in L{txdane.validation.denial}.
"""

from __future__ import annotations

from collections.abc import Sequence

import dns.name
import dns.rdatatype
from dns.rdtypes.ANY.NSEC import NSEC

from txdane.status import Status
from txdane.validation.cache import nameText, sameName
from txdane.validation.denial import (
    DNAME,
    DenialVerdict,
    bogus,
    isDelegation,
    typeAbsent,
    typesOf,
)


def covers(owner: dns.name.Name, nextName: dns.name.Name, name: dns.name.Name) -> bool:
    """
    Whether the NSEC span from C{owner} to C{nextName} covers C{name} (strictly between, in
    canonical order; the last NSEC of a zone wraps around to its apex).
    """
    if owner < nextName:
        return owner < name < nextName
    # Last NSEC of the chain: covers everything after the owner within the zone.
    return owner < name or name < nextName


def _commonAncestor(a: dns.name.Name, b: dns.name.Name) -> dns.name.Name:
    _, _, common = a.fullcompare(b)
    return a.split(common)[1] if common else dns.name.root


def _usableFor(owner: dns.name.Name, types: frozenset[int], name: dns.name.Name) -> bool:
    """
    A parent-side NSEC at a delegation, or an NSEC at a DNAME, proves nothing about names
    below its owner (RFC 6840 section 4.1).
    """
    if name != owner and name.is_subdomain(owner):
        return not (isDelegation(types) or DNAME in types)
    return True


def _find(
    nsecs: Sequence[tuple[dns.name.Name, NSEC]], name: dns.name.Name
) -> tuple[dns.name.Name, NSEC] | None:
    for owner, rdata in nsecs:
        if sameName(owner, name):
            return owner, rdata
    return None


def _covering(
    nsecs: Sequence[tuple[dns.name.Name, NSEC]], name: dns.name.Name
) -> tuple[dns.name.Name, NSEC] | None:
    for owner, rdata in nsecs:
        if covers(owner, rdata.next, name) and _usableFor(owner, typesOf(rdata.windows), name):
            return owner, rdata
    return None


def closestEncloser(
    owner: dns.name.Name, nextName: dns.name.Name, name: dns.name.Name
) -> dns.name.Name:
    """
    The closest encloser of C{name} that an NSEC covering it reveals: the longer of the common
    ancestors of the name with the NSEC's owner and with its next name.
    """
    a = _commonAncestor(owner, name)
    b = _commonAncestor(nextName, name)
    return a if len(a) >= len(b) else b


def _matchNoData(
    owner: dns.name.Name, rdata: NSEC, rdtype: int, zone: dns.name.Name
) -> DenialVerdict:
    return typeAbsent(
        typesOf(rdata.windows), rdtype, owner, zone, "NSEC", f"NSEC at {nameText(owner)}"
    )


def proveNoData(
    name: dns.name.Name,
    rdtype: int,
    nsecs: Sequence[tuple[dns.name.Name, NSEC]],
    zone: dns.name.Name,
) -> DenialVerdict:
    """
    Check that C{nsecs} prove C{name} exists but has no C{rdtype} records (nor a CNAME), by a
    matching NSEC, an empty non-terminal, or a wildcard without the type (RFC 4035 s.3.1.3).
    """
    found = _find(nsecs, name)
    if found is not None:
        return _matchNoData(found[0], found[1], rdtype, zone)
    cover = _covering(nsecs, name)
    if cover is None:
        return bogus(f"no NSEC matches or covers {name}")
    owner, rdata = cover
    if rdata.next.is_subdomain(name) and rdata.next != name:
        return DenialVerdict(
            Status.SECURE,
            f"NSEC at {nameText(owner)} shows {nameText(name)} is an empty non-terminal",
        )
    encloser = closestEncloser(owner, rdata.next, name)
    wildcard = dns.name.Name((b"*", *encloser.labels))
    found = _find(nsecs, wildcard)
    if found is None:
        return bogus(f"no NSEC proves the wildcard {wildcard} lacks the type")
    verdict = _matchNoData(found[0], found[1], rdtype, zone)
    if verdict.status is not Status.SECURE:
        return verdict
    return DenialVerdict(
        Status.SECURE,
        f"NSEC at {nameText(owner)} and {nameText(wildcard)} prove no data for {nameText(name)}"
        " (wildcard NODATA)",
    )


def proveNXDomain(
    name: dns.name.Name,
    nsecs: Sequence[tuple[dns.name.Name, NSEC]],
    zone: dns.name.Name,
) -> DenialVerdict:
    """
    Check that C{nsecs} prove C{name} does not exist: an NSEC covering it and one covering the
    wildcard at its closest encloser (RFC 4035 section 5.4).
    """
    if _find(nsecs, name) is not None:
        return bogus(f"an NSEC at {name} shows the name exists")
    cover = _covering(nsecs, name)
    if cover is None:
        return bogus(f"no NSEC covers {name}")
    owner, rdata = cover
    if rdata.next.is_subdomain(name):
        return bogus(f"NSEC at {owner} shows {name} is an empty non-terminal, not absent")
    encloser = closestEncloser(owner, rdata.next, name)
    if not encloser.is_subdomain(zone):
        return bogus(f"NSEC at {owner} lies outside zone {zone}")
    wildcard = dns.name.Name((b"*", *encloser.labels))
    if _find(nsecs, wildcard) is not None:
        return bogus(f"an NSEC shows the wildcard {wildcard} exists")
    if _covering(nsecs, wildcard) is None:
        return bogus(f"no NSEC covers the wildcard {wildcard}")
    return DenialVerdict(
        Status.SECURE, f"NSEC at {nameText(owner)} proves {nameText(name)} does not exist"
    )


def proveWildcard(
    name: dns.name.Name,
    wildcardParent: dns.name.Name,
    nsecs: Sequence[tuple[dns.name.Name, NSEC]],
) -> DenialVerdict:
    """
    Check that an answer synthesized from C{*.wildcardParent} for C{name} is legitimate: an
    NSEC must cover C{name}, proving no closer match exists, and its closest encloser must be
    C{wildcardParent} (RFC 4035 section 5.3.4).
    """
    cover = _covering(nsecs, name)
    if cover is None:
        return bogus(f"wildcard answer for {name} without an NSEC proving no closer name")
    owner, rdata = cover
    if closestEncloser(owner, rdata.next, name) != wildcardParent:
        return bogus(f"the wildcard at {wildcardParent} is not at the closest encloser of {name}")
    return DenialVerdict(
        Status.SECURE, f"NSEC at {nameText(owner)} proves no closer match than the wildcard"
    )

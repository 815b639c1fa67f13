"""
What an UPDATE message does to a zone (RFC 2136 sections 3.2 to 3.4): its checks, and its
changes applied, in order, to a copy of the zone, which L{txdane.server.update.ZoneUpdater}
then signs, writes and serves.

A check that fails raises L{UpdateRefused} with the rcode of the response, and nothing
changes: the form of what dnspython's message no longer shows (L{checkForms}) and of the
update section (L{prescan}, section 3.4.1), data at or below a delegation (L{belowCut}), the
prerequisites (L{checkPrerequisites}, section 3.2). L{applyUpdates} applies the update
section (section 3.4.2), L{checkStructure} holds the result to the rules of
L{txdane.server.zonerules}, and L{bumpSerial} advances the SOA serial. What a key may change
is checked by L{txdane.server.updategrants}.
"""

from __future__ import annotations

from collections.abc import Iterable

import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rdtypes.ANY.SOA
import dns.rrset
import dns.zone

from txdane.errors import TxdaneError
from txdane.server.wirescan import RecordHeader
from txdane.server.zonerules import dnskeyProblem, structureProblems

#: Types the signer maintains; no update may touch them.
SIGNER_TYPES = frozenset(
    {
        dns.rdatatype.RRSIG,
        dns.rdatatype.NSEC,
        dns.rdatatype.NSEC3,
        dns.rdatatype.NSEC3PARAM,
    }
)
#: Types no update may add (RFC 2136 section 3.4.1.2: meta types).
META_TYPES = frozenset(
    {
        dns.rdatatype.ANY,
        dns.rdatatype.AXFR,
        dns.rdatatype.IXFR,
        dns.rdatatype.MAILA,
        dns.rdatatype.MAILB,
        dns.rdatatype.OPT,
        dns.rdatatype.TSIG,
        dns.rdatatype.TKEY,
    }
)


class UpdateRefused(TxdaneError):
    """
    An update is refused with C{rcode}; nothing changes. Never leaves the updater
    (L{txdane.server.update.ZoneUpdater}): it becomes the response's rcode.

    @ivar rcode: the rcode of the response.
    """

    rcode: int
    reason: str = ""
    template = "update refused with rcode {rcode}"


def belowCut(zone: dns.zone.Zone, origin: dns.name.Name, rrset: dns.rrset.RRset) -> bool:
    """
    Whether C{rrset} lies where the zone delegates: below a name with NS records (other than
    the apex), or at one, for other types than the parent's own there (NS, DS). Address
    records below a cut are glue, and stay the parent's.
    """
    name = rrset.name
    rdtype = rrset.rdtype
    for depth in range(len(origin) + 1, len(name) + 1):
        cut = name.split(depth)[1]
        node = zone.get_node(cut)
        if node is None or node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) is None:
            continue
        if cut == name:
            return rdtype not in (dns.rdatatype.NS, dns.rdatatype.DS)
        return rdtype not in (dns.rdatatype.A, dns.rdatatype.AAAA)
    return False


def prescan(updates: Iterable[dns.rrset.RRset], origin: dns.name.Name) -> None:
    """
    RFC 2136 section 3.4.1: every update record is well formed, or the update is FORMERR.
    """
    for rrset in updates:
        rdtype = rrset.rdtype
        if rrset.deleting is None:
            if rdtype in META_TYPES or rrset.rdclass != dns.rdataclass.IN:
                # Another class than the zone's (RFC 2136 section 3.4.1.2).
                raise UpdateRefused(dns.rcode.FORMERR)
            for rdata in rrset:
                if isinstance(rdata, dns.rdtypes.ANY.DNSKEY.DNSKEY):
                    problem = dnskeyProblem(rdata)
                    if problem is not None:
                        raise UpdateRefused(
                            dns.rcode.FORMERR, f"a DNSKEY that is no key ({problem})"
                        )
        elif rrset.deleting == dns.rdataclass.ANY:
            if rrset.ttl != 0 or (rdtype in META_TYPES and rdtype != dns.rdatatype.ANY):
                raise UpdateRefused(dns.rcode.FORMERR)
        elif rrset.ttl != 0 or rdtype in META_TYPES:
            raise UpdateRefused(dns.rcode.FORMERR)
        if rdtype in SIGNER_TYPES:
            raise UpdateRefused(dns.rcode.REFUSED)


def checkForms(headers: Iterable[RecordHeader]) -> None:
    """
    FORMERR for what dnspython's message no longer shows: a prerequisite whose TTL is not 0
    (RFC 2136 section 3.2), or whose class is not the zone's, ANY or NONE (section 3.2.5);
    an update of another class (section 3.4.1.2), or a deletion (class ANY or NONE) whose
    TTL is not 0 (sections 3.4.1.3 and 3.4.2.3), or of class ANY with data.
    """
    classes = (dns.rdataclass.IN, dns.rdataclass.ANY, dns.rdataclass.NONE)
    for header in headers:
        if header.section == 1:
            if header.ttl != 0 or header.rdclass not in classes:
                raise UpdateRefused(dns.rcode.FORMERR)
        elif header.section == 2:
            if header.rdclass not in classes:
                raise UpdateRefused(dns.rcode.FORMERR)
            deleting = header.rdclass != dns.rdataclass.IN
            if deleting and header.ttl != 0:
                raise UpdateRefused(dns.rcode.FORMERR)
            if header.rdclass == dns.rdataclass.ANY and header.rdlength != 0:
                raise UpdateRefused(dns.rcode.FORMERR)


def checkStructure(zone: dns.zone.Zone, updates: Iterable[dns.rrset.RRset]) -> None:
    """
    After the updates: a DS record left where its delegation was removed goes with it (as
    BIND removes it); a DS record added where the zone does not delegate (its apex, a name
    without NS records, below a delegation), or any name below a DNAME (added, or under a
    DNAME added), is REFUSED (RFC 4035 section 2.4, RFC 6672 section 2.3).
    """
    origin = zone.origin
    assert origin is not None
    addedDS = {
        rrset.name
        for rrset in updates
        if rrset.deleting is None and rrset.rdtype == dns.rdatatype.DS
    }
    for name, node in list(zone.nodes.items()):
        orphan = name != origin and name not in addedDS
        if orphan and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) is None:
            if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.DS) is not None:
                zone.delete_rdataset(name, dns.rdatatype.DS)  # and the node, left empty
    problem = next(structureProblems(zone), None)
    if problem is not None:
        raise UpdateRefused(dns.rcode.REFUSED, problem.reason)


def _nameInUse(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
    node = zone.nodes.get(name)
    return node is not None and bool(node.rdatasets)


def checkPrerequisites(zone: dns.zone.Zone, prerequisites: Iterable[dns.rrset.RRset]) -> None:
    """
    RFC 2136 section 3.2: the first prerequisite that fails decides the rcode.
    """
    expected: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], dns.rdataset.Rdataset] = {}
    for rrset in prerequisites:
        if rrset.ttl != 0:
            raise UpdateRefused(dns.rcode.FORMERR)
        name, rdtype = rrset.name, rrset.rdtype
        if rrset.deleting == dns.rdataclass.ANY:
            if rdtype == dns.rdatatype.ANY:
                if not _nameInUse(zone, name):
                    raise UpdateRefused(dns.rcode.NXDOMAIN)
            elif zone.get_rdataset(name, rdtype) is None:
                raise UpdateRefused(dns.rcode.NXRRSET)
        elif rrset.deleting == dns.rdataclass.NONE:
            if rdtype == dns.rdatatype.ANY:
                if _nameInUse(zone, name):
                    raise UpdateRefused(dns.rcode.YXDOMAIN)
            elif zone.get_rdataset(name, rdtype) is not None:
                raise UpdateRefused(dns.rcode.YXRRSET)
        else:
            if rdtype in META_TYPES or rrset.rdclass != dns.rdataclass.IN:
                # Another class than the zone's (RFC 2136 section 3.2.5).
                raise UpdateRefused(dns.rcode.FORMERR)
            temp = expected.setdefault((name, rdtype), dns.rdataset.Rdataset(rrset.rdclass, rdtype))
            for rdata in rrset:
                temp.add(rdata)
    for (name, rdtype), wanted in expected.items():
        have = zone.get_rdataset(name, rdtype)
        if have is None or set(have) != set(wanted):
            raise UpdateRefused(dns.rcode.NXRRSET)


def applyUpdates(
    zone: dns.zone.Zone, updates: Iterable[dns.rrset.RRset], origin: dns.name.Name
) -> tuple[bool, bool]:
    """
    RFC 2136 section 3.4.2, in order. Returns whether anything changed and whether the
    update set the SOA itself.
    """
    before = _snapshot(zone)
    soaGiven = False
    for rrset in updates:
        name, rdtype = rrset.name, rrset.rdtype
        apex = name == origin
        if rrset.deleting is None:
            for rdata in rrset:
                soaGiven |= _addRecord(zone, name, rdata, rrset.ttl, apex)
        elif rrset.deleting == dns.rdataclass.ANY:
            if rdtype == dns.rdatatype.ANY:
                node = zone.nodes.get(name)
                for rdataset in list(node.rdatasets) if node is not None else []:
                    if apex and rdataset.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS):
                        continue
                    zone.delete_rdataset(name, rdataset.rdtype)
            elif not (apex and rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS)):
                zone.delete_rdataset(name, rdtype)
        else:
            if apex and rdtype == dns.rdatatype.SOA:
                continue
            have = zone.get_rdataset(name, rdtype)
            if have is None:
                continue
            for rdata in rrset:
                if apex and rdtype == dns.rdatatype.NS and len(have) == 1:
                    break
                have.discard(rdata)
            if not have:
                zone.delete_rdataset(name, rdtype)
        node = zone.nodes.get(name)
        if node is not None and not node.rdatasets:
            del zone.nodes[name]
    return _snapshot(zone) != before, soaGiven


def _addRecord(
    zone: dns.zone.Zone, name: dns.name.Name, rdata: dns.rdata.Rdata, ttl: int, apex: bool
) -> bool:
    rdtype = rdata.rdtype
    node = zone.nodes.get(name)
    types = {r.rdtype for r in node.rdatasets} if node is not None else set()
    if rdtype == dns.rdatatype.CNAME and types - {dns.rdatatype.CNAME}:
        return False
    if rdtype != dns.rdatatype.CNAME and dns.rdatatype.CNAME in types:
        return False
    if rdtype == dns.rdatatype.SOA:
        current = zone.get_rdataset(name, rdtype)
        if not apex or current is None:
            return False
        assert isinstance(rdata, dns.rdtypes.ANY.SOA.SOA)
        if (rdata.serial - current[0].serial) % 2**32 >= 2**31 or rdata.serial == current[0].serial:
            return False
        replacement = dns.rdataset.Rdataset(dns.rdataclass.IN, rdtype)
        replacement.add(rdata, ttl)
        zone.replace_rdataset(name, replacement)
        return True
    rdataset = zone.find_rdataset(name, rdtype, create=True)
    rdataset.add(rdata)
    rdataset.ttl = ttl
    return False


def _snapshot(zone: dns.zone.Zone) -> set[tuple[dns.name.Name, int, int, str]]:
    return {
        (name, rdataset.rdtype, rdataset.ttl, rdata.to_text())
        for name, node in zone.nodes.items()
        for rdataset in node.rdatasets
        for rdata in rdataset
    }


def bumpSerial(zone: dns.zone.Zone, origin: dns.name.Name) -> None:
    """
    Add one to the serial of the SOA record at C{origin}, modulo 2**32 (RFC 1982).
    """
    soa = zone.get_rdataset(origin, dns.rdatatype.SOA)
    assert soa is not None
    old = soa[0]
    serial = (old.serial + 1) % 2**32
    replacement = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.SOA)
    replacement.add(old.replace(serial=serial), soa.ttl)
    zone.replace_rdataset(origin, replacement)

"""
The zones a server holds, indexed for answering.

A L{ZoneStore} holds several zones, possibly nested (a root, a TLD and leaves in one process),
and picks the zone that answers a query: the most specific one, except that DS records, and
the proof that there are none, come from the parent side of a zone cut (RFC 4035 section 3.1.4.1).

Each zone is wrapped in an immutable L{ZoneIndex} built once at load time, so that answering
needs no scan of the zone: which names exist (empty non-terminals included), where the cuts and
DNAMEs are, the NSEC owners in canonical order and the NSEC3 hashes in order.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import dns.name
import dns.node
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.NSEC3PARAM
import dns.zone

from txdane.server.fastpath import WireZone, wireKey
from txdane.server.signing import absoluteZone, nsec3Label, nsec3LabelToBytes, zoneShape
from txdane.server.zonefile import ZoneError, loadZoneFile

__all__ = [
    "PRERENDERED_NAMES",
    "NSEC3Chain",
    "ZoneError",
    "ZoneIndex",
    "ZoneStore",
    "loadZoneFile",
]

#: Zones of at most this many names have every RRset rendered for the fast path when they are
#: loaded (about 2 KB and 30 microseconds a signed name); larger ones have each name's RRsets
#: rendered when it is first asked about, so that loading them stays quick and their memory
#: grows only with what is asked.
PRERENDERED_NAMES = 50_000


@dataclass(frozen=True)
class NSEC3Chain:
    """
    The NSEC3 chain of a zone: parameters and the owner hashes in order.
    """

    salt: bytes
    iterations: int
    hashes: list[bytes]
    owners: list[dns.name.Name]

    def hashOf(self, name: dns.name.Name) -> bytes:
        """
        The raw NSEC3 hash of C{name} under this chain's parameters.
        """
        return nsec3LabelToBytes(nsec3Label(name, self.salt, self.iterations))

    def matching(self, name: dns.name.Name) -> dns.name.Name | None:
        """
        The owner of the NSEC3 record whose hash is C{name}'s, if there is one.
        """
        digest = self.hashOf(name)
        index = bisect.bisect_left(self.hashes, digest)
        if index < len(self.hashes) and self.hashes[index] == digest:
            return self.owners[index]
        return None

    def covering(self, name: dns.name.Name) -> dns.name.Name:
        """
        The owner of the NSEC3 record whose span covers C{name}'s hash (wrapping at the end).
        """
        digest = self.hashOf(name)
        index = bisect.bisect_left(self.hashes, digest) - 1
        return self.owners[index]  # index -1 wraps to the last record, as the chain does


@dataclass(frozen=True)
class ZoneIndex:
    """
    One zone, with absolute owner names, and what answering needs to know about it.

    @ivar zone: the zone data, as served.
    @ivar origin: its apex.
    @ivar existing: every name that exists in the zone, empty non-terminals included.
    @ivar cuts: the delegation points below the apex.
    @ivar dnames: owners of DNAME records.
    @ivar nsecOwners: owners of NSEC records in canonical order (empty without NSEC).
    @ivar nsec3: the NSEC3 chain, or C{None}.
    """

    zone: dns.zone.Zone
    origin: dns.name.Name
    existing: frozenset[dns.name.Name]
    cuts: frozenset[dns.name.Name]
    dnames: frozenset[dns.name.Name]
    nsecOwners: list[dns.name.Name] = field(default_factory=list)
    nsec3: NSEC3Chain | None = None

    @classmethod
    def build(cls, zone: dns.zone.Zone) -> ZoneIndex:
        """
        Index C{zone} (relative or absolute names; the index holds an absolute copy).
        """
        origin = zone.origin
        if origin is None:
            raise ZoneError("zone has no origin")
        if not zone.relativize:
            absolute = zone
        else:
            absolute = absoluteZone(zone)
        if absolute.get_rdataset(origin, dns.rdatatype.SOA) is None:
            raise ZoneError(f"zone {origin} has no SOA record at its apex")
        _, cuts = zoneShape(absolute)
        existing: set[dns.name.Name] = set()
        dnames: set[dns.name.Name] = set()
        nsecOwners: list[dns.name.Name] = []
        nsec3Entries: list[tuple[bytes, dns.name.Name]] = []
        for name, node in absolute.nodes.items():
            if not node.rdatasets:
                continue
            if node.get_rdataset(absolute.rdclass, dns.rdatatype.NSEC3) is not None:
                # NSEC3 owners live in their own namespace: not "names" of the zone.
                try:
                    raw = nsec3LabelToBytes(name.labels[0].decode("ascii"))
                except ValueError:  # binascii.Error, UnicodeDecodeError
                    reason = f"NSEC3 record at {name}: the owner is not a base32hex hash"
                    raise ZoneError(reason) from None
                nsec3Entries.append((raw, name))
                if len(node.rdatasets) <= 2:
                    continue
            if node.get_rdataset(absolute.rdclass, dns.rdatatype.NSEC) is not None:
                nsecOwners.append(name)
            if node.get_rdataset(absolute.rdclass, dns.rdatatype.DNAME) is not None:
                dnames.add(name)
            while name not in existing and name.is_subdomain(origin):
                existing.add(name)
                if name == origin:
                    break
                name = name.parent()
        chain = None
        param = absolute.get_rdataset(origin, dns.rdatatype.NSEC3PARAM)
        if param is not None and nsec3Entries:
            first = param[0]
            assert isinstance(first, dns.rdtypes.ANY.NSEC3PARAM.NSEC3PARAM)
            nsec3Entries.sort()
            chain = NSEC3Chain(
                salt=first.salt,
                iterations=first.iterations,
                hashes=[h for h, _ in nsec3Entries],
                owners=[n for _, n in nsec3Entries],
            )
        index = cls(
            zone=absolute,
            origin=origin,
            existing=frozenset(existing),
            cuts=cuts,
            dnames=frozenset(dnames),
            nsecOwners=sorted(nsecOwners),
            nsec3=chain,
        )
        # The wire form now, while loading (a worker thread when the server loads or updates
        # zones), not on the first query: its indexes, and its RRsets too unless the zone is
        # so large that they had better be rendered as they are asked for.
        wire = index.wire
        if len(absolute.nodes) <= PRERENDERED_NAMES:
            wire.renderAll()
        return index

    def node(self, name: dns.name.Name) -> dns.node.Node | None:
        """
        The node at C{name}, if it holds data.
        """
        return self.zone.nodes.get(name)

    def rdataset(
        self,
        name: dns.name.Name,
        rdtype: int,
        covers: int = dns.rdatatype.NONE,
    ) -> dns.rdataset.Rdataset | None:
        """
        The rdataset of C{rdtype} at C{name}, if any.
        """
        node = self.zone.nodes.get(name)
        if node is None:
            return None
        return node.get_rdataset(self.zone.rdclass, rdtype, covers)  # type: ignore[arg-type]

    def coveringNSEC(self, name: dns.name.Name) -> dns.name.Name | None:
        """
        The owner of the NSEC record at or before C{name} in canonical order (the one that
        matches or covers it), or C{None} in a zone without NSEC.
        """
        if not self.nsecOwners:
            return None
        index = bisect.bisect_right(self.nsecOwners, name) - 1
        return self.nsecOwners[index]

    @cached_property
    def wire(self) -> WireZone:
        """
        This zone in the wire form the fast path answers from (made when first needed, its
        RRsets rendered as they are first asked for).
        """
        chain = self.nsec3
        return WireZone(
            self.zone,
            self.origin,
            self.existing,
            self.cuts,
            self.dnames,
            self.nsecOwners,
            None if chain is None else (chain.salt, chain.iterations, chain.hashes, chain.owners),
        )

    @property
    def signed(self) -> bool:
        """
        Whether the zone carries DNSKEY records at its apex.
        """
        return self.rdataset(self.origin, dns.rdatatype.DNSKEY) is not None


class ZoneStore:
    """
    The zones one server answers for, looked up by query name.
    """

    def __init__(self, zones: Iterable[ZoneIndex | dns.zone.Zone] = ()) -> None:
        self._zones: dict[dns.name.Name, ZoneIndex] = {}
        self._wireZones: dict[bytes, WireZone] | None = None
        for zone in zones:
            self.add(zone)

    def add(self, zone: ZoneIndex | dns.zone.Zone) -> ZoneIndex:
        """
        Hold C{zone} (indexing it first if needed); two zones with one origin are an error.
        """
        index = zone if isinstance(zone, ZoneIndex) else ZoneIndex.build(zone)
        if index.origin in self._zones:
            raise ZoneError(f"zone {index.origin} is loaded twice")
        self._zones[index.origin] = index
        self._wireZones = None
        return index

    @property
    def wireZones(self) -> dict[bytes, WireZone]:
        """
        The zones in the fast path's wire form, by apex in lower-case wire form.
        """
        wireZones = self._wireZones
        if wireZones is None:
            wireZones = {wireKey(z.origin): z.wire for z in self._zones.values()}
            self._wireZones = wireZones
        return wireZones

    def __iter__(self) -> Iterator[ZoneIndex]:
        return iter(self._zones.values())

    def __len__(self) -> int:
        return len(self._zones)

    def get(self, origin: dns.name.Name) -> ZoneIndex | None:
        """
        The zone whose apex is exactly C{origin}.
        """
        return self._zones.get(origin)

    def zoneFor(self, qname: dns.name.Name, qtype: int) -> ZoneIndex | None:
        """
        The zone that answers C{qname}/C{qtype}: the most specific zone held, except that a DS
        query for a zone's apex goes to its parent when the parent is held too.
        """
        name = qname
        found: ZoneIndex | None = None
        while True:
            zone = self._zones.get(name)
            if zone is not None:
                if found is None:
                    found = zone
                    if not (qtype == dns.rdatatype.DS and name == qname):
                        return found
                else:
                    return zone
            if name == dns.name.root or len(name) == 0:
                return found
            name = name.parent()

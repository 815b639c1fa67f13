"""
Zones in the wire form that L{txdane.server.fastpath.answerFast} answers from: names as
lower-case wire bytes, each RRset rendered once (with the records of its signatures, without its
owner name) as dnspython would render it, and the sort keys and hashes that NSEC and NSEC3
proofs are found by.

A record whose data holds names that dnspython compresses (SOA, NS, CNAME, MX and the like) is
kept as a template of bytes and names, written for each answer with the compression dnspython
would apply (L{_writeName}); every other record is plain bytes.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
from collections.abc import Iterable

import dns.name
import dns.node
import dns.rdata
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.NSEC
import dns.rdtypes.ANY.RRSIG
import dns.rdtypes.ANY.SOA
import dns.rdtypes.mxbase
import dns.rdtypes.nsbase
import dns.zone

__all__ = ["NameParts", "WireZone", "canonicalKey", "nameParts", "wireKey"]

_U16 = struct.Struct("!H")
_RR_HEAD = struct.Struct("!HHI")

_RRSIG = dns.rdatatype.RRSIG
_SOA = dns.rdatatype.SOA

#: A pointer to the question's name, where every answer's records' owner is written.
_QUESTION_POINTER = b"\xc0\x0c"

#: A name to write with compression: for each label, its wire form (length byte first) and
#: the lower-case wire form of the name from that label on (the compression table's key).
NameParts = tuple[tuple[bytes, bytes], ...]


class _Template:
    """
    A record whose data holds names that dnspython compresses (SOA, NS, CNAME, MX and the
    like): the fixed start (type, class, TTL) and the data as bytes and names in turn.
    """

    __slots__ = ("head", "pieces")

    def __init__(self, head: bytes, pieces: tuple[bytes | NameParts, ...]) -> None:
        self.head = head
        self.pieces = pieces


#: One record without its owner: type, class, TTL, length and data as bytes, or a template.
_Record = bytes | _Template


class _RRset:
    """
    An RRset of the zone rendered without its owner name: its records, and those of the
    RRSIG RRset covering it.

    @ivar signed: the records followed by the signatures, what an answer with DO holds.
    @ivar split: where the signatures start in C{signed} when either part holds several
        records (which dnspython shuffles, each part on its own), else 0.
    """

    __slots__ = ("_whole", "data", "rdtype", "signed", "sigs", "split")

    def __init__(self, rdtype: int, data: tuple[_Record, ...], sigs: tuple[_Record, ...]) -> None:
        self.rdtype = rdtype
        self.data = data
        self.sigs = sigs
        self.signed = data + sigs
        self.split = len(data) if len(data) > 1 or len(sigs) > 1 else 0
        self._whole: tuple[bytes | None, bytes | None] | None = None

    def wholeAnswer(self, dnssec: bool) -> bytes | None:
        """
        The answer section when this RRset is all of it, each record under the question's
        name (a pointer to it): the same bytes every time, made once. C{None} when they are
        not always the same: records that hold names to compress, or several records, which
        dnspython shuffles.
        """
        whole = self._whole
        if whole is None:
            whole = self._whole = (
                _fixedAnswer(self.data, len(self.data) > 1),
                _fixedAnswer(self.signed, bool(self.split)),
            )
        return whole[dnssec]


def _fixedAnswer(records: tuple[_Record, ...], shuffled: bool) -> bytes | None:
    if shuffled:
        return None
    pieces = []
    for record in records:
        if type(record) is not bytes:
            return None
        pieces.append(_QUESTION_POINTER + record)
    return b"".join(pieces)


class _Node:
    """
    A node of the zone in wire form: its owner name ready for compression, its RRsets by type.
    """

    __slots__ = ("parts", "rrsets", "unsupported")

    def __init__(
        self, parts: NameParts, rrsets: dict[int, _RRset], unsupported: frozenset[int]
    ) -> None:
        self.parts = parts
        self.rrsets = rrsets
        self.unsupported = unsupported


def wireKey(name: dns.name.Name) -> bytes:
    """
    C{name} (absolute) in lower-case wire form: how names are looked up here.
    """
    return b"".join(bytes((len(label),)) + label.lower() for label in name.labels)


def nameParts(name: dns.name.Name) -> NameParts:
    """
    C{name} (absolute) cut up for L{_writeName}.
    """
    key = wireKey(name)
    parts = []
    offset = 0
    for label in name.labels[:-1]:
        parts.append((bytes((len(label),)) + label, key[offset:]))
        offset += len(label) + 1
    return tuple(parts)


def canonicalKey(key: bytes) -> tuple[bytes, ...]:
    """
    The sort key of a lower-case wire name in DNSSEC canonical order (RFC 4034 section 6.1):
    its labels, last first.
    """
    labels = []
    offset = 0
    length = key[0]
    while length:
        labels.append(key[offset + 1 : offset + 1 + length])
        offset += length + 1
        length = key[offset]
    labels.reverse()
    return tuple(labels)


def _writeName(out: list[bytes], table: dict[bytes, int], pos: int, parts: NameParts) -> int:
    """
    Write a name at offset C{pos} with compression, as dnspython does: a pointer to the first
    suffix already written, every suffix written here (below offset 0x4000) remembered.
    Return the offset after it.
    """
    for label, key in parts:
        target = table.get(key)
        if target is not None:
            out.append(_U16.pack(0xC000 | target))
            return pos + 2
        if pos <= 0x3FFF:
            table[key] = pos
        out.append(label)
        pos += len(label)
    out.append(b"\x00")
    return pos + 1


def _renderRdataset(rdataset: dns.rdataset.Rdataset) -> tuple[_Record, ...] | None:
    """
    The records of C{rdataset} without their owner, or C{None} when one of them holds a
    compressible name this module cannot lay out.
    """
    head = _RR_HEAD.pack(rdataset.rdtype, rdataset.rdclass, rdataset.ttl)
    records: list[_Record] = []
    for rdata in rdataset:
        fixed = _fixedData(rdata)
        if fixed is not None:
            records.append(head + _U16.pack(len(fixed)) + fixed)
            continue
        compress: dict[dns.name.Name, int] = {}
        wire = rdata.to_wire(None, compress, None)
        assert wire is not None
        if not compress:
            records.append(head + _U16.pack(len(wire)) + wire)
            continue
        template = _template(head, rdata, wire)
        if template is None:
            return None
        records.append(template)
    return tuple(records)


_RRSIG_HEAD = struct.Struct("!HBBIIIH")


def _fixedData(rdata: dns.rdata.Rdata) -> bytes | None:
    """
    The data of the commonest records that hold names never compressed (RRSIG, NSEC) in wire
    form, laid out as dnspython lays them out but without its per-label work; C{None} for
    other records.
    """
    if isinstance(rdata, dns.rdtypes.ANY.RRSIG.RRSIG) and rdata.signer.is_absolute():
        header = _RRSIG_HEAD.pack(
            rdata.type_covered,
            rdata.algorithm,
            rdata.labels,
            rdata.original_ttl,
            rdata.expiration,
            rdata.inception,
            rdata.key_tag,
        )
        signer = rdata.signer.to_wire()
        assert signer is not None
        return header + signer + rdata.signature
    if isinstance(rdata, dns.rdtypes.ANY.NSEC.NSEC) and rdata.next.is_absolute():
        windows = b"".join(bytes((w, len(m))) + m for w, m in rdata.windows)
        following = rdata.next.to_wire()
        assert following is not None
        return following + windows
    return None


def _template(head: bytes, rdata: dns.rdata.Rdata, wire: bytes) -> _Template | None:
    pieces: tuple[bytes | dns.name.Name, ...]
    if isinstance(rdata, dns.rdtypes.ANY.SOA.SOA):
        numbers = struct.pack(
            "!IIIII", rdata.serial, rdata.refresh, rdata.retry, rdata.expire, rdata.minimum
        )
        pieces = (rdata.mname, rdata.rname, numbers)
    elif isinstance(rdata, dns.rdtypes.nsbase.NSBase):
        pieces = (rdata.target,)
    elif isinstance(rdata, dns.rdtypes.mxbase.MXBase):
        pieces = (_U16.pack(rdata.preference), rdata.exchange)
    else:
        return None
    if not all(isinstance(p, bytes) or p.is_absolute() for p in pieces):
        return None
    template = _Template(head, tuple(p if isinstance(p, bytes) else nameParts(p) for p in pieces))
    # The layout must give what dnspython gives, compressed against nothing but itself.
    out: list[bytes] = []
    _writeTemplateData(out, {}, 0, template)
    if b"".join(out) != wire:
        return None
    return template


def _writeTemplateData(
    out: list[bytes], table: dict[bytes, int], pos: int, template: _Template
) -> int:
    for piece in template.pieces:
        if isinstance(piece, bytes):
            out.append(piece)
            pos += len(piece)
        else:
            pos = _writeName(out, table, pos, piece)
    return pos


class WireZone:
    """
    One zone in the form L{txdane.server.fastpath.answerFast} reads: names as lower-case wire
    bytes, the NSEC owners' canonical sort keys, the NSEC3 hashes, and each node's RRsets
    rendered (once, when first needed) without their owner name. What it holds is bounded by
    the zone's own contents.

    @ivar origin: the apex, in lower-case wire form.
    """

    def __init__(
        self,
        zone: dns.zone.Zone,
        origin: dns.name.Name,
        existing: Iterable[dns.name.Name],
        cuts: Iterable[dns.name.Name],
        dnames: Iterable[dns.name.Name],
        nsecOwners: Iterable[dns.name.Name],
        nsec3: tuple[bytes, int, list[bytes], list[dns.name.Name]] | None,
    ) -> None:
        self._zone = zone
        self._rdclass = zone.rdclass
        self._originName = origin
        self.origin = wireKey(origin)
        self._existing = frozenset(wireKey(n) for n in existing)
        self._cuts = frozenset(wireKey(n) for n in cuts)
        self._dnames = frozenset(wireKey(n) for n in dnames)
        self._nodes: dict[bytes, dns.node.Node] = {wireKey(n): v for n, v in zone.nodes.items()}
        self._names: dict[bytes, dns.name.Name] = {wireKey(n): n for n in zone.nodes}
        owners = sorted((canonicalKey(k), k) for k in map(wireKey, nsecOwners))
        self._nsecSort = [s for s, _ in owners]
        self._nsecOwners = [k for _, k in owners]
        self._nsec3 = nsec3 is not None
        self._salt = b""
        self._iterations = 0
        self._hashes: list[bytes] = []
        self._nsec3Owners: list[bytes] = []
        if nsec3 is not None:
            self._salt, self._iterations, self._hashes, names = nsec3
            self._nsec3Owners = [wireKey(n) for n in names]
        self._hashCache: dict[bytes, bytes] = {}
        self._rendered: dict[bytes, _Node] = {}
        self._negativeSOA: tuple[NameParts, _RRset] | None = None

    def forget(self) -> None:
        """
        Drop every rendered RRset (after the zone's data changed in place).
        """
        self._rendered.clear()
        self._negativeSOA = None

    def renderAll(self) -> None:
        """
        Render every node's RRsets (and the SOA of negative answers) now, rather than when
        first asked for: the work a server does while loading, not while answering.
        """
        for key in self._nodes:
            self._node(key)
        self._soa()

    def _node(self, key: bytes) -> _Node | None:
        rendered = self._rendered.get(key)
        if rendered is not None:
            return rendered
        node = self._nodes.get(key)
        if node is None:
            return None
        sigs: dict[int, dns.rdataset.Rdataset] = {}
        data: list[dns.rdataset.Rdataset] = []
        for rdataset in node.rdatasets:
            if rdataset.rdclass != self._rdclass:
                continue
            if rdataset.rdtype == _RRSIG:
                sigs[rdataset.covers] = rdataset
            elif rdataset.covers == dns.rdatatype.NONE:
                data.append(rdataset)
        rrsets: dict[int, _RRset] = {}
        unsupported: set[int] = set()
        for rdataset in data:
            records = _renderRdataset(rdataset)
            sig = sigs.get(rdataset.rdtype)
            sigRecords = _renderRdataset(sig) if sig is not None else ()
            if records is None or sigRecords is None:
                unsupported.add(rdataset.rdtype)
            else:
                rrsets[rdataset.rdtype] = _RRset(rdataset.rdtype, records, sigRecords)
        rendered = _Node(nameParts(self._names[key]), rrsets, frozenset(unsupported))
        self._rendered[key] = rendered
        return rendered

    def _soa(self) -> tuple[NameParts, _RRset] | None:
        """
        The apex's SOA with the negative-answer TTL (the smaller of its TTL and its minimum
        field, RFC 2308 section 3), and its signatures.
        """
        if self._negativeSOA is not None:
            return self._negativeSOA
        node = self._nodes.get(self.origin)
        if node is None:
            return None
        soa = node.get_rdataset(self._rdclass, _SOA)
        if soa is None:
            return None
        negative = soa.copy()
        negative.ttl = min(soa.ttl, soa[0].minimum)
        records = _renderRdataset(negative)
        sig = node.get_rdataset(self._rdclass, _RRSIG, _SOA)
        sigRecords = _renderRdataset(sig) if sig is not None else ()
        if records is None or sigRecords is None:
            return None
        self._negativeSOA = (nameParts(self._originName), _RRset(_SOA, records, sigRecords))
        return self._negativeSOA

    def _hash(self, key: bytes) -> bytes:
        cached = self._hashCache.get(key)
        if cached is not None:
            return cached
        salt = self._salt
        digest = hashlib.sha1(key + salt).digest()
        for _ in range(self._iterations):
            digest = hashlib.sha1(digest + salt).digest()
        if key in self._existing:  # names of the zone only: the cache stays bounded
            self._hashCache[key] = digest
        return digest

    def _nsec3Matching(self, key: bytes) -> bytes | None:
        digest = self._hash(key)
        hashes = self._hashes
        index = bisect.bisect_left(hashes, digest)
        if index < len(hashes) and hashes[index] == digest:
            return self._nsec3Owners[index]
        return None

    def _nsec3Covering(self, key: bytes) -> bytes:
        index = bisect.bisect_left(self._hashes, self._hash(key)) - 1
        return self._nsec3Owners[index]

    def _coveringNSEC(self, key: bytes) -> bytes | None:
        if not self._nsecOwners:
            return None
        index = bisect.bisect_right(self._nsecSort, canonicalKey(key)) - 1
        return self._nsecOwners[index]

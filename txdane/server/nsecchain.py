"""
The NSEC or NSEC3 chain of a zone being signed (RFC 4034 section 4, RFC 5155), which
L{txdane.server.signing.signZone} adds to its copy of the zone before signing it, and the NSEC3
owner labels (hashes of names) that the chain and the server's zone index share.

The chain links the zone's authoritative names in canonical order (L{zoneShape}): delegation
points are in it (their type bitmaps naming only NS and DS of their own types; with NSEC3
opt-out, a delegation without DS is left out), glue and names below a DNAME are not. dnspython
can build an NSEC chain but not an NSEC3 one: both are built here, their records made without
the checks dnspython's constructors would repeat on values built here.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dns.dnssec
import dns.name
import dns.node
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.NSEC
import dns.rdtypes.ANY.NSEC3
import dns.rdtypes.ANY.NSEC3PARAM
import dns.set
import dns.zone

from txdane.wireread import KnownWire

__all__ = [
    "NSEC3Options",
    "canonicalKey",
    "nsec3BytesToLabel",
    "nsec3Label",
    "nsec3LabelToBytes",
    "zoneShape",
]

_B32 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32HEX = b"0123456789ABCDEFGHIJKLMNOPQRSTUV"
_B32_TO_HEX = bytes.maketrans(_B32, _B32HEX)
_HEX_TO_B32 = bytes.maketrans(_B32HEX, _B32)


def nsec3Label(name: dns.name.Name, salt: bytes, iterations: int) -> str:
    """
    The NSEC3 owner label (base32hex of the SHA-1 hash, lower case) of C{name}.
    """
    return dns.dnssec.nsec3_hash(name, salt, iterations, 1).lower()


def nsec3LabelToBytes(label: str) -> bytes:
    """
    Decode an NSEC3 owner label (base32hex) into the raw hash.
    """
    return base64.b32decode(label.upper().encode("ascii").translate(_HEX_TO_B32))


def nsec3BytesToLabel(raw: bytes) -> str:
    """
    Encode a raw NSEC3 hash as an owner label (base32hex, lower case).
    """
    return base64.b32encode(raw).translate(_B32_TO_HEX).decode("ascii").lower()


@dataclass(frozen=True)
class NSEC3Options:
    """
    How to build an NSEC3 chain (RFC 5155; RFC 9276 recommends the defaults).

    @ivar iterations: extra SHA-1 iterations; anything above 0 is discouraged (validators treat
        more than 50..150 as insecure).
    @ivar salt: the salt; empty by default.
    @ivar optOut: leave unsigned delegations out of the chain and set the opt-out flag.
    """

    iterations: int = 0
    salt: bytes = b""
    optOut: bool = False


def zoneShape(zone: dns.zone.Zone) -> tuple[list[dns.name.Name], frozenset[dns.name.Name]]:
    """
    Sorted authoritative owner names (cuts included, glue and names below DNAMEs excluded) and
    the set of delegation points of an absolute-named zone.
    """
    names, _, cuts = _zoneShape(zone)
    return names, cuts


def _zoneShape(
    zone: dns.zone.Zone,
) -> tuple[list[dns.name.Name], list[dns.node.Node], frozenset[dns.name.Name]]:
    """
    L{zoneShape}, with the node of each name beside it (in the same order).
    """
    origin = zone.origin
    assert origin is not None
    rdclass = zone.rdclass
    keyed = []
    for name, node in zone.nodes.items():
        absolute = name.derelativize(origin)
        keyed.append((canonicalKey(absolute), absolute, node))
    keyed.sort()  # the keys differ, so names and nodes are never compared
    top = canonicalKey(origin)
    cuts: set[dns.name.Name] = set()
    blocked: set[tuple[bytes, ...]] = set()
    for key, name, node in keyed:
        for rdataset in node.rdatasets:
            rdtype = rdataset.rdtype
            if rdataset.rdclass != rdclass:
                continue
            if rdtype == dns.rdatatype.NS and key != top:
                cuts.add(name)
                blocked.add(key)
            elif rdtype == dns.rdatatype.DNAME:
                blocked.add(key)
    if blocked:
        depth = len(top)
        keyed = [
            entry
            for entry in keyed
            if not any(entry[0][:length] in blocked for length in range(depth, len(entry[0])))
        ]
    return [name for _, name, _ in keyed], [node for _, _, node in keyed], frozenset(cuts)


def canonicalKey(name: dns.name.Name) -> tuple[bytes, ...]:
    """
    A sort key that puts absolute names in DNSSEC canonical order (RFC 4034 section 6.1): the
    labels from the root down, each compared as lower-case octets, a name before the names
    below it.
    """
    return tuple(map(bytes.lower, reversed(name.labels)))


class _ChainNSEC(KnownWire, dns.rdtypes.ANY.NSEC.NSEC):
    __slots__ = ("_wire",)

    @classmethod
    def made(
        cls,
        rdclass: dns.rdataclass.RdataClass,
        following: dns.name.Name,
        windows: Any,
        wire: bytes,
    ) -> _ChainNSEC:
        """
        An NSEC record of the chain (C{windows} as dnspython's Bitmap makes them), without
        the constructor's checks of values the signer built.
        """
        nsec = object.__new__(cls)
        for setter, value in zip(
            _NSEC_SETTERS, (rdclass, dns.rdatatype.NSEC, None, following, windows, wire)
        ):
            setter(nsec, value)
        return nsec


#: The setters of an NSEC record's slots, in the order L{_ChainNSEC.made} gives them values.
_NSEC_SETTERS = tuple(
    getattr(_ChainNSEC, slot).__set__
    for slot in ("rdclass", "rdtype", "rdcomment", "next", "windows", "_wire")
)


class _ChainNSEC3(KnownWire, dns.rdtypes.ANY.NSEC3.NSEC3):
    __slots__ = ("_wire",)


def _known(rdata: Any, wire: bytes) -> Any:
    object.__setattr__(rdata, "_wire", wire)
    return rdata


def _bitmapWire(windows: Iterable[tuple[int, bytes]]) -> bytes:
    return b"".join(_WINDOW.pack(window, len(bitmap)) + bitmap for window, bitmap in windows)


_WINDOW = struct.Struct("!BB")


def _addMade(rdataset: dns.rdataset.Rdataset, rdata: dns.rdata.Rdata) -> None:
    """
    Add C{rdata}, which the signer made of the type, class and (for RRSIGs) covered type of
    C{rdataset}, to it without C{Rdataset.add}'s checks of those (the set's own add keeps
    one copy of equal records).
    """
    dns.set.Set.add(rdataset, rdata)


def _wire(name: dns.name.Name) -> bytes:
    """
    The wire form of absolute C{name} as it is (an NSEC record's next name keeps its case,
    RFC 6840 section 5.1).
    """
    return b"".join([bytes((len(label),)) + label for label in name.labels])


_NSEC3_HEAD = struct.Struct("!BBHB")


def _typesAt(zone: dns.zone.Zone, name: dns.name.Name, isCut: bool) -> list[int]:
    node = zone.nodes.get(name)
    if node is None:
        return []
    types = [r.rdtype for r in node.rdatasets if r.rdtype != dns.rdatatype.RRSIG]
    if isCut:
        types = [t for t in types if t in (dns.rdatatype.NS, dns.rdatatype.DS)]
    return types


def _addNSECChain(
    zone: dns.zone.Zone,
    names: list[dns.name.Name],
    nodes: list[dns.node.Node],
    cuts: frozenset[dns.name.Name],
    ttl: int,
) -> None:
    # Most names hold the same types: one bitmap (and its wire form) for each list of them.
    bitmaps: dict[tuple[int, ...], tuple[Any, bytes]] = {}
    rdclass = dns.rdataclass.RdataClass.make(zone.rdclass)
    for index, (name, node) in enumerate(zip(names, nodes)):
        following = names[(index + 1) % len(names)]
        isCut = bool(cuts) and name in cuts
        held = (isCut, *[r.rdtype for r in node.rdatasets])
        known = bitmaps.get(held)
        if known is None:
            types = [t for t in held[1:] if t != dns.rdatatype.RRSIG]
            if isCut:
                types = [t for t in types if t in (dns.rdatatype.NS, dns.rdatatype.DS)]
            present = sorted({*types, dns.rdatatype.NSEC, dns.rdatatype.RRSIG})
            windows = dns.rdtypes.ANY.NSEC.Bitmap.from_rdtypes(present).windows
            known = bitmaps[held] = (tuple(windows), _bitmapWire(windows))
        nsec = _ChainNSEC.made(rdclass, following, known[0], _wire(following) + known[1])
        # The node holds no NSEC RRset (the copy was stripped of them): a new one, appended.
        rdataset = dns.rdataset.Rdataset(zone.rdclass, dns.rdatatype.NSEC)
        rdataset.ttl = ttl
        _addMade(rdataset, nsec)
        node.rdatasets.append(rdataset)


def _addNSEC3Chain(
    zone: dns.zone.Zone,
    names: list[dns.name.Name],
    cuts: frozenset[dns.name.Name],
    ttl: int,
    options: NSEC3Options,
) -> list[dns.name.Name]:
    origin = zone.origin
    assert origin is not None
    param = dns.rdtypes.ANY.NSEC3PARAM.NSEC3PARAM(
        zone.rdclass, dns.rdatatype.NSEC3PARAM, 1, 0, options.iterations, options.salt
    )
    zone.find_rdataset(origin, dns.rdatatype.NSEC3PARAM, create=True).add(param, 0)
    entries: dict[dns.name.Name, list[int]] = {}
    for name in names:
        isCut = name in cuts
        types = _typesAt(zone, name, isCut)
        if isCut and dns.rdatatype.DS not in types and options.optOut:
            continue
        if not isCut or dns.rdatatype.DS in types:
            types.append(dns.rdatatype.RRSIG)
        entries[name] = types
        parent = name
        while parent != origin:
            parent = parent.parent()
            entries.setdefault(parent, [])
    hashed = sorted(
        (nsec3LabelToBytes(nsec3Label(name, options.salt, options.iterations)), types)
        for name, types in entries.items()
    )
    flags = dns.rdtypes.ANY.NSEC3.OPTOUT if options.optOut else 0
    owners = []
    for index, (raw, types) in enumerate(hashed):
        following = hashed[(index + 1) % len(hashed)][0]
        bitmap = dns.rdtypes.ANY.NSEC3.Bitmap.from_rdtypes(sorted(set(types)))  # type: ignore[arg-type]
        nsec3 = _ChainNSEC3(
            zone.rdclass,
            dns.rdatatype.NSEC3,
            1,
            flags,
            options.iterations,
            options.salt,
            following,
            bitmap.windows,
        )
        _known(
            nsec3,
            _NSEC3_HEAD.pack(1, flags, options.iterations, len(options.salt))
            + options.salt
            + bytes((len(following),))
            + following
            + _bitmapWire(nsec3.windows),
        )
        owner = dns.name.Name((nsec3BytesToLabel(raw).encode("ascii"), *origin.labels))
        zone.find_rdataset(owner, dns.rdatatype.NSEC3, create=True).add(nsec3, ttl)
        owners.append(owner)
    return owners

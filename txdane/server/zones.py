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
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from types import FrameType

import dns.exception
import dns.name
import dns.node
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.NSEC3PARAM
import dns.zone
import dns.zonefile

from txdane.errors import TxdaneError
from txdane.server.fastpath import WireZone, wireKey
from txdane.server.signing import absoluteZone, nsec3Label, nsec3LabelToBytes, zoneShape

#: Zones of at most this many names have every RRset rendered for the fast path when they are
#: loaded (about 2 KB and 30 microseconds a signed name); larger ones have each name's RRsets
#: rendered when it is first asked about, so that loading them stays quick and their memory
#: grows only with what is asked.
PRERENDERED_NAMES = 50_000


class ZoneError(TxdaneError):
    """
    A zone cannot be served: missing SOA, a duplicate origin, an unreadable or malformed file.

    @ivar path: the file, when the zone came from one.
    @ivar line: the line number in C{path}, when known.
    @ivar reason: what is wrong, in a few words.
    """

    reason: str
    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or ""
        if self.path is not None and self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.reason}" if where else self.reason


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


_WHERE = re.compile(r"^(?P<path>.*):(?P<line>\d+): (?P<reason>.*)$", re.S)
#: dnspython's message for record data it cannot read, whatever is wrong with it.
_MALFORMED = "Text input is malformed"
#: What the data of these types must be, said instead of L{_MALFORMED}.
_EXPECTED_DATA = {dns.rdatatype.A: "an IPv4 address", dns.rdatatype.AAAA: "an IPv6 address"}


def loadZoneFile(path: str | os.PathLike[str], origin: dns.name.Name | str) -> dns.zone.Zone:
    """
    Read a master file (RFC 1035 section 5) for zone C{origin}, with absolute names.

    @raise ZoneError: the file is unreadable or malformed (with its path, line and reason:
        the record's type when its data is wrong, the name that has a CNAME and other
        records), or it lacks the SOA or NS records at the apex.
    """
    text = os.fspath(path)
    if isinstance(origin, str):
        origin = dns.name.from_text(origin)
    try:
        return dns.zone.from_file(text, origin, relativize=False)
    except OSError as e:
        # An $INCLUDE'd file that cannot be read is named, not the file that includes it.
        where = text if e.filename is None else os.fsdecode(e.filename)
        reason = e.strerror or str(e)
        if where != text:
            reason = f"{reason}: {where} (included)"
        raise ZoneError(reason, text) from None
    except dns.zone.NoSOA:
        raise ZoneError(f"no SOA record at the zone's apex {origin}", text) from None
    except dns.zone.NoNS:
        raise ZoneError(f"no NS records at the zone's apex {origin}", text) from None
    except dns.exception.SyntaxError as e:
        raise _syntaxError(e, text, origin) from None
    except dns.zonefile.CNAMEAndOtherData as e:
        raise _cnameError(e, text) from None
    except (dns.exception.DNSException, ValueError) as e:
        raise ZoneError(str(e), text) from None


def _syntaxError(error: dns.exception.SyntaxError, path: str, origin: dns.name.Name) -> ZoneError:
    """
    The zone error for dnspython's C{FILE:LINE: reason}: the line corrected (see
    L{_errorLine}), and the reason given the type of the record whose data it is about,
    in words of ours where dnspython's say only that the text is malformed.
    """
    match = _WHERE.match(str(error))
    if match is None:
        return ZoneError(str(error), path)
    where = match["path"]
    line = _errorLine(where, int(match["line"]), origin)
    reason = match["reason"].rstrip(".")
    frame = _readerFrame(error)
    found = None if frame is None else frame.f_locals.get("rdtype")
    if isinstance(found, int):
        rdtype = dns.rdatatype.RdataType.make(found)
        if reason == _MALFORMED:
            data = _recordData(where, line, rdtype)
            expected = _EXPECTED_DATA.get(rdtype)
            if data is not None and expected is not None:
                reason = f"{data} is not {expected}"
            else:
                reason = "malformed data" if data is None else f"malformed data: {data}"
        reason = f"{dns.rdatatype.to_text(rdtype)} record: {reason}"
    return _located(reason, path, where, line)


def _cnameError(error: dns.zonefile.CNAMEAndOtherData, path: str) -> ZoneError:
    """
    The zone error for a CNAME beside other records, with the name and line: dnspython's
    error has neither (only "rdataset type is not compatible with a CNAME node"), but the
    zone file reader that was adding the record when it was raised knows both.
    """
    rule = "a CNAME must be the only record at its name, DNSSEC records aside"
    frame = _readerFrame(error)
    if frame is None:
        return ZoneError(f"a CNAME and other records at one name: {rule}", path)
    reader = frame.f_locals["self"]
    name = frame.f_locals.get("name")
    if not isinstance(name, dns.name.Name):
        name = getattr(reader, "last_name", None)
    tokenizer = getattr(reader, "tok", None)
    try:
        where, line = tokenizer.where()  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        # The reader's inner workings are dnspython's: without them, say it without a place.
        return ZoneError(f"{name or 'a name'} has a CNAME and other records: {rule}", path)
    if not getattr(tokenizer, "eof", False):
        line -= 1  # the record's end of line has been read
    return _located(f"{name} has a CNAME and other records: {rule}", path, where, line)


def _readerFrame(error: BaseException) -> FrameType | None:
    """
    The innermost frame, among those C{error} went through, of a method of dnspython's zone
    file reader (C{dns.zonefile.Reader}): its C{self} is the reader, whose tokenizer is at the
    record being read, and its locals hold that record's owner (C{name}) and type
    (C{rdtype}) once read. C{None} if there is none (then the error is said as it is).
    """
    found = None
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if isinstance(frame.f_locals.get("self"), dns.zonefile.Reader):
            found = frame
        traceback = traceback.tb_next
    return found


def _located(reason: str, path: str, where: str, line: int) -> ZoneError:
    """
    The zone error of zone file C{path} for C{reason} at C{line} of file C{where}: C{path}
    itself, or a file it includes.
    """
    if where == path:
        return ZoneError(reason, path, line)
    return ZoneError(f"{reason} (included by {path})", where, line)


def _recordData(path: str, line: int, rdtype: dns.rdatatype.RdataType) -> str | None:
    """
    The data of the C{rdtype} record on line C{line} of C{path}, as written (without its
    comment), if that line holds the whole record.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    if '"' not in text:
        text = text.partition(";")[0]
    if "(" in text or ")" in text:
        return None
    words = text.split()
    if text[:1] not in (" ", "\t"):
        words = words[1:]  # the owner
    mnemonic = dns.rdatatype.to_text(rdtype)
    for index, word in enumerate(words):
        if word.upper() == mnemonic:
            return " ".join(words[index + 1 :]) or None
    return None


def _errorLine(path: str, reported: int, origin: dns.name.Name) -> int:
    """
    dnspython reports a malformed record's line after reading its end of line, so one too far;
    check whether the line before is the culprit on its own.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return reported
    if reported < 2 or reported - 2 >= len(lines):
        return reported
    previous = lines[reported - 2]
    if not previous.strip() or previous.lstrip().startswith((";", "$")) or "(" in previous:
        return reported
    probe = f"$ORIGIN {origin}\n$TTL 300\n{previous}\n"
    try:
        dns.zone.from_text(probe, origin, relativize=False, check_origin=False)
    except dns.exception.SyntaxError:
        return reported - 1
    except dns.exception.DNSException:
        pass
    return reported

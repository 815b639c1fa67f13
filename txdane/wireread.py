"""
A fast reader of ordinary DNS responses, giving the same message C{dns.message.from_wire} gives.

L{readMessage} builds the C{dns.message.QueryMessage} directly: the header, the question, the
RRsets of each section grouped as dnspython groups them (same owner, class, type and covered
type merged within a section, the first owner's spelling kept, the smallest TTL, duplicates
dropped, the message's C{index} filled the same way) and the OPT record. What is saved is
dnspython's checking, again and again, of what is already known to be right:

  - names are read once per offset: a compression pointer to a name already read reuses it,
    and a C{dns.name.Name} is made from labels this module has checked itself (each label at
    most 63 octets, the name at most 255, pointers only backwards and into no part of the name
    that points, at most C{dns.name.MAX_COMPRESSION_POINTER_CHAIN} of them, every byte inside
    the message), the rules of C{dns.name.from_wire_parser};
  - types and classes are looked up in a dictionary of dnspython's enumeration members;
  - the records' fixed fields are unpacked with one C{struct} call each;
  - the rdata of the types every signed answer holds (A, AAAA, RRSIG, DNSKEY, DS, NSEC, and
    an OPT record without options) is made without running the class's C{__init__}, whose
    checks this module makes itself where the wire format leaves anything to check (the
    length of an address, a DS digest's length for its type; an NSEC type bitmap is read by
    dnspython's own code). Those records are of subclasses of dnspython's classes that keep
    their canonical wire form, cut from the message (L{KnownWire}): putting them in an RRset
    (which hashes them) and checking their signatures (which needs that form) cost no more
    encoding. Every other rdata is read by its dnspython class's C{from_wire_parser}, which
    reads the names inside it through this module's cache.

What the names of a message cost to read is bounded (L{MAX_MESSAGE_LABELS}): past it the message
is refused (L{TooManyLabels}), not declined; L{boundNames} counts the same before dnspython
parses a message this reader declines.

Anything it is not sure of it declines, raising L{Declined}: a malformed message, trailing
bytes, an opcode other than QUERY, a TSIG, SIG or TKEY record, an OPT record that is not the
only one nor in the additional section, an rdata dnspython refuses (such as a TLSA record whose
data has the wrong length). The caller then parses the message with dnspython, so that every
error, and its message, stays dnspython's.

Tests: tests/transport/test_wireread.py, tests/transport/test_namebound.py;
fuzz/parse_message.py.
"""

from __future__ import annotations

import inspect
import struct
from collections.abc import Callable
from typing import Any

import dns.dnssectypes
import dns.exception
import dns.flags
import dns.ipv4
import dns.ipv6
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rdtypes.ANY.DS
import dns.rdtypes.ANY.NSEC
import dns.rdtypes.ANY.OPT
import dns.rdtypes.ANY.RRSIG
import dns.rdtypes.dnskeybase
import dns.rdtypes.IN.A
import dns.rdtypes.IN.AAAA
import dns.rrset
import dns.wire

__all__ = [
    "MAX_DECLINED_MESSAGE_LABELS",
    "MAX_MESSAGE_LABELS",
    "TLSA_DIGEST_LENGTHS",
    "UNEXPECTED",
    "Declined",
    "KnownWire",
    "TooManyLabels",
    "boundNames",
    "readMessage",
]

_HEADER = struct.Struct("!HHHHHH")
_RRSIG_HEAD = struct.Struct("!HBBIIIH")
_KEY_HEAD = struct.Struct("!HBB")
_QUESTION_TAIL = struct.Struct("!HH")
_RR_HEAD = struct.Struct("!HHIH")

_OPT = dns.rdatatype.OPT
_NONE = dns.rdatatype.NONE

#: Record types left to dnspython: the transaction signatures (TSIG, SIG(0)) and TKEY.
_DECLINED_TYPES = frozenset({dns.rdatatype.TSIG, dns.rdatatype.SIG, dns.rdatatype.TKEY})

#: dnspython's members, by value, for the types and classes it names.
_TYPES: dict[int, dns.rdatatype.RdataType] = {int(t): t for t in dns.rdatatype.RdataType}
_CLASSES: dict[int, dns.rdataclass.RdataClass] = {int(c): c for c in dns.rdataclass.RdataClass}
_ALGORITHMS: dict[int, dns.dnssectypes.Algorithm] = {int(a): a for a in dns.dnssectypes.Algorithm}
_DIGESTS: dict[int, dns.dnssectypes.DSDigest] = {int(d): d for d in dns.dnssectypes.DSDigest}

_SECTIONS = (
    dns.message.MessageSection.ANSWER,
    dns.message.MessageSection.AUTHORITY,
    dns.message.MessageSection.ADDITIONAL,
)
_QUESTION = dns.message.MessageSection.QUESTION

_TLSA = int(dns.rdatatype.TLSA)
#: The data length of each TLSA matching type that fixes one (RFC 6698 section 2.1.3).
TLSA_DIGEST_LENGTHS = {1: 32, 2: 64}


def _tlsaLengthRight(rdata: Any) -> bool:
    expected = TLSA_DIGEST_LENGTHS.get(rdata.mtype)
    return expected is None or len(rdata.cert) == expected


#: dnspython's limit on the pointers one name may follow (2.9 names it; 2.8, the newest release
#: for Python 3.10, sets none): 16, as 2.9 has it.
_MAX_HOPS: int = getattr(dns.name, "MAX_COMPRESSION_POINTER_CHAIN", 16)
_OPCODE_MASK = 0x7800


class Declined(Exception):
    """
    L{readMessage} leaves this message to dnspython; the argument says why.
    """


#: The most labels the names of one message may make the fast reader handle (L{TooManyLabels}
#: over it), counted as they cost: each label of a name read counts two (read, checked, and
#: hashed with its name each time the name is found in the index of the message's RRsets); a
#: name inside rdata counts, besides, one for each label of each of its suffixes, since
#: putting the record in an RRset hashes it, and dnspython writes the record's canonical form
#: to hash it, building a name of every suffix (time quadratic in the labels); a name that a
#: compression pointer reaches counts its labels once more, the first time it is built.
#:
#: A name costs two octets on the wire, a compression pointer, whatever its labels: without a
#: bound, a 64 KiB response of 3,000 MX records whose exchanges each point at a name of 120
#: labels costs seconds of the reactor's time to parse. The bound is 2**19. An honest 64 KiB
#: answer of names of up to nine labels (the root's included) counts less than half of it even
#: with its names written as tightly as compression allows (3,000 MX records, a record every
#: 21 octets, each of a new owner label and a new exchange label: some 243,000), and takes
#: about as long to parse as a crafted message stopped at the bound; ordinary answers count a
#: few thousand.
MAX_MESSAGE_LABELS = 1 << 19

#: The part of L{MAX_MESSAGE_LABELS} that L{boundNames} allows a message that dnspython parses
#: (one the fast reader declines): dnspython reads a name's labels some four times slower than
#: L{readMessage} does. The messages it parses for an honest server are small ones (a TLSA
#: record of a wrong length, a transaction signature).
MAX_DECLINED_MESSAGE_LABELS = MAX_MESSAGE_LABELS // 4


class TooManyLabels(dns.exception.FormError):
    """
    The names of a message cost more to parse than L{MAX_MESSAGE_LABELS} (or
    L{MAX_DECLINED_MESSAGE_LABELS}) allows, or one of them is one whose cost the count cannot
    bound (L{boundNames}): the message is refused as malformed, as dnspython refuses one it
    cannot parse.

    @ivar limit: the bound that applied.
    """

    def __init__(self, limit: int, reason: str = "") -> None:
        super().__init__(
            reason or f"the names of the message count more than {limit} labels to parse"
        )
        self.limit = limit


def _newName(labels: tuple[bytes, ...]) -> dns.name.Name:
    """
    A C{dns.name.Name} of C{labels}, which the caller has checked as C{Name.__init__} would.
    """
    name = object.__new__(dns.name.Name)
    object.__setattr__(name, "labels", labels)
    return name


def _rdataType(value: int) -> dns.rdatatype.RdataType:
    member = _TYPES.get(value)
    if member is None:
        member = dns.rdatatype.RdataType.make(value)
    return member


def _algorithm(value: int) -> dns.dnssectypes.Algorithm:
    member = _ALGORITHMS.get(value)
    if member is None:
        member = dns.dnssectypes.Algorithm.make(value)
    return member


def _rdataClass(value: int) -> dns.rdataclass.RdataClass:
    member = _CLASSES.get(value)
    if member is None:
        member = dns.rdataclass.RdataClass.make(value)
    return member


#: OPT records' payload sizes as dnspython's class members (a number dnspython does not name is
#: made anew each time, at some cost): the first few seen are kept, as responses advertise
#: few sizes.
_PAYLOADS: dict[int, dns.rdataclass.RdataClass] = {}
_KEPT_PAYLOADS = 64


def _payloadClass(value: int) -> dns.rdataclass.RdataClass:
    member = _PAYLOADS.get(value)
    if member is None:
        member = _rdataClass(value)
        if len(_PAYLOADS) < _KEPT_PAYLOADS:
            _PAYLOADS[value] = member
    return member


class _Suffix:
    """
    The name that starts at one offset of a message (a compression pointer's target).

    @ivar name: the whole name, pointers followed.
    @ivar segmentEnd: the offset just past the name's own bytes at that offset (its last label
        and the zero octet, or the pointer that ends them); a pointer may reach this name only
        from an offset at or after it.
    @ivar hops: how many pointers are followed after those bytes.
    @ivar length: the name's length in uncompressed wire form.
    """

    __slots__ = ("hops", "length", "name", "segmentEnd")

    def __init__(self, name: dns.name.Name, segmentEnd: int, hops: int, length: int) -> None:
        self.name = name
        self.segmentEnd = segmentEnd
        self.hops = hops
        self.length = length


#: Whether a name inside rdata may be compressed when the rdata class does not say: dnspython
#: 2.9's rdata classes say (C{decompress=True} for the types RFC 3597 lets compress), 2.8's
#: (the newest release for Python 3.10) never do, and its parser follows pointers in any name.
_DECOMPRESS_BY_DEFAULT = "decompress" not in inspect.signature(dns.wire.Parser.get_name).parameters


class _Reader(dns.wire.Parser):
    """
    A C{dns.wire.Parser} over one message whose C{get_name} reads names through a cache by
    offset, so that dnspython's rdata classes read the names inside rdata the fast way too.
    """

    def __init__(self, wire: bytes, limit: int) -> None:
        """
        @param limit: the most labels the message's names may count (L{MAX_MESSAGE_LABELS}).
        """
        super().__init__(wire)
        self.suffixes: dict[int, _Suffix] = {}
        #: The labels counted so far against C{limit}.
        self.labels = 0
        self.limit = limit

    def charge(self, labels: int) -> None:
        """
        Count C{labels} against the limit, before they are built.

        @raise TooManyLabels: past it.
        """
        self.labels += labels
        if self.labels > self.limit:
            raise TooManyLabels(self.limit)

    def get_name(
        self, origin: dns.name.Name | None = None, decompress: bool = _DECOMPRESS_BY_DEFAULT
    ) -> dns.name.Name:
        # Only rdata classes read names with this method.
        name, after = self.readName(self.current, self.end, decompress, True)
        self.current = after
        if after > self.furthest:
            self.furthest = after
        if origin:
            name = name.relativize(origin)
        return name

    def _segment(self, start: int, end: int) -> tuple[list[bytes], int, int]:
        """
        Read the labels at C{start}, up to a zero octet or a pointer, none past C{end}.

        @return: the labels, the offset just past them (and past the zero octet or the pointer),
            and the pointer's target (-1 after a zero octet).
        """
        wire = self.wire
        labels: list[bytes] = []
        pos = start
        while True:
            if pos >= end:
                raise Declined("name past the end")
            count = wire[pos]
            if count == 0:
                return labels, pos + 1, -1
            if count < 64:
                pos += 1
                following = pos + count
                if following > end:
                    raise Declined("label past the end")
                labels.append(wire[pos:following])
                pos = following
            elif count >= 192:
                if pos + 2 > end:
                    raise Declined("pointer past the end")
                return labels, pos + 2, ((count & 0x3F) << 8) | wire[pos + 1]
            else:
                raise Declined("bad label type")

    def _suffix(self, offset: int) -> _Suffix:
        """
        The name at C{offset}, a pointer's target, read once per message.
        """
        suffix = self.suffixes.get(offset)
        if suffix is not None:
            return suffix
        labels, segmentEnd, target = self._segment(offset, len(self.wire))
        if target < 0:
            labels.append(b"")
            hops = 0
            length = 0
            tail: tuple[bytes, ...] = ()
        else:
            if target >= offset:
                raise Declined("pointer not backwards")
            following = self._suffix(target)
            if following.segmentEnd > offset:
                raise Declined("pointer into the name")
            hops = following.hops + 1
            # A name that reaches this one takes one pointer more: at most _MAX_HOPS in all.
            if hops >= _MAX_HOPS:
                raise Declined("pointer chain too long")
            length = following.length
            tail = following.name.labels
        for label in labels:
            length += len(label) + 1
        if length > 255:
            raise Declined("name too long")
        self.charge(len(labels) + len(tail))
        if tail:
            name = _newName((*labels, *tail))
        else:
            name = _newName(tuple(labels))
        suffix = _Suffix(name, segmentEnd, hops, length)
        self.suffixes[offset] = suffix
        return suffix

    def readName(
        self, start: int, end: int, decompress: bool, inRdata: bool = False
    ) -> tuple[dns.name.Name, int]:
        """
        Read the name at C{start}, none of its own bytes past C{end}, as
        C{dns.name.from_wire_parser} does, and count its labels (L{MAX_MESSAGE_LABELS}).

        @param decompress: whether the name may hold a compression pointer.
        @param inRdata: whether the name is inside rdata, counting the labels of each of its
            suffixes too.
        @return: the name and the offset just past its own bytes.
        @raise TooManyLabels: if the message's names pass L{MAX_MESSAGE_LABELS} with this one.
        """
        labels, after, target = self._segment(start, end)
        if target < 0:
            labels.append(b"")
            length = 0
            for label in labels:
                length += len(label) + 1
            if length > 255:
                raise Declined("name too long")
            self._chargeName(len(labels), inRdata)
            return _newName(tuple(labels)), after
        if not decompress:
            raise Declined("pointer where dnspython forbids one")
        if target >= start:
            raise Declined("pointer not backwards")
        suffix = self._suffix(target)
        if suffix.segmentEnd > start:
            raise Declined("pointer into the name")
        if not labels:
            self._chargeName(len(suffix.name.labels), inRdata)
            return suffix.name, after
        length = suffix.length
        for label in labels:
            length += len(label) + 1
        if length > 255:
            raise Declined("name too long")
        self._chargeName(len(labels) + len(suffix.name.labels), inRdata)
        return _newName((*labels, *suffix.name.labels)), after

    def _chargeName(self, labels: int, inRdata: bool) -> None:
        if inRdata:
            # The name, then one of each suffix when the record's canonical form is written.
            self.charge(2 * labels + labels * (labels + 1) // 2)
        else:
            self.charge(2 * labels)


class KnownWire:
    """
    A record made by who knew its canonical wire form (RFC 4034 section 6.2, as amended by
    RFC 6840 section 5.1) when making it, and kept it: C{to_digestable}, and the hash that
    dnspython computes from it each time the record is put in a set, cost nothing more. Mixed
    in before a dnspython rdata class, whose subclass adds the slot C{_wire}.

    The form must be byte for byte what dnspython would compute, so that these records compare
    and hash equal to dnspython's own (tests/transport/test_wireread.py and
    tests/server/test_signing.py check it). A copy that dnspython makes without the slot
    (C{replace()}) computes the form as dnspython does.
    """

    __slots__ = ()
    _wire: bytes

    def to_digestable(self, origin: dns.name.Name | None = None) -> bytes:
        try:
            return self._wire
        except AttributeError:  # made by dnspython itself (a replace())
            digest: bytes = super().to_digestable(origin)  # type: ignore[misc]
            return digest

    def __hash__(self) -> int:
        return hash(self.to_digestable())

    def __getstate__(self) -> dict[str, Any]:
        slots = self._get_all_slots()  # type: ignore[attr-defined]
        return {slot: getattr(self, slot) for slot in slots if hasattr(self, slot)}


def _keeping(cls: type[dns.rdata.Rdata]) -> type[dns.rdata.Rdata]:
    """
    The subclass of C{cls} whose records keep their canonical form (L{KnownWire}), named
    C{_Read} and the class's name: this module holds it under that name, so that its records
    pickle.
    """
    return type(
        f"_Read{cls.__name__}", (KnownWire, cls), {"__slots__": ("_wire",), "__module__": __name__}
    )


_ReadA = _keeping(dns.rdtypes.IN.A.A)
_ReadAAAA = _keeping(dns.rdtypes.IN.AAAA.AAAA)
_ReadRRSIG = _keeping(dns.rdtypes.ANY.RRSIG.RRSIG)
_ReadDNSKEY = _keeping(dns.rdtypes.ANY.DNSKEY.DNSKEY)
_ReadDS = _keeping(dns.rdtypes.ANY.DS.DS)
_ReadNSEC = _keeping(dns.rdtypes.ANY.NSEC.NSEC)


_setSlot = object.__setattr__


def _newRdata(
    cls: type[dns.rdata.Rdata],
    rdclass: dns.rdataclass.RdataClass,
    rdtype: dns.rdatatype.RdataType,
) -> Any:
    """
    An instance of C{cls} with the attributes C{Rdata.__init__} sets, the others to be set by
    the caller with C{_setSlot} (C{__init__} is not run).
    """
    rd = object.__new__(cls)
    _setSlot(rd, "rdclass", rdclass)
    _setSlot(rd, "rdtype", rdtype)
    _setSlot(rd, "rdcomment", None)
    return rd


#: Read an rdata of one class from C{wire[start:end]}, as that class's C{from_wire_parser}
#: and C{__init__} would, raising L{Declined} where they would raise.
_Builder = Callable[
    [Any, dns.rdataclass.RdataClass, dns.rdatatype.RdataType, _Reader, int, int], dns.rdata.Rdata
]


def _buildA(
    cls: Any,
    rdclass: dns.rdataclass.RdataClass,
    rdtype: dns.rdatatype.RdataType,
    reader: _Reader,
    start: int,
    end: int,
) -> dns.rdata.Rdata:
    if end - start != 4:
        raise Declined("A of a wrong length")
    raw = reader.wire[start:end]
    rd = _newRdata(cls, rdclass, rdtype)
    _setSlot(rd, "address", dns.ipv4.inet_ntoa(raw))
    _setSlot(rd, "_wire", raw)
    return rd


def _buildAAAA(
    cls: Any,
    rdclass: dns.rdataclass.RdataClass,
    rdtype: dns.rdatatype.RdataType,
    reader: _Reader,
    start: int,
    end: int,
) -> dns.rdata.Rdata:
    if end - start != 16:
        raise Declined("AAAA of a wrong length")
    raw = reader.wire[start:end]
    rd = _newRdata(cls, rdclass, rdtype)
    _setSlot(rd, "address", dns.ipv6.inet_ntoa(raw))
    _setSlot(rd, "_wire", raw)
    return rd


def _buildRRSIG(
    cls: Any,
    rdclass: dns.rdataclass.RdataClass,
    rdtype: dns.rdatatype.RdataType,
    reader: _Reader,
    start: int,
    end: int,
) -> dns.rdata.Rdata:
    if end - start < _RRSIG_HEAD.size:
        raise Declined("RRSIG too short")
    covered, algorithm, labels, originalTTL, expiration, inception, keyTag = (
        _RRSIG_HEAD.unpack_from(reader.wire, start)
    )
    named = start + _RRSIG_HEAD.size
    signer, after = reader.readName(named, end, False, True)
    wire = reader.wire
    rd = _newRdata(cls, rdclass, rdtype)
    _setSlot(rd, "type_covered", _rdataType(covered))
    _setSlot(rd, "algorithm", _algorithm(algorithm))
    _setSlot(rd, "labels", labels)
    _setSlot(rd, "original_ttl", originalTTL)
    _setSlot(rd, "expiration", expiration)
    _setSlot(rd, "inception", inception)
    _setSlot(rd, "key_tag", keyTag)
    _setSlot(rd, "signer", signer)
    _setSlot(rd, "signature", wire[after:end])
    # The canonical form: the signer's name (whole here, without pointers) in lower case.
    # Its length octets (at most 63) are no ASCII letters, so lowering its bytes lowers its
    # labels only.
    _setSlot(rd, "_wire", wire[start:named] + wire[named:after].lower() + wire[after:end])
    return rd


def _buildDNSKEY(
    cls: Any,
    rdclass: dns.rdataclass.RdataClass,
    rdtype: dns.rdatatype.RdataType,
    reader: _Reader,
    start: int,
    end: int,
) -> dns.rdata.Rdata:
    if end - start < _KEY_HEAD.size:
        raise Declined("DNSKEY too short")
    flags, protocol, algorithm = _KEY_HEAD.unpack_from(reader.wire, start)
    rd = _newRdata(cls, rdclass, rdtype)
    _setSlot(rd, "flags", dns.rdtypes.dnskeybase.Flag(flags))
    _setSlot(rd, "protocol", protocol)
    _setSlot(rd, "algorithm", _algorithm(algorithm))
    _setSlot(rd, "key", reader.wire[start + _KEY_HEAD.size : end])
    _setSlot(rd, "_wire", reader.wire[start:end])
    return rd


def _buildDS(
    cls: Any,
    rdclass: dns.rdataclass.RdataClass,
    rdtype: dns.rdatatype.RdataType,
    reader: _Reader,
    start: int,
    end: int,
) -> dns.rdata.Rdata:
    if end - start < _KEY_HEAD.size:
        raise Declined("DS too short")
    keyTag, algorithm, digestType = _KEY_HEAD.unpack_from(reader.wire, start)
    digest = reader.wire[start + _KEY_HEAD.size : end]
    # The checks of DSBase.__init__.
    expected = cls._digest_length_by_type.get(digestType)
    if expected is None:
        if digestType == 0:
            raise Declined("DS digest type 0")
    elif len(digest) != expected:
        raise Declined("DS digest of a wrong length")
    digestMember = _DIGESTS.get(digestType)
    if digestMember is None:
        digestMember = dns.dnssectypes.DSDigest.make(digestType)
    rd = _newRdata(cls, rdclass, rdtype)
    _setSlot(rd, "key_tag", keyTag)
    _setSlot(rd, "algorithm", _algorithm(algorithm))
    _setSlot(rd, "digest_type", digestMember)
    _setSlot(rd, "digest", digest)
    _setSlot(rd, "_wire", reader.wire[start:end])
    return rd


def _buildNSEC(
    cls: Any,
    rdclass: dns.rdataclass.RdataClass,
    rdtype: dns.rdatatype.RdataType,
    reader: _Reader,
    start: int,
    end: int,
) -> dns.rdata.Rdata:
    following, after = reader.readName(start, end, False, True)
    reader.current = after
    reader.end = end
    try:
        # dnspython's own reading and checks of the type bitmap.
        bitmap = dns.rdtypes.ANY.NSEC.Bitmap.from_wire_parser(reader)
    except Exception:
        raise Declined("NSEC type bitmap refused") from None
    rd = _newRdata(cls, rdclass, rdtype)
    _setSlot(rd, "next", following)
    _setSlot(rd, "windows", tuple(bitmap.windows))
    # The canonical form is the record as read: the next name keeps its case (RFC 6840
    # section 5.1) and holds no pointer, and dnspython writes the bitmap's windows back as
    # they were read.
    _setSlot(rd, "_wire", reader.wire[start:end])
    return rd


#: The rdata classes read here rather than by their own C{from_wire_parser} (the ones of every
#: signed answer), each with its builder and the subclass it makes: the same class, which keeps
#: the record's canonical wire form (L{KnownWire}).
_BUILDERS: dict[type, tuple[_Builder, type]] = {
    dns.rdtypes.IN.A.A: (_buildA, _ReadA),
    dns.rdtypes.IN.AAAA.AAAA: (_buildAAAA, _ReadAAAA),
    dns.rdtypes.ANY.RRSIG.RRSIG: (_buildRRSIG, _ReadRRSIG),
    dns.rdtypes.ANY.DNSKEY.DNSKEY: (_buildDNSKEY, _ReadDNSKEY),
    dns.rdtypes.ANY.DS.DS: (_buildDS, _ReadDS),
    dns.rdtypes.ANY.NSEC.NSEC: (_buildNSEC, _ReadNSEC),
}


def _readOPT(
    reader: _Reader, name: dns.name.Name, rdclass: int, ttl: int, start: int, end: int
) -> dns.rrset.RRset:
    """
    The RRset of the OPT record whose rdata is C{wire[start:end]}, as dnspython reads it and
    C{dns.rrset.from_rdata} makes it.
    """
    payload = _payloadClass(rdclass)
    rdataClass = dns.rdata.get_rdata_class(payload, _OPT)
    if start == end and rdataClass is dns.rdtypes.ANY.OPT.OPT:
        # No options (as in most responses): what OPT.__init__ would make of none.
        rd = _newRdata(rdataClass, payload, _OPT)
        _setSlot(rd, "options", ())
    else:
        reader.current = start
        reader.end = end
        try:
            rd = rdataClass.from_wire_parser(payload, _OPT, reader, None)
        except Exception:
            raise Declined("OPT rdata refused") from None
        if reader.current != end:
            raise Declined("OPT rdata shorter than its length")
    rrset = dns.rrset.RRset(name, payload, _OPT)
    rrset.ttl = ttl
    rrset.items[rd] = None
    return rrset


#: How the reason of a L{Declined} begins when it stands for an exception this module did not
#: expect: the message is still left to dnspython, and tests and fuzzing look for the reason.
UNEXPECTED = "unexpected: "


def readMessage(wire: bytes) -> dns.message.QueryMessage:
    """
    Read the DNS response C{wire} as C{dns.message.from_wire(wire)} would, faster.

    @return: the same message as dnspython's (same class, header, sections, RRsets, index, OPT
        record), with C{errors} empty.
    @raise Declined: for anything this reader leaves to dnspython (see the module's
        docstring), and for any exception it did not expect (its reason then begins with
        L{UNEXPECTED}); never for a message it reads.
    @raise TooManyLabels: for a message whose names pass L{MAX_MESSAGE_LABELS}.
    """
    try:
        return _read(wire)
    except (Declined, TooManyLabels):
        raise
    except Exception as e:
        raise Declined(UNEXPECTED + repr(e)) from e


def _read(wire: bytes) -> dns.message.QueryMessage:
    """
    L{readMessage}, unguarded.
    """
    if type(wire) is not bytes:
        raise Declined("not bytes")
    end = len(wire)
    if end < 12:
        raise Declined("short header")
    messageId, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(wire, 0)
    if flags & _OPCODE_MASK:
        raise Declined("opcode other than QUERY")
    message = dns.message.QueryMessage(id=messageId)
    message.flags = dns.flags.Flag(flags)
    message.wire = wire
    message.errors = []
    index = message.index
    reader = _Reader(wire, MAX_MESSAGE_LABELS)
    readName = reader.readName
    question = message.sections[0]
    pos = 12
    for _ in range(qdcount):
        qname, pos = readName(pos, end, True)
        if pos + 4 > end:
            raise Declined("question past the end")
        rdtype, rdclass = _QUESTION_TAIL.unpack_from(wire, pos)
        pos += 4
        rdtypeMember = _rdataType(rdtype)
        rdclassMember = _rdataClass(rdclass)
        asked = dns.rrset.RRset(qname, rdclassMember, rdtypeMember, _NONE, None)
        question.append(asked)
        index[(_QUESTION, qname, rdclassMember, rdtypeMember, _NONE, None)] = asked
    getRdataClass = dns.rdata.get_rdata_class
    isSingleton = dns.rdatatype.is_singleton
    for sectionNumber, count in zip(_SECTIONS, (ancount, nscount, arcount)):
        section = message.sections[sectionNumber]
        for _ in range(count):
            name, pos = readName(pos, end, True)
            if pos + 10 > end:
                raise Declined("record past the end")
            rdtype, rdclass, ttl, rdlen = _RR_HEAD.unpack_from(wire, pos)
            pos += 10
            rdend = pos + rdlen
            if rdend > end:
                raise Declined("rdata past the end")
            if rdtype in _DECLINED_TYPES:
                raise Declined("transaction signature")
            if rdtype == _OPT:
                if (
                    sectionNumber != dns.message.MessageSection.ADDITIONAL
                    or message.opt is not None
                    or name.labels != (b"",)
                ):
                    raise Declined("OPT record out of place")
                message.opt = _readOPT(reader, name, rdclass, ttl, pos, rdend)
                reader.end = end
                pos = rdend
                continue
            rdtypeMember = _rdataType(rdtype)
            rdclassMember = _rdataClass(rdclass)
            rdataClass = getRdataClass(rdclassMember, rdtypeMember)
            built = _BUILDERS.get(rdataClass)
            if built is not None:
                builder, knownClass = built
                rd = builder(knownClass, rdclassMember, rdtypeMember, reader, pos, rdend)
            else:
                reader.current = pos
                reader.end = rdend
                try:
                    rd = rdataClass.from_wire_parser(rdclassMember, rdtypeMember, reader, None)
                except TooManyLabels:
                    raise
                except Exception:
                    raise Declined("rdata refused") from None
                if reader.current != rdend:
                    raise Declined("rdata shorter than its length")
                if rdtype == _TLSA and not _tlsaLengthRight(rd):
                    # What dnspython 2.9 refuses; 2.8 (the newest release for Python 3.10)
                    # does not, and the caller keeps such a record apart.
                    raise Declined("rdata refused")
            reader.end = end
            pos = rdend
            covers = rd.covers()
            key = (sectionNumber, name, rdclassMember, rdtypeMember, covers, None)
            if ttl > 0x7FFFFFFF:
                ttl = 0
            rrset = index.get(key)
            if rrset is None:
                # What Rdataset.add does for the first rdata of an empty RRset of its own
                # class, type and covered type, hashing the rdata once instead of twice.
                rrset = dns.rrset.RRset(name, rdclassMember, rdtypeMember, covers, None)
                rrset.ttl = ttl
                rrset.items[rd] = None
                section.append(rrset)
                index[key] = rrset
            elif isSingleton(rdtypeMember):
                rrset.add(rd, ttl)
            else:
                # Rdataset.add for a further rdata, hashing it once: the smaller TTL, and the
                # rdata unless an equal one is there.
                if ttl < rrset.ttl:
                    rrset.ttl = ttl
                rrset.items.setdefault(rd)
    if pos != end:
        raise Declined("trailing bytes")
    return message


#: Whether dnspython reads names by the rules L{_Reader} checks (2.9 does; 2.8, the newest
#: release for Python 3.10, follows pointer chains of any length), so that a name declined
#: here is one dnspython refuses too.
_SAME_NAME_RULES = hasattr(dns.name, "MAX_COMPRESSION_POINTER_CHAIN")


def boundNames(wire: bytes, *, questionOnly: bool = False) -> None:
    """
    Check that the names of C{wire} count no more labels than L{MAX_DECLINED_MESSAGE_LABELS},
    before C{dns.message.from_wire} parses a message L{readMessage} declines (which a sender can
    make it do: another opcode, one record dnspython refuses).

    The message is walked as dnspython reads it, its names read here (each suffix a pointer
    reaches built once) and counted as L{readMessage} counts them: the question's names, the
    owner names, and the names inside rdata, which dnspython's own rdata classes read (so every
    type that holds one is covered, whatever dnspython decompresses). A record dnspython
    refuses is skipped, as dnspython skips it; the walk stops where dnspython's reading would
    stop (a name it refuses, a record past the end), counting no more.

    @param questionOnly: walk the header and the question only.
    @raise TooManyLabels: past the bound, or for a name declined here that this release of
        dnspython would follow (a pointer chain longer than 2.9 allows), whose cost nothing
        bounds.
    """
    end = len(wire)
    if end < 12:
        return
    counts = _HEADER.unpack_from(wire, 0)[2:]
    reader = _Reader(wire, MAX_DECLINED_MESSAGE_LABELS)
    readName = reader.readName
    pos = 12
    try:
        for _ in range(counts[0]):
            _, pos = readName(pos, end, True)
            pos += 4
        if questionOnly:
            return
        for count in counts[1:]:
            for _ in range(count):
                _, pos = readName(pos, end, True)
                if pos + 10 > end:
                    return
                rdtype, rdclass, _, rdlen = _RR_HEAD.unpack_from(wire, pos)
                pos += 10
                if pos + rdlen > end:
                    return
                _boundRdata(reader, rdtype, rdclass, pos, pos + rdlen)
                pos += rdlen
    except Declined as e:
        if not _SAME_NAME_RULES:
            raise TooManyLabels(reader.limit, f"a name whose cost is unbounded: {e}") from None


def _boundRdata(reader: _Reader, rdtype: int, rdclass: int, start: int, end: int) -> None:
    """
    Read the rdata C{wire[start:end]} as dnspython would, for the names it holds.
    """
    reader.current = start
    reader.end = end
    try:
        rdataClass = _rdataClass(rdclass)
        rdataType = _rdataType(rdtype)
        dns.rdata.get_rdata_class(rdataClass, rdataType).from_wire_parser(
            rdataClass, rdataType, reader, None
        )
    except TooManyLabels:
        raise
    except Declined as e:
        if not _SAME_NAME_RULES:
            raise TooManyLabels(reader.limit, f"a name whose cost is unbounded: {e}") from None
    except Exception:  # refused by dnspython too, which skips the record
        pass
    reader.end = len(reader.wire)

"""
The records of the types every signed answer holds (A, AAAA, RRSIG, DNSKEY, DS, NSEC), built
from a message's bytes without running their classes' C{__init__} and keeping their canonical
wire form (L{KnownWire}); the OPT record; and dnspython's enumeration members by value.

Tests: tests/transport/test_wireread.py, tests/server/test_signing.py.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import dns.dnssectypes
import dns.ipv4
import dns.ipv6
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

from txdane.wireread._names import Declined, _Reader

_RRSIG_HEAD = struct.Struct("!HBBIIIH")
_KEY_HEAD = struct.Struct("!HBB")

_OPT = dns.rdatatype.OPT

#: dnspython's members, by value, for the types and classes it names.
_TYPES: dict[int, dns.rdatatype.RdataType] = {int(t): t for t in dns.rdatatype.RdataType}
_CLASSES: dict[int, dns.rdataclass.RdataClass] = {int(c): c for c in dns.rdataclass.RdataClass}
_ALGORITHMS: dict[int, dns.dnssectypes.Algorithm] = {int(a): a for a in dns.dnssectypes.Algorithm}
_DIGESTS: dict[int, dns.dnssectypes.DSDigest] = {int(d): d for d in dns.dnssectypes.DSDigest}


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

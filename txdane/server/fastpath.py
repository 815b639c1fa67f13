"""
Ordinary queries answered straight from wire pieces, without building messages.

L{answerFast} reads a query by hand (one question, at most an EDNS version 0 OPT record, nothing
unusual) and assembles the answer from RRsets rendered once per zone by L{WireZone}: positive
answers, NODATA, NXDOMAIN and wildcard answers, with their NSEC or NSEC3 proofs when DO is set.
It follows the same rules as the message-level L{txdane.server.responder.Responder.respond} and
gives the same bytes (name compression included, done the way dnspython does it, and the
records of an RRset shuffled as dnspython shuffles them). Anything else (referrals,
CNAME and DNAME chains, ANY and RRSIG questions, malformed or unusual queries, answers too large
for the client) is left to that slower path: C{answerFast} then returns C{None}.

Names are handled as lower-case wire bytes (the query name's own bytes, lowered), so looking one
up costs a slice and a dictionary probe, and NSEC spans are found by bisecting precomputed
canonical sort keys.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Mapping

import dns.rdatatype
import dns.rdtypes.ANY.OPT
import dns.wire

from txdane.server.wirezone import (
    _QUESTION_POINTER,
    _RRSIG,
    _SOA,
    _U16,
    NameParts,
    WireZone,
    _Node,
    _Record,
    _RRset,
    _Template,
    _writeName,
    _writeTemplateData,
    canonicalKey,
    nameParts,
    wireKey,
)

__all__ = ["NameParts", "WireZone", "answerFast", "canonicalKey", "nameParts", "wireKey"]

_HEADER_TAIL = struct.Struct("!HHHHH")
_QUESTION_TAIL = struct.Struct("!HH")
_OPT_TAIL = struct.Struct("!HBBHH")

_CNAME = dns.rdatatype.CNAME
_DS = dns.rdatatype.DS
_NSEC = dns.rdatatype.NSEC
_NSEC3 = dns.rdatatype.NSEC3
_OPT = dns.rdatatype.OPT

#: Query types left to the message-level path: meta types, OPT, ANY and RRSIG questions.
_SLOW_TYPES = frozenset({0, _OPT, _RRSIG, *range(128, 256)})

_QR = 0x8000
_AA = 0x0400
_RD = 0x0100
_CD = 0x0010
_DO = 0x8000
_NXDOMAIN = 3
_REFUSED = 5
_TCP_LIMIT = 65535
#: The OPT record of every EDNS answer: root owner, type, then (after the payload size) no
#: extended rcode, version 0, the DO bit echoed, no options.
_OPT_HEAD = b"\x00\x00\x29"
_OPT_DO = b"\x00\x00\x80\x00\x00\x00"
_OPT_NO_DO = b"\x00\x00\x00\x00\x00\x00"
#: The question count, answer and authority counts of the only queries answered here.
_COUNTS_PLAIN = b"\x00\x01\x00\x00\x00\x00\x00\x00"
_COUNTS_EDNS = b"\x00\x01\x00\x00\x00\x00\x00\x01"


#: An RRset placed in a section: its owner (C{None} for the question's name), its records
#: followed by those of its signatures (none when DO is clear), and where those start when
#: the records must be shuffled (else 0).
_Entry = tuple[NameParts | None, tuple[_Record, ...], int]


class _Response:
    """
    The sections of an answer being assembled, one entry per RRset.
    """

    __slots__ = ("answer", "answered", "authority", "dnssec", "ok", "seen")

    def __init__(self, dnssec: bool) -> None:
        self.answer: list[_Entry] = []
        self.answered: _RRset | None = None
        self.authority: list[_Entry] = []
        self.seen: set[tuple[bytes, int]] = set()
        self.dnssec = dnssec
        self.ok = True

    def addAnswer(self, rrset: _RRset) -> None:
        """
        Put C{rrset} (and its signatures) in the answer section, under the question's name.
        """
        self.answer.append(_entry(None, rrset, self.dnssec))
        self.answered = rrset

    def addAuthority(self, zone: WireZone, key: bytes | None, rdtype: int) -> None:
        """
        Put the RRset C{rdtype} at C{key} (and its signatures) in the authority section, once.
        """
        if key is None or (key, rdtype) in self.seen:
            return
        node = zone._node(key)
        if node is None:
            return
        rrset = node.rrsets.get(rdtype)
        if rrset is None:
            if rdtype in node.unsupported:
                self.ok = False
            return
        self.seen.add((key, rdtype))
        self.authority.append(_entry(node.parts, rrset, self.dnssec))

    def addSOA(self, zone: WireZone) -> None:
        """
        The apex's SOA for a negative answer, in the authority section.
        """
        soa = zone._soa()
        if soa is None:
            self.ok = False
            return
        parts, rrset = soa
        self.seen.add((zone.origin, _SOA))
        self.authority.append(_entry(parts, rrset, self.dnssec))


def _entry(parts: NameParts | None, rrset: _RRset, dnssec: bool) -> _Entry:
    if dnssec:
        return (parts, rrset.signed, rrset.split)
    return (parts, rrset.data, len(rrset.data) if len(rrset.data) > 1 else 0)


def _emit(
    out: list[bytes], table: dict[bytes, int], pos: int, section: list[_Entry], question: bytes
) -> tuple[int, int]:
    """
    Write the RRsets of C{section} at offset C{pos} as dnspython renders them (the records of
    each RRset shuffled, every owner name compressed); return the offset after them and how
    many records they hold. C{question} is how the question's name is written.
    """
    count = 0
    for parts, records, split in section:
        if split:  # as dnspython shuffles each RRset it renders: the data, then the signatures
            data = list(records[:split])
            random.shuffle(data)
            sigs = list(records[split:])
            random.shuffle(sigs)
            records = (*data, *sigs)
        count += len(records)
        owner: bytes | None = question if parts is None else (None if parts else b"\x00")
        for record in records:
            if owner is not None:
                out.append(owner)
                pos += len(owner)
            else:
                assert parts is not None
                pos = _writeName(out, table, pos, parts)
                target = table.get(parts[0][1])
                if target is not None:  # the same name later: a pointer to it
                    owner = _U16.pack(0xC000 | target)
            if type(record) is bytes:
                out.append(record)
                pos += len(record)
            else:
                assert isinstance(record, _Template)
                out.append(record.head)
                at = len(out)
                out.append(b"")
                pos += 10
                start = pos
                pos = _writeTemplateData(out, table, pos, record)
                out[at] = _U16.pack(pos - start)
    return pos, count


def _sections(
    response: _Response, qkey: bytes, labels: list[int], qend: int
) -> tuple[bytes, int, int]:
    """
    The answer and authority sections of C{response} to a question for C{qkey} (whose labels
    start at the offsets C{labels} of the name, which ends at C{qend}), compressed as dnspython
    does, and how many records each holds.

    An RRset that is the whole answer is the same bytes whatever the question, made once
    (L{_RRset.wholeAnswer}); the rest is written for this question.
    """
    answer, authority = response.answer, response.authority
    if labels and not authority and len(answer) == 1 and response.answered is not None:
        whole = response.answered.wholeAnswer(response.dnssec)
        if whole is not None:
            return whole, len(answer[0][1]), 0
    out: list[bytes] = []
    table = {qkey[offset:]: 12 + offset for offset in labels}
    owner = _QUESTION_POINTER if labels else b"\x00"
    pos, answers = _emit(out, table, qend + 4, answer, owner)
    pos, authorities = _emit(out, table, pos, authority, owner)
    return b"".join(out), answers, authorities


def _parent(key: bytes) -> bytes:
    return key[key[0] + 1 :]


def _nextCloser(key: bytes, closest: bytes) -> bytes:
    """
    The ancestor of C{key} (or C{key} itself) one label longer than its ancestor C{closest}.
    """
    while True:
        parent = _parent(key)
        if len(parent) == len(closest):
            return key
        key = parent


def _proveNoCloser(response: _Response, zone: WireZone, key: bytes, closest: bytes) -> None:
    if zone._nsec3:
        response.addAuthority(zone, zone._nsec3Matching(closest), _NSEC3)
        response.addAuthority(zone, zone._nsec3Covering(_nextCloser(key, closest)), _NSEC3)
    else:
        response.addAuthority(zone, zone._coveringNSEC(key), _NSEC)


def _proveNoType(response: _Response, zone: WireZone, key: bytes) -> None:
    if zone._nsec3:
        matching = zone._nsec3Matching(key)
        if matching is not None:
            response.addAuthority(zone, matching, _NSEC3)
            return
        closest = _parent(key)
        while zone._nsec3Matching(closest) is None and closest != zone.origin:
            closest = _parent(closest)
        _proveNoCloser(response, zone, key, closest)
    else:
        response.addAuthority(zone, zone._coveringNSEC(key), _NSEC)


def _validOptions(data: bytes, start: int, end: int) -> bool:
    """
    Whether the EDNS options in C{data[start:end]} parse as dnspython parses them.
    """
    try:
        parser = dns.wire.Parser(data[start:end])
        dns.rdtypes.ANY.OPT.OPT.from_wire_parser(_OPT, _OPT, parser)
        return parser.remaining() == 0
    except Exception:
        return False


def answerFast(
    zones: Mapping[bytes, WireZone], data: bytes, tcp: bool, maxUDPPayload: int
) -> bytes | None:
    """
    The answer to the query in C{data} from C{zones} (by apex, in lower-case wire form), or
    C{None} when the query or its answer is not an ordinary one and the message-level path
    must give it. C{data} is known to be at least a header long, with QR clear.
    """
    size = len(data)
    if data[2] & 0x78 or size < 17:  # an opcode other than QUERY; no room for a question
        return None
    counts = data[4:12]
    if counts == _COUNTS_EDNS:
        edns = True
    elif counts == _COUNTS_PLAIN:
        edns = False
    else:
        return None
    # The question name: plain labels, no compression pointer, at most 255 bytes.
    pos = 12
    labels: list[int] = []
    while True:
        if pos >= size:
            return None
        length = data[pos]
        if not length:
            break
        if length > 63:
            return None
        labels.append(pos - 12)
        pos += length + 1
    qend = pos + 1
    if qend - 12 > 255 or qend + 4 > size:
        return None
    qtype, qclass = _QUESTION_TAIL.unpack_from(data, qend)
    if qclass != 1 or qtype in _SLOW_TYPES:
        return None
    pos = qend + 4
    dnssec = False
    payload = 0
    if edns:
        # An OPT record: root owner, version 0, nothing after it.
        if pos + 11 > size or data[pos] or data[pos + 1 : pos + 3] != b"\x00\x29":
            return None
        payload, extended, version, ednsFlags, rdlength = _OPT_TAIL.unpack_from(data, pos + 3)
        if extended or version or pos + 11 + rdlength != size:
            return None
        if rdlength and not _validOptions(data, pos + 11, size):
            return None
        dnssec = bool(ednsFlags & _DO)
    elif pos != size:
        return None

    qkey = data[12:qend].lower()
    # The zone: the most specific one, except that DS at a zone's apex comes from its parent.
    zone: WireZone | None = None
    for offset in (*labels, qend - 13):
        found = zones.get(qkey[offset:])
        if found is None:
            continue
        if zone is None:
            zone = found
            if qtype != _DS or offset:
                break
        else:
            zone = found
            break
    flags = _QR | ((data[2] << 8) & _RD) | (data[3] & _CD)
    response = _Response(dnssec)
    if zone is None:
        flags |= _REFUSED
    else:
        rcode = _lookup(response, zone, qkey, qtype)
        if rcode < 0 or not response.ok:
            return None
        flags |= _AA | rcode

    # The response: the question as asked, then the records, compressed as dnspython does.
    sections, answers, authorities = _sections(response, qkey, labels, qend)
    out = [b"", data[12 : qend + 4], sections]
    pos = qend + 4 + len(sections)
    if edns:
        out.append(_OPT_HEAD + _U16.pack(maxUDPPayload) + (_OPT_DO if dnssec else _OPT_NO_DO))
        pos += 11
        limit = max(512, min(payload, maxUDPPayload))
    else:
        limit = 512
    if tcp:
        limit = _TCP_LIMIT
    if pos > limit:
        return None  # truncation is the message-level path's business
    out[0] = data[:2] + _HEADER_TAIL.pack(flags, 1, answers, authorities, 1 if edns else 0)
    return b"".join(out)


def _fromNode(response: _Response, node: _Node | None, qtype: int) -> int | None:
    """
    Answer C{qtype} from the records of C{node}: 0 when they hold it (added to the answer),
    -1 to leave the query to the message-level path (data this module does not render, or a
    CNAME to follow), C{None} when the node has no such records (or there is no node).
    """
    if node is None:
        return None
    rrset = node.rrsets.get(qtype)
    if rrset is not None:
        response.addAnswer(rrset)
        return 0
    if qtype in node.unsupported or _CNAME in node.rrsets or _CNAME in node.unsupported:
        return -1
    return None


def _lookup(response: _Response, zone: WireZone, qkey: bytes, qtype: int) -> int:
    """
    Answer C{qkey}/C{qtype} from C{zone} into C{response} as the message-level path does;
    return the response code, or -1 to leave the query to that path (a referral, a DNAME or
    CNAME to follow, data this module does not render).
    """
    origin = zone.origin
    if zone._cuts or zone._dnames:
        key = qkey
        while True:
            if key in zone._cuts and not (key == qkey and qtype == _DS):
                return -1
            if key != qkey and key in zone._dnames:
                return -1
            if len(key) <= len(origin):
                break
            key = _parent(key)
    existing = zone._existing
    if qkey in existing:
        found = _fromNode(response, zone._node(qkey), qtype)
        if found is not None:
            return found
        response.addSOA(zone)
        if response.dnssec:
            _proveNoType(response, zone, qkey)
        return 0

    closest = qkey
    while closest not in existing:
        if len(closest) <= len(origin):
            return -1
        closest = _parent(closest)
    wildcard = b"\x01*" + closest
    if wildcard in existing:
        node = zone._node(wildcard)
        if node is not None:
            found = _fromNode(response, node, qtype)
            if found == 0 and response.dnssec:
                _proveNoCloser(response, zone, qkey, closest)
            if found is not None:
                return found
            response.addSOA(zone)
            if response.dnssec:
                _proveNoCloser(response, zone, qkey, closest)
                _proveNoType(response, zone, wildcard)
            return 0
    response.addSOA(zone)
    if response.dnssec:
        _proveNoCloser(response, zone, qkey, closest)
        if zone._nsec3:
            response.addAuthority(zone, zone._nsec3Covering(wildcard), _NSEC3)
        else:
            response.addAuthority(zone, zone._coveringNSEC(wildcard), _NSEC)
    return _NXDOMAIN

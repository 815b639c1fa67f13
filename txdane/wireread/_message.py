"""
The message reader of L{txdane.wireread}: L{readMessage}, which reads a whole response with
the name reader and the record builders, and L{boundNames}, which counts the names of a
response it declines before dnspython parses it; and the bounds both apply.

Tests: tests/transport/test_wireread.py, tests/transport/test_namebound.py;
fuzz/parse_message.py.
"""

from __future__ import annotations

import struct
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset

from txdane.wireread._names import Declined, TooManyLabels, _Reader
from txdane.wireread._records import _BUILDERS, _OPT, _rdataClass, _rdataType, _readOPT

_HEADER = struct.Struct("!HHHHHH")
_QUESTION_TAIL = struct.Struct("!HH")
_RR_HEAD = struct.Struct("!HHIH")
_OPCODE_MASK = 0x7800

_NONE = dns.rdatatype.NONE

#: Record types left to dnspython: the transaction signatures (TSIG, SIG(0)) and TKEY.
_DECLINED_TYPES = frozenset({dns.rdatatype.TSIG, dns.rdatatype.SIG, dns.rdatatype.TKEY})

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


#: How the reason of a L{Declined} begins when it stands for an exception the reader did not
#: expect: the message is still left to dnspython, and tests and fuzzing look for the reason.
UNEXPECTED = "unexpected: "


def readMessage(wire: bytes) -> dns.message.QueryMessage:
    """
    Read the DNS response C{wire} as C{dns.message.from_wire(wire)} would, faster.

    @return: the same message as dnspython's (same class, header, sections, RRsets, index, OPT
        record), with C{errors} empty.
    @raise Declined: for anything this reader leaves to dnspython (see L{txdane.wireread}),
        and for any exception it did not expect (its reason then begins with L{UNEXPECTED});
        never for a message it reads.
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

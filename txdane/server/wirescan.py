"""
What the server reads of a request's raw bytes, besides dnspython's parse of it.

dnspython's message drops two things a server must see: the TTL of a record without data
(an UPDATE's deletion of class ANY, or a prerequisite, which RFC 2136 wants 0), and, in a
message that does not parse (a COOKIE option of a bad length, say), whether the request had
an OPT record, which decides whether the FORMERR answering it has one (RFC 6891 section 7).
L{recordHeaders} walks the records' fixed fields; L{bareError} answers with a header, and an
OPT record when the request had one.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.name
import dns.rdatatype
import dns.wire

_HEADER = struct.Struct("!HHHHHH")
_QR = 0x8000
_OPCODE_MASK = 0x7800
#: An OPT record without options: root owner, type OPT, the payload size in the class, no
#: extended rcode, version 0, no flags.
_OPT = struct.Struct("!BHHIH")


@dataclass(frozen=True)
class RecordHeader:
    """
    The fixed fields of one record of a message.

    @ivar section: 1 (answer; an UPDATE's prerequisites), 2 (authority; its updates) or 3
        (additional).
    """

    section: int
    rdtype: int
    rdclass: int
    ttl: int
    rdlength: int


def recordHeaders(data: bytes) -> list[RecordHeader] | None:
    """
    The fixed fields of every record after the question (or zone) section of the message in
    C{data}, in order; C{None} when its sections cannot be walked.
    """
    if len(data) < 12:
        return None
    _, _, questions, *counts = _HEADER.unpack_from(data)
    parser = dns.wire.Parser(data, 12)
    headers = []
    try:
        for _ in range(questions):
            dns.name.from_wire_parser(parser)
            parser.get_struct("!HH")
        for section, count in enumerate(counts, 1):
            for _ in range(count):
                dns.name.from_wire_parser(parser)
                rdtype, rdclass, ttl, rdlength = parser.get_struct("!HHIH")
                parser.get_bytes(rdlength)
                headers.append(RecordHeader(section, rdtype, rdclass, ttl, rdlength))
    except (dns.exception.DNSException, struct.error, ValueError, IndexError):
        return None
    return headers


def hadOPT(data: bytes) -> bool:
    """
    Whether the message in C{data} has an OPT record in its additional section, whether or
    not the rest of it parses (as far as its sections can be walked).
    """
    headers = recordHeaders(data)
    if headers is None:
        return False
    return any(h.section == 3 and h.rdtype == dns.rdatatype.OPT for h in headers)


def bareError(data: bytes, rcode: int, payload: int) -> bytes | None:
    """
    A response of a header only, with C{rcode}, to the request in C{data}, which is too
    broken to copy a question from; with an OPT record (version 0, advertising C{payload}
    bytes) when the request had one. C{None} when C{data} is too short to hold a header.
    """
    if len(data) < 12:
        return None
    queryId, flags = struct.unpack_from("!HH", data)
    keep = flags & (_OPCODE_MASK | dns.flags.RD)
    if not hadOPT(data):
        return _HEADER.pack(queryId, _QR | keep | rcode, 0, 0, 0, 0)
    opt = _OPT.pack(0, dns.rdatatype.OPT, payload, 0, 0)
    return _HEADER.pack(queryId, _QR | keep | rcode, 0, 0, 0, 1) + opt

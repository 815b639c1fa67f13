"""
Fuzz the transport's lenient message parser, L{txdane.transport.parseMessage}: the first
byte's low bit asks for the question only, the rest is the message. The parser gives a
message or one of the errors it documents, never another exception, and:

  - a message dnspython parses strictly is parsed to the same message (where dnspython keeps
    a TLSA record of the wrong length, as 2.8 does, it is a L{MalformedTLSA} there), unless
    its names cost more than the bound allows (L{TooManyLabels}, which the fast reader raises
    only past L{MAX_MESSAGE_LABELS});
  - a message dnspython refuses is accepted only for TLSA records whose data has the wrong
    length for its matching type, each kept as a L{MalformedTLSA}, and the message written
    out again parses to the same records.

    python fuzz/parse_message.py -runs=100000
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rrset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.transport import _DNSPYTHON_REFUSES_MALFORMED_TLSA, MalformedTLSA, parseMessage
    from txdane.wireread import (
        MAX_MESSAGE_LABELS,
        UNEXPECTED,
        Declined,
        TooManyLabels,
        readMessage,
    )

#: What C{parseMessage} may rightly raise (as C{dns.message.from_wire} does).
_PARSE_ERRORS = (dns.exception.DNSException, ValueError, struct.error)

_OWNER = "_443._tcp.www.example.test."


def _records(message: dns.message.Message) -> list[list[dns.rrset.RRset]]:
    return [list(section) for section in message.sections]


def _malformed(message: dns.message.Message) -> list[MalformedTLSA]:
    return [
        rdata
        for section in (message.answer, message.authority, message.additional)
        for rrset in section
        for rdata in rrset
        if isinstance(rdata, MalformedTLSA)
    ]


def _wrongLengths(malformed: list[MalformedTLSA]) -> None:
    for rdata in malformed:
        assert rdata.rdtype == dns.rdatatype.TLSA
        assert rdata.mtype in (1, 2) and len(rdata.cert) != {1: 32, 2: 64}[rdata.mtype]


def _checkFast(wire: bytes, strict: dns.message.Message | None) -> None:
    """
    The fast reader declines C{wire}, or reads it to C{strict}, dnspython's message.
    """
    try:
        fast = readMessage(wire)
    except Declined as e:
        assert not str(e).startswith(UNEXPECTED), e
        return
    except TooManyLabels as e:
        assert e.limit == MAX_MESSAGE_LABELS
        return
    assert strict is not None, "the fast reader reads what dnspython refuses"
    assert fast == strict
    assert type(fast) is type(strict)
    assert fast.to_text() == strict.to_text()
    assert [[(r.name.labels, r.ttl) for r in s] for s in fast.sections] == [
        [(r.name.labels, r.ttl) for r in s] for s in strict.sections
    ]
    assert _records(fast) == _records(strict)
    assert (fast.edns, fast.ednsflags, fast.payload, fast.options) == (
        strict.edns,
        strict.ednsflags,
        strict.payload,
        strict.options,
    )


def testOneInput(data: bytes) -> str:
    if not data:
        return "empty"
    questionOnly, wire = bool(data[0] & 1), data[1:]
    try:
        strict = dns.message.from_wire(wire, question_only=questionOnly)
    except _PARSE_ERRORS:
        strict = None
    if not questionOnly:
        _checkFast(wire, strict)
    try:
        lenient = parseMessage(wire, questionOnly=questionOnly)
    except TooManyLabels:
        return "too-many-labels"
    except _PARSE_ERRORS:
        assert strict is None, "dnspython parses what parseMessage refuses"
        return "refused"
    if strict is not None:
        assert lenient == strict
        assert _records(lenient) == _records(strict)
        assert (lenient.rcode(), lenient.edns, lenient.ednsflags) == (
            strict.rcode(),
            strict.edns,
            strict.ednsflags,
        )
        malformed = _malformed(lenient)
        assert not (malformed and _DNSPYTHON_REFUSES_MALFORMED_TLSA)
        _wrongLengths(malformed)
        return "parsed"
    # Accepted only because of malformed TLSA records, each of a wrong length.
    malformed = _malformed(lenient)
    assert malformed, "parseMessage accepts what dnspython refuses, with no malformed TLSA"
    _wrongLengths(malformed)
    try:
        again = lenient.to_wire()
    except dns.exception.DNSException:
        return "malformed-tlsa"  # e.g. a TSIG record, which dnspython writes only with its key
    assert _records(parseMessage(again)) == _records(lenient)
    return "malformed-tlsa"


def _response(*records: tuple[str, str, bytes]) -> bytes:
    """
    A response to C{_OWNER}/TLSA whose answer holds C{records} (name, type, raw rdata),
    written by hand so that dnspython's checks do not apply.
    """
    query = dns.message.make_query(_OWNER, "TLSA", want_dnssec=True, id=0x5EED)
    wire = bytearray(dns.message.make_response(query).to_wire())
    wire[6:8] = struct.pack("!H", len(records))
    # The OPT record of the additional section comes last: insert before it.
    opt = bytes(wire[-11:])
    del wire[-11:]
    for name, rdtype, rdata in records:
        wire += dns.name.from_text(name).to_wire() or b""
        wire += struct.pack("!HHIH", dns.rdatatype.from_text(rdtype), 1, 300, len(rdata))
        wire += rdata
    return bytes(wire + opt)


def seeds() -> list[bytes]:
    """
    Good TLSA answers, ones with a wrong-length digest (alone, beside good records, signed),
    and other malformed records.
    """
    good = b"\x03\x01\x01" + b"\x11" * 32
    short = b"\x03\x01\x01" + b"\x22" * 31
    long512 = b"\x02\x00\x02" + b"\x33" * 65
    rrsig = bytes.fromhex("0034 0d 06 0000012c 6a000000 69000000 1234") + (
        dns.name.from_text("example.test.").to_wire() or b""
    )
    rrsig += b"\x44" * 64
    messages = [
        _response((_OWNER, "TLSA", good)),
        _response((_OWNER, "TLSA", short), (_OWNER, "TLSA", good)),
        _response((_OWNER, "TLSA", long512), (_OWNER, "RRSIG", rrsig)),
        _response((_OWNER, "TLSA", short), ("www.example.test.", "A", b"\x7f\x00\x01")),
        _response((_OWNER, "TLSA", b"\x03\x01")),
        _response(("www.example.test.", "AAAA", b"\x00" * 16), (_OWNER, "TLSA", short)),
    ]
    messages.append(_signedAnswer())
    messages.append(_deepNames())
    return [b"\x00" + m for m in messages] + [b"\x01" + messages[1]]


def _deepNames() -> bytes:
    """
    An answer of RP records whose owner and names point at a name of 127 labels: past the
    bound on the labels of a message's names (L{TooManyLabels}).
    """
    query = dns.message.make_query(_OWNER, "RP", id=0x5EED)
    wire = bytearray(dns.message.make_response(query).to_wire())
    deep = b"\x01a" * 127 + b"\x00"
    deepAt = len(wire) + 2 + 10
    records = [b"\xc0\x0c" + struct.pack("!HHIH", dns.rdatatype.RP, 1, 300, 256) + deep + b"\x00"]
    pointer = struct.pack("!H", 0xC000 | deepAt)
    for number in range(40):
        rdata = pointer + struct.pack("!H", 0xC000 | (deepAt + 2 * (number % 8)))
        records.append(pointer + struct.pack("!HHIH", dns.rdatatype.RP, 1, 300, 4) + rdata)
    wire[6:8] = struct.pack("!H", len(records))
    return bytes(wire) + b"".join(records)


def _signedAnswer() -> bytes:
    """
    A NOERROR answer as a validating client receives one, written by dnspython (so with
    compressed names): an A record and its RRSIG, a DS, a DNSKEY, an NSEC record, and an EDNS
    option (one record per RRset: dnspython shuffles the records of an RRset it writes).
    """
    query = dns.message.make_query("www.example.test.", "A", want_dnssec=True, id=0x5EED)
    response = dns.message.make_response(query)
    response.use_edns(
        0, dns.flags.DO, 1232, options=[dns.edns.EDEOption(dns.edns.EDECode.DNSSEC_BOGUS, "bad")]
    )
    signature = "AAAA" * 16
    for owner, rdtype, text in (
        ("www.example.test.", "A", "127.0.0.1"),
        (
            "www.example.test.",
            "RRSIG",
            f"A 13 3 300 20300101000000 20200101000000 1 example.test. {signature}",
        ),
        ("example.test.", "DS", "5797 13 2 " + "1a" * 32),
        ("example.test.", "DNSKEY", f"257 3 13 {signature}"),
        ("www.example.test.", "NSEC", "_443._tcp.www.example.test. A AAAA RRSIG NSEC"),
    ):
        rdata = dns.rdata.from_text("IN", rdtype, text)
        response.find_rrset(
            response.answer,
            dns.name.from_text(owner),
            rdata.rdclass,
            rdata.rdtype,
            rdata.covers(),
            create=True,
        ).add(rdata, 300)
    return response.to_wire()


if __name__ == "__main__":
    main(testOneInput, seeds())

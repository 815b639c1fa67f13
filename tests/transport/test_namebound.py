"""
Tests for the bound on what the names of one message cost to parse
(L{txdane.wireread.MAX_MESSAGE_LABELS}): compressed names of a hundred labels, two octets each
on the wire, are refused before they cost seconds, on the fast reader's path and on
dnspython's, which a sender can force; honest answers as large as a message can be parse as
before; and a refused answer fails the query.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from txdane import wireread
from txdane.transport import DNSClient, DNSMalformedError, _parse, parseMessage
from txdane.wireread import (
    MAX_DECLINED_MESSAGE_LABELS,
    MAX_MESSAGE_LABELS,
    TooManyLabels,
    boundNames,
    readMessage,
)
from txdane.wireread import _message as messageReader

from .scriptserver import Reply, ScriptServer

_MX = int(dns.rdatatype.MX)
_RP = int(dns.rdatatype.RP)
_A = int(dns.rdatatype.A)
_TLSA = int(dns.rdatatype.TLSA)
_QNAME = b"\x04mail\x07example\x04test\x00"


def _pointer(offset: int) -> bytes:
    return struct.pack("!H", 0xC000 | offset)


def _deep(labels: int) -> bytes:
    """
    A name of C{labels} one-octet labels and the root, in 2 * C{labels} + 1 octets.
    """
    return b"\x01a" * labels + b"\x00"


def _rr(owner: bytes, rdtype: int, rdata: bytes) -> bytes:
    return owner + struct.pack("!HHIH", rdtype, 1, 300, len(rdata)) + rdata


def _message(
    records: Iterator[bytes],
    *,
    qtype: int = _MX,
    opcode: int = 0,
    messageID: int = 0x5EED,
    question: bytes = _QNAME,
    size: int = 65535,
    first: bytes = b"",
) -> bytes:
    """
    A response to C{question}/C{qtype} whose answer holds C{first}, then C{records}, as many
    as fit in C{size} octets.
    """
    head = struct.pack("!HHHHHH", messageID, 0x8180 | opcode << 11, 1, 0, 0, 0)
    wire = bytearray(head + question + struct.pack("!HH", qtype, 1))
    count = 0
    if first:
        wire += first
        count += 1
    for record in records:
        if len(wire) + len(record) > size:
            break
        wire += record
        count += 1
    wire[6:8] = struct.pack("!H", count)
    return bytes(wire)


def _exchanges(qnameAt: int = 12, start: int = 12 + len(_QNAME) + 4) -> Iterator[bytes]:
    """
    MX records: the first's exchange a name of 123 labels, each other's a new label and a
    pointer to it (125 labels in 11 octets).
    """
    deepAt = start + 2 + 10 + 2
    yield _rr(_pointer(qnameAt), _MX, b"\x00\x0a" + _deep(123))
    number = 0
    while True:
        label = b"x%05d" % number
        exchange = bytes([len(label)]) + label + _pointer(deepAt)
        yield _rr(_pointer(qnameAt), _MX, b"\x00\x0a" + exchange)
        number += 1


def _responsibles(qnameAt: int = 12, start: int = 12 + len(_QNAME) + 4) -> Iterator[bytes]:
    """
    RP records whose owner and both names are bare pointers to suffixes of a name of 127
    labels: three names of a hundred labels and more in 16 octets.
    """
    deepAt = start + 2 + 10
    yield _rr(_pointer(qnameAt), _RP, _deep(127) + b"\x00")
    number = 0
    while True:
        first, second = divmod(number, 8)
        rdata = _pointer(deepAt + 2 * (first % 8)) + _pointer(deepAt + 2 * second)
        yield _rr(_pointer(deepAt), _RP, rdata)
        number += 1


def _owners(qnameAt: int = 12, start: int = 12 + len(_QNAME) + 4) -> Iterator[bytes]:
    """
    A records, each owned by a new name: a new label and a pointer to a name of 122 labels.
    """
    yield _rr(_deep(122), _A, b"\x7f\x00\x00\x01")
    number = 0
    while True:
        label = b"z%05d" % number
        yield _rr(bytes([len(label)]) + label + _pointer(start), _A, b"\x7f\x00\x00\x01")
        number += 1


#: A TLSA record whose data is too short for its matching type: dnspython refuses it, so the
#: fast reader leaves the message to dnspython (and the transport keeps it).
_SHORT_TLSA = _rr(_pointer(12), _TLSA, b"\x03\x01\x01" + b"\x22" * 31)

#: The opcode STATUS, which the fast reader leaves to dnspython.
_STATUS = 2


@contextmanager
def _namesBuilt() -> Iterator[list[int]]:
    """
    Count the labels of every name dnspython builds (the fast reader builds its own without
    C{__init__}, counted against the bound instead).
    """
    built = [0]
    original = dns.name.Name.__init__

    def counting(self: dns.name.Name, labels: Any) -> None:
        built[0] += len(labels)
        original(self, labels)

    with mock.patch.object(dns.name.Name, "__init__", counting):
        yield built


@contextmanager
def _dnspythonParses() -> Iterator[mock.Mock]:
    """
    Watch C{dns.message.from_wire} as the transport calls it.
    """
    with mock.patch.object(
        _parse.dns.message, "from_wire", wraps=dns.message.from_wire
    ) as fromWire:
        yield fromWire


@pytest.mark.parametrize("records", [_exchanges, _responsibles, _owners])
def test_fastPathRefusesCraftedNames(records: Any) -> None:
    """
    A 64 KiB response whose compressed names each hold a hundred labels and more is refused,
    by the fast reader, having built no more labels than the bound allows; dnspython is not
    asked to parse it.
    """
    wire = _message(records())
    with _namesBuilt() as built, _dnspythonParses() as fromWire:
        with pytest.raises(TooManyLabels):
            parseMessage(wire)
    assert built[0] <= MAX_MESSAGE_LABELS
    fromWire.assert_not_called()


@pytest.mark.parametrize("records", [_exchanges, _responsibles, _owners])
@pytest.mark.parametrize("forced", ["opcode", "refused rdata"])
def test_fallbackRefusesCraftedNames(records: Any, forced: str) -> None:
    """
    A sender cannot get the crafted names past the bound by making the fast reader decline
    the message (another opcode, a record dnspython refuses): it is refused before dnspython
    parses it.
    """
    if forced == "opcode":
        wire = _message(records(), opcode=_STATUS)
    else:
        start = 12 + len(_QNAME) + 4 + len(_SHORT_TLSA)
        wire = _message(records(start=start), first=_SHORT_TLSA)
    with pytest.raises(wireread.Declined):
        readMessage(wire)
    with _dnspythonParses() as fromWire, pytest.raises(TooManyLabels) as raised:
        parseMessage(wire)
    fromWire.assert_not_called()
    assert raised.value.limit == MAX_DECLINED_MESSAGE_LABELS


def test_questionOnlyRefusesCraftedNames() -> None:
    """
    The question section of a truncated answer, which only dnspython reads, is bounded too:
    thousands of questions pointing at a name of 127 labels are refused unread.
    """
    question = _deep(127) + struct.pack("!HH", _A, 1)
    repeated = _pointer(12) + struct.pack("!HH", _A, 1)
    count = (65535 - 12 - len(question)) // len(repeated)
    wire = struct.pack("!HHHHHH", 0x5EED, 0x8380, count + 1, 0, 0, 0)
    wire += question + repeated * count
    with _dnspythonParses() as fromWire, pytest.raises(TooManyLabels):
        parseMessage(wire, questionOnly=True)
    fromWire.assert_not_called()


def test_fallbackBoundsEveryNameDnspythonReads() -> None:
    """
    The names inside rdata are counted as dnspython's own classes read them: an RP record,
    which the fast reader also leaves to its class, counts its two names and their suffixes.
    """
    deepAt = 12 + len(_QNAME) + 4 + 2 + 10
    first = _rr(_pointer(12), _RP, _deep(127) + b"\x00")
    rdata = _pointer(deepAt) + _pointer(deepAt + 2)
    one = _message(iter([first, _rr(_pointer(12), _RP, rdata)]), opcode=_STATUS)
    boundNames(one)
    # Each name twice its labels, one more for each label of each suffix of those in rdata.
    perRecord = 2 * 4 + (2 * 128 + 128 * 129 // 2) + (2 * 127 + 127 * 128 // 2)
    records = MAX_DECLINED_MESSAGE_LABELS // perRecord
    under = [first] + [_rr(_pointer(12), _RP, rdata)] * (records - 2)
    boundNames(_message(iter(under), opcode=_STATUS))
    over = [first] + [_rr(_pointer(12), _RP, rdata)] * (records + 2)
    with pytest.raises(TooManyLabels):
        boundNames(_message(iter(over), opcode=_STATUS))


def test_fallbackRefusesChainsDnspythonWouldFollow() -> None:
    """
    Where dnspython follows pointer chains of any length (2.8), a name the fast reader
    declines for its chain is refused: its cost would be bounded by nothing.
    """
    question = b"\x01a\x00"
    head = struct.pack("!HHHHHH", 0x5EED, 0x9180, 1, 2, 0, 0)
    wire = bytearray(head + question + struct.pack("!HH", _A, 1))
    # A NULL record whose data is a chain of pointers, each to the one before it; then a
    # record owned by the last of them, twenty pointers from the name they reach.
    chainAt = len(wire) + 2 + 10
    chain = _pointer(12) + b"".join(_pointer(chainAt + 2 * n) for n in range(19))
    wire += _rr(_pointer(12), int(dns.rdatatype.NULL), chain)
    wire += _rr(_pointer(chainAt + 2 * 19), _A, b"\x7f\x00\x00\x01")
    with mock.patch.object(messageReader, "_SAME_NAME_RULES", False):
        with pytest.raises(TooManyLabels, match="cost is unbounded"):
            boundNames(bytes(wire))
    with mock.patch.object(messageReader, "_SAME_NAME_RULES", True):
        boundNames(bytes(wire))


def _honest(rdtype: str, count: int, pattern: str) -> bytes:
    """
    A response written by dnspython (compressed) holding C{count} records of C{rdtype}, each
    naming C{pattern} numbered.
    """
    query = dns.message.make_query("mail.a.b.c.example.test.", rdtype, id=0x5EED)
    response = dns.message.make_response(query)
    rrset = response.find_rrset(
        response.answer,
        query.question[0].name,
        dns.rdataclass.IN,
        dns.rdatatype.from_text(rdtype),
        create=True,
    )
    for number in range(count):
        text = pattern.format(number)
        rrset.add(dns.rdata.from_text("IN", rdtype, text), 300)
    return response.to_wire(max_size=65535)


@pytest.mark.parametrize(
    ("rdtype", "count", "pattern"),
    [
        ("MX", 3000, "10 m{}.a.b.c.d.e.example.test."),
        ("NS", 3300, "n{}.a.b.c.d.e.example.test."),
        ("SRV", 1350, "1 1 25 s{}.a.b.c.d.e.example.test."),
    ],
)
def test_honestLargestAnswersParse(rdtype: str, count: int, pattern: str) -> None:
    """
    Answers as large as a message can be, thousands of names of nine labels written as tightly
    as compression allows, parse as dnspython parses them, counting less than half the bound.
    """
    wire = _honest(rdtype, count, pattern)
    # (dnspython 2.8 compresses SRV targets, which 2.9 writes whole: 34 KB there, 64 here.)
    assert len(wire) > 30000
    message = parseMessage(wire)
    assert message == dns.message.from_wire(wire)
    assert len(message.answer[0]) == count
    with mock.patch.object(messageReader, "MAX_MESSAGE_LABELS", MAX_MESSAGE_LABELS // 2):
        readMessage(wire)


def test_ordinaryDeclinedMessagesParse() -> None:
    """
    A message the fast reader declines, holding ordinary names, is still parsed by dnspython
    (with the TLSA record of a wrong length kept), well within the bound for such messages.
    """
    names = iter([_rr(_pointer(12), _MX, b"\x00\x0a\x02mx" + _pointer(12))])
    wire = _message(names, first=_SHORT_TLSA)
    with mock.patch.object(messageReader, "MAX_DECLINED_MESSAGE_LABELS", 100):
        boundNames(wire)
    with _dnspythonParses() as fromWire:
        message = parseMessage(wire)
    fromWire.assert_called_once()
    assert len(message.answer) == 2


def test_patchedBoundsReachTheReaders() -> None:
    """
    The bounds the tests above lower, patched where they are read, do reach the readers: a
    message of one name is refused by each with its bound patched to nothing. A patch that
    reaches neither (one on the package's own names, say) would let those tests pass unheard.
    """
    wire = _message(iter([]))
    readMessage(wire)
    boundNames(wire)
    with mock.patch.object(messageReader, "MAX_MESSAGE_LABELS", 0):
        with pytest.raises(TooManyLabels):
            readMessage(wire)
    with mock.patch.object(messageReader, "MAX_DECLINED_MESSAGE_LABELS", 0):
        with pytest.raises(TooManyLabels):
            boundNames(wire)


class RefusedAnswerTests(TestCase):
    """
    An answer refused for its names fails the query as a malformed answer.
    """

    async def test_tcpAnswerRefused(self) -> None:
        """
        Over TCP, a crafted answer to the query is a L{DNSMalformedError} naming the bound.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            if transport == "udp":
                truncated = dns.message.make_response(query)
                truncated.flags |= dns.flags.TC
                return [Reply(truncated.to_wire())]
            question = query.question[0].name.to_wire() or b""
            start = 12 + len(question) + 4
            records = _exchanges(start=start)
            return [Reply(_message(records, messageID=query.id, question=question))]

        server = ScriptServer(handler)
        server.start()
        self.addCleanup(server.stop)
        client = DNSClient(reactor, [server.address], timeout=2.0, attempts=1)
        error = await self.assertFailure(client.query("mail.example.test", "MX"), DNSMalformedError)
        self.assertIn("labels", str(error))

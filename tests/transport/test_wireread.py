"""
Tests for L{txdane.wireread}: the fast reader gives exactly the message dnspython's
C{dns.message.from_wire} gives (every answer of the project's own server for the signed test
hierarchy, generated messages, compression edge cases), declines whatever it is not sure of,
and then L{txdane.transport.parseMessage} behaves exactly as with dnspython alone.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from unittest import mock

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.server.test_fastpath import _EXTRA, LABELS, ORDINARY, SLOW, TYPES, query
from tests.support import LONGEST_NAME_WIRE
from tests.transport.test_parse_property import _SETTINGS, _message, records
from txdane.server.responder import Responder
from txdane.server.zones import ZoneStore
from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import MalformedTLSA, _parse, parseMessage
from txdane.wireread import UNEXPECTED, Declined, KnownWire, _records, readMessage

#: What dnspython may raise for a message it cannot parse.
_PARSE_ERRORS = (dns.exception.DNSException, ValueError, struct.error)


def _dnspythonClass(rdata: dns.rdata.Rdata) -> type:
    """
    The dnspython class of C{rdata}: its own, or the one a L{KnownWire} record subclasses,
    whose kept canonical form must then be byte for byte dnspython's, and hash as dnspython's.
    """
    if not isinstance(rdata, KnownWire):
        return type(rdata)
    (base,) = [c for c in type(rdata).__bases__ if c is not KnownWire]
    computed = dns.rdata.Rdata.to_digestable(rdata)
    assert rdata.to_digestable() == computed
    assert hash(rdata) == hash(computed)
    return base


def _slots(rdata: dns.rdata.Rdata) -> dict[str, tuple[type, object]]:
    """
    Every attribute of C{rdata}, with its type; names by their exact labels. (The canonical
    form a L{KnownWire} record keeps is checked by L{_dnspythonClass}.)
    """
    values: dict[str, tuple[type, object]] = {}
    for slot in rdata._get_all_slots():
        if slot == "_wire" and isinstance(rdata, KnownWire):
            continue
        value = getattr(rdata, slot)
        if isinstance(value, dns.name.Name):
            value = value.labels
        values[slot] = (type(value), value)
    return values


def _rrsetFacts(rrset: dns.rrset.RRset) -> tuple[object, ...]:
    return (
        rrset.name.labels,
        rrset.ttl,
        rrset.rdclass,
        rrset.rdtype,
        rrset.covers,
        rrset.deleting,
        [(_dnspythonClass(rdata), _slots(rdata), rdata.to_wire()) for rdata in rrset],
    )


def assertSame(fast: dns.message.Message, slow: dns.message.Message) -> None:
    """
    Assert that C{fast} is C{slow} in every respect: header, sections RRset by RRset (owner
    spelling, TTL, types, rdata in order, attribute by attribute), index, EDNS.
    """
    assert type(fast) is type(slow)
    assert fast == slow
    assert fast.to_text() == slow.to_text()
    assert (fast.id, fast.flags, type(fast.flags)) == (slow.id, slow.flags, type(slow.flags))
    assert (fast.rcode(), fast.opcode()) == (slow.rcode(), slow.opcode())
    assert (fast.edns, fast.ednsflags, fast.payload) == (slow.edns, slow.ednsflags, slow.payload)
    assert [(type(o), o) for o in fast.options] == [(type(o), o) for o in slow.options]
    if slow.opt is None:
        assert fast.opt is None
    else:
        assert fast.opt is not None
        assert _rrsetFacts(fast.opt) == _rrsetFacts(slow.opt)
    for fastSection, slowSection in zip(fast.sections, slow.sections, strict=True):
        assert [_rrsetFacts(r) for r in fastSection] == [_rrsetFacts(r) for r in slowSection]

    def positions(message: dns.message.Message) -> dict[object, tuple[int, int]]:
        return {
            key: next(
                (number, i)
                for number, section in enumerate(message.sections)
                for i, candidate in enumerate(section)
                if candidate is rrset
            )
            for key, rrset in message.index.items()
        }

    assert positions(fast) == positions(slow)
    assert [tuple(map(type, key)) for key in fast.index] == [
        tuple(map(type, key)) for key in slow.index
    ]
    assert (fast.wire, fast.errors, fast.tsig, fast.origin) == (slow.wire, [], None, None)


def check(wire: bytes) -> bool:
    """
    The fast reader's invariant: it declines C{wire}, or dnspython reads C{wire} strictly to
    the same message. Return whether the fast reader read it.
    """
    try:
        fast = readMessage(wire)
    except Declined as e:
        assert not str(e).startswith(UNEXPECTED), e
        return False
    slow = dns.message.from_wire(wire, continue_on_error=True)
    assert dns.message.from_wire(wire) == slow  # no error dnspython would have skipped
    assertSame(fast, slow)
    return True


def _dnspythonOnly(wire: bytes) -> dns.message.Message:
    """
    L{parseMessage} as it was before the fast reader: always dnspython's path.
    """

    def decline(wire: bytes) -> dns.message.QueryMessage:
        raise Declined("test")

    with mock.patch.object(_parse, "readMessage", decline):
        return parseMessage(wire)


def assertParsesAsBefore(wire: bytes) -> None:
    """
    L{parseMessage} gives for C{wire} what dnspython's path alone gives: the same message,
    or the same exception with the same text.
    """
    try:
        before = _dnspythonOnly(wire)
    except Exception as e:
        with pytest.raises(type(e)) as raised:
            parseMessage(wire)
        assert str(raised.value) == str(e)
        return
    assertSame(parseMessage(wire), before)


# Hand-written messages.

_QNAME = b"\x03www\x07example\x04test\x00"  # at offset 12
_EXAMPLE_TEST = 12 + 4  # "example.test." inside the question name
_TO_QNAME = b"\xc0\x0c"
_OPT_RR = b"\x00" + struct.pack("!HHIH", 41, 1232, 0x8000, 0)
_SIG_TAIL = bytes.fromhex("0001 0d 03 0000012c 6a000000 69000000 1234")


def header(an: int = 0, ns: int = 0, ar: int = 0, qd: int = 1, flags: int = 0x8500) -> bytes:
    return struct.pack("!HHHHHH", 0xBEEF, flags, qd, an, ns, ar)


def rr(owner: bytes, rdtype: int, rdata: bytes, ttl: int = 300, rdclass: int = 1) -> bytes:
    return owner + struct.pack("!HHIH", rdtype, rdclass, ttl, len(rdata)) + rdata


def response(*answers: bytes, additional: tuple[bytes, ...] = (_OPT_RR,), qtype: int = 1) -> bytes:
    return (
        header(an=len(answers), ar=len(additional))
        + _QNAME
        + struct.pack("!HH", qtype, 1)
        + b"".join(answers)
        + b"".join(additional)
    )


def _rrsig(signer: bytes, covered: int = 1) -> bytes:
    return struct.pack("!H", covered) + _SIG_TAIL[2:] + signer + b"\x55" * 64


def _options() -> bytes:
    ede = struct.pack("!H", 6) + b"bad"
    return struct.pack("!HH", 15, len(ede)) + ede + struct.pack("!HH", 65001, 0)


#: Messages the fast reader reads (name, wire).
EDGE_CASES: list[tuple[str, bytes]] = [
    ("plain A answer", response(rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01"))),
    (
        # The second owner points at the first, which is itself a pointer.
        "pointer to a pointer",
        response(
            rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01"),
            rr(b"\xc0\x22", 1, b"\x7f\x00\x00\x02"),
        ),
    ),
    (
        "pointer into the question",
        response(rr(b"\x01a" + struct.pack("!H", 0xC000 | _EXAMPLE_TEST), 1, b"\x01\x02\x03\x04")),
    ),
    (
        "one RRset of owners spelt differently, TTL the smallest, duplicate dropped",
        response(
            rr(b"\x03WWW\x07example\x04test\x00", 1, b"\x7f\x00\x00\x01", ttl=600),
            rr(b"\x03www\x07EXAMPLE\x04TEST\x00", 1, b"\x7f\x00\x00\x02", ttl=60),
            rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01", ttl=30),
            rr(_TO_QNAME, 28, bytes(15) + b"\x01"),
        ),
    ),
    ("TTL with the top bit set", response(rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01", ttl=2**31))),
    (
        "RRSIG and its RRset, NSEC with a mixed-case next name",
        response(
            rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01"),
            rr(_TO_QNAME, 46, _rrsig(b"\x07ExAmPlE\x04test\x00")),
            rr(_TO_QNAME, 46, _rrsig(b"\x07example\x04test\x00", covered=28)),
            rr(_TO_QNAME, 47, b"\x01Z\x07example\x04test\x00" + bytes.fromhex("0006400000000003")),
        ),
    ),
    (
        "singleton types keep their last record",
        response(
            rr(_TO_QNAME, 5, b"\x01a\x00", ttl=100),
            rr(_TO_QNAME, 5, b"\x01b\x00", ttl=50),
        ),
    ),
    (
        "DNSKEY, DS of every digest length, unknown types and classes",
        response(
            rr(_TO_QNAME, 48, b"\x01\x01\x03\x0d" + b"\x11" * 64),
            rr(_TO_QNAME, 43, b"\x12\x34\x0d\x02" + b"\x22" * 32),
            rr(_TO_QNAME, 43, b"\x12\x34\x0d\x01" + b"\x22" * 20),
            rr(_TO_QNAME, 43, b"\x12\x34\xfe\x09" + b"\x22" * 3),
            rr(_TO_QNAME, 65280, b"\x00\x01"),
            rr(_TO_QNAME, 16, b"\x03abc", rdclass=3),
            rr(_TO_QNAME, 65280, b"\x00", rdclass=254),
        ),
    ),
    (
        "EDNS with an EDE option and an unknown option, extended RCODE",
        response(
            additional=(
                b"\x00" + struct.pack("!HHIH", 41, 4096, 0x01008000, len(_options())) + _options(),
            ),
        ),
    ),
    ("no EDNS", response(rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01"), additional=())),
    ("no question", header(qd=0)),
    (
        "two questions",
        header(qd=2) + _QNAME + b"\x00\x01\x00\x01" + _TO_QNAME + b"\x00\x01\x00\x01",
    ),
    (
        "the longest name",
        header(qd=1) + LONGEST_NAME_WIRE + b"\x00\x01\x00\x01",
    ),
]


def _pointerChain(hops: int) -> bytes:
    """
    A message whose last owner name is reached through C{hops} pointers, each owner pointing
    at the one before.
    """
    wire = header(an=hops, ar=0) + _QNAME + b"\x00\x01\x00\x01"
    owner = _TO_QNAME
    for _ in range(hops):
        offset = len(wire)
        wire += rr(owner, 1, b"\x7f\x00\x00\x01")
        owner = struct.pack("!H", 0xC000 | offset)
    return wire


#: Messages the fast reader declines, each for one reason (name, wire).
DECLINED: list[tuple[str, bytes]] = [
    ("short header", b"\x00" * 11),
    ("trailing bytes", response(rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01")) + b"\x00"),
    ("pointer loop", response(rr(b"\xc0\x22", 1, b"\x7f\x00\x00\x01"))),
    ("forward pointer", response(rr(b"\xc0\x40", 1, b"\x7f\x00\x00\x01"))),
    (
        # The owner points two bytes back, at a label (length 3, from the question's class)
        # that would run over the pointer itself.
        "pointer to a name running into the pointer",
        header(an=1, ar=0) + _QNAME + b"\x00\x01\x03\x01" + rr(b"\xc0\x20", 1, b"\x7f\x00\x00\x01"),
    ),
    ("label type 01", response(rr(b"\x40" + b"a" * 64 + b"\x00", 1, b"\x7f\x00\x00\x01"))),
    ("name past 255", header(qd=1) + (b"\x3f" + b"a" * 63) * 4 + b"\x00\x00\x01\x00\x01"),
    ("pointers more than 16", _pointerChain(17)),
    ("truncated record", response(rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01"))[:-8]),
    ("rdata past the end", response(rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01"))[:-13]),
    ("counts beyond the records", header(an=3) + _QNAME + b"\x00\x01\x00\x01"),
    ("two OPT records", response(additional=(_OPT_RR, _OPT_RR))),
    ("OPT in the answer", response(_OPT_RR, additional=())),
    ("OPT with an owner", response(additional=(b"\x01a" + _OPT_RR,))),
    ("A of five bytes", response(rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01\x00"))),
    ("malformed TLSA", response(rr(_TO_QNAME, 52, b"\x03\x01\x01" + b"\x22" * 31), qtype=52)),
    ("compressed RRSIG signer", response(rr(_TO_QNAME, 46, _rrsig(_TO_QNAME)))),
    ("RRSIG too short", response(rr(_TO_QNAME, 46, _SIG_TAIL[:10]))),
    ("DS digest length", response(rr(_TO_QNAME, 43, b"\x12\x34\x0d\x02" + b"\x22" * 31))),
    ("DS digest type 0", response(rr(_TO_QNAME, 43, b"\x12\x34\x0d\x00" + b"\x22"))),
    ("NSEC bitmap", response(rr(_TO_QNAME, 47, b"\x00\x00\x21" + b"\x01" * 33))),
    ("SIG(0)", response(additional=(rr(b"\x00", 24, _rrsig(b"\x00", covered=0)),))),
    ("opcode NOTIFY", header(flags=0xA400) + _QNAME + b"\x00\x06\x00\x01"),
    ("opcode UPDATE", header(flags=0xA800) + _QNAME + b"\x00\x06\x00\x01"),
]


def _tsigSigned() -> bytes:
    keyring = dns.tsigkeyring.from_text({"key.": "c2VjcmV0c2VjcmV0"})
    query = dns.message.make_query("www.example.test.", "A")
    query.use_tsig(keyring, keyname="key.")
    return query.to_wire()


DECLINED.append(("TSIG", _tsigSigned()))


class TestEdgeCases:
    @pytest.mark.parametrize("why,wire", EDGE_CASES)
    def test_read(self, why: str, wire: bytes) -> None:
        """
        Compression edge cases, grouping, EDNS and unusual but valid types: read, and read
        as dnspython reads them.
        """
        assert check(wire), why
        assertParsesAsBefore(wire)

    def test_edeOption(self) -> None:
        """
        EDNS options come out as dnspython's option classes.
        """
        message = readMessage(
            dict(EDGE_CASES)["EDNS with an EDE option and an unknown option, extended RCODE"]
        )
        assert isinstance(message.options[0], dns.edns.EDEOption)
        assert message.rcode() == dns.rcode.BADVERS

    def test_sixteenPointers(self) -> None:
        """
        A name may be reached through sixteen pointers, as dnspython allows, and no more.
        """
        assert check(_pointerChain(16))

    @pytest.mark.parametrize("why,wire", DECLINED)
    def test_declined(self, why: str, wire: bytes) -> None:
        """
        Each unusual or malformed message is left to dnspython, and L{parseMessage} gives
        what it gave before: the same message, or the same error.
        """
        with pytest.raises(Declined) as declined:
            readMessage(wire)
        assert not str(declined.value).startswith(UNEXPECTED)
        assertParsesAsBefore(wire)

    def test_malformedTLSARecovered(self) -> None:
        """
        A TLSA record of the wrong length, declined by the fast reader, is still kept as a
        L{MalformedTLSA} by the path it falls back to.
        """
        wire = dict(DECLINED)["malformed TLSA"]
        (rdata,) = parseMessage(wire).answer[0]
        assert isinstance(rdata, MalformedTLSA)

    def test_payloadSizesKept(self) -> None:
        """
        The payload sizes of OPT records are kept as dnspython's class members, only the first
        L{_records._KEPT_PAYLOADS} of them: a server that advertises a new size in each
        response adds nothing past the bound, and every size is still read as dnspython reads
        it.
        """
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.setattr(_records, "_PAYLOADS", {})
        try:
            for payload in range(1000, 1000 + 2 * _records._KEPT_PAYLOADS):
                opt = b"\x00" + struct.pack("!HHIH", 41, payload, 0x8000, 0)
                wire = response(rr(_TO_QNAME, 1, b"\x7f\x00\x00\x01"), additional=(opt,))
                assert check(wire)
                assert readMessage(wire).payload == payload
            assert len(_records._PAYLOADS) == _records._KEPT_PAYLOADS
        finally:
            monkeypatch.undo()

    def test_questionOnly(self) -> None:
        """
        Reading the question only is dnspython's, as before.
        """
        wire = dict(EDGE_CASES)["pointer to a pointer"]
        with mock.patch.object(_parse, "readMessage") as fast:
            parsed = parseMessage(wire, questionOnly=True)
        fast.assert_not_called()
        assert parsed == dns.message.from_wire(wire, question_only=True)

    def test_notBytes(self) -> None:
        """
        Only C{bytes} are read fast.
        """
        with pytest.raises(Declined):
            readMessage(bytearray(EDGE_CASES[0][1]))  # type: ignore[arg-type]


# The answers of the project's own server.

_ZONES = ["example.test.", "nsec3.test.", "optout.test.", "unsigned.test.", "test.", "."]


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy(extraRecords={"example.test.": _EXTRA, "nsec3.test.": _EXTRA})


def serverAnswers(hierarchy: Hierarchy) -> Iterator[bytes]:
    """
    The server's answers over the hierarchy for many questions: the fast path's and the
    message-level path's (positive, NXDOMAIN, NODATA, NSEC and NSEC3, wildcards, CNAME,
    DNAME, DS, DNSKEY, TLSA, referrals), with and without DO, truncated for small payloads.
    """
    responder = Responder(ZoneStore(hierarchy.zones.values()), cacheSize=0)
    questions = [(name, rdtype) for name, rdtype, _ in ORDINARY + SLOW]
    chosen = random.Random(53)
    for zone in _ZONES:
        for label in LABELS:
            prefix = "" if label == "*" else f"{label}."
            for rdtype in chosen.sample(TYPES, 4):
                questions.append((prefix + ("" if zone == "." else zone) or ".", rdtype))
    for name, rdtype in questions:
        for dnssec, payload, tcp in ((True, 1232, False), (False, 1232, True), (True, 512, False)):
            data = query(name, rdtype, dnssec=dnssec, payload=payload, flags=dns.flags.CD)
            wire = responder.respondWire(data, tcp=tcp)
            if wire is not None:
                yield wire


def test_serverAnswers(hierarchy: Hierarchy) -> None:
    """
    Every answer the server gives is read, as dnspython reads it.
    """
    wires = list(serverAnswers(hierarchy))
    assert len(wires) > 1000
    truncated = 0
    for wire in wires:
        assert check(wire), dns.message.from_wire(wire).to_text()
        truncated += bool(wire[2] & 0x02)
    assert truncated


def test_keptFormsBehaveAsDnspythons(hierarchy: Hierarchy) -> None:
    """
    The records read with their canonical form kept (L{KnownWire}) behave as dnspython's own:
    equal both ways to the same record dnspython read, of a subclass of its class, the same
    hash, and a copy, a pickled copy and a C{replace()} still equal with the same hash. Every
    kind the reader makes is among them.
    """
    import copy
    import pickle

    kinds: set[type] = set()
    for wire in serverAnswers(hierarchy):
        fast, slow = readMessage(wire), dns.message.from_wire(wire)
        for fastSection, slowSection in zip(fast.sections, slow.sections, strict=True):
            for fastRRset, slowRRset in zip(fastSection, slowSection, strict=True):
                for made, plain in zip(fastRRset, slowRRset, strict=True):
                    if not isinstance(made, KnownWire):
                        continue
                    kinds.add(type(made))
                    assert isinstance(made, type(plain))
                    assert made == plain and plain == made and hash(made) == hash(plain)
                    for again in (copy.copy(made), pickle.loads(pickle.dumps(made))):
                        assert again == plain and hash(again) == hash(plain)
                    replaced = made.replace()
                    assert replaced == plain and hash(replaced) == hash(plain)
    assert {k.__name__ for k in kinds} == {
        "_ReadA",
        "_ReadAAAA",
        "_ReadRRSIG",
        "_ReadDNSKEY",
        "_ReadDS",
        "_ReadNSEC",
    }


def test_mutatedServerAnswers(hierarchy: Hierarchy) -> None:
    """
    A server's answer with one byte changed is read as dnspython reads it, or declined:
    never read where dnspython refuses it, never read differently.
    """
    chosen = random.Random(1035)
    wires = list(serverAnswers(hierarchy))
    read = declined = 0
    for wire in chosen.sample(wires, 300):
        for _ in range(10):
            mutated = bytearray(wire)
            mutated[chosen.randrange(len(wire))] = chosen.randrange(256)
            if _mutatedOnce(bytes(mutated)):
                read += 1
            else:
                declined += 1
    assert read > 100 and declined > 100


def _mutatedOnce(wire: bytes) -> bool:
    try:
        dns.message.from_wire(wire)
    except _PARSE_ERRORS:
        try:
            readMessage(wire)
        except Declined as e:
            assert not str(e).startswith(UNEXPECTED), e
            return False
        raise AssertionError("read a message dnspython refuses") from None
    return check(wire)


# Generated messages.


@_SETTINGS
@given(st.lists(records, max_size=10), st.booleans())
def test_generatedMessages(
    entries: list[tuple[str, dns.name.Name, int, tuple[str, str]]], dnssec: bool
) -> None:
    """
    Messages dnspython wrote are read as dnspython reads them (or declined only for a
    TLSA record of the wrong length).
    """
    wire = _message(entries, dnssec)
    if not check(wire):
        assert any(rdtype == "TLSA" for _, _, _, (rdtype, _) in entries)
    assertParsesAsBefore(wire)


@_SETTINGS
@given(
    st.sampled_from([wire for _, wire in EDGE_CASES + DECLINED]),
    st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutatedMessages(wire: bytes, edits: list[tuple[int, int]]) -> None:
    """
    The hand-written messages with bytes overwritten: read as dnspython reads them, or
    declined; and L{parseMessage} gives what it gave before.
    """
    mutated = bytearray(wire)
    for position, value in edits:
        mutated[position % len(mutated)] = value
    _mutatedOnce(bytes(mutated))
    assertParsesAsBefore(bytes(mutated))


def test_unexpectedError() -> None:
    """
    An exception the reader does not expect (here, from an rdata class) declines the message
    with a reason saying so, and L{parseMessage} leaves it to dnspython.
    """
    wire = dict(EDGE_CASES)["plain A answer"]
    with mock.patch.object(dns.rrset.RRset, "__init__", side_effect=KeyError("boom")):
        with pytest.raises(Declined, match=r"^unexpected: KeyError"):
            readMessage(wire)
    with mock.patch.object(_parse, "readMessage", side_effect=Declined(UNEXPECTED)):
        assertSame(parseMessage(wire), dns.message.from_wire(wire))

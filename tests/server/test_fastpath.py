"""
Tests for L{txdane.server.fastpath}: the answers built from pre-rendered wire pieces are the
very bytes the message-level path gives, for every kind of question, and the fast path really
answers the ordinary ones.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.update
import dns.zone
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.test_update import TLSA, TLSA2, makeSetup, signedUpdate
from tests.support import LONGEST_NAME_WIRE
from txdane.server import zones
from txdane.server.fastpath import canonicalKey, wireKey
from txdane.server.responder import Responder
from txdane.server.signing import nsec3Label, nsec3LabelToBytes
from txdane.server.zones import ZoneStore
from txdane.testing import Hierarchy, buildHierarchy

N = dns.name.from_text
#: The TLSA record of the updated zone before the update.
TLSA0 = "3 1 1 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899"

#: Records added to the hierarchy's leaf zones: a wildcard CNAME, a wildcard that is only an
#: empty non-terminal, empty non-terminals, mixed-case owners, a multi-record RRset, an RRset
#: too large for small payloads, delegations with DS and without, with glue.
_EXTRA = [
    "*.wc 300 IN CNAME www",
    "x.*.went 300 IN A 127.0.0.1",
    "a.b.c.deep 300 IN A 127.0.0.1",
    "MiXeD.Case 300 IN A 127.0.0.9",
    "multi 300 IN A 127.0.0.10",
    "multi 300 IN A 127.0.0.11",
    "multi 300 IN A 127.0.0.12",
    "multi 300 IN MX 10 mx",
    "multi 300 IN MX 20 mail.elsewhere.test.",
    "ptr 300 IN PTR www",
    *(f'big 300 IN TXT "{i:02d}{"x" * 200}"' for i in range(8)),
    "sub 300 IN NS ns.sub",
    "ns.sub 300 IN A 127.0.0.8",
    "secure 300 IN NS ns1.test.",
    "secure 300 IN DS 12345 13 2 " + "ab" * 32,
]

LABELS = ["www", "WWW", "_tcp", "_443", "wild", "wc", "went", "deep", "c", "b", "a", "x"]
LABELS += ["mixed", "MIXED", "case", "multi", "big", "sub", "ns", "secure", "alias", "alias2"]
LABELS += ["redirect", "nodata", "mx", "ssh", "ptr", "nx", "*", "zz", "0", "insecure", "Nx"]
ZONES = ["example.test.", "nsec3.test.", "optout.test.", "unsigned.test.", "test.", "."]
ZONES += ["ExAmPlE.TeSt.", "elsewhere."]
TYPES = ["A", "AAAA", "TXT", "MX", "NS", "SOA", "DS", "DNSKEY", "TLSA", "CNAME", "NSEC"]
TYPES += ["NSEC3", "NSEC3PARAM", "PTR", "SRV", "SSHFP", "DNAME", "ANY", "RRSIG", "TYPE65280"]


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy(extraRecords={"example.test.": _EXTRA, "nsec3.test.": _EXTRA})


def responders(hierarchy: Hierarchy) -> tuple[Responder, Responder]:
    """
    A responder with the fast path and one without, on the same zones, neither caching.
    """
    fast = Responder(ZoneStore(hierarchy.zones.values()), cacheSize=0)
    slow = Responder(ZoneStore(hierarchy.zones.values()), cacheSize=0, fastPath=False)
    return fast, slow


def describe(wire: bytes | None) -> str:
    if wire is None:
        return "no answer"
    try:
        return dns.message.from_wire(wire).to_text()
    except Exception as e:
        return f"{wire!r} ({e})"


def compare(fast: Responder, slow: Responder, data: bytes, tcp: bool = False) -> bool:
    """
    Assert that both responders answer C{data} with the same bytes (each RRset shuffled the
    same way); return whether the fast path gave the answer.
    """
    before = fast.fastAnswers
    random.seed(data)
    fastWire = fast.respondWire(data, tcp=tcp)
    random.seed(data)
    slowWire = slow.respondWire(data, tcp=tcp)
    assert fastWire == slowWire, f"fast:\n{describe(fastWire)}\n\nslow:\n{describe(slowWire)}"
    return fast.fastAnswers > before


def query(
    name: str,
    rdtype: str,
    *,
    dnssec: bool = True,
    edns: bool = True,
    payload: int = 1232,
    flags: int = dns.flags.RD,
) -> bytes:
    message = dns.message.make_query(
        name, rdtype, use_edns=0 if edns else False, want_dnssec=dnssec and edns, payload=payload
    )
    message.flags = flags
    message.id = 0x1234
    return message.to_wire()


#: Questions answered by the fast path: (name, type, what it exercises).
ORDINARY = [
    ("www.example.test.", "A", "positive"),
    ("WwW.ExAmPlE.tEsT.", "AAAA", "positive, mixed case"),
    ("_443._tcp.www.example.test.", "TLSA", "positive TLSA"),
    ("example.test.", "SOA", "the apex"),
    ("example.test.", "DNSKEY", "the apex's keys"),
    ("example.test.", "NS", "the apex's name servers (compressed data)"),
    ("example.test.", "MX", "compressed data"),
    ("multi.example.test.", "A", "several records"),
    ("multi.example.test.", "MX", "several records with names"),
    ("mixed.case.example.test.", "A", "owner in mixed case in the zone"),
    ("nodata.example.test.", "TXT", "NODATA"),
    ("_tcp.www.example.test.", "A", "empty non-terminal"),
    ("nx.example.test.", "A", "NXDOMAIN, NSEC"),
    ("a.nx.deep.example.test.", "A", "NXDOMAIN below an empty non-terminal"),
    ("host.wild.example.test.", "A", "wildcard, NSEC"),
    ("a.b.wild.example.test.", "TXT", "wildcard two labels down"),
    ("host.wild.example.test.", "MX", "wildcard NODATA, NSEC"),
    ("y.went.example.test.", "A", "wildcard that is an empty non-terminal"),
    ("wc.example.test.", "A", "empty non-terminal above a wildcard"),
    ("www.nsec3.test.", "A", "positive in an NSEC3 zone"),
    ("nodata.nsec3.test.", "TXT", "NODATA, NSEC3"),
    ("nx.nsec3.test.", "A", "NXDOMAIN, NSEC3"),
    ("x.y.deep.nsec3.test.", "A", "NXDOMAIN, NSEC3, below an empty non-terminal"),
    ("host.wild.nsec3.test.", "A", "wildcard, NSEC3"),
    ("host.wild.nsec3.test.", "SSHFP", "wildcard NODATA, NSEC3"),
    ("nx.optout.test.", "A", "NXDOMAIN in an opt-out zone"),
    ("www.optout.test.", "TLSA", "NODATA in an opt-out zone"),
    ("www.unsigned.test.", "A", "unsigned zone"),
    ("nx.unsigned.test.", "A", "unsigned zone, NXDOMAIN"),
    ("example.test.", "DS", "DS from the parent"),
    ("unsigned.test.", "DS", "no DS, from the parent"),
    ("secure.example.test.", "DS", "DS at a cut"),
    (".", "DNSKEY", "the root"),
    (".", "DS", "DS of the root, from the root"),
    ("nowhere.", "A", "outside every zone"),
]

#: Questions left to the message-level path.
SLOW = [
    ("alias.example.test.", "A", "CNAME chain"),
    ("foo.wc.example.test.", "A", "wildcard CNAME"),
    ("x.redirect.example.test.", "A", "DNAME"),
    ("sub.example.test.", "A", "referral without DS, with glue"),
    ("host.secure.example.test.", "A", "referral with DS"),
    ("www.example.test.", "ANY", "ANY"),
    ("www.example.test.", "RRSIG", "RRSIG"),
    ("example.test.", "AXFR", "transfer"),
]


class TestEquivalence:
    @pytest.mark.parametrize("name,rdtype,why", ORDINARY)
    def test_ordinary(self, hierarchy: Hierarchy, name: str, rdtype: str, why: str) -> None:
        """
        Ordinary questions are answered by the fast path, with and without DO, with and
        without EDNS, over UDP and TCP, and the answer is byte for byte the slow path's.
        """
        fast, slow = responders(hierarchy)
        for dnssec, edns in ((True, True), (False, True), (False, False)):
            for tcp in (False, True):
                data = query(name, rdtype, dnssec=dnssec, edns=edns, flags=dns.flags.CD)
                assert compare(fast, slow, data, tcp), (why, dnssec, edns, tcp)

    @pytest.mark.parametrize("name,rdtype,why", SLOW)
    def test_slow(self, hierarchy: Hierarchy, name: str, rdtype: str, why: str) -> None:
        """
        Referrals, chains, ANY, RRSIG and transfer questions go the message-level way.
        """
        fast, slow = responders(hierarchy)
        for dnssec in (True, False):
            assert not compare(fast, slow, query(name, rdtype, dnssec=dnssec)), why

    def test_truncation(self, hierarchy: Hierarchy) -> None:
        """
        An answer larger than the client's payload is left to the message-level path, which
        truncates it; over TCP, or with a payload large enough, the fast path gives it.
        """
        fast, slow = responders(hierarchy)
        for payload in (512, 600, 1232):
            data = query("big.example.test.", "TXT", payload=payload)
            assert not compare(fast, slow, data)
            response = dns.message.from_wire(slow.respondWire(data) or b"")
            assert response.flags & dns.flags.TC
        assert not compare(fast, slow, query("big.example.test.", "TXT", edns=False))
        assert compare(fast, slow, query("big.example.test.", "TXT"), tcp=True)
        fast.maxUDPPayload = slow.maxUDPPayload = 4096
        assert compare(fast, slow, query("big.example.test.", "TXT", payload=4096))
        assert compare(fast, slow, query("big.example.test.", "TXT", payload=8192))
        # A payload under 512 counts as 512.
        assert compare(fast, slow, query("www.example.test.", "A", payload=100))

    def test_flags(self, hierarchy: Hierarchy) -> None:
        """
        RD and CD are copied, other header bits are not, however they are set in the query.
        """
        fast, slow = responders(hierarchy)
        for flags in (0, dns.flags.RD, dns.flags.CD, dns.flags.AD, 0x06FF & ~0x7800):
            for name in ("www.example.test.", "nx.example.test."):
                assert compare(fast, slow, query(name, "A", flags=flags))

    def test_everyName(self, hierarchy: Hierarchy) -> None:
        """
        Every owner name of the zones and a name below each, with a few types: the same
        answers; most of them come from the fast path.
        """
        fast, slow = responders(hierarchy)
        asked = answered = 0
        for zone in hierarchy.zones.values():
            for name in zone.nodes:
                below = dns.name.Name((b"below", *name.labels))
                for text in (name.to_text(), below.to_text()):
                    for rdtype in ("A", "TXT", "NSEC", "NSEC3"):
                        asked += 1
                        answered += compare(fast, slow, query(text, rdtype))
        assert answered > asked * 0.7

    def test_optionsParsed(self, hierarchy: Hierarchy) -> None:
        """
        EDNS options that parse (a cookie, padding, NSID) leave the query on the fast path;
        the answer is the same as ever (no padding, no options echoed).
        """
        fast, slow = responders(hierarchy)
        choices: list[list[dns.edns.Option]] = [
            [dns.edns.CookieOption(b"12345678", b"")],
            [dns.edns.GenericOption(dns.edns.OptionType.PADDING, b"\x00" * 20)],
            [dns.edns.GenericOption(dns.edns.OptionType.NSID, b"")],
            [dns.edns.GenericOption(dns.edns.OptionType.make(65001), b"abc")],
        ]
        for options in choices:
            message = dns.message.make_query(
                "www.example.test.", "A", want_dnssec=True, options=options
            )
            assert compare(fast, slow, message.to_wire())


def rawQuery(
    name: bytes = b"\x03www\x07example\x04test\x00",
    rdtype: int = 1,
    rdclass: int = 1,
    *,
    flags: int = 0x0100,
    counts: tuple[int, int, int, int] = (1, 0, 0, 1),
    tail: bytes = b"\x00\x00\x29\x04\xd0\x00\x00\x80\x00\x00\x00",
) -> bytes:
    return (
        struct.pack("!HHHHHH", 0xBEEF, flags, *counts)
        + name
        + struct.pack("!HH", rdtype, rdclass)
        + tail
    )


_OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x80\x00"


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("!HH", code, len(value)) + value


MALFORMED = {
    "truncated name": rawQuery(name=b"\x03www\x07exam", tail=b"", counts=(1, 0, 0, 0))[:-4],
    "label runs past the end": b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x05ab",
    "no question type": b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00",
    "label length 64": rawQuery(name=b"\x40" + b"a" * 64 + b"\x00"),
    "label type 0x80": rawQuery(name=b"\x81a\x00"),
    "pointer in question": rawQuery(name=b"\x03www\xc0\x0c"),
    "pointer forward": rawQuery(name=b"\x03www\xc0\x20"),
    "name of 256 bytes": rawQuery(
        name=b"\x3f"
        + b"a" * 63
        + b"\x3f"
        + b"b" * 63
        + b"\x3f"
        + b"c" * 63
        + b"\x3f"
        + b"d" * 63
        + b"\x00"
    ),
    "name of 255 bytes": rawQuery(name=LONGEST_NAME_WIRE),
    "trailing bytes": rawQuery() + b"\x00",
    "trailing bytes without EDNS": rawQuery(counts=(1, 0, 0, 0), tail=b"junk"),
    "OPT in the answer section": rawQuery(counts=(1, 1, 0, 0)),
    "OPT in the authority section": rawQuery(counts=(1, 0, 1, 0)),
    "two OPTs": rawQuery(counts=(1, 0, 0, 2), tail=_OPT + b"\x00\x00" + _OPT + b"\x00\x00"),
    "OPT missing": rawQuery(tail=b""),
    "OPT cut short": rawQuery(tail=_OPT),
    "OPT owner not the root": rawQuery(tail=b"\x01a\x00" + _OPT[1:] + b"\x00\x00"),
    "EDNS version 1": rawQuery(tail=b"\x00\x00\x29\x04\xd0\x00\x01\x80\x00\x00\x00"),
    "extended rcode": rawQuery(tail=b"\x00\x00\x29\x04\xd0\x01\x00\x80\x00\x00\x00"),
    "option cut short": rawQuery(tail=_OPT + b"\x00\x03\x00\x0a\x00"),
    "option longer than the record": rawQuery(tail=_OPT + b"\x00\x04" + _option(10, b"12345678")),
    "malformed client subnet": rawQuery(tail=_OPT + b"\x00\x06" + _option(8, b"\x00\x09")),
    "cookie too short": rawQuery(tail=_OPT + b"\x00\x08" + _option(10, b"1234")),
    "TSIG in the additional section": rawQuery(tail=b"\x00\x00\xfa\x00\xff" + b"\x00" * 6),
    "another record type": rawQuery(tail=b"\x00\x00\x01\x00\x01" + b"\x00" * 6),
    "no question": rawQuery(counts=(0, 0, 0, 1), name=b"", tail=b"")[:-4] + _OPT + b"\x00\x00",
    "two questions": rawQuery(counts=(2, 0, 0, 0), tail=b"\x01a\x00\x00\x01\x00\x01"),
    "opcode NOTIFY": rawQuery(flags=0x2000),
    "opcode STATUS": rawQuery(flags=0x1000),
    "class CH": rawQuery(rdclass=3),
    "class ANY": rawQuery(rdclass=255),
    "type ANY": rawQuery(rdtype=255),
    "type AXFR": rawQuery(rdtype=252),
    "type MAILB": rawQuery(rdtype=253),
    "type OPT": rawQuery(rdtype=41),
    "type 0": rawQuery(rdtype=0),
    "type TKEY": rawQuery(rdtype=249),
    "response": rawQuery(flags=0x8000),
    "header only": rawQuery()[:12],
    "runt": b"\xbe\xef\x01",
}


class TestMalformed:
    @pytest.mark.parametrize("why", sorted(MALFORMED))
    def test_sameAsBefore(self, hierarchy: Hierarchy, why: str) -> None:
        """
        Malformed and unusual queries get exactly the answer the message-level path gives
        (FORMERR, NOTIMP, BADVERS, REFUSED, or none), over UDP and TCP.
        """
        fast, slow = responders(hierarchy)
        for tcp in (False, True):
            compare(fast, slow, MALFORMED[why], tcp)

    def test_wellFormedTwinsAnsweredFast(self, hierarchy: Hierarchy) -> None:
        """
        The raw queries the malformed ones are made from are themselves answered fast, so the
        cases above do test the fast path's checks.
        """
        fast, slow = responders(hierarchy)
        assert compare(fast, slow, rawQuery())
        assert compare(fast, slow, rawQuery(counts=(1, 0, 0, 0), tail=b""))
        assert compare(fast, slow, rawQuery(tail=_OPT + b"\x00\x0c" + _option(10, b"12345678")))


questions = st.tuples(
    st.lists(st.sampled_from(LABELS), min_size=0, max_size=4),
    st.sampled_from(ZONES),
    st.sampled_from(TYPES),
    st.sampled_from([(True, True), (False, True), (False, False)]),
    st.sampled_from([512, 1232, 4096]),
    st.booleans(),
)


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(questions)
def test_randomQuestions(
    hierarchy: Hierarchy,
    question: tuple[list[str], str, str, tuple[bool, bool], int, bool],
) -> None:
    """
    Any question about names in and around the zones gets the same bytes from both paths.
    """
    labels, zone, rdtype, (dnssec, edns), payload, tcp = question
    name = dns.name.Name([label.encode() for label in labels]).concatenate(N(zone))
    fast, slow = responders(hierarchy)
    data = query(name.to_text(), rdtype, dnssec=dnssec, edns=edns, payload=payload)
    compare(fast, slow, data, tcp)


class TestWireZone:
    def test_canonicalOrder(self) -> None:
        """
        The sort keys order names as dnspython (and RFC 4034) does.
        """
        names = [N(t) for t in ("a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "*.z.example.")]
        names += [N(t) for t in ("example.", "\\001.z.example.", "yljkjljk.a.example.", ".")]
        names += [N(t) for t in ("z.example.", "\\200.z.example.", "*.a.example.", "A.example.")]
        names += [N(t) for t in ("\\000.z.example.", "\\000\\001.z.example.", "\\002.z.example.")]
        names += [
            N(t) for t in ("a\\000.example.", "a\\001.example.", "ab.example.", "b.ab.example.")
        ]
        assert sorted(names, key=lambda n: canonicalKey(wireKey(n))) == sorted(names)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.lists(st.binary(min_size=1, max_size=4), min_size=0, max_size=4),
            min_size=2,
            max_size=12,
        )
    )
    def test_canonicalOrderOfAnyNames(self, labelLists: list[list[bytes]]) -> None:
        """
        Any names, whatever bytes their labels hold (0 and 1 among them), sort by their keys
        as they do in canonical order.
        """
        names = [dns.name.Name([*labels, b""]) for labels in labelLists]
        keys = {n: canonicalKey(wireKey(n)) for n in names}
        for a in names:
            for b in names:
                assert (keys[a] < keys[b]) == (a < b), (a, b)

    def test_nsec3Hash(self, hierarchy: Hierarchy) -> None:
        """
        The NSEC3 hash of a name's wire key is dnspython's.
        """
        zone = ZoneStore(hierarchy.zones.values()).get(N("nsec3.test."))
        assert zone is not None and zone.nsec3 is not None
        for text in ("nsec3.test.", "WWW.nsec3.test.", "a.b.c.nsec3.test."):
            name = N(text)
            expected = nsec3LabelToBytes(nsec3Label(name, zone.nsec3.salt, zone.nsec3.iterations))
            assert zone.wire._hash(wireKey(name)) == expected

    def test_bounded(self, hierarchy: Hierarchy) -> None:
        """
        Whatever names are asked about, the rendered nodes and the remembered hashes are the
        zone's own, no more.
        """
        fast, _ = responders(hierarchy)
        for i in range(300):
            for zone in ("example.test.", "nsec3.test."):
                fast.respondWire(query(f"n{i}.x{i}.{zone}", "A"))
                fast.respondWire(query(f"n{i}.wild.{zone}", f"TYPE{1000 + i}"))
        for origin in ("example.test.", "nsec3.test."):
            index = fast.store.get(N(origin))
            assert index is not None
            assert set(index.wire._rendered) <= {wireKey(n) for n in index.zone.nodes}
            assert set(index.wire._hashCache) <= {wireKey(n) for n in index.existing}

    def test_renderedWhenLoaded(self, hierarchy: Hierarchy) -> None:
        """
        A zone is rendered whole when it is indexed, negative answers' SOA included, so that
        no answer pays for rendering.
        """
        index = ZoneStore(hierarchy.zones.values()).get(N("example.test."))
        assert index is not None
        assert set(index.wire._rendered) == {wireKey(n) for n in index.zone.nodes}
        assert index.wire._negativeSOA is not None

    def test_wholeAnswer(self, hierarchy: Hierarchy) -> None:
        """
        An RRset that is a whole answer is written once, with or without its signatures, and
        its bytes used for every question it answers; not when its records hold names to
        compress or are several (which are shuffled anew for each answer).
        """
        fast, slow = responders(hierarchy)
        index = fast.store.get(N("example.test."))
        assert index is not None
        node = index.wire._node(wireKey(N("www.example.test.")))
        assert node is not None
        a = node.rrsets[dns.rdatatype.A]
        signed, plain = a.wholeAnswer(True), a.wholeAnswer(False)
        assert signed is not None and plain is not None and plain != signed
        assert a.wholeAnswer(True) is signed
        for data, whole in [
            (query("www.example.test.", "A"), signed),
            (query("WwW.example.test.", "A", dnssec=False), plain),
        ]:
            assert compare(fast, slow, data)
            answer = fast.respondWire(data)
            assert answer is not None and whole in answer
        multi = index.wire._node(wireKey(N("multi.example.test.")))
        assert multi is not None
        assert multi.rrsets[dns.rdatatype.A].wholeAnswer(False) is None
        assert multi.rrsets[dns.rdatatype.MX].wholeAnswer(False) is None

    def test_largeZoneRenderedWhenAsked(
        self, hierarchy: Hierarchy, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        A zone of more than L{PRERENDERED_NAMES} names is rendered a name at a time, as names
        are asked about, with the same answers.
        """
        monkeypatch.setattr(zones, "PRERENDERED_NAMES", 5)
        fast = Responder(ZoneStore(hierarchy.zones.values()), cacheSize=0)
        slow = Responder(ZoneStore(hierarchy.zones.values()), cacheSize=0, fastPath=False)
        index = fast.store.get(N("example.test."))
        assert index is not None and index.wire._rendered == {}
        for name, rdtype in [("www", "A"), ("nx", "A"), ("x.wild", "A"), ("www", "TXT")]:
            assert compare(fast, slow, query(f"{name}.example.test.", rdtype))
        assert wireKey(N("www.example.test.")) in index.wire._rendered
        assert 0 < len(index.wire._rendered) < len(index.zone.nodes)
        assert fast.fastAnswers == 4


def _answerData(wire: bytes | None, rdtype: int = dns.rdatatype.A) -> set[str]:
    assert wire is not None
    response = dns.message.from_wire(wire)
    return {r.to_text() for rrset in response.answer for r in rrset if rrset.rdtype == rdtype}


class TestChanges:
    def test_update(self, tmp_path: Path) -> None:
        """
        After a dynamic update the fast path answers the new data (and the new denial of
        existence), never pieces rendered before it.
        """
        setup = makeSetup(tmp_path)
        tlsa = query("_443._tcp.www.zone.test.", "TLSA")
        new = query("_25._tcp.new.zone.test.", "TLSA")
        assert _answerData(setup.responder.respondWire(tlsa), dns.rdatatype.TLSA) == {TLSA0}
        nx = dns.message.from_wire(setup.responder.respondWire(new) or b"")
        assert nx.rcode() == dns.rcode.NXDOMAIN
        assert setup.responder.fastAnswers == 2
        update = signedUpdate()
        update.replace("_443._tcp.www", 300, "TLSA", TLSA)
        update.add("_25._tcp.new", 300, "TLSA", TLSA2)
        assert setup.update(update).rcode() == dns.rcode.NOERROR
        assert _answerData(setup.responder.respondWire(tlsa), dns.rdatatype.TLSA) == {TLSA}
        assert _answerData(setup.responder.respondWire(new), dns.rdatatype.TLSA) == {TLSA2}
        assert setup.responder.fastAnswers == 2
        fast = Responder(setup.responder.store, cacheSize=0)
        slow = Responder(setup.responder.store, fastPath=False, cacheSize=0)
        for data in (tlsa, new, query("nx.zone.test.", "A"), query("www.zone.test.", "TXT")):
            assert compare(fast, slow, data)

    def test_clearCacheForgetsPieces(self, hierarchy: Hierarchy) -> None:
        """
        A zone changed in place is answered anew after L{Responder.clearCache}.
        """
        zone = dns.zone.from_text(
            "@ 300 IN SOA ns hostmaster 1 2 3 4 5\n@ 300 IN NS ns\nns 300 IN A 127.0.0.1\n",
            N("change.test."),
            relativize=False,
        )
        responder = Responder(ZoneStore([zone]))
        data = query("ns.change.test.", "A")
        assert _answerData(responder.respondWire(data)) == {"127.0.0.1"}
        rdataset = zone.find_rdataset(N("ns.change.test."), dns.rdatatype.A)
        rdataset.clear()
        rdataset.add(dns.rdata.from_text("IN", "A", "127.0.0.2"), 300)
        responder.clearCache()
        assert _answerData(responder.respondWire(data)) == {"127.0.0.2"}
        assert responder.fastAnswers == 2

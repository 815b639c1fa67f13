"""
Costs a hostile zone controls, each driven to its worst case and counted: the work of one
lookup grows at most linearly with what a response carries, and every bound holds whatever
the zone publishes.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import dns.dnssec
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from dns.dnssecalgs.rsa import PublicRSA
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.MX import MX
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from tests.validation.fakes import (
    EngineQuerier,
    countCalls,
    makeResolver,
    memoryGrowth,
    resolve,
)
from tests.validation.test_hostile import uncachedServer
from tests.validation.zonekit import NOW, Key, TableQuerier, keyset, n, rrset, sigset
from txdane.errors import WorkLimitExceededError
from txdane.server.responder import Responder
from txdane.server.service import responderForZones
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import parseMessage
from txdane.validation import (
    Answer,
    TrustAnchors,
    ValidatingResolver,
    ValidationLimits,
    rrsig,
    zonekeys,
)
from txdane.validation.cache import rrsetCost
from txdane.validation.context import MAX_KEPT_RESPONSE_BYTES, LookupContext
from txdane.validation.limits import FAILURES_NAMED, MAX_NEGATIVE_TTL, Budget


def anchoredAt(querier: TableQuerier, key: Key, **limits: Any) -> ValidatingResolver:
    """
    A resolver asking C{querier}, anchored at C{key} of C{p.}, at the zonekit's time, with
    the C{limits} given.
    """
    clock = Clock()
    clock.advance(NOW)
    anchors = TrustAnchors.fromText(f"p. IN DNSKEY {key.dnskey.to_text()}")
    return ValidatingResolver(
        querier, trustAnchors=anchors, clock=clock, limits=ValidationLimits(**limits)
    )


def distinctKeys(count: int, avoid: set[int]) -> list[DNSKEY]:
    """
    C{count} Ed25519-sized DNSKEYs of random material, no two of the same key tag nor of a
    tag in C{avoid}.
    """
    keys: list[DNSKEY] = []
    tags = set(avoid)
    while len(keys) < count:
        key = DNSKEY(dns.rdataclass.IN, dns.rdatatype.DNSKEY, 257, 3, 15, os.urandom(32))
        tag = dns.dnssec.key_id(key)
        if tag not in tags:
            tags.add(tag)
            keys.append(key)
    return keys


def test_dsMatchingLinear(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A child zone whose parent publishes a DS for each of its many keys (a 64 KiB response
    holds some 1,300 of each): every DS matches a key, which costs one digest each, but
    finding whether a key was already matched compared it with every key matched before,
    a quadratic number of rdata comparisons (over a second of CPU for 1,300 keys).
    """
    many = 300
    parent, child = Key(), Key()
    keys = distinctKeys(many, {child.tag})
    querier = TableQuerier()
    pkeys = keyset("p.", [parent.dnskey])
    querier.add("p.", "DNSKEY", (pkeys, sigset(n("p."), [parent.sign(pkeys, "p.")])))
    ds = [dns.dnssec.make_ds("c.p.", key, "SHA256") for key in [*keys, child.dnskey]]
    dsset = dns.rrset.from_rdata_list("c.p.", 300, ds)
    querier.add("c.p.", "DS", (dsset, sigset(dsset.name, [parent.sign(dsset, "p.")])))
    ckeys = keyset("c.p.", [*keys, child.dnskey])
    querier.add("c.p.", "DNSKEY", (ckeys, sigset(n("c.p."), [child.sign(ckeys, "c.p.")])))
    data = rrset("c.p. 300 IN A 192.0.2.1")
    querier.add("c.p.", "A", (data, sigset(data.name, [child.sign(data, "c.p.")])))
    resolver = anchoredAt(querier, parent)
    comparisons = countCalls(monkeypatch, dns.rdata.Rdata, "__eq__")
    answer = resolve(resolver, "c.p.", "A")
    assert answer.secure, answer
    # A few per key at most, not one per pair of matched keys (300 x 300 / 2).
    assert comparisons() < 4 * many, comparisons()


def test_bogusReasonsKeptWithinTheCacheBound() -> None:
    """
    Hundreds of RRSIGs over one RRset, by signers other than the zone, fail at no cost; a
    reason naming each (a response of 39 KB made one of 25 KB) was kept with the bogus
    answer in the cache, uncounted, so that the cache held fourteen times its bound in
    bytes. The reason names a few and counts the rest, and what it costs is charged.
    """
    signatures, names = 400, 100
    parent = Key()
    querier = TableQuerier()
    pkeys = keyset("p.", [parent.dnskey])
    querier.add("p.", "DNSKEY", (pkeys, sigset(n("p."), [parent.sign(pkeys, "p.")])))
    for i in range(names):
        data = rrset(f"h{i}.p. 300 IN A 192.0.2.1")
        real = parent.sign(data, "p.")
        sigs = [real.replace(signer=n("x."), key_tag=t) for t in range(signatures)]
        sigs.append(real.replace(key_tag=real.key_tag ^ 1))
        querier.add(data.name.to_text(), "A", (data, sigset(data.name, sigs)))  # type: ignore[arg-type]
    resolver = anchoredAt(querier, parent, cacheBytes=2**40)
    first = resolve(resolver, "h0.p.", "A")
    assert first.status is Status.BOGUS
    assert f"{signatures + 1 - FAILURES_NAMED} more" in first.reason
    assert len(first.reason) < 100 * FAILURES_NAMED
    charged = resolver._answers.bytes

    def run() -> None:
        for i in range(1, names):
            # (by name, not text: the resolver also remembers the texts it was asked)
            assert resolve(resolver, n(f"h{i}.p."), "A").status is Status.BOGUS

    growth = memoryGrowth(run)
    charged = resolver._answers.bytes - charged
    assert growth <= charged, (growth, charged)


def rsaKey(modulusBits: int) -> DNSKEY:
    """
    An RSA/SHA-256 zone key (RFC 3110 wire form) with a random modulus of C{modulusBits}
    bits and a public exponent of 35 bits, the most the exponent limit allows.
    """
    exponent = ((1 << 34) | 1).to_bytes(5, "big")
    modulus = int.from_bytes(os.urandom(modulusBits // 8), "big") | (1 << (modulusBits - 1)) | 1
    material = bytes([len(exponent)]) + exponent + modulus.to_bytes(modulusBits // 8, "big")
    return DNSKEY(dns.rdataclass.IN, dns.rdatatype.DNSKEY, 256, 3, 8, material)


@pytest.mark.parametrize(("modulusBits", "tried"), [(4096, True), (4104, False), (16384, False)])
def test_rsaModulusLimit(monkeypatch: pytest.MonkeyPatch, modulusBits: int, tried: bool) -> None:
    """
    RSA zone keys are at most 4096 bits long (RFC 3110, RFC 5702), but nothing else stops a
    zone from publishing a longer one, and a check with a 16384-bit modulus costs fourteen
    times one with 4096 bits: within the signature budget, a lookup cost as much as four
    hundred Ed25519 checks. No signature is checked with such a key.
    """
    anchor, rsa = Key(), rsaKey(modulusBits)
    keys = keyset("p.", [anchor.dnskey, rsa])
    data = rrset("www.p. 300 IN A 192.0.2.1")
    forged = anchor.sign(data, "p.").replace(
        algorithm=8, key_tag=dns.dnssec.key_id(rsa), signature=os.urandom(modulusBits // 8)
    )
    querier = TableQuerier()
    querier.add("p.", "DNSKEY", (keys, sigset(n("p."), [anchor.sign(keys, "p.")])))
    querier.add("www.p.", "A", (data, sigset(data.name, [forged])))  # type: ignore[list-item]
    resolver = anchoredAt(querier, anchor)
    verified = 0
    original = PublicRSA.verify

    def counted(self: PublicRSA, signature: bytes, signed: bytes) -> None:
        nonlocal verified
        verified += 1
        original(self, signature, signed)

    monkeypatch.setattr(PublicRSA, "verify", counted)
    answer = resolve(resolver, "www.p.", "A")
    assert answer.status is Status.BOGUS
    assert verified == (1 if tried else 0), answer


def test_zoneKeysGroupedOncePerResponse(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A zone of many keys (1,300 fit in a 64 KiB DNSKEY response) whose negative answers
    carry many signed NSEC RRsets: each RRset verified grouped every key of the zone by
    key tag again, 43,000 key tags (70 ms) per lookup for 1,300 keys and 40 RRsets, within
    a signature budget that bounds the checks to a few milliseconds. The grouping of the
    zone's keys is done once for all the RRsets.
    """
    many, rrsets = 200, 30
    anchor = Key()
    keys = keyset("p.", [anchor.dnskey, *distinctKeys(many, {anchor.tag})])
    querier = TableQuerier()
    querier.add("p.", "DNSKEY", (keys, sigset(n("p."), [anchor.sign(keys, "p.")])))
    authority = []
    for i in range(rrsets):
        nsec = rrset(f"a{i}.p. 300 IN NSEC a{i}x.p. A RRSIG NSEC")
        authority += [nsec, sigset(nsec.name, [anchor.sign(nsec, "p.")])]
    querier.add("nx.p.", "A", (), tuple(authority), dns.rcode.NXDOMAIN)
    resolver = anchoredAt(querier, anchor)
    calls = countCalls(monkeypatch, rrsig, "keyTag")
    answer = resolve(resolver, "nx.p.", "A")
    assert answer.status is Status.BOGUS  # the NSEC records deny nothing asked
    assert resolver.lastSignatureChecks > rrsets
    # A few passes over the keys, not one per RRset verified (30 x 200).
    assert 0 < calls() < 4 * many, calls()


def deepName(first: str, below: str) -> str:
    """
    C{first}, then as many two-letter labels as fit in a name of 255 octets, then C{below}:
    the name of most labels that are not each a single byte (Python keeps one copy of
    each single byte).
    """
    name = first + "."
    while len(name) + 3 + len(below) <= 253:
        name = "ab." + name
    return name + below


@pytest.fixture(scope="module")
def longNames() -> Hierarchy:
    """
    A signed wildcard whose MX records name exchanges of 85 labels each.
    """
    exchanges = [deepName(f"x{i}", "example.test.") for i in range(10)]
    return buildHierarchy(
        extraRecords={"example.test.": [f"*.big 300 IN MX 1 {name}" for name in exchanges]}
    )


def test_cacheCostOfLongNames(longNames: Hierarchy) -> None:
    """
    Names are held label by label, and each label costs some fifty bytes however short: a
    response can carry thousands of names of 85 labels, each compressed to a few octets.
    The bytes charged for such answers (deep names, asked for and answered from a
    wildcard, with records naming deep names) were a fourth of what they held, so the
    cache held four times its bound in bytes; they are now at least what they hold.
    """
    resolver, _ = makeResolver(longNames, limits=ValidationLimits(cacheBytes=2**40))
    uncachedServer(resolver, longNames)

    def look(i: int) -> None:
        name = dns.name.from_text(deepName(f"h{i}", "big.example.test."))
        answer = resolve(resolver, name, "MX")
        assert answer.secure and len(answer.records) == 10, answer

    for i in range(5):  # the zones' keys and cuts, and whatever first use allocates
        look(1000 + i)
    charged = resolver._answers.bytes
    growth = memoryGrowth(lambda: [*map(look, range(50))])
    charged = resolver._answers.bytes - charged
    assert growth <= charged, (growth, charged)


def test_failedSignaturesCostNoNameTexts(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Hundreds of RRSIGs by a zone above the signer's (here the root) fail without a check,
    but each wrote out the owner's name for its reason: 33 ms per lookup of a name of 85
    labels, within no budget. The texts of names are made once per RRset.
    """
    signatures = 400
    parent = Key()
    querier = TableQuerier()
    pkeys = keyset("p.", [parent.dnskey])
    querier.add("p.", "DNSKEY", (pkeys, sigset(n("p."), [parent.sign(pkeys, "p.")])))
    owner = deepName("h", "p.")
    data = rrset(f"{owner} 300 IN A 192.0.2.1")
    real = parent.sign(data, "p.")
    sigs = [real.replace(signer=dns.name.root, key_tag=t) for t in range(signatures)]
    sigs.append(real.replace(key_tag=real.key_tag ^ 1))
    querier.add(owner, "A", (data, sigset(data.name, sigs)))  # type: ignore[arg-type]
    resolver = anchoredAt(querier, parent)
    texts = 0
    original = dns.name.Name.to_text

    def counted(self: dns.name.Name, omit_final_dot: bool = False) -> str:
        nonlocal texts
        texts += 1
        return original(self, omit_final_dot)

    monkeypatch.setattr(dns.name.Name, "to_text", counted)
    answer = resolve(resolver, owner, "A")
    assert answer.status is Status.BOGUS and "signer is not p." in answer.reason
    assert resolver.lastSignatureChecks == 1
    assert texts < signatures // 10, texts


def hugeTTLs(message: dns.message.Message) -> dns.message.Message:
    """
    Every TTL of the response at its largest (RFC 2181 section 8): unsigned data's TTLs are
    whatever the zone, or anyone on the path, says.
    """
    for section in (*message.answer, *message.authority):
        section.ttl = 2**31 - 1
    return message


def test_cacheTTLBounded() -> None:
    """
    Insecure data with the largest TTL there is stays in the cache no longer than
    C{maxCacheTTL}: the lookup after it asks again.
    """
    resolver, querier = makeResolver(buildHierarchy())
    querier.tamper[("www.unsigned.test.", "A")] = hugeTTLs
    assert resolve(resolver, "www.unsigned.test.", "A").status is Status.INSECURE
    asked = len(querier.queries)
    clock = resolver.clock
    assert isinstance(clock, Clock)
    clock.advance(resolver.limits.maxCacheTTL - 1)
    resolve(resolver, "www.unsigned.test.", "A")
    assert len(querier.queries) == asked
    clock.advance(2)
    resolve(resolver, "www.unsigned.test.", "A")
    assert ("www.unsigned.test.", "A") in [
        (name.to_text(), dns.rdatatype.to_text(rdtype))
        for name, rdtype, *_ in querier.queries[asked:]
    ]


def test_cacheCostLinearInLabels(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Working out what a cached answer costs took each record's wire form, which dnspython
    writes in time quadratic in the labels of the names it holds, making a name for every
    suffix of each: 0.6 ms per record naming a name of 85 labels, 1.7 s for the 3,000 of a
    64 KiB response. The estimate is made from the records' fields, and makes no name.
    """
    many = 50
    exchanges = [deepName(f"x{i}", "p.") for i in range(many)]
    mx = dns.rrset.from_text_list("p.", 300, "IN", "MX", [f"1 {name}" for name in exchanges])
    made = 0
    original = dns.name.Name.__init__

    def counted(self: dns.name.Name, labels: Any) -> None:
        nonlocal made
        made += 1
        original(self, labels)

    monkeypatch.setattr(dns.name.Name, "__init__", counted)
    cost = rrsetCost([mx])
    assert made == 0, made
    # Still an upper estimate: each label some fifty bytes.
    assert cost > many * 85 * 50


def test_canonicalFormOncePerLookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    An answer signed by two zones, whose deeper signer's signature fails its check, is
    checked with the keys of the other zone next: each check wrote the canonical form of
    every record anew, which for the 4,000 MX records of a 64 KiB answer naming names of 12
    labels (as deep as the parse bound lets that many be) costs some 140 ms, once more per
    zone. A lookup makes the forms of an RRset once.
    """
    parent, child = Key(), Key()
    querier = TableQuerier()
    pkeys = keyset("p.", [parent.dnskey])
    querier.add("p.", "DNSKEY", (pkeys, sigset(n("p."), [parent.sign(pkeys, "p.")])))
    ds = dns.rrset.from_rdata("c.p.", 3600, dns.dnssec.make_ds("c.p.", child.dnskey, "SHA256"))
    querier.add("c.p.", "DS", (ds, sigset(ds.name, [parent.sign(ds, "p.")])))
    ckeys = keyset("c.p.", [child.dnskey])
    querier.add("c.p.", "DNSKEY", (ckeys, sigset(n("c.p."), [child.sign(ckeys, "c.p.")])))
    nsec = rrset("www.c.p. 300 IN NSEC c.p. MX RRSIG NSEC")
    querier.add("www.c.p.", "DS", (), (nsec, sigset(nsec.name, [child.sign(nsec, "c.p.")])))
    many = 50
    exchanges = [f"{i} {deepName(f'x{i}', 'p.')}" for i in range(many)]
    mx = dns.rrset.from_text_list("www.c.p.", 300, "IN", "MX", exchanges)
    broken = child.sign(mx, "c.p.").replace(signature=bytes(64))
    signed = sigset(mx.name, [broken, parent.sign(mx, "p.")])  # type: ignore[list-item]
    querier.add("www.c.p.", "MX", (mx, signed))
    resolver = anchoredAt(querier, parent)
    checked: list[dns.name.Name] = []
    original = rrsig.checkWithKey

    def recording(signed: rrsig.SignedData, *args: Any) -> None:
        if signed.rrset is mx:
            checked.append(args[2])
        original(signed, *args)

    monkeypatch.setattr(rrsig, "checkWithKey", recording)
    made = countCalls(monkeypatch, MX, "to_digestable")
    answer = resolve(resolver, "www.c.p.", "MX")
    assert answer.status is Status.BOGUS, answer  # p. signed data of the zone c.p.
    assert checked == [n("c.p."), n("p.")]
    assert made() == many, made()


def test_negativeTTLBounded() -> None:
    """
    A proven NXDOMAIN whose NSEC record and keys say a day (the zone's SOA minimum) is kept
    no longer than C{maxNegativeTTL}: replayed while its signatures last, an old denial
    would otherwise hide records published since (a new TLSA record) for the whole day.
    """
    anchor = Key()
    querier = TableQuerier()
    keys = keyset("p.", [anchor.dnskey], ttl=86400)
    querier.add("p.", "DNSKEY", (keys, sigset(n("p."), [anchor.sign(keys, "p.")])))
    nsec = rrset("p. 86400 IN NSEC z.p. NS SOA RRSIG NSEC DNSKEY")
    denial = (nsec, sigset(nsec.name, [anchor.sign(nsec, "p.")]))
    querier.add("nx.p.", "TLSA", (), denial, dns.rcode.NXDOMAIN)
    resolver = anchoredAt(querier, anchor)
    answer = resolve(resolver, "nx.p.", "TLSA")
    assert answer.secure and answer.rcode == dns.rcode.NXDOMAIN, answer
    assert answer.ttl == 86400
    clock = resolver.clock
    assert isinstance(clock, Clock)
    clock.advance(resolver.limits.maxNegativeTTL - 1)
    asked = len(querier.queries)
    resolve(resolver, "nx.p.", "TLSA")
    assert len(querier.queries) == asked
    clock.advance(2)
    resolve(resolver, "nx.p.", "TLSA")
    assert (n("nx.p."), dns.rdatatype.TLSA) in [(q[0], q[1]) for q in querier.queries[asked:]]


@pytest.mark.parametrize(
    ("cut", "ds", "kept"),
    [
        (zonekeys.Cut.UNSIGNED, False, MAX_NEGATIVE_TTL),
        (zonekeys.Cut.NONE, False, MAX_NEGATIVE_TTL),
        (zonekeys.Cut.SIGNED, True, 86400),
    ],
)
def test_negativeTTLBoundsZoneCuts(cut: zonekeys.Cut, ds: bool, kept: int) -> None:
    """
    What a DS query's denial proved (an unsigned delegation, no cut) is cached no longer
    than C{maxNegativeTTL} either: a replayed denial of a DS published since would keep the
    new signed zone insecure for as long as the denial's TTL says.
    """
    resolver = anchoredAt(TableQuerier(), Key())
    dsset = rrset("c.p. 86400 IN DS 1 15 2 " + "00" * 32) if ds else None
    result = zonekeys.DSResult(n("c.p."), cut, Status.SECURE, "", zone=n("p."), ds=dsset)
    result = dataclasses.replace(result, ttl=86400)
    assert resolver._chain._ttl(result) == kept


#: Junk for the additional section of every response: records of distinct names of 60 labels
#: below one deep suffix, which compression writes in a few octets each.
_DEEP_SUFFIX = dns.name.from_text(".".join(["d"] * 56) + ".junk.")
_JUNK = [
    dns.rrset.from_text(dns.name.from_text(f"j{i}.x.y", _DEEP_SUFFIX), 300, "IN", "A", "10.0.0.1")
    for i in range(1500)
]


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


def padded(response: dns.message.Message) -> bytes:
    """
    C{response} with L{_JUNK} in its additional section, as a hostile resolver or zone can
    send it: some 30 KB on the wire that hold megabytes once read.
    """
    response.additional.extend(_JUNK)
    return response.to_wire(max_size=65535)


class PaddingQuerier(EngineQuerier):
    """
    An L{EngineQuerier} whose every response is L{padded}, read as the transport reads it
    (each question's padded response is written once, and only read after).
    """

    def __init__(self, responder: Responder) -> None:
        super().__init__(responder)
        self.wires: dict[tuple[dns.name.Name, int], bytes] = {}

    def query(self, name: Any, rdtype: Any, *args: Any, **kw: Any) -> Deferred[dns.message.Message]:
        response = super().query(name, rdtype, *args, **kw).result
        assert isinstance(response, dns.message.Message)
        key = (n(str(name)), int(dns.rdatatype.RdataType.make(rdtype)))
        if key not in self.wires:
            self.wires[key] = padded(response)
        return succeed(parseMessage(self.wires[key]))


def synchronously(ctx: LookupContext, name: dns.name.Name) -> dns.message.Message:
    results: list[object] = []
    Deferred.fromCoroutine(ctx.query(name, dns.rdatatype.A)).addBoth(results.append)
    assert isinstance(results[0], dns.message.Message), results
    return results[0]


def test_keptResponsesBounded(hierarchy: Hierarchy) -> None:
    """
    A lookup keeps its responses, for the questions it may ask again, only up to
    C{MAX_KEPT_RESPONSE_BYTES} on the wire: past it a response is used and let go, and the
    question is sent again if it is asked again (a question kept is not). Kept whole, a
    lookup's 48 responses of deep names held up to 180 MB.
    """
    querier = PaddingQuerier(responderForZones(hierarchy.zones.values()))
    budget = Budget(ValidationLimits(maxResponseBytesPerLookup=1 << 30))
    ctx = LookupContext(n("www.example.test."), dns.rdatatype.A, querier, hierarchy.now, budget)
    names = [n(f"h{i}.example.test.") for i in range(12)]
    size = len(synchronously(ctx, names[0]).wire or b"")
    for name in names[1:]:
        synchronously(ctx, name)
    assert size > 20_000
    assert 0 < ctx.keptBytes <= MAX_KEPT_RESPONSE_BYTES
    assert len(ctx.responses) == MAX_KEPT_RESPONSE_BYTES // size < len(names)
    sent = len(querier.queries)
    synchronously(ctx, names[0])
    synchronously(ctx, names[-1])
    assert querier.queries[sent:] == [(names[-1], dns.rdatatype.A, True, True)]


def test_lookupMemoryBoundedByKeptResponses(hierarchy: Hierarchy) -> None:
    """
    A lookup whose every response carries megabytes' worth of names (the chain of trust's
    included) holds a few of them at a time, not all (its peak memory, by tracemalloc, is
    bounded by a few times what one response holds), with the same queries and answer as
    without the junk.
    """
    plain, plainQuerier = makeResolver(hierarchy)
    expected = resolve(plain, "_443._tcp.www.example.test.", "TLSA")
    querier = PaddingQuerier(plainQuerier.responder)
    first, _ = makeResolver(hierarchy)
    first.querier = querier
    resolve(first, "_443._tcp.www.example.test.", "TLSA")  # writes the padded responses
    querier.queries.clear()
    resolver, _ = makeResolver(hierarchy)
    resolver.querier = querier
    wire = padded(dns.message.make_response(dns.message.make_query("x.", "A")))
    held: list[object] = []
    one = memoryGrowth(lambda: held.append(parseMessage(wire)))
    answers: list[Answer] = []
    peak = memoryGrowth(
        lambda: answers.append(resolve(resolver, "_443._tcp.www.example.test.", "TLSA")),
        peak=True,
    )
    assert answers[0].status is expected.status is Status.SECURE
    assert answers[0].rrset == expected.rrset
    assert [q[:2] for q in querier.queries] == [q[:2] for q in plainQuerier.queries]
    assert len(querier.queries) >= 8
    assert one > 1_000_000
    # Two responses kept, two sent ahead and not yet used, what reading one takes: some five
    # times one response (eight, when every response was kept).
    assert peak < 6.5 * one, (peak, one)


def test_responseBytesPerLookupBounded(hierarchy: Hierarchy) -> None:
    """
    A lookup receives at most C{maxResponseBytesPerLookup} octets of responses: past it, it
    fails (C{WorkLimitExceededError}), asking nothing more, rather than read response after
    response of names that cost microseconds per octet to read (some ten seconds of the
    reactor's time per lookup within the query limit alone). The same lookup without the
    junk, far below the bound, is secure.
    """
    limits = ValidationLimits(maxResponseBytesPerLookup=100_000)
    plain, _ = makeResolver(hierarchy, limits=limits)
    assert resolve(plain, "_443._tcp.www.example.test.", "TLSA").status is Status.SECURE
    resolver, plainQuerier = makeResolver(hierarchy, limits=limits)
    querier = PaddingQuerier(plainQuerier.responder)
    resolver.querier = querier
    results: list[object] = []
    resolver.lookup("_443._tcp.www.example.test.", "TLSA").addBoth(results.append)
    error = results[0].value  # type: ignore[attr-defined]
    assert isinstance(error, WorkLimitExceededError), error
    assert "more than 100000 octets of responses received" in str(error)
    size = len(querier.wires[(n("_443._tcp.www.example.test."), dns.rdatatype.TLSA)])
    assert len(querier.queries) == 100_000 // size + 1 < 8

"""
Adversarial cases for the validating resolver: answers crafted by a hostile network or zone
that must end in a failure or a bogus verdict, never in secure data, a hang or an unbounded
cost.
"""

from __future__ import annotations

import os

import dns.dnssec
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from twisted.internet.task import Clock

from tests.validation.fakes import (
    EngineQuerier,
    Tamper,
    countCalls,
    failureOf,
    makeResolver,
    resolve,
)
from tests.validation.zonekit import DAY, NOW, Key, TableQuerier, keyset, n, rrset, sigset
from txdane.server.service import responderForZones
from txdane.server.signing import NSEC3Options, SigningKey, SigningOptions, signZone
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy
from txdane.validation import (
    ADTrustingResolver,
    LookupFailedError,
    TrustAnchors,
    ValidatingResolver,
    ValidationLimits,
    WorkLimitExceededError,
    rrsig,
    zonekeys,
)


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy(
        extraRecords={
            "nsec3.test.": ["far 300 IN CNAME www.example.test."],
            "example.test.": ["real.wild 300 IN A 192.0.2.9"],
        }
    )


def test_budgetExhaustionIsNotCached(hierarchy: Hierarchy) -> None:
    """
    A lookup that runs out of its signature budget while proving a zone's keys or cuts (here,
    behind a CNAME from another zone: an attacker's zone can make such a chain as costly as
    the budget) must not leave that zone bogus in the cache for the lookups after it.
    """
    resolver, _ = makeResolver(hierarchy)
    assert resolve(resolver, "far.nsec3.test.", "A").secure
    needed = resolver.lastSignatureChecks
    fits = 0
    for budget in range(1, needed):
        limits = ValidationLimits(maxSignatureChecksPerLookup=budget)
        fresh, _ = makeResolver(hierarchy, limits=limits)
        if not resolve(fresh, "www.example.test.", "A").secure:
            continue
        fits += 1
        resolver, _ = makeResolver(hierarchy, limits=limits)
        assert resolve(resolver, "far.nsec3.test.", "A").status is Status.BOGUS
        answer = resolve(resolver, "www.example.test.", "A")
        assert answer.secure, (budget, str(answer))
    assert fits >= 2


def childApexDenial(hierarchy: Hierarchy, zone: str) -> Tamper:
    """
    A tamper that answers a DS query for C{zone} with the child's own apex NSEC (signed by
    the child), as a confused or hostile server might.
    """
    origin = n(zone)
    child = hierarchy.zones[origin]
    nsec = child.find_rrset(origin, dns.rdatatype.NSEC)
    sig = child.find_rrset(origin, dns.rdatatype.RRSIG, dns.rdatatype.NSEC)

    def tamper(message: dns.message.Message) -> dns.message.Message:
        message.answer = []
        message.authority = [nsec, sig]
        return message

    return tamper


def test_dsDeniedByTheChildItselfFailsPromptly(hierarchy: Hierarchy) -> None:
    """
    A DS query answered by the child's own NSEC (signed by the zone whose DS is asked) would
    need the zone's keys to prove the zone's keys. It must end at once as bogus, not wait
    for itself until the lookup times out.
    """
    resolver, querier = makeResolver(hierarchy)
    querier.tamper[("example.test.", "DS")] = childApexDenial(hierarchy, "example.test.")
    answer = resolve(resolver, "www.example.test.", "A")
    assert answer.status is Status.BOGUS, answer
    assert not any(resolver._chain._pending.values())


def raiseTTLs(message: dns.message.Message) -> dns.message.Message:
    """
    Raise every TTL of the authority section to a day: the RRSIGs' original TTLs still say
    what the zone published.
    """
    for section in message.authority:
        section.ttl = 86400
    return message


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [("nodata.example.test.", "TXT"), ("nx.example.test.", "A"), ("nx.nsec3.test.", "A")],
)
def test_negativeTTLCappedByTheSignatures(hierarchy: Hierarchy, name: str, rdtype: str) -> None:
    """
    A proven NXDOMAIN or NODATA is kept no longer than its NSEC or NSEC3 records' original
    TTL (RFC 4035 section 5.3.3), whatever TTL the network put on them.
    """
    resolver, querier = makeResolver(hierarchy)
    querier.tamper[(name, rdtype)] = raiseTTLs
    answer = resolve(resolver, name, rdtype)
    assert answer.secure, answer
    assert 0 < answer.ttl <= 300
    assert all(r.ttl <= 300 for r in answer.denial)


def shortSOA(field: str) -> Tamper:
    """
    A tamper that makes the SOA of the authority section say 30 seconds in C{field} (its
    C{"ttl"} or its C{"minimum"}), the other left at the zone's 300: the records of a zone
    signed before RFC 9077, whose NSEC and NSEC3 records may outlast the SOA's negative TTL.
    """

    def tamper(message: dns.message.Message) -> dns.message.Message:
        for i, section in enumerate(message.authority):
            if section.rdtype == dns.rdatatype.SOA:
                if field == "ttl":
                    section.ttl = 30
                else:
                    soa = section[0].replace(minimum=30)
                    message.authority[i] = dns.rrset.from_rdata(section.name, section.ttl, soa)
        return message

    return tamper


@pytest.mark.parametrize("field", ["ttl", "minimum"])
@pytest.mark.parametrize(
    ("name", "rdtype", "status"),
    [
        ("nodata.example.test.", "TXT", Status.SECURE),
        ("nx.example.test.", "A", Status.SECURE),
        ("nx.nsec3.test.", "A", Status.SECURE),
        ("nx.unsigned.test.", "A", Status.INSECURE),
    ],
)
def test_negativeTTLCappedByTheSOA(
    hierarchy: Hierarchy, name: str, rdtype: str, status: Status, field: str
) -> None:
    """
    A NXDOMAIN or NODATA answer is kept no longer than RFC 2308's negative TTL, the lesser
    of the SOA's TTL and MINIMUM, as Unbound keeps it, even where its NSEC or NSEC3 records
    say longer.
    """
    resolver, querier = makeResolver(hierarchy)
    querier.tamper[(name, rdtype)] = shortSOA(field)
    answer = resolve(resolver, name, rdtype)
    assert answer.status is status, answer
    assert answer.ttl == 30


def junkSignatures(message: dns.message.Message) -> dns.message.Message:
    """
    Replace the RRSIGs of the answer section with signatures by C{test.} that verify nothing,
    and add to the authority section an NSEC record for the name so signed.
    """
    name = message.question[0].name
    test = dns.name.from_text("test.")

    def junk(rdtype: dns.rdatatype.RdataType) -> dns.rrset.RRset:
        sig = dns.rdata.from_text(
            "IN",
            "RRSIG",
            f"{dns.rdatatype.to_text(rdtype)} 15 {len(name) - 1} 300 20400101000000 "
            f"20200101000000 1234 {test} " + "AAAA" * 22,
        )
        return dns.rrset.from_rdata(name, 300, sig)

    data = [r for r in message.answer if r.rdtype != dns.rdatatype.RRSIG]
    message.answer = data + [junk(r.rdtype) for r in data]
    nsec = dns.rdata.from_text("IN", "NSEC", f"zz.{name} A RRSIG NSEC")
    message.authority += [dns.rrset.from_rdata(name, 300, nsec), junk(dns.rdatatype.NSEC)]
    return message


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [("www.unsigned.test.", "A"), ("www.unsigned.test.", "TXT"), ("nx.unsigned.test.", "A")],
)
def test_signaturesBelowAnUnsignedCutNotLookedAt(
    hierarchy: Hierarchy, name: str, rdtype: str
) -> None:
    """
    Below an unsigned delegation, data and denials are insecure whatever RRSIGs and NSEC
    records a response adds (Unbound looks at none there): a signature by the zone above the
    cut that verifies nothing does not make them bogus, and gains an attacker nothing that
    stripping it would not. In a signed zone the same signatures are bogus.
    """
    honest = resolve(makeResolver(hierarchy)[0], name, rdtype)
    assert honest.status is Status.INSECURE, honest
    resolver, querier = makeResolver(hierarchy)
    querier.tamper[(name, rdtype)] = junkSignatures
    answer = resolve(resolver, name, rdtype)
    assert answer.status is Status.INSECURE, answer
    assert (answer.rcode, answer.records) == (honest.rcode, honest.records)
    querier.tamper[("www.example.test.", "A")] = junkSignatures
    assert resolve(resolver, "www.example.test.", "A").status is Status.BOGUS


def deepName(below: str, length: int = 250) -> str:
    """
    A name of as many one-letter labels below C{below} as fit in C{length} octets.
    """
    labels = (length - len(below) - 1) // 2
    return "a." * labels + below


def test_nsec3HashesPerLookupLimit(hierarchy: Hierarchy) -> None:
    """
    The closest encloser proof for a long name hashes each of its ancestors: NSEC3 hashing
    per lookup has its own budget, and a lookup over it fails (never an answer).
    """
    name = deepName("nx.nsec3.test.")
    resolver, _ = makeResolver(hierarchy)
    answer = resolve(resolver, name, "A")
    assert answer.secure and answer.rcode == dns.rcode.NXDOMAIN
    hashes = resolver.lastNSEC3Hashes
    assert hashes > len(dns.name.from_text(name)) - 3
    assert hashes <= resolver.limits.maxNSEC3HashesPerLookup
    limit = hashes // 2
    resolver, _ = makeResolver(hierarchy, limits=ValidationLimits(maxNSEC3HashesPerLookup=limit))
    error = failureOf(resolver.lookup(name, "A"))
    assert isinstance(error, WorkLimitExceededError)
    assert f"more than {limit} NSEC3 hashes" in str(error)
    assert resolver.lastNSEC3Hashes == limit


def test_trustADDNAMESubstitutionTooLong() -> None:
    """
    In trust-AD mode too, a DNAME whose substitution would pass 255 octets fails the lookup
    with a LookupFailedError, not with dnspython's exception.
    """
    querier = TableQuerier()
    querier.ad = True
    query = "x" * 60 + "." + "y" * 60 + ".d.p."
    target = ".".join(["a" * 60] * 3) + ".target."
    querier.add(query, "A", (rrset(f"d.p. 300 IN DNAME {target}"),))
    resolver = ADTrustingResolver(querier, "127.0.0.1", clock=Clock())
    error = failureOf(resolver.lookup(query, "A"))
    assert isinstance(error, LookupFailedError), error
    assert "255 octets" in error.reason


def test_keyTagWorkLinear(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Many DNSKEYs, many DS records and many RRSIGs whose key tags match nothing cost no
    signature check, so no signature budget stops them: the key tags are computed once per
    key, not once per key for every DS record and every signature.
    """
    many = 150
    parent, child = Key(), Key()
    filler = [
        DNSKEY(dns.rdataclass.IN, dns.rdatatype.DNSKEY, 257, 3, 15, os.urandom(32))
        for _ in range(many)
    ]
    used = {dns.dnssec.key_id(k) for k in filler} | {child.tag}
    spare = (tag for tag in range(65536) if tag not in used)
    querier = TableQuerier()
    pkeys = keyset("p.", [parent.dnskey])
    querier.add("p.", "DNSKEY", (pkeys, sigset(n("p."), [parent.sign(pkeys, "p.")])))
    good = dns.dnssec.make_ds("c.p.", child.dnskey, "SHA256")
    dsset = dns.rrset.from_rdata_list(
        "c.p.", 300, [good] + [good.replace(key_tag=next(spare)) for _ in range(many)]
    )
    querier.add("c.p.", "DS", (dsset, sigset(dsset.name, [parent.sign(dsset, "p.")])))
    ckeys = keyset("c.p.", [*filler, child.dnskey])
    querier.add("c.p.", "DNSKEY", (ckeys, sigset(n("c.p."), [child.sign(ckeys, "c.p.")])))
    data = rrset("c.p. 300 IN A 192.0.2.1")
    real = child.sign(data, "c.p.")
    sigs = [real.replace(key_tag=next(spare)) for _ in range(many)] + [real]
    querier.add("c.p.", "A", (data, sigset(data.name, sigs)))  # type: ignore[arg-type]
    clock = Clock()
    clock.advance(NOW)
    anchors = TrustAnchors.fromText(f"p. IN DNSKEY {parent.dnskey.to_text()}")
    resolver = ValidatingResolver(querier, trustAnchors=anchors, clock=clock)
    calls = 0
    original = rrsig.keyTag

    def counted(key: DNSKEY) -> int:
        nonlocal calls
        calls += 1
        return original(key)

    for module in (rrsig, zonekeys):
        monkeypatch.setattr(module, "keyTag", counted)
    answer = resolve(resolver, "c.p.", "A")
    assert answer.secure, answer
    # A few passes over the keys, not one per key and DS record or signature (150 x 150).
    assert calls < 10 * many, calls


def test_stuffedAuthorityWorkLinear(hierarchy: Hierarchy, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Finding the signatures of a negative answer's NSEC records costs one pass over the
    authority section, not one per record: a response stuffed with hundreds of signed-looking
    NSEC records would otherwise cost a quadratic number of name comparisons before the
    first signature check (and the signature budget) is reached.
    """
    many = 200
    resolver, querier = makeResolver(hierarchy)
    resolve(resolver, "www.example.test.", "A")

    def stuff(message: dns.message.Message) -> dns.message.Message:
        nsec = next(r for r in message.authority if r.rdtype == dns.rdatatype.NSEC)
        sig = next(r for r in message.authority if r.covers == dns.rdatatype.NSEC)
        for i in range(many):
            owner = dns.name.from_text(f"z{i}.nx.example.test.")
            message.authority.append(dns.rrset.from_rdata_list(owner, 300, list(nsec)))
            message.authority.append(dns.rrset.from_rdata_list(owner, 300, list(sig)))
        return message

    querier.tamper[("nx.example.test.", "A")] = stuff
    comparisons = countCalls(monkeypatch, dns.name.Name, "__eq__")
    answer = resolve(resolver, "nx.example.test.", "A")
    assert answer.status is Status.BOGUS
    assert comparisons() < 20 * many, comparisons()


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [
        ("_443._tcp.www.example.test.", "TLSA"),
        ("www.example.test.", "A"),
        ("mx.example.test.", "A"),
    ],
)
def test_denialRecordsAreNeverWildcardExpanded(
    hierarchy: Hierarchy, name: str, rdtype: str
) -> None:
    """
    The NSEC at a wildcard (C{*.wild}) is signed with a label count that lets its signature
    verify under any owner below C{wild}. Moved to an owner after the next name
    (C{zzz.wild}, next C{real.wild}), it reads as the last NSEC of the zone and covers
    nearly every name: a forged NXDOMAIN that must be bogus, not a secure "no TLSA".
    """
    zone = hierarchy.zones[n("example.test.")]
    wildcard = n("*.wild.example.test.")
    nsec = zone.find_rrset(wildcard, dns.rdatatype.NSEC)
    sig = zone.find_rrset(wildcard, dns.rdatatype.RRSIG, dns.rdatatype.NSEC)
    assert nsec[0].next == n("real.wild.example.test.")
    owner = n("zzz.wild.example.test.")

    def forge(message: dns.message.Message) -> dns.message.Message:
        message.set_rcode(dns.rcode.NXDOMAIN)
        message.answer = []
        message.authority = [r for r in message.authority if r.rdtype == dns.rdatatype.SOA]
        message.authority.append(dns.rrset.from_rdata_list(owner, nsec.ttl, list(nsec)))
        message.authority.append(dns.rrset.from_rdata_list(owner, sig.ttl, list(sig)))
        return message

    resolver, querier = makeResolver(hierarchy)
    querier.tamper[(name, rdtype)] = forge
    answer = resolve(resolver, name, rdtype)
    assert answer.status is Status.BOGUS, answer
    assert "wildcard" in answer.reason


def highIterationsAbove() -> tuple[ValidatingResolver, EngineQuerier, dns.message.Message]:
    """
    A root signed with NSEC3 over the iteration limit, above a signed zone C{z.} (NSEC, DS
    in the root), and a resolver anchored at the root. Also returns a root NXDOMAIN response,
    whose NSEC3 records a hostile network can replay anywhere.
    """
    inception, expiration = NOW - DAY, NOW + 30 * DAY
    rootKey, childKey = SigningKey.generate(), SigningKey.generate()
    root = dns.zone.from_text(
        "$TTL 300\n@ IN SOA ns.z. h.z. 1 7200 3600 1209600 300\n@ IN NS ns.z.\n"
        f"z. IN NS ns.z.\nz. IN DS {childKey.ds('z.').to_text()}\n",
        dns.name.root,
        relativize=False,
    )
    child = dns.zone.from_text(
        "$TTL 300\n@ IN SOA ns h 1 7200 3600 1209600 300\n@ IN NS ns\nns IN A 192.0.2.53\n"
        "www IN A 192.0.2.1\n_443._tcp.www IN TLSA 3 1 1 " + "ab" * 32 + "\n",
        n("z."),
        relativize=False,
    )
    iterations = ValidationLimits().maxNSEC3Iterations + 1
    zones = [
        signZone(
            root,
            [rootKey],
            SigningOptions(inception, expiration, nsec3=NSEC3Options(iterations=iterations)),
        ),
        signZone(child, [childKey], SigningOptions(inception, expiration)),
    ]
    querier = EngineQuerier(responderForZones(zones))
    clock = Clock()
    clock.advance(NOW)
    anchors = TrustAnchors.fromRRsets([dns.rrset.from_rdata(".", 3600, rootKey.ds("."))])
    resolver = ValidatingResolver(querier, trustAnchors=anchors, clock=clock)
    responses: list[dns.message.Message] = []
    querier.query("nx.", "A", dnssecOK=True).addCallback(responses.append)
    return resolver, querier, responses[0]


def replaying(replay: dns.message.Message) -> Tamper:
    def tamper(message: dns.message.Message) -> dns.message.Message:
        message.set_rcode(dns.rcode.NXDOMAIN)
        message.answer = []
        message.authority = list(replay.authority)
        return message

    return tamper


def stripSignatures(message: dns.message.Message) -> dns.message.Message:
    message.answer = [r for r in message.answer if r.rdtype != dns.rdatatype.RRSIG]
    return message


def test_overLimitNSEC3FromAnAncestorIsNotInsecure() -> None:
    """
    NSEC3 records over the iteration limit are not evaluated, so the verdict they give
    (insecure) says nothing about which name they speak of. Replayed from a zone above the
    one holding the name, they must not make a signed zone's denial or data insecure.
    """
    resolver, querier, replay = highIterationsAbove()
    assert resolve(resolver, "_443._tcp.www.z.", "TLSA").secure
    assert resolve(resolver, "nx.", "A").status is Status.INSECURE  # the root's own trade
    # A forged "no TLSA": the root's NSEC3 records in place of z.'s denial.
    resolver.clearCache()
    querier.tamper[("_443._tcp.www.z.", "TLSA")] = replaying(replay)
    answer = resolve(resolver, "_443._tcp.www.z.", "TLSA")
    assert answer.status is Status.BOGUS, answer
    # Stripped data, and the root's NSEC3 records as the "proof" that www.z. is no cut.
    resolver.clearCache()
    querier.tamper[("www.z.", "A")] = stripSignatures
    querier.tamper[("www.z.", "DS")] = replaying(replay)
    answer = resolve(resolver, "www.z.", "A")
    assert answer.status is Status.BOGUS, answer


def test_cnameQuestionBelowADNAME(hierarchy: Hierarchy) -> None:
    """
    Asked for the CNAME of a name below a DNAME, the answer is the CNAME synthesized from the
    validated DNAME (secure), never the unsigned CNAME as received: a forged target is
    ignored.
    """
    resolver, querier = makeResolver(hierarchy)
    answer = resolve(resolver, "www.redirect.example.test.", "CNAME")
    assert answer.secure, answer
    assert [str(r) for r in answer.records] == ["www.nsec3.test."]

    def retarget(message: dns.message.Message) -> dns.message.Message:
        for section in message.answer:
            if section.rdtype == dns.rdatatype.CNAME:
                section.clear()
                section.add(dns.rdata.from_text("IN", "CNAME", "evil.test."))
        return message

    resolver, querier = makeResolver(hierarchy)
    querier.tamper[("www.redirect.example.test.", "CNAME")] = retarget
    answer = resolve(resolver, "www.redirect.example.test.", "CNAME")
    assert answer.secure and [str(r) for r in answer.records] == ["www.nsec3.test."]


def rsaKey(exponentBits: int, modulusBits: int = 3072) -> DNSKEY:
    """
    An RSA/SHA-256 zone key (RFC 3110 wire form) with random material and a public exponent
    of C{exponentBits} bits.
    """
    exponent = (
        (1 << (exponentBits - 1)) | int.from_bytes(os.urandom(exponentBits // 8 + 1), "big") | 1
    )
    exponent &= (1 << exponentBits) - 1
    raw = exponent.to_bytes((exponentBits + 7) // 8, "big")
    modulus = int.from_bytes(os.urandom(modulusBits // 8), "big") | (1 << (modulusBits - 1)) | 1
    head = bytes([len(raw)]) if len(raw) < 256 else b"\0" + len(raw).to_bytes(2, "big")
    material = head + raw + modulus.to_bytes(modulusBits // 8, "big")
    return DNSKEY(dns.rdataclass.IN, dns.rdatatype.DNSKEY, 256, 3, 8, material)


@pytest.mark.parametrize(("exponentBits", "tried"), [(17, True), (33, True), (3000, False)])
def test_rsaExponentLimit(exponentBits: int, tried: bool) -> None:
    """
    Checking an RSA signature costs in proportion to the public exponent's length, which the
    zone chooses: with a 3000-bit exponent one check costs as much as fifty Ed25519 ones,
    and the signature budget alone would allow 32 of them per lookup. Keys with an exponent
    over the limit are never tried; the usual ones (3, 65537, 2^32+1) are.
    """
    anchor, rsa = Key(), rsaKey(exponentBits)
    keys = keyset("hostile.", [anchor.dnskey, rsa])
    data = rrset("www.hostile. 300 IN A 192.0.2.1")
    forged = anchor.sign(data, "hostile.").replace(
        algorithm=8, key_tag=dns.dnssec.key_id(rsa), signature=os.urandom(384)
    )
    querier = TableQuerier()
    querier.add(
        "hostile.", "DNSKEY", (keys, sigset(n("hostile."), [anchor.sign(keys, "hostile.")]))
    )
    querier.add("www.hostile.", "A", (data, sigset(data.name, [forged])))  # type: ignore[list-item]
    clock = Clock()
    clock.advance(NOW)
    anchors = TrustAnchors.fromText(f"hostile. IN DNSKEY {anchor.dnskey.to_text()}")
    resolver = ValidatingResolver(querier, trustAnchors=anchors, clock=clock)
    answer = resolve(resolver, "www.hostile.", "A")
    assert answer.status is Status.BOGUS
    assert resolver.lastSignatureChecks == (2 if tried else 1), answer
    if not tried:
        assert f"{ValidationLimits().maxRSAExponentBits} bits" in answer.reason


def test_nsecQuestionNeverAnsweredByAWildcard(hierarchy: Hierarchy) -> None:
    """
    Asked for the NSEC record of a name below C{wild}, the wildcard's NSEC moved to that
    owner (with a genuine proof that no closer name exists) is bogus, not secure data.
    """
    zone = hierarchy.zones[n("example.test.")]
    wildcard, real = n("*.wild.example.test."), n("real.wild.example.test.")
    nsec = zone.find_rrset(wildcard, dns.rdatatype.NSEC)
    sig = zone.find_rrset(wildcard, dns.rdatatype.RRSIG, dns.rdatatype.NSEC)
    proof = [
        zone.find_rrset(real, dns.rdatatype.NSEC),
        zone.find_rrset(real, dns.rdatatype.RRSIG, dns.rdatatype.NSEC),
    ]
    owner = n("zzz.wild.example.test.")

    def forge(message: dns.message.Message) -> dns.message.Message:
        message.set_rcode(dns.rcode.NOERROR)
        message.answer = [
            dns.rrset.from_rdata_list(owner, nsec.ttl, list(nsec)),
            dns.rrset.from_rdata_list(owner, sig.ttl, list(sig)),
        ]
        message.authority = proof
        return message

    resolver, querier = makeResolver(hierarchy)
    querier.tamper[("zzz.wild.example.test.", "NSEC")] = forge
    answer = resolve(resolver, "zzz.wild.example.test.", "NSEC")
    assert answer.status is Status.BOGUS, answer

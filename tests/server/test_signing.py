"""
Tests for L{txdane.server.signing} and the fixture's construction: the chains, what is signed
and what is not, and the hierarchy's parameters.
"""

from __future__ import annotations

import time

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

from txdane.server.signing import (
    NSEC3Options,
    SigningError,
    SigningKey,
    SigningOptions,
    absoluteZone,
    makeRRSIG,
    nsec3BytesToLabel,
    nsec3Label,
    nsec3LabelToBytes,
    signZone,
    zoneShape,
)
from txdane.status import Status
from txdane.testing import (
    CASES,
    EXPECTED,
    NSEC3_HIGH_ITERATIONS,
    buildHierarchy,
)

N = dns.name.from_text
ORIGIN = N("zone.test.")
TEXT = """
$ORIGIN zone.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 60
@ IN NS ns1
ns1 IN A 127.0.0.1
a.b.c IN A 127.0.0.2
*.wild IN TXT "w"
secure IN NS ns.secure
secure IN DS 1 13 2 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
ns.secure IN A 127.0.0.3
plain IN NS ns.plain
ns.plain IN A 127.0.0.4
"""
NOW = int(time.time())


def sign(nsec3: NSEC3Options | None = None, keys: list[SigningKey] | None = None) -> dns.zone.Zone:
    zone = dns.zone.from_text(TEXT, ORIGIN, relativize=False)
    keys = keys or [SigningKey.generate()]
    return signZone(zone, keys, SigningOptions(NOW - 60, NOW + 3600, nsec3=nsec3))


def get(
    zone: dns.zone.Zone,
    name: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    covers: dns.rdatatype.RdataType = dns.rdatatype.NONE,
) -> dns.rdataset.Rdataset:
    found = zone.get_rdataset(name, rdtype, covers)
    assert found is not None, (name, rdtype)
    return found


def rdatasets(
    zone: dns.zone.Zone, rdtype: dns.rdatatype.RdataType
) -> dict[dns.name.Name, dns.rdataset.Rdataset]:
    out = {}
    for name, node in zone.nodes.items():
        found = node.get_rdataset(zone.rdclass, rdtype)
        if found is not None:
            out[name] = found
    return out


def signedTypes(zone: dns.zone.Zone, name: str) -> set[str]:
    node = zone.nodes.get(N(name))
    if node is None:
        return set()
    return {
        dns.rdatatype.to_text(r.covers) for r in node.rdatasets if r.rdtype == dns.rdatatype.RRSIG
    }


def test_nsecChain() -> None:
    """
    The NSEC chain runs through the authoritative names in canonical order and back to the
    apex; glue has none, the delegations have NS (and DS where present) in their bitmaps.
    """
    zone = sign()
    nsecs = rdatasets(zone, dns.rdatatype.NSEC)
    owners = sorted(nsecs)
    assert owners == sorted(
        N(n)
        for n in (
            "zone.test.",
            "ns1.zone.test.",
            "a.b.c.zone.test.",
            "*.wild.zone.test.",
            "secure.zone.test.",
            "plain.zone.test.",
        )
    )
    for here, following in zip(owners, owners[1:] + owners[:1]):
        assert nsecs[here][0].next == following
    assert nsecs[N("zone.test.")].ttl == 60  # min(SOA TTL, SOA minimum)
    assert "NS DS RRSIG NSEC" in nsecs[N("secure.zone.test.")][0].to_text()
    assert nsecs[N("plain.zone.test.")][0].to_text().endswith("NS RRSIG NSEC")


SHAPED = """
$ORIGIN zone.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 60
@ IN NS ns1
@ IN MX 10 mail
ns1 IN A 127.0.0.1
mail IN A 127.0.0.2
mail IN AAAA ::2
mail IN RRSIG A 13 3 300 20300101000000 20200101000000 1 zone.test. AAAA
mail IN NSEC ns1 A AAAA RRSIG NSEC
only IN NSEC ns1 RRSIG NSEC
moved IN DNAME elsewhere.test.
x.moved IN A 127.0.0.3
sub IN NS ns.sub
sub IN DS 1 13 2 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
ns.sub IN A 127.0.0.4
"""


def _contents(zone: dns.zone.Zone, strip: bool = False) -> dict[dns.name.Name, set[object]]:
    """
    Each name of C{zone} (absolute) with its rdatasets as comparable values, every name in
    their records absolute; with C{strip}, without DNSSEC records, and names left empty out.
    """
    out = {}
    for name, node in zone.nodes.items():
        held: set[object] = {
            (
                r.rdtype,
                r.covers,
                r.ttl,
                frozenset(x.to_text(origin=ORIGIN, relativize=False) for x in r),
            )
            for r in node.rdatasets
            if not (strip and dns.rdatatype.NSEC in (r.rdtype, r.covers))
            and not (strip and r.rdtype == dns.rdatatype.RRSIG)
        }
        if held:
            out[name.derelativize(ORIGIN)] = held
    return out


@pytest.mark.parametrize("relativize", [False, True])
def test_absoluteZone(relativize: bool) -> None:
    """
    The copy has every name absolute, with rdatasets equal to the zone's but its own (the
    zone is left as it was when the copy changes); stripped of DNSSEC records, a name that
    held nothing else is gone.
    """
    zone = dns.zone.from_text(SHAPED, ORIGIN, relativize=relativize)
    for strip in (False, True):
        copy = absoluteZone(zone, stripDNSSEC=strip)
        assert not copy.relativize and copy.origin == ORIGIN
        assert _contents(copy) == _contents(zone, strip)
        assert (N("only.zone.test.") in copy.nodes) is not strip
        mail = copy.get_rdataset(N("mail.zone.test."), dns.rdatatype.A)
        assert mail is not None
        mail.update_ttl(1)
        mail.add(dns.rdata.from_text("IN", "A", "127.0.0.9"))
        original = zone.get_rdataset(N("mail.zone.test."), dns.rdatatype.A)
        assert original is not None and len(original) == 1 and original.ttl == 300
    mx = absoluteZone(zone).get_rdataset(ORIGIN, dns.rdatatype.MX)
    assert mx is not None and mx[0].exchange == N("mail.zone.test.")


def test_absoluteZoneKeepsTheCNAMERule() -> None:
    """
    A node built by hand with a CNAME beside other data comes out as dnspython's own rule
    leaves it (a CNAME added after other data replaces it), not with both.
    """
    zone = dns.zone.Zone(ORIGIN, relativize=False)
    node = zone.find_node(N("both.zone.test."), create=True)
    a = dns.rdataset.from_text("IN", "A", 300, "127.0.0.1")
    cname = dns.rdataset.from_text("IN", "CNAME", 300, "target.zone.test.")
    node.rdatasets.extend([a, cname])
    copied = absoluteZone(zone).nodes[N("both.zone.test.")]
    assert [r.rdtype for r in copied.rdatasets] == [dns.rdatatype.CNAME]


def test_zoneShape() -> None:
    """
    The authoritative names in canonical order: a cut is one, the glue below it and the names
    below a DNAME are not; the cuts are the names with NS records other than the apex.
    """
    zone = absoluteZone(dns.zone.from_text(SHAPED, ORIGIN, relativize=False))
    names, cuts = zoneShape(zone)
    assert names == [
        N(n)
        for n in (
            "zone.test.",
            "mail.zone.test.",
            "moved.zone.test.",
            "ns1.zone.test.",
            "only.zone.test.",
            "sub.zone.test.",
        )
    ]
    assert cuts == {N("sub.zone.test.")}


def test_whatIsSigned() -> None:
    """
    Authoritative RRsets are signed; delegation NS sets and glue are not; DS is.
    """
    zone = sign()
    assert signedTypes(zone, "zone.test.") == {"SOA", "NS", "DNSKEY", "NSEC"}
    assert signedTypes(zone, "secure.zone.test.") == {"DS", "NSEC"}
    assert signedTypes(zone, "plain.zone.test.") == {"NSEC"}
    assert signedTypes(zone, "ns.secure.zone.test.") == set()
    assert signedTypes(zone, "ns.plain.zone.test.") == set()


def test_signaturesValidate() -> None:
    """
    Every RRSIG validates with the zone's DNSKEY RRset; the wildcard's labels field leaves
    the asterisk out.
    """
    zone = sign(NSEC3Options())
    keys = {ORIGIN: get(zone, ORIGIN, dns.rdatatype.DNSKEY)}
    count = 0
    for name, node in zone.nodes.items():
        for sigs in node.rdatasets:
            if sigs.rdtype != dns.rdatatype.RRSIG:
                continue
            covered = node.get_rdataset(zone.rdclass, sigs.covers)
            dns.dnssec.validate((name, covered), (name, sigs), keys)  # type: ignore[arg-type]
            count += 1
    assert count > 10
    (wildSig,) = get(zone, N("*.wild.zone.test."), dns.rdatatype.RRSIG, dns.rdatatype.TXT)
    assert wildSig.labels == 3


def test_nsec3Chain() -> None:
    """
    The NSEC3 chain holds a hash for every authoritative name and empty non-terminal (b.c,
    c, wild), in hash order, closing on itself; NSEC3PARAM at the apex says the same.
    """
    options = NSEC3Options(iterations=3, salt=b"\x01\x02")
    zone = sign(options)
    nsec3s = rdatasets(zone, dns.rdatatype.NSEC3)
    expected = {
        nsec3Label(N(n), options.salt, options.iterations)
        for n in (
            "zone.test.",
            "ns1.zone.test.",
            "a.b.c.zone.test.",
            "b.c.zone.test.",
            "c.zone.test.",
            "*.wild.zone.test.",
            "wild.zone.test.",
            "secure.zone.test.",
            "plain.zone.test.",
        )
    }
    assert {name.labels[0].decode() for name in nsec3s} == expected
    hashes = sorted(nsec3LabelToBytes(name.labels[0].decode()) for name in nsec3s)
    for here, following in zip(hashes, hashes[1:] + hashes[:1]):
        owner = dns.name.Name((nsec3BytesToLabel(here).encode(), *ORIGIN.labels))
        record = nsec3s[owner][0]
        assert record.next == following
        assert (record.iterations, record.salt, record.flags) == (3, b"\x01\x02", 0)
    (param,) = get(zone, ORIGIN, dns.rdatatype.NSEC3PARAM)
    assert (param.iterations, param.salt, param.flags) == (3, b"\x01\x02", 0)
    assert rdatasets(zone, dns.rdatatype.NSEC) == {}


def test_nsec3OptOut() -> None:
    """
    With opt-out, the unsigned delegation is left out of the chain and every NSEC3 has the
    opt-out flag; the signed delegation stays in.
    """
    zone = sign(NSEC3Options(optOut=True))
    labels = {name.labels[0].decode() for name in rdatasets(zone, dns.rdatatype.NSEC3)}
    assert nsec3Label(N("plain.zone.test."), b"", 0) not in labels
    assert nsec3Label(N("secure.zone.test."), b"", 0) in labels
    assert all(r[0].flags == 1 for r in rdatasets(zone, dns.rdatatype.NSEC3).values())


def test_keySplit() -> None:
    """
    With a KSK and a ZSK, the KSK signs only the DNSKEY RRset.
    """
    ksk, zsk = SigningKey.generate(flags=257), SigningKey.generate(flags=256)
    zone = sign(keys=[ksk, zsk])
    dnskeySigs = get(zone, ORIGIN, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
    soaSigs = get(zone, ORIGIN, dns.rdatatype.RRSIG, dns.rdatatype.SOA)
    assert {s.key_tag for s in dnskeySigs} == {ksk.keyTag}
    assert {s.key_tag for s in soaSigs} == {zsk.keyTag}


def test_resigningDropsOldRecords() -> None:
    """
    Signing a signed zone again replaces its signatures and chain instead of adding to them;
    DNSKEY records already in the zone stay published (as for a key rollover).
    """
    first = sign(NSEC3Options())
    newKey = SigningKey.generate()
    again = signZone(first, [newKey], SigningOptions(NOW, NOW + 60))
    assert len(get(again, ORIGIN, dns.rdatatype.DNSKEY)) == 2
    sigs = get(again, ORIGIN, dns.rdatatype.RRSIG, dns.rdatatype.SOA)
    assert [s.key_tag for s in sigs] == [newKey.keyTag]
    assert rdatasets(again, dns.rdatatype.NSEC3) == {}
    assert again.get_rdataset(ORIGIN, dns.rdatatype.NSEC3PARAM) is None


def test_errors() -> None:
    with pytest.raises(SigningError, match="no keys"):
        signZone(dns.zone.from_text(TEXT, ORIGIN), [], SigningOptions(NOW, NOW + 60))
    with pytest.raises(SigningError, match="use one of"):
        SigningKey.generate(5)


class TestHierarchy:
    def test_validityAroundNow(self) -> None:
        """
        Valid zones are signed from an hour before C{now}; expired and future zones outside.
        """
        now = 1_800_000_000
        hierarchy = buildHierarchy(now=now)
        assert hierarchy.now == now
        for zone, inside in (
            ("example.test.", True),
            ("expired.test.", False),
            ("future.test.", False),
        ):
            apex = N(zone)
            sig = get(hierarchy.zones[apex], apex, dns.rdatatype.RRSIG, dns.rdatatype.SOA)
            assert (sig[0].inception <= now <= sig[0].expiration) == inside
        sig = get(
            hierarchy.zones[N("example.test.")],
            N("example.test."),
            dns.rdatatype.RRSIG,
            dns.rdatatype.SOA,
        )
        assert sig[0].inception == now - 3600

    def test_extraRecords(self) -> None:
        hierarchy = buildHierarchy(
            extraRecords={"nsec3.test.": ["_25._tcp.mx 300 IN TLSA 3 1 1 " + "00" * 32]}
        )
        zone = hierarchy.zones[N("nsec3.test.")]
        assert zone.get_rdataset(N("_25._tcp.mx.nsec3.test."), dns.rdatatype.TLSA) is not None
        assert (
            get(zone, N("_25._tcp.mx.nsec3.test."), dns.rdatatype.RRSIG, dns.rdatatype.TLSA)
            is not None
        )
        with pytest.raises(ValueError, match=r"example\.com"):
            buildHierarchy(extraRecords={"example.com.": ["x 300 IN A 127.0.0.1"]})

    def test_trustAnchor(self) -> None:
        """
        The trust anchor is the DS of the root's key-signing key.
        """
        hierarchy = buildHierarchy()
        (ds,) = hierarchy.trustAnchor
        ksk = hierarchy.keys[dns.name.root][0]
        assert ds == ksk.ds(dns.name.root)
        assert hierarchy.trustAnchorText() == f". 3600 IN DS {ds.to_text()}\n"
        assert f"static-ds {ds.key_tag} 13 2" in hierarchy.delvAnchorText()

    def test_iterationsZone(self) -> None:
        hierarchy = buildHierarchy()
        (param,) = get(
            hierarchy.zones[N("iterations.test.")], N("iterations.test."), dns.rdatatype.NSEC3PARAM
        )
        assert param.iterations == NSEC3_HIGH_ITERATIONS > 150

    def test_expected(self) -> None:
        assert EXPECTED["www.example.test."] == ("A", Status.SECURE)
        assert EXPECTED["www.unsigned.test."] == ("A", Status.INSECURE)
        assert len({(c.name, c.rdtype) for c in CASES}) == len(CASES)


@pytest.mark.parametrize("algorithm", ["ECDSAP256SHA256", "ED25519", "RSASHA256"])
@pytest.mark.parametrize(
    "owner,rdtype,rdatas",
    [
        ("WWW.Zone.Test.", "CNAME", ["Target.ZONE.test."]),
        ("*.wild.zone.test.", "TXT", ['"b"', '"a"']),
        ("mx.zone.test.", "MX", ["10 B.zone.test.", "5 a.zone.test."]),
    ],
)
def test_makeRRSIG(algorithm: str, owner: str, rdtype: str, rdatas: list[str]) -> None:
    """
    Our signatures validate with dnspython, across algorithms, mixed case (canonical form),
    wildcard owners and several records per RRset (canonical order).
    """
    key = SigningKey.generate(algorithm)
    rrset = dns.rrset.from_text_list(owner, 300, "IN", rdtype, rdatas)
    rrsig = makeRRSIG(rrset.name, rrset, key, ORIGIN, NOW - 60, NOW + 60)
    assert rrsig.labels == len(rrset.name) - 1 - (1 if rrset.name.is_wild() else 0)
    keys = dns.rrset.from_rdata(ORIGIN, 300, key.dnskey)
    dns.dnssec.validate_rrsig(rrset, rrsig, {ORIGIN: keys}, now=NOW)
    tampered = dns.rrset.from_text_list(owner, 300, "IN", rdtype, rdatas[:1])
    if len(rdatas) > 1:
        with pytest.raises(dns.dnssec.ValidationFailure):
            dns.dnssec.validate_rrsig(tampered, rrsig, {ORIGIN: keys}, now=NOW)


@pytest.mark.parametrize("nsec3", [None, NSEC3Options(iterations=1, salt=b"\xab")])
@pytest.mark.parametrize("algorithm", ["ECDSAP256SHA256", "ED25519", "RSASHA256"])
def test_recordsAsDnspythonMakesThem(nsec3: NSEC3Options | None, algorithm: str) -> None:
    """
    The RRSIG, NSEC and NSEC3 records the signer makes (without dnspython's constructor checks,
    and with their canonical form computed as they are made) are indistinguishable from the
    same records read by dnspython: every field equal and of the same type, the same canonical
    wire form, equal both ways, the same hash, and they survive copy and pickle.
    """
    import copy
    import pickle

    import dns.rdata

    now = int(time.time())
    key = SigningKey.generate(algorithm)
    zone = signZone(
        dns.zone.from_text(TEXT, ORIGIN, relativize=False),
        [key],
        SigningOptions(now - 60, now + 3600, nsec3=nsec3),
    )
    seen: set[int] = set()
    for node in zone.nodes.values():
        for rdataset in node.rdatasets:
            if rdataset.rdtype not in (
                dns.rdatatype.RRSIG,
                dns.rdatatype.NSEC,
                dns.rdatatype.NSEC3,
            ):
                continue
            seen.add(rdataset.rdtype)
            for made in rdataset:
                plain = dns.rdata.from_text(made.rdclass, made.rdtype, made.to_text())
                assert type(plain) is not type(made)
                slots = {s for c in type(plain).__mro__ for s in getattr(c, "__slots__", ())}
                for slot in slots:
                    assert getattr(made, slot) == getattr(plain, slot), slot
                    assert type(getattr(made, slot)) is type(getattr(plain, slot)), slot
                digest = dns.rdata.Rdata.to_digestable(plain)
                assert made.to_digestable() == digest
                assert dns.rdata.Rdata.to_digestable(made) == digest
                assert made == plain and plain == made and hash(made) == hash(plain)
                assert copy.copy(made) == plain and pickle.loads(pickle.dumps(made)) == plain
                replaced = made.replace()
                assert replaced == plain and hash(replaced) == hash(plain)
    assert seen == {
        dns.rdatatype.RRSIG,
        dns.rdatatype.NSEC if nsec3 is None else dns.rdatatype.NSEC3,
    }

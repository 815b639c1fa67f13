"""
Tests for the denial-of-existence proofs: L{txdane.validation.nsec} (NSEC) and
L{txdane.validation.nsec3} (NSEC3, with the RFC 5155 appendix A zone and appendix B answers).
"""

from __future__ import annotations

import dns.name
import dns.rdata
import dns.rdatatype
import pytest

from txdane.status import Status
from txdane.validation import denial, nsec, nsec3
from txdane.validation.ede import EDE
from txdane.validation.limits import ValidationLimits


def n(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


# RFC 5155 appendix A: the hashes of the example zone's names (salt aabbccdd, 12 iterations).
HASHES = {
    "example.": "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
    "a.example.": "35mthgpgcu1qg68fab165klnsnk3dpvl",
    "ai.example.": "gjeqe526plbf1g8mklp59enfd789njgi",
    "ns1.example.": "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
    "ns2.example.": "q04jkcevqvmu85r014c7dkba38o0ji5r",
    "w.example.": "k8udemvp1j2f7eg6jebps17vp3n8i58h",
    "*.w.example.": "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
    "x.w.example.": "b4um86eghhds6nea196smvmlo4ors995",
    "y.w.example.": "ji6neoaepv8b5o6k4ev33abha8ht9fgc",
    "x.y.w.example.": "2vptu5timamqttgl4luu9kg21e0aor3s",
    "xx.example.": "t644ebqk9bibcna874givr6joj62mlhv",
    "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.": "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
}

# The NSEC3 chain of RFC 5155 appendix A (every record has the opt-out flag).
CHAIN = {
    "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom": (
        "2t7b4g4vsa5smi47k61mv5bv1a22bojr",
        "MX DNSKEY NS SOA NSEC3PARAM RRSIG",
    ),
    "2t7b4g4vsa5smi47k61mv5bv1a22bojr": ("2vptu5timamqttgl4luu9kg21e0aor3s", "A RRSIG"),
    "2vptu5timamqttgl4luu9kg21e0aor3s": ("35mthgpgcu1qg68fab165klnsnk3dpvl", "MX RRSIG"),
    "35mthgpgcu1qg68fab165klnsnk3dpvl": ("b4um86eghhds6nea196smvmlo4ors995", "NS DS RRSIG"),
    "b4um86eghhds6nea196smvmlo4ors995": ("gjeqe526plbf1g8mklp59enfd789njgi", "MX RRSIG"),
    "gjeqe526plbf1g8mklp59enfd789njgi": ("ji6neoaepv8b5o6k4ev33abha8ht9fgc", "A HINFO AAAA RRSIG"),
    "ji6neoaepv8b5o6k4ev33abha8ht9fgc": ("k8udemvp1j2f7eg6jebps17vp3n8i58h", ""),
    "k8udemvp1j2f7eg6jebps17vp3n8i58h": ("kohar7mbb8dc2ce8a9qvl8hon4k53uhi", ""),
    "kohar7mbb8dc2ce8a9qvl8hon4k53uhi": ("q04jkcevqvmu85r014c7dkba38o0ji5r", "A RRSIG"),
    "q04jkcevqvmu85r014c7dkba38o0ji5r": ("r53bq7cc2uvmubfu5ocmm6pers9tk9en", "A RRSIG"),
    "r53bq7cc2uvmubfu5ocmm6pers9tk9en": ("t644ebqk9bibcna874givr6joj62mlhv", "MX RRSIG"),
    "t644ebqk9bibcna874givr6joj62mlhv": ("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "A HINFO AAAA RRSIG"),
}

LIMITS = ValidationLimits()
ZONE = n("example.")


def records(*owners: str, optOut: bool = True, iterations: int = 12):
    out = []
    for owner in owners:
        nextHash, types = CHAIN[owner]
        rdata = dns.rdata.from_text(
            "IN",
            "NSEC3",
            f"1 {int(optOut)} {iterations} aabbccdd {nextHash} {types}",
        )
        out.append((n(f"{owner}.example."), rdata))
    return out


def proof(*owners: str, **kw) -> nsec3.NSEC3Proof:
    result = nsec3.NSEC3Proof.check(records(*owners, **kw), ZONE, LIMITS)
    assert isinstance(result, nsec3.NSEC3Proof), result
    return result


@pytest.mark.parametrize(("name", "hashed"), sorted(HASHES.items()))
def test_rfc5155Hashes(name: str, hashed: str) -> None:
    digest = nsec3.nsec3Hash(n(name), bytes.fromhex("aabbccdd"), 12)
    import base64

    assert base64.b32hexencode(digest).decode().lower() == hashed


B1 = (
    "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
    "b4um86eghhds6nea196smvmlo4ors995",
    "35mthgpgcu1qg68fab165klnsnk3dpvl",
)


def test_b1NameErrorOptOutIsInsecure() -> None:
    verdict = nsec3.proveNXDomain(n("a.c.x.w.example."), proof(*B1))
    assert verdict.status is Status.INSECURE


def test_b1NameErrorWithoutOptOutIsSecure() -> None:
    verdict = nsec3.proveNXDomain(n("a.c.x.w.example."), proof(*B1, optOut=False))
    assert verdict.status is Status.SECURE, verdict.reason


def test_b1NameErrorNeedsTheWildcardCover() -> None:
    verdict = nsec3.proveNXDomain(n("a.c.x.w.example."), proof(*B1[:2], optOut=False))
    assert verdict.status is Status.BOGUS


def test_b2NoData() -> None:
    verdict = nsec3.proveNoData(
        n("ns1.example."), dns.rdatatype.MX, proof("2t7b4g4vsa5smi47k61mv5bv1a22bojr")
    )
    assert verdict.status is Status.SECURE
    lists = nsec3.proveNoData(
        n("ns1.example."), dns.rdatatype.A, proof("2t7b4g4vsa5smi47k61mv5bv1a22bojr")
    )
    assert lists.status is Status.BOGUS


def test_b21EmptyNonTerminal() -> None:
    verdict = nsec3.proveNoData(
        n("y.w.example."), dns.rdatatype.A, proof("ji6neoaepv8b5o6k4ev33abha8ht9fgc")
    )
    assert verdict.status is Status.SECURE


def test_b3OptOutDelegationHasNoDS() -> None:
    verdict = nsec3.proveNoData(
        n("c.example."),
        dns.rdatatype.DS,
        proof("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
    )
    assert (verdict.status, verdict.delegation) == (Status.INSECURE, True)
    strict = nsec3.proveNoData(
        n("c.example."),
        dns.rdatatype.DS,
        proof("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom", "35mthgpgcu1qg68fab165klnsnk3dpvl", optOut=False),
    )
    assert strict.status is Status.BOGUS


def test_b4WildcardExpansion() -> None:
    q04j = "q04jkcevqvmu85r014c7dkba38o0ji5r"
    assert (
        nsec3.proveWildcard(n("a.z.w.example."), n("w.example."), proof(q04j)).status
        is Status.INSECURE
    )
    secure = nsec3.proveWildcard(n("a.z.w.example."), n("w.example."), proof(q04j, optOut=False))
    assert secure.status is Status.SECURE
    # Claiming the wildcard one level lower needs a cover of a.z.w.example., absent here.
    wrong = nsec3.proveWildcard(n("a.z.w.example."), n("z.w.example."), proof(q04j, optOut=False))
    assert wrong.status is Status.BOGUS


def test_b5WildcardNoData() -> None:
    owners = (
        "k8udemvp1j2f7eg6jebps17vp3n8i58h",
        "q04jkcevqvmu85r014c7dkba38o0ji5r",
        "r53bq7cc2uvmubfu5ocmm6pers9tk9en",
    )
    verdict = nsec3.proveNoData(
        n("a.z.w.example."), dns.rdatatype.AAAA, proof(*owners, optOut=False)
    )
    assert verdict.status is Status.SECURE, verdict.reason
    mx = nsec3.proveNoData(n("a.z.w.example."), dns.rdatatype.MX, proof(*owners, optOut=False))
    assert mx.status is Status.BOGUS


def test_b6ApexNSEC3CannotDenyDS() -> None:
    verdict = nsec3.proveNoData(
        n("example."), dns.rdatatype.DS, proof("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom")
    )
    assert verdict.status is Status.BOGUS


def test_delegationCannotBeClosestEncloser() -> None:
    # a.example. is a delegation (NS DS): nothing below it can be denied by this zone.
    owners = (
        "35mthgpgcu1qg68fab165klnsnk3dpvl",
        "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom",
        "2vptu5timamqttgl4luu9kg21e0aor3s",
        "k8udemvp1j2f7eg6jebps17vp3n8i58h",
        "kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
    )
    verdict = nsec3.proveNXDomain(n("b.a.example."), proof(*owners, optOut=False))
    assert verdict.status is Status.BOGUS


def test_iterationLimit() -> None:
    result = nsec3.NSEC3Proof.check(records(*B1, iterations=51), ZONE, LIMITS)
    assert isinstance(result, denial.DenialVerdict)
    assert (result.status, result.ede) == (Status.INSECURE, EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE)
    assert isinstance(
        nsec3.NSEC3Proof.check(records(*B1, iterations=50), ZONE, LIMITS), nsec3.NSEC3Proof
    )


def test_recordsPerProofLimit() -> None:
    result = nsec3.NSEC3Proof.check(records(*CHAIN), ZONE, LIMITS)
    assert isinstance(result, denial.DenialVerdict)
    assert (result.status, result.ede) == (Status.BOGUS, EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE)


def test_hashesCounted() -> None:
    p = proof(*B1, optOut=False)
    nsec3.proveNXDomain(n("a.c.x.w.example."), p)
    # a.c.x.w, c.x.w, x.w (matched), then the wildcard *.x.w: four hashes, each once.
    assert p.hashes == 4


# -- NSEC ----------------------------------------------------------------------------------

NSECS = {
    "example.": ("a.example.", "NS SOA MX RRSIG NSEC DNSKEY"),
    "a.example.": ("ai.example.", "NS DS RRSIG NSEC"),
    "ai.example.": ("b.example.", "A HINFO AAAA RRSIG NSEC"),
    "b.example.": ("ns1.example.", "NS RRSIG NSEC"),
    "ns1.example.": ("ns2.example.", "A RRSIG NSEC"),
    "ns2.example.": ("*.w.example.", "A RRSIG NSEC"),
    "*.w.example.": ("x.w.example.", "MX RRSIG NSEC"),
    "x.w.example.": ("x.y.w.example.", "MX RRSIG NSEC"),
    "x.y.w.example.": ("xx.example.", "MX RRSIG NSEC"),
    "xx.example.": ("example.", "A HINFO AAAA RRSIG NSEC"),
    "alias.example.": ("b.example.", "CNAME RRSIG NSEC"),
}


def nsecs(*owners: str):
    return [
        (n(owner), dns.rdata.from_text("IN", "NSEC", f"{NSECS[owner][0]} {NSECS[owner][1]}"))
        for owner in owners
    ]


def test_nsecNameError() -> None:
    # RFC 4035 B.2: ml.example. covered by b.example., and *.example. by example.
    verdict = nsec.proveNXDomain(n("ml.example."), nsecs("b.example.", "example."), ZONE)
    assert verdict.status is Status.SECURE
    assert nsec.proveNXDomain(n("ml.example."), nsecs("b.example."), ZONE).status is Status.BOGUS


def test_nsecNameErrorBelowDelegation() -> None:
    # a.example. is a delegation: its parent-side NSEC says nothing about names below it.
    verdict = nsec.proveNXDomain(n("b.a.example."), nsecs("a.example.", "example."), ZONE)
    assert verdict.status is Status.BOGUS


def test_nsecNoData() -> None:
    verdict = nsec.proveNoData(n("ns1.example."), dns.rdatatype.MX, nsecs("ns1.example."), ZONE)
    assert verdict.status is Status.SECURE
    bad = nsec.proveNoData(n("ns1.example."), dns.rdatatype.A, nsecs("ns1.example."), ZONE)
    assert bad.status is Status.BOGUS


def test_nsecNoDataChecksTheCNAMEBit() -> None:
    verdict = nsec.proveNoData(n("alias.example."), dns.rdatatype.A, nsecs("alias.example."), ZONE)
    assert verdict.status is Status.BOGUS and "CNAME" in verdict.reason


def test_nsecNoDataAtDelegationOnlyForDS() -> None:
    assert (
        nsec.proveNoData(n("a.example."), dns.rdatatype.A, nsecs("a.example."), ZONE).status
        is Status.BOGUS
    )
    b = nsec.proveNoData(n("b.example."), dns.rdatatype.DS, nsecs("b.example."), ZONE)
    assert (b.status, b.delegation) == (Status.SECURE, True)
    ns1 = nsec.proveNoData(n("ns1.example."), dns.rdatatype.DS, nsecs("ns1.example."), ZONE)
    assert (ns1.status, ns1.delegation) == (Status.SECURE, False)
    apex = nsec.proveNoData(n("example."), dns.rdatatype.DS, nsecs("example."), ZONE)
    assert apex.status is Status.BOGUS


def test_nsecRootDeniesItsOwnDS() -> None:
    """
    The root has no parent: the NSEC record at its apex denies a DS there (as Unbound
    answers C{. DS}: secure, no data), and is no delegation for all its NS bit.
    """
    root = dns.rdata.from_text("IN", "NSEC", "aaa. NS SOA RRSIG NSEC DNSKEY")
    records: list = [(dns.name.root, root)]
    verdict = nsec.proveNoData(dns.name.root, dns.rdatatype.DS, records, n("."))
    assert (verdict.status, verdict.delegation) == (Status.SECURE, False)
    assert verdict.reason.endswith("proves there is no DS")


def test_nsecEmptyNonTerminal() -> None:
    verdict = nsec.proveNoData(n("y.w.example."), dns.rdatatype.A, nsecs("x.w.example."), ZONE)
    assert verdict.status is Status.SECURE
    nx = nsec.proveNXDomain(n("y.w.example."), nsecs("x.w.example.", "example."), ZONE)
    assert nx.status is Status.BOGUS


def test_nsecWildcard() -> None:
    # RFC 4035 B.6: a.z.w.example. from *.w.example.; x.y.w.example. covers it.
    ok = nsec.proveWildcard(n("a.z.w.example."), n("w.example."), nsecs("x.y.w.example."))
    assert ok.status is Status.SECURE
    wrongLevel = nsec.proveWildcard(n("a.z.w.example."), n("z.w.example."), nsecs("x.y.w.example."))
    assert wrongLevel.status is Status.BOGUS
    assert nsec.proveWildcard(n("a.z.w.example."), n("w.example."), []).status is Status.BOGUS


def test_nsecWildcardNoData() -> None:
    verdict = nsec.proveNoData(
        n("a.z.w.example."), dns.rdatatype.AAAA, nsecs("x.y.w.example.", "*.w.example."), ZONE
    )
    assert verdict.status is Status.SECURE
    mx = nsec.proveNoData(
        n("a.z.w.example."), dns.rdatatype.MX, nsecs("x.y.w.example.", "*.w.example."), ZONE
    )
    assert mx.status is Status.BOGUS


def test_nsecLastWrapsToApex() -> None:
    assert nsec.covers(n("xx.example."), n("example."), n("zz.example."))
    assert not nsec.covers(n("xx.example."), n("example."), n("b.example."))


def test_unknownHashAlgorithmIgnored() -> None:
    """
    NSEC3 records of a hash algorithm other than SHA-1 are ignored (RFC 5155 section 8.1):
    alone, they prove nothing (bogus, as Unbound has it), and do not make a proof insecure.
    A zone's records of a new hash, replayed without those of the chain in use, must not
    turn its denials insecure.
    """
    unknown = [(owner, rdata.replace(algorithm=2)) for owner, rdata in records(*B1, optOut=False)]
    result = nsec3.NSEC3Proof.check(unknown, ZONE, LIMITS)
    assert isinstance(result, denial.DenialVerdict)
    assert result.status is Status.BOGUS, result
    # Beside a complete SHA-1 proof, they change nothing.
    mixed = nsec3.NSEC3Proof.check(unknown + records(*B1, optOut=False), ZONE, LIMITS)
    assert isinstance(mixed, nsec3.NSEC3Proof), mixed
    assert nsec3.proveNXDomain(n("a.c.x.w.example."), mixed).status is Status.SECURE


def test_unknownFlagsIgnored() -> None:
    """
    NSEC3 records with flags other than opt-out are ignored (RFC 5155 section 8.2): they
    cannot complete a proof.
    """
    odd = [(owner, rdata.replace(flags=2)) for owner, rdata in records(*B1, optOut=False)]
    result = nsec3.NSEC3Proof.check(odd, ZONE, LIMITS)
    assert isinstance(result, denial.DenialVerdict)
    assert result.status is Status.BOGUS, result
    # Two good records and one with unknown flags: the wildcard's cover is missing.
    partial = nsec3.NSEC3Proof.check(records(*B1[:2], optOut=False) + odd[2:], ZONE, LIMITS)
    assert isinstance(partial, nsec3.NSEC3Proof), partial
    assert nsec3.proveNXDomain(n("a.c.x.w.example."), partial).status is Status.BOGUS


def test_dsDenialWithSOAIsFromTheChildSide() -> None:
    """
    A bitmap with SOA is that of a zone's apex, the child side of a cut, which cannot deny a
    DS there (RFC 4035 section 5.2), whatever zone the record is said to come from: by a
    matching NSEC or NSEC3, or by a wildcard's.
    """
    apexLike: list = [
        (n("b.example."), dns.rdata.from_text("IN", "NSEC", "ns1.example. NS SOA RRSIG NSEC"))
    ]
    verdict = nsec.proveNoData(n("b.example."), dns.rdatatype.DS, apexLike, ZONE)
    assert verdict.status is Status.BOGUS and "SOA" in verdict.reason, verdict
    hashed = HASHES["ns1.example."]
    matching: list = [
        (
            n(f"{hashed}.example."),
            dns.rdata.from_text("IN", "NSEC3", f"1 0 12 aabbccdd {CHAIN[hashed][0]} NS SOA"),
        )
    ]
    p = nsec3.NSEC3Proof.check(matching, ZONE, LIMITS)
    assert isinstance(p, nsec3.NSEC3Proof), p
    assert nsec3.proveNoData(n("ns1.example."), dns.rdatatype.DS, p).status is Status.BOGUS
    wildcard: list = [
        (n("*.w.example."), dns.rdata.from_text("IN", "NSEC", "x.w.example. NS SOA MX NSEC"))
    ]
    below = nsec.proveNoData(
        n("a.z.w.example."), dns.rdatatype.DS, [*nsecs("x.y.w.example."), *wildcard], ZONE
    )
    assert below.status is Status.BOGUS, below

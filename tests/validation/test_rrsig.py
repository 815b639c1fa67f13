"""
Tests for L{txdane.validation.rrsig}: the RFC signature vectors, and every rule dnspython's
C{validate_rrsig} leaves to the caller.
"""

from __future__ import annotations

import os

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from tests.validation.zonekit import DAY, NOW, Key, collidingKey, n, rrset
from txdane.status import Status
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.ede import EDE
from txdane.validation.limits import Budget, ValidationLimits
from txdane.validation.rrsig import RRsetVerdict, verifyRRset

LIMITS = ValidationLimits()
POLICY = AlgorithmPolicy()

# RFC 5702 section 6, RFC 6605 section 6, RFC 8080 section 6: (key, RRset, RRSIG, signer).
VECTORS = {
    "RFC 5702 RSASHA256": (
        "256 3 8 AwEAAcFcGsaxxdgiuuGmCkVImy4h99CqT7jwY3pexPGcnUFtR2Fh36Bponc"
        "wtkZ4cAgtvd4Qs8PkxUdp6p/DlUmObdk=",
        "www.example.net. 3600 IN A 192.0.2.91",
        "A 8 3 3600 20300101000000 20000101000000 9033 example.net. kRCOH6u"
        "7l0QGy9qpC9l1sLncJcOKFLJ7GhiUOibu4teYp5VE9RncriShZNz85mwlMgNEacFYK/"
        "lPtPiVYP4bwg==",
        "example.net.",
        1_700_000_000,
    ),
    "RFC 5702 RSASHA512": (
        "256 3 10 AwEAAdHoNTOW+et86KuJOWRDp1pndvwb6Y83nSVXXyLA3DLroROUkN6X0"
        "O6pnWnjJQujX/AyhqFDxj13tOnD9u/1kTg7cV6rklMrZDtJCQ5PCl/D7QNPsgVsMu1J"
        "2Q8gpMpztNFLpPBz1bWXjDtaR7ZQBlZ3PFY12ZTSncorffcGmhOL",
        "www.example.net. 3600 IN A 192.0.2.91",
        "A 10 3 3600 20300101000000 20000101000000 3740 example.net. tsb4wn"
        "jRUDnB1BUi+t6TMTXThjVnG+eCkWqjvvjhzQL1d0YRoOe0CbxrVDYd0xDtsuJRaeUw1"
        "ep94PzEWzr0iGYgZBWm/zpq+9fOuagYJRfDqfReKBzMweOLDiNa8iP5g9vMhpuv6OPl"
        "vpXwm9Sa9ZXIbNl1MBGk0fthPgxdDLw=",
        "example.net.",
        1_700_000_000,
    ),
    "RFC 6605 ECDSAP256SHA256": (
        "257 3 13 GojIhhXUN/u4v54ZQqGSnyhWJwaubCvTmeexv7bR6edbkrSqQpF64cYbc"
        "B7wNcP+e+MAnLr+Wi9xMWyQLc8NAA==",
        "www.example.net. 3600 IN A 192.0.2.1",
        "A 13 3 3600 20100909100439 20100812100439 55648 example.net. qx6wL"
        "Yqmh+l9oCKTN6qIc+bw6ya+KJ8oMz0YP107epXAyGmt+3SNruPFKG7tZoLBLlUzGGus"
        "7ZwmwWep666VCw==",
        "example.net.",
        1_283_000_000,
    ),
    "RFC 6605 ECDSAP384SHA384": (
        "257 3 14 xKYaNhWdGOfJ+nPrL8/arkwf2EY3MDJ+SErKivBVSum1w/egsXvSADtNJ"
        "hyem5RCOpgQ6K8X1DRSEkrbYQ+OB+v8/uX45NBwY8rp65F6Glur8I/mlVNgF6W/qTI3"
        "7m40",
        "www.example.net. 3600 IN A 192.0.2.1",
        "A 14 3 3600 20100909102025 20100812102025 10771 example.net. /L5hD"
        "KIvGDyI1fcARX3z65qrmPsVz73QD1Mr5CEqOiLP95hxQouuroGCeZOvzFaxsT8Glr74"
        "hbavRKayJNuydCuzWTSSPdz7wnqXL5bdcJzusdnI0RSMROxxwGipWcJm",
        "example.net.",
        1_283_000_000,
    ),
    "RFC 8080 ED25519": (
        "257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
        "example.com. 3600 IN MX 10 mail.example.com.",
        "MX 15 2 3600 1440021600 1438207200 3613 example.com. oL9krJun7xfBOIWcGHi7mag5/hd"
        "ZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg==",
        "example.com.",
        1_439_000_000,
    ),
    "RFC 8080 ED448": (
        "257 3 16 3kgROaDjrh0H2iuixWBrc8g2EpBBLCdGzHmn+G2MpTPhpj/OiBVHHSfPodx1FYYUcJKm1MDpJtIA",
        "example.com. 3600 IN MX 10 mail.example.com.",
        "MX 16 2 3600 1440021600 1438207200 9713 example.com. 3cPAHkmlnxcDHMyg7vFC34l0blBhu"
        "G1qpwLmjInI8w1CMB29FkEAIJUA0amxWndkmnBZ6SKiwZSAxGILn/NBtOXft0+Gj7FSvOKxE/07+4RQvE"
        "581N3Aj/JtIyaiYVdnYtyMWbSNyGEY2213WKsJlwEA",
        "example.com.",
        1_439_000_000,
    ),
}


def verify(data, sigs, zone, keys, now=NOW, limits=LIMITS, policy=POLICY, budget=None):
    return verifyRRset(
        data,
        sigs,
        n(zone) if isinstance(zone, str) else zone,
        keys,
        now=now,
        limits=limits,
        policy=policy,
        budget=budget or Budget(limits),
    )


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_rfcVectors(name: str) -> None:
    keyText, rrText, sigText, signer, now = VECTORS[name]
    key = dns.rdata.from_text("IN", "DNSKEY", keyText)
    data = rrset(rrText)
    sig = dns.rdata.from_text("IN", "RRSIG", sigText)
    verdict = verify(data, [sig], signer, [key], now=now)
    assert verdict.status is Status.SECURE, verdict.reason
    assert verdict.signature is not None and verdict.signature.keyTag == dns.dnssec.key_id(key)  # type: ignore[arg-type]
    other = "192.0.2.66" if data.rdtype == dns.rdatatype.A else "10 evil.example."
    changed = dns.rrset.from_text(data.name, data.ttl, "IN", data.rdtype, other)
    assert verify(changed, [sig], signer, [key], now=now).status is Status.BOGUS


def test_rfc4034KeyTagAndDS() -> None:
    """
    RFC 4034 section 5.4: the DS of dskey.example.com. (SHA-1), and its key tag 60485.
    """
    key = dns.rdata.from_text(
        "IN",
        "DNSKEY",
        "256 3 5 AQOeiiR0GOMYkDshWoSKz9XzfwJr1AYtsmx3TGkJaNXVbfi/2pHm822aJ5iI9BMzNXxeYCmZ"
        "DRD99WYwYqUSdjMmmAphXdvxegXd/M5+X7OrzKBaMbCVdFLUUh6DhweJBjEVv5f2wwjM9Xzc"
        "nOf+EPbtG9DMBmADjFDc2w/rljwvFw==",
    )
    assert dns.dnssec.key_id(key) == 60485  # type: ignore[arg-type]
    ds = dns.dnssec.make_ds(
        "dskey.example.com.", key, "SHA1", policy=dns.dnssec.allow_all_policy, validating=True
    )
    assert ds.to_text().upper() == "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"


@pytest.fixture(scope="module")
def key() -> Key:
    return Key()


DATA = rrset("www.example.test. 300 IN A 192.0.2.1")


def test_secureAndTTLCapped(key: Key) -> None:
    sig = key.sign(DATA, "example.test.", expiration=NOW + 100)
    verdict = verify(DATA, [sig], "example.test.", [key.dnskey])
    assert verdict.status is Status.SECURE
    assert verdict.ttl == 100
    assert verdict.wildcardParent is None
    assert verify(DATA, [key.sign(DATA, "example.test.")], "example.test.", [key.dnskey]).ttl == 300


def test_signerMustBeTheZone(key: Key) -> None:
    sig = key.sign(DATA, "test.")
    verdict = verify(DATA, [sig], "example.test.", [key.dnskey])
    assert verdict.status is Status.BOGUS
    assert "signer is not example.test." in verdict.reason


def test_ownerOutsideZone(key: Key) -> None:
    sig = key.sign(DATA, "other.test.")
    verdict = verify(DATA, [sig], "other.test.", [key.dnskey])
    assert verdict.status is Status.BOGUS and "not in zone" in verdict.reason


def test_tooManyLabels(key: Key) -> None:
    sig = key.sign(DATA, "example.test.").replace(labels=4)
    verdict = verify(DATA, [sig], "example.test.", [key.dnskey])
    assert verdict.status is Status.BOGUS and "label count" in verdict.reason


def test_wildcardExpansionReported(key: Key) -> None:
    wild = rrset("*.wild.example.test. 300 IN A 192.0.2.5")
    sig = key.sign(wild, "example.test.")
    expanded = rrset("a.b.wild.example.test. 300 IN A 192.0.2.5")
    verdict = verify(expanded, [sig], "example.test.", [key.dnskey])
    assert verdict.status is Status.SECURE
    assert verdict.wildcardParent == n("wild.example.test.")
    # Asked directly, the wildcard owner is no expansion.
    assert verify(wild, [sig], "example.test.", [key.dnskey]).wildcardParent is None


@pytest.mark.parametrize(
    ("inception", "expiration", "ede"),
    [
        (NOW - 30 * DAY, NOW - 400, EDE.SIGNATURE_EXPIRED),
        (NOW + 400, NOW + 30 * DAY, EDE.SIGNATURE_NOT_YET_VALID),
        (NOW + 10 * DAY, NOW - 10 * DAY, EDE.SIGNATURE_EXPIRED_BEFORE_VALID),
    ],
)
def test_validityWindow(key: Key, inception: int, expiration: int, ede: int) -> None:
    sig = key.sign(DATA, "example.test.", inception=inception, expiration=expiration)
    verdict = verify(DATA, [sig], "example.test.", [key.dnskey])
    assert (verdict.status, verdict.ede) == (Status.BOGUS, ede)


@pytest.mark.parametrize(
    ("inception", "expiration"), [(NOW - DAY, NOW - 200), (NOW + 200, NOW + DAY)]
)
def test_clockSkewAllowance(key: Key, inception: int, expiration: int) -> None:
    sig = key.sign(DATA, "example.test.", inception=inception, expiration=expiration)
    assert verify(DATA, [sig], "example.test.", [key.dnskey]).status is Status.SECURE
    strict = ValidationLimits(clockSkew=0)
    assert verify(DATA, [sig], "example.test.", [key.dnskey], limits=strict).status is Status.BOGUS


def test_unsupportedAlgorithm(key: Key) -> None:
    sig = key.sign(DATA, "example.test.")
    policy = AlgorithmPolicy(algorithms=frozenset({13}))
    verdict = verify(DATA, [sig], "example.test.", [key.dnskey], policy=policy)
    assert (verdict.status, verdict.ede) == (Status.BOGUS, EDE.UNSUPPORTED_DNSKEY_ALGORITHM)


def test_keyWithoutZoneBit() -> None:
    key = Key(flags=0)
    verdict = verify(DATA, [key.sign(DATA, "example.test.")], "example.test.", [key.dnskey])
    assert (verdict.status, verdict.ede) == (Status.BOGUS, EDE.DNSKEY_MISSING)


def test_revokedKeySignsOnlyDNSKEY() -> None:
    key = Key(flags=257 | 0x80)
    verdict = verify(DATA, [key.sign(DATA, "example.test.")], "example.test.", [key.dnskey])
    assert verdict.status is Status.BOGUS
    keys = dns.rrset.from_rdata(n("example.test."), 300, key.dnskey)
    sig = key.sign(keys, "example.test.")
    assert verify(keys, [sig], "example.test.", [key.dnskey]).status is Status.SECURE


def test_noSignatures(key: Key) -> None:
    verdict = verify(DATA, [], "example.test.", [key.dnskey])
    assert (verdict.status, verdict.ede) == (Status.BOGUS, EDE.RRSIGS_MISSING)


def test_secondSignatureUsed(key: Key) -> None:
    other = Key()
    sigs = [other.sign(DATA, "example.test."), key.sign(DATA, "example.test.")]
    verdict = verify(DATA, sigs, "example.test.", [key.dnskey, other.dnskey])
    assert verdict.status is Status.SECURE


def test_changedRRsetCheckedAsItIs(key: Key) -> None:
    """
    The canonical forms a lookup keeps for an RRset (L{Budget.canonicalForms}) are those of
    the records it held: checked again once it holds others (as many, or more), it is
    checked as it is.
    """
    data = rrset("www.example.test. 300 IN A 192.0.2.1")
    sig = key.sign(data, "example.test.")
    signed, other = data[0], dns.rdata.from_text("IN", "A", "192.0.2.2")
    budget = Budget(LIMITS)

    def holding(*records: dns.rdata.Rdata) -> Status:
        data.clear()
        for record in records:
            data.add(record)
        return verify(data, [sig], "example.test.", [key.dnskey], budget=budget).status

    assert holding(signed) is Status.SECURE
    assert holding(other) is Status.BOGUS
    assert holding(signed, other) is Status.BOGUS
    assert holding(signed) is Status.SECURE
    assert budget.checks == 4


def collidingSignatures(key: Key, count: int) -> tuple[list, list]:
    """
    C{count} keys sharing C{key}'s tag, and C{count} signatures claiming that tag.
    """
    fakes = [collidingKey(key.tag) for _ in range(count)]
    good = key.sign(DATA, "example.test.")
    sigs = [good.replace(signature=os.urandom(64)) for _ in range(count)]
    return fakes, sigs


def test_keysPerTagLimit(key: Key) -> None:
    fakes, sigs = collidingSignatures(key, 3)
    budget = Budget(LIMITS)
    verdict = verify(DATA, sigs[:1], "example.test.", fakes, budget=budget)
    assert verdict.status is Status.BOGUS
    assert budget.checks == LIMITS.maxKeysPerKeyTag
    assert "3 keys share the tag" in verdict.reason


def test_signaturesPerRRsetLimit(key: Key) -> None:
    fakes, sigs = collidingSignatures(key, 20)
    budget = Budget(LIMITS)
    verdict = verify(DATA, sigs, "example.test.", fakes, budget=budget)
    assert verdict.status is Status.BOGUS and verdict.ede == EDE.DNSSEC_BOGUS
    assert budget.checks == LIMITS.maxSignatureChecksPerRRset
    assert "gave up" in verdict.reason


def test_signaturesPerLookupLimit(key: Key) -> None:
    limits = ValidationLimits(maxSignatureChecksPerLookup=3)
    budget = Budget(limits)
    budget.checks = 2
    fakes, sigs = collidingSignatures(key, 4)
    verdict = verify(DATA, sigs, "example.test.", fakes, limits=limits, budget=budget)
    assert verdict.status is Status.BOGUS
    assert budget.checks == 3


def test_verdictIsValue() -> None:
    assert RRsetVerdict(Status.BOGUS, "x") == RRsetVerdict(Status.BOGUS, "x")


@pytest.mark.parametrize(
    ("inception", "expiration"),
    [
        # The widest window RRSIG fields can hold: 1970 to 2106.
        (0, 0xFFFFFFFF),
        # 69 years from yesterday: more than the 68 years serial arithmetic allows.
        (NOW - DAY, NOW - DAY + 69 * 365 * DAY),
    ],
)
def test_validityOver68YearsExpiresBeforeValid(key: Key, inception: int, expiration: int) -> None:
    """
    RRSIG times are serial numbers (RFC 4034 section 3.1.5): an expiration more than 2^31
    seconds after the inception comes before it, so the signature is never valid (as Unbound
    and BIND judge it), not valid for a century.
    """
    sig = key.sign(DATA, "example.test.", inception=inception, expiration=expiration)
    verdict = verify(DATA, [sig], "example.test.", [key.dnskey])
    assert (verdict.status, verdict.ede) == (
        Status.BOGUS,
        EDE.SIGNATURE_EXPIRED_BEFORE_VALID,
    ), verdict.reason


def test_validityAcrossTheSerialWrap(key: Key) -> None:
    """
    In 2106 the 32-bit times wrap: a signature made the day before, valid for 30 days, holds
    an expiration smaller than its inception, and is valid, its TTL capped by the time left.
    """
    now = (1 << 32) + DAY
    good = key.sign(
        DATA,
        "example.test.",
        inception=(now - 2 * DAY) % (1 << 32),
        expiration=(now + 100) % (1 << 32),
    )
    verdict = verify(DATA, [good], "example.test.", [key.dnskey], now=now)
    assert verdict.status is Status.SECURE, verdict.reason
    assert verdict.ttl == 100
    expired = verify(DATA, [good], "example.test.", [key.dnskey], now=now + 1000)
    assert (expired.status, expired.ede) == (Status.BOGUS, EDE.SIGNATURE_EXPIRED)

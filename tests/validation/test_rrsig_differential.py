"""
Differential tests of L{txdane.validation.rrsig}'s own signature checks against dnspython's
C{validate_rrsig}, which it replaced: for every algorithm the policy can allow, over data that
verifies and data that must not, both give the same verdict, reason and work done.

The reference is L{verifyRRset} itself with its one check (C{rrsig.checkWithKey}) replaced by
a call of C{dns.dnssec.validate_rrsig}, as it checked before; the check under test is its
own.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from typing import Any, cast

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from dns.dnssectypes import Algorithm, DSDigest
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.RRSIG import RRSIG
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.validation.zonekit import DAY, NOW, collidingKey, n
from txdane.status import Status
from txdane.validation import rrsig as rrsigModule
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.cache import nameKey, parentName, sameName, within
from txdane.validation.dsmatch import dsDigest
from txdane.validation.limits import Budget, ValidationLimits
from txdane.validation.rrsig import (
    KEY_CACHE_SIZE,
    RRsetVerdict,
    SignedData,
    checkSignature,
    keyTag,
    publicKey,
    verifyRRset,
)

ZONE = n("example.test.")
EVERY_ALGORITHM = AlgorithmPolicy(
    algorithms=frozenset({5, 7, 8, 10, 13, 14, 15, 16}),
)
LIMITS = ValidationLimits()


def _rsaWithExponent(exponent: int, bits: int = 1024) -> rsa.RSAPrivateKey:
    """
    An RSA key with any odd public C{exponent} (the library generates only 3 and 65537):
    the primes of a generated key, the private exponent computed again.
    """
    while True:
        base = rsa.generate_private_key(public_exponent=65537, key_size=bits).private_numbers()
        p, q = base.p, base.q
        phi = (p - 1) * (q - 1)
        try:
            d = pow(exponent, -1, phi)
        except ValueError:
            continue  # the exponent shares a factor with p-1 or q-1
        public = rsa.RSAPublicNumbers(exponent, p * q)
        numbers = rsa.RSAPrivateNumbers(
            p,
            q,
            d,
            rsa.rsa_crt_dmp1(d, p),
            rsa.rsa_crt_dmq1(d, q),
            rsa.rsa_crt_iqmp(p, q),
            public,
        )
        return numbers.private_key()


@dataclasses.dataclass
class Signer:
    """
    A private key, its DNSKEY, and what it signs with.
    """

    name: str
    private: Any
    algorithm: Algorithm
    flags: int = 257

    def __post_init__(self) -> None:
        self.dnskey: DNSKEY = dns.dnssec.make_dnskey(
            self.private.public_key(), self.algorithm, flags=self.flags
        )

    def sign(
        self,
        rrset: dns.rrset.RRset,
        signer: dns.name.Name = ZONE,
        *,
        inception: int = NOW - DAY,
        expiration: int = NOW + 30 * DAY,
    ) -> RRSIG:
        return dns.dnssec.sign(
            rrset,
            self.private,
            signer,
            self.dnskey,
            inception=inception,
            expiration=expiration,
            policy=dns.dnssec.allow_all_policy,
        )


def _replace(sig: RRSIG, **fields: Any) -> RRSIG:
    return cast(RRSIG, sig.replace(**fields))


def _signers() -> list[Signer]:
    return [
        Signer("RSASHA1 e=3", _rsaWithExponent(3), Algorithm.RSASHA1),
        Signer(
            "RSASHA1-NSEC3-SHA1",
            rsa.generate_private_key(public_exponent=65537, key_size=1024),
            Algorithm.RSASHA1NSEC3SHA1,
        ),
        Signer(
            "RSASHA256 e=65537",
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            Algorithm.RSASHA256,
        ),
        Signer("RSASHA256 e=2^32+1", _rsaWithExponent(2**32 + 1), Algorithm.RSASHA256),
        Signer(
            "RSASHA512",
            rsa.generate_private_key(public_exponent=65537, key_size=1024),
            Algorithm.RSASHA512,
        ),
        Signer(
            "ECDSAP256SHA256", ec.generate_private_key(ec.SECP256R1()), Algorithm.ECDSAP256SHA256
        ),
        Signer(
            "ECDSAP384SHA384", ec.generate_private_key(ec.SECP384R1()), Algorithm.ECDSAP384SHA384
        ),
        Signer("ED25519", ed25519.Ed25519PrivateKey.generate(), Algorithm.ED25519),
        Signer("ED448", ed448.Ed448PrivateKey.generate(), Algorithm.ED448),
    ]


SIGNERS = _signers()
#: A second key of each kind.
OTHERS = _signers()


@pytest.fixture(params=SIGNERS, ids=[s.name for s in SIGNERS])
def signer(request: pytest.FixtureRequest) -> Signer:
    return cast(Signer, request.param)


@dataclasses.dataclass(frozen=True)
class Outcome:
    verdict: RRsetVerdict
    checks: int


def _run(
    rrset: dns.rrset.RRset,
    sigs: list[RRSIG],
    keys: list[DNSKEY],
    *,
    zone: dns.name.Name = ZONE,
    now: float = NOW,
    limits: ValidationLimits = LIMITS,
    policy: AlgorithmPolicy = EVERY_ALGORITHM,
    spent: int = 0,
) -> Outcome:
    budget = Budget(limits)
    budget.checks = spent
    verdict = verifyRRset(
        rrset, sigs, zone, keys, now=now, limits=limits, policy=policy, budget=budget
    )
    return Outcome(verdict, budget.checks)


@pytest.fixture
def reference() -> Iterator[Callable[..., Outcome]]:
    """
    Runs L{verifyRRset} with dnspython's C{validate_rrsig} doing the checks, as it did
    before it had its own.
    """
    original = rrsigModule.checkWithKey
    calls: list[int] = []

    def byDnspython(
        signed: rrsigModule.SignedData,
        rrsig: RRSIG,
        key: DNSKEY,
        zone: dns.name.Name,
        now: float,
    ) -> None:
        calls.append(1)
        keyset = dns.rdataset.Rdataset(key.rdclass, dns.rdatatype.DNSKEY)
        keyset.add(key)
        # dnspython compares the window without skew: hand it a time inside the window.
        inside = min(max(now, rrsig.inception), rrsig.expiration)
        dns.dnssec.validate_rrsig(
            signed.rrset, rrsig, {zone: keyset}, now=inside, policy=dns.dnssec.allow_all_policy
        )

    def run(*args: Any, **kw: Any) -> Outcome:
        calls.clear()
        rrsigModule.checkWithKey = byDnspython
        try:
            outcome = _run(*args, **kw)
        finally:
            rrsigModule.checkWithKey = original
        # Every check counted went to dnspython.
        assert len(calls) == outcome.checks - kw.get("spent", 0)
        return outcome

    yield run
    assert rrsigModule.checkWithKey is original


def agree(reference: Callable[..., Outcome], *args: Any, **kw: Any) -> Outcome:
    """
    Run L{verifyRRset} both ways and check that both agree in everything; return the outcome.
    """
    expected = reference(*args, **kw)
    actual = _run(*args, **kw)
    assert actual == expected
    return actual


def records(owner: str, rdtype: str, *rdatas: str, ttl: int = 300) -> dns.rrset.RRset:
    return dns.rrset.from_text(owner, ttl, "IN", rdtype, *rdatas)


A = records("www.example.test.", "A", "192.0.2.1", "192.0.2.2", "192.0.2.10")

#: Types whose rdata holds names, with mixed-case names: lowercased in canonical form
#: (RFC 4034 section 6.2, RFC 6840 section 5.1) except where dnspython keeps them (NSEC).
WITH_NAMES = [
    ("NS", ["NS1.Example.TEST.", "ns2.OTHER.test."]),
    ("CNAME", ["Target.EXAMPLE.test."]),
    ("MX", ["10 Mail.Example.Test.", "20 mx2.EXAMPLE.test."]),
    ("SOA", ["NS1.Example.Test. HostMaster.Example.Test. 1 7200 3600 1209600 300"]),
    ("SRV", ["0 5 443 Server.Example.TEST."]),
    ("PTR", ["Host.Example.Test."]),
    ("DNAME", ["Other.TEST."]),
    ("NSEC", ["Zzz.Example.Test. A NS SOA RRSIG NSEC"]),
    ("TXT", ['"Not A Name"']),
]


def lowered(rrset: dns.rrset.RRset) -> dns.rrset.RRset:
    """
    The same RRset with every name in it in lower case.
    """
    texts = [
        rdata.to_text().lower() if rrset.rdtype != dns.rdatatype.TXT else rdata.to_text()
        for rdata in rrset
    ]
    return dns.rrset.from_text(rrset.name.to_text().lower(), rrset.ttl, "IN", rrset.rdtype, *texts)


def test_valid(reference: Callable[..., Outcome], signer: Signer) -> None:
    outcome = agree(reference, A, [signer.sign(A)], [signer.dnskey])
    assert outcome.verdict.status is Status.SECURE, outcome.verdict.reason
    assert outcome.checks == 1


def test_recordOrderDoesNotMatter(reference: Callable[..., Outcome], signer: Signer) -> None:
    sig = signer.sign(A)
    reordered = records("www.example.test.", "A", "192.0.2.10", "192.0.2.2", "192.0.2.1")
    assert agree(reference, reordered, [sig], [signer.dnskey]).verdict.status is Status.SECURE


def test_mixedCaseOwner(reference: Callable[..., Outcome], signer: Signer) -> None:
    sig = signer.sign(A)
    shouting = records("WWW.Example.TEST.", "A", "192.0.2.1", "192.0.2.2", "192.0.2.10")
    outcome = agree(reference, shouting, [sig], [signer.dnskey], zone=n("EXAMPLE.test."))
    assert outcome.verdict.status is Status.SECURE


@pytest.mark.parametrize(("rdtype", "rdatas"), WITH_NAMES, ids=[t for t, _ in WITH_NAMES])
def test_embeddedNames(
    reference: Callable[..., Outcome], signer: Signer, rdtype: str, rdatas: list[str]
) -> None:
    """
    Signed as published, and again in lower case: names in the rdata of the types RFC 4034
    lists are compared lowercased, the others (NSEC's next name) as written.
    """
    published = records("Host.Example.Test.", rdtype, *rdatas)
    assert (
        agree(reference, published, [signer.sign(published)], [signer.dnskey]).verdict.status
        is Status.SECURE
    )
    low = lowered(published)
    outcome = agree(reference, published, [signer.sign(low)], [signer.dnskey])
    expected = Status.BOGUS if rdtype == "NSEC" else Status.SECURE
    assert outcome.verdict.status is expected, outcome.verdict.reason


def test_wildcardExpansion(reference: Callable[..., Outcome], signer: Signer) -> None:
    wild = records("*.Example.test.", "MX", "10 Mail.Example.Test.")
    sig = signer.sign(wild)
    for owner in ("a.example.test.", "X.b.Example.TEST.", "*.example.test."):
        expanded = records(owner, "MX", "10 mail.example.test.")
        outcome = agree(reference, expanded, [sig], [signer.dnskey])
        assert outcome.verdict.status is Status.SECURE, (owner, outcome.verdict.reason)
    # A wildcard owner signed with a label count other than its own: never valid.
    for labels in (0, 1):
        bad = _replace(sig, labels=labels)
        outcome = agree(reference, wild, [bad], [signer.dnskey])
        assert outcome.verdict.status is Status.BOGUS
        assert "wild owner name has wrong label length" in outcome.verdict.reason


@pytest.mark.parametrize("labels", [0, 1, 2, 4, 5])
def test_wrongLabels(reference: Callable[..., Outcome], signer: Signer, labels: int) -> None:
    """
    A label count below the owner's makes the check a wildcard's (which fails); above it,
    the signature is not tried.
    """
    sig = _replace(signer.sign(A), labels=labels)
    outcome = agree(reference, A, [sig], [signer.dnskey])
    assert outcome.verdict.status is Status.BOGUS
    assert outcome.checks == (1 if labels < 3 else 0)


@pytest.mark.parametrize(
    ("inception", "expiration"),
    [
        (NOW - 2 * DAY, NOW - DAY),
        (NOW + DAY, NOW + 2 * DAY),
        (NOW + DAY, NOW - DAY),
        (NOW - DAY, NOW - 100),  # expired, within the clock skew
        (NOW + 100, NOW + DAY),  # not yet valid, within the clock skew
    ],
)
def test_validity(
    reference: Callable[..., Outcome], signer: Signer, inception: int, expiration: int
) -> None:
    sig = signer.sign(A, inception=inception, expiration=expiration)
    agree(reference, A, [sig], [signer.dnskey])


def test_wrongKey(reference: Callable[..., Outcome], signer: Signer) -> None:
    other = OTHERS[SIGNERS.index(signer)]
    sig = signer.sign(A)
    # Another key of the algorithm, claiming the signature's key tag.
    impostor = _replace(sig, key_tag=dns.dnssec.key_id(other.dnskey))
    assert agree(reference, A, [impostor], [other.dnskey]).verdict.status is Status.BOGUS
    # A key that does not even share the tag.
    assert agree(reference, A, [sig], [other.dnskey]).verdict.status is Status.BOGUS


def test_tagCollisions(reference: Callable[..., Outcome], signer: Signer) -> None:
    """
    Keys sharing the signature's tag and algorithm, tried in turn within the limits, the
    real one among them or not.
    """
    sig = signer.sign(A)
    fakes = [
        collidingKey(dns.dnssec.key_id(signer.dnskey), signer.algorithm, 257) for _ in range(3)
    ]
    for keys in ([fakes[0], signer.dnskey], [*fakes, signer.dnskey], fakes):
        agree(reference, A, [sig], keys)
        agree(reference, A, [sig, sig], keys, spent=LIMITS.maxSignatureChecksPerLookup - 3)
        agree(reference, A, [sig] * 6, keys)


def test_tampered(reference: Callable[..., Outcome], signer: Signer) -> None:
    sig = signer.sign(A)
    changed = records("www.example.test.", "A", "192.0.2.1", "192.0.2.2", "192.0.2.11")
    assert agree(reference, changed, [sig], [signer.dnskey]).verdict.status is Status.BOGUS
    fewer = records("www.example.test.", "A", "192.0.2.1", "192.0.2.2")
    assert agree(reference, fewer, [sig], [signer.dnskey]).verdict.status is Status.BOGUS
    flipped = bytearray(sig.signature)
    flipped[len(flipped) // 2] ^= 1
    forged = _replace(sig, signature=bytes(flipped))
    assert agree(reference, A, [forged], [signer.dnskey]).verdict.status is Status.BOGUS
    short = _replace(sig, signature=sig.signature[:-1])
    assert agree(reference, A, [short], [signer.dnskey]).verdict.status is Status.BOGUS
    for field in ("original_ttl", "expiration", "inception"):
        moved = _replace(sig, **{field: getattr(sig, field) - 1})
        assert agree(reference, A, [moved], [signer.dnskey]).verdict.status is Status.BOGUS


def test_ttlDoesNotMatter(reference: Callable[..., Outcome], signer: Signer) -> None:
    """
    The records' TTL as received does not enter the check (the original TTL does), only
    the TTL of the verdict.
    """
    sig = signer.sign(A)
    for ttl in (0, 1, 299, 301, 86400 * 7):
        received = records(
            "www.example.test.", "A", "192.0.2.1", "192.0.2.2", "192.0.2.10", ttl=ttl
        )
        outcome = agree(reference, received, [sig], [signer.dnskey])
        assert outcome.verdict.status is Status.SECURE
        assert outcome.verdict.ttl == min(ttl, 300)


def test_revokedKey(reference: Callable[..., Outcome], signer: Signer) -> None:
    revoked = Signer("revoked", signer.private, signer.algorithm, flags=257 | 0x80)
    keys = dns.rrset.from_rdata(ZONE, 3600, revoked.dnskey)
    assert agree(reference, A, [revoked.sign(A)], [revoked.dnskey]).verdict.status is Status.BOGUS
    outcome = agree(reference, keys, [revoked.sign(keys)], [revoked.dnskey])
    assert outcome.verdict.status is Status.SECURE


def test_dnskeyRRset(reference: Callable[..., Outcome], signer: Signer) -> None:
    keys = dns.rrset.from_rdata(ZONE, 3600, signer.dnskey, SIGNERS[-1].dnskey, SIGNERS[0].dnskey)
    outcome = agree(reference, keys, [signer.sign(keys)], [signer.dnskey])
    assert outcome.verdict.status is Status.SECURE


def _withMaterial(key: DNSKEY, material: bytes) -> DNSKEY:
    return DNSKEY(key.rdclass, key.rdtype, key.flags, key.protocol, key.algorithm, material)


def test_invalidKeyMaterial(reference: Callable[..., Outcome], signer: Signer) -> None:
    """
    Key material the algorithm's key class rejects (truncated, an even RSA exponent, a
    point off the curve): no signature verifies with it, as before.
    """
    sig = signer.sign(A)
    material = signer.dnskey.key
    broken = [material[:1], material[: len(material) // 2], material + b"\0\0"]
    if signer.algorithm in (5, 7, 8, 10):
        broken += [b"\x01\x02" + material[2:], b"\x00\x00\x01\x03" + material[4:]]
    else:
        broken += [bytes(len(material)), b"\xff" * len(material)]
    for bad in broken:
        key = _withMaterial(signer.dnskey, bad)
        outcome = agree(reference, A, [_replace(sig, key_tag=dns.dnssec.key_id(key))], [key])
        assert outcome.checks == (1 if signer.algorithm not in (5, 7, 8, 10) else outcome.checks)


def test_algorithmDnspythonLacks(reference: Callable[..., Outcome]) -> None:
    """
    An algorithm the policy allows but dnspython does not implement (ECC-GOST): unsupported.
    """
    base = SIGNERS[-2].sign(A)
    key = collidingKey(1234, 12, 257)
    sig = _replace(base, algorithm=12, key_tag=1234)
    policy = AlgorithmPolicy(algorithms=frozenset({12}))
    outcome = agree(reference, A, [sig], [key], policy=policy)
    assert outcome.verdict.status is Status.BOGUS
    assert "not supported by dnspython" in outcome.verdict.reason


def test_exponentTooLarge(reference: Callable[..., Outcome]) -> None:
    signer = SIGNERS[3]  # e = 2^32 + 1: 33 bits
    sig = signer.sign(A)
    tight = ValidationLimits(maxRSAExponentBits=32)
    assert agree(reference, A, [sig], [signer.dnskey]).verdict.status is Status.SECURE
    outcome = agree(reference, A, [sig], [signer.dnskey], limits=tight)
    assert outcome.verdict.status is Status.BOGUS and outcome.checks == 0


def _outcome(function: Callable[..., bytes], *args: Any) -> bytes | str:
    try:
        return function(*args)
    except dns.dnssec.ValidationFailure as e:
        return f"ValidationFailure: {e}"


def test_signedDataIsDnspythons(signer: Signer) -> None:
    """
    The data signed is byte for byte what dnspython signs and checks, wildcards included.
    """
    wild = [records("*.Example.test.", "A", "192.0.2.1"), records("*.test.", "NS", "A.test.")]
    for rrset in [A, *wild, *(records("a.B.example.test.", t, *r) for t, r in WITH_NAMES)]:
        for labels in range(len(rrset.name) - 1, -1, -1):
            sig = _replace(signer.sign(rrset), labels=labels)
            assert _outcome(SignedData(rrset).forSignature, sig) == _outcome(
                dns.dnssec._make_rrsig_signature_data, rrset, sig
            )


def test_checkSignatureAgrees(signer: Signer) -> None:
    """
    L{checkSignature} accepts exactly the signatures C{validate_rrsig} accepts with the key.
    """
    good = signer.sign(A)
    keyset = dns.rdataset.from_rdata(3600, signer.dnskey)
    for sig in (
        good,
        _replace(good, signature=os.urandom(len(good.signature))),
        _replace(good, original_ttl=1),
    ):
        try:
            dns.dnssec.validate_rrsig(
                A, sig, {ZONE: keyset}, now=NOW, policy=dns.dnssec.allow_all_policy
            )
            expected = True
        except dns.dnssec.ValidationFailure:
            expected = False
        try:
            checkSignature(SignedData(A).forSignature(sig), sig, signer.dnskey)
            actual = True
        except dns.dnssec.ValidationFailure:
            actual = False
        assert actual == expected


# -- properties ----------------------------------------------------------------------------

LABEL = st.text(alphabet="abcXYZ-0", min_size=1, max_size=5)
OWNERS = st.lists(LABEL, min_size=0, max_size=3).map(lambda labels: [*labels, "example", "test"])
TYPED = st.sampled_from(
    [
        ("A", ["192.0.2.1", "192.0.2.77", "198.51.100.1"]),
        ("MX", ["10 Mail.Example.Test.", "5 b.EXAMPLE.test.", "20 a.b.c."]),
        ("NS", ["Ns1.Example.Test.", "NS2.example.TEST."]),
        ("TXT", ['"a"', '"B c"', '"x"']),
        ("CNAME", ["T.Example.Test."]),
    ]
)


def _case(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if i < len(flips) and flips[i] else c for i, c in enumerate(text))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    owner=OWNERS,
    typed=TYPED,
    count=st.integers(min_value=1, max_value=3),
    signerIndex=st.integers(min_value=0, max_value=len(SIGNERS) - 1),
    wildcard=st.booleans(),
    flips=st.lists(st.booleans(), max_size=40),
    change=st.sampled_from(
        ["none", "ttl", "original_ttl", "labels", "rdata", "order", "case", "signature", "key_tag"]
    ),
    ttl=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_agreesProperty(
    reference: Callable[..., Outcome],
    owner: list[str],
    typed: tuple[str, list[str]],
    count: int,
    signerIndex: int,
    wildcard: bool,
    flips: list[bool],
    change: str,
    ttl: int,
) -> None:
    """
    Random RRsets, signed as published or as a wildcard, then changed in one way or not:
    both checks agree.
    """
    signer = SIGNERS[signerIndex]
    rdtype, rdatas = typed
    rdatas = rdatas[:count] if rdtype != "CNAME" else rdatas[:1]
    name = ".".join(owner) + "."
    signedName = ("*." + ".".join(owner[1:]) + ".") if wildcard and len(owner) > 2 else name
    signed = records(signedName, rdtype, *rdatas)
    sig = signer.sign(signed)
    received = records(_case(name, flips), rdtype, *(_case(r, flips[::-1]) for r in rdatas))
    if change == "ttl":
        received.ttl = ttl
    elif change == "original_ttl":
        sig = _replace(sig, original_ttl=ttl)
    elif change == "labels":
        sig = _replace(sig, labels=ttl % (len(owner) + 2))
    elif change == "rdata" and rdtype == "A":
        received = records(name, rdtype, *rdatas[:-1], "203.0.113.9")
    elif change == "order":
        received = records(name, rdtype, *reversed(rdatas))
    elif change == "case":
        received = records(_case(name, [True] * 40), rdtype, *rdatas)
    elif change == "signature":
        sig = _replace(sig, signature=sig.signature[:-1] + bytes([sig.signature[-1] ^ 0x40]))
    elif change == "key_tag":
        sig = _replace(sig, key_tag=ttl & 0xFFFF)
    agree(
        reference,
        received,
        [sig],
        [signer.dnskey, SIGNERS[(signerIndex + 1) % len(SIGNERS)].dnskey],
    )


@settings(max_examples=300, deadline=None)
@given(
    flags=st.integers(min_value=0, max_value=0xFFFF),
    algorithm=st.integers(min_value=0, max_value=255),
    material=st.binary(min_size=0, max_size=300),
)
def test_keyTagProperty(flags: int, algorithm: int, material: bytes) -> None:
    """
    L{keyTag} is dnspython's C{dns.dnssec.key_id} for any key, of odd or even length, RSA/MD5
    included.
    """
    key = DNSKEY(dns.rdataclass.IN, dns.rdatatype.DNSKEY, flags, 3, algorithm, material)
    assert keyTag(key) == dns.dnssec.key_id(key)


@settings(max_examples=100, deadline=None)
@given(
    owner=st.lists(LABEL, min_size=0, max_size=4),
    digest=st.sampled_from([1, 2, 4]),
    signerIndex=st.integers(min_value=0, max_value=len(SIGNERS) - 1),
)
def test_dsDigestProperty(owner: list[str], digest: int, signerIndex: int) -> None:
    zone = dns.name.from_text(".".join(owner) + "." if owner else ".")
    key = SIGNERS[signerIndex].dnskey
    made = dns.dnssec.make_ds(
        zone,
        key,
        DSDigest(digest),
        policy=dns.dnssec.allow_all_policy,
        validating=True,
    )
    assert dsDigest(zone, key, DSDigest(digest)) == made.digest


def test_dsDigestUnknownType() -> None:
    with pytest.raises(dns.dnssec.UnsupportedAlgorithm):
        dsDigest(ZONE, SIGNERS[0].dnskey, 3)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(a=st.lists(LABEL, max_size=3), b=st.lists(LABEL, max_size=3), flips=st.lists(st.booleans()))
def test_nameKeyProperty(a: list[str], b: list[str], flips: list[bool]) -> None:
    """
    Names have equal keys exactly when they are equal names, and L{sameName} says so.
    """
    first = dns.name.from_text(".".join(a) + "." if a else ".")
    for second in (
        dns.name.from_text(".".join(b) + "." if b else "."),
        dns.name.from_text(_case(first.to_text(), flips)),
        dns.name.from_text(".".join(a), None) if a else first,
    ):
        assert (nameKey(first) == nameKey(second)) == (first == second)
        assert sameName(first, second) == (first == second) == sameName(second, first)


@settings(max_examples=300, deadline=None)
@given(
    a=st.lists(LABEL, max_size=3),
    b=st.lists(LABEL, max_size=3),
    flips=st.lists(st.booleans()),
    relative=st.booleans(),
)
def test_withinProperty(a: list[str], b: list[str], flips: list[bool], relative: bool) -> None:
    """
    L{within} says what C{is_subdomain} says: of names with or without a common ending, in
    any case, absolute or not.
    """
    inner = dns.name.from_text(_case(".".join(b + a) + ".", flips))
    for outer in (
        dns.name.from_text(".".join(a) + "." if a else "."),
        dns.name.from_text(".".join(b) + "." if b else "."),
        dns.name.from_text(".".join(a), None) if a and relative else inner,
        dns.name.from_text(".".join(b + a), None) if b + a else inner,
    ):
        for name, zone in ((inner, outer), (outer, inner)):
            assert within(name, zone) == name.is_subdomain(zone), (name, zone)


@settings(max_examples=200, deadline=None)
@given(a=st.lists(LABEL, max_size=4), flips=st.lists(st.booleans()))
def test_parentNameProperty(a: list[str], flips: list[bool]) -> None:
    """
    L{parentName} is C{Name.parent()} for any absolute name but the root: the same labels,
    spelled the same, equal and hashing equal; the root has no parent, as in dnspython.
    """
    name = dns.name.from_text(_case(".".join(a) + "." if a else ".", flips))
    if name == dns.name.root:
        with pytest.raises(dns.name.NoParent):
            parentName(name)
        return
    made, expected = parentName(name), name.parent()
    assert type(made) is type(expected) and made.labels == expected.labels
    assert made == expected and hash(made) == hash(expected)
    assert made.to_text() == expected.to_text() and made.is_absolute()


# -- the key cache --------------------------------------------------------------------------


def test_keyCacheBounded() -> None:
    """
    The parsed keys kept never exceed L{KEY_CACHE_SIZE}; the least recently used go first.
    """
    publicKey.cache_clear()
    first = SIGNERS[-2].dnskey
    assert publicKey(first.algorithm, first.key) is not None
    for _ in range(KEY_CACHE_SIZE + 50):
        public = ed25519.Ed25519PrivateKey.generate().public_key()
        key = dns.dnssec.make_dnskey(public, Algorithm.ED25519)
        assert publicKey(key.algorithm, key.key) is not None
        assert publicKey.cache_info().currsize <= KEY_CACHE_SIZE
    info = publicKey.cache_info()
    assert info.currsize == KEY_CACHE_SIZE == info.maxsize
    publicKey(first.algorithm, first.key)
    assert publicKey.cache_info().misses == info.misses + 1  # the first key was evicted


def test_keyCacheKeepsInvalidAsNone() -> None:
    """
    Material the algorithm's class rejects is kept as such (C{None}), not parsed again.
    """
    publicKey.cache_clear()
    assert publicKey(13, b"\0" * 64) is None
    assert publicKey(13, b"\0" * 64) is None
    assert publicKey.cache_info().hits == 1
    with pytest.raises(dns.dnssec.UnsupportedAlgorithm):
        publicKey(12, b"\0" * 64)


def test_nameTextsBounded() -> None:
    """
    The texts of names that reasons repeat (signers' names among them) are kept for at most
    C{NAME_TEXTS} names, each the text dnspython gives, its case kept.
    """
    from txdane.validation import cache

    sig = SIGNERS[-2].sign(A)
    for i in range(cache.NAME_TEXTS * 2 + 3):
        signer = dns.name.from_text(f"z{i}.Example.test.")
        text = rrsigModule._what(_replace(sig, signer=signer))
        assert text == f"RRSIG {sig.key_tag}/{sig.algorithm} by {signer}"
        assert cache.nameText(signer) == str(signer) == f"z{i}.Example.test."
        assert 0 < len(cache._nameTexts) <= cache.NAME_TEXTS
    assert cache.nameText(None) == "None"


def test_cacheNameKeys() -> None:
    """
    A name given to the cache stands for its L{nameKey}: found again by either, whatever the
    case of its letters; other keys are not changed.
    """
    from twisted.internet.task import Clock

    from txdane.validation.cache import ExpiringCache

    cache: ExpiringCache[str] = ExpiringCache(Clock(), 10, 100)
    cache.put(n("Example.TEST."), "zone", 10)
    assert cache.get(n("example.test.")) == "zone"
    assert cache.get(nameKey(n("EXAMPLE.test."))) == "zone"
    assert cache.get(n("other.test.")) is None
    cache.put(nameKey(n("b.test.")), "b", 10)
    assert cache.get(n("B.Test.")) == "b"
    cache.put(("text.", "A"), "text", 10)
    assert cache.get(("text.", "A")) == "text" and len(cache) == 3

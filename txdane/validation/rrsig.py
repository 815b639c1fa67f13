"""
Checking the RRSIGs of one RRset, one signature and one key at a time, within a budget.

dnspython's C{validate_rrsig} does the cryptography; this module adds what it leaves out
(RFC 4035 section 5.3.1 and REFERENCE rules): the signer must be the zone holding the RRset,
the algorithm must be in the policy, the validity window gets a small clock-skew allowance,
every key tried is counted against the limits (KeyTrap), the TTL is capped, and wildcard
expansion is reported so the caller can demand the proof that no closer name exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import dns.dnssec
import dns.name
import dns.rdataset
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.RRSIG import RRSIG

from txdane.status import Status
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.answer import SignatureUse
from txdane.validation.ede import EDE
from txdane.validation.limits import Budget, ValidationLimits

_ZONE = 0x0100
_REVOKE = 0x0080


@dataclasses.dataclass(frozen=True)
class RRsetVerdict:
    """
    The result of checking an RRset's signatures.

    @ivar status: secure when a signature verified, else bogus.
    @ivar reason: one line: which signature verified, or why none did.
    @ivar ede: the RFC 8914 code when bogus.
    @ivar signature: the signature that verified it.
    @ivar ttl: the TTL capped by the original TTL and the signature's expiry.
    @ivar wildcardParent: when the answer was synthesized from a wildcard, the name the
        wildcard is immediately below (its closest encloser); else L{None}.
    """

    status: Status
    reason: str
    ede: int | None = None
    signature: SignatureUse | None = None
    ttl: int = 0
    wildcardParent: dns.name.Name | None = None


def ownerLabels(name: dns.name.Name) -> int:
    """
    The label count an RRSIG over records at C{name} must carry: the labels without the root
    and without a leading C{*} (RFC 4034 section 3.1.3).
    """
    return len(name) - 1 - (1 if name.is_wild() else 0)


def _keyUsable(key: DNSKEY, rrsig: RRSIG) -> bool:
    return (
        key.algorithm == rrsig.algorithm
        and key.flags & _ZONE != 0
        and key.protocol == 3
        and (key.flags & _REVOKE == 0 or rrsig.type_covered == dns.rdatatype.DNSKEY)
    )


_RSA_ALGORITHMS = frozenset({5, 7, 8, 10})


def rsaExponentBits(key: DNSKEY) -> int:
    """
    The bit length of an RSA key's public exponent (RFC 3110 wire form); 0 for other keys,
    and a huge number for RSA key material too short to hold the exponent it announces.
    """
    if key.algorithm not in _RSA_ALGORITHMS:
        return 0
    material = key.key
    if material[:1] == b"\0":
        length, start = int.from_bytes(material[1:3], "big"), 3
    else:
        length, start = (material[0] if material else 0), 1
    exponent = material[start : start + length]
    if len(material) < 3 or len(exponent) < length:
        return 1 << 16
    return int.from_bytes(exponent, "big").bit_length()


def keysByTag(keys: Iterable[DNSKEY]) -> dict[int, list[DNSKEY]]:
    """
    The keys grouped by key tag, each tag computed once: matching signatures or DS records
    against keys then costs one pass over each, however many of them an attacker publishes.
    """
    byTag: dict[int, list[DNSKEY]] = {}
    for key in keys:
        byTag.setdefault(key.key_id(), []).append(key)
    return byTag


def verifyRRset(
    rrset: dns.rrset.RRset,
    rrsigs: Iterable[RRSIG],
    zone: dns.name.Name,
    keys: Sequence[DNSKEY],
    *,
    now: float,
    limits: ValidationLimits,
    policy: AlgorithmPolicy,
    budget: Budget,
) -> RRsetVerdict:
    """
    Check C{rrset} against its signatures with the keys of C{zone}, until one verifies.

    Signatures by another signer, of another type, with a label count larger than the owner's,
    or of an algorithm outside C{policy} are skipped with a reason. Every key tried costs one
    check, counted per RRset and per lookup.

    @param rrset: the records.
    @param rrsigs: the RRSIG records that cover them.
    @param zone: the zone that holds the RRset; only signatures by it are considered.
    @param keys: the zone's validated keys (for a DNSKEY RRset: only the keys that a DS or a
        trust anchor points to).
    @param now: the current time, seconds since the epoch.
    @return: secure with the signature used, or bogus with the reason of the failures.
    """
    owner = rrset.name
    failures: list[tuple[int, str]] = []
    checks = 0
    labels = ownerLabels(owner)
    if not owner.is_subdomain(zone):
        return RRsetVerdict(
            Status.BOGUS,
            f"{owner} is not in zone {zone}, which is asked to vouch for it",
            EDE.DNSSEC_BOGUS,
        )
    sigs = list(rrsigs)
    byTag = keysByTag(keys)
    if not sigs:
        return RRsetVerdict(
            Status.BOGUS,
            f"{owner} {dns.rdatatype.to_text(rrset.rdtype)} has no RRSIG (zone {zone} is signed)",
            EDE.RRSIGS_MISSING,
        )
    for rrsig in sigs:
        what = f"RRSIG {rrsig.key_tag}/{rrsig.algorithm} by {rrsig.signer}"
        if rrsig.signer != zone:
            failures.append(
                (EDE.DNSSEC_BOGUS, f"{what}: signer is not {zone}, the zone holding {owner}")
            )
            continue
        if rrsig.type_covered != rrset.rdtype or rrsig.rdclass != rrset.rdclass:
            failures.append((EDE.DNSSEC_BOGUS, f"{what}: covers another type or class"))
            continue
        if rrsig.labels > labels:
            failures.append((EDE.DNSSEC_BOGUS, f"{what}: label count {rrsig.labels} too large"))
            continue
        if not policy.supportsAlgorithm(rrsig.algorithm):
            failures.append(
                (
                    EDE.UNSUPPORTED_DNSKEY_ALGORITHM,
                    f"{what}: algorithm {rrsig.algorithm} is not supported",
                )
            )
            continue
        if rrsig.inception > rrsig.expiration:
            failures.append(
                (EDE.SIGNATURE_EXPIRED_BEFORE_VALID, f"{what}: expires before its inception")
            )
            continue
        if rrsig.expiration + limits.clockSkew < now:
            failures.append((EDE.SIGNATURE_EXPIRED, f"{what}: expired"))
            continue
        if rrsig.inception - limits.clockSkew > now:
            failures.append((EDE.SIGNATURE_NOT_YET_VALID, f"{what}: not yet valid"))
            continue
        candidates = [key for key in byTag.get(rrsig.key_tag, ()) if _keyUsable(key, rrsig)]
        if not candidates:
            failures.append((EDE.DNSKEY_MISSING, f"{what}: no such key in {zone} DNSKEY"))
            continue
        bits = max(rsaExponentBits(key) for key in candidates)
        candidates = [k for k in candidates if rsaExponentBits(k) <= limits.maxRSAExponentBits]
        if not candidates:
            failures.append(
                (
                    EDE.DNSSEC_BOGUS,
                    f"{what}: the key's RSA exponent has {bits} bits (limit "
                    f"{limits.maxRSAExponentBits} bits)",
                )
            )
            continue
        # dnspython compares the window without skew: hand it a time inside the window.
        inside = min(max(now, rrsig.inception), rrsig.expiration)
        for key in candidates[: limits.maxKeysPerKeyTag]:
            if checks >= limits.maxSignatureChecksPerRRset or budget.exhausted:
                return RRsetVerdict(
                    Status.BOGUS,
                    f"{owner} {dns.rdatatype.to_text(rrset.rdtype)}: gave up after "
                    f"{budget.checks} signature checks (limits: "
                    f"{limits.maxSignatureChecksPerRRset} per RRset, "
                    f"{limits.maxSignatureChecksPerLookup} per lookup)",
                    EDE.DNSSEC_BOGUS,
                )
            checks += 1
            budget.checks += 1
            keyset = dns.rdataset.Rdataset(key.rdclass, dns.rdatatype.DNSKEY)
            keyset.add(key)
            try:
                dns.dnssec.validate_rrsig(
                    rrset, rrsig, {zone: keyset}, now=inside, policy=dns.dnssec.allow_all_policy
                )
            except dns.dnssec.ValidationFailure as e:
                failures.append((EDE.DNSSEC_BOGUS, f"{what}: {e}"))
                continue
            except dns.dnssec.UnsupportedAlgorithm as e:
                failures.append((EDE.UNSUPPORTED_DNSKEY_ALGORITHM, f"{what}: {e}"))
                continue
            use = SignatureUse(
                owner=owner,
                covered=rrset.rdtype,
                signer=rrsig.signer,
                keyTag=rrsig.key_tag,
                algorithm=rrsig.algorithm,
                inception=rrsig.inception,
                expiration=rrsig.expiration,
            )
            ttl = max(0, min(rrset.ttl, rrsig.original_ttl, int(rrsig.expiration - now)))
            wildcardParent = None
            if rrsig.labels < labels:
                wildcardParent = owner.split(rrsig.labels + 1)[1]
            return RRsetVerdict(
                Status.SECURE, f"verified by {what}", None, use, ttl, wildcardParent
            )
        if len(candidates) > limits.maxKeysPerKeyTag:
            failures.append(
                (
                    EDE.DNSSEC_BOGUS,
                    f"{what}: {len(candidates)} keys share the tag, only "
                    f"{limits.maxKeysPerKeyTag} tried",
                )
            )
    ede, _ = failures[0]
    # One specific cause when all failures agree, else generic bogus.
    if any(code != ede for code, _ in failures):
        ede = EDE.DNSSEC_BOGUS
    return RRsetVerdict(
        Status.BOGUS,
        f"{owner} {dns.rdatatype.to_text(rrset.rdtype)}: no valid signature ("
        + "; ".join(text for _, text in failures)
        + ")",
        ede,
    )

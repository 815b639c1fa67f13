"""
Checking the RRSIGs of one RRset, one signature and one key at a time, within a budget.

The rules dnspython's C{validate_rrsig} leaves out are here (RFC 4035 section 5.3.1 and
REFERENCE rules): the signer must be the zone holding the RRset, the algorithm must be in the
policy, the validity window gets a small clock-skew allowance, every key tried is counted
against the limits (KeyTrap), the TTL is capped, and wildcard expansion is reported so the
caller can demand the proof that no closer name exists.

The check itself (L{checkSignature}) accepts and rejects exactly what C{validate_rrsig}
does, at a fraction of its cost: the signed data (RFC 4034 section 3.1.8.1) is built once
per RRset and signature, from the records' canonical forms made once per RRset in a lookup
(L{sortedRecords}), and the public key of a DNSKEY is parsed once while it is among the
L{KEY_CACHE_SIZE} most recently used (dnspython's per-algorithm key classes still parse and
verify).
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import struct
from collections.abc import Iterable, Sequence

import dns.dnssec
import dns.dnssecalgs
import dns.dnssecalgs.base
import dns.name
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
from cryptography.exceptions import InvalidSignature
from dns.dnssecalgs.rsa import PublicRSA
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.RRSIG import RRSIG

from txdane.status import Status
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.answer import SignatureUse
from txdane.validation.cache import RememberLast, nameText, sameName, within
from txdane.validation.ede import EDE
from txdane.validation.limits import (
    FAILURES_NAMED,
    MAX_RSA_MODULUS_BITS,
    Budget,
    CanonicalForms,
    ValidationLimits,
)

_ZONE = 0x0100
_REVOKE = 0x0080
_RSAMD5 = 1

#: RRSIG times are 32-bit serial numbers (RFC 4034 section 3.1.5): compared modulo 2^32,
#: each before the times up to 2^31 seconds (68 years) after it (RFC 1982).
_SERIAL_MODULUS = 1 << 32
_SERIAL_HALF = 1 << 31

#: Public keys kept parsed, by algorithm and key material, most recently used first: a
#: lookup needs the keys of every zone of its chain, a few per zone.
KEY_CACHE_SIZE = 512


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
        wildcard is immediately below (its closest encloser); else C{None}.
    """

    status: Status
    reason: str
    ede: int | None = None
    signature: SignatureUse | None = None
    ttl: int = 0
    wildcardParent: dns.name.Name | None = None


def serialAfter(a: float, b: float) -> bool:
    """
    Whether the time C{a} comes after C{b} in the serial number arithmetic of RRSIG times
    (RFC 4034 section 3.1.5, RFC 1982): less than 2^31 seconds after it, modulo 2^32. A
    signature's inception and expiration then mean the same after 2106 as before, and no
    signature is valid for more than 68 years (one whose expiration is further from its
    inception expires before it is valid, as Unbound and BIND judge it).
    """
    return 0 < (a - b) % _SERIAL_MODULUS < _SERIAL_HALF


def secondsUntil(expiration: int, now: float) -> int:
    """
    The whole seconds from C{now} to an RRSIG's C{expiration} (serial number arithmetic); 0
    when it is not after C{now}.
    """
    if not serialAfter(expiration, now):
        return 0
    return int((expiration - now) % _SERIAL_MODULUS)


def ownerLabels(name: dns.name.Name) -> int:
    """
    The label count an RRSIG over records at C{name} must carry: the labels without the root
    and without a leading C{*} (RFC 4034 section 3.1.3).
    """
    return len(name) - 1 - (1 if name.is_wild() else 0)


def _keyUsable(key: DNSKEY, rrsig: RRSIG) -> bool:
    flags = int(key.flags)  # plain integer operations: those of the flag enum are slow
    return (
        key.algorithm == rrsig.algorithm
        and flags & _ZONE != 0
        and key.protocol == 3
        and (flags & _REVOKE == 0 or rrsig.type_covered == dns.rdatatype.DNSKEY)
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


def keyWire(key: DNSKEY) -> bytes:
    """
    The wire form of a DNSKEY's rdata (flags, protocol, algorithm, key material): what its
    key tag and its DS digests are computed over.
    """
    return struct.pack("!HBB", key.flags, key.protocol, key.algorithm) + key.key


def keyTag(key: DNSKEY) -> int:
    """
    The key tag of C{key} (RFC 4034 appendix B), as C{key.key_id()} computes it, summed by
    the byte instead of by a loop over the 16-bit words.
    """
    wire = keyWire(key)
    if key.algorithm == _RSAMD5:
        return (wire[-3] << 8) + wire[-2]
    total = (sum(wire[0::2]) << 8) + sum(wire[1::2])
    total += (total >> 16) & 0xFFFF
    return total & 0xFFFF


def keysByTag(keys: Iterable[DNSKEY]) -> dict[int, list[DNSKEY]]:
    """
    The keys grouped by key tag, each tag computed once: matching signatures or DS records
    against keys then costs one pass over each, however many of them an attacker publishes.
    """
    byTag: dict[int, list[DNSKEY]] = {}
    for key in keys:
        byTag.setdefault(keyTag(key), []).append(key)
    return byTag


#: L{keysByTag} of the last zone's keys, for each RRset they verify (a response of many).
_keysByTag = RememberLast(keysByTag)


@functools.lru_cache(maxsize=KEY_CACHE_SIZE)
def publicKey(algorithm: int, material: bytes) -> dns.dnssecalgs.base.GenericPublicKey | None:
    """
    The public key of a DNSKEY of C{algorithm} with key C{material}, parsed by dnspython's
    class for the algorithm; C{None} when that rejects the material (C{ValueError}: then
    no signature verifies with it), or for an RSA key whose modulus is longer than
    L{MAX_RSA_MODULUS_BITS <txdane.validation.limits.MAX_RSA_MODULUS_BITS>} (with which
    C{validate_rrsig} would still check). The last L{KEY_CACHE_SIZE} keys asked for are kept.

    @raise dns.dnssec.UnsupportedAlgorithm: dnspython has no class for the algorithm (this
        is not kept).
    """
    dnskey = DNSKEY(dns.rdataclass.IN, dns.rdatatype.DNSKEY, _ZONE, 3, algorithm, material)
    cls = dns.dnssecalgs.get_algorithm_cls_from_dnskey(dnskey).public_cls
    try:
        public = cls.from_dnskey(dnskey)
    except ValueError:
        return None
    if isinstance(public, PublicRSA) and public.key.key_size > MAX_RSA_MODULUS_BITS:
        return None  # longer than RSA zone keys may be, and costly to check with
    return public


def _nameWire(labels: Sequence[bytes]) -> bytes:
    # Canonical (lowercased) wire form; length octets are at most 63, below b"A".
    return b"".join([bytes((len(label),)) + label for label in labels]).lower()


def sortedRecords(rrset: dns.rrset.RRset, made: CanonicalForms | None = None) -> list[bytes]:
    """
    The canonical wire forms of the records of C{rrset} (RFC 4034 section 6.2, as dnspython's
    C{to_digestable} writes them), sorted, each prefixed with its length.

    @param made: the forms already made (L{Budget.canonicalForms
        <txdane.validation.limits.Budget.canonicalForms>}), by the identity of their RRset,
        with the records they were made of: those of C{rrset} are taken from there when it
        still holds the very same records (each immutable), else made and kept there.
    """
    records = tuple(rrset)
    key = id(rrset)
    if made is not None:
        found = made.get(key)
        if (
            found is not None
            and len(found[0]) == len(records)
            and all(map(operator.is_, found[0], records))
        ):
            return found[1]
    forms = [
        struct.pack("!H", len(wire)) + wire
        for wire in sorted(rdata.to_digestable() for rdata in records)
    ]
    if made is not None:
        made[key] = (records, forms)
    return forms


class SignedData:
    """
    The data an RRSIG over an RRset signs (RFC 4034 section 3.1.8.1), built from the RRset's
    records in canonical form, sorted, computed once for all the signatures tried (and, given
    where to keep them, once for all the zones whose keys a lookup tries).

    @ivar rrset: the RRset, whose owner name is absolute (as the signers' names must be).
    """

    def __init__(self, rrset: dns.rrset.RRset, made: CanonicalForms | None = None) -> None:
        """
        @param made: where the canonical forms of a lookup's RRsets are kept (see
            L{sortedRecords}); C{None} to make them for this object alone.
        """
        self.rrset = rrset
        self._made = made
        self._records: list[bytes] | None = None
        self._last: tuple[RRSIG, bytes] | None = None

    def records(self) -> list[bytes]:
        """
        The canonical wire forms of the records, sorted, each prefixed with its length
        (L{sortedRecords}).
        """
        if self._records is None:
            self._records = sortedRecords(self.rrset, self._made)
        return self._records

    def forSignature(self, rrsig: RRSIG) -> bytes:
        """
        The bytes C{rrsig} signs: its own fields up to the signer's name, then every record
        with the owner name as the signature's label count makes it (a wildcard for an
        expansion), and the signature's original TTL.

        @raise dns.dnssec.ValidationFailure: the owner is a wildcard and the signature's
            label count is not that of the wildcard (as C{validate_rrsig} raises).
        """
        last = self._last
        if last is not None and last[0] is rrsig:
            return last[1]  # the same signature, tried with another key of its tag
        owner = self.rrset.name
        labels = owner.labels
        if owner.is_wild() and rrsig.labels != len(labels) - 2:
            raise dns.dnssec.ValidationFailure("wild owner name has wrong label length")
        if len(labels) - 1 < rrsig.labels:
            raise dns.dnssec.ValidationFailure("owner name longer than RRSIG labels")
        if rrsig.labels < len(labels) - 1:
            ownerWire = b"\x01*" + _nameWire(labels[len(labels) - rrsig.labels - 1 :])
        else:
            ownerWire = _nameWire(labels)
        prefix = ownerWire + struct.pack(
            "!HHI", self.rrset.rdtype, self.rrset.rdclass, rrsig.original_ttl
        )
        header = struct.pack(
            "!HBBIIIH",
            rrsig.type_covered,
            rrsig.algorithm,
            rrsig.labels,
            rrsig.original_ttl,
            rrsig.expiration,
            rrsig.inception,
            rrsig.key_tag,
        )
        data = b"".join(
            [header, _nameWire(rrsig.signer.labels), *[prefix + r for r in self.records()]]
        )
        self._last = (rrsig, data)
        return data


def checkSignature(data: bytes, rrsig: RRSIG, key: DNSKEY) -> None:
    """
    Check that C{key} made C{rrsig} over C{data} (from L{SignedData.forSignature}), as
    dnspython's C{validate_rrsig} checks it with that one key, its other checks passed.

    @raise dns.dnssec.ValidationFailure: the signature does not verify, or the key material
        is not a valid key of its algorithm (C{"verify failure"} both).
    @raise dns.dnssec.UnsupportedAlgorithm: dnspython does not implement the algorithm.
    """
    public = publicKey(key.algorithm, key.key)
    if public is None:
        raise dns.dnssec.ValidationFailure("verify failure")
    try:
        public.verify(rrsig.signature, data)
    except InvalidSignature:
        raise dns.dnssec.ValidationFailure("verify failure") from None


def _what(rrsig: RRSIG) -> str:
    # The reason of every verdict names the signer: its text is kept (nameText).
    return f"RRSIG {rrsig.key_tag}/{rrsig.algorithm} by {nameText(rrsig.signer)}"


def checkWithKey(
    signed: SignedData, rrsig: RRSIG, key: DNSKEY, zone: dns.name.Name, now: float
) -> None:
    """
    One signature check of L{verifyRRset}: that C{key} of C{zone} made C{rrsig} over the
    RRset of C{signed}, its times, labels and key already checked at C{now}.

    @raise dns.dnssec.ValidationFailure: it did not (L{SignedData.forSignature},
        L{checkSignature}).
    @raise dns.dnssec.UnsupportedAlgorithm: dnspython knows no such algorithm.
    """
    checkSignature(signed.forSignature(rrsig), rrsig, key)


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
    if not within(owner, zone):
        return RRsetVerdict(
            Status.BOGUS,
            f"{owner} is not in zone {zone}, which is asked to vouch for it",
            EDE.DNSSEC_BOGUS,
        )
    sigs = list(rrsigs)
    byTag = _keysByTag(keys)
    signed = SignedData(rrset, budget.canonicalForms)
    if not sigs:
        return RRsetVerdict(
            Status.BOGUS,
            f"{owner} {dns.rdatatype.to_text(rrset.rdtype)} has no RRSIG (zone {zone} is signed)",
            EDE.RRSIGS_MISSING,
        )
    for rrsig in sigs:
        if not sameName(rrsig.signer, zone):
            failures.append(
                (
                    EDE.DNSSEC_BOGUS,
                    f"{_what(rrsig)}: signer is not {nameText(zone)}, the zone holding "
                    f"{nameText(owner)}",
                )
            )
            continue
        if rrsig.type_covered != rrset.rdtype or rrsig.rdclass != rrset.rdclass:
            failures.append((EDE.DNSSEC_BOGUS, f"{_what(rrsig)}: covers another type or class"))
            continue
        if rrsig.labels > labels:
            failures.append(
                (EDE.DNSSEC_BOGUS, f"{_what(rrsig)}: label count {rrsig.labels} too large")
            )
            continue
        if not policy.supportsAlgorithm(rrsig.algorithm):
            failures.append(
                (
                    EDE.UNSUPPORTED_DNSKEY_ALGORITHM,
                    f"{_what(rrsig)}: algorithm {rrsig.algorithm} is not supported",
                )
            )
            continue
        if serialAfter(rrsig.inception, rrsig.expiration):
            failures.append(
                (
                    EDE.SIGNATURE_EXPIRED_BEFORE_VALID,
                    f"{_what(rrsig)}: expires before its inception",
                )
            )
            continue
        if serialAfter(now, rrsig.expiration + limits.clockSkew):
            failures.append((EDE.SIGNATURE_EXPIRED, f"{_what(rrsig)}: expired"))
            continue
        if serialAfter(rrsig.inception - limits.clockSkew, now):
            failures.append((EDE.SIGNATURE_NOT_YET_VALID, f"{_what(rrsig)}: not yet valid"))
            continue
        candidates = [key for key in byTag.get(rrsig.key_tag, ()) if _keyUsable(key, rrsig)]
        if not candidates:
            missing = f"{_what(rrsig)}: no such key in {nameText(zone)} DNSKEY"
            failures.append((EDE.DNSKEY_MISSING, missing))
            continue
        bits = max(rsaExponentBits(key) for key in candidates)
        candidates = [k for k in candidates if rsaExponentBits(k) <= limits.maxRSAExponentBits]
        if not candidates:
            failures.append(
                (
                    EDE.DNSSEC_BOGUS,
                    f"{_what(rrsig)}: the key's RSA exponent has {bits} bits (limit "
                    f"{limits.maxRSAExponentBits} bits)",
                )
            )
            continue
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
            try:
                checkWithKey(signed, rrsig, key, zone, now)
            except dns.dnssec.ValidationFailure as e:
                failures.append((EDE.DNSSEC_BOGUS, f"{_what(rrsig)}: {e}"))
                continue
            except dns.dnssec.UnsupportedAlgorithm as e:
                failures.append((EDE.UNSUPPORTED_DNSKEY_ALGORITHM, f"{_what(rrsig)}: {e}"))
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
            ttl = max(0, min(rrset.ttl, rrsig.original_ttl, secondsUntil(rrsig.expiration, now)))
            wildcardParent = None
            if rrsig.labels < labels:
                wildcardParent = owner.split(rrsig.labels + 1)[1]
            return RRsetVerdict(
                Status.SECURE, f"verified by {_what(rrsig)}", None, use, ttl, wildcardParent
            )
        if len(candidates) > limits.maxKeysPerKeyTag:
            failures.append(
                (
                    EDE.DNSSEC_BOGUS,
                    f"{_what(rrsig)}: {len(candidates)} keys share the tag, only "
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
        + "; ".join(text for _, text in failures[:FAILURES_NAMED])
        + (f"; {len(failures) - FAILURES_NAMED} more" if len(failures) > FAILURES_NAMED else "")
        + ")",
        ede,
    )

"""
Which DNSKEYs of a zone its DS records (its parent's, or a trust anchor's) point to: the DS
records the policy lets count (L{usableDS}, else why none does: L{unsupportedDS}), and the
digest match, within the limits (L{keysForDS}).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import dns.dnssec
import dns.name
import dns.rrset
from dns.dnssectypes import DSDigest
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.ede import EDE
from txdane.validation.limits import ValidationLimits
from txdane.validation.rrsig import keysByTag, keyWire

_ZONE = 0x0100
_SHA1 = 1
#: The digest types hashed here; any other goes to dnspython's C{make_ds}, as before.
_HASHES = {1: hashlib.sha1, 2: hashlib.sha256, 4: hashlib.sha384}


def dsDigest(zone: dns.name.Name, key: DNSKEY, digestType: DSDigest) -> bytes:
    """
    The digest a DS record of C{digestType} for C{key} at C{zone} holds (RFC 4034 section
    5.1.4): the hash of the zone's canonical name and the key's rdata, as C{make_ds}
    computes it.

    @raise dns.dnssec.UnsupportedAlgorithm: an unknown digest type (from C{make_ds}).
    """
    hashing = _HASHES.get(digestType)
    if hashing is None:
        made = dns.dnssec.make_ds(
            zone, key, digestType, policy=dns.dnssec.allow_all_policy, validating=True
        )
        return made.digest
    return hashing(zone.to_digestable() + keyWire(key)).digest()


def usableDS(dsRecords: Sequence[DS], policy: AlgorithmPolicy) -> list[DS]:
    """
    The DS records of algorithms and digest types the policy validates; those with a SHA-1
    digest only when there are no others and the policy allows them (RFC 4509 section 3).
    """
    usable = [
        d
        for d in dsRecords
        if policy.supportsAlgorithm(d.algorithm) and d.digest_type in policy.digests
    ]
    if not usable and policy.allowSHA1Digest:
        usable = [
            d for d in dsRecords if policy.supportsAlgorithm(d.algorithm) and d.digest_type == _SHA1
        ]
    return usable


def unsupportedDS(dsRecords: Sequence[DS], policy: AlgorithmPolicy) -> tuple[str, int]:
    """
    Why no DS record of a zone is usable: what is unsupported (C{"algorithm 5, 7"} or
    C{"digest type 3"}) and the EDE code that says so.
    """
    algorithms = {d.algorithm for d in dsRecords}
    if dsRecords and not any(policy.supportsAlgorithm(a) for a in algorithms):
        return (
            "algorithm " + ", ".join(str(int(a)) for a in sorted(algorithms)),
            EDE.UNSUPPORTED_DNSKEY_ALGORITHM,
        )
    digests = sorted({d.digest_type for d in dsRecords})
    return "digest type " + ", ".join(str(int(d)) for d in digests), EDE.UNSUPPORTED_DS_DIGEST_TYPE


def keysForDS(
    zone: dns.name.Name,
    usable: Sequence[DS],
    dnskeys: dns.rrset.RRset,
    trustedKeys: Sequence[DNSKEY],
    limits: ValidationLimits,
) -> tuple[list[DNSKEY], int]:
    """
    The keys of C{zone}'s DNSKEY RRset that a usable DS record matches, or that a trust
    anchor names (C{trustedKeys}). At most C{limits.maxKeysPerKeyTag} keys are hashed per
    DS record, and hashing stops once more than C{limits.maxDSMismatches} have not matched.

    @return: the matched keys, and the number of keys that did not match a DS whose tag
        they share (over the limit when the matching stopped early).
    """
    matched: list[DNSKEY] = [k for k in dnskeys if k in trustedKeys]
    # Found again by identity, not by comparing rdata: a DS RRset and a DNSKEY RRset of a
    # thousand records each would otherwise cost half a million comparisons.
    found = {id(k) for k in matched}
    byTag = keysByTag(k for k in dnskeys if isinstance(k, DNSKEY))
    mismatches = 0
    for ds in usable:
        candidates = [
            k
            for k in byTag.get(ds.key_tag, ())
            if k.algorithm == ds.algorithm and int(k.flags) & _ZONE and k.protocol == 3
        ][: limits.maxKeysPerKeyTag]
        for key in candidates:
            if dsDigest(zone, key, ds.digest_type) == ds.digest:
                if id(key) not in found:
                    found.add(id(key))
                    matched.append(key)
            else:
                mismatches += 1
                if mismatches > limits.maxDSMismatches:
                    return matched, mismatches
    return matched, mismatches

"""
Authenticated denial of existence with NSEC3 (RFC 5155 section 8, RFC 9276).

Pure logic over NSEC3 records whose signatures the caller has already verified. Hashing is
the attacker-priced part (CVE-2023-50868): proofs with more iterations than the limit are
insecure with EDE 27 before any hash is computed, and a proof may carry only so many records.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Sequence

import dns.name
import dns.rdatatype
from dns.rdtypes.ANY.NSEC3 import NSEC3

from txdane.status import Status
from txdane.validation.denial import (
    DNAME,
    DS,
    DenialVerdict,
    bogus,
    isDelegation,
    typeAbsent,
    typesOf,
)
from txdane.validation.ede import EDE
from txdane.validation.limits import Budget, ValidationLimits

_OPT_OUT = 0x01
#: The only NSEC3 hash algorithm defined (RFC 5155 section 11).
_SHA1 = 1


def nsec3Hash(name: dns.name.Name, salt: bytes, iterations: int) -> bytes:
    """
    The RFC 5155 section 5 hash of C{name} (SHA-1, the only hash algorithm defined).
    """
    wire = name.canonicalize().to_wire()
    assert wire is not None
    digest = hashlib.sha1(wire + salt).digest()
    for _ in range(iterations):
        digest = hashlib.sha1(digest + salt).digest()
    return digest


@dataclasses.dataclass(frozen=True)
class _Record:
    hashed: bytes
    rdata: NSEC3
    types: frozenset[int]

    def covers(self, digest: bytes) -> bool:
        if self.hashed < self.rdata.next:
            return self.hashed < digest < self.rdata.next
        return self.hashed < digest or digest < self.rdata.next

    @property
    def optOut(self) -> bool:
        return bool(self.rdata.flags & _OPT_OUT)


class NSEC3Proof:
    """
    The NSEC3 records of one response, of one zone, ready to answer denial questions.

    Build it with L{NSEC3Proof.check}, which enforces the limits first.
    """

    def __init__(
        self,
        zone: dns.name.Name,
        records: list[_Record],
        salt: bytes,
        iterations: int,
        budget: Budget | None = None,
    ) -> None:
        self.zone = zone
        self.records = records
        self.salt = salt
        self.iterations = iterations
        self.budget = budget
        self.hashes = 0
        self._cache: dict[dns.name.Name, bytes] = {}

    @classmethod
    def check(
        cls,
        nsec3s: Sequence[tuple[dns.name.Name, NSEC3]],
        zone: dns.name.Name,
        limits: ValidationLimits,
        budget: Budget | None = None,
    ) -> NSEC3Proof | DenialVerdict:
        """
        Accept the records as a proof to work on, or return the verdict that stops it: too many
        records (bogus, EDE 27), too many iterations (insecure, EDE 27), no record of a known
        hash algorithm and flags (bogus), inconsistent parameters or owners outside the zone
        (bogus). Records of an unknown hash algorithm or with flags other than opt-out are
        left out of the proof (RFC 5155 sections 8.1 and 8.2).

        @param budget: the lookup's budget, charged for every hash the proof computes (its
            methods then raise L{BudgetExceededError
            <txdane.errors.BudgetExceededError>} past the limit).
        """
        if len(nsec3s) > limits.maxNSEC3RecordsPerProof:
            return bogus(
                f"{len(nsec3s)} NSEC3 records in one proof (limit "
                f"{limits.maxNSEC3RecordsPerProof})",
                EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE,
            )
        if not nsec3s:
            return bogus("no NSEC3 records")
        # Ignored, not insecure: a zone's records of a hash it may be moving to, replayed
        # without those of the chain in use, would otherwise make its denials insecure.
        known = [
            (owner, rdata)
            for owner, rdata in nsec3s
            if rdata.algorithm == _SHA1 and rdata.flags & ~_OPT_OUT == 0
        ]
        if not known:
            first = nsec3s[0][1]
            return bogus(
                f"no NSEC3 record of a known hash algorithm and flags (hash algorithm "
                f"{first.algorithm}, flags {first.flags})"
            )
        first = known[0][1]
        if first.iterations > limits.maxNSEC3Iterations:
            return DenialVerdict(
                Status.INSECURE,
                f"NSEC3 uses {first.iterations} iterations (limit {limits.maxNSEC3Iterations})",
                EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE,
            )
        records = []
        for owner, rdata in known:
            if (rdata.algorithm, rdata.iterations, rdata.salt) != (
                first.algorithm,
                first.iterations,
                first.salt,
            ):
                return bogus("NSEC3 records with different parameters in one proof")
            if owner.parent() != zone:
                return bogus(f"NSEC3 {owner} is not at the top of zone {zone}")
            try:
                hashed = base64.b32hexdecode(owner.labels[0].upper())
            except ValueError:
                return bogus(f"NSEC3 owner {owner} is not a base32hex hash")
            if len(hashed) != len(rdata.next):
                return bogus(f"NSEC3 {owner} has a next hash of another length")
            records.append(_Record(hashed, rdata, typesOf(rdata.windows)))
        return cls(zone, records, first.salt, first.iterations, budget)

    def _hash(self, name: dns.name.Name) -> bytes:
        if name not in self._cache:
            if self.budget is not None:
                self.budget.countNSEC3Hash()
            self.hashes += 1
            self._cache[name] = nsec3Hash(name, self.salt, self.iterations)
        return self._cache[name]

    def matching(self, name: dns.name.Name) -> _Record | None:
        digest = self._hash(name)
        for record in self.records:
            if record.hashed == digest:
                return record
        return None

    def covering(self, name: dns.name.Name) -> _Record | None:
        digest = self._hash(name)
        for record in self.records:
            if record.covers(digest):
                return record
        return None

    def closestEncloser(
        self, name: dns.name.Name
    ) -> tuple[dns.name.Name, dns.name.Name, _Record] | DenialVerdict:
        """
        The closest encloser proof (RFC 5155 section 8.3): the closest encloser, the next
        closer name, and the NSEC3 covering the latter.
        """
        if not name.is_subdomain(self.zone):
            return bogus(f"{name} is not in zone {self.zone}")
        candidate = name
        nextCloser = None
        while True:
            record = self.matching(candidate)
            if record is not None:
                if candidate != self.zone and (DNAME in record.types or isDelegation(record.types)):
                    return bogus(
                        f"closest encloser {candidate} is a delegation or DNAME: the NSEC3 "
                        "cannot prove names below it"
                    )
                break
            if candidate == self.zone:
                return bogus(f"no NSEC3 matches any encloser of {name}")
            nextCloser = candidate
            candidate = candidate.parent()
        if nextCloser is None:
            return bogus(f"an NSEC3 matches {name} itself")
        cover = self.covering(nextCloser)
        if cover is None:
            return bogus(f"no NSEC3 covers the next closer name {nextCloser}")
        return candidate, nextCloser, cover


def _noType(
    record: _Record, rdtype: int, where: dns.name.Name, zone: dns.name.Name
) -> DenialVerdict:
    return typeAbsent(record.types, rdtype, where, zone, "NSEC3", f"NSEC3 for {where}")


def _optOut(reason: str, delegation: bool = False) -> DenialVerdict:
    return DenialVerdict(
        Status.INSECURE, reason + " (opt-out span: insecure)", None, delegation=delegation
    )


def proveNoData(name: dns.name.Name, rdtype: int, proof: NSEC3Proof) -> DenialVerdict:
    """
    RFC 5155 sections 8.5-8.7: a matching NSEC3 without the type (or CNAME); for DS, an
    opt-out span covering the next closer name (insecure); or a wildcard NODATA.
    """
    record = proof.matching(name)
    if record is not None:
        return _noType(record, rdtype, name, proof.zone)
    found = proof.closestEncloser(name)
    if isinstance(found, DenialVerdict):
        return found
    encloser, nextCloser, cover = found
    wildcard = dns.name.Name((b"*", *encloser.labels))
    wild = proof.matching(wildcard)
    if rdtype == DS and nextCloser == name:
        if cover.optOut:
            return _optOut(f"NSEC3 covering {name} has opt-out", delegation=True)
        if wild is None:
            return bogus(f"NSEC3 covering {name} without opt-out cannot deny a DS")
        # The name exists only as an expansion of the wildcard, which is never a zone cut:
        # a wildcard NODATA (RFC 5155 section 8.7), as for any other type.
    if wild is None:
        if cover.optOut and rdtype == DS:
            return _optOut(f"NSEC3 covering {nextCloser} has opt-out", delegation=True)
        return bogus(f"no NSEC3 matches {name} or the wildcard {wildcard}")
    verdict = _noType(wild, rdtype, wildcard, proof.zone)
    if verdict.status is Status.SECURE and cover.optOut:
        return _optOut(verdict.reason)
    return verdict


def proveNXDomain(name: dns.name.Name, proof: NSEC3Proof) -> DenialVerdict:
    """
    RFC 5155 section 8.4: the closest encloser proof and an NSEC3 covering the wildcard at
    the closest encloser. An opt-out span over the next closer name gives only insecure.
    """
    found = proof.closestEncloser(name)
    if isinstance(found, DenialVerdict):
        return found
    encloser, _nextCloser, cover = found
    wildcard = dns.name.Name((b"*", *encloser.labels))
    if proof.matching(wildcard) is not None:
        return bogus(f"an NSEC3 shows the wildcard {wildcard} exists")
    if proof.covering(wildcard) is None:
        return bogus(f"no NSEC3 covers the wildcard {wildcard}")
    reason = f"NSEC3 proves {name} does not exist (closest encloser {encloser})"
    if cover.optOut:
        return _optOut(reason)
    return DenialVerdict(Status.SECURE, reason)


def proveWildcard(
    name: dns.name.Name, wildcardParent: dns.name.Name, proof: NSEC3Proof
) -> DenialVerdict:
    """
    RFC 5155 section 8.8: for an answer synthesized from C{*.wildcardParent}, an NSEC3 must
    cover the next closer name of C{name}.
    """
    if not name.is_subdomain(wildcardParent) or name == wildcardParent:
        return bogus(f"{name} is not below the wildcard's parent {wildcardParent}")
    nextCloser = name.split(len(wildcardParent) + 1)[1]
    cover = proof.covering(nextCloser)
    if cover is None:
        return bogus(f"wildcard answer for {name} without an NSEC3 covering {nextCloser}")
    reason = f"NSEC3 proves no name closer than the wildcard at {wildcardParent}"
    if cover.optOut:
        return _optOut(reason)
    return DenialVerdict(Status.SECURE, reason)

"""
Denial-of-existence proofs taken from a response, in three steps: finding the NSEC or NSEC3
RRsets of its authority section that speak about a name (L{findDenial}); verifying their
signatures with the keys of the zone that signed them (L{verifyDenial}, given a way to verify
one RRset: the chain of trust knows the keys); running the NSEC (L{txdane.validation.nsec})
or NSEC3 (L{txdane.validation.nsec3}) logic on the verified records (L{checkDenial},
L{checkWildcard}).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3
from dns.rdtypes.ANY.RRSIG import RRSIG

from txdane.status import Status
from txdane.validation import denial, nsec, nsec3
from txdane.validation.cache import nameKey, sameName
from txdane.validation.ede import EDE
from txdane.validation.limits import Budget, ValidationLimits
from txdane.validation.rrsig import RRsetVerdict
from txdane.validation.sections import signatureIndex

_DENIAL = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)


@dataclasses.dataclass(frozen=True)
class DenialRecords:
    """
    The NSEC and NSEC3 RRsets of a response that speak about a name, signatures unchecked.

    @ivar signer: the zone whose signatures they carry (the deepest at or above the name that
        signed any), or C{None} when none of them is signed by such a zone.
    @ivar rrsets: the RRsets signed by C{signer}; every NSEC and NSEC3 RRset of the section
        when there is no signer.
    @ivar refused: the bogus verdict when there are too many NSEC3 records to check, else
        C{None}.
    @ivar signatures: the RRSIGs of the section, by owner (as L{nameKey
        <txdane.validation.cache.nameKey>} gives it) and type covered.
    """

    signer: dns.name.Name | None
    rrsets: list[dns.rrset.RRset]
    refused: RRsetVerdict | None = None
    signatures: dict[tuple[tuple[bytes, ...], int], list[RRSIG]] = dataclasses.field(
        default_factory=dict
    )

    def signaturesOf(self, rrset: dns.rrset.RRset) -> list[RRSIG]:
        """
        The RRSIGs that cover C{rrset}.
        """
        return self.signatures.get((nameKey(rrset.name), rrset.rdtype), [])


def findDenial(
    message: dns.message.Message,
    near: dns.name.Name,
    limits: ValidationLimits,
    *,
    above: bool = False,
) -> DenialRecords:
    """
    Find the NSEC and NSEC3 RRsets of a response's authority section that speak about
    C{near}: those signed by the deepest zone at or above it (a response that followed a
    CNAME into another zone may carry proofs of several zones).

    @param above: consider only zones strictly above C{near}: a DS at C{near} is denied by
        the parent side, and a zone cannot prove its own cut with its own keys (that would
        need the keys being proven).
    """
    candidates = [r for r in message.authority if r.rdtype in _DENIAL]
    index = signatureIndex(message.authority)
    signedBy = [(r, index.get((nameKey(r.name), r.rdtype), [])) for r in candidates]
    signers = [
        sig.signer
        for _, sigs in signedBy
        for sig in sigs
        if near.is_subdomain(sig.signer) and not (above and sig.signer == near)
    ]
    if not signers:
        return DenialRecords(None, candidates)
    # The deepest: of the names above one name, the one with the most labels.
    signer = max(signers, key=len)
    rrsets = [r for r, sigs in signedBy if any(sameName(s.signer, signer) for s in sigs)]
    nsec3Count = sum(1 for r in rrsets if r.rdtype == dns.rdatatype.NSEC3)
    if nsec3Count > limits.maxNSEC3RecordsPerProof:
        # Refuse before verifying any signature or computing any hash.
        refused = RRsetVerdict(
            Status.BOGUS,
            f"{nsec3Count} NSEC3 records in one proof (limit {limits.maxNSEC3RecordsPerProof})",
            EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE,
        )
        return DenialRecords(signer, rrsets, refused, index)
    return DenialRecords(signer, rrsets, None, index)


def verifyDenial(
    found: DenialRecords,
    verify: Callable[[dns.rrset.RRset, list[RRSIG]], RRsetVerdict],
) -> tuple[list[dns.rrset.RRset], RRsetVerdict | None]:
    """
    Verify the signatures of the records L{findDenial} found, with C{verify} (which checks
    one RRset against its signatures with the keys of C{found.signer}).

    @return: the verified records, their TTLs capped by their signatures, and the failed
        verdict of the first one that did not verify (then the records as found).
    """
    verified = []
    for rrset in found.rrsets:
        verdict = verify(rrset, found.signaturesOf(rrset))
        if verdict.status is not Status.SECURE:
            return found.rrsets, verdict
        if verdict.wildcardParent is not None:
            # NSEC and NSEC3 records are never synthesized from a wildcard: the signature of
            # the NSEC at *.X would otherwise vouch for any owner below X, with its span.
            return found.rrsets, RRsetVerdict(
                Status.BOGUS,
                f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} is signed as a "
                f"wildcard expansion of *.{verdict.wildcardParent}",
                EDE.DNSSEC_BOGUS,
            )
        if verdict.ttl < rrset.ttl:
            # Keep the proof no longer than its signature allows (original TTL, expiry).
            rrset = rrset.copy()
            rrset.ttl = verdict.ttl
        verified.append(rrset)
    return verified, None


def _split(
    rrsets: list[dns.rrset.RRset],
) -> tuple[list[tuple[dns.name.Name, NSEC]], list[tuple[dns.name.Name, NSEC3]]]:
    nsecs = [(r.name, rd) for r in rrsets for rd in r if isinstance(rd, NSEC)]
    nsec3s = [(r.name, rd) for r in rrsets for rd in r if isinstance(rd, NSEC3)]
    return nsecs, nsec3s


def checkDenial(
    limits: ValidationLimits,
    rrsets: list[dns.rrset.RRset],
    zone: dns.name.Name,
    name: dns.name.Name,
    rdtype: int,
    nxdomain: bool,
    budget: Budget,
) -> denial.DenialVerdict:
    """
    Run the NXDOMAIN or NODATA proof for C{name} and C{rdtype} on verified records of C{zone}.
    """
    nsecs, nsec3s = _split(rrsets)
    if nsec3s:
        proof = nsec3.NSEC3Proof.check(nsec3s, zone, limits, budget)
        if isinstance(proof, denial.DenialVerdict):
            return proof
        if nxdomain:
            return nsec3.proveNXDomain(name, proof)
        return nsec3.proveNoData(name, rdtype, proof)
    if nxdomain:
        return nsec.proveNXDomain(name, nsecs, zone)
    return nsec.proveNoData(name, rdtype, nsecs, zone)


def checkWildcard(
    limits: ValidationLimits,
    rrsets: list[dns.rrset.RRset],
    zone: dns.name.Name,
    name: dns.name.Name,
    wildcardParent: dns.name.Name,
    budget: Budget | None = None,
) -> denial.DenialVerdict:
    """
    Run the no-closer-match proof for an answer synthesized from C{*.wildcardParent}.
    """
    nsecs, nsec3s = _split(rrsets)
    if nsec3s:
        proof = nsec3.NSEC3Proof.check(nsec3s, zone, limits, budget)
        if isinstance(proof, denial.DenialVerdict):
            return proof
        return nsec3.proveWildcard(name, wildcardParent, proof)
    return nsec.proveWildcard(name, wildcardParent, nsecs)

"""
Denial-of-existence proofs taken from a response: verifying the NSEC or NSEC3 RRsets of its
authority section with the keys of the zone that signed them, then running the NSEC
(L{txdane.validation.nsec}) or NSEC3 (L{txdane.validation.nsec3}) logic on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3
from dns.rdtypes.ANY.RRSIG import RRSIG

from txdane.status import Status
from txdane.validation import denial, nsec, nsec3
from txdane.validation.ede import EDE
from txdane.validation.limits import Budget, ValidationLimits
from txdane.validation.rrsig import RRsetVerdict
from txdane.validation.sections import signatureIndex

if TYPE_CHECKING:
    from txdane.validation.trustchain import ChainOfTrust, Query, ZoneKeys

_DENIAL = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)


async def denialRecords(
    chain: ChainOfTrust,
    message: dns.message.Message,
    near: dns.name.Name,
    query: Query,
    now: float,
    budget: Budget,
    *,
    above: bool = False,
) -> tuple[ZoneKeys | None, list[dns.rrset.RRset], RRsetVerdict | None]:
    """
    Verify the NSEC and NSEC3 RRsets of a response's authority section that speak about
    C{near}: those signed by the deepest zone at or above it (a response that followed a
    CNAME into another zone may carry proofs of several zones).

    @param above: consider only zones strictly above C{near}: a DS at C{near} is denied by
        the parent side, and a zone cannot prove its own cut with its own keys (that would
        need the keys being proven).

    @return: the keys of the zone that signed them (L{None} when no such records are signed),
        the records, and a failed verdict if one of them did not verify.
    """
    candidates = [r for r in message.authority if r.rdtype in _DENIAL]
    index = signatureIndex(message.authority)

    def signaturesOf(rrset: dns.rrset.RRset) -> list[RRSIG]:
        return index.get((rrset.name, rrset.rdtype), [])

    signers = {
        sig.signer
        for r in candidates
        for sig in signaturesOf(r)
        if near.is_subdomain(sig.signer) and not (above and sig.signer == near)
    }
    if not signers:
        return None, candidates, None
    signer = max(signers, key=len)
    rrsets = [r for r in candidates if any(s.signer == signer for s in signaturesOf(r))]
    nsec3Count = sum(1 for r in rrsets if r.rdtype == dns.rdatatype.NSEC3)
    if nsec3Count > chain.limits.maxNSEC3RecordsPerProof:
        # Refuse before verifying any signature or computing any hash.
        return (
            None,
            rrsets,
            RRsetVerdict(
                Status.BOGUS,
                f"{nsec3Count} NSEC3 records in one proof (limit "
                f"{chain.limits.maxNSEC3RecordsPerProof})",
                EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE,
            ),
        )
    keys = await chain.zoneKeys(signer, query, now, budget)
    if keys.status is not Status.SECURE:
        return keys, rrsets, None
    verified = []
    for rrset in rrsets:
        verdict = chain.verify(rrset, signaturesOf(rrset), keys, now, budget)
        if verdict.status is not Status.SECURE:
            return keys, rrsets, verdict
        if verdict.wildcardParent is not None:
            # NSEC and NSEC3 records are never synthesized from a wildcard: the signature of
            # the NSEC at *.X would otherwise vouch for any owner below X, with its span.
            return (
                keys,
                rrsets,
                RRsetVerdict(
                    Status.BOGUS,
                    f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} is signed as a "
                    f"wildcard expansion of *.{verdict.wildcardParent}",
                    EDE.DNSSEC_BOGUS,
                ),
            )
        if verdict.ttl < rrset.ttl:
            # Keep the proof no longer than its signature allows (original TTL, expiry).
            rrset = rrset.copy()
            rrset.ttl = verdict.ttl
        verified.append(rrset)
    return keys, verified, None


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

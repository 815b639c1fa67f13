"""
What each step of a lookup concludes (L{Verdict}), and the work behind a verdict of absence:
the proof of a negative answer (step 5 of L{ValidatingResolver
<txdane.validation.resolver.ValidatingResolver>}), and the walk that finds an unsigned
delegation above data or a denial judged bogus, below which nothing is looked at.

Tests: C{tests/validation/test_adversarial.py}, C{tests/validation/test_resolver.py}.
"""

from __future__ import annotations

import dataclasses

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset

from txdane.errors import BudgetExceededError, LookupFailedError
from txdane.status import Status
from txdane.validation import denial, proofs
from txdane.validation.answer import SignatureUse, ZoneTrust
from txdane.validation.context import LookupContext
from txdane.validation.ede import EDE
from txdane.validation.limits import ValidationLimits
from txdane.validation.trustchain import ChainOfTrust


@dataclasses.dataclass(frozen=True)
class Verdict:
    """
    What one step of a lookup concluded: a status and its reason, the TTL it allows, and
    the evidence (signatures, zones of the chain of trust, denial RRsets) it rests on.
    """

    status: Status
    reason: str
    ede: int | None = None
    ttl: int = 0
    signatures: tuple[SignatureUse, ...] = ()
    trust: tuple[ZoneTrust, ...] = ()
    denial: tuple[dns.rrset.RRset, ...] = ()


def negativeTTL(message: dns.message.Message, name: dns.name.Name, ttl: int) -> int:
    """
    C{ttl}, the TTL of a negative answer for C{name}, no longer than the negative caching
    TTL the SOA records of its authority section give (RFC 2308 section 5: the lesser of
    the SOA's TTL and its MINIMUM field), as Unbound keeps it: a zone signed before RFC 9077
    gives its NSEC and NSEC3 records the MINIMUM as TTL, which may be the longer. (The SOA
    is not validated: it can only shorten the time.)
    """
    for rrset in message.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset) > 0 and name.is_subdomain(rrset.name):
            ttl = min(ttl, rrset.ttl, rrset[0].minimum)
    return ttl


class AbsenceSteps:
    """
    The steps of L{ValidatingResolver<txdane.validation.resolver.ValidatingResolver>} that
    judge absence, on its chain of trust and limits.
    """

    _chain: ChainOfTrust
    limits: ValidationLimits

    async def _denied(
        self,
        ctx: LookupContext,
        message: dns.message.Message,
        name: dns.name.Name,
        nxdomain: bool,
    ) -> tuple[Verdict, tuple[dns.rrset.RRset, ...]]:
        """
        Step 5, the proof: the verdict on the absence of C{name} or of the type there, and
        the NSEC or NSEC3 RRsets it rests on.
        """
        chain = self._chain
        what = f"{name} {dns.rdatatype.to_text(ctx.rdtype)}"
        keys, rrsets, failed = await chain.provenDenial(message, name, ctx)
        if failed is not None:
            return Verdict(failed.status, f"{what}: {failed.reason}", failed.ede), tuple(rrsets)
        if keys is None:
            zone = await chain.unsignedStatus(name, ctx)
            if zone.status is Status.SECURE:
                return Verdict(
                    Status.BOGUS,
                    f"{what}: {'NXDOMAIN' if nxdomain else 'NODATA'} without NSEC or NSEC3 "
                    f"records, but {zone.zone} is signed",
                    EDE.NSEC_MISSING,
                    trust=zone.trust,
                ), ()
            ttl = negativeTTL(message, name, min((r.ttl for r in message.authority), default=0))
            return Verdict(
                zone.status, f"{what}: {zone.reason}", zone.ede, ttl, trust=zone.trust
            ), ()
        if keys.status is not Status.SECURE:
            return Verdict(keys.status, keys.reason, keys.ede, keys.ttl, trust=keys.trust), tuple(
                rrsets
            )
        if not name.is_subdomain(keys.zone):
            return Verdict(
                Status.BOGUS,
                f"{what}: denial signed by {keys.zone}, which does not hold the name",
                EDE.DNSSEC_BOGUS,
                trust=keys.trust,
            ), tuple(rrsets)
        proof = proofs.checkDenial(
            self.limits, rrsets, keys.zone, name, ctx.rdtype, nxdomain, ctx.budget
        )
        if proof.status is not Status.BOGUS:
            # Only the zone holding the name can deny it (a parent's old records, signed
            # before a child was split out, would otherwise deny the child's data).
            problem = await chain.denialHolderProblem(
                keys.zone,
                name,
                ctx,
                ds=ctx.rdtype == dns.rdatatype.DS,
                insecure=proof.status is Status.INSECURE,
            )
            if problem is not None:
                proof = denial.bogus(problem, EDE.DNSSEC_BOGUS)
        ttl = negativeTTL(message, name, min((r.ttl for r in rrsets), default=0))
        return Verdict(
            proof.status,
            f"{what}: {proof.reason}",
            proof.ede,
            min(ttl, keys.ttl),
            trust=keys.trust,
        ), tuple(rrsets)

    async def _belowUnsignedCut(
        self,
        owner: dns.name.Name,
        rdtype: int,
        what: str,
        verdict: Verdict,
        ttl: int,
        ctx: LookupContext,
    ) -> Verdict | None:
        """
        For a bogus C{verdict} on data or a denial at C{owner}: the insecure verdict when the
        walk down from the trust anchor proves an unsigned delegation above it, else C{None}.
        Below an unsigned delegation signatures and proofs are not looked at (nor does
        Unbound look at them): one an attacker adds or breaks there does not make insecure
        data bogus. Nor does it gain more than stripping them would, which this same walk
        judges.
        """
        member = owner.parent() if rdtype == dns.rdatatype.DS and owner != dns.name.root else owner
        try:
            zone = await self._chain.unsignedStatus(member, ctx)
        except (LookupFailedError, BudgetExceededError):
            return None  # the verdict stays bogus
        if zone.status is not Status.INSECURE:
            return None
        return Verdict(
            Status.INSECURE,
            f"{what}: {zone.reason} (so the response's RRSIGs and proofs are not looked "
            f"at: {verdict.reason})",
            zone.ede,
            ttl,
            trust=zone.trust,
        )

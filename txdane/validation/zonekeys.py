"""
What the chain of trust proves, and a zone's keys proven from DS records.

A DS query at a name proves what is there (L{DSResult}): a signed or an unsigned
delegation, or no zone cut (L{Cut}). A zone's keys (L{ZoneKeys}) are proven from the DS
records of a trust anchor or of the zone's parent: the zone's DNSKEY RRset is asked for,
the keys a usable DS matches found in it, and one of them must have signed it.
L{ChainOfTrust <txdane.validation.trustchain.ChainOfTrust>} asks these questions and
caches their answers.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence

import dns.message
import dns.name
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS as DSRdata
from dns.rdtypes.ANY.RRSIG import RRSIG

from txdane.status import Status
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.anchors import TrustAnchor
from txdane.validation.answer import SignatureUse, ZoneTrust
from txdane.validation.cache import nameText
from txdane.validation.context import LookupContext
from txdane.validation.dsmatch import keysForDS, unsupportedDS, usableDS
from txdane.validation.ede import EDE
from txdane.validation.limits import ValidationLimits
from txdane.validation.rrsig import keyTag, verifyRRset
from txdane.validation.sections import findRRset, signaturesFor

#: What a failure to prove a zone's keys from its trust anchor adds to the reason.
_ROLLED = " (has the zone rolled its key? a trust anchor state file follows rollovers)"


def _anchorTags(anchor: TrustAnchor) -> str:
    """
    The anchor's records in short: C{DS 20326/8/2, DNSKEY 38696/8}.
    """
    return ", ".join(
        [f"DS {d.key_tag}/{d.algorithm}/{d.digest_type}" for d in anchor.ds]
        + [f"DNSKEY {keyTag(k)}/{k.algorithm}" for k in anchor.dnskeys]
    )


class Cut(enum.Enum):
    """
    What a DS query at a name proved.
    """

    SIGNED = "signed delegation"
    UNSIGNED = "unsigned delegation"
    NONE = "no zone cut"
    UNKNOWN = "unknown"


@dataclasses.dataclass(frozen=True)
class DSResult:
    """
    What is known about the name C{name} as a possible zone cut.

    @ivar cut: the kind of cut proven (L{Cut.UNKNOWN} unless the status is secure).
    @ivar status: secure when proven; insecure when the name lies in or below an unsigned
        zone (or an opt-out span, or a zone of unsupported algorithms); bogus or indeterminate.
    @ivar zone: the zone whose signature proved the result (the parent side for a cut).
    @ivar ds: the validated DS RRset for a signed delegation.
    @ivar signatures: the signatures that proved it.
    @ivar absent: whether the proof showed that the name does not exist at all.
    @ivar span: for a name proven no cut by an NSEC record (its own, or, for an empty
        non-terminal, the one covering it), that record's owner and next name: the labels
        below the name that fall between the two and lie above the next name are empty
        non-terminals of the same zone (L{ChainOfTrust.dsAt
        <txdane.validation.trustchain.ChainOfTrust.dsAt>} needs no query for them).
    """

    name: dns.name.Name
    cut: Cut
    status: Status
    reason: str
    ede: int | None = None
    zone: dns.name.Name | None = None
    ds: dns.rrset.RRset | None = None
    signatures: tuple[SignatureUse, ...] = ()
    ttl: int = 0
    absent: bool = False
    span: tuple[dns.name.Name, dns.name.Name] | None = None


@dataclasses.dataclass(frozen=True)
class ZoneKeys:
    """
    A zone's proven keys, or why there are none.
    """

    zone: dns.name.Name
    status: Status
    reason: str
    ede: int | None = None
    keys: tuple[DNSKEY, ...] = ()
    trust: tuple[ZoneTrust, ...] = ()
    ttl: int = 0


class _ZoneKeyProofs:
    """
    The proof of a zone's DNSKEY RRset from DS records, and of a revoked key's signature
    on it: the part of L{ChainOfTrust <txdane.validation.trustchain.ChainOfTrust>} (its
    subclass, which sets these attributes) that asks nothing of the rest of the chain.
    """

    limits: ValidationLimits
    policy: AlgorithmPolicy

    def _selfSigned(
        self, dnskeys: dns.rrset.RRset, sigs: Sequence[RRSIG], key: DNSKEY, ctx: LookupContext
    ) -> bool:
        """
        Whether the revoked C{key} signed the DNSKEY RRset it is published in (the only
        RRset a revoked key may sign), within the lookup's budget.
        """
        own = [s for s in sigs if s.key_tag == keyTag(key) and s.algorithm == key.algorithm]
        if not own:
            return False
        verdict = verifyRRset(
            dnskeys,
            own,
            dnskeys.name,
            [key],
            now=ctx.now,
            limits=self.limits,
            policy=self.policy,
            budget=ctx.budget,
        )
        return verdict.status is Status.SECURE

    async def _fromDS(
        self,
        zone: dns.name.Name,
        anchor: TrustAnchor | None,
        dsResult: DSResult | None,
        above: tuple[ZoneTrust, ...],
        ctx: LookupContext,
        *,
        tracked: bool = False,
        message: dns.message.Message | None = None,
    ) -> ZoneKeys:
        """
        Prove the DNSKEY RRset of C{zone} with the DS records of a trust C{anchor} or of a
        proven C{dsResult}: ask for it, find the keys a usable DS matches, and check that
        one of them signed the RRset.

        @param above: the zones of the chain of trust above this one, for the answer.
        @param tracked: whether the C{anchor} is a tracker's (then a failure does not
            suggest a state file).
        @param message: the response to the DNSKEY query, if the caller has it already (it
            must prove the very RRset it read).
        """
        rolled = "" if tracked else _ROLLED
        dsRecords: list[DSRdata] = []
        trustedKeys: list[DNSKEY] = []
        if anchor is not None:
            dsRecords = list(anchor.ds)
            trustedKeys = list(anchor.dnskeys)
            dsRRset = None
        else:
            assert dsResult is not None and dsResult.ds is not None
            dsRRset = dsResult.ds
            dsRecords = [r for r in dsRRset if isinstance(r, DSRdata)]

        def done(status: Status, reason: str, ede: int | None, **kw: object) -> ZoneKeys:
            trust = ZoneTrust(
                zone=zone,
                status=status,
                ds=dsRRset,
                dnskey=kw.get("dnskey"),  # type: ignore[arg-type]
                anchored=anchor is not None,
                dsKeyTags=kw.get("tags", ()),  # type: ignore[arg-type]
                signatures=(dsResult.signatures if dsResult else ()) + kw.get("sigs", ()),  # type: ignore[operator]
                reason=reason,
            )
            return ZoneKeys(
                zone,
                status,
                reason,
                ede,
                keys=kw.get("keys", ()),  # type: ignore[arg-type]
                trust=(*above, trust),
                ttl=int(kw.get("ttl", 0)),  # type: ignore[call-overload]
            )

        usable = usableDS(dsRecords, self.policy)
        if not usable and not trustedKeys:
            why, ede = unsupportedDS(dsRecords, self.policy)
            return done(
                Status.INSECURE,
                f"every DS of {zone} uses an unsupported {why}",
                ede,
                ttl=dsResult.ttl if dsResult else self.limits.maxCacheTTL,
            )
        if message is None:
            message = await ctx.query(zone, dns.rdatatype.DNSKEY)
        dnskeys = findRRset(message.answer, zone, dns.rdatatype.DNSKEY)
        if dnskeys is None:
            return done(
                Status.BOGUS,
                f"{zone} has no DNSKEY RRset, but its DS says it is signed",
                EDE.DNSKEY_MISSING,
            )
        matched, mismatches = keysForDS(zone, usable, dnskeys, trustedKeys, self.limits)
        if mismatches > self.limits.maxDSMismatches:
            return done(
                Status.BOGUS,
                f"{zone}: {mismatches} DNSKEYs failed to match a DS (limit "
                f"{self.limits.maxDSMismatches})",
                EDE.DNSSEC_BOGUS,
                dnskey=dnskeys,
            )
        if not matched:
            tags = ", ".join(f"DS {d.key_tag}/{d.algorithm}/{d.digest_type}" for d in usable)
            if anchor is not None:
                return done(
                    Status.BOGUS,
                    f"no DNSKEY of {zone} matches its trust anchor ({_anchorTags(anchor)})"
                    + rolled,
                    EDE.DNSKEY_MISSING,
                    dnskey=dnskeys,
                )
            return done(
                Status.BOGUS,
                f"no DNSKEY of {zone} matches the DS its parent publishes ({tags})",
                EDE.DNSKEY_MISSING,
                dnskey=dnskeys,
            )
        verdict = verifyRRset(
            dnskeys,
            signaturesFor(message, message.answer, dnskeys),
            zone,
            matched,
            now=ctx.now,
            limits=self.limits,
            policy=self.policy,
            budget=ctx.budget,
        )
        if verdict.status is not Status.SECURE or verdict.signature is None:
            reason = verdict.reason
            if anchor is not None and verdict.ede == EDE.DNSKEY_MISSING:
                reason = (
                    f"no key of the trust anchor of {zone} ({_anchorTags(anchor)}) signed "
                    f"its DNSKEY RRset{rolled}: {reason}"
                )
            return done(verdict.status, reason, verdict.ede, dnskey=dnskeys)
        ttl = verdict.ttl if dsResult is None else min(verdict.ttl, dsResult.ttl)
        return done(
            Status.SECURE,
            f"DNSKEY of {nameText(zone)} proven by "
            + (
                "the trust anchor"
                if anchor is not None
                else f"the DS in {nameText(dsResult.zone if dsResult else None)}"
            ),
            None,
            dnskey=dnskeys,
            keys=tuple(k for k in dnskeys if isinstance(k, DNSKEY)),
            tags=(verdict.signature.keyTag,),
            sigs=(verdict.signature,),
            ttl=ttl,
        )

"""
The chain of trust: which zones exist, which are signed, and their proven keys.

A stub validator sees answers, not referrals, so it learns the zone structure from the data:
a DS query for a name is answered by the zone above the cut, whose signer names that zone;
its negative answers prove, with NSEC or NSEC3, whether the name is an unsigned delegation or
no cut at all.

Everything here is cached per resolver, with TTLs capped by the signatures' expiry; see
L{ChainOfTrust} for how its steps call each other.

The results, and the proof of a zone's DNSKEY RRset from DS records, are in
L{zonekeys<txdane.validation.zonekeys>}; the sharing of work and results between lookups
in L{sharing<txdane.validation.sharing>}.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import dns.dnssec
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.RRSIG import RRSIG
from twisted.internet.defer import Deferred

from txdane.status import Status
from txdane.validation import proofs
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.anchors import TrustAnchors
from txdane.validation.autotrust import TrustAnchorTracker
from txdane.validation.cache import ExpiringCache, nameKey, nameText, parentName, sameName
from txdane.validation.context import Ahead, LookupContext
from txdane.validation.ede import EDE
from txdane.validation.limits import ValidationLimits
from txdane.validation.rrsig import RRsetVerdict, verifyRRset
from txdane.validation.sections import findRRset, signaturesFor
from txdane.validation.sharing import _SharedResults
from txdane.validation.zonekeys import Cut, DSResult, ZoneKeys, _ZoneKeyProofs

#: How far below its trust anchor a zone's parent may lie for its keys to be asked for before
#: the zone's DS shows that the parent signs it (2: a top-level domain and the names right
#: below one). A wrong guess costs at most two queries per level, within the lookup's limit.
SPECULATIVE_PARENT_DEPTH = 2


def _nsecSpan(
    rrsets: Sequence[dns.rrset.RRset], name: dns.name.Name
) -> tuple[dns.name.Name, dns.name.Name] | None:
    """
    The owner and next name of the proven NSEC record among C{rrsets} that is C{name}'s own
    or covers it, if any.
    """
    for rrset in rrsets:
        if rrset.rdtype != dns.rdatatype.NSEC or len(rrset) != 1:
            continue
        owner, following = rrset.name, rrset[0].next
        if owner == name or owner < name < following:
            return owner, following
    return None


def _emptyNonTerminal(name: dns.name.Name, owner: dns.name.Name, following: dns.name.Name) -> bool:
    """
    Whether the NSEC record of C{owner} followed by C{following} shows C{name} to be an empty
    non-terminal: no records of its own (it falls between the two) and a name below it.
    """
    return owner < name < following and following != name and following.is_subdomain(name)


class ChainOfTrust(_ZoneKeyProofs, _SharedResults):
    """
    Proves zones' keys and zone cuts for one resolver, caching what it learns.

    The resolver asks it four questions, each for one lookup (a L{LookupContext}, whose
    queries, time and budget it uses):

      - L{zoneKeys}: the proven keys of a zone. From a trust anchor, or else: the DS at the
        zone's apex (L{dsAt}), the keys of the zone that signed that DS (L{zoneKeys} again,
        one level up), then the zone's DNSKEY RRset matched to the DS (C{_fromDS}).
      - L{provenDenial}: the NSEC or NSEC3 records of a response, verified with the keys
        (L{zoneKeys}) of the zone that signed them.
      - L{unsignedStatus}: for data without signatures, the walk from the closest trust
        anchor down to the name, one DS query per label (L{dsAt}), which finds the zone
        holding it: signed (the data is bogus) or below an unsigned delegation (insecure).
      - L{inZone} and L{denialHolderProblem}: whether a signer or a denial comes from the
        zone that really holds a name (L{dsAt}, L{unsignedStatus}).

    L{dsAt} proves what a DS query says about a cut: a DS RRset signed by the zone above
    (its keys by L{zoneKeys}), or a denial (L{provenDenial}, then the NSEC or NSEC3 proof).

    The keys of a zone whose anchors follow rollovers (a L{TrustAnchorTracker}) come from
    the tracker's trusted keys; each time its DNSKEY RRset is fetched, self-signed
    revocations are reported to the tracker (L{trackedKeys}), and once the RRset is proven,
    the RRset itself.

    @ivar zoneCache: proven zone keys (L{ZoneKeys}) by zone.
    @ivar dsCache: what DS queries proved (L{DSResult}) by name.
    @ivar tracker: the RFC 5011 state of the anchors of one zone, or C{None}.
    @ivar observed: called after the tracker learnt from a proven DNSKEY RRset.
    """

    def __init__(
        self,
        anchors: TrustAnchors,
        limits: ValidationLimits,
        policy: AlgorithmPolicy,
        zoneCache: ExpiringCache[ZoneKeys],
        dsCache: ExpiringCache[DSResult],
        tracker: TrustAnchorTracker | None = None,
        observed: Callable[[], None] | None = None,
    ) -> None:
        self.anchors = anchors
        self.limits = limits
        self.policy = policy
        self.zoneCache = zoneCache
        self.dsCache = dsCache
        self.tracker = tracker
        self.observed = observed
        self._pending: dict[Hashable, list[Deferred[object]]] = {}

    # -- verifying RRsets with a zone's keys ---------------------------------------------------

    def verify(
        self,
        rrset: dns.rrset.RRset,
        sigs: Sequence[RRSIG],
        zone: ZoneKeys,
        ctx: LookupContext,
    ) -> RRsetVerdict:
        return verifyRRset(
            rrset,
            sigs,
            zone.zone,
            zone.keys,
            now=ctx.now,
            limits=self.limits,
            policy=self.policy,
            budget=ctx.budget,
        )

    async def provenDenial(
        self,
        message: dns.message.Message,
        near: dns.name.Name,
        ctx: LookupContext,
        *,
        above: bool = False,
    ) -> tuple[ZoneKeys | None, list[dns.rrset.RRset], RRsetVerdict | None]:
        """
        The NSEC or NSEC3 RRsets of C{message} that speak about C{near}, verified with the
        keys of the zone that signed them (see L{proofs.findDenial
        <txdane.validation.proofs.findDenial>} for C{above}).

        @return: the keys of the zone that signed them (C{None} when no such records are
            signed), the records, and a failed verdict if one of them did not verify.
        """
        found = proofs.findDenial(message, near, self.limits, above=above)
        if found.signer is None or found.refused is not None:
            return None, found.rrsets, found.refused
        keys = await self.zoneKeys(found.signer, ctx)
        if keys.status is not Status.SECURE:
            return keys, found.rrsets, None
        verified, failed = proofs.verifyDenial(
            found, lambda rrset, sigs: self.verify(rrset, sigs, keys, ctx)
        )
        return keys, verified, failed

    # -- zone keys ---------------------------------------------------------------------------

    async def zoneKeys(self, zone: dns.name.Name, ctx: LookupContext) -> ZoneKeys:
        """
        The proven DNSKEYs of C{zone} (secure), or why there are none: insecure (an unsigned
        delegation above it, or only unsupported algorithms or digests), bogus, indeterminate.
        """
        return await self._remembered(
            self.zoneCache, "keys", zone, lambda: self._zoneKeys(zone, ctx), ctx
        )

    async def _zoneKeys(self, zone: dns.name.Name, ctx: LookupContext) -> ZoneKeys:
        if self.tracker is not None and zone == self.tracker.zone:
            return await self.trackedKeys(ctx)
        anchor = self.anchors.forZone(zone)
        if anchor is not None:
            return await self._fromDS(zone, anchor, None, (), ctx)
        if self.anchors.closest(zone) is None:
            return ZoneKeys(
                zone,
                Status.INDETERMINATE,
                f"no trust anchor covers {zone}",
                EDE.DNSSEC_INDETERMINATE,
            )
        # The zone's DNSKEY RRset, and the keys of the trust anchor the chain leads to, are
        # asked for beside the DS: one round trip per zone on the way up, not two.
        ctx.prefetch(zone, dns.rdatatype.DNSKEY)
        closest = self.anchors.closest(zone)
        assert closest is not None
        self.prefetch("keys", closest.zone, ctx)
        # The parent's keys prove the DS next. Close below the trust anchor (a top-level
        # domain, or a name right below one) the parent is as good as always the zone that
        # signs the DS, so its keys are asked for now too: one round trip for the whole
        # chain instead of one per zone. Deeper, the guess could cost queries for nothing.
        above = parentName(zone) if len(zone.labels) > 1 else zone
        if 0 < len(above) - len(closest.zone) <= SPECULATIVE_PARENT_DEPTH:
            self.prefetch("keys", above, ctx)
        ds = await self.dsAt(zone, ctx)
        if ds.status is not Status.SECURE:
            return ZoneKeys(zone, ds.status, ds.reason, ds.ede, ttl=ds.ttl)
        if ds.cut is Cut.UNSIGNED:
            return ZoneKeys(zone, Status.INSECURE, ds.reason, ds.ede, ttl=ds.ttl)
        if ds.cut is not Cut.SIGNED or ds.ds is None or ds.zone is None:
            return ZoneKeys(
                zone,
                Status.BOGUS,
                f"{zone} is used as a signer but is not a zone ({ds.reason})",
                EDE.DNSSEC_BOGUS,
                ttl=ds.ttl,
            )
        parent = await self.zoneKeys(ds.zone, ctx)
        return await self._fromDS(zone, None, ds, parent.trust, ctx)

    async def trackedKeys(self, ctx: LookupContext) -> ZoneKeys:
        """
        The proven keys of the tracked zone, from the tracker's trusted keys; the tracker
        learns from the DNSKEY RRset fetched: the revocations its keys prove by themselves,
        then, once a trusted key proved the RRset, the keys it lists.
        """
        tracker = self.tracker
        assert tracker is not None
        zone = tracker.zone
        message = await ctx.query(zone, dns.rdatatype.DNSKEY)
        dnskeys = findRRset(message.answer, zone, dns.rdatatype.DNSKEY)
        sigs = signaturesFor(message, message.answer, dnskeys) if dnskeys is not None else []
        if dnskeys is not None:
            tracker.revoke(dnskeys, lambda key: self._selfSigned(dnskeys, sigs, key, ctx), ctx.now)
        if tracker.allRevoked:
            return ZoneKeys(
                zone,
                Status.BOGUS,
                f"every trust anchor of {zone} has been revoked (RFC 5011 state in {tracker.path})",
                EDE.DNSSEC_BOGUS,
            )
        keys = await self._fromDS(
            zone, tracker.anchor(), None, (), ctx, tracked=True, message=message
        )
        if keys.status is Status.SECURE and dnskeys is not None:
            tracker.observe(dnskeys, sigs, ctx.now, self.policy)
            if self.observed is not None:
                self.observed()
        return keys

    # -- zone cuts ---------------------------------------------------------------------------

    async def dsAt(self, name: dns.name.Name, ctx: LookupContext) -> DSResult:
        """
        Ask for the DS RRset of C{name} and prove what the answer says about a cut there.

        A name between the owner of a proven NSEC record and the next name it lists, above
        that next name, is an empty non-terminal of the same zone (RFC 4035 section 3.1.3.2),
        so no cut: when the NSEC record that proved its parent no cut says so, no query is
        needed (RFC 8198 section 5.1).
        """
        # (The cache keeps names by their nameKey: the parent's is this one's but the first.)
        parent = self.dsCache.get(nameKey(name)[1:]) if len(name.labels) > 1 else None
        if (
            parent is not None
            and parent.status is Status.SECURE
            and parent.cut is Cut.NONE
            and parent.span is not None
            and _emptyNonTerminal(name, *parent.span)
        ):
            owner, following = parent.span
            return DSResult(
                name,
                Cut.NONE,
                Status.SECURE,
                f"{nameText(name)} is an empty non-terminal in {nameText(parent.zone)} (the"
                f" NSEC record of {nameText(owner)} is followed by {nameText(following)})",
                zone=parent.zone,
                ttl=parent.ttl,
                span=parent.span,
            )
        return await self._remembered(self.dsCache, "ds", name, lambda: self._dsAt(name, ctx), ctx)

    async def _dsAt(self, name: dns.name.Name, ctx: LookupContext) -> DSResult:
        if name == dns.name.root:
            return DSResult(name, Cut.UNKNOWN, Status.INDETERMINATE, "the root has no parent")
        message = await ctx.query(name, dns.rdatatype.DS)
        positive = findRRset(message.answer, name, dns.rdatatype.DS) or findRRset(
            message.answer, name, dns.rdatatype.CNAME
        )
        if positive is not None:
            sigs = signaturesFor(message, message.answer, positive)
            signers = {s.signer for s in sigs if name != s.signer and name.is_subdomain(s.signer)}
            if not sigs or not signers:
                return await self._unsigned(name, ctx, "DS")
            signer = max(signers, key=len)
            parent = await self.zoneKeys(signer, ctx)
            if parent.status is not Status.SECURE:
                return DSResult(
                    name, Cut.UNKNOWN, parent.status, parent.reason, parent.ede, ttl=parent.ttl
                )
            verdict = self.verify(positive, sigs, parent, ctx)
            if verdict.status is not Status.SECURE:
                return DSResult(name, Cut.UNKNOWN, verdict.status, verdict.reason, verdict.ede)
            if verdict.wildcardParent is not None:
                return DSResult(
                    name,
                    Cut.UNKNOWN,
                    Status.BOGUS,
                    f"DS of {name} from a wildcard",
                    EDE.DNSSEC_BOGUS,
                )
            above = parentName(name)
            if not sameName(above, signer):
                member = await self.inZone(above, signer, ctx)
                if member is not None:
                    return DSResult(name, Cut.UNKNOWN, Status.BOGUS, member, EDE.DNSSEC_BOGUS)
            sigUse = (verdict.signature,) if verdict.signature else ()
            if positive.rdtype == dns.rdatatype.CNAME:
                return DSResult(
                    name,
                    Cut.NONE,
                    Status.SECURE,
                    f"{nameText(name)} is a CNAME in {nameText(signer)}",
                    zone=signer,
                    signatures=sigUse,
                    ttl=verdict.ttl,
                )
            return DSResult(
                name,
                Cut.SIGNED,
                Status.SECURE,
                f"DS of {nameText(name)} signed by {nameText(signer)}",
                zone=signer,
                ds=positive,
                signatures=sigUse,
                ttl=verdict.ttl,
            )
        nxdomain = message.rcode() == dns.rcode.NXDOMAIN
        keys, rrsets, failed = await self.provenDenial(message, name, ctx, above=True)
        if failed is not None:
            return DSResult(name, Cut.UNKNOWN, failed.status, failed.reason, failed.ede)
        if keys is None:
            return await self._unsigned(name, ctx, "negative DS")
        if keys.status is not Status.SECURE:
            return DSResult(name, Cut.UNKNOWN, keys.status, keys.reason, keys.ede, ttl=keys.ttl)
        proof = proofs.checkDenial(
            self.limits, rrsets, keys.zone, name, dns.rdatatype.DS, nxdomain, ctx.budget
        )
        ttl = min((r.ttl for r in rrsets), default=0)
        if proof.status is Status.BOGUS:
            return DSResult(name, Cut.UNKNOWN, Status.BOGUS, proof.reason, proof.ede)
        # Whatever the proof says (no cut, an unsigned cut, or an insecure span), it counts
        # only from the zone holding the name's parent: a zone's old records, signed before
        # a child was split out of it, stay valid until their signatures expire.
        problem = await self.denialHolderProblem(
            keys.zone,
            name,
            ctx,
            ds=True,
            insecure=proof.status is Status.INSECURE and not proof.delegation,
        )
        if problem is not None:
            return DSResult(name, Cut.UNKNOWN, Status.BOGUS, problem, EDE.DNSSEC_BOGUS)
        if proof.status is Status.INSECURE:
            cut = Cut.UNSIGNED if proof.delegation else Cut.UNKNOWN
            return DSResult(
                name,
                cut,
                Status.SECURE if proof.delegation else Status.INSECURE,
                proof.reason,
                proof.ede,
                zone=keys.zone,
                ttl=ttl,
            )
        cut = Cut.UNSIGNED if proof.delegation else Cut.NONE
        span = None
        if cut is Cut.NONE and not nxdomain:
            span = _nsecSpan(rrsets, name)
        return DSResult(
            name,
            cut,
            Status.SECURE,
            proof.reason,
            zone=keys.zone,
            ttl=ttl,
            absent=nxdomain,
            span=span,
        )

    async def _unsigned(self, name: dns.name.Name, ctx: LookupContext, what: str) -> DSResult:
        parent = await self.unsignedStatus(name.parent(), ctx)
        if parent.status is Status.SECURE:
            return DSResult(
                name,
                Cut.UNKNOWN,
                Status.BOGUS,
                f"the {what} answer for {name} is unsigned, but {parent.zone} is signed",
                EDE.RRSIGS_MISSING,
            )
        return DSResult(name, Cut.UNKNOWN, parent.status, parent.reason, parent.ede, ttl=parent.ttl)

    async def unsignedStatus(self, name: dns.name.Name, ctx: LookupContext) -> ZoneKeys:
        """
        Walk from the closest trust anchor down to C{name}, asking for DS at each label, to
        find the zone holding C{name}: a secure result means the zone is signed (so unsigned
        data there is bogus); insecure means an unsigned delegation lies on the way.
        """
        anchor = self.anchors.closest(name)
        if anchor is None:
            return ZoneKeys(
                name,
                Status.INDETERMINATE,
                f"no trust anchor covers {name}",
                EDE.DNSSEC_INDETERMINATE,
            )
        zone = await self.zoneKeys(anchor.zone, ctx)
        for depth in range(len(anchor.zone) + 1, len(name) + 1):
            if zone.status is not Status.SECURE:
                return zone
            label = name.split(depth)[1]
            ds = await self.dsAt(label, ctx)
            if ds.status is not Status.SECURE:
                return ZoneKeys(label, ds.status, ds.reason, ds.ede, ttl=ds.ttl)
            if ds.cut is not Cut.SIGNED and ds.zone != zone.zone:
                # Only the zone being walked can say that a label below it is no cut or an
                # unsigned one.
                return ZoneKeys(
                    label,
                    Status.BOGUS,
                    f"the denial of a DS at {label} is signed by {ds.zone}, but the zone "
                    f"holding it is {zone.zone}",
                    EDE.DNSSEC_BOGUS,
                )
            if ds.cut is Cut.UNSIGNED:
                return ZoneKeys(label, Status.INSECURE, ds.reason, ds.ede, ttl=ds.ttl)
            if ds.cut is Cut.SIGNED:
                zone = await self.zoneKeys(label, ctx)
            elif ds.absent and ds.zone == zone.zone:
                # The label does not exist in the signed zone: nor does anything below it,
                # so there is no cut further down to look for.
                break
        return zone

    async def denialHolderProblem(
        self,
        signer: dns.name.Name,
        name: dns.name.Name,
        ctx: LookupContext,
        *,
        ds: bool = False,
        insecure: bool = False,
    ) -> str | None:
        """
        Check that a denial for C{name} signed by C{signer} comes from the zone holding
        C{name}, found by the walk down from the trust anchor. A zone's NSEC and NSEC3
        records say nothing about names a child zone holds, yet stay valid after the child
        is split out of it until their signatures expire: replayed, they would prove a
        child's TLSA record absent, or its signed grandchild an unsigned delegation. Over
        the iteration limit, records from a zone further up would likewise make a signed
        zone's denial or data insecure.

        @param ds: whether the denial is of a DS at C{name} (then only the zone above the
            name may sign it, not C{name} itself; the root, which has none, signs its own).
        @param insecure: whether the denial reads as insecure (NSEC3 records over the
            iteration limit, an opt-out span): then it also stands below an unsigned
            delegation, where nothing is secure anyway.
        @return: the reason it does not, or C{None}.
        """
        if signer == name and (not ds or name == dns.name.root):
            return None  # (the root has no zone above it: its own denies its DS)
        if name == dns.name.root:
            return f"the denial for the root is signed by {signer}"
        parent = parentName(name)
        if sameName(parent, signer):
            return None  # the signer is a proven zone, and the name is right below its apex
        holder = await self.unsignedStatus(parent, ctx)
        if holder.status is Status.INSECURE:
            if insecure:
                return None
            return (
                f"the denial is signed by {signer}, but {name} lies below the unsigned "
                f"delegation {holder.zone}"
            )
        if holder.status is not Status.SECURE:
            return f"cannot tell which zone holds {name}: {holder.reason}"
        if holder.zone != signer:
            return f"the denial is signed by {signer}, but {name} is in zone {holder.zone}"
        return None

    async def inZone(
        self,
        name: dns.name.Name,
        zone: dns.name.Name,
        ctx: LookupContext,
    ) -> str | None:
        """
        Check that C{name}, strictly below C{zone}, belongs to C{zone}: no zone cut at or
        above it. Return the reason it does not, or C{None} when it does.
        """
        ds = await self.dsAt(name, ctx)
        if ds.status is Status.INSECURE:
            # The zone's own denial cannot be relied on (NSEC3 opt-out or iterations over
            # the limit): nothing shows another zone holds the name, and the signature by
            # the zone is valid, as every reference validator accepts.
            return None
        if ds.status is not Status.SECURE:
            return f"cannot prove {name} belongs to {zone}: {ds.reason}"
        if ds.cut is not Cut.NONE:
            return f"{name} is a {ds.cut.value}, so {zone} cannot sign its data"
        if ds.zone != zone:
            return f"{name} belongs to zone {ds.zone}, not to the signer {zone}"
        return None

    # -- sharing and caching between lookups ---------------------------------------------

    def prefetch(self, kind: str, name: dns.name.Name, ctx: LookupContext) -> None:
        """
        Start working out the zone keys (C{kind} C{"keys"}) or the DS result (C{"ds"}) of
        C{name} for C{ctx} now, beside the lookup's current step, when a later step will
        need it (certainly, or, for the parent zones near the trust anchor, as good as
        certainly: L{SPECULATIVE_PARENT_DEPTH}): its queries go out in the same round trip.
        The later step gets the result (or its error) from L{_remembered
        <txdane.validation.sharing._SharedResults._remembered>}; other lookups share it as
        usual; a result no step asks for is dropped, its failure too.
        """
        key = (kind, nameKey(name))
        if ctx.cancelled or key in ctx.ahead or key in self._pending:
            return
        if kind == "keys":
            if self.zoneCache.get(name) is not None:
                return
            ctx.ahead[key] = Ahead(self.zoneKeys(name, ctx))
        else:
            if self.dsCache.get(name) is not None:
                return
            ctx.ahead[key] = Ahead(self.dsAt(name, ctx))

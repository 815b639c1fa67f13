"""
The DNSSEC-validating stub resolver, L{ValidatingResolver}: it asks a plain recursive resolver
for data with the DO and CD bits set and validates everything itself, from a trust anchor
down. (L{txdane.validation.trustad.ADTrustingResolver} trusts a resolver's AD bit instead.)

One lookup, top down; each step is a method of L{ValidatingResolver}:

  1. C{lookup}: an answer from the cache, or a new L{LookupContext} (the question, the time,
     the work budget, the queries sent) and the lookup's time limit.
  2. C{_lookup}: runs the steps below; turns whatever went wrong into a
     L{LookupFailedError} and caches the answer.
  3. C{_resolve}: asks the question and follows the CNAME and DNAME links of the answer,
     each link validated as in step 4, to the data (step 4) or its absence (step 5).
  4. C{_positive}, then C{_signedBy}: one RRset of the answer section. Its signer's keys come
     from the chain of trust (L{ChainOfTrust.zoneKeys}), its signatures are checked
     (L{ChainOfTrust.verify}), the signer must hold the name (L{ChainOfTrust.inZone}), and
     a wildcard expansion needs a proof that no closer name exists
     (L{ChainOfTrust.provenDenial}, L{proofs.checkWildcard
     <txdane.validation.proofs.checkWildcard>}). Data without valid signatures is insecure only
     below an unsigned delegation (L{ChainOfTrust.unsignedStatus}).
  5. C{_negative}, then C{_denied} (in L{verdicts<txdane.validation.verdicts>}, with
     C{_belowUnsignedCut}, which also serves step 4): NXDOMAIN or NODATA, proven by the
     NSEC or NSEC3 records of the response
     (L{ChainOfTrust.provenDenial}, L{proofs.checkDenial
     <txdane.validation.proofs.checkDenial>}); without them, by an unsigned delegation above
     the name (L{ChainOfTrust.unsignedStatus}).
  6. C{_finish}: the answer, with the weakest status of the verdicts of steps 3 to 5.
"""

from __future__ import annotations

import dataclasses

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rrset
from dns.rdtypes.ANY.RRSIG import RRSIG
from twisted.internet import defer
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from txdane.errors import (
    BudgetExceededError,
    LookupFailedError,
    TrustAnchorStateError,
    TxdaneError,
    WorkLimitExceededError,
)
from txdane.names import asName
from txdane.status import Status
from txdane.transport import DNSQuerier
from txdane.validation import proofs
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.anchors import TrustAnchors
from txdane.validation.answer import Answer, ChainLink, SignatureUse, ZoneTrust
from txdane.validation.autotrust import RefreshTimer, TrustAnchorTracker
from txdane.validation.cache import ExpiringCache, nameCost, nameText, rrsetCost
from txdane.validation.context import LookupContext, cancellable
from txdane.validation.ede import EDE
from txdane.validation.interfaces import IDNSSECResolver
from txdane.validation.limits import Budget, ValidationLimits
from txdane.validation.lookups import TypedLookups, defaultClock, limitLookupTime, lookupType
from txdane.validation.sections import dnameFor, findRRset, signaturesFor
from txdane.validation.trustchain import ChainOfTrust, DSResult, ZoneKeys
from txdane.validation.verdicts import AbsenceSteps, Verdict, negativeTTL


def _answerCost(answer: Answer) -> int:
    """
    The estimated bytes of a cached answer: its records, its chain, its denial, its reason,
    the name asked and the signers' names (its chain of trust is shared with the zone
    caches).
    """
    records = rrsetCost([answer.rrset, *(link.rrset for link in answer.chain), *answer.denial])
    names = nameCost(answer.name) + sum(nameCost(s.signer) for s in answer.signatures)
    return records + names + len(answer.reason)


def _zoneKeysCost(keys: ZoneKeys) -> int:
    dnskey = rrsetCost(trust.dnskey for trust in keys.trust[-1:])
    return dnskey + 300 * len(keys.keys) + len(keys.reason)


def _dsCost(result: DSResult) -> int:
    return rrsetCost([result.ds]) + len(result.reason)


#: How many texts of questions L{ValidatingResolver.lookup} remembers the cache keys of.
_TEXT_KEYS = 1024
#: The longest text of a name (255 octets, each written as a 4-character escape at worst).
_LONGEST_NAME_TEXT = 1024


def _textKey(name: object, rdtype: object) -> tuple[str, str | int] | None:
    """
    A cache key for a lookup given as ASCII text, equal for the texts of one name that differ
    only in case or a final dot; C{None} when the lookup is not given that way.
    """
    if not isinstance(name, str) or not name or not name.isascii() or name.endswith("\\."):
        return None
    text = name.lower()
    if not text.endswith("."):
        text += "."
    if isinstance(rdtype, str):
        return (text, rdtype.upper())
    if isinstance(rdtype, int):
        return (text, int(rdtype))
    return None


def _synthesized(message: dns.message.Message, cname: dns.rrset.RRset) -> bool:
    """
    Whether C{cname} was synthesized from a DNAME in the same answer (it is then unsigned,
    and the DNAME is what gets validated).
    """
    dname = dnameFor(message, cname.name)
    if dname is None:
        return False
    return not signaturesFor(message, message.answer, cname)


@implementer(IDNSSECResolver)
class ValidatingResolver(TypedLookups, AbsenceSteps):
    """
    Validates every answer of a recursive resolver locally, from the trust anchors down.

    Each query goes to the recursive resolver with DO and CD set (RFC 6840 section 5.9), so
    a validating upstream cannot hide bogus data behind SERVFAIL. The zone holding each RRset
    is the signer of its RRSIG, checked to be an ancestor with no zone cut in between; each
    zone's DNSKEY RRset is proven by its parent's DS, up to a trust anchor; data without
    signatures is insecure only where a walk down from the anchor proves an unsigned
    delegation, else bogus.

    @param querier: sends the queries (a L{txdane.transport.DNSClient}, or a fake).
    @param trustAnchors: where validation starts; the built-in IANA root anchors by default.
    @param limits: the work limits; a default L{ValidationLimits} when not given.
    @param policy: the algorithms validated; a default L{AlgorithmPolicy} when not given.
    @param clock: the source of time for signature validity, cache expiry and the lookup
        timeout; the global reactor by default.
    @param trustAnchorTracker: the RFC 5011 state of the anchors of one zone (see
        L{TrustAnchorTracker<txdane.validation.autotrust.TrustAnchorTracker>}): that zone's
        anchors are its trusted keys, instead of those of C{trustAnchors}. Every proven
        DNSKEY RRset of the zone updates it, and from the first lookup on, the RRset is
        fetched again at the refresh interval of RFC 5011 section 2.3
        (L{refreshTrustAnchor}), on a timer of C{clock} that L{stopRefreshing} stops.
    @raise TrustAnchorError: every anchor of a zone uses an algorithm or DS digest type that
        C{policy} does not validate (a L{TrustAnchorStateError} for the tracker's anchors).
    """

    def __init__(
        self,
        querier: DNSQuerier,
        *,
        trustAnchors: TrustAnchors | None = None,
        limits: ValidationLimits | None = None,
        policy: AlgorithmPolicy | None = None,
        clock: IReactorTime | None = None,
        trustAnchorTracker: TrustAnchorTracker | None = None,
    ) -> None:
        if not callable(getattr(querier, "query", None)):
            # A resolver's settings, or nothing: refused here, not at the first lookup.
            raise TypeError(
                f"ValidatingResolver needs a querier (such as a DNSClient), not {querier!r}"
            )
        clock = defaultClock(clock)
        self.querier = querier
        self.trustAnchors = trustAnchors if trustAnchors is not None else TrustAnchors.builtin()
        self.trustAnchorTracker = trustAnchorTracker
        self._refresher: RefreshTimer | None = None
        self.policy = policy if policy is not None else AlgorithmPolicy()
        anchors = self.trustAnchors
        if trustAnchorTracker is not None:
            others = [a for a in anchors.anchors if a.zone != trustAnchorTracker.zone]
            tracked = trustAnchorTracker.anchor()
            # Refused as the configured ones are, below, naming the state file.
            reason = tracked.unusable(self.policy)
            if reason is not None:
                raise TrustAnchorStateError(str(trustAnchorTracker.path), reason)
            anchors = TrustAnchors((*others, tracked))
            self._refresher = RefreshTimer(clock, trustAnchorTracker, self.refreshTrustAnchor)
        # Anchors the policy cannot use would make every answer below them insecure (a dane:
        # endpoint then behaving as tls:): refused (Unbound ignores them, with a warning).
        anchors.checkUsable(self.policy)
        self.limits = limits if limits is not None else ValidationLimits()
        self.clock = clock
        size, maxTTL = self.limits.cacheSize, self.limits.maxCacheTTL
        budget = self.limits.cacheBytes
        self._answers: ExpiringCache[Answer] = ExpiringCache(
            clock, size, maxTTL, budget // 2, _answerCost
        )
        # Texts of questions -> their cache keys (see lookup): at most _TEXT_KEYS of them,
        # each of a text no longer than a name's can be.
        self._textKeys: dict[tuple[str, object], tuple[str, str | int]] = {}
        self._chain = ChainOfTrust(
            anchors,
            self.limits,
            self.policy,
            ExpiringCache(clock, size, maxTTL, budget // 4, _zoneKeysCost),
            ExpiringCache(clock, size, maxTTL, budget // 4, _dsCost),
            trustAnchorTracker,
            None if self._refresher is None else self._refresher.schedule,
        )
        #: Signature checks done by the most recent lookup that finished (for tests and
        #: benchmarks: the KeyTrap limits are asserted on it).
        self.lastSignatureChecks = 0
        #: Queries sent by the most recent lookup that finished.
        self.lastQueries = 0
        #: NSEC3 hashes computed by the most recent lookup that finished.
        self.lastNSEC3Hashes = 0

    def clearCache(self) -> None:
        """
        Forget every validated answer, zone key and zone cut.
        """
        self._answers.clear()
        self._chain.zoneCache.clear()
        self._chain.dsCache.clear()

    # -- following the trust anchor's rollovers ---------------------------------------------

    def refreshTrustAnchor(self) -> Deferred[bool]:
        """
        Fetch the DNSKEY RRset of the zone whose anchors are tracked now, whatever the cache
        holds, and update the tracker. A failure to prove it is noted in the tracker (the
        next fetch is then due after its retry time), and logged.

        @return: a Deferred firing with whether a trusted key proved the RRset (C{False}
            at once without a tracker).
        """
        tracker = self.trustAnchorTracker
        if tracker is None:
            return succeed(False)
        ctx = LookupContext(
            tracker.zone,
            dns.rdatatype.DNSKEY,
            self.querier,
            self.clock.seconds(),
            Budget(self.limits),
        )
        running = limitLookupTime(
            cancellable(ctx, self._refresh(ctx)),
            tracker.zone,
            dns.rdatatype.DNSKEY,
            self.limits,
            self.clock,
        )
        assert self._refresher is not None
        return running.addErrback(self._refresher.failed, ctx.now)

    async def _refresh(self, ctx: LookupContext) -> bool:
        keys = await self._chain.trackedKeys(ctx)
        if keys.status is not Status.SECURE:
            raise LookupFailedError(ctx.name, ctx.rdtype, keys.reason, keys.ede)
        self._chain.zoneCache.put(keys.zone, keys, keys.ttl)
        return True

    def stopRefreshing(self) -> None:
        """
        Stop fetching the tracked zone's DNSKEY RRset on a timer (lookups still update the
        tracker whenever they fetch it).
        """
        if self._refresher is not None:
            self._refresher.stop()

    def lookup(
        self, name: dns.name.Name | str, rdtype: dns.rdatatype.RdataType | str | int
    ) -> Deferred[Answer]:
        """
        Step 1: the validated answer for C{name} and C{rdtype}, from the cache or from a new
        lookup (see L{IDNSSECResolver.lookup}).
        """
        textKey = None
        if isinstance(name, str):
            # Fast path for repeated lookups by text: no name parsing, and the text's key
            # remembered for the texts callers repeat. (Only a type that passed lookupType
            # is ever cached, so a hit needs no check of it.)
            raw = (name, rdtype)
            textKey = self._textKeys.get(raw)
            if textKey is None:
                textKey = _textKey(name, rdtype)
                if textKey is not None and len(name) <= _LONGEST_NAME_TEXT:
                    if len(self._textKeys) >= _TEXT_KEYS:
                        self._textKeys.clear()
                    self._textKeys[raw] = textKey
            if textKey is not None:
                cached = self._answers.get(textKey)
                if cached is not None:
                    return succeed(cached)
        qtype = lookupType(rdtype)
        qname = asName(name)
        cached = self._answers.get((qname, qtype))
        if cached is not None:
            return succeed(cached)
        ctx = LookupContext(
            qname, qtype, self.querier, self.clock.seconds(), Budget(self.limits), textKey
        )
        return limitLookupTime(
            cancellable(ctx, self._lookup(ctx)), qname, qtype, self.limits, self.clock
        )

    async def _lookup(self, ctx: LookupContext) -> Answer:
        """
        Step 2: validate, fail closed, cache.
        """
        try:
            answer = await self._resolve(ctx)
        except BudgetExceededError as e:
            raise WorkLimitExceededError(
                ctx.name, ctx.rdtype, str(e), EDE.DNSSEC_INDETERMINATE
            ) from e
        except (TxdaneError, defer.CancelledError):
            raise
        except Exception as e:
            # Fail closed, and say so in one line, whatever the data made go wrong.
            raise LookupFailedError(
                ctx.name, ctx.rdtype, f"cannot validate: {e!r}", EDE.OTHER, e
            ) from e
        finally:
            self.lastSignatureChecks = ctx.budget.checks
            self.lastQueries = ctx.budget.queries
            self.lastNSEC3Hashes = ctx.budget.nsec3Hashes
        answer = self._strictTLSA(answer)
        ttl = self.limits.bogusTTL if answer.status is Status.BOGUS else answer.ttl
        if answer.rrset is None:
            ttl = min(ttl, self.limits.maxNegativeTTL)
        self._answers.put((ctx.name, ctx.rdtype), answer, ttl)
        if ctx.textKey is not None:
            self._answers.put(ctx.textKey, answer, ttl)
        return answer

    def _strictTLSA(self, answer: Answer) -> Answer:
        """
        With L{ValidationLimits.strictNSEC3Iterations}, a TLSA answer that is insecure only
        because of the NSEC3 iteration limit becomes bogus: the proof that would tell an
        unsigned zone from stripped signatures was never checked.
        """
        if (
            self.limits.strictNSEC3Iterations
            and answer.rdtype == dns.rdatatype.TLSA
            and answer.status is Status.INSECURE
            and answer.ede == EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE
        ):
            return dataclasses.replace(
                answer,
                status=Status.BOGUS,
                reason=f"{answer.reason} (a TLSA lookup, with strictNSEC3Iterations)",
            )
        return answer

    # -- the lookup --------------------------------------------------------------------------

    async def _resolve(self, ctx: LookupContext) -> Answer:
        """
        Step 3: ask the question, follow the CNAME/DNAME chain to its end, and validate
        every link and the final data (L{_positive}) or its absence (L{_negative}).
        """
        name, qtype = ctx.name, ctx.rdtype
        links: list[ChainLink] = []
        verdicts: list[Verdict] = []
        message = await ctx.query(name, qtype)
        seen = {name}
        hops = 0
        while True:
            rrset = findRRset(message.answer, name, qtype)
            if rrset is not None and qtype == dns.rdatatype.CNAME and _synthesized(message, rrset):
                rrset = None  # a CNAME synthesized from a DNAME: the DNAME is what is validated
            if rrset is not None:
                verdict = await self._positive(message, rrset, ctx)
                verdicts.append(verdict)
                return self._finish(ctx, dns.rcode.NOERROR, rrset, links, verdicts, ())
            cname = findRRset(message.answer, name, dns.rdatatype.CNAME)
            dname = None if cname is not None else dnameFor(message, name)
            if cname is None and dname is None:
                return await self._negative(ctx, message, name, links, verdicts)
            if cname is not None and _synthesized(message, cname):
                cname = None
                dname = dnameFor(message, name)
            if dname is not None:
                verdict = await self._positive(message, dname, ctx)
                verdicts.append(verdict)
                links.append(ChainLink(dname, verdict.status))
                try:
                    target = name.relativize(dname.name).concatenate(dname[0].target)
                except dns.name.NameTooLong as e:
                    raise LookupFailedError(
                        ctx.name,
                        ctx.rdtype,
                        f"the DNAME at {dname.name} makes {name} longer than 255 octets",
                        EDE.OTHER,
                        e,
                    ) from e
                synthesized = dns.rrset.from_rdata(
                    name,
                    dname.ttl,
                    dns.rdtypes.ANY.CNAME.CNAME(dns.rdataclass.IN, dns.rdatatype.CNAME, target),
                )
                links.append(ChainLink(synthesized, verdict.status, synthesized=True))
                if qtype == dns.rdatatype.CNAME:
                    return self._finish(ctx, dns.rcode.NOERROR, synthesized, links, verdicts, ())
            else:
                assert cname is not None
                verdict = await self._positive(message, cname, ctx)
                verdicts.append(verdict)
                links.append(ChainLink(cname, verdict.status))
                target = cname[0].target
            hops += 1
            if hops > self.limits.maxCNAMEChain or target in seen:
                raise WorkLimitExceededError(
                    ctx.name,
                    ctx.rdtype,
                    f"CNAME/DNAME chain longer than {self.limits.maxCNAMEChain} or looping "
                    f"at {target}",
                    EDE.OTHER,
                )
            seen.add(target)
            name = target
            if not any(r.name == name for r in message.answer) and not (
                dnameFor(message, name) is not None
            ):
                message = await ctx.query(name, qtype)

    async def _positive(
        self,
        message: dns.message.Message,
        rrset: dns.rrset.RRset,
        ctx: LookupContext,
    ) -> Verdict:
        """
        Step 4: validate one RRset of an answer section (the answer, or a CNAME/DNAME link):
        find the zones that signed it and validate it as data of the deepest (L{_signedBy}),
        or, unsigned, find whether it lies below an unsigned delegation.
        """
        chain = self._chain
        owner = rrset.name
        sigs = signaturesFor(message, message.answer, rrset)
        what = f"{nameText(owner)} {dns.rdatatype.to_text(rrset.rdtype)}"
        signers = {s.signer for s in sigs if owner.is_subdomain(s.signer)}
        if rrset.rdtype == dns.rdatatype.DS:
            signers.discard(owner)
        if not sigs:
            zone = await chain.unsignedStatus(owner, ctx)
            if zone.status is Status.SECURE:
                return Verdict(
                    Status.BOGUS,
                    f"{what} has no RRSIG, but {zone.zone} is signed (RRSIGs stripped?)",
                    EDE.RRSIGS_MISSING,
                    trust=zone.trust,
                )
            return Verdict(
                zone.status, f"{what}: {zone.reason}", zone.ede, rrset.ttl, trust=zone.trust
            )
        if not signers:
            bogus = Verdict(
                Status.BOGUS,
                f"{what}: no RRSIG by a zone at or above the name "
                f"(signers: {', '.join(sorted({str(s.signer) for s in sigs}))})",
                EDE.DNSSEC_BOGUS,
            )
            unsigned = await self._belowUnsignedCut(
                owner, rrset.rdtype, what, bogus, rrset.ttl, ctx
            )
            return unsigned or bogus
        # The deepest signer first: where it is an insecure zone, the data is insecure (an
        # unsigned cut lies above the name). A bogus result may come from a signature added
        # by an attacker, so the next signer gets its chance; two at most.
        first: Verdict | None = None
        for signer in sorted(signers, key=len, reverse=True)[:2]:
            verdict = await self._signedBy(message, rrset, sigs, signer, ctx)
            if verdict.status in (Status.SECURE, Status.INSECURE):
                return verdict
            first = first or verdict
        assert first is not None
        if first.status is Status.BOGUS:
            unsigned = await self._belowUnsignedCut(
                owner, rrset.rdtype, what, first, rrset.ttl, ctx
            )
            if unsigned is not None:
                return unsigned
        return first

    def _prefetchCuts(
        self,
        rrset: dns.rrset.RRset,
        sigs: list[RRSIG],
        signer: dns.name.Name,
        ctx: LookupContext,
    ) -> None:
        """
        Start the DS queries that will show whether C{signer} holds the owner of C{rrset}
        (L{ChainOfTrust.inZone}) while its keys are being proven: at the owner, and, when
        the owner lies deeper, at the label right below the signer, where the walk that
        checks who signed the owner's denial starts. Not for a wildcard expansion, whose
        owner is not the name checked.
        """
        owner = rrset.name
        member = owner.parent() if rrset.rdtype == dns.rdatatype.DS else owner
        if member == signer or not member.is_subdomain(signer):
            return
        if any(s.signer == signer and s.labels < len(owner) - 1 for s in sigs):
            return
        chain = self._chain
        chain.prefetch("ds", member, ctx)
        if len(member) > len(signer) + 1:
            chain.prefetch("ds", member.split(len(signer) + 1)[1], ctx)

    async def _signedBy(
        self,
        message: dns.message.Message,
        rrset: dns.rrset.RRset,
        sigs: list[RRSIG],
        signer: dns.name.Name,
        ctx: LookupContext,
    ) -> Verdict:
        """
        Step 4, for one signer: validate C{rrset} as data of the zone C{signer}, with that
        zone's proven keys; the zone must hold the name, and a wildcard expansion needs the
        proof that no closer name exists.
        """
        chain = self._chain
        owner = rrset.name
        what = f"{nameText(owner)} {dns.rdatatype.to_text(rrset.rdtype)}"
        self._prefetchCuts(rrset, sigs, signer, ctx)
        keys = await chain.zoneKeys(signer, ctx)
        if keys.status is not Status.SECURE:
            return Verdict(
                keys.status, keys.reason, keys.ede, keys.ttl or rrset.ttl, trust=keys.trust
            )
        verdict = chain.verify(rrset, sigs, keys, ctx)
        if verdict.status is not Status.SECURE:
            return Verdict(verdict.status, verdict.reason, verdict.ede, trust=keys.trust)
        member = owner.parent() if rrset.rdtype == dns.rdatatype.DS else owner
        if verdict.wildcardParent is not None:
            member = verdict.wildcardParent
        if member != signer and member.is_subdomain(signer):
            problem = await chain.inZone(member, signer, ctx)
            if problem is not None:
                return Verdict(
                    Status.BOGUS, f"{what}: {problem}", EDE.DNSSEC_BOGUS, trust=keys.trust
                )
        denialRRsets: tuple[dns.rrset.RRset, ...] = ()
        if verdict.wildcardParent is not None and rrset.rdtype in (
            dns.rdatatype.NSEC,
            dns.rdatatype.NSEC3,
        ):
            return Verdict(
                Status.BOGUS,
                f"{what} is signed as a wildcard expansion, which NSEC and NSEC3 never are",
                EDE.DNSSEC_BOGUS,
                trust=keys.trust,
            )
        if verdict.wildcardParent is not None:
            denialKeys, rrsets, failed = await chain.provenDenial(message, owner, ctx)
            if failed is not None:
                return Verdict(failed.status, failed.reason, failed.ede, trust=keys.trust)
            if denialKeys is None or denialKeys.zone != signer:
                return Verdict(
                    Status.BOGUS,
                    f"{what}: wildcard answer without a signed proof that no closer name exists",
                    EDE.NSEC_MISSING,
                    trust=keys.trust,
                )
            proof = proofs.checkWildcard(
                self.limits, rrsets, signer, owner, verdict.wildcardParent, ctx.budget
            )
            if proof.status is not Status.SECURE:
                return Verdict(proof.status, f"{what}: {proof.reason}", proof.ede, trust=keys.trust)
            denialRRsets = tuple(rrsets)
        assert verdict.signature is not None
        return Verdict(
            Status.SECURE,
            f"{what} {verdict.reason}",
            None,
            min(verdict.ttl, keys.ttl),
            (verdict.signature,),
            keys.trust,
            denialRRsets,
        )

    async def _negative(
        self,
        ctx: LookupContext,
        message: dns.message.Message,
        name: dns.name.Name,
        links: list[ChainLink],
        verdicts: list[Verdict],
    ) -> Answer:
        """
        Step 5: validate the absence of C{name} (NXDOMAIN) or of the type there (NODATA),
        at the end of the chain C{links}, and finish the answer.
        """
        nxdomain = message.rcode() == dns.rcode.NXDOMAIN
        rcode = dns.rcode.NXDOMAIN if nxdomain else dns.rcode.NOERROR
        verdict, rrsets = await self._denied(ctx, message, name, nxdomain)
        # (A response refused by the work limits gets no more work.)
        if verdict.status is Status.BOGUS and verdict.ede != EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE:
            ttl = negativeTTL(message, name, min((r.ttl for r in message.authority), default=0))
            what = f"{name} {dns.rdatatype.to_text(ctx.rdtype)}"
            unsigned = await self._belowUnsignedCut(name, ctx.rdtype, what, verdict, ttl, ctx)
            if unsigned is not None:
                verdict, rrsets = unsigned, ()
        verdicts.append(verdict)
        return self._finish(ctx, rcode, None, links, verdicts, rrsets)

    def _finish(
        self,
        ctx: LookupContext,
        rcode: dns.rcode.Rcode,
        rrset: dns.rrset.RRset | None,
        links: list[ChainLink],
        verdicts: list[Verdict],
        denialRRsets: tuple[dns.rrset.RRset, ...],
    ) -> Answer:
        """
        Step 6: the answer, whose status is the weakest of the C{verdicts} of its steps.
        """
        status = Status.weakest(*(v.status for v in verdicts))
        # The reason of the first link that has the final status, or of the answer itself
        # when everything is secure.
        worst = (
            verdicts[-1]
            if status is Status.SECURE
            else next(v for v in verdicts if v.status is status)
        )
        zones: dict[dns.name.Name, ZoneTrust] = {}
        signatures: list[SignatureUse] = []
        for v in verdicts:
            for trust in v.trust:
                zones.setdefault(trust.zone, trust)
            signatures.extend(v.signatures)
            denialRRsets = denialRRsets or v.denial
        ttl = min(v.ttl for v in verdicts)
        if rrset is not None:
            ttl = min(ttl, rrset.ttl)
        return Answer(
            name=ctx.name,
            rdtype=ctx.rdtype,
            rcode=rcode,
            rrset=rrset,
            status=status,
            reason=worst.reason,
            ede=worst.ede if status is not Status.SECURE else None,
            chain=tuple(links),
            denial=denialRRsets,
            signatures=tuple(signatures),
            trustChain=tuple(sorted(zones.values(), key=lambda z: len(z.zone))),
            ttl=max(0, ttl),
        )

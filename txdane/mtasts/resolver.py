"""
L{PolicyResolver}: the MTA-STS policy that applies to mail for a domain, as RFC 8461
section 3.3 finds it: the TXT record, then the cached policy or a fetch, and the cached
policy again when discovery or the fetch fails.

A valid cached policy is used at once, and refreshed in the background when the record's
C{id} is another or the policy is due (L{REFRESH_INTERVAL}): delivery never waits for a
policy host while a policy applies anyway (section 5.1), and a policy is refreshed before it
expires (section 3.3), so that blocking its host at the moment it expires gains nothing. A
refresh that fails leaves the cached policy in place, and is not tried again for that C{id}
for L{REFRESH_RETRY} seconds.

Tests: C{tests/mtasts/test_fetch.py}, C{tests/mtasts/test_cache.py},
C{tests/mtasts/test_refresh.py}.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dns.rdatatype
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from txdane.dane.pkix import PKIXTrust
from txdane.mtasts.cache import MAX_CACHED_POLICIES, PolicyCache
from txdane.mtasts.errors import MTASTSError, PolicyFailure, PolicySyntaxError
from txdane.mtasts.fetch import FETCH_TIMEOUT, MAX_POLICY_SIZE, describeError, fetchPolicy
from txdane.mtasts.policy import Mode, MTASTSPolicy, hostName, isSTSRecord, parseRecord
from txdane.status import Status
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["REFRESH_INTERVAL", "REFRESH_RETRY", "PolicyOutcome", "PolicyResolver"]

_log = Logger()

#: How old a cached policy may grow, in seconds, before a lookup that finds its C{id}
#: unchanged refreshes it in the background: a day, as RFC 8461 section 3.3 suggests, or
#: half its C{max_age} if that is shorter, so that every policy is refreshed before it
#: expires.
REFRESH_INTERVAL = 86400.0

#: Seconds after a background refresh of a domain's policy failed during which lookups that
#: find the same C{id} do not try again (they use the cached policy and report the failure):
#: a policy host that fails or stalls is asked once per this, not once per message.
REFRESH_RETRY = 300.0


@dataclass(frozen=True)
class PolicyOutcome:
    """
    What L{PolicyResolver.policyFor} found for a domain.

    @ivar domain: the domain, in lower case without a final dot.
    @ivar policy: the policy to apply: fresh, or the cached one when no fresh one could be
        had; C{None} when the domain has none (or none usable), and delivery is then
        opportunistic (RFC 8461 section 5.1). A policy of mode C{none} is returned as it
        is: treat it as no policy.
    @ivar failure: why fetching a policy failed, for TLS reports, also when a cached policy
        is returned (a background refresh of it that failed in the last
        L{REFRESH_RETRY} seconds); C{None} when nothing was fetched, or the fetch
        succeeded, or it is under way.
    @ivar reason: what happened, in words, for people.
    @ivar fromCache: whether L{policy} is the cached one.
    """

    domain: str
    policy: MTASTSPolicy | None
    failure: PolicyFailure | None = None
    reason: str = ""
    fromCache: bool = False


def _oneLine(text: str) -> str:
    return " ".join(text.split())


def _stsRecords(answer: Answer) -> tuple[list[str], int]:
    """
    The MTA-STS records among an answer's TXT records, as text (each record's strings
    joined without spaces), and how many were left out because they are not ASCII.
    """
    texts = []
    notText = 0
    for rdata in answer.records:
        if rdata.rdtype != dns.rdatatype.TXT:
            continue
        data = b"".join(rdata.strings)  # type: ignore[attr-defined]
        if not data.startswith(b"v=STSv1"):
            continue
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            notText += 1
            continue
        if isSTSRecord(text):
            texts.append(text)
    return texts, notText


@dataclass(frozen=True)
class _FailedRefresh:
    """
    A background refresh that failed: of which C{id}, when, and why.
    """

    policyId: str
    when: float
    error: MTASTSError


class PolicyResolver:
    """
    Finds the MTA-STS policies of mail domains, and keeps them for their C{max_age},
    refreshing them in the background (L{REFRESH_INTERVAL}, L{REFRESH_RETRY}).

    @param reactor: the reactor (its C{seconds()} dates the policies).
    @param resolver: the validating resolver for the C{_mta-sts} TXT record and the policy
        host's addresses: answers from unsigned zones are used, bogus ones never.
    @param trustRoots: the roots the policy host's certificate must chain to; C{None} for
        the trust store OpenSSL finds (which C{SSL_CERT_FILE} and C{SSL_CERT_DIR} can
        change).
    @param cacheDirectory: a directory to keep policies in across restarts (one JSON file
        per domain), or C{None} to keep them in memory only.
    @param httpsPort: the policy host's port (443; another for tests).
    @param timeout: the seconds a fetch may take, the address lookup, the connection, TLS
        and the whole body included (L{FETCH_TIMEOUT<txdane.mtasts.fetch.FETCH_TIMEOUT>}).
    @param maxSize: the largest policy accepted, in bytes
        (L{MAX_POLICY_SIZE<txdane.mtasts.fetch.MAX_POLICY_SIZE>}).
    @param maxCached: how many domains' policies to keep in memory
        (L{MAX_CACHED_POLICIES<txdane.mtasts.cache.MAX_CACHED_POLICIES>}), and how many
        domains' failed refreshes to remember.

    @ivar cache: the policies kept.
    """

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        *,
        trustRoots: PKIXTrust | None = None,
        cacheDirectory: str | os.PathLike[str] | None = None,
        httpsPort: int = 443,
        timeout: float = FETCH_TIMEOUT,
        maxSize: int = MAX_POLICY_SIZE,
        maxCached: int = MAX_CACHED_POLICIES,
    ) -> None:
        # Checked here: a wrong resolver or limit would otherwise show only as a failed
        # lookup, which reads as "no policy", so that an enforced policy never applies.
        if not all(
            callable(getattr(resolver, method, None))
            for method in ("lookup", "lookupAddress", "lookupTLSA")
        ):
            raise TypeError(f"resolver must be a validating resolver, not {resolver!r}")
        if trustRoots is not None and not isinstance(trustRoots, PKIXTrust):
            raise TypeError(
                f"trustRoots must be a PKIXTrust (PKIXTrust(tuple of x509 certificates)), "
                f"not {trustRoots!r}"
            )
        if type(httpsPort) is not int or not 0 < httpsPort < 65536:
            raise ValueError(f"httpsPort must be an int from 1 to 65535, not {httpsPort!r}")
        if type(timeout) not in (int, float) or not 0 < timeout < float("inf"):
            raise ValueError(f"timeout {timeout!r} is not a positive number of seconds")
        for name, value in (("maxSize", maxSize), ("maxCached", maxCached)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} {value!r} is not a whole number above 0")
        self._reactor = reactor
        self.resolver = resolver
        self.trustRoots = trustRoots if trustRoots is not None else PKIXTrust()
        self.httpsPort = httpsPort
        self.timeout = timeout
        self.maxSize = maxSize
        self.cache = PolicyCache(cacheDirectory, maxCached)
        self._maxFailures = maxCached
        self._running: dict[str, list[Deferred[PolicyOutcome]]] = {}
        # Fetches under way, by (domain, id): a lookup waiting for one joins it.
        self._fetches: dict[tuple[str, str], list[Deferred[MTASTSPolicy]]] = {}
        # Background refreshes under way (one per domain at most): the id fetched.
        self._refreshing: dict[str, str] = {}
        # The last failed refresh of each domain, the oldest first.
        self._failures: dict[str, _FailedRefresh] = {}
        self._idle: list[Deferred[None]] = []

    def policyFor(self, domain: str) -> Deferred[PolicyOutcome]:
        """
        The policy to apply to mail for C{domain}, found as RFC 8461 section 3.3 says: by
        its TXT record; the cached policy if it has not expired, else a fetch, waited for;
        and the cached policy when no record can be had.

        A cached policy is returned without waiting for its policy host: when the record's
        C{id} is not that of the cached policy, or the policy was fetched more than
        L{REFRESH_INTERVAL} ago (or half its C{max_age}), it is fetched again in the
        background (one fetch per domain at a time), and replaces the cached one if that
        succeeds. Once such a fetch failed, lookups that find the same C{id} return the
        cached policy with that failure, and fetch again only after L{REFRESH_RETRY}.

        It never fails: a domain without a usable policy gets an outcome whose C{policy} is
        C{None}, saying why. Lookups of one domain at the same time share one discovery.
        """
        name = hostName(domain) if isinstance(domain, str) else None
        if name is None:
            return succeed(PolicyOutcome(domain, None, reason=f"{domain!r} is not a domain name"))
        waiting: Deferred[PolicyOutcome] = Deferred()
        if name in self._running:
            self._running[name].append(waiting)
            return waiting
        self._running[name] = [waiting]
        Deferred.fromCoroutine(self._discover(name)).addBoth(self._finished, name)
        return waiting

    def fetchPolicy(self, domain: str, policyId: str) -> Deferred[MTASTSPolicy]:
        """
        Fetch C{domain}'s policy now, under the C{policyId} of its TXT record, with this
        resolver's settings, without looking at or filling the cache.

        @return: a Deferred firing with the policy, or failing with an L{MTASTSError}.
        """
        return fetchPolicy(
            self._reactor,
            self.resolver,
            domain,
            policyId,
            trust=self.trustRoots,
            port=self.httpsPort,
            timeout=self.timeout,
            maxSize=self.maxSize,
        )

    def whenRefreshed(self) -> Deferred[None]:
        """
        A Deferred that fires once no background refresh is under way (at once if none
        is): for a program about to exit, or a test, that wants the refreshes it started to
        reach the cache. It never fails.
        """
        if not self._refreshing:
            return succeed(None)
        waiting: Deferred[None] = Deferred()
        self._idle.append(waiting)
        return waiting

    def _fetchShared(self, domain: str, policyId: str) -> Deferred[MTASTSPolicy]:
        """
        Fetch C{domain}'s policy under C{policyId}, joining a fetch of the same already
        under way.
        """
        key = (domain, policyId)
        waiting: Deferred[MTASTSPolicy] = Deferred()
        if key in self._fetches:
            self._fetches[key].append(waiting)
            return waiting
        self._fetches[key] = [waiting]

        def done(result: MTASTSPolicy | Failure) -> None:
            for each in self._fetches.pop(key, []):
                each.callback(result)

        self.fetchPolicy(domain, policyId).addBoth(done)
        return waiting

    def _refresh(self, domain: str, policyId: str, cached: MTASTSPolicy) -> None:
        """
        Fetch C{domain}'s policy under C{policyId} in the background, to replace C{cached}
        (not a policy stored since); remember a failure.
        """
        self._refreshing[domain] = policyId

        def succeeded(policy: MTASTSPolicy) -> None:
            self._failures.pop(domain, None)
            current = self.cache.get(domain)
            if current is None or current == cached:
                self.cache.put(domain, policy)

        def failed(failure: Failure) -> Failure | None:
            error = failure.value
            if not isinstance(error, MTASTSError):
                return failure
            self._failures.pop(domain, None)
            self._failures[domain] = _FailedRefresh(policyId, self._reactor.seconds(), error)
            while len(self._failures) > self._maxFailures:
                del self._failures[next(iter(self._failures))]
            # RFC 8461 section 3.3: alert administrators, unless the cached mode is none.
            log = _log.info if cached.mode is Mode.NONE else _log.warn
            log(
                "refreshing the MTA-STS policy of {domain} (id {policyId}) failed: {reason};"
                " the cached policy id {cachedId} still applies",
                domain=domain,
                policyId=policyId,
                reason=error.reason,
                cachedId=cached.id,
            )
            return None

        def ended(result: object) -> None:
            del self._refreshing[domain]
            if isinstance(result, Failure):
                _log.failure(
                    "while refreshing the MTA-STS policy of {domain}", result, domain=domain
                )
            if not self._refreshing:
                idle, self._idle = self._idle, []
                for waiting in idle:
                    waiting.callback(None)

        self._fetchShared(domain, policyId).addCallbacks(succeeded, failed).addBoth(ended)

    def _fromCache(self, domain: str, cached: MTASTSPolicy, policyId: str) -> PolicyOutcome:
        """
        The outcome of a lookup that found the record's C{policyId} and a valid cached
        policy: that policy, and a refresh started in the background if one is due.
        """
        now = self._reactor.seconds()
        due = now - cached.fetched >= min(REFRESH_INTERVAL, cached.maxAge / 2)
        if cached.id == policyId and not due:
            return PolicyOutcome(
                domain, cached, reason=f"the policy id {policyId} is cached", fromCache=True
            )
        if cached.id == policyId:
            why = f"the cached policy id {policyId} was fetched {now - cached.fetched:.0f} s ago"
        else:
            why = f"the record's id is {policyId}"
        applies = f"the cached policy id {cached.id} applies"
        failed = self._failures.get(domain)
        if failed is not None and failed.policyId == policyId and now < failed.when + REFRESH_RETRY:
            return PolicyOutcome(
                domain,
                cached,
                failed.error.failure,
                f"{why}; fetching it failed {now - failed.when:.0f} s ago, {failed.error.reason};"
                f" {applies}",
                fromCache=True,
            )
        if domain in self._refreshing:
            under = f"a fetch of the policy id {self._refreshing[domain]} is under way"
            return PolicyOutcome(
                domain, cached, reason=f"{why}; {under}; {applies}", fromCache=True
            )
        self._refresh(domain, policyId, cached)
        return PolicyOutcome(
            domain,
            cached,
            reason=f"{why}; fetching it in the background; {applies}",
            fromCache=True,
        )

    def _finished(self, result: PolicyOutcome | Failure, name: str) -> None:
        # A failure (a bug: discovery catches what it expects) reaches each caller.
        for waiting in self._running.pop(name, []):
            if not waiting.called:
                waiting.callback(result)

    async def _discover(self, domain: str) -> PolicyOutcome:
        cached = self.cache.get(domain)
        stale = None
        if cached is not None and cached.expired(self._reactor.seconds()):
            stale, cached = cached, None
        recordName = f"_mta-sts.{domain}"
        try:
            answer = await self.resolver.lookup(recordName + ".", dns.rdatatype.TXT)
        except CancelledError:
            raise
        except Exception as e:
            why = f"the TXT lookup failed: {describeError(e)}"
            return self._withoutRecord(domain, cached, stale, why)
        if answer.status not in (Status.SECURE, Status.INSECURE):
            why = _oneLine(answer.reason) or "no reason given"
            why = f"the TXT lookup of {recordName} is {answer.status.value}: {why}"
            return self._withoutRecord(domain, cached, stale, why)
        texts, notText = _stsRecords(answer)
        if not texts:
            extra = f" ({notText} not ASCII)" if notText else ""
            why = f"no MTA-STS record at {recordName}{extra}"
            return self._withoutRecord(domain, cached, stale, why)
        if len(texts) > 1:
            why = f"{len(texts)} MTA-STS records at {recordName}, not one"
            return self._withoutRecord(domain, cached, stale, why)
        try:
            record = parseRecord(texts[0])
        except PolicySyntaxError as e:
            return self._withoutRecord(domain, cached, stale, f"{recordName}: {e}")
        if cached is not None:
            return self._fromCache(domain, cached, record.id)
        try:
            policy = await self._fetchShared(domain, record.id)
        except MTASTSError as e:
            return PolicyOutcome(domain, None, e.failure, f"{e.reason}; {self._noCache(stale)}")
        self._failures.pop(domain, None)
        self.cache.put(domain, policy)
        return PolicyOutcome(
            domain,
            policy,
            reason=f"fetched the policy id {policy.id}"
            f" (mode {policy.mode.value}, max_age {policy.maxAge} s)",
        )

    def _noCache(self, stale: MTASTSPolicy | None) -> str:
        """
        Why no cached policy applies: none is cached, or when the one cached expired.
        """
        if stale is None:
            return "no policy cached"
        now = self._reactor.seconds()
        end = stale.fetched + stale.maxAge
        if end <= now:
            return f"the cached policy id {stale.id} expired {now - end:.0f} s ago"
        return (
            f"the cached policy id {stale.id} is dated {stale.fetched - now:.0f} s ahead of"
            " the clock, and not used"
        )

    def _withoutRecord(
        self, domain: str, cached: MTASTSPolicy | None, stale: MTASTSPolicy | None, why: str
    ) -> PolicyOutcome:
        """
        The outcome when no usable TXT record was found: the valid cached policy if there
        is one (RFC 8461 section 3.3), else none, saying whether one had expired.
        """
        if cached is None:
            return PolicyOutcome(domain, None, reason=f"{why}; {self._noCache(stale)}")
        return PolicyOutcome(
            domain,
            cached,
            reason=f"{why}; the cached policy id {cached.id} applies",
            fromCache=True,
        )

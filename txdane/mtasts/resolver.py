"""
L{PolicyResolver}: the MTA-STS policy that applies to mail for a domain, as RFC 8461
section 3.3 finds it: the TXT record, then the cached policy or a fetch, and the cached
policy again when discovery or the fetch fails.

Tests: C{tests/mtasts/test_fetch.py}, C{tests/mtasts/test_cache.py}.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dns.rdatatype
from twisted.internet.defer import CancelledError, Deferred, succeed
from twisted.python.failure import Failure

from txdane.dane.pkix import PKIXTrust
from txdane.mtasts.cache import MAX_CACHED_POLICIES, PolicyCache
from txdane.mtasts.errors import MTASTSError, PolicyFailure, PolicySyntaxError
from txdane.mtasts.fetch import FETCH_TIMEOUT, MAX_POLICY_SIZE, describeError, fetchPolicy
from txdane.mtasts.policy import MTASTSPolicy, hostName, isSTSRecord, parseRecord
from txdane.status import Status
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["PolicyOutcome", "PolicyResolver"]


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
        is returned; C{None} when nothing was fetched, or the fetch succeeded.
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


class PolicyResolver:
    """
    Finds the MTA-STS policies of mail domains, and keeps them for their C{max_age}.

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
        (L{MAX_CACHED_POLICIES<txdane.mtasts.cache.MAX_CACHED_POLICIES>}).

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
        self._running: dict[str, list[Deferred[PolicyOutcome]]] = {}

    def policyFor(self, domain: str) -> Deferred[PolicyOutcome]:
        """
        The policy to apply to mail for C{domain}, found as RFC 8461 section 3.3 says: by
        its TXT record; fetched unless the cached policy, unexpired, has the record's
        C{id}; and the cached policy when no record can be had or no policy fetched.

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

    def _finished(self, result: PolicyOutcome | Failure, name: str) -> None:
        # A failure (a bug: discovery catches what it expects) reaches each caller.
        for waiting in self._running.pop(name, []):
            if not waiting.called:
                waiting.callback(result)

    async def _discover(self, domain: str) -> PolicyOutcome:
        cached = self.cache.get(domain)
        if cached is not None and cached.expired(self._reactor.seconds()):
            cached = None
        recordName = f"_mta-sts.{domain}"
        try:
            answer = await self.resolver.lookup(recordName + ".", dns.rdatatype.TXT)
        except CancelledError:
            raise
        except Exception as e:
            return _withoutRecord(domain, cached, f"the TXT lookup failed: {describeError(e)}")
        if answer.status not in (Status.SECURE, Status.INSECURE):
            why = _oneLine(answer.reason) or "no reason given"
            return _withoutRecord(
                domain, cached, f"the TXT lookup of {recordName} is {answer.status.value}: {why}"
            )
        texts, notText = _stsRecords(answer)
        if not texts:
            extra = f" ({notText} not ASCII)" if notText else ""
            return _withoutRecord(domain, cached, f"no MTA-STS record at {recordName}{extra}")
        if len(texts) > 1:
            return _withoutRecord(
                domain, cached, f"{len(texts)} MTA-STS records at {recordName}, not one"
            )
        try:
            record = parseRecord(texts[0])
        except PolicySyntaxError as e:
            return _withoutRecord(domain, cached, f"{recordName}: {e}")
        if cached is not None and cached.id == record.id:
            return PolicyOutcome(
                domain, cached, reason=f"the policy id {record.id} is cached", fromCache=True
            )
        try:
            policy = await self.fetchPolicy(domain, record.id)
        except MTASTSError as e:
            if cached is None:
                return PolicyOutcome(domain, None, e.failure, f"{e.reason}; no policy cached")
            return PolicyOutcome(
                domain,
                cached,
                e.failure,
                f"{e.reason}; the cached policy id {cached.id} applies",
                fromCache=True,
            )
        self.cache.put(domain, policy)
        return PolicyOutcome(
            domain,
            policy,
            reason=f"fetched the policy id {policy.id}"
            f" (mode {policy.mode.value}, max_age {policy.maxAge} s)",
        )


def _withoutRecord(domain: str, cached: MTASTSPolicy | None, why: str) -> PolicyOutcome:
    """
    The outcome when no usable TXT record was found: the cached policy if there is one
    (RFC 8461 section 3.3), else none.
    """
    if cached is None:
        return PolicyOutcome(domain, None, reason=f"{why}; no policy cached")
    return PolicyOutcome(
        domain, cached, reason=f"{why}; the cached policy id {cached.id} applies", fromCache=True
    )

"""
Refreshing cached policies (RFC 8461 sections 3.3 and 5.1): a valid cached policy is used at
once and fetched again in the background when the record's id changed or it is due
(L{REFRESH_INTERVAL}, or half its max_age); one refresh per domain at a time; a failed
refresh keeps the cached policy and is not tried again for L{REFRESH_RETRY}.

Most run on a fake clock, with the resolver's fetches replaced by Deferreds the test fires;
the last ones fetch over HTTPS on loopback.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, cast

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import ILogObserver, Logger, LogLevel
from twisted.trial.unittest import TestCase
from zope.interface import directlyProvides, providedBy

from txdane.mtasts import (
    MTASTSError,
    MTASTSPolicy,
    PolicyCache,
    PolicyFailure,
    PolicyOutcome,
    PolicyResolver,
    parsePolicy,
)
from txdane.mtasts import resolver as resolverModule
from txdane.mtasts.resolver import REFRESH_INTERVAL, REFRESH_RETRY
from txdane.status import Status

from ..endpoints.world import reactor
from ..fakeresolver import FakeResolver, answer
from .policyworld import makePolicyWorld
from .test_cache import fired

DAY = 86400.0
WEEK = 7 * DAY
START = 1_000_000.0

#: A policy kept for a week: due for a refresh after a day.
WEEKLY = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 604800\n"


def text(maxAge: int = 604800, mode: str = "enforce") -> str:
    return f"version: STSv1\nmode: {mode}\nmx: mx.example.com\nmax_age: {maxAge}\n"


def records(table: dict[tuple[str, str], Any], domain: str, policyId: str) -> None:
    """
    Set C{domain}'s C{_mta-sts} record to C{policyId}, and its policy host's addresses.
    """
    name = f"_mta-sts.{domain}."
    table[(name, "TXT")] = answer("TXT", f'"v=STSv1; id={policyId}"', name=name)
    host = f"mta-sts.{domain}."
    table[(host, "A")] = answer("A", "192.0.2.1", name=host)
    table[(host, "AAAA")] = answer("AAAA", name=host)


class Fetches:
    """
    Stands for the resolver's fetches: each is a Deferred the test fires, kept in order.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, policies: PolicyResolver) -> None:
        self.pending: list[tuple[str, str, Deferred[MTASTSPolicy]]] = []
        monkeypatch.setattr(policies, "fetchPolicy", self.fetch)

    def fetch(self, domain: str, policyId: str) -> Deferred[MTASTSPolicy]:
        d: Deferred[MTASTSPolicy] = Deferred()
        self.pending.append((domain, policyId, d))
        return d

    def succeed(self, clock: MemoryReactorClock, policyText: str = WEEKLY) -> MTASTSPolicy:
        _, policyId, d = self.pending.pop(0)
        policy = parsePolicy(policyText, policyId, clock.seconds())
        d.callback(policy)
        return policy

    def fail(self, reason: str = "the server answered 503 Service Unavailable") -> None:
        domain, _, d = self.pending.pop(0)
        d.errback(MTASTSError(domain, reason))


def setUp(
    monkeypatch: pytest.MonkeyPatch,
    policyText: str = WEEKLY,
    domains: tuple[str, ...] = ("example.com",),
    **kw: Any,
) -> tuple[MemoryReactorClock, dict[tuple[str, str], Any], PolicyResolver, Fetches]:
    """
    A fake clock at L{START}, the records of C{domains} (id C{a1}), a resolver over them
    whose cache holds C{policyText} for each, fetched now, and its fetches under the test's
    control.
    """
    clock = MemoryReactorClock()
    clock.advance(START)
    table: dict[tuple[str, str], Any] = {}
    for domain in domains:
        records(table, domain, "a1")
    policies = PolicyResolver(clock, FakeResolver(table), **kw)
    for domain in domains:
        policies.cache.put(domain, parsePolicy(policyText, "a1", START))
    return clock, table, policies, Fetches(monkeypatch, policies)


def lookup(policies: PolicyResolver, domain: str = "example.com") -> PolicyOutcome:
    """
    The outcome of a lookup, which must not wait for anything.
    """
    return fired(policies.policyFor(domain))


def test_refreshedOnceADay(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A policy kept for a week is fetched again in the background once it is a day old,
    under an unchanged id, and replaced; so that a week after the first fetch, with its
    policy host blocked, a policy still applies (RFC 8461 section 3.3).
    """
    clock, _, policies, fetches = setUp(monkeypatch)
    clock.advance(REFRESH_INTERVAL - 1)
    outcome = lookup(policies)
    assert (outcome.fromCache, outcome.reason) == (True, "the policy id a1 is cached")
    assert fetches.pending == []
    clock.advance(1)
    outcome = lookup(policies)
    assert (outcome.policy, outcome.fromCache) == (policies.cache.get("example.com"), True)
    assert outcome.reason == (
        "the cached policy id a1 was fetched 86400 s ago; fetching it in the background;"
        " the cached policy id a1 applies"
    )
    assert [(d, i) for d, i, _ in fetches.pending] == [("example.com", "a1")]
    refreshed = fetches.succeed(clock)
    assert policies.cache.get("example.com") == refreshed
    assert refreshed.fetched == START + REFRESH_INTERVAL
    # A week after the first fetch, the host blocked: the refreshed policy applies.
    clock.advance(WEEK - REFRESH_INTERVAL + 1)
    outcome = lookup(policies)
    assert (outcome.policy, outcome.fromCache) == (refreshed, True)
    fetches.fail()
    outcome = lookup(policies)
    assert (outcome.policy, outcome.failure) == (refreshed, PolicyFailure.FETCH_ERROR)


def test_refreshedAtHalfMaxAge(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A policy kept for less than two days is refreshed at half its max_age, before it
    expires: one of a day's max_age would otherwise never be refreshed in time.
    """
    clock, _, policies, fetches = setUp(monkeypatch, text(maxAge=86400))
    clock.advance(43199)
    lookup(policies)
    assert fetches.pending == []
    clock.advance(1)
    assert lookup(policies).fromCache
    assert len(fetches.pending) == 1


def test_failedRefreshKeepsCachedPolicy(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A refresh that fails leaves the cached policy in place, and says so in the log
    (RFC 8461 section 3.3: alert administrators); lookups then return it with the failure,
    for TLS reports, and ask the policy host again only after L{REFRESH_RETRY}.
    """
    events: list[dict[str, Any]] = []
    monkeypatch.setattr(resolverModule, "_log", Logger(observer=cast(ILogObserver, events.append)))
    clock, _, policies, fetches = setUp(monkeypatch)
    cached = policies.cache.get("example.com")
    clock.advance(REFRESH_INTERVAL)
    lookup(policies)
    fetches.fail()
    assert policies.cache.get("example.com") == cached
    (event,) = events
    assert event["log_level"] is LogLevel.warn
    assert (event["domain"], event["policyId"], event["cachedId"]) == ("example.com", "a1", "a1")
    assert "503" in event["reason"]
    clock.advance(REFRESH_RETRY - 1)
    outcome = lookup(policies)
    assert (outcome.policy, outcome.failure, outcome.fromCache) == (
        cached,
        PolicyFailure.FETCH_ERROR,
        True,
    )
    assert "fetching it failed 299 s ago, the server answered 503" in outcome.reason
    assert fetches.pending == []
    clock.advance(1)
    outcome = lookup(policies)
    assert (outcome.policy, outcome.failure) == (cached, None)
    assert len(fetches.pending) == 1


def test_failedRefreshOfModeNoneNotAlerted(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The failed refresh of a policy of mode none is logged at level info, not as a warning
    (RFC 8461 section 3.3).
    """
    events: list[dict[str, Any]] = []
    monkeypatch.setattr(resolverModule, "_log", Logger(observer=cast(ILogObserver, events.append)))
    clock, _, policies, fetches = setUp(
        monkeypatch, "version: STSv1\nmode: none\nmax_age: 604800\n"
    )
    clock.advance(REFRESH_INTERVAL)
    lookup(policies)
    fetches.fail()
    assert [e["log_level"] for e in events] == [LogLevel.info]


def test_newIdFetchedInBackground(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A new id while a valid policy is cached: every lookup returns the cached policy at once
    (delivery does not wait, RFC 8461 section 5.1), and one fetch is under way for the
    domain, however many lookups there are; once it failed, it is not tried again for that
    id for L{REFRESH_RETRY}, but at once for another id.
    """
    clock, table, policies, fetches = setUp(monkeypatch)
    cached = policies.cache.get("example.com")
    records(table, "example.com", "b2")
    outcome = lookup(policies)
    assert (outcome.policy, outcome.fromCache, outcome.failure) == (cached, True, None)
    assert outcome.reason == (
        "the record's id is b2; fetching it in the background; the cached policy id a1 applies"
    )
    for _ in range(20):
        outcome = lookup(policies)
        assert outcome.policy == cached
    assert "a fetch of the policy id b2 is under way" in outcome.reason
    assert [(d, i) for d, i, _ in fetches.pending] == [("example.com", "b2")]
    fetches.fail("no policy within 60 s")
    for _ in range(20):
        outcome = lookup(policies)
        assert (outcome.policy, outcome.failure) == (cached, PolicyFailure.FETCH_ERROR)
    assert "no policy within 60 s" in outcome.reason
    assert fetches.pending == []
    records(table, "example.com", "c3")
    assert lookup(policies).failure is None
    assert [(d, i) for d, i, _ in fetches.pending] == [("example.com", "c3")]
    replaced = fetches.succeed(clock)
    outcome = lookup(policies)
    assert (outcome.policy, outcome.reason) == (replaced, "the policy id c3 is cached")


def test_rememberedFailuresBounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """
    Failed refreshes are remembered for at most C{maxCached} domains: past that the oldest
    is forgotten, and that domain's next lookup fetches again.
    """
    domains = ("a.example", "b.example", "c.example")
    clock, _, policies, fetches = setUp(
        monkeypatch, domains=domains, maxCached=2, cacheDirectory=tmp_path
    )
    clock.advance(REFRESH_INTERVAL)
    for domain in domains:
        lookup(policies, domain)
        fetches.fail()
    for domain in domains[1:]:
        assert lookup(policies, domain).failure is PolicyFailure.FETCH_ERROR
    assert fetches.pending == []
    outcome = lookup(policies, "a.example")
    assert (outcome.fromCache, outcome.failure) == (True, None)
    assert [(d, i) for d, i, _ in fetches.pending] == [("a.example", "a1")]


def test_refreshReplacesOnlyItsPolicy(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A refresh that ends after another policy was stored for the domain leaves that one.
    """
    clock, _, policies, fetches = setUp(monkeypatch)
    clock.advance(REFRESH_INTERVAL)
    lookup(policies)
    newer = parsePolicy(text(maxAge=100), "n1", clock.seconds())
    policies.cache.put("example.com", newer)
    fetches.succeed(clock)
    assert policies.cache.get("example.com") == newer


def test_whenRefreshed(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    L{PolicyResolver.whenRefreshed} fires at once when no refresh is under way, else once
    the last has ended, failed or not.
    """
    clock, _, policies, fetches = setUp(monkeypatch, domains=("a.example", "b.example"))
    fired(policies.whenRefreshed())
    clock.advance(REFRESH_INTERVAL)
    lookup(policies, "a.example")
    lookup(policies, "b.example")
    waiting = policies.whenRefreshed()
    fetches.fail()
    assert not waiting.called
    fetches.succeed(clock)
    fired(waiting)


def test_oldCacheFileRefreshed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """
    A cache file as earlier versions wrote it (format 1: the fetch time, the id, the
    policy) is read as it was, and refreshed by its fetch time: a policy fetched two days
    ago applies at once, is fetched again in the background, and the file then holds the
    new fetch.
    """
    clock, _, policies, fetches = setUp(monkeypatch, cacheDirectory=tmp_path)
    path = tmp_path / "example.com.json"
    path.write_text(
        '{"format": 1, "domain": "example.com", "id": "a1", "fetched": 827200.0, "policy": '
        + json.dumps(WEEKLY)
        + "}"
    )
    policies.cache = PolicyCache(tmp_path)  # nothing in memory: read the file
    outcome = lookup(policies)
    assert outcome.policy == parsePolicy(WEEKLY, "a1", 827200.0)
    assert "fetched 172800 s ago; fetching it in the background" in outcome.reason
    fetches.succeed(clock)
    data = json.loads(path.read_text())
    assert (data["format"], data["id"], data["fetched"]) == (1, "a1", START)
    assert PolicyCache(tmp_path).get("example.com") == parsePolicy(WEEKLY, "a1", START)


def realWorld() -> tuple[MemoryReactorClock, FakeResolver]:
    clock = MemoryReactorClock()
    clock.advance(1050)
    table: dict[tuple[str, str], Any] = {}
    records(table, "example.com", "a1")
    return clock, FakeResolver(table)


def test_lookupAtExpiryJoinsRefresh(tmp_path: Path) -> None:
    """
    A policy due for a refresh (fetched at 1000, max_age 100, at 1050) is fetched in the
    background; a lookup once it expired waits for that same fetch rather than starting
    another, and when it fails, says when the cached policy expired.
    """
    PolicyCache(tmp_path).put("example.com", parsePolicy(text(maxAge=100), "a1", 1000.0))
    clock, resolver = realWorld()
    policies = PolicyResolver(clock, resolver, cacheDirectory=tmp_path, timeout=60)
    assert lookup(policies).fromCache
    assert len(clock.tcpClients) == 1
    clock.advance(50)
    pending = policies.policyFor("example.com")
    assert not pending.called
    assert len(clock.tcpClients) == 1
    clock.advance(10)
    outcome = fired(pending)
    assert (outcome.policy, outcome.failure) == (None, PolicyFailure.FETCH_ERROR)
    assert outcome.reason.endswith(
        "no policy within 60 s; the cached policy id a1 expired 10 s ago"
    )
    assert not clock.getDelayedCalls()


@pytest.mark.parametrize(
    "fetched, expected",
    [
        (900.0, "the cached policy id a1 expired 50 s ago"),
        (
            1050.0 + DAY + 1,
            "the cached policy id a1 is dated 86401 s ahead of the clock, and not used",
        ),
    ],
)
def test_expiredPolicyNamed(tmp_path: Path, fetched: float, expected: str) -> None:
    """
    Where no valid policy is cached but one was, the reason says when it expired (or that
    it is dated ahead), not that none is cached.
    """
    PolicyCache(tmp_path).put("example.com", parsePolicy(text(maxAge=100), "a1", fetched))
    clock, resolver = realWorld()
    name = "_mta-sts.example.com."
    resolver.table[(name, "TXT")] = answer(  # type: ignore[index]
        "TXT", '"v=STSv1; id=a1"', name=name, status=Status.BOGUS
    )
    outcome = lookup(PolicyResolver(clock, resolver, cacheDirectory=tmp_path))
    assert outcome.policy is None
    assert outcome.reason.endswith(expected), outcome.reason


class Shifted:
    """
    The real reactor, its clock moved forward by C{offset} seconds.
    """

    def __init__(self, real: Any) -> None:
        self._real = real
        self.offset = 0.0
        directlyProvides(self, *providedBy(real))

    def seconds(self) -> float:
        return float(self._real.seconds()) + self.offset

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class RefreshOverHTTPSTests(TestCase):
    async def test_stalledHostDoesNotDelayLookups(self) -> None:
        """
        A new id whose policy host stalls, a valid policy cached: each lookup returns the
        cached policy at once rather than after the fetch's timeout, and the host is asked
        once, not once per lookup; the failure is then reported with the cached policy.
        """
        world = await makePolicyWorld(self.addCleanup)
        policies = world.policyResolver(timeout=1)
        cached = (await policies.policyFor("example.test")).policy
        world.resolver.setTXT("_mta-sts.example.test.", "v=STSv1; id=2024b")
        world.server.resource.stall = True
        for _ in range(3):
            started = time.monotonic()
            outcome = await policies.policyFor("example.test")
            self.assertLess(time.monotonic() - started, 0.5)
            self.assertEqual((outcome.policy, outcome.fromCache), (cached, True))
        await policies.whenRefreshed()
        self.assertEqual(len(world.server.resource.requests), 2)
        outcome = await policies.policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (cached, PolicyFailure.FETCH_ERROR))
        self.assertIn("no policy within 1 s", outcome.reason)
        self.assertEqual(len(world.server.resource.requests), 2)

    async def test_refreshedBeforeExpiry(self) -> None:
        """
        A week's policy, looked up daily: refreshed a day after it was fetched, so that when
        its first max_age has passed and its host is blocked, it still applies.
        """
        world = await makePolicyWorld(self.addCleanup)
        world.server.resource.body = WEEKLY.replace("mx.example.com", "mx1.example.test").encode()
        clock = Shifted(reactor)
        policies = PolicyResolver(
            clock,
            world.resolver,
            trustRoots=world.server.trust,
            httpsPort=world.server.portNumber,
            timeout=5,
        )
        first = (await policies.policyFor("example.test")).policy
        assert first is not None
        for day in range(1, 7):
            clock.offset = day * DAY
            outcome = await policies.policyFor("example.test")
            self.assertTrue(outcome.fromCache)
            await policies.whenRefreshed()
        world.server.resource.status = 503
        clock.offset = WEEK + 1
        outcome = await policies.policyFor("example.test")
        await policies.whenRefreshed()
        assert outcome.policy is not None, outcome.reason
        self.assertEqual(len(world.server.resource.requests), 8)
        self.assertEqual((outcome.policy.id, outcome.policy.text), (first.id, first.text))
        self.assertGreater(outcome.policy.fetched, first.fetched + 5 * DAY)

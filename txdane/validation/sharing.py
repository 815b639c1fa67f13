"""
Sharing the chain of trust's work between lookups: a zone's keys or what a DS query
proved, computed once for the concurrent lookups that need it, then cached for the
lookups that follow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

import dns.name
from twisted.internet.defer import Deferred

from txdane.status import Status
from txdane.validation.cache import ExpiringCache, nameKey
from txdane.validation.context import LookupContext
from txdane.validation.limits import Budget, ValidationLimits
from txdane.validation.zonekeys import DSResult, ZoneKeys

_Result = TypeVar("_Result", "ZoneKeys", "DSResult")
_RETRY = object()


class _SharedResults:
    """
    The sharing and caching of results between lookups: the part of L{ChainOfTrust
    <txdane.validation.trustchain.ChainOfTrust>} (its subclass, which sets these
    attributes) that runs a step once for the lookups that need it.
    """

    limits: ValidationLimits
    _pending: dict[Hashable, list[Deferred[object]]]

    async def _shared(
        self, key: Hashable, compute: Callable[[], Awaitable[_Result]], budget: Budget
    ) -> _Result:
        """
        Run C{compute} once for concurrent lookups that need the same result (the A and AAAA
        lookups of one name need the same zone keys). Those that wait get the result; if the
        lookup doing the work fails (its own budget, its own timeout), each computes it again
        within its own budget.
        """
        waiters = self._pending.get(key)
        if waiters is not None:
            waiting: Deferred[object] = Deferred()
            waiters.append(waiting)
            result = await waiting
            if result is not _RETRY:
                return result  # type: ignore[return-value]
            return await compute()
        self._pending[key] = []
        try:
            mine = await compute()
        except BaseException:
            self._release(key, _RETRY)
            raise
        self._release(key, mine if self._reusable(mine, budget) else _RETRY)
        return mine

    async def _remembered(
        self,
        cache: ExpiringCache[_Result],
        kind: str,
        name: dns.name.Name,
        compute: Callable[[], Awaitable[_Result]],
        ctx: LookupContext,
    ) -> _Result:
        """
        The result of C{compute} for C{name}: from C{cache}, or computed once for the
        concurrent lookups that need it, then cached when other lookups may use it.
        """
        key = nameKey(name)
        cached = cache.get(key)
        if cached is not None:
            return cached
        known: _Result | None = ctx.known.get((kind, key))
        if known is not None:
            return known
        ahead = ctx.ahead.pop((kind, key), None)
        if ahead is not None:
            early: _Result = await ahead.result()
            ctx.known[(kind, key)] = early
            return early
        result = await self._shared((kind, key), compute, ctx.budget)
        ctx.known[(kind, key)] = result
        if self._reusable(result, ctx.budget):
            cache.put(key, result, self._ttl(result))
        return result

    @staticmethod
    def _reusable(result: ZoneKeys | DSResult, budget: Budget) -> bool:
        """
        Whether other lookups may use C{result}: not when it failed after this lookup used up
        its signature budget, which says nothing about the zone (an attacker's CNAME chain
        could otherwise make a victim zone bogus for everyone).
        """
        return result.status is Status.SECURE or not budget.exhausted

    def _release(self, key: Hashable, result: object) -> None:
        for waiting in self._pending.pop(key, []):
            if not waiting.called:
                waiting.callback(result)

    def _ttl(self, result: ZoneKeys | DSResult) -> int:
        """
        How long C{result} is cached: bogus, for C{bogusTTL}; what a denial proved (no DS, no
        cut, an unsigned delegation) or what is insecure, no longer than C{maxNegativeTTL}.
        """
        if result.status is Status.BOGUS:
            return self.limits.bogusTTL
        if result.status is not Status.SECURE or (
            isinstance(result, DSResult) and result.ds is None
        ):
            return min(result.ttl, self.limits.maxNegativeTTL)
        return result.ttl

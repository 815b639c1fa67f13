"""
A bounded cache whose entries expire, for validated data.

Entries live for the TTL the validator gives them (already capped by the records' TTLs and
their signatures' expiry, and at most L{ValidationLimits.maxCacheTTL}); bogus results get a
short TTL so that an attacker cannot make the same work happen again at once. When full, the
least recently used entry goes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from twisted.internet.interfaces import IReactorTime

V = TypeVar("V")


class ExpiringCache(Generic[V]):
    """
    A least-recently-used cache of at most C{size} entries with per-entry expiry.

    @param clock: the source of time.
    @param size: the most entries kept.
    @param maxTTL: the longest any entry lives, in seconds.
    """

    def __init__(self, clock: IReactorTime, size: int, maxTTL: float) -> None:
        self.clock = clock
        self.size = size
        self.maxTTL = maxTTL
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        """
        The live entry for C{key}, or C{None}.
        """
        entry = self._entries.get(key)
        if entry is None:
            return None
        expiry, value = entry
        if expiry <= self.clock.seconds():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V, ttl: float) -> None:
        """
        Keep C{value} for C{ttl} seconds (capped by C{maxTTL}); a TTL of zero keeps nothing.
        """
        ttl = min(ttl, self.maxTTL)
        if ttl <= 0 or self.size <= 0:
            return
        self._entries[key] = (self.clock.seconds() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        """
        Forget everything.
        """
        self._entries.clear()

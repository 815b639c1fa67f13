"""
Response rate limiting (RRL) for answers over UDP, as NSD and Knot do it.

A UDP query's source address can be forged, so a server that answers every query lets
anyone aim its answers at a victim: a signed TLSA answer is twenty times the size of the
query that asks for it. Answers to each source prefix (a /24 for IPv4, a /56 for IPv6, where
one network's hosts live) are held to a rate, with a burst allowance: a token bucket per
prefix. Of the answers over the rate, every C{slip}-th is sent as an empty truncated (TC=1)
response, no larger than the query, so that a real client behind a flooded prefix retries
over TCP (which cannot be forged) and still gets its answer; the others are dropped.

TCP is never limited here (its handshake proves the source address).
"""

from __future__ import annotations

import enum
import ipaddress
from collections import OrderedDict
from dataclasses import dataclass

from twisted.internet.interfaces import IReactorTime

#: Answers per second per source prefix; NSD's default (C{rrl-ratelimit: 200}).
DEFAULT_RATE = 200.0
#: Every how many answers over the rate one is sent truncated instead of dropped; NSD's
#: default (C{rrl-slip: 2}). 0 drops them all, 1 truncates them all.
DEFAULT_SLIP = 2
#: Prefix lengths that group source addresses (NSD's C{rrl-ipv4-prefix-length} and
#: C{rrl-ipv6-prefix-length}).
DEFAULT_IPV4_PREFIX = 24
DEFAULT_IPV6_PREFIX = 56
#: How many source prefixes are tracked at once; beyond it, the least recently seen goes
#: (each costs about 200 bytes: the table stays under 15 MB).
DEFAULT_MAX_PREFIXES = 65536


class Verdict(enum.Enum):
    """
    What to do with one answer.
    """

    SEND = "send"
    SLIP = "slip"
    DROP = "drop"


@dataclass(frozen=True)
class RateLimit:
    """
    The settings of response rate limiting.

    @ivar rate: answers per second per source prefix; 0 turns limiting off.
    @ivar burst: answers a prefix may get at once before the rate applies (default: one
        second's worth, C{rate}).
    @ivar slip: every C{slip}-th limited answer is sent truncated; 0 never.
    @ivar ipv4Prefix: prefix length grouping IPv4 sources.
    @ivar ipv6Prefix: prefix length grouping IPv6 sources.
    @ivar maxPrefixes: source prefixes tracked at once.
    """

    rate: float = DEFAULT_RATE
    burst: float | None = None
    slip: int = DEFAULT_SLIP
    ipv4Prefix: int = DEFAULT_IPV4_PREFIX
    ipv6Prefix: int = DEFAULT_IPV6_PREFIX
    maxPrefixes: int = DEFAULT_MAX_PREFIXES

    def __post_init__(self) -> None:
        # NaN compares false with everything: it would turn limiting off unnoticed.
        if not (0 <= self.rate < float("inf")) or (
            self.burst is not None and not (1 <= self.burst < float("inf"))
        ):
            raise ValueError("the rate must be 0 or more and the burst 1 or more, both finite")
        if self.slip < 0:
            raise ValueError("slip must be 0 or more")
        if not 0 <= self.ipv4Prefix <= 32 or not 0 <= self.ipv6Prefix <= 128:
            raise ValueError("prefix lengths must be 0-32 (IPv4) and 0-128 (IPv6)")
        if self.maxPrefixes < 1:
            raise ValueError("maxPrefixes must be 1 or more")

    @property
    def enabled(self) -> bool:
        """
        Whether any answer is ever limited.
        """
        return self.rate > 0


#: No limiting at all.
NO_RATE_LIMIT = RateLimit(rate=0)
#: What the C{twistd} plugin and L{txdane.server.service.DNSServerService} apply by default.
DEFAULT_RATE_LIMIT = RateLimit()


@dataclass
class _Bucket:
    tokens: float
    updated: float
    limited: int = 0


class ResponseRateLimiter:
    """
    Decides, per answer, whether it is sent, sent truncated or dropped.

    @ivar settings: the L{RateLimit} applied.
    @ivar clock: the source of time.
    @ivar sent: answers let through, for statistics.
    @ivar slipped: answers sent truncated.
    @ivar dropped: answers dropped.
    """

    def __init__(self, settings: RateLimit, clock: IReactorTime | None = None) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        self.settings = settings
        self.clock = clock
        self._burst = settings.burst if settings.burst is not None else max(1.0, settings.rate)
        self._buckets: OrderedDict[bytes, _Bucket] = OrderedDict()
        self.sent = self.slipped = self.dropped = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def prefixOf(self, host: str) -> bytes:
        """
        The source prefix C{host} (an IP address in text) belongs to, as a table key.
        """
        try:
            address = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return host.encode("utf-8", "replace")
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        length = (
            self.settings.ipv4Prefix
            if isinstance(address, ipaddress.IPv4Address)
            else self.settings.ipv6Prefix
        )
        raw = int(address)
        bits = address.max_prefixlen
        masked = raw >> (bits - length) << (bits - length) if length else 0
        return bytes([bits, length]) + masked.to_bytes(bits // 8, "big")

    def check(self, host: str) -> Verdict:
        """
        Account for one answer to C{host} and say what to do with it.
        """
        settings = self.settings
        if not settings.enabled:
            self.sent += 1
            return Verdict.SEND
        now = self.clock.seconds()
        key = self.prefixOf(host)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self._burst, now)
            self._buckets[key] = bucket
            while len(self._buckets) > settings.maxPrefixes:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self._burst, bucket.tokens + elapsed * settings.rate)
            bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            self.sent += 1
            return Verdict.SEND
        bucket.limited += 1
        if settings.slip and bucket.limited % settings.slip == 0:
            self.slipped += 1
            return Verdict.SLIP
        self.dropped += 1
        return Verdict.DROP

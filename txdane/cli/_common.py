"""
What the subcommands share: running a coroutine on the reactor, and the resolver options.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from txdane.cli import UsageError
from txdane.resolvconf import NameServer, NameServerError
from txdane.transport import DNSClient
from txdane.validation import ADTrustingResolver, TrustAnchorError, TrustAnchors, ValidatingResolver
from txdane.validation.interfaces import IDNSSECResolver

T = TypeVar("T")

#: Seconds a command-line lookup may take in all, unless C{--timeout} says otherwise.
DEFAULT_TIMEOUT = 10.0


def runOnReactor(main: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """
    Run C{main(reactor)} on the global reactor until it finishes; return its result or raise
    its exception.
    """
    from twisted.internet import reactor

    outcome: list[object] = []

    def start() -> None:
        d = Deferred.fromCoroutine(main(reactor))
        d.addBoth(outcome.append)
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run()
    if not outcome:
        raise KeyboardInterrupt()
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result  # type: ignore[return-value]


def addResolverArguments(parser: argparse.ArgumentParser) -> None:
    """
    Declare C{--resolver}, C{--trust-anchor}, C{--trust-ad} and C{--timeout}.
    """
    group = parser.add_argument_group("DNS")
    group.add_argument(
        "--resolver",
        metavar="ADDR[#PORT]",
        action="append",
        help="recursive resolver to ask (repeatable; default: the nameservers of /etc/resolv.conf)",
    )
    group.add_argument(
        "--trust-anchor",
        metavar="FILE",
        help="trust anchors: DS or DNSKEY lines, or an RFC 7958 root-anchors.xml "
        "(default: the built-in IANA root anchors)",
    )
    group.add_argument(
        "--trust-ad",
        action="store_true",
        help="do not validate: trust the AD bit of the resolver (only for a validating "
        "resolver you trust, e.g. on loopback)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positiveFloat,
        default=DEFAULT_TIMEOUT,
        help=f"give up after this long (default: {DEFAULT_TIMEOUT:g})",
    )


def _positiveFloat(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


#: The largest TTL a record may carry (RFC 2181 section 8).
MAX_TTL = 2**31 - 1


def ttlValue(text: str) -> int:
    """
    An C{argparse} type for a C{--ttl} option: an integer in 0-L{MAX_TTL}.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_TTL:
        raise argparse.ArgumentTypeError(f"{text!r} is not in 0-{MAX_TTL}")
    return value


@dataclass(frozen=True)
class ResolverSettings:
    """
    The resolver the options ask for, checked before the reactor starts.
    """

    servers: tuple[NameServer, ...] | None
    anchors: TrustAnchors | None
    trustAD: bool
    timeout: float

    def build(self, reactor: Any) -> IDNSSECResolver:
        """
        The validating (or AD-trusting) resolver these settings describe.
        """
        perAttempt = max(min(self.timeout / 3, 5.0), 0.2)
        client = DNSClient(reactor, self.servers, timeout=perAttempt, deadline=self.timeout)
        if self.trustAD:
            name = ", ".join(str(s) for s in client.servers)
            return ADTrustingResolver(client, name, clock=reactor)
        return ValidatingResolver(client, trustAnchors=self.anchors, clock=reactor)


def resolverSettings(options: argparse.Namespace) -> ResolverSettings:
    """
    Check the resolver options.

    @raise UsageError: for a bad resolver address, an unusable trust anchor file, or
        C{--trust-ad} with C{--trust-anchor}.
    """
    try:
        servers = (
            tuple(NameServer.fromString(s) for s in options.resolver) if options.resolver else None
        )
    except NameServerError as e:
        raise UsageError(f"--resolver: {e}") from None
    if options.trust_ad and options.trust_anchor:
        raise UsageError("--trust-ad and --trust-anchor exclude each other")
    anchors = None
    if options.trust_anchor:
        try:
            anchors = TrustAnchors.fromFile(options.trust_anchor)
        except (TrustAnchorError, OSError) as e:
            raise UsageError(f"--trust-anchor: {e}") from None
    return ResolverSettings(servers, anchors, options.trust_ad, options.timeout)

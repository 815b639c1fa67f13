"""
A validating resolver built from settings: the one place that turns "which recursive resolvers,
which trust anchors, trust the AD bit or not" into an L{IDNSSECResolver}.

The command line (C{--resolver}, C{--trust-anchor}, C{--trust-ad}) and the endpoint strings
(C{resolver=}, C{trustAnchor=}, C{trustAD=}) both read their options into a L{ResolverSettings}
with L{ResolverSettings.fromStrings}, which checks them once, and build the resolver with
L{ResolverSettings.build} (a new one) or L{sharedResolver} (one per reactor and settings, so
that endpoints share a cache)::

    settings = ResolverSettings.fromStrings(["127.0.0.1#5353"], trustAnchorFile="anchor.txt")
    resolver = sharedResolver(reactor, settings)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from txdane.errors import TrustAnchorError, TxdaneError
from txdane.resolvconf import NameServer, NameServerError
from txdane.transport import DNSClient
from txdane.validation.anchors import TrustAnchors
from txdane.validation.interfaces import IDNSSECResolver
from txdane.validation.resolver import ValidatingResolver
from txdane.validation.trustad import ADTrustingResolver

#: The attribute of a reactor under which L{sharedResolver} keeps that reactor's resolvers.
_SHARED_ATTRIBUTE = "_txdaneSharedResolvers"


class ResolverSettingsError(TxdaneError, ValueError):
    """
    Resolver settings that cannot be used.

    @ivar options: the settings at fault, by their field names (C{"servers"},
        C{"trustAnchors"}, C{"trustAD"}); two for settings that exclude each other.
    @ivar problem: what is wrong, in words.
    """

    def __init__(self, options: tuple[str, ...], problem: str) -> None:
        super().__init__(options, problem)
        self.options = options
        self.problem = problem

    def describe(self, spell: Callable[[str], str] = str) -> str:
        """
        The message, with each setting named by C{spell(fieldName)}: the command line says
        C{--trust-anchor} where an endpoint string says C{trustAnchor}.
        """
        names = [spell(option) for option in self.options]
        if len(names) > 1:
            return f"{' and '.join(names)} {self.problem}"
        return f"{names[0]}: {self.problem}"

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class ResolverSettings:
    """
    How to build a validating resolver. Equal settings build equivalent resolvers, so they
    key L{sharedResolver}'s cache.

    @ivar servers: the recursive resolvers to ask; C{None} for the C{nameserver} lines of
        C{/etc/resolv.conf}.
    @ivar trustAnchors: the trust anchors to validate from; C{None} for the built-in IANA
        root anchors.
    @ivar trustAD: do not validate: trust the AD bit of C{servers} (only for a validating
        resolver the user trusts, on loopback). Excludes C{trustAnchors}.
    @ivar timeout: the most seconds one query may take, every retry included; C{None} for the
        DNS client's defaults (C{/etc/resolv.conf}'s C{options timeout:} and C{attempts:}).
    @raise ResolverSettingsError: for C{trustAD} with C{trustAnchors}, or a timeout that is
        not a positive number.
    """

    servers: tuple[NameServer, ...] | None = None
    trustAnchors: TrustAnchors | None = None
    trustAD: bool = False
    timeout: float | None = None

    def __post_init__(self) -> None:
        if self.trustAD and self.trustAnchors is not None:
            raise ResolverSettingsError(("trustAD", "trustAnchors"), "exclude each other")
        if self.servers is not None and not self.servers:
            raise ResolverSettingsError(("servers",), "names no server")
        if self.timeout is not None and not 0 < self.timeout < float("inf"):
            raise ResolverSettingsError(("timeout",), f"{self.timeout!r} is not positive")

    @classmethod
    def fromStrings(
        cls,
        servers: Sequence[str] | None = None,
        trustAnchorFile: str | None = None,
        trustAD: bool = False,
        timeout: float | None = None,
    ) -> ResolverSettings:
        """
        Settings from user input: C{ADDR[#PORT]} resolver addresses and the path of a trust
        anchor file (DS or DNSKEY lines, or an RFC 7958 C{root-anchors.xml}).

        @param servers: resolver addresses; C{None} for C{/etc/resolv.conf}'s.
        @param trustAnchorFile: the trust anchor file; C{None} for the built-in anchors.
        @param trustAD: see L{ResolverSettings.trustAD}.
        @param timeout: see L{ResolverSettings.timeout}.
        @raise ResolverSettingsError: naming the setting that cannot be used.
        """
        parsed: tuple[NameServer, ...] | None = None
        if servers is not None:
            texts = [s.strip() for s in servers if s.strip()]
            if not texts:
                raise ResolverSettingsError(("servers",), "names no server")
            try:
                parsed = tuple(NameServer.fromString(s) for s in texts)
            except NameServerError as e:
                raise ResolverSettingsError(("servers",), str(e)) from None
        if trustAD and trustAnchorFile:
            raise ResolverSettingsError(("trustAD", "trustAnchors"), "exclude each other")
        anchors = None
        if trustAnchorFile:
            try:
                anchors = TrustAnchors.fromFile(trustAnchorFile)
            except (TrustAnchorError, OSError, ValueError) as e:
                raise ResolverSettingsError(("trustAnchors",), str(e)) from None
        return cls(parsed, anchors, trustAD, timeout)

    def build(self, reactor: Any) -> IDNSSECResolver:
        """
        A new resolver as these settings describe: a L{ValidatingResolver}, or with
        C{trustAD} an L{ADTrustingResolver}, asking the recursive resolvers through a new
        L{DNSClient}.

        @param reactor: the reactor the DNS client sends and times with.
        """
        # A third of the whole for each attempt (within 0.2 to 5 seconds): room to retry.
        perAttempt = None if self.timeout is None else max(min(self.timeout / 3, 5.0), 0.2)
        client = DNSClient(reactor, self.servers, timeout=perAttempt, deadline=self.timeout)
        if self.trustAD:
            name = ", ".join(str(s) for s in client.servers)
            return ADTrustingResolver(client, name, clock=reactor)
        return ValidatingResolver(client, trustAnchors=self.trustAnchors, clock=reactor)


def sharedResolver(reactor: Any, settings: ResolverSettings) -> IDNSSECResolver:
    """
    The resolver for C{settings} on C{reactor}: built by L{ResolverSettings.build} on first use and
    returned again afterwards, so that endpoints with the same settings share one cache (a
    second C{dane:} connection to a host needs no DNS query while the TTLs last).

    The resolvers are kept on the reactor object itself, so they live exactly as long as it
    does. (A module-level table keyed by C{id(reactor)} could hand a new reactor the
    resolvers of a dead one whose id was reused; a C{WeakKeyDictionary} keyed by the reactor
    would never let go of it, since each resolver holds its reactor.) A reactor that takes no
    attributes gets a new resolver each time.

    @param reactor: the reactor.
    @param settings: the settings.
    """
    shared: dict[ResolverSettings, IDNSSECResolver] | None = getattr(
        reactor, _SHARED_ATTRIBUTE, None
    )
    if shared is None:
        shared = {}
        try:
            setattr(reactor, _SHARED_ATTRIBUTE, shared)
        except AttributeError:
            return settings.build(reactor)
    resolver = shared.get(settings)
    if resolver is None:
        resolver = shared[settings] = settings.build(reactor)
    return resolver

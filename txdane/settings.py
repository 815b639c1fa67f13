"""
A validating resolver built from settings: the one place that turns "which recursive resolvers,
which trust anchors, trust the AD bit or not" into an L{IDNSSECResolver}.

The command line (C{--resolver}, C{--trust-anchor}, C{--trust-anchor-state}, C{--trust-ad},
C{--iterative}, C{--root-hints}, C{--resolver-tls}, C{--resolver-ca-file}) and the endpoint
strings (C{resolver=}, C{trustAnchor=}, C{trustAnchorState=}, C{trustAD=}, C{strictNSEC3=},
C{rootHints=}, C{resolverTLS=}, C{resolverTrustRoots=}) both read their options into a
L{ResolverSettings} with L{ResolverSettings.fromStrings}, which checks them once, and build the
resolver with L{ResolverSettings.build} (a new one) or L{sharedResolver} (one per reactor and
settings, so that endpoints share a cache)::

    settings = ResolverSettings.fromStrings(["127.0.0.1#5353"], trustAnchorFile="anchor.txt")
    resolver = sharedResolver(reactor, settings)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
from cryptography import x509

from txdane.errors import TrustAnchorError, TrustAnchorStateError, TxdaneError
from txdane.names import nameFromText
from txdane.resolvconf import NameServer, NameServerError, readResolvConf
from txdane.transport import DNSClient, DNSQuerier
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.anchors import TrustAnchors
from txdane.validation.autotrust import TrustAnchorTracker
from txdane.validation.interfaces import IDNSSECResolver
from txdane.validation.iterative import (
    QUESTION_TIMEOUT,
    SERVER_TIMEOUT,
    IterativeLimits,
    IterativeQuerier,
    RootHintsError,
    readRootHints,
)
from txdane.validation.limits import ValidationLimits
from txdane.validation.resolver import ValidatingResolver
from txdane.validation.roadblock import RoadblockAvoidingClient
from txdane.validation.trustad import ADTrustingResolver

#: The attribute of a reactor under which L{sharedResolver} keeps that reactor's resolvers.
_SHARED_ATTRIBUTE = "_txdaneSharedResolvers"


class ResolverSettingsError(TxdaneError, ValueError):
    """
    Resolver settings that cannot be used.

    @ivar options: the settings at fault, by their field names (C{"servers"},
        C{"trustAnchors"}, C{"trustAD"}, C{"strictNSEC3Iterations"}, C{"trustAnchorState"});
        two for settings that exclude each other.
    @ivar problem: what is wrong, in words.
    @ivar override: the field of the setting that would accept this, if one exists
        (C{"trustADRemote"}).
    """

    options: tuple[str, ...]
    problem: str
    override: str | None = None

    def describe(self, spell: Callable[[str], str] = str) -> str:
        """
        The message, with each setting named by C{spell(fieldName)}: the command line says
        C{--trust-anchor} where an endpoint string says C{trustAnchor}.
        """
        names = [spell(option) for option in self.options]
        if len(names) > 1:
            message = f"{' and '.join(names)} {self.problem}"
        else:
            message = f"{names[0]}: {self.problem}"
        if self.override is not None:
            message += f" (give {spell(self.override)} to accept it)"
        return message

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class ResolverSettings:
    """
    How to build a validating resolver. Equal settings build equivalent resolvers, so they
    key L{sharedResolver}'s cache.

    @ivar servers: the recursive resolvers to ask; C{None} for the C{nameserver} lines of
        C{/etc/resolv.conf}. Given as any sequence of L{NameServer}s or C{"ADDR[#PORT]"}
        strings, kept as a tuple of L{NameServer}s (so are C{rootHints}).
    @ivar trustAnchors: the trust anchors to validate from; C{None} for the built-in IANA
        root anchors.
    @ivar trustAD: do not validate: trust the AD bit of C{servers} (only for a validating
        resolver the user trusts, on loopback). Excludes C{trustAnchors}. Refused unless every
        server (those of C{/etc/resolv.conf} when C{servers} is C{None}, read once when the
        settings are made and kept in C{servers}) is a loopback address
        (127.0.0.0/8, ::1), since anyone on the path to a remote resolver can set the bit.
    @ivar trustADRemote: with C{trustAD}, also trust resolvers that are not on loopback: for
        users who secure the path to them themselves (a VPN, DNS over TLS through a local
        forwarder, a private network they control).
    @ivar timeout: the most seconds one query may take, every retry included; C{None} for the
        DNS client's defaults (C{/etc/resolv.conf}'s C{options timeout:} and C{attempts:}).
        Resolving from the root, it bounds each question (C{IterativeLimits.questionTimeout},
        at most its default, 8 s) and each authoritative server gets a third of it
        (C{serverTimeout}, at least 0.2 s, at most its default, 2 s).
    @ivar strictNSEC3Iterations: make a TLSA lookup bogus instead of insecure when only the
        NSEC3 iteration limit makes it insecure (see
        L{ValidationLimits.strictNSEC3Iterations
        <txdane.validation.limits.ValidationLimits.strictNSEC3Iterations>}). Excludes
        C{trustAD}: the limit applies where txdane validates, and with C{trustAD} it does not.
    @ivar iterative: resolve every query from the root hints, asking the authoritative
        servers (L{IterativeQuerier<txdane.validation.iterative.IterativeQuerier>}), never a
        recursive resolver. Without it, the recursive resolvers are probed for DNSSEC
        roadblocks (RFC 8027) and, when every one is, the resolver falls back to the root
        hints, if it can: with the built-in anchors, or with C{rootHints}. Excludes
        C{trustAD}, C{servers} and C{resolverTLS}.
    @ivar rootHints: the root servers to start from; C{None} for the IANA root servers
        (IPv4 and IPv6, built in). Servers named by referrals are asked on port 53, unless
        every root hint has one same other port, which is then used for them too (tests
        serve a private hierarchy that way).
    @ivar trustAnchorState: the path of an RFC 5011 trust anchor state file (see
        L{TrustAnchorTracker<txdane.validation.autotrust.TrustAnchorTracker>}), or C{None}.
        With it, the anchors follow the zone's key rollovers: the file's trusted keys are the
        anchors; where it does not exist yet, it is made from C{trustAnchors} (or the
        built-in anchors). One tracker is kept per file in a process. Excludes C{trustAD}.
    @ivar resolverTLS: speak DNS over TLS (RFC 7858) to every server, authenticated for this
        name (RFC 8310 strict profile: by DANE where C{_853._tcp.NAME} has secure TLSA
        records, else by PKIX; never in clear); C{None} for plain DNS. A server's port is
        used as given: L{fromStrings} makes it 853 for an address written without one, and
        the servers of C{/etc/resolv.conf} are asked on 853. See L{txdane.dotauth}. The
        resolvers so chosen are asked as they are: no roadblock probes, no fallback to the
        root.
    @ivar resolverTrustRoots: the PKIX roots the servers' certificates must chain to under
        C{resolverTLS} (when DANE does not apply); C{None} for the trust store OpenSSL finds
        (C{SSL_CERT_FILE} included). Only with C{resolverTLS}.
    @raise ResolverSettingsError: for C{trustAD} with C{trustAnchors}, C{trustAnchorState},
        C{iterative} or C{strictNSEC3Iterations}, C{iterative} with C{servers} or
        C{resolverTLS}, C{trustAD} with a server that is not on loopback (without
        C{trustADRemote}), a timeout that is not a positive number, a C{resolverTLS} that is
        not a host name or address, or C{resolverTrustRoots} without C{resolverTLS}.
    """

    servers: tuple[NameServer, ...] | None = None
    trustAnchors: TrustAnchors | None = None
    trustAD: bool = False
    timeout: float | None = None
    trustADRemote: bool = False
    strictNSEC3Iterations: bool = False
    iterative: bool = False
    rootHints: tuple[NameServer, ...] | None = None
    trustAnchorState: str | None = None
    resolverTLS: str | None = None
    resolverTrustRoots: tuple[x509.Certificate, ...] | None = None

    def __post_init__(self) -> None:
        self._checkTypes()
        if self.trustAD and self.iterative:
            raise ResolverSettingsError(("trustAD", "iterative"), _NO_ITERATIVE_WITH_AD)
        if self.iterative and self.servers is not None:
            raise ResolverSettingsError(
                ("servers", "iterative"),
                "exclude each other: resolving from the root asks no recursive resolver",
            )
        if self.iterative and self.resolverTLS is not None:
            raise ResolverSettingsError(
                ("iterative", "resolverTLS"),
                "exclude each other: resolving from the root asks the authoritative servers, "
                "in plain DNS",
            )
        if self.rootHints is not None and not self.rootHints:
            raise ResolverSettingsError(("rootHints",), "names no server")
        if self.resolverTrustRoots is not None and self.resolverTLS is None:
            raise ResolverSettingsError(
                ("resolverTrustRoots",), "applies only to DNS over TLS (give the name too)"
            )
        if self.resolverTLS is not None:
            _checkServerName(self.resolverTLS)
            if self.servers is None:
                servers = tuple(replace(s, port=DOT_PORT) for s in _systemServers())
                object.__setattr__(self, "servers", servers)
        if self.trustADRemote and not self.trustAD:
            raise ResolverSettingsError(
                ("trustADRemote",), "applies only when the AD bit is trusted", "trustAD"
            )
        if self.trustAD and self.trustAnchors is not None:
            raise ResolverSettingsError(("trustAD", "trustAnchors"), "exclude each other")
        if self.trustAD and self.trustAnchorState is not None:
            raise ResolverSettingsError(("trustAD", "trustAnchorState"), "exclude each other")
        if self.trustAD and self.strictNSEC3Iterations:
            raise ResolverSettingsError(("trustAD", "strictNSEC3Iterations"), _NO_STRICT_WITH_AD)
        if self.servers is not None and not self.servers:
            raise ResolverSettingsError(("servers",), "names no server")
        if self.timeout is not None and not 0 < self.timeout < float("inf"):
            raise ResolverSettingsError(("timeout",), f"{self.timeout!r} is not positive")
        if self.trustAD and self.servers is None:
            # The servers checked below are the servers used: read the system's once, here,
            # not again when the resolver is built (the file may change in between).
            object.__setattr__(self, "servers", _systemServers())
        if self.trustAD and not self.trustADRemote:
            servers = self.servers or ()
            remote = [server for server in servers if not _onLoopback(server)]
            if remote:
                raise ResolverSettingsError(
                    ("trustAD",),
                    f"the AD bit of {remote[0]} would be trusted, but it is not on loopback: "
                    "anyone on the path to it can set the bit",
                    "trustADRemote",
                )

    def _checkTypes(self) -> None:
        """
        Check that each field holds what it is documented to, so that a value of another
        type fails here, naming the field, and not when the resolver is built or used (a list
        of servers would not be hashable, a string of flags would be true). Sequences of
        servers are made tuples, and servers given as C{"ADDR[#PORT]"} text are read.

        @raise ResolverSettingsError: naming the field.
        """
        assign = object.__setattr__
        for field in ("servers", "rootHints"):
            value = getattr(self, field)
            if value is not None:
                assign(self, field, _nameServers(field, value))
        if self.trustAnchors is not None and not isinstance(self.trustAnchors, TrustAnchors):
            raise ResolverSettingsError(
                ("trustAnchors",),
                f"{self.trustAnchors!r} is not TrustAnchors (read a file with "
                "TrustAnchors.fromFile(path))",
            )
        for field in ("trustAD", "trustADRemote", "strictNSEC3Iterations", "iterative"):
            if type(getattr(self, field)) is not bool:
                raise ResolverSettingsError(
                    (field,), f"{getattr(self, field)!r} is not True or False"
                )
        if self.timeout is not None and type(self.timeout) not in (int, float):
            raise ResolverSettingsError(("timeout",), f"{self.timeout!r} is not a number")
        for field in ("trustAnchorState", "resolverTLS"):
            if getattr(self, field) is not None and not isinstance(getattr(self, field), str):
                raise ResolverSettingsError((field,), f"{getattr(self, field)!r} is not a str")
        if self.resolverTrustRoots is not None:
            roots = self.resolverTrustRoots
            if not isinstance(roots, Sequence) or not all(
                isinstance(root, x509.Certificate) for root in roots
            ):
                raise ResolverSettingsError(
                    ("resolverTrustRoots",), f"{roots!r} is not a sequence of certificates"
                )
            assign(self, "resolverTrustRoots", tuple(roots))

    @classmethod
    def fromStrings(
        cls,
        servers: Sequence[str] | None = None,
        trustAnchorFile: str | None = None,
        trustAD: bool = False,
        timeout: float | None = None,
        trustADRemote: bool = False,
        strictNSEC3Iterations: bool = False,
        iterative: bool = False,
        rootHintsFile: str | None = None,
        trustAnchorState: str | None = None,
        resolverTLS: str | None = None,
        resolverTrustRootsFile: str | None = None,
    ) -> ResolverSettings:
        """
        Settings from user input: C{ADDR[#PORT]} resolver addresses and the path of a trust
        anchor file (DS or DNSKEY lines, or an RFC 7958 C{root-anchors.xml}). A trust anchor
        state file is read (or made) here, so that a corrupt or unwritable one is reported
        before any lookup.

        @param servers: resolver addresses; C{None} for C{/etc/resolv.conf}'s.
        @param trustAnchorFile: the trust anchor file; C{None} for the built-in anchors.
        @param trustAD: see L{ResolverSettings.trustAD}.
        @param timeout: see L{ResolverSettings.timeout}.
        @param trustADRemote: see L{ResolverSettings.trustADRemote}.
        @param strictNSEC3Iterations: see L{ResolverSettings.strictNSEC3Iterations}.
        @param iterative: see L{ResolverSettings.iterative}.
        @param rootHintsFile: a root hints file as IANA publishes it (C{named.root}: the
            root's NS records and their A and AAAA records); C{None} for the built-in IANA
            root servers.
        @param trustAnchorState: see L{ResolverSettings.trustAnchorState}.
        @param resolverTLS: see L{ResolverSettings.resolverTLS}; resolver addresses given
            without a port then mean port 853.
        @param resolverTrustRootsFile: a PEM file of root certificates (or a directory of
            C{.pem} files), see L{ResolverSettings.resolverTrustRoots}.
        @raise ResolverSettingsError: naming the setting that cannot be used (an empty text
            included: it is never read as the default).
        """
        given = {
            "trustAnchors": trustAnchorFile,
            "rootHints": rootHintsFile,
            "trustAnchorState": trustAnchorState,
            "resolverTLS": resolverTLS,
            "resolverTrustRoots": resolverTrustRootsFile,
        }
        for field, value in given.items():
            if value is not None and not (isinstance(value, str) and value.strip()):
                # Never read as "not given": an empty resolverTLS would send every query in
                # clear, an empty trust anchor file would be the built-in anchors.
                raise ResolverSettingsError(
                    (field,), f"{value!r} is not a value (give one, or None for the default)"
                )
        parsed: tuple[NameServer, ...] | None = None
        if servers is not None:
            if isinstance(servers, (str, bytes)):
                raise ResolverSettingsError(
                    ("servers",),
                    f"{servers!r} is not a list of addresses (give a list, even of one)",
                )
            if not all(isinstance(server, str) for server in servers):
                raise ResolverSettingsError(
                    ("servers",), f"{list(servers)!r}: give each address as a str"
                )
            texts = [s.strip() for s in servers if s.strip()]
            if not texts:
                raise ResolverSettingsError(("servers",), "names no server")
            try:
                parsed = tuple(NameServer.fromString(s) for s in texts)
            except NameServerError as e:
                raise ResolverSettingsError(("servers",), str(e)) from None
            if resolverTLS:
                parsed = tuple(
                    server if _hasPort(text) else replace(server, port=DOT_PORT)
                    for text, server in zip(texts, parsed)
                )
        roots = None
        if resolverTrustRootsFile:
            if not resolverTLS:
                raise ResolverSettingsError(
                    ("resolverTrustRoots",), "applies only to DNS over TLS (give the name too)"
                )
            roots = _readRoots(resolverTrustRootsFile)
        if trustAD and trustAnchorFile:
            raise ResolverSettingsError(("trustAD", "trustAnchors"), "exclude each other")
        if trustAD and trustAnchorState:
            raise ResolverSettingsError(("trustAD", "trustAnchorState"), "exclude each other")
        if trustAD and strictNSEC3Iterations:
            raise ResolverSettingsError(("trustAD", "strictNSEC3Iterations"), _NO_STRICT_WITH_AD)
        anchors = None
        if trustAnchorFile:
            try:
                anchors = TrustAnchors.fromFile(trustAnchorFile)
                # Refused now, as the resolver built from these settings would refuse them.
                anchors.checkUsable(AlgorithmPolicy(), trustAnchorFile)
            except (TrustAnchorError, OSError, ValueError) as e:
                raise ResolverSettingsError(("trustAnchors",), str(e)) from None
        if trustAD and iterative:
            raise ResolverSettingsError(("trustAD", "iterative"), _NO_ITERATIVE_WITH_AD)
        hints = None
        if rootHintsFile:
            try:
                hints = readRootHints(rootHintsFile)
            except RootHintsError as e:
                raise ResolverSettingsError(("rootHints",), str(e)) from None
        if trustAnchorState:
            try:
                tracker = _tracker(trustAnchorState, anchors)
                reason = tracker.anchor().unusable(AlgorithmPolicy())
                if reason is not None:
                    raise TrustAnchorStateError(str(tracker.path), reason)
            except TrustAnchorError as e:
                raise ResolverSettingsError(("trustAnchorState",), str(e)) from None
        return cls(
            parsed,
            anchors,
            trustAD,
            timeout,
            trustADRemote,
            strictNSEC3Iterations,
            iterative,
            hints,
            trustAnchorState or None,
            resolverTLS or None,
            roots,
        )

    def build(self, reactor: Any) -> IDNSSECResolver:
        """
        A new resolver as these settings describe: a L{ValidatingResolver} (with
        L{ValidationLimits.strictNSEC3Iterations
        <txdane.validation.limits.ValidationLimits.strictNSEC3Iterations>} as
        C{strictNSEC3Iterations} says), or with C{trustAD} an L{ADTrustingResolver}, asking the
        recursive resolvers through a new L{DNSClient}, or with C{resolverTLS} a new
        L{DoTClient<txdane.dot.DoTClient>}. A validating resolver without C{resolverTLS} asks
        them through a L{RoadblockAvoidingClient
        <txdane.validation.roadblock.RoadblockAvoidingClient>}, which probes them for
        DNSSEC roadblocks and falls back to the root hints where it can; with C{iterative},
        it asks an L{IterativeQuerier<txdane.validation.iterative.IterativeQuerier>} only.
        The querier is the resolver's C{querier}; its C{resolution} (where it has one) says
        how answers are fetched and why.

        @param reactor: the reactor the DNS client sends and times with.
        """
        # A third of the whole for each attempt (within 0.2 to 5 seconds): room to retry.
        perAttempt = None if self.timeout is None else max(min(self.timeout / 3, 5.0), 0.2)
        limits = ValidationLimits(strictNSEC3Iterations=self.strictNSEC3Iterations)
        querier: DNSQuerier
        if self.resolverTLS is not None:
            dot = self._dotClient(reactor, limits, perAttempt)
            if self.trustAD:
                name = ", ".join(str(s) for s in dot.servers) + f" (TLS, {self.resolverTLS})"
                return ADTrustingResolver(dot, name, clock=reactor)
            querier = dot
        elif self.trustAD:
            client = DNSClient(reactor, self.servers, timeout=perAttempt, deadline=self.timeout)
            name = ", ".join(str(s) for s in client.servers)
            return ADTrustingResolver(client, name, clock=reactor)
        else:
            anchors = self.trustAnchors if self.trustAnchors is not None else TrustAnchors.builtin()
            iterative = None
            if self.iterative or self.trustAnchors is None or self.rootHints is not None:
                iterative = _iterativeQuerier(reactor, self.rootHints, self.timeout)
            if self.iterative:
                assert iterative is not None
                querier = iterative
            else:
                querier = RoadblockAvoidingClient(
                    reactor,
                    self.servers,
                    anchorZone=min((anchor.zone for anchor in anchors.anchors), key=len),
                    iterative=iterative,
                    timeout=perAttempt,
                    deadline=self.timeout,
                )
        tracker = None
        if self.trustAnchorState is not None:
            tracker = _tracker(self.trustAnchorState, self.trustAnchors)
        return ValidatingResolver(
            querier,
            trustAnchors=self.trustAnchors,
            limits=limits,
            clock=reactor,
            trustAnchorTracker=tracker,
        )

    def _dotClient(self, reactor: Any, limits: ValidationLimits, perAttempt: float | None) -> Any:
        from txdane.dane.pkix import PKIXTrust
        from txdane.dot import DoTClient
        from txdane.dotauth import UpstreamAuthenticator

        assert self.resolverTLS is not None and self.servers is not None
        authenticate = UpstreamAuthenticator(
            reactor,
            self.resolverTLS,
            trustAnchors=self.trustAnchors,
            limits=limits,
            trust=PKIXTrust(self.resolverTrustRoots) if self.resolverTrustRoots else None,
            timeout=perAttempt,
            deadline=self.timeout,
            trustAnchorTracker=(
                _tracker(self.trustAnchorState, self.trustAnchors)
                if self.trustAnchorState is not None
                else None
            ),
        )
        return DoTClient(
            reactor,
            self.servers,
            self.resolverTLS,
            authenticate,
            timeout=perAttempt,
            deadline=self.timeout,
        )


def _iterativeQuerier(
    reactor: Any, rootHints: tuple[NameServer, ...] | None, timeout: float | None = None
) -> IterativeQuerier:
    """
    An iterative querier from C{rootHints}: servers named by referrals are asked on the
    one port every root hint shares (53 for the IANA root servers). C{timeout} (the
    settings' C{timeout}) bounds each question, and each server gets a third of it (at
    least 0.2 s), as each attempt of a recursive resolver does; neither is made longer than
    the querier's defaults.
    """
    ports = {hint.port for hint in rootHints or ()}
    port = ports.pop() if len(ports) == 1 else 53
    limits = IterativeLimits()
    if timeout is not None:
        limits = IterativeLimits(
            serverTimeout=min(max(timeout / 3, 0.2), SERVER_TIMEOUT),
            questionTimeout=min(timeout, QUESTION_TIMEOUT),
        )
    return IterativeQuerier(reactor, rootHints, port=port, limits=limits)


#: Why C{iterative} is refused with C{trustAD}.
_NO_ITERATIVE_WITH_AD = (
    "exclude each other: resolving from the root asks authoritative servers, which set no "
    "AD bit to trust"
)


#: The trackers of the trust anchor state files in use, by absolute path: one per file in a
#: process, whichever resolvers use it.
_TRACKERS: dict[Path, TrustAnchorTracker] = {}


def _tracker(path: str, anchors: TrustAnchors | None) -> TrustAnchorTracker:
    """
    The tracker of the state file C{path}: the one already open in this process, or one
    opened now (made from C{anchors}, or the built-in anchors, if the file does not exist).

    @raise TrustAnchorStateError: the file cannot be read, parsed or written.
    """
    key = Path(path).absolute()
    tracker = _TRACKERS.get(key)
    if tracker is None:
        seed = anchors if anchors is not None else TrustAnchors.builtin()
        tracker = _TRACKERS[key] = TrustAnchorTracker.open(key, seed)
    return tracker


#: Why C{strictNSEC3Iterations} is refused with C{trustAD}.
_NO_STRICT_WITH_AD = (
    "exclude each other: the NSEC3 iteration limit applies only where txdane validates, and "
    "with trust-AD the resolver's AD bit decides"
)


#: The DNS-over-TLS port (RFC 7858 section 3.1).
DOT_PORT = 853


def _hasPort(text: str) -> bool:
    """
    Whether a resolver address as the user wrote it names a port (C{ADDR#PORT},
    C{[V6]:PORT}).
    """
    return "#" in text or (text.startswith("[") and "]:" in text)


def _nameServers(field: str, value: object) -> tuple[NameServer, ...]:
    """
    The servers in C{value}: a sequence of L{NameServer}s or C{"ADDR[#PORT]"} strings.

    @raise ResolverSettingsError: for anything else, naming C{field}.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ResolverSettingsError(
            (field,), f"{value!r} is not a sequence of servers (give a list, even of one)"
        )
    servers = []
    for item in value:
        if isinstance(item, NameServer):
            servers.append(item)
        elif isinstance(item, str):
            try:
                servers.append(NameServer.fromString(item))
            except NameServerError as e:
                raise ResolverSettingsError((field,), str(e)) from None
        else:
            raise ResolverSettingsError((field,), f"{item!r} is not a server")
    return tuple(servers)


def _checkServerName(name: str) -> None:
    """
    @raise ResolverSettingsError: unless C{name} is a host name or an IP address.
    """
    try:
        ipaddress.ip_address(name)
        return
    except ValueError:
        pass
    try:
        parsed = nameFromText(name)
    except dns.exception.DNSException as e:
        raise ResolverSettingsError(
            ("resolverTLS",), f"{name!r} is not a host name ({e})"
        ) from None
    # The root label counts as one: a name of one label (a typo, "yes") has two.
    if len(parsed.labels) < 3 or any(not label for label in parsed.labels[:-1]):
        raise ResolverSettingsError(("resolverTLS",), f"{name!r} is not a host name")


def _readRoots(path: str) -> tuple[x509.Certificate, ...]:
    """
    The certificates of a PEM file, or of the C{.pem} files of a directory.
    """
    folder = Path(path)
    files = sorted(folder.glob("*.pem")) if folder.is_dir() else [folder]
    roots: list[x509.Certificate] = []
    for file in files:
        try:
            roots.extend(x509.load_pem_x509_certificates(file.read_bytes()))
        except OSError as e:
            raise ResolverSettingsError(("resolverTrustRoots",), f"{file}: {e.strerror}") from None
        except ValueError:
            # cryptography's words (a link to its FAQ, "MalformedFraming") say less than these.
            raise ResolverSettingsError(
                ("resolverTrustRoots",),
                f"{file}: no PEM certificate in it (give a file of -----BEGIN CERTIFICATE----- "
                "blocks)",
            ) from None
    if not roots:
        raise ResolverSettingsError(("resolverTrustRoots",), f"{path} holds no certificate")
    return tuple(roots)


def _systemServers() -> tuple[NameServer, ...]:
    """
    The servers a L{DNSClient} asks when given none: those of C{/etc/resolv.conf}.
    """
    return readResolvConf().servers


def _onLoopback(server: NameServer) -> bool:
    """
    Whether C{server} is reached without leaving the host: 127.0.0.0/8 or ::1.
    """
    return ipaddress.ip_address(server.host.split("%")[0]).is_loopback


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

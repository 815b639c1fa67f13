"""
Endpoints over a plan of hosts: the one walk every many-host connection takes (C{dane:mx=},
C{dane:srv=}, mail delivery).

A planner (L{planMX<txdane.endpoints.mx.planMX>}, L{SRVEndpoint.plan
<txdane.endpoints.srv.SRVEndpoint.plan>}) turns a validated lookup into an ordered list of
L{Candidate}s: host, port, extra reference identifiers, policy, and whether the host name
itself is trustworthy. A L{HostWalk} then tries them in order, each with the steps of
C{dane:host=} (L{connectCandidate}: validated addresses, TLSA records, TLS or STARTTLS checked
by DANE), moving to the next when one fails, and fails only when every candidate failed,
with an L{AllHostsFailedError<txdane.endpoints.errors.AllHostsFailedError>} that lists each
host and why. L{PlannedEndpoint} is that walk as an endpoint.

A candidate's host is a host name, whose addresses are looked up and validated. An MX or SRV
target whose name is an IP address (C{MX 10 127.0.0.1.}) is no host name (RFC 5321 section
5.1, RFC 2782): it is never dialled, as an address given by the caller would be; the
planners mark it (L{Candidate.unusable}), and L{connectCandidate} fails for it at once with
L{UnusableHostError}, which the walk lists as that host's failure before going on to the next.

Tests: C{tests/endpoints/test_planner.py}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from twisted.internet.protocol import ClientFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.adapters import AddressLookupError
from txdane.dane.decision import ConnectionPlan, Policy
from txdane.endpoints._arguments import (
    checkedBindAddress,
    checkedInstance,
    checkedResolver,
    checkedSeconds,
)
from txdane.endpoints._plumbing import logFailure
from txdane.endpoints.connection import ConnectionInfo
from txdane.endpoints.connector import RetryConnector
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.errors import AllHostsFailedError, HostAttempt
from txdane.endpoints.options import DEFAULT_HANDSHAKE_TIMEOUT, DANEOptions
from txdane.errors import TxdaneError
from txdane.names import isAddress
from txdane.validation.interfaces import IDNSSECResolver

__all__ = [
    "DEFAULT_MAX_HOSTS",
    "Candidate",
    "HostFailed",
    "HostSettings",
    "HostWalk",
    "PlannedEndpoint",
    "UnusableHostError",
    "candidateInfo",
    "connectCandidate",
    "hostEndpoint",
    "numericName",
    "refuseHostFields",
    "unusableReason",
]

T = TypeVar("T")

#: How many hosts of a plan are tried at most, by default, as Postfix's
#: C{smtp_mx_address_limit}: a zone cannot make one connection dial hundreds of hosts.
DEFAULT_MAX_HOSTS = 5
#: The most hosts a plan may be allowed to try (C{maxHosts}).
_MOST_HOSTS = 1000


@dataclass(frozen=True)
class Candidate:
    """
    One host a planned endpoint may connect to.

    @ivar host: the host name.
    @ivar port: the port.
    @ivar extraNames: reference identifiers beyond the TLSA base domain and the host (the
        next-hop domain for SMTP, the service domain for SRV).
    @ivar policy: the DANE policy for this host.
    @ivar nameSecure: whether the host name came from DNSSEC-validated data; when not, a
        DANE-authenticated connection is "trusted" rather than "verified".
    @ivar domain: the domain the host serves (the next-hop domain of an MX lookup, the
        service domain of an SRV lookup).
    @ivar withoutTLSA: why the host's TLSA records must not be consulted at all (the SRV
        records naming it are insecure, RFC 7673 section 3.1), or C{None} to consult them as
        C{dane:host=} does.
    @ivar starttls: the protocol whose STARTTLS the endpoint negotiates with this host, or
        C{None} for TLS from the first byte.
    @ivar unusable: why the host is not dialled at all (an MX host whose name is an IP
        address, L{numericName}), or C{None}; L{connectCandidate} then fails at once with
        L{UnusableHostError}, which says so. A host that is an IP address is refused all the
        same, C{unusable} or not.
    """

    host: str
    port: int
    extraNames: tuple[str, ...] = ()
    policy: Policy = Policy.DEFAULT
    nameSecure: bool = True
    domain: str | None = None
    withoutTLSA: str | None = None
    starttls: str | None = None
    unusable: str | None = None


def numericName(host: str) -> bool:
    """
    Whether the host name C{host} (as text, with or without its final dot) is an IP address,
    IPv4 or IPv6, with or without a zone (C{%eth0}): text the endpoints would dial as the
    address it spells, with no address lookup. An MX exchange and an SRV target are domain
    names whose addresses are looked up (RFC 5321 section 5.1, RFC 2782); a record that names
    C{127.0.0.1.} names no host (Postfix skips it: "numeric domain name in resource data").
    """
    text = host[:-1] if host.endswith(".") else host
    return isAddress(text.split("%", 1)[0])


class UnusableHostError(AddressLookupError):
    """
    A candidate host that is not dialled: its name gives no address that may be used (an MX
    or SRV target whose name is an IP address, L{numericName}). No lookup was made, and no
    connection. An L{AddressLookupError<txdane.adapters.AddressLookupError>}, as a host
    without usable addresses is; a walk lists it as that host's failure and goes on to the
    next.

    @ivar hostName: the host.
    @ivar message: why it is not dialled (C{"MX host 127.0.0.1.: a numeric name, not a host
        name (RFC 5321 section 5.1)"}).
    """


@dataclass(frozen=True)
class HostSettings:
    """
    The per-host settings of a planned endpoint (those of L{DANEEndpoint}). A host whose
    connection does not reach a verified TLS session within C{handshakeTimeout} fails like
    a refused one: the next host is tried.

    @ivar timeout: seconds per TCP connection attempt.
    @ivar handshakeTimeout: seconds from the TCP connection to a verified TLS session.
    @ivar bindAddress: the local C{(host, port)} to bind to.
    @ivar attemptDelay: seconds between Happy Eyeballs attempts.
    @ivar options: the L{DANEOptions} every host starts from (a candidate's policy,
        reference identifiers and STARTTLS protocol are applied to them).
    @ivar maxHosts: how many hosts of the plan are tried at most (L{DEFAULT_MAX_HOSTS});
        the others are named in the error when every host tried failed.
    """

    timeout: float = 30
    handshakeTimeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    bindAddress: tuple[str, int] | None = None
    attemptDelay: float | None = None
    options: DANEOptions = dataclasses.field(default_factory=DANEOptions)
    maxHosts: int = DEFAULT_MAX_HOSTS

    def __post_init__(self) -> None:
        """
        Check every field as L{DANEEndpoint} does.

        @raise TypeError: for a value of the wrong type.
        @raise ValueError: for a value that cannot be used.
        """
        checkedSeconds(self.timeout, "timeout")
        checkedSeconds(self.handshakeTimeout, "handshakeTimeout")
        if self.bindAddress is not None:
            checkedBindAddress(self.bindAddress)
        if self.attemptDelay is not None:
            checkedSeconds(self.attemptDelay, "attemptDelay")
        checkedInstance(self.options, "options", DANEOptions)
        if type(self.maxHosts) is not int or not 1 <= self.maxHosts <= _MOST_HOSTS:
            raise ValueError(f"maxHosts={self.maxHosts!r} is not a whole number in 1-{_MOST_HOSTS}")


def refuseHostFields(settings: HostSettings, *fields: str) -> None:
    """
    Refuse C{settings} whose options set one of C{fields} (C{"policy"}, C{"starttls"},
    C{"tlsaHost"}), which a plan sets for each host itself: given for every host, it would be
    replaced without a word (a C{DANE_ONLY} policy by RFC 7672's opportunistic one for MX
    hosts, say).

    @raise TypeError: for C{settings} that are not L{HostSettings}.
    @raise ValueError: naming the field.
    """
    checkedInstance(settings, "settings", HostSettings)
    defaults = {"policy": Policy.DEFAULT, "starttls": None, "tlsaHost": None}
    for field in fields:
        value = getattr(settings.options, field)
        if value != defaults[field]:
            raise ValueError(
                f"options.{field}={value!r}: each host of the plan has its own {field}, "
                "set from how it was found"
            )


def hostEndpoint(
    reactor: Any,
    resolver: IDNSSECResolver,
    candidate: Candidate,
    settings: HostSettings,
    **optionFields: Any,
) -> DANEEndpoint:
    """
    The C{dane:host=} endpoint for one candidate.

    @param optionFields: fields of L{DANEOptions} for this host only.
    """
    base = settings.options
    return DANEEndpoint(
        reactor,
        resolver,
        candidate.host,
        candidate.port,
        options=base,
        policy=candidate.policy,
        extraNames=(*candidate.extraNames, *base.extraNames),
        starttls=candidate.starttls,
        timeout=settings.timeout,
        handshakeTimeout=settings.handshakeTimeout,
        bindAddress=settings.bindAddress,
        attemptDelay=settings.attemptDelay,
        **optionFields,
    )


async def connectCandidate(
    reactor: Any,
    resolver: IDNSSECResolver,
    candidate: Candidate,
    protocolFactory: IProtocolFactory,
    *,
    settings: HostSettings = HostSettings(),
    onLost: Callable[[Failure], object] | None = None,
    adjust: Callable[[ConnectionPlan], ConnectionPlan] | None = None,
    **optionFields: Any,
) -> IProtocol:
    """
    Look up and connect to one candidate (without moving on when it fails): the steps of
    C{dane:host=}, validated addresses, TLSA records (unless the candidate says they must not
    be consulted), the candidate's STARTTLS if it has one, and TLS checked by DANE or PKIX.

    @param onLost: called with the reason when a connection that fired C{connect()} is lost.
    @param adjust: changes the plan before connecting (an SRV service's SNI and PKIX name).
    @param optionFields: fields of L{DANEOptions} for this host only.
    @raise UnusableHostError: the candidate is not dialled (L{Candidate.unusable}, or a host
        that is an IP address): nothing was looked up or dialled.
    @raise HostFailed: the connection was made, then failed (the error, and the address;
        a direct TLS handshake that broke down as a L{TLSHandshakeError
        <txdane.endpoints.errors.TLSHandshakeError>}).
    """
    unusable = unusableReason(candidate)
    if unusable is not None:
        raise UnusableHostError(candidate.host, unusable)
    endpoint = hostEndpoint(reactor, resolver, candidate, settings, **optionFields)
    addresses, plan = await endpoint.plan(withoutTLSA=candidate.withoutTLSA)
    if adjust is not None:
        plan = adjust(plan)
    info = candidateInfo(candidate, plan)
    try:
        return await endpoint.connectWithPlan(
            addresses, plan, protocolFactory, info=info, onLost=onLost
        )
    except CancelledError:
        raise
    except Exception as e:
        if info.address is None:
            raise
        error = endpoint.handshakeRefusal(plan, e) or e
        local = info.localAddress.host if info.localAddress is not None else None
        raise HostFailed(error, info.address.host, local) from error


def unusableReason(candidate: Candidate) -> str | None:
    """
    Why C{candidate} is not dialled at all: its L{Candidate.unusable}, or, for a host that
    is an IP address (L{numericName}) however it was made, that it is no host name; else
    C{None}.
    """
    if candidate.unusable is not None:
        return candidate.unusable
    if numericName(candidate.host):
        return (
            f"{candidate.host.rstrip('.')}.: a numeric name, not a host name (an MX or SRV"
            " target names a host: RFC 5321 section 5.1, RFC 2782)"
        )
    return None


def candidateInfo(candidate: Candidate, plan: ConnectionPlan) -> ConnectionInfo:
    """
    The L{ConnectionInfo} of a connection to C{candidate} under C{plan}.
    """
    return ConnectionInfo(
        candidate.host,
        candidate.port,
        plan,
        candidate.nameSecure,
        candidate.domain,
        candidate.starttls,
    )


class HostFailed(TxdaneError):
    """
    Raised by an attempt of a L{HostWalk} to say where its host failed: the error, and the
    address the connection had reached. The walk records the error itself.

    @ivar error: the failure.
    @ivar address: the address connected to, or C{None}.
    @ivar localAddress: this side's address of that connection, or C{None}.
    """

    error: BaseException
    address: str | None = None
    localAddress: str | None = None
    template = "{error} (at {address})"


class HostWalk:
    """
    The candidates of a plan, tried in order until one succeeds: the one walk of
    C{dane:mx=}, C{dane:srv=} and mail delivery.

    @ivar service: what is planned for, in errors (C{"MX of example.com"}).
    @ivar remaining: the candidates not tried yet.
    @ivar attempts: a L{HostAttempt} for each failure, in order.
    @ivar skipped: the candidates beyond C{maxHosts}, never tried.
    """

    def __init__(
        self,
        service: str,
        candidates: Sequence[Candidate],
        allFailed: type[AllHostsFailedError] = AllHostsFailedError,
        *,
        maxHosts: int = DEFAULT_MAX_HOSTS,
    ) -> None:
        self.service = service
        self.maxHosts = maxHosts
        self.attempts: list[HostAttempt] = []
        self.remaining: list[Candidate] = []
        self.skipped: list[Candidate] = []
        self.plan(candidates)
        self._allFailed = allFailed

    def plan(self, candidates: Sequence[Candidate]) -> None:
        """
        Set the candidates to walk: the first C{maxHosts} of them; the others are skipped.
        """
        self.remaining = list(candidates[: self.maxHosts])
        self.skipped = list(candidates[self.maxHosts :])

    def failed(
        self, candidate: Candidate, error: BaseException, address: str | None = None
    ) -> None:
        """
        Note that C{candidate} failed with C{error}.
        """
        self.attempts.append(HostAttempt(candidate.host, candidate.port, error, address))

    async def next(
        self,
        attempt: Callable[[Candidate], Awaitable[T]],
        *,
        final: Callable[[BaseException], bool] = lambda error: False,
    ) -> T:
        """
        Run C{attempt} on each remaining candidate in turn until one succeeds.

        @param final: whether an error ends the walk (a permanent mail error): it is then
            raised, after being noted.
        @raise AllHostsFailedError: (or the walk's subclass) no candidate is left.
        """
        while self.remaining:
            candidate = self.remaining.pop(0)
            try:
                return await attempt(candidate)
            except CancelledError:
                raise
            except HostFailed as e:
                error: BaseException = e.error
                self.failed(candidate, error, e.address)
            except Exception as e:
                error = e
                self.failed(candidate, error)
            if final(error):
                raise error
        skipped = [f"{c.host}:{c.port}" for c in self.skipped]
        raise self._allFailed(self.service, self.attempts, skipped)


class _Run:
    """
    One C{connect()} of a L{PlannedEndpoint}: plans, works through the candidates, and is
    the connector a C{ClientFactory} reconnects with (to the next host).
    """

    def __init__(self, endpoint: PlannedEndpoint, factory: IProtocolFactory) -> None:
        self.endpoint = endpoint
        self.walk = HostWalk(
            endpoint.service, (), endpoint.allFailed, maxHosts=endpoint.settings.maxHosts
        )
        self.factory = factory
        self.connector = (
            RetryConnector(endpoint._reactor, factory, self.dial)
            if isinstance(factory, ClientFactory)
            else None
        )

    def connect(self) -> Deferred[IProtocol]:
        return Deferred.fromCoroutine(self.first())

    async def first(self) -> IProtocol:
        self.walk.plan(await self.endpoint.planner())
        protocol = await self.walk.next(self.attempt)
        if self.connector is not None:
            self.connector.connected(protocol)
        return protocol

    def dial(self, onLost: Callable[[Failure], object]) -> Deferred[IProtocol]:
        return Deferred.fromCoroutine(self.walk.next(self.attempt))

    def attempt(self, candidate: Candidate) -> Awaitable[IProtocol]:
        return self.endpoint.connectCandidate(
            candidate, self.factory, lambda reason: self.lost(candidate, reason)
        )

    def lost(self, candidate: Candidate, reason: Failure) -> None:
        if not reason.check(ConnectionDone):
            peer = self.connector.destination if self.connector is not None else None
            error = reason.value if reason.value is not None else Exception(str(reason))
            self.walk.failed(candidate, error, getattr(peer, "host", None))
        if self.connector is not None:
            self.connector.lost(reason)


@implementer(IStreamClientEndpoint)
class PlannedEndpoint:
    """
    An endpoint over a planner: C{connect()} runs the planner, then tries each candidate
    in turn as C{dane:host=} would, and fires with the protocol of the first connection
    whose handshake passed verification. It fails with the planner's error (nothing
    dialled), or with L{AllHostsFailedError<txdane.endpoints.errors.AllHostsFailedError>}
    when every candidate failed.

    Whenever a connection that fired C{connect()} is lost, a C{ClientFactory} also hears of
    it through C{clientConnectionLost}, as with C{connectTCP}, with a connector whose
    C{connect()} dials the next host (as twisted.mail's C{ESMTPSenderFactory} does to retry,
    and twisted.words' reconnecting C{XmlStreamFactory}); when no host is left, its
    C{clientConnectionFailed} gets the L{AllHostsFailedError
    <txdane.endpoints.errors.AllHostsFailedError>}. When C{connect()} itself fails, only
    its caller hears of it, as with Twisted's own endpoints.

    @param planner: returns the candidates, in the order to try them.
    @param service: names what is planned for, in errors (C{"MX of example.com"}).
    @param settings: the per-host settings.

    @cvar allFailed: the error raised when every candidate failed.
    """

    allFailed: type[AllHostsFailedError] = AllHostsFailedError

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        planner: Callable[[], Awaitable[Sequence[Candidate]]],
        service: str,
        *,
        settings: HostSettings = HostSettings(),
    ) -> None:
        self._reactor = reactor
        self.resolver = checkedResolver(resolver)
        self.planner = planner
        self.service = service
        self.settings = checkedInstance(settings, "settings", HostSettings)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.service}, at most {self.settings.maxHosts} hosts>"

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect as the class docstring says; a failure is also logged, once, with its reason
        (L{logFailure<txdane.endpoints._plumbing.logFailure>}).
        """
        return logFailure(self, _Run(self, protocolFactory).connect())

    async def connectCandidate(
        self,
        candidate: Candidate,
        protocolFactory: IProtocolFactory,
        onLost: Callable[[Failure], object],
    ) -> IProtocol:
        """
        Connect to one candidate: L{connectCandidate} with this endpoint's settings.
        Planners whose hosts differ in more (an SRV service's ALPN and server name) override
        it.

        @param onLost: called with the reason when a connection that fired C{connect()} is
            lost.
        """
        return await connectCandidate(
            self._reactor,
            self.resolver,
            candidate,
            protocolFactory,
            settings=self.settings,
            onLost=onLost,
        )

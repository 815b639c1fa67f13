"""
Endpoints over a plan of hosts: the MX endpoint (RFC 7672) and, built the same way, SRV
(RFC 7673).

A planner turns a validated lookup (MX, SRV) into an ordered list of L{Candidate}s - host,
port, extra reference identifiers, policy, and whether the host name itself is trustworthy.
L{PlannedEndpoint} then gives each candidate the same steps as C{dane:host=} (validated
addresses, TLSA records, TLS or STARTTLS checked by DANE), moving to the next when one fails,
and fails only when every candidate failed, with an L{AllHostsFailedError} that lists each
host and why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from twisted.internet.protocol import ClientFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.dane.decision import ConnectionPlan, Policy
from txdane.endpoints.connector import RetryConnector
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.negotiator import Negotiator
from txdane.endpoints.options import DANEOptions
from txdane.endpoints.upgrade import DEFAULT_HANDSHAKE_TIMEOUT
from txdane.errors import TxdaneError
from txdane.validation.interfaces import IDNSSECResolver


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
    """

    host: str
    port: int
    extraNames: tuple[str, ...] = ()
    policy: Policy = Policy.DEFAULT
    nameSecure: bool = True
    domain: str | None = None
    withoutTLSA: str | None = None


@dataclass(frozen=True)
class HostAttempt:
    """
    One host tried, and why it failed.

    @ivar host: the host name.
    @ivar port: the port.
    @ivar error: the failure.
    @ivar address: the address connected to, when a connection was made.
    """

    host: str
    port: int
    error: BaseException
    address: str | None = None

    def __str__(self) -> str:
        where = f"{self.host}:{self.port}"
        text = describeError(self.error)
        # Most errors start with the host and port already: name them once.
        for named in (f"{where}: ", f"{where} "):
            if text.startswith(named):
                text = text[len(named) :]
                break
        if self.address:
            where += f" ({self.address})"
        return f"{where}: {text}"


def describeError(error: BaseException) -> str:
    """
    C{error} in words: its message, after its type's name unless it is one of txdane's
    errors (whose messages say what they are) or has no message.
    """
    text = str(error)
    if isinstance(error, TxdaneError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class AllHostsFailedError(TxdaneError):
    """
    Every host of a plan failed.

    @ivar service: what was planned for (C{"MX of example.com"}).
    @ivar attempts: a L{HostAttempt} per host tried, in order.
    """

    def __init__(self, service: str, attempts: Sequence[HostAttempt]) -> None:
        super().__init__(service, tuple(attempts))
        self.service = service
        self.attempts = tuple(attempts)

    def __str__(self) -> str:
        if not self.attempts:
            return f"{self.service}: no host to try"
        return f"{self.service}: every host failed: " + "; ".join(str(a) for a in self.attempts)


@dataclass(frozen=True)
class HostSettings:
    """
    The per-host options of a planned endpoint (those of L{DANEEndpoint}). A host whose TLS
    handshake outlives C{handshakeTimeout} fails like a refused one: the next host is tried.

    @ivar extra: fields of L{DANEOptions}, by name.
    @ivar options: the L{DANEOptions} every host starts from (a candidate's policy and
        reference identifiers, and C{extra}, are applied to them).
    """

    timeout: float = 30
    handshakeTimeout: float = DEFAULT_HANDSHAKE_TIMEOUT
    bindAddress: tuple[str, int] | None = None
    attemptDelay: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    options: DANEOptions | None = None


def hostEndpoint(
    reactor: Any,
    resolver: IDNSSECResolver,
    candidate: Candidate,
    starttls: str | None,
    settings: HostSettings,
    **optionFields: Any,
) -> DANEEndpoint:
    """
    The C{dane:host=} endpoint for one candidate.

    @param optionFields: fields of L{DANEOptions} for this host only.
    """
    base = settings.options or DANEOptions()
    return DANEEndpoint(
        reactor,
        resolver,
        candidate.host,
        candidate.port,
        options=base,
        policy=candidate.policy,
        extraNames=(*candidate.extraNames, *base.extraNames),
        timeout=settings.timeout,
        handshakeTimeout=settings.handshakeTimeout,
        bindAddress=settings.bindAddress,
        attemptDelay=settings.attemptDelay,
        starttls=starttls,
        **{**settings.extra, **optionFields},
    )


async def connectCandidate(
    reactor: Any,
    resolver: IDNSSECResolver,
    candidate: Candidate,
    protocolFactory: IProtocolFactory,
    *,
    starttls: str | None,
    settings: HostSettings = HostSettings(),
    onLost: Callable[[Failure], object] | None = None,
    negotiator: Negotiator | None = None,
    handshakeTimeout: float | None = None,
    adjust: Callable[[ConnectionPlan], ConnectionPlan] | None = None,
    **optionFields: Any,
) -> IProtocol:
    """
    Look up and connect to one candidate (without moving on when it fails): the steps of
    C{dane:host=}, validated addresses, TLSA records (unless the candidate says they must not
    be consulted) and TLS checked by DANE or PKIX.

    @param onLost: called with the reason when a connection that fired C{connect()} is lost.
    @param negotiator: the endpoint's own STARTTLS (see L{DANEEndpoint.connectWithPlan}).
    @param handshakeTimeout: seconds for the STARTTLS and TLS handshake once connected.
    @param adjust: changes the plan before connecting (an SRV service's SNI and PKIX name).
    @param optionFields: fields of L{DANEOptions} for this host only.
    """
    endpoint = hostEndpoint(reactor, resolver, candidate, starttls, settings, **optionFields)
    addresses, plan = await endpoint.plan(withoutTLSA=candidate.withoutTLSA)
    if adjust is not None:
        plan = adjust(plan)
    return await endpoint.connectWithPlan(
        addresses,
        plan,
        protocolFactory,
        nameSecure=candidate.nameSecure,
        domain=candidate.domain,
        onLost=onLost,
        negotiator=negotiator,
        handshakeTimeout=handshakeTimeout,
    )


class _Run:
    """
    One C{connect()} of a L{PlannedEndpoint}: works through the candidates, and is the
    connector a C{ClientFactory} reconnects with (to the next host).
    """

    def __init__(
        self,
        endpoint: PlannedEndpoint,
        candidates: Sequence[Candidate],
        factory: IProtocolFactory,
    ) -> None:
        self.endpoint = endpoint
        self.candidates = list(candidates)
        self.factory = factory
        self.attempts: list[HostAttempt] = []
        self.connector = (
            RetryConnector(endpoint._reactor, factory, self.dial)
            if isinstance(factory, ClientFactory)
            else None
        )

    def dial(self, onLost: Callable[[Failure], object]) -> Deferred[IProtocol]:
        return Deferred.fromCoroutine(self.next())

    async def next(self) -> IProtocol:
        endpoint = self.endpoint
        while self.candidates:
            candidate = self.candidates.pop(0)
            try:
                protocol = await endpoint.connectCandidate(
                    candidate,
                    self.factory,
                    lambda reason, c=candidate: self.lost(c, reason),  # type: ignore[misc]
                )
            except CancelledError:
                raise
            except Exception as e:
                self.attempts.append(HostAttempt(candidate.host, candidate.port, e))
                continue
            if self.connector is not None:
                self.connector.connected(protocol)
            return protocol
        raise endpoint.allFailed(endpoint.service, self.attempts)

    def lost(self, candidate: Candidate, reason: Failure) -> None:
        if not reason.check(*_CLEAN):
            peer = self.connector.destination if self.connector is not None else None
            address = getattr(peer, "host", None)
            error = reason.value if reason.value is not None else Exception(str(reason))
            self.attempts.append(HostAttempt(candidate.host, candidate.port, error, address))
        if self.connector is not None:
            self.connector.lost(reason)


def _cleanErrors() -> tuple[type[BaseException], ...]:
    from twisted.internet.error import ConnectionDone

    return (ConnectionDone,)


_CLEAN = _cleanErrors()


@implementer(IStreamClientEndpoint)
class PlannedEndpoint:
    """
    An endpoint over a planner: C{connect()} runs the planner, then tries each candidate
    in turn as C{dane:host=} would, and fires with the protocol of the first connection
    made. It fails with the planner's error (nothing dialled), or with
    L{AllHostsFailedError} when every candidate failed.

    With C{starttls}, a connection fires C{connect()} before its TLS handshake: a host
    refused later (DANE mismatch, TLS owed but not offered) is reported to the protocol's
    C{connectionLost} with the typed error. Whenever a connection that fired C{connect()} is
    lost (refused that way, or closed later), a C{ClientFactory} also hears of it through
    C{clientConnectionLost}, as with C{connectTCP}, with a connector whose C{connect()} dials
    the next host (as twisted.mail's C{ESMTPSenderFactory} does to retry, and twisted.words'
    reconnecting C{XmlStreamFactory}); when no host is left, its C{clientConnectionFailed}
    gets the L{AllHostsFailedError}.

    @param planner: returns the candidates, in the order to try them.
    @param service: names what is planned for, in errors (C{"MX of example.com"}).
    @param starttls: the STARTTLS protocol (see L{DANEEndpoint}), or C{None} for direct TLS.
    @param settings: the per-host options.

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
        starttls: str | None = None,
        settings: HostSettings = HostSettings(),
    ) -> None:
        self._reactor = reactor
        self.resolver = resolver
        self.planner = planner
        self.service = service
        self.starttls = starttls
        self.settings = settings

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        return Deferred.fromCoroutine(self._connect(protocolFactory))

    async def _connect(self, protocolFactory: IProtocolFactory) -> IProtocol:
        candidates = await self.planner()
        return await _Run(self, candidates, protocolFactory).next()

    async def connectCandidate(
        self,
        candidate: Candidate,
        protocolFactory: IProtocolFactory,
        onLost: Callable[[Failure], object],
    ) -> IProtocol:
        """
        Connect to one candidate: L{connectCandidate} with this endpoint's C{starttls} and
        settings. Planners whose hosts differ in more (an SRV service's direct TLS and
        STARTTLS targets) override it.

        @param onLost: called with the reason when a connection that fired C{connect()} is
            lost.
        """
        return await connectCandidate(
            self._reactor,
            self.resolver,
            candidate,
            protocolFactory,
            starttls=self.starttls,
            settings=self.settings,
            onLost=onLost,
        )

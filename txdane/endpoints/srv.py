"""
L{SRVEndpoint}: a service found by its SRV records (RFC 2782), each target authenticated by
DANE where RFC 7673 allows it, by PKIX against the service domain otherwise; XMPP's direct
TLS and STARTTLS targets merged as XEP-0368 says.

    endpoint = clientFromString(reactor, "dane:srv=xmpp-client:domain=example.com")

The rules are in L{txdane.endpoints.srvplan}; this module does the lookups and connections.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Sequence
from typing import Any

import dns.name
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import wrapClientTLS
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.ssl import PrivateCertificate
from zope.interface import implementer

from txdane.adapters import ValidatedAddresses
from txdane.dane.decision import ConnectionPlan, Policy, TLSAResult
from txdane.dane.matching import DANEResult
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tls import DANEClientTLSOptions
from txdane.endpoints._plumbing import GateFactory, HandshakeGate
from txdane.endpoints.dane import _AddressesEndpoint, _discard, _expandedName, tlsaResult
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.negotiator import StartTLSError, negotiatorFor
from txdane.endpoints.srvplan import (
    RandomSource,
    Service,
    ServicePlan,
    ServiceTarget,
    lookupNames,
    needsTLSA,
    planService,
    planTarget,
    serviceByName,
)
from txdane.errors import TxdaneError
from txdane.status import Status
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["SRVConnectError", "SRVEndpoint"]


class SRVConnectError(TxdaneError):
    """
    Every target of the service failed; each one's error is kept.

    @ivar domain: the service domain.
    @ivar service: the service name.
    @ivar attempts: each target tried, in order, with the exception it failed with.
    """

    def __init__(
        self, domain: str, service: str, attempts: Sequence[tuple[ServiceTarget, BaseException]]
    ) -> None:
        super().__init__(domain, service, tuple(attempts))
        self.domain = domain
        self.service = service
        self.attempts = tuple(attempts)

    def __str__(self) -> str:
        tried = "; ".join(f"{target}: {_describe(error)}" for target, error in self.attempts)
        return f"{self.domain} {self.service}: every target failed: {tried}"


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, TxdaneError) else f"{type(error).__name__}: {text}"


class _NegotiatorFactory(GateFactory):
    """
    Builds, around the application's protocol, the negotiator that does STARTTLS first.
    """

    def __init__(
        self,
        factory: IProtocolFactory,
        ready: Deferred[IProtocol],
        negotiator: Callable[..., HandshakeGate],
        arguments: tuple[Any, ...],
    ) -> None:
        super().__init__(factory, ready)
        self._negotiator = negotiator
        self._arguments = arguments

    def buildProtocol(self, addr: Any) -> HandshakeGate | None:
        wrapped = self.factory.buildProtocol(addr)
        if wrapped is None:
            return None
        self.gate = self._negotiator(wrapped, self.ready, *self._arguments)
        self.gate.factory = self
        return self.gate


@implementer(IStreamClientEndpoint)
class SRVEndpoint:
    """
    A client endpoint for a service found by SRV records, its targets authenticated by DANE.

    C{connect()} looks up the SRV records (for C{xmpp-client}, those of C{_xmpps-client._tcp}
    too) and tries the targets in RFC 2782 order. For each: its addresses are validated; the
    TLSA records at C{_PORT._tcp.TARGET} are looked up when the SRV records and the addresses
    are secure; TLS starts from the first byte or after the protocol's STARTTLS, as the
    service says; and the server is verified inside the handshake, by DANE, or by PKIX
    against the service domain when DANE does not apply. A target that fails in any way is
    followed by the next. C{connect()} fires with the application's protocol once a
    handshake has passed, and fails with L{SRVConnectError} listing each target's error when
    all failed, or at once, dialling nothing, with
    L{SRVLookupError<txdane.endpoints.srvplan.SRVLookupError>} (bogus or failed SRV lookup)
    or L{ServiceNotOfferedError<txdane.endpoints.srvplan.ServiceNotOfferedError>}.

    SNI: the service domain for XMPP (XEP-0368), the target under DANE for the other
    services (RFC 7673), the service domain without DANE.

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param service: the service, by name (C{xmpp-client}) or as a
        L{Service<txdane.endpoints.srvplan.Service>}.
    @param domain: the service domain (for XMPP, the JID's domain).
    @param policy: L{Policy.DEFAULT}, or L{Policy.DANE_ONLY} to refuse targets DANE cannot
        authenticate.
    @param clientCertificate: a client certificate, sent when the server asks.
    @param trustRoots: PKIX roots for the PKIX usages and for targets without DANE (default:
        the system's).
    @param timeout: seconds per TCP connection attempt, and for the STARTTLS and TLS
        handshake of a target after it connected.
    @param bindAddress: the local C{(host, port)} to bind to.
    @param attemptDelay: seconds between Happy Eyeballs attempts.
    @param observer: called with the L{DANEResult} of each handshake verified by DANE.
    @param random: the random source for the SRV weights (default: the system's).
    """

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        service: str | Service,
        domain: str,
        *,
        policy: Policy = Policy.DEFAULT,
        clientCertificate: PrivateCertificate | None = None,
        trustRoots: PKIXTrust | None = None,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
        attemptDelay: float | None = None,
        observer: Callable[[DANEResult], object] | None = None,
        random: RandomSource | None = None,
    ) -> None:
        self._reactor = reactor
        self.resolver = resolver
        self.service = serviceByName(service) if isinstance(service, str) else service
        self.domain = dns.name.from_text(domain).to_text(omit_final_dot=True)
        self.policy = policy
        self.clientCertificate = clientCertificate
        self.trustRoots = trustRoots
        self.timeout = timeout
        self.bindAddress = bindAddress
        self.attemptDelay = attemptDelay
        self.observer = observer
        self.random: RandomSource = random or _random.SystemRandom()
        #: The target of the last successful connection.
        self.connectedTarget: ServiceTarget | None = None

    async def plan(self) -> ServicePlan:
        """
        Look up the SRV records (in parallel where XMPP merges two sets) and order the
        targets.

        @raise SRVLookupError: a lookup was bogus, indeterminate or failed.
        @raise ServiceNotOfferedError: the domain does not offer the service.
        """
        names = lookupNames(self.service, dns.name.from_text(self.domain))
        pending = {name: self.resolver.lookupSRV(name) for name in names}
        outcomes: dict[dns.name.Name, Answer | BaseException] = {}
        try:
            for name, lookup in pending.items():
                try:
                    outcomes[name] = await lookup
                except CancelledError:
                    raise
                except Exception as e:
                    outcomes[name] = e
        except BaseException:
            for name, lookup in pending.items():
                if name not in outcomes:
                    _discard(lookup)
            raise
        return planService(self.service, self.domain, outcomes, self.random)

    async def planFor(
        self, target: ServiceTarget
    ) -> tuple[ValidatedAddresses, ConnectionPlan, DNSSECEndpoint]:
        """
        The lookups for one target: its validated addresses and how to authenticate it.

        @raise DANEPolicyError: the TLSA lookup forbids connecting to this target.
        @raise AddressLookupError: the addresses cannot be used.
        """
        tcp = DNSSECEndpoint(
            self._reactor,
            self.resolver,
            target.host,
            target.port,
            allowInsecure=True,
            timeout=self.timeout,
            bindAddress=self.bindAddress,
            attemptDelay=self.attemptDelay,
        )
        addresses = await tcp.resolveAddresses()
        tlsa: TLSAResult | BaseException | None = None
        if needsTLSA(target, addresses.status is Status.SECURE):
            tlsa = await self._lookupTLSA(target, addresses)
        plan = planTarget(target, self.domain, tlsa, self.policy, trust=self.trustRoots)
        return addresses, plan, tcp

    async def _lookupTLSA(
        self, target: ServiceTarget, addresses: ValidatedAddresses
    ) -> TLSAResult | BaseException:
        """
        The TLSA records of the target, at its securely CNAME-expanded name first if it has
        any there, else at its own name (RFC 7671 section 7); a failed lookup is returned as
        its exception, never as "no TLSA".
        """
        original = dns.name.from_text(target.host)
        expanded = _expandedName(addresses, original)
        names = [expanded, original] if expanded != original else [original]
        for name in names:
            try:
                answer = await self.resolver.lookupTLSA(name, target.port, "tcp")
            except CancelledError:
                raise
            except Exception as e:
                return e
            last = name is names[-1]
            if last or answer.status in (Status.BOGUS, Status.INDETERMINATE) or answer.exists:
                return tlsaResult(answer, name)
        raise AssertionError("unreachable")  # pragma: no cover

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        return Deferred.fromCoroutine(self._connect(protocolFactory))

    async def _connect(self, protocolFactory: IProtocolFactory) -> IProtocol:
        servicePlan = await self.plan()
        attempts: list[tuple[ServiceTarget, BaseException]] = []
        for target in servicePlan.targets:
            try:
                protocol = await self._connectTarget(target, protocolFactory)
            except CancelledError:
                raise
            except Exception as e:
                attempts.append((target, e))
                continue
            self.connectedTarget = target
            return protocol
        raise SRVConnectError(self.domain, self.service.name, attempts)

    def creatorFor(self, plan: ConnectionPlan, target: ServiceTarget) -> DANEClientTLSOptions:
        """
        The TLS connection creator for one target: the plan's checks, and the service's ALPN
        protocols on a direct TLS connection.
        """
        direct = target.service.starttls is None
        alpn = target.service.alpn if direct and target.service.alpn else None
        return DANEClientTLSOptions(plan, self.clientCertificate, alpn, observer=self.observer)

    async def _connectTarget(
        self, target: ServiceTarget, protocolFactory: IProtocolFactory
    ) -> IProtocol:
        addresses, plan, tcp = await self.planFor(target)
        creator: IOpenSSLClientConnectionCreator = self.creatorFor(plan, target)
        gate: list[HandshakeGate | None] = [None]
        ready: Deferred[IProtocol] = Deferred(lambda d: _abortGate(gate[0]))
        if target.service.starttls is None:
            factory: GateFactory = GateFactory(protocolFactory, ready)
            connecting = wrapClientTLS(creator, _AddressesEndpoint(tcp, addresses)).connect(factory)
        else:
            try:
                negotiator = negotiatorFor(target.service.starttls)
            except KeyError:
                raise StartTLSError(
                    target.host,
                    target.port,
                    target.service.starttls,
                    "STARTTLS for this protocol is not supported",
                ) from None
            factory = _NegotiatorFactory(
                protocolFactory,
                ready,
                negotiator,
                (creator, target.host, target.port, self.domain, target.service.name),
            )
            connecting = tcp.connectTo(addresses, factory)
        await connecting
        gate[0] = factory.gate

        def timedOut() -> None:
            if not ready.called:
                starttls = target.service.starttls
                how = f"STARTTLS ({starttls}) and " if starttls else ""
                ready.errback(
                    TimeoutError(f"{how}TLS handshake not done within {self.timeout:g} seconds")
                )
            _abortGate(factory.gate)

        timer = self._reactor.callLater(self.timeout, timedOut)
        try:
            return await ready
        finally:
            if timer.active():
                timer.cancel()


def _abortGate(gate: HandshakeGate | None) -> None:
    if gate is not None and gate.transport is not None:
        gate.transport.abortConnection()  # type: ignore[attr-defined]

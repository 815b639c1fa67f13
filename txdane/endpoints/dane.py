"""
L{DANEEndpoint}: TLS to validated addresses, the server authenticated by its DNSSEC-signed
TLSA records (or by PKIX where the zone publishes none).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.name
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.adapters import ValidatedAddresses
from txdane.dane.decision import ConnectionPlan, TLSAResult, planConnection, planWithoutTLSA
from txdane.dane.tls import DANEClientTLSOptions
from txdane.dane.tlsa import TLSARecord
from txdane.endpoints._plumbing import GateFactory
from txdane.endpoints.connector import retrying
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.negotiator import Negotiator, NegotiatorFactory
from txdane.endpoints.options import DANEOptions
from txdane.endpoints.upgrade import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    ConnectionInfo,
    StartTLSFactory,
    connected,
)
from txdane.errors import HandshakeTimeoutError
from txdane.status import Status
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver


def tlsaResult(answer: Answer, baseDomain: dns.name.Name) -> TLSAResult:
    """
    The DANE layer's view of a validated TLSA answer.
    """
    records = tuple(TLSARecord.fromRdata(r) for r in answer.records)  # type: ignore[arg-type]
    return TLSAResult(answer.status, records, baseDomain, answer.reason, answer.ede)


def _expandedName(addresses: ValidatedAddresses, host: dns.name.Name) -> dns.name.Name:
    """
    The host name after CNAME expansion, when every hop of the expansion is secure (RFC 7671
    section 7); the name itself otherwise.
    """
    for answer in addresses.answers:
        if answer.chain and all(link.status is Status.SECURE for link in answer.chain):
            if answer.status is Status.SECURE:
                return answer.canonicalName
    return host


@implementer(IStreamClientEndpoint)
class DANEEndpoint:
    """
    A TLS client endpoint that authenticates the server by DANE.

    It looks up the A, AAAA and TLSA records in parallel through the validating resolver,
    decides with L{planConnection}: DANE when the TLSA records are secure and usable, ordinary
    PKIX verification (like Twisted's C{tls:} endpoint) when they are proven absent or the
    zone is unsigned, and refusal for a bogus, failed or timed-out lookup. It then connects
    to the validated addresses only (Happy Eyeballs, through Twisted's C{HostnameEndpoint})
    and runs the TLS handshake with L{DANEClientTLSOptions}, which checks the certificates
    inside the handshake.

    C{connect()} fires only when the handshake has completed and passed verification; the
    application's protocol sees nothing before that. Otherwise it fails with the reason:
    L{DANEPolicyError<txdane.errors.DANEPolicyError>} (the TLSA lookup forbids the
    connection), L{DANEVerificationError<txdane.errors.DANEVerificationError>} (no record
    matched the server's certificates), L{AddressValidationError
    <txdane.adapters.AddressValidationError>} (bogus or failed address lookup), or the
    connection or TLS error. Cancelling the Deferred stops whatever stage is in progress.

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param host: the server's host name.
    @param port: the TCP port.
    @param options: how to authenticate the server (the defaults when omitted).
    @param timeout: seconds per TCP connection attempt.
    @param handshakeTimeout: seconds the TLS handshake may take once it starts (when the TCP
        connection is made, or with C{starttls} when the protocol calls C{startTLS}); past
        it the connection is aborted with L{HandshakeTimeoutError
        <txdane.errors.HandshakeTimeoutError>}.
    @param bindAddress: the local C{(host, port)} to bind to.
    @param attemptDelay: seconds between Happy Eyeballs attempts (Twisted's default if
        omitted).
    @param optionFields: fields of L{DANEOptions} to set, as a shorthand for C{options}
        (they replace those of C{options} when both are given).
    @raise TypeError: for a keyword that is neither a parameter nor a field of
        L{DANEOptions}.

    @ivar options: the L{DANEOptions} in force.
    """

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        host: str,
        port: int,
        *,
        options: DANEOptions | None = None,
        timeout: float = 30,
        handshakeTimeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        bindAddress: tuple[str, int] | None = None,
        attemptDelay: float | None = None,
        **optionFields: Any,
    ) -> None:
        self._reactor = reactor
        self.handshakeTimeout = handshakeTimeout
        self.resolver = resolver
        self.host = host
        self.port = port
        self.options = DANEOptions.given(options, optionFields)
        # Addresses from unsigned zones are dialled (the certificate check still applies,
        # by DANE or by PKIX); bogus ones never are.
        self._tcp = DNSSECEndpoint(
            reactor,
            resolver,
            host,
            port,
            allowInsecure=True,
            timeout=timeout,
            bindAddress=bindAddress,
            attemptDelay=attemptDelay,
        )

    async def plan(
        self, *, withoutTLSA: str | None = None
    ) -> tuple[ValidatedAddresses, ConnectionPlan]:
        """
        Do the lookups and decide: the validated addresses and the connection plan.

        The address and TLSA lookups run in parallel, but the decision starts from the
        addresses: when they are insecure, the TLSA records are not used at all, nor is a
        failure of their lookup (RFC 7672 section 2.2.2, RFC 7673 section 3.2), so an
        unsigned domain whose servers mishandle TLSA queries is treated exactly as one
        without TLSA records. The exception is a host name that is a secure CNAME into an
        unsigned zone: the TLSA records at the original (signed) name still count.

        When the host name is a securely CNAME-expanded alias, the TLSA records of the
        final target are used if it has any, else those of the original name (RFC 7671
        section 7); C{tlsaHost} overrides the base domain, skips the expansion and is
        consulted whatever the addresses' status. A failed TLSA lookup is never read as
        "no TLSA".

        @param withoutTLSA: for a host whose TLSA records must not be consulted at all (the
            target of insecure SRV records, RFC 7673 section 3.1): why, in words. No TLSA
            lookup is made, and the plan is that of a host without TLSA records.
        @raise DANEPolicyError: the TLSA outcome forbids connecting.
        @raise AddressValidationError: the addresses cannot be used.
        """
        options = self.options
        if withoutTLSA is not None:
            plan = planWithoutTLSA(
                self.host, self.port, withoutTLSA, options.policy, trust=options.trustRoots
            )
            return await self._tcp.resolveAddresses(), plan
        original = dns.name.from_text(options.tlsaHost or self.host)
        atOriginal: Deferred[Answer] = self.resolver.lookupTLSA(original, self.port, options.proto)
        try:
            addresses = await self._tcp.resolveAddresses()
            result: TLSAResult | BaseException | None = None
            if options.tlsaHost is None and addresses.status is not Status.SECURE:
                if not _secureAlias(addresses, original):
                    _discard(atOriginal)
                    why = (
                        f"the addresses of {self.host} are {addresses.status}: "
                        "its TLSA records are not consulted"
                    )
                    plan = planWithoutTLSA(
                        self.host, self.port, why, options.policy, trust=options.trustRoots
                    )
                    return addresses, plan
                expanded = original
            else:
                expanded = original if options.tlsaHost else _expandedName(addresses, original)
            if expanded != original:
                try:
                    atTarget = await self.resolver.lookupTLSA(expanded, self.port, options.proto)
                except CancelledError:
                    raise
                except Exception as e:
                    result = e
                else:
                    if atTarget.status in (Status.BOGUS, Status.INDETERMINATE) or (
                        atTarget.status is Status.SECURE and atTarget.exists
                    ):
                        result = tlsaResult(atTarget, expanded)
        except BaseException:
            _discard(atOriginal)
            raise
        if result is None:
            try:
                result = tlsaResult(await atOriginal, original)
            except CancelledError:
                raise
            except Exception as e:
                result = e
        else:
            _discard(atOriginal)
        plan = planConnection(
            result,
            self.host,
            self.port,
            options.policy,
            extraNames=tuple(options.extraNames),
            checkDANEEENames=options.checkDANEEENames,
            trust=options.trustRoots,
        )
        return addresses, plan

    def creatorFor(self, plan: ConnectionPlan) -> DANEClientTLSOptions:
        """
        The TLS connection creator that enforces C{plan} with this endpoint's options (client
        certificate, ALPN, observer).

        @param plan: a plan from L{plan}.
        """
        options = self.options
        return DANEClientTLSOptions(
            plan, options.clientCertificate, options.acceptableProtocols, observer=options.observer
        )

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        return Deferred.fromCoroutine(self._connect(protocolFactory))

    async def _connect(self, protocolFactory: IProtocolFactory) -> IProtocol:
        if self.options.starttls is not None:
            # A ClientFactory hears of the connection's loss, as with connectTCP.
            return await retrying(
                self._reactor,
                protocolFactory,
                lambda onLost: Deferred.fromCoroutine(self._connectOnce(protocolFactory, onLost)),
            )
        return await self._connectOnce(protocolFactory, None)

    async def _connectOnce(
        self, protocolFactory: IProtocolFactory, onLost: Callable[[Failure], object] | None
    ) -> IProtocol:
        addresses, plan = await self.plan()
        return await self.connectWithPlan(addresses, plan, protocolFactory, onLost=onLost)

    async def connectWithPlan(
        self,
        addresses: ValidatedAddresses,
        plan: ConnectionPlan,
        protocolFactory: IProtocolFactory,
        *,
        nameSecure: bool = True,
        domain: str | None = None,
        onLost: Callable[[Failure], object] | None = None,
        negotiator: Negotiator | None = None,
        handshakeTimeout: float | None = None,
    ) -> IProtocol:
        """
        Connect to C{addresses} as C{plan} (from L{plan}) says: what C{connect()} does after
        its lookups, for planners (MX, SRV) that look up first and decide which host to use.

        The protocol's transport provides L{IDANEConnection
        <txdane.endpoints.upgrade.IDANEConnection>}: where the connection went and how well
        it is protected.

        @param nameSecure: whether the host name came from validated data (C{False} for the
            hosts of an insecure MX RRset).
        @param domain: the domain the host serves (the next-hop domain of an MX host).
        @param onLost: called with the reason when the connection is lost after C{connect()}
            fired (with C{starttls}, once connected; otherwise once TLS was verified).
        @param negotiator: instead of TLS from the first byte, the endpoint's own STARTTLS
            (a L{NEGOTIATORS<txdane.endpoints.negotiator.NEGOTIATORS>} value, for SRV
            targets): C{connect()} still fires only once the upgraded connection passed
            verification. C{domain} is the domain the negotiator names to the server.
        @param handshakeTimeout: seconds for the STARTTLS and TLS handshake once connected,
            after which the connection is aborted with L{HandshakeTimeoutError
            <txdane.errors.HandshakeTimeoutError>} (default: the endpoint's
            C{handshakeTimeout}).
        """
        deadline = self.handshakeTimeout if handshakeTimeout is None else handshakeTimeout
        creator = self.creatorFor(plan)
        starttls = self.options.starttls
        info = ConnectionInfo(self.host, self.port, plan, nameSecure, domain)
        if starttls is not None:
            upgrade = StartTLSFactory(
                protocolFactory,
                creator,
                info,
                starttls,
                onLost,
                clock=self._reactor,
                handshakeTimeout=deadline,
            )
            await self._tcp.connectTo(addresses, upgrade)
            assert upgrade.connection is not None
            return upgrade.connection.wrapped
        ready: Deferred[IProtocol] = Deferred(lambda d: _abort(factory.gate))
        factory: GateFactory
        if negotiator is not None:
            factory = NegotiatorFactory(
                protocolFactory,
                ready,
                negotiator,
                creator,
                self.host,
                self.port,
                domain or "",
                onLost,
            )
            await self._tcp.connectTo(addresses, factory)
        else:
            factory = GateFactory(protocolFactory, ready, onLost)
            # As wrapClientTLS does, but TLS writes are scheduled on this endpoint's reactor.
            tls = TLSMemoryBIOFactory(creator, True, factory, clock=self._reactor)
            await _AddressesEndpoint(self._tcp, addresses).connect(tls)
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            if not ready.called:
                ready.errback(HandshakeTimeoutError(self.host, self.port, deadline))
            _abort(factory.gate)

        timer = self._reactor.callLater(deadline, expire)
        try:
            protocol = await ready
        except Exception as e:
            if expired and not isinstance(e, HandshakeTimeoutError):
                raise HandshakeTimeoutError(self.host, self.port, deadline) from e
            raise
        finally:
            if timer.active():
                timer.cancel()
        info.tls = True
        connected(protocol.transport, info)  # type: ignore[attr-defined]
        return protocol


def _secureAlias(addresses: ValidatedAddresses, host: dns.name.Name) -> bool:
    """
    Whether C{host} is a CNAME proven by DNSSEC (whatever the status of what it points to):
    the TLSA records at C{host} then live in a signed zone and may be secure even when the
    target's addresses are not.
    """
    for answer in addresses.answers:
        if answer.chain:
            first = answer.chain[0]
            if first.rrset.name == host and first.status is Status.SECURE:
                return True
    return False


def _discard(d: Deferred[Any]) -> None:
    """
    Stop a lookup whose result is no longer needed, ignoring its outcome.
    """
    d.addErrback(lambda _: None)
    d.cancel()


def _abort(gate: Any) -> None:
    if gate is not None and gate.transport is not None:
        gate.transport.abortConnection()


@implementer(IStreamClientEndpoint)
class _AddressesEndpoint:
    """
    The TCP stage of a L{DANEEndpoint}: connects to addresses already validated.
    """

    def __init__(self, tcp: DNSSECEndpoint, addresses: ValidatedAddresses) -> None:
        self._tcp = tcp
        self._addresses = addresses

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        return self._tcp.connectTo(self._addresses, protocolFactory)

"""
L{DANEEndpoint}: TLS to validated addresses, the server authenticated by its DNSSEC-signed
TLSA records (or by PKIX where the zone publishes none).
"""

from __future__ import annotations

from typing import Any

import dns.name
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import implementer

from txdane.adapters import ValidatedAddresses
from txdane.dane.decision import ConnectionPlan, TLSAResult, planConnection
from txdane.dane.tls import DANEClientTLSOptions
from txdane.dane.tlsa import TLSARecord
from txdane.endpoints._plumbing import GateFactory
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.options import DANEOptions
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
        bindAddress: tuple[str, int] | None = None,
        attemptDelay: float | None = None,
        **optionFields: Any,
    ) -> None:
        self._reactor = reactor
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

    async def plan(self) -> tuple[ValidatedAddresses, ConnectionPlan]:
        """
        Do the lookups and decide: the validated addresses and the connection plan.

        The address and TLSA lookups run in parallel. When the host name is a securely
        CNAME-expanded alias, the TLSA records of the final target are used if it has any,
        else those of the original name (RFC 7671 section 7); C{tlsaHost} overrides the base
        domain and skips the expansion. A failed TLSA lookup is never read as "no TLSA".

        @raise DANEPolicyError: the TLSA outcome forbids connecting.
        @raise AddressValidationError: the addresses cannot be used.
        """
        options = self.options
        original = dns.name.from_text(options.tlsaHost or self.host)
        atOriginal: Deferred[Answer] = self.resolver.lookupTLSA(original, self.port, options.proto)
        try:
            addresses = await self._tcp.resolveAddresses()
            result: TLSAResult | BaseException | None = None
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
        addresses, plan = await self.plan()
        creator = self.creatorFor(plan)
        ready: Deferred[IProtocol] = Deferred(lambda d: _abort(gate))
        factory = GateFactory(protocolFactory, ready)
        # As wrapClientTLS does, but TLS writes are scheduled on this endpoint's reactor.
        tls = TLSMemoryBIOFactory(creator, True, factory, clock=self._reactor)
        await _AddressesEndpoint(self._tcp, addresses).connect(tls)
        gate = factory.gate
        return await ready


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

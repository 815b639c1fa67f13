"""
L{DANEEndpoint}: TLS to validated addresses, from the first byte or after the protocol's
STARTTLS, the server authenticated by its DNSSEC-signed TLSA records (or by PKIX where the
zone publishes none); L{creatorForStartTLS} for a protocol the application upgrades itself.

Tests: C{tests/endpoints/test_dane.py}, C{tests/endpoints/test_memory.py}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.name
from OpenSSL import SSL
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectionAborted, ConnectionClosed
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.adapters import ValidatedAddresses
from txdane.dane.decision import (
    Action,
    ConnectionPlan,
    TLSAResult,
    planConnection,
    planWithoutTLSA,
)
from txdane.dane.errors import PKIXVerificationError
from txdane.dane.tls import DANEClientTLSOptions
from txdane.dane.tlsa import TLSARecord
from txdane.endpoints._arguments import (
    checkedHost,
    checkedInstance,
    checkedPort,
    checkedResolver,
    checkedSeconds,
)
from txdane.endpoints._plumbing import (
    GateFactory,
    KeptTLSFactory,
    abortGate,
    beforeDeadline,
    discardLookup,
    logFailure,
)
from txdane.endpoints.connection import ConnectionInfo, connected
from txdane.endpoints.connector import retrying
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.errors import StartTLSError, TLSHandshakeError
from txdane.endpoints.options import DEFAULT_HANDSHAKE_TIMEOUT, DANEOptions
from txdane.endpoints.starttls import NegotiatorFactory, negotiatorFor
from txdane.errors import HandshakeTimeoutError
from txdane.names import isAddress, nameFromText
from txdane.status import Status
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["DANEEndpoint", "creatorForStartTLS", "handshakeRefusal", "pkixRefusal", "tlsaResult"]


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

    With C{starttls} (a field of L{DANEOptions}), the endpoint connects in cleartext and
    negotiates the protocol's STARTTLS itself first (L{txdane.endpoints.starttls}).

    C{connect()} fires only when the handshake has completed and passed verification; the
    application's protocol sees nothing before that (the one exception: SMTP's
    opportunistic policy accepts a server that does not offer STARTTLS, in cleartext).
    Otherwise it fails with the reason:
    L{DANEPolicyError<txdane.dane.errors.DANEPolicyError>} (the TLSA lookup forbids the
    connection), L{DANEVerificationError<txdane.dane.errors.DANEVerificationError>} (no record
    matched the server's certificates), L{PKIXVerificationError
    <txdane.dane.errors.PKIXVerificationError>} (no DANE, and the PKIX check failed),
    L{AddressValidationError<txdane.adapters.AddressValidationError>} (bogus or failed address
    lookup), L{TLSHandshakeError<txdane.endpoints.errors.TLSHandshakeError>} (the handshake
    broke down: the server closed the connection, or does not speak TLS), L{HandshakeTimeoutError
    <txdane.errors.HandshakeTimeoutError>}, a L{StartTLSError
    <txdane.endpoints.errors.StartTLSError>} with C{starttls}, or the error of a TCP connection
    that could not be made (Twisted's C{ConnectError}s). Cancelling the Deferred stops
    whatever stage is in progress.

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param host: the server's host name.
    @param port: the TCP port.
    @param options: how to authenticate the server (the defaults when omitted).
    @param timeout: seconds per TCP connection attempt.
    @param handshakeTimeout: seconds from the TCP connection to a verified TLS session (the
        STARTTLS prelude included); past it the connection is aborted with
        L{HandshakeTimeoutError<txdane.errors.HandshakeTimeoutError>}.
    @param bindAddress: the local C{(host, port)} to bind to.
    @param attemptDelay: seconds between Happy Eyeballs attempts (Twisted's default if
        omitted).
    @param optionFields: fields of L{DANEOptions} to set, as a shorthand for C{options}
        (they replace those of C{options} when both are given).
    @raise TypeError: for a keyword that is neither a parameter nor a field of
        L{DANEOptions}, or a value of the wrong type (a port given as a string, a resolver's
        settings instead of the resolver).
    @raise ValueError: for a value that cannot be used: a port out of range, a host that is
        neither a name nor an address, a timeout that is not a positive number of seconds,
        a field of L{DANEOptions} it refuses.

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
        self.handshakeTimeout = checkedSeconds(handshakeTimeout, "handshakeTimeout")
        self.resolver = checkedResolver(resolver)
        self.host = checkedHost(host)
        self.port = checkedPort(port)
        if options is not None:
            checkedInstance(options, "options", DANEOptions)
        self.options = DANEOptions.given(options, optionFields)
        if self.options.heloName is not None and self.options.starttls is None:
            raise ValueError(
                "heloName is the greeting of starttls=smtp or lmtp: without STARTTLS the "
                "endpoint greets no one"
            )
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

    def __repr__(self) -> str:
        options = self.options
        mode = f" starttls={options.starttls}" if options.starttls else ""
        return f"<DANEEndpoint {self.host}:{self.port}{mode} policy={options.policy.value}>"

    async def plan(
        self, *, withoutTLSA: str | None = None, proto: str | None = None
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
        @param proto: plan with the TLSA records of another transport protocol label than
            the endpoint's own (C{_PORT._udp.HOST}): what a client of the service over that
            transport would decide. The endpoint connects over TCP only, so such a plan is
            for reports (C{txdane tlsa --proto udp}), not for L{connectWithPlan}.
        @raise DANEPolicyError: the TLSA outcome forbids connecting.
        @raise AddressValidationError: the addresses cannot be used.
        """
        if withoutTLSA is None and self.options.tlsaHost is None and isAddress(self.host):
            # No TLSA lookup at _PORT._tcp.ADDRESS.: it would tell DNS the address, and make
            # a connection that needs no DNS fail whenever DNS does.
            withoutTLSA = "an IP address has no TLSA records"
        if withoutTLSA is not None:
            return await self._tcp.resolveAddresses(), self._withoutTLSA(withoutTLSA)
        options = self.options
        proto = options.proto if proto is None else proto
        original = nameFromText(options.tlsaHost or self.host)
        atOriginal = self.resolver.lookupTLSA(original, self.port, proto)
        try:
            addresses = await self._tcp.resolveAddresses()
            base = self._tlsaBase(addresses, original)
            if base is None:
                discardLookup(atOriginal)
                why = (
                    f"the addresses of {self.host} are {addresses.status}: "
                    "its TLSA records are not consulted"
                )
                return addresses, self._withoutTLSA(why)
            result = None if base == original else await self._atTarget(base, proto)
        except BaseException:
            discardLookup(atOriginal)
            raise
        if result is None:
            result, base = await _outcome(atOriginal, original), original
        else:
            discardLookup(atOriginal)
        plan = planConnection(
            result,
            self.host,
            self.port,
            options.policy,
            extraNames=tuple(options.extraNames),
            checkDANEEENames=options.checkDANEEENames,
            trust=options.trustRoots,
            baseDomain=base,
            proto=proto,
        )
        return addresses, plan

    def _withoutTLSA(self, why: str) -> ConnectionPlan:
        options = self.options
        return planWithoutTLSA(self.host, self.port, why, options.policy, trust=options.trustRoots)

    def _tlsaBase(
        self, addresses: ValidatedAddresses, original: dns.name.Name
    ) -> dns.name.Name | None:
        """
        Where the TLSA records to use live: C{tlsaHost} as given; the CNAME-expanded name
        when the expansion is secure; C{None} when the addresses are insecure (and the
        host is not a secure alias), so that TLSA records are not consulted.
        """
        if self.options.tlsaHost is not None:
            return original
        if addresses.status is not Status.SECURE:
            return original if _secureAlias(addresses, original) else None
        return _expandedName(addresses, original)

    async def _atTarget(
        self, expanded: dns.name.Name, proto: str
    ) -> TLSAResult | BaseException | None:
        """
        The outcome at a secure alias's target when it decides (a failure, a bogus or
        indeterminate answer, or secure records); C{None} to use the original name's.
        """
        outcome = await _outcome(self.resolver.lookupTLSA(expanded, self.port, proto), expanded)
        if isinstance(outcome, BaseException):
            return outcome
        if outcome.status in (Status.BOGUS, Status.INDETERMINATE) or (
            outcome.status is Status.SECURE and outcome.records
        ):
            return outcome
        return None

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
        """
        Connect as the class docstring says; a failure is also logged, once, with its reason
        (L{logFailure<txdane.endpoints._plumbing.logFailure>}).
        """
        if self.options.starttls is not None:
            # A ClientFactory hears of the connection's loss, as with connectTCP.
            return logFailure(
                self,
                retrying(
                    self._reactor,
                    protocolFactory,
                    lambda onLost: Deferred.fromCoroutine(
                        self._connectOnce(protocolFactory, onLost)
                    ),
                ),
            )
        return logFailure(self, Deferred.fromCoroutine(self._connectOnce(protocolFactory, None)))

    async def _connectOnce(
        self, protocolFactory: IProtocolFactory, onLost: Callable[[Failure], object] | None
    ) -> IProtocol:
        addresses, plan = await self.plan()
        try:
            return await self.connectWithPlan(addresses, plan, protocolFactory, onLost=onLost)
        except Exception as e:
            refusal = self.handshakeRefusal(plan, e)
            if refusal is None:
                raise
            raise refusal from e

    def handshakeRefusal(
        self, plan: ConnectionPlan, error: BaseException
    ) -> TLSHandshakeError | None:
        """
        The L{TLSHandshakeError} to report for C{error}, an error of L{connectWithPlan}
        under C{plan}, when it is a direct TLS handshake that broke down: the connection
        ended, or OpenSSL gave up, before a verified session. C{None} for any other error
        (a verification that failed, a deadline, a connection never made), and with
        C{starttls}, whose negotiator reports these itself (L{StartTLSError}).
        """
        if self.options.starttls is not None:
            return None
        return handshakeRefusal(plan, error)

    async def connectWithPlan(
        self,
        addresses: ValidatedAddresses,
        plan: ConnectionPlan,
        protocolFactory: IProtocolFactory,
        *,
        info: ConnectionInfo | None = None,
        onLost: Callable[[Failure], object] | None = None,
    ) -> IProtocol:
        """
        Connect to C{addresses} as C{plan} (from L{plan}) says: what C{connect()} does after
        its lookups, for planners (MX, SRV) that look up first and decide which host to use.

        TLS starts at once, or after the STARTTLS of the endpoint's C{starttls} protocol,
        which the endpoint negotiates itself (L{txdane.endpoints.starttls}). The
        application's protocol is connected once the handshake passed verification, its
        transport providing L{IDANEConnection
        <txdane.endpoints.connection.IDANEConnection>}: where the connection went and how
        well it is protected.

        A direct TLS handshake that broke down fails with the error the connection ended
        with (Twisted's C{ConnectionLost}, OpenSSL's C{SSL.Error}), for callers that look
        into it (the command line's C{check}); C{connect()} and the planners report it as
        the L{TLSHandshakeError<txdane.endpoints.errors.TLSHandshakeError>} of
        L{handshakeRefusal}.

        @param info: the connection's L{ConnectionInfo} to fill in (its address once the TCP
            connection is made, whether TLS passed), for a planner that knows more of the
            host (whether its name is secure, the domain it serves, which XMPP's stream
            names); by default, one for this endpoint's host.
        @param onLost: called with the reason when the connection is lost after C{connect()}
            fired.
        """
        options = self.options
        creator = self.creatorFor(plan)
        if info is None:
            info = ConnectionInfo(self.host, self.port, plan, starttls=options.starttls)
        ready: Deferred[IProtocol] = Deferred(lambda d: abortGate(factory.gate))
        factory: GateFactory
        if options.starttls is None:
            factory = GateFactory(protocolFactory, ready, onLost)
            # As wrapClientTLS does, but TLS writes are scheduled on this endpoint's reactor.
            tcp = await self._tcp.connectTo(
                addresses, KeptTLSFactory(creator, True, factory, clock=self._reactor)
            )
        else:
            factory = NegotiatorFactory(
                protocolFactory,
                ready,
                negotiatorFor(options.starttls),
                creator,
                info,
                onLost,
                # SMTP's opportunistic TLS (RFC 7672 section 2.2): without usable TLSA
                # records, a server that offers no STARTTLS is used in cleartext.
                cleartextAllowed=plan.action is Action.UNAUTHENTICATED,
                heloName=options.heloName,
            )
            tcp = await self._tcp.connectTo(addresses, factory)
        peer = tcp.transport.getPeer()  # type: ignore[attr-defined]
        if isinstance(peer, (IPv4Address, IPv6Address)):
            info.address = peer
        local = tcp.transport.getHost()  # type: ignore[attr-defined]
        if isinstance(local, (IPv4Address, IPv6Address)):
            info.localAddress = local
        deadline = self.handshakeTimeout
        try:
            protocol = await beforeDeadline(
                self._reactor,
                ready,
                deadline,
                lambda: abortGate(factory.gate),
                lambda: HandshakeTimeoutError(self.host, self.port, deadline),
            )
        except Exception as e:
            refusal = pkixRefusal(plan, e)
            if refusal is None:
                raise
            raise refusal from refusal.__cause__
        info.tls = factory.gate is not None and factory.gate.secured
        connected(protocol.transport, info)  # type: ignore[attr-defined]
        return protocol


def pkixRefusal(plan: ConnectionPlan, error: BaseException) -> PKIXVerificationError | None:
    """
    A L{PKIXVerificationError} saying why DANE did not apply and why PKIX failed, when
    C{error} is the certificate check of a PKIX plan failing (OpenSSL's verification, or
    service_identity's name check; after STARTTLS, the cause the endpoint kept); else
    C{None}.
    """
    if plan.action is not Action.PKIX:
        return None
    cause: BaseException | None = error
    if isinstance(cause, StartTLSError):
        cause = cause.__cause__
    if cause is None:
        return None
    if isinstance(cause, SSL.Error):
        text = "; ".join(str(part[2]) for part in _errorParts(cause)) or str(cause)
        if "certificate" not in text or "alert" in text:
            # An alert is the server's complaint (about the client's certificate, say), not
            # the client's check of the server's.
            return None
        why = f"the certificate chain is not valid ({text})"
    elif type(cause).__name__ == "VerificationError":  # service_identity's
        why = f"the certificate is not valid for {plan.serverName}"
    else:
        return None
    refusal = PKIXVerificationError(
        plan.host, plan.port, f"no DANE ({plan.reason}), and PKIX verification failed: {why}"
    )
    refusal.__cause__ = cause
    return refusal


def handshakeRefusal(plan: ConnectionPlan, error: BaseException) -> TLSHandshakeError | None:
    """
    A L{TLSHandshakeError} saying in words how the TLS handshake of a connection under
    C{plan} broke down, when C{error} is what the connection ended with before the handshake
    completed (Twisted's C{ConnectionLost} or C{ConnectionDone}, an OpenSSL C{SSL.Error}),
    C{error} kept as its cause; else C{None} (C{error} says what happened already).
    """
    if isinstance(error, ConnectionAborted):
        why = "the connection was aborted during the TLS handshake"
    elif isinstance(error, ConnectionClosed):
        why = "the server closed the connection during the TLS handshake"
    elif isinstance(error, SSL.Error):
        text = "; ".join(str(part[2]) for part in _errorParts(error))
        if not text and error.args and isinstance(error.args[0], str):
            text = error.args[0]
        why = f"the TLS handshake failed: {text or 'OpenSSL gave no reason'}"
    else:
        return None
    refusal = TLSHandshakeError(plan.host, plan.port, why, error)
    refusal.__cause__ = error
    return refusal


def _errorParts(error: SSL.Error) -> list[Any]:
    try:
        return [part for part in error.args[0] if len(part) > 2]
    except (IndexError, TypeError):
        return []


async def _outcome(lookup: Deferred[Answer], base: dns.name.Name) -> TLSAResult | BaseException:
    """
    The outcome of a TLSA lookup, for L{planConnection}: the result, or the exception of a
    lookup that did not complete.
    """
    try:
        return tlsaResult(await lookup, base)
    except CancelledError:
        raise
    except Exception as e:
        return e


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


def creatorForStartTLS(
    reactor: Any,
    resolver: IDNSSECResolver,
    host: str,
    port: int,
    *,
    options: DANEOptions | None = None,
    **optionFields: Any,
) -> Deferred[DANEClientTLSOptions]:
    """
    Look up the TLSA records of C{host}:C{port} and decide, as L{DANEEndpoint} does; return a
    Deferred firing with the TLS connection creator to pass to C{transport.startTLS}, for a
    protocol that does its STARTTLS itself and that the endpoints do not negotiate (see
    L{PROTOCOLS<txdane.endpoints.starttls.PROTOCOLS>}; for those, use C{starttls} instead).

    The creator checks the server's certificates inside the handshake: a refused server
    never gets application data, and the protocol's C{connectionLost} receives a
    L{DANEVerificationError<txdane.dane.errors.DANEVerificationError>}. What happens before
    C{startTLS} is the protocol's responsibility: it must not trust or act on anything the
    server said in cleartext (RFC 3207 section 4.2), must send nothing but its upgrade
    request, and must refuse to go on when C{plan.tlsRequired} and the server offers no TLS.

    Fails with L{DANEPolicyError<txdane.dane.errors.DANEPolicyError>} when the lookup forbids
    TLS to this server (bogus or failed lookup; no TLSA with C{Policy.DANE_ONLY}).

    The creator sets no deadline on the handshake: schedule one yourself when you call
    C{startTLS} (C{reactor.callLater(30, transport.abortConnection)}, cancelled when the
    handshake completes).

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param host: the server's host name.
    @param port: the TCP port.
    @param options: how to authenticate the server (the defaults when omitted).
    @param optionFields: fields of L{DANEOptions} to set, as for L{DANEEndpoint}.
    @raise ValueError: for options that set C{starttls} or C{heloName}: the protocol does
        its STARTTLS itself here, so they would be ignored.
    """
    endpoint = DANEEndpoint(reactor, resolver, host, port, options=options, **optionFields)
    if endpoint.options.starttls is not None:
        raise ValueError(
            f"starttls={endpoint.options.starttls!r}: creatorForStartTLS is for a protocol "
            "that does its STARTTLS itself; for one the endpoint negotiates, connect a "
            "DANEEndpoint with starttls"
        )

    async def plan() -> DANEClientTLSOptions:
        _, connectionPlan = await endpoint.plan()
        return endpoint.creatorFor(connectionPlan)

    return Deferred.fromCoroutine(plan())

"""
L{SRVEndpoint}: a service found by its SRV records (RFC 2782), each target authenticated by
DANE where RFC 7673 allows it, by PKIX against the service domain otherwise; XMPP's direct
TLS and STARTTLS targets merged as XEP-0368 says::

    endpoint = clientFromString(reactor, "dane:srv=xmpp-client:domain=example.com")

The rules are in L{txdane.endpoints.srvplan}; the per-target steps (addresses, TLSA, TLS or
STARTTLS) and the move to the next target are the planner's (L{txdane.endpoints.planner}), as
for C{dane:mx=}.

Tests: C{tests/endpoints/test_srv.py}, C{tests/endpoints/test_srv_prosody.py}.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dns.name
from twisted.internet.defer import CancelledError
from twisted.internet.interfaces import IProtocol, IProtocolFactory
from twisted.python.failure import Failure

from txdane.endpoints._arguments import checkedHost
from txdane.endpoints._plumbing import discardLookup
from txdane.endpoints.errors import SRVConnectError
from txdane.endpoints.options import DEFAULT_HANDSHAKE_TIMEOUT, DANEOptions
from txdane.endpoints.planner import (
    DEFAULT_MAX_HOSTS,
    Candidate,
    HostSettings,
    PlannedEndpoint,
    connectCandidate,
)
from txdane.endpoints.srvplan import (
    RandomSource,
    Service,
    ServicePlan,
    ServiceTarget,
    forService,
    lookupNames,
    planService,
    referenceNames,
    serviceByName,
    withoutTLSA,
)
from txdane.names import nameFromText
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["SRVEndpoint"]


@dataclass(frozen=True)
class _TargetCandidate(Candidate):
    """
    A candidate host of an SRV service, with the target it came from.
    """

    target: ServiceTarget | None = None


class SRVEndpoint(PlannedEndpoint):
    """
    A client endpoint for a service found by SRV records, its targets authenticated by DANE.

    C{connect()} looks up the SRV records (for C{xmpp-client}, those of C{_xmpps-client._tcp}
    too) and tries the targets in RFC 2782 order. For each, the steps of C{dane:host=}: its
    addresses are validated; its TLSA records at C{_PORT._tcp.TARGET} are consulted when the
    SRV records and the addresses are secure; TLS starts from the first byte or after the
    protocol's STARTTLS, which the endpoint does itself (L{txdane.endpoints.starttls}), as
    the service says; and the server is verified inside the handshake, by DANE, or by PKIX
    against the service domain when DANE does not apply. A target that fails in any way is
    followed by the next. C{connect()} fires with the application's protocol once a
    handshake has passed, its transport providing L{IDANEConnection
    <txdane.endpoints.connection.IDANEConnection>} (the target, the address and the
    protection). A C{ClientFactory} hears of the connection's loss through
    C{clientConnectionLost}, as with C{connectTCP} and C{dane:mx=}, with a connector whose
    C{connect()} dials the next target (twisted.words' reconnecting C{XmlStreamFactory} and
    twisted.mail's C{ESMTPSenderFactory} retry that way); when no target is left, its
    C{clientConnectionFailed} gets the L{SRVConnectError
    <txdane.endpoints.errors.SRVConnectError>}. C{connect()} fails with that error, listing
    each target's error, when all failed, or at once, dialling nothing, with
    L{SRVLookupError<txdane.endpoints.errors.SRVLookupError>} (bogus or failed SRV lookup)
    or L{ServiceNotOfferedError<txdane.endpoints.errors.ServiceNotOfferedError>}.

    SNI: the service domain for XMPP (XEP-0368), the target under DANE for the other
    services (RFC 7673), the service domain without DANE.

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param service: the service, by name (C{xmpp-client}) or as a
        L{Service<txdane.endpoints.srvplan.Service>}.
    @param domain: the service domain (for XMPP, the JID's domain).
    @param options: how to authenticate the targets (C{policy}: L{Policy.DANE_ONLY
        <txdane.dane.decision.Policy.DANE_ONLY>} refuses targets DANE cannot authenticate;
        C{clientCertificate}, C{trustRoots}, C{observer} ...). C{proto}, C{tlsaHost} and
        C{starttls} are the SRV records' to decide; ALPN defaults to the service's on a
        direct TLS connection.
    @param timeout: seconds per TCP connection attempt.
    @param handshakeTimeout: seconds for the STARTTLS and TLS handshake of a target after it
        connected; a target that outlives it is given up for the next.
    @param bindAddress: the local C{(host, port)} to bind to.
    @param attemptDelay: seconds between Happy Eyeballs attempts.
    @param random: the random source for the SRV weights (default: the system's).
    @param maxHosts: how many targets are tried at most (default 5); the others are named
        in the L{SRVConnectError<txdane.endpoints.errors.SRVConnectError>}.
    @param optionFields: fields of L{DANEOptions} to set, as a shorthand for C{options}.
    @raise ValueError: C{options} set C{tlsaHost}, C{starttls} or C{heloName}.

    @ivar srv: the L{Service<txdane.endpoints.srvplan.Service>}.
    @ivar service: what is connected to, in errors (C{"xmpp-client of example.com"}).
    @ivar connectedTarget: the target of the last successful connection.
    """

    allFailed = SRVConnectError

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        service: str | Service,
        domain: str,
        *,
        options: DANEOptions | None = None,
        timeout: float = 30,
        handshakeTimeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
        bindAddress: tuple[str, int] | None = None,
        attemptDelay: float | None = None,
        random: RandomSource | None = None,
        maxHosts: int = DEFAULT_MAX_HOSTS,
        **optionFields: Any,
    ) -> None:
        self.options = DANEOptions.given(options, optionFields)
        if self.options.tlsaHost is not None or self.options.starttls is not None:
            raise ValueError("an SRV endpoint's records decide tlsaHost and starttls")
        if self.options.heloName is not None:
            raise ValueError("heloName is for SMTP and LMTP, not for the services of SRV records")
        self.srv = serviceByName(service) if isinstance(service, str) else service
        self.domain = nameFromText(checkedHost(domain, "domain", address=False)).to_text(
            omit_final_dot=True
        )
        self.timeout = timeout
        self.random: RandomSource = random or _random.SystemRandom()
        self.connectedTarget: ServiceTarget | None = None
        super().__init__(
            reactor,
            resolver,
            self._candidates,
            f"{self.srv.name} of {self.domain}",
            settings=HostSettings(
                timeout=timeout,
                handshakeTimeout=handshakeTimeout,
                bindAddress=bindAddress,
                attemptDelay=attemptDelay,
                options=self.options,
                maxHosts=maxHosts,
            ),
        )

    async def plan(self) -> ServicePlan:
        """
        Look up the SRV records (in parallel where XMPP merges two sets) and order the
        targets.

        @raise SRVLookupError: a lookup was bogus, indeterminate or failed.
        @raise ServiceNotOfferedError: the domain does not offer the service.
        """
        names = lookupNames(self.srv, nameFromText(self.domain))
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
                    discardLookup(lookup)
            raise
        return planService(self.srv, self.domain, outcomes, self.random)

    async def _candidates(self) -> Sequence[Candidate]:
        servicePlan = await self.plan()
        return [
            _TargetCandidate(
                target.host,
                target.port,
                referenceNames(target, self.domain),
                self.options.policy,
                # Without DANE the server is checked against the service domain, which the
                # caller gave: the target's name needs no proof.
                nameSecure=True,
                domain=self.domain,
                withoutTLSA=withoutTLSA(target),
                starttls=target.service.starttls,
                unusable=target.unusable,
                target=target,
            )
            for target in servicePlan.targets
        ]

    async def connectCandidate(
        self,
        candidate: Candidate,
        protocolFactory: IProtocolFactory,
        onLost: Callable[[Failure], object],
    ) -> IProtocol:
        """
        Connect to one target: TLS from the first byte with the service's ALPN protocols,
        or after the service's STARTTLS, which the endpoint negotiates; C{connect()} fires
        once the handshake has passed, and C{onLost} is called when that connection is lost.
        """
        assert isinstance(candidate, _TargetCandidate) and candidate.target is not None
        target = candidate.target
        fields: dict[str, Any] = {}
        if target.service.starttls is not None:
            # ALPN is for direct TLS only (XEP-0368).
            fields["acceptableProtocols"] = None
        elif self.options.acceptableProtocols is None and target.service.alpn:
            fields["acceptableProtocols"] = target.service.alpn
        protocol = await connectCandidate(
            self._reactor,
            self.resolver,
            candidate,
            protocolFactory,
            settings=self.settings,
            onLost=onLost,
            adjust=lambda plan: forService(target, self.domain, plan),
            **fields,
        )
        self.connectedTarget = target
        return protocol

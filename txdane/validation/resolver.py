"""
The DNSSEC-validating stub resolver.

L{ValidatingResolver} asks a plain recursive resolver for data with the DO and CD bits set and
validates everything itself, from a trust anchor down. L{ADTrustingResolver} trusts the AD bit
of a validating resolver the user names (RFC 4035 section 4.9.3) and says so in every answer.
"""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rdatatype
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from txdane.transport import DNSQuerier
from txdane.validation.anchors import TrustAnchors
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver
from txdane.validation.limits import ValidationLimits
from txdane.validation.policy import AlgorithmPolicy


def _name(name: dns.name.Name | str) -> dns.name.Name:
    return name if isinstance(name, dns.name.Name) else dns.name.from_text(name)


def tlsaName(host: dns.name.Name | str, port: int, proto: str = "tcp") -> dns.name.Name:
    """
    The owner name of the TLSA records for a service: C{_port._proto.host} (RFC 6698 s.3).
    """
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    if not proto or "." in proto:
        raise ValueError(f"bad protocol label {proto!r}")
    return dns.name.Name([f"_{port}".encode(), f"_{proto}".encode()]).concatenate(_name(host))


class _ConvenienceLookups:
    """
    The typed lookups, written once on top of C{lookup}.
    """

    def lookup(
        self, name: dns.name.Name | str, rdtype: dns.rdatatype.RdataType | str | int
    ) -> Deferred[Answer]:
        raise NotImplementedError

    def lookupAddress(self, name: dns.name.Name | str) -> Deferred[tuple[Answer, Answer]]:
        d: Deferred[Any] = gatherResults(
            [self.lookup(name, dns.rdatatype.A), self.lookup(name, dns.rdatatype.AAAA)],
            consumeErrors=True,
        )

        def unwrapped(failure: Any) -> Any:
            return failure.value.subFailure

        d.addCallbacks(tuple, unwrapped)
        return d

    def lookupTLSA(
        self, host: dns.name.Name | str, port: int, proto: str = "tcp"
    ) -> Deferred[Answer]:
        return self.lookup(tlsaName(host, port, proto), dns.rdatatype.TLSA)

    def lookupMX(self, name: dns.name.Name | str) -> Deferred[Answer]:
        return self.lookup(name, dns.rdatatype.MX)

    def lookupSRV(self, name: dns.name.Name | str) -> Deferred[Answer]:
        return self.lookup(name, dns.rdatatype.SRV)

    def lookupSSHFP(self, name: dns.name.Name | str) -> Deferred[Answer]:
        return self.lookup(name, dns.rdatatype.SSHFP)

    def lookupDS(self, name: dns.name.Name | str) -> Deferred[Answer]:
        return self.lookup(name, dns.rdatatype.DS)

    def lookupDNSKEY(self, name: dns.name.Name | str) -> Deferred[Answer]:
        return self.lookup(name, dns.rdatatype.DNSKEY)


@implementer(IDNSSECResolver)
class ValidatingResolver(_ConvenienceLookups):
    """
    Validates every answer of a recursive resolver locally, from the trust anchors down.

    @param querier: sends the queries (a L{txdane.transport.DNSClient}, or a fake).
    @param trustAnchors: where validation starts; the built-in IANA root anchors by default.
    @param limits: the work limits; L{ValidationLimits()} by default.
    @param policy: the algorithms validated; L{AlgorithmPolicy()} by default.
    @param clock: the source of time for signature validity, cache expiry and the lookup
        timeout; the global reactor by default.
    """

    def __init__(
        self,
        querier: DNSQuerier,
        *,
        trustAnchors: TrustAnchors | None = None,
        limits: ValidationLimits | None = None,
        policy: AlgorithmPolicy | None = None,
        clock: IReactorTime | None = None,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        self.querier = querier
        self.trustAnchors = trustAnchors if trustAnchors is not None else TrustAnchors.builtin()
        self.limits = limits if limits is not None else ValidationLimits()
        self.policy = policy if policy is not None else AlgorithmPolicy()
        self.clock = clock

    def lookup(
        self, name: dns.name.Name | str, rdtype: dns.rdatatype.RdataType | str | int
    ) -> Deferred[Answer]:
        raise NotImplementedError


@implementer(IDNSSECResolver)
class ADTrustingResolver(_ConvenienceLookups):
    """
    A security-aware, non-validating resolver (RFC 4035 section 4.9.3): it trusts the AD bit
    set by a validating recursive resolver the user names, over a channel the user trusts
    (e.g. loopback). Every answer's C{securedBy} says so.

    @param querier: sends the queries to the trusted resolver.
    @param resolverName: how the trusted resolver is named in answers (e.g. C{"127.0.0.1"}).
    @param limits: the work limits (CNAME chain, timeout).
    @param clock: the source of time; the global reactor by default.
    """

    def __init__(
        self,
        querier: DNSQuerier,
        resolverName: str,
        *,
        limits: ValidationLimits | None = None,
        clock: IReactorTime | None = None,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        self.querier = querier
        self.resolverName = resolverName
        self.limits = limits if limits is not None else ValidationLimits()
        self.clock = clock

    def lookup(
        self, name: dns.name.Name | str, rdtype: dns.rdatatype.RdataType | str | int
    ) -> Deferred[Answer]:
        raise NotImplementedError

"""
What every resolver of this package does the same way around its own C{lookup}: the typed
lookups written once on top of it (L{TypedLookups}), the time limit of one lookup
(L{limitLookupTime}), and the clock used when none is given (L{defaultClock}).
"""

from __future__ import annotations

from typing import Any, TypeVar

import dns.exception
import dns.name
import dns.rdatatype
from twisted.internet import defer
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from txdane.errors import WorkLimitExceededError
from txdane.names import tlsaName
from txdane.validation.answer import Answer
from txdane.validation.ede import EDE
from txdane.validation.limits import ValidationLimits

_T = TypeVar("_T")


def defaultClock(clock: IReactorTime | None) -> IReactorTime:
    """
    C{clock}, or the global reactor when it is C{None} (imported only then, so that a
    resolver built with a fake clock never installs a reactor).
    """
    if clock is None:
        from twisted.internet import reactor

        clock = reactor
    assert clock is not None
    return clock


def lookupType(rdtype: dns.rdatatype.RdataType | str | int) -> dns.rdatatype.RdataType:
    """
    C{rdtype} as a type that names an RRset a lookup can validate.

    Meta-types (ANY, AXFR, IXFR, OPT, MAILA, MAILB, TSIG, TKEY) and RRSIG name no RRset of
    their own: an answer to them cannot be proven (ANY with a substituted NSEC would read as
    "no data" for a name that has data), so they are refused, as the command line refuses
    them.

    @raise ValueError: for such a type, or text or a number that is no type at all.
    @raise TypeError: for a C{rdtype} that is neither text nor a number (C{True}, which is
        also the number 1, included: it would be a lookup of type A).
    """
    if isinstance(rdtype, bool) or not isinstance(rdtype, (str, int)):
        raise TypeError(f"a DNS type is its name or its number, not {rdtype!r}")
    try:
        qtype = dns.rdatatype.RdataType.make(rdtype)
    except (dns.exception.DNSException, ValueError):
        raise ValueError(f"{rdtype!r} is not a DNS type") from None
    if dns.rdatatype.is_metatype(qtype) or qtype in (dns.rdatatype.RRSIG, dns.rdatatype.OPT):
        raise ValueError(
            f"cannot look up type {dns.rdatatype.to_text(qtype)} on its own: it names no "
            "RRset that can be validated"
        )
    return qtype


def limitLookupTime(
    d: Deferred[_T],
    qname: dns.name.Name,
    qtype: dns.rdatatype.RdataType,
    limits: ValidationLimits,
    clock: IReactorTime,
) -> Deferred[_T]:
    """
    Cancel the lookup C{d} after C{limits.lookupTimeout} seconds and fail it with a
    L{WorkLimitExceededError} that says so, with EDE 22 (No Reachable Authority), the code of
    a resolver that did not answer in time (as L{DNSTimeoutError
    <txdane.transport.DNSTimeoutError>}).
    """
    d.addTimeout(limits.lookupTimeout, clock)

    def timedOut(failure: Failure) -> Failure:
        if failure.check(defer.TimeoutError):
            return Failure(
                WorkLimitExceededError(
                    qname,
                    qtype,
                    f"no answer within {limits.lookupTimeout:g} s",
                    EDE.NO_REACHABLE_AUTHORITY,
                )
            )
        return failure

    return d.addErrback(timedOut)


class TypedLookups:
    """
    The typed lookups of L{IDNSSECResolver<txdane.validation.interfaces.IDNSSECResolver>},
    written once on top of C{lookup}, which a subclass provides.
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

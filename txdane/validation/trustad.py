"""
Trust-AD mode (RFC 4035 section 4.9.3): a security-aware but non-validating resolver.

L{ADTrustingResolver} believes the AD bit of a validating recursive resolver the user names
(one they reach over a channel they trust, e.g. on loopback) instead of validating; every
answer's C{securedBy} says so, so that nothing above can mistake it for local validation.
"""

from __future__ import annotations

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from txdane.errors import LookupFailedError, WorkLimitExceededError
from txdane.names import asName
from txdane.status import Status
from txdane.transport import DNSError, DNSQuerier
from txdane.validation.answer import Answer, ChainLink
from txdane.validation.ede import EDE
from txdane.validation.failures import edeFromMessage, edeOf, queryFailure
from txdane.validation.interfaces import IDNSSECResolver
from txdane.validation.limits import ValidationLimits
from txdane.validation.lookups import TypedLookups, defaultClock, limitLookupTime, lookupType
from txdane.validation.sections import dnameFor, findRRset


@implementer(IDNSSECResolver)
class ADTrustingResolver(TypedLookups):
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
        self.querier = querier
        self.resolverName = resolverName
        self.limits = limits if limits is not None else ValidationLimits()
        self.clock = defaultClock(clock)

    def lookup(
        self, name: dns.name.Name | str, rdtype: dns.rdatatype.RdataType | str | int
    ) -> Deferred[Answer]:
        qtype = lookupType(rdtype)
        qname = asName(name)
        d = Deferred.fromCoroutine(self._lookup(qname, qtype))
        return limitLookupTime(d, qname, qtype, self.limits, self.clock)

    async def _ask(
        self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType, name: dns.name.Name
    ) -> dns.message.Message:
        """
        Ask the trusted resolver for C{name}/C{qtype} (C{name} is C{qname} or a CNAME
        target of it); fail the lookup on an error or an RCODE other than NOERROR/NXDOMAIN.
        """
        what = f"{name} {dns.rdatatype.to_text(qtype)}"
        try:
            response = await self.querier.query(
                name, qtype, dnssecOK=True, checkingDisabled=False, recursionDesired=True
            )
        except DNSError as e:
            raise LookupFailedError(qname, qtype, queryFailure(what, e), edeOf(e), e) from e
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise LookupFailedError(
                qname,
                qtype,
                f"{self.resolverName} answered {dns.rcode.to_text(rcode)}"
                + ("" if name == qname else f" for {what}"),
                edeFromMessage(response),
            )
        return response

    async def _lookup(self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType) -> Answer:
        links: list[ChainLink] = []
        name = qname
        rrset = None
        authenticated = True
        ttls: list[int] = []
        hops = 0
        response = await self._ask(qname, qtype, qname)
        while True:
            authenticated = authenticated and bool(response.flags & dns.flags.AD)
            status = Status.SECURE if authenticated else Status.INSECURE
            ttls += [r.ttl for r in response.answer] + [r.ttl for r in response.authority]
            asked = name
            while True:
                rrset = findRRset(response.answer, name, qtype)
                if rrset is not None:
                    break
                cname = findRRset(response.answer, name, dns.rdatatype.CNAME)
                dname = dnameFor(response, name)
                if cname is not None:
                    links.append(ChainLink(cname, status, synthesized=dname is not None))
                    name = cname[0].target
                elif dname is not None:
                    links.append(ChainLink(dname, status))
                    try:
                        name = name.relativize(dname.name).concatenate(dname[0].target)
                    except dns.name.NameTooLong as e:
                        raise LookupFailedError(
                            qname,
                            qtype,
                            f"the DNAME at {dname.name} makes {name} longer than 255 octets",
                            EDE.OTHER,
                            e,
                        ) from e
                else:
                    break
                hops += 1
                if hops > self.limits.maxCNAMEChain:
                    raise WorkLimitExceededError(
                        qname,
                        qtype,
                        f"CNAME/DNAME chain longer than {self.limits.maxCNAMEChain}",
                        EDE.OTHER,
                    )
            negative = response.rcode() == dns.rcode.NXDOMAIN or any(
                r.rdtype == dns.rdatatype.SOA for r in response.authority
            )
            if rrset is not None or name == asked or negative:
                break
            # The chain stops at a target this response neither answers nor denies: ask for
            # the target itself, never take the silence for an absence.
            response = await self._ask(qname, qtype, name)
        rcode = response.rcode()
        if authenticated:
            reason = f"{self.resolverName} set the AD bit (trusted, not validated here)"
        else:
            reason = f"{self.resolverName} did not set the AD bit: not validated as secure"
        return Answer(
            name=qname,
            rdtype=qtype,
            rcode=dns.rcode.NXDOMAIN if rcode == dns.rcode.NXDOMAIN else dns.rcode.NOERROR,
            rrset=rrset,
            status=status,
            reason=reason,
            chain=tuple(links),
            ttl=min(ttls, default=0),
            securedBy=f"AD bit from {self.resolverName}",
        )

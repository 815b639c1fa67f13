"""
One lookup in progress: what every step of the validation needs to know about the lookup it
works for (L{LookupContext}).
"""

from __future__ import annotations

import dataclasses

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from txdane.errors import LookupFailedError, WorkLimitExceededError
from txdane.transport import DNSError, DNSQuerier
from txdane.validation.ede import EDE
from txdane.validation.failures import edeFromMessage, edeOf, queryFailure
from txdane.validation.limits import Budget


@dataclasses.dataclass
class LookupContext:
    """
    One lookup of a L{ValidatingResolver<txdane.validation.resolver.ValidatingResolver>}, from
    the question to the answer: the chain of trust and the proofs are computed for it, within
    its budget, at its time, with its queries.

    @ivar name: the name asked for (errors name the question, whatever step failed).
    @ivar rdtype: the type asked for.
    @ivar querier: sends the queries to the recursive resolver.
    @ivar now: the time signatures are checked against, read once when the lookup starts.
    @ivar budget: the work this lookup has done and may still do.
    @ivar textKey: the answer cache's key for the question as the caller wrote it, if any.
    @ivar responses: the responses received so far, by question: a question asked twice
        within one lookup is sent once.
    """

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    querier: DNSQuerier
    now: float
    budget: Budget
    textKey: tuple[str, str | int] | None = None
    responses: dict[tuple[dns.name.Name, int], dns.message.Message] = dataclasses.field(
        default_factory=dict
    )

    async def query(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> dns.message.Message:
        """
        Ask the recursive resolver about C{name} and C{rdtype}, with DO and CD set (RFC 6840
        section 5.9), at most once per lookup, within the lookup's query limit.

        @return: the response, NOERROR or NXDOMAIN.
        @raise WorkLimitExceededError: the lookup needs more queries than its limit.
        @raise LookupFailedError: the query failed, or the resolver answered another RCODE.
        """
        key = (name, rdtype)
        if key in self.responses:
            return self.responses[key]
        limits = self.budget.limits
        self.budget.queries += 1
        if self.budget.queries > limits.maxQueriesPerLookup:
            raise WorkLimitExceededError(
                self.name,
                self.rdtype,
                f"more than {limits.maxQueriesPerLookup} queries needed",
                EDE.DNSSEC_INDETERMINATE,
            )
        what = f"{name} {dns.rdatatype.to_text(rdtype)}"
        try:
            response = await self.querier.query(
                name,
                rdtype,
                dnssecOK=True,
                checkingDisabled=True,
                recursionDesired=True,
            )
        except DNSError as e:
            raise LookupFailedError(
                self.name, self.rdtype, queryFailure(what, e), edeOf(e), e
            ) from e
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise LookupFailedError(
                self.name,
                self.rdtype,
                f"query {what}: the resolver answered {dns.rcode.to_text(rcode)}",
                edeFromMessage(response),
            )
        self.responses[key] = response
        return response

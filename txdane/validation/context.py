"""
One lookup in progress: what every step of the validation needs to know about the lookup it
works for (L{LookupContext}).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Coroutine, Hashable
from typing import Any, Generic, TypeVar

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
from twisted.internet.defer import CancelledError, Deferred
from twisted.python.failure import Failure

from txdane.errors import LookupFailedError, WorkLimitExceededError
from txdane.transport import DNSError, DNSQuerier
from txdane.validation.cache import nameKey
from txdane.validation.ede import EDE
from txdane.validation.failures import edeFromMessage, edeOf, queryFailure
from txdane.validation.iterative import IterationLimitError
from txdane.validation.limits import LOOKUP_BUDGET, Budget, responseBytes

_T = TypeVar("_T")

#: The most octets of responses (as they came on the wire) one lookup keeps for the questions
#: it may ask again (L{LookupContext.responses}); past it a response is used and let go, and a
#: question asked again is sent again, within the lookup's query limit. A response read into
#: records holds up to some sixty times its size in memory (deep names, compressed to two
#: octets each on the wire): kept whole, the 48 responses a lookup may receive held up to
#: 180 MB. An honest lookup keeps a few kilobytes.
MAX_KEPT_RESPONSE_BYTES = 64 * 1024


class Ahead(Generic[_T]):
    """
    Work started before the step that needs it, so that its queries are in flight while the
    lookup does something else: the step then awaits L{result}, which gives the outcome or
    raises the error. A failure nobody asks for is dropped (the lookup ended on another
    error first, or was cancelled).
    """

    def __init__(self, work: Coroutine[Any, Any, _T]) -> None:
        self.done = False
        self._outcome: _T | Failure | None = None
        self._waiting: list[Deferred[None]] = []
        self._running = Deferred.fromCoroutine(work)
        self._running.addBoth(self._finished)

    def cancel(self) -> None:
        """
        Stop the work (its queries in flight are cancelled): the lookup it was for ended.
        """
        self._running.cancel()

    def _finished(self, outcome: _T | Failure) -> None:
        self.done = True
        self._outcome = outcome
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            waiter.callback(None)

    async def result(self) -> _T:
        """
        The outcome of the work, once it is done.
        """
        if not self.done:
            waiter: Deferred[None] = Deferred()
            self._waiting.append(waiter)
            await waiter
        outcome = self._outcome
        if isinstance(outcome, Failure):
            outcome.raiseException()
        return outcome  # type: ignore[return-value]


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
    @ivar responses: the responses received so far, by question (the name as L{nameKey}
        gives it, and the type): a question asked twice within one lookup is sent once, as
        long as the responses kept stay within L{MAX_KEPT_RESPONSE_BYTES}.
    @ivar keptBytes: the size on the wire of the responses kept in C{responses}.
    @ivar cancelled: whether the caller cancelled the lookup: no further query is sent.
    @ivar ahead: work started ahead of the step that needs it (L{prefetch}, and the chain
        of trust's results computed beside the lookup's own steps), by what it computes.
    @ivar known: the chain of trust's results (zone keys, DS results) this lookup computed
        or was given, by what they are: each is worked out once per lookup even where the
        resolver's caches keep nothing (a cache of size 0, a maximum TTL of 0, a full one),
        which would otherwise spend the lookup's signature budget on the same keys again.
    """

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    querier: DNSQuerier
    now: float
    budget: Budget
    textKey: tuple[str, str | int] | None = None
    responses: dict[tuple[tuple[bytes, ...], int], dns.message.Message] = dataclasses.field(
        default_factory=dict
    )
    keptBytes: int = 0
    cancelled: bool = False
    ahead: dict[Hashable, Ahead[Any]] = dataclasses.field(default_factory=dict)
    known: dict[Hashable, Any] = dataclasses.field(default_factory=dict)

    def prefetch(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> None:
        """
        Send the query for C{name} and C{rdtype} now, when a later step of the lookup will
        certainly ask it (L{query} then gets its response, or its error). Nothing is sent
        once the lookup is at its limit of queries or of octets received: the step's own
        query then fails as usual.
        """
        asked = (nameKey(name), int(rdtype))
        key = ("query", asked)
        if (
            self.cancelled
            or asked in self.responses
            or key in self.ahead
            or self.budget.queries >= self.budget.limits.maxQueriesPerLookup
            or self.budget.responseBytes > self.budget.limits.maxResponseBytesPerLookup
        ):
            return
        self.ahead[key] = Ahead(self._ask(name, rdtype, asked))

    async def query(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> dns.message.Message:
        """
        Ask the recursive resolver about C{name} and C{rdtype}, with DO and CD set (RFC 6840
        section 5.9), at most once per lookup, within the lookup's limits of queries and of
        octets received.

        @return: the response, NOERROR or NXDOMAIN.
        @raise WorkLimitExceededError: the lookup needs more queries than its limit, or its
            responses came to more octets than its limit.
        @raise LookupFailedError: the query failed, or the resolver answered another RCODE.
        """
        if self.cancelled:
            # Cancelled while one of its steps was running (a result shared with another
            # lookup resumed it), so that step's next query is where it stops.
            raise CancelledError()
        key = (nameKey(name), int(rdtype))
        # A query sent ahead is handed over once (so that the lookup does not hold it twice),
        # then kept like any other.
        ahead = self.ahead.pop(("query", key), None)
        if ahead is not None:
            response: dns.message.Message = await ahead.result()
            return response
        known = self.responses.get(key)
        if known is not None:
            return known
        return await self._ask(name, rdtype, key)

    async def _ask(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        key: tuple[tuple[bytes, ...], int],
    ) -> dns.message.Message:
        if self.cancelled:
            raise CancelledError()
        limits = self.budget.limits
        self._checkResponseBytes()
        self.budget.queries += 1
        if self.budget.queries > limits.maxQueriesPerLookup:
            raise WorkLimitExceededError(
                self.name,
                self.rdtype,
                f"more than {limits.maxQueriesPerLookup} queries needed",
                EDE.DNSSEC_INDETERMINATE,
            )
        # A querier that asks servers of its own for this response (resolving from the root)
        # counts what they send in this budget as it comes, all but the response it gives.
        budget = LOOKUP_BUDGET.set(self.budget)
        try:
            pending = self.querier.query(
                name,
                rdtype,
                dnssecOK=True,
                checkingDisabled=True,
                recursionDesired=True,
            )
        finally:
            LOOKUP_BUDGET.reset(budget)
        try:
            response = await pending
        except DNSError as e:
            if isinstance(e, IterationLimitError) and e.limit == "maxResponseBytesPerLookup":
                # Stopped by this lookup's bound on octets received (rather than by the
                # question's own): the lookup's error, as when the bound is passed here.
                try:
                    self._checkResponseBytes()
                except WorkLimitExceededError as limited:
                    raise limited from e
            raise LookupFailedError(
                self.name, self.rdtype, queryFailure(_question(name, rdtype), e), edeOf(e), e
            ) from e
        self.budget.responseBytes += responseBytes(response)
        self._checkResponseBytes()
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise LookupFailedError(
                self.name,
                self.rdtype,
                f"query {_question(name, rdtype)}: the resolver answered "
                f"{dns.rcode.to_text(rcode)}",
                edeFromMessage(response),
            )
        self._keep(key, response)
        return response

    def _checkResponseBytes(self) -> None:
        """
        @raise WorkLimitExceededError: the responses received came to more octets than the
            lookup's limit (then nothing more is asked).
        """
        limit = self.budget.limits.maxResponseBytesPerLookup
        if self.budget.responseBytes > limit:
            raise WorkLimitExceededError(
                self.name,
                self.rdtype,
                f"more than {limit} octets of responses received",
                EDE.DNSSEC_INDETERMINATE,
            )

    def _keep(self, key: tuple[tuple[bytes, ...], int], response: dns.message.Message) -> None:
        """
        Keep C{response} for the question C{key} if the responses kept stay within
        L{MAX_KEPT_RESPONSE_BYTES}.
        """
        size = responseBytes(response)
        if self.keptBytes + size <= MAX_KEPT_RESPONSE_BYTES:
            self.keptBytes += size
            self.responses[key] = response


def _question(name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> str:
    return f"{name} {dns.rdatatype.to_text(rdtype)}"


def cancellable(ctx: LookupContext, lookup: Coroutine[Any, Any, _T]) -> Deferred[_T]:
    """
    Run C{lookup} for C{ctx}, as a C{Deferred} whose cancellation always stops it.

    Cancelling a coroutine's Deferred cancels what the coroutine awaits at that moment; but a
    lookup can be cancelled while it is running, when a result it shared with another lookup
    resumed it and that other lookup's caller cancels it in the same call stack. Then nothing
    it awaits is cancelled, and it would go on querying for an answer nobody wants. So the
    cancellation also marks C{ctx}, and the lookup's next query raises C{CancelledError}
    instead of being sent. The Deferred returned fails with C{CancelledError} at once.
    """
    running = Deferred.fromCoroutine(lookup)
    result: Deferred[_T] = Deferred(lambda _: _cancel(ctx, running))

    def forward(outcome: object) -> None:
        if result.called:
            return None  # cancelled already: the lookup's own end is of no interest
        if isinstance(outcome, Failure):
            result.errback(outcome)
        else:
            result.callback(outcome)  # type: ignore[arg-type]
        return None

    running.addBoth(forward)
    return result


def _cancel(ctx: LookupContext, running: Deferred[Any]) -> None:
    ctx.cancelled = True
    running.cancel()
    for ahead in list(ctx.ahead.values()):
        ahead.cancel()

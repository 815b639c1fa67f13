"""
Test doubles and helpers for the validator's tests: a querier that asks the test hierarchy's
answer engine directly, standing in for a recursive resolver; a resolver over it
(L{makeResolver}); and running a lookup that finishes at once (L{resolve}, L{failureOf}).
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from txdane.server.responder import Responder
from txdane.server.service import responderForZones
from txdane.testing import Hierarchy
from txdane.transport import DNSError, parseMessage
from txdane.validation import Answer, TrustAnchors, ValidatingResolver

Tamper = Callable[[dns.message.Message], dns.message.Message | Exception]


class EngineQuerier:
    """
    A L{txdane.transport.DNSQuerier} answering from an in-memory L{Responder}, in wire form.
    A server holding every zone of the hierarchy answers each name from the deepest zone, the
    way a recursive resolver would (except that it does not chase CNAMEs across zones).

    @ivar queries: every (name, type, flags) asked, in order.
    @ivar tamper: per (name, type text): a function that rewrites the response or returns an
        exception to fail with.
    """

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.queries: list[tuple[dns.name.Name, dns.rdatatype.RdataType, bool, bool]] = []
        self.tamper: dict[tuple[str, str], Tamper] = {}

    @classmethod
    def forHierarchy(cls, hierarchy: Hierarchy) -> EngineQuerier:
        return cls(responderForZones(hierarchy.zones.values()))

    def query(
        self,
        name: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str | int,
        rdclass: dns.rdataclass.RdataClass | str | int = dns.rdataclass.IN,
        *,
        dnssecOK: bool = False,
        checkingDisabled: bool = False,
        recursionDesired: bool = True,
    ) -> Deferred[dns.message.Message]:
        qname = name if isinstance(name, dns.name.Name) else dns.name.from_text(name)
        qtype = dns.rdatatype.RdataType.make(rdtype)
        self.queries.append((qname, qtype, dnssecOK, checkingDisabled))
        query = dns.message.make_query(qname, qtype, want_dnssec=dnssecOK)
        if checkingDisabled:
            query.flags |= dns.flags.CD
        wire = self.responder.respondWire(query.to_wire(), tcp=True)
        assert wire is not None
        response = parseMessage(wire)  # as the transport parses
        tamper = self.tamper.get((qname.to_text(), dns.rdatatype.to_text(qtype)))
        if tamper is not None:
            result = tamper(response)
            if isinstance(result, Exception):
                return fail(result)
            response = result
        return succeed(response)


class FailingQuerier:
    """
    A querier whose every query fails with C{error}.
    """

    def __init__(self, error: DNSError) -> None:
        self.error = error
        self.queries = 0

    def query(self, name: object, rdtype: object, rdclass: object = None, **kw: object) -> Deferred:
        self.queries += 1
        return fail(self.error)


def makeResolver(hierarchy: Hierarchy, **kw: Any) -> tuple[ValidatingResolver, EngineQuerier]:
    """
    A resolver anchored at the hierarchy's root, on a clock at the hierarchy's time, asking
    an L{EngineQuerier} of the hierarchy.
    """
    clock = Clock()
    clock.advance(hierarchy.now)
    querier = EngineQuerier.forHierarchy(hierarchy)
    resolver = ValidatingResolver(
        querier, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]), clock=clock, **kw
    )
    return resolver, querier


def resolve(resolver: ValidatingResolver, name: str | dns.name.Name, rdtype: str | int) -> Answer:
    """
    The answer of a lookup that finishes at once (raising what it fails with).
    """
    results: list[object] = []
    resolver.lookup(name, rdtype).addBoth(results.append)
    assert results, "lookup did not finish synchronously"
    result = results[0]
    if not isinstance(result, Answer):
        result.raiseException()  # type: ignore[attr-defined]
    assert isinstance(result, Answer)
    return result


def failureOf(d: Deferred[Any]) -> BaseException:
    """
    The exception a lookup that finishes at once fails with.
    """
    results: list[object] = []
    d.addBoth(results.append)
    assert results, "did not finish"
    failure = results[0]
    assert not isinstance(failure, Answer), f"expected a failure, got {failure}"
    return failure.value  # type: ignore[attr-defined]


def memoryGrowth(run: Callable[[], object], *, peak: bool = False) -> int:
    """
    The bytes of memory still held after C{run}, as tracemalloc counts them (garbage
    collected before and after); with C{peak}, the most it held at any time while running.
    """
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        run()
        if peak:
            return int(tracemalloc.get_traced_memory()[1] - before)
        gc.collect()
        return int(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()


def countCalls(monkeypatch: Any, owner: object, method: str) -> Callable[[], int]:
    """
    Count the calls of C{owner}'s C{method} (of a class, or a function of a module) from now
    on, through C{monkeypatch} (a pytest C{MonkeyPatch}); the function returned says how many
    there have been.
    """
    calls = 0
    original = getattr(owner, method)

    def counted(*args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        return original(*args, **kw)

    monkeypatch.setattr(owner, method, counted)
    return lambda: calls

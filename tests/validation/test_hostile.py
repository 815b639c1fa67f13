"""
Regression tests for the hostile-input review (#14) that concern the validator itself.
"""

from __future__ import annotations

import dns.message
import dns.rcode
import dns.rdatatype
import pytest
from twisted.internet.task import Clock

from tests.validation.fakes import EngineQuerier, failureOf, memoryGrowth, resolve
from tests.validation.test_hierarchy import makeResolver
from tests.validation.zonekit import TableQuerier, n, rrset
from txdane.dane.tlsa import TLSARecord
from txdane.server.responder import Responder
from txdane.server.zones import ZoneStore
from txdane.status import Status
from txdane.testing import CASES, TLSA_RDATA, Hierarchy, buildHierarchy
from txdane.validation import (
    ADTrustingResolver,
    Answer,
    LookupFailedError,
    ValidatingResolver,
    ValidationLimits,
)
from txdane.validation.ede import EDE
from txdane.validation.resolver import _answerCost


def resolveWith(resolver: ADTrustingResolver, name: str, rdtype: str) -> Answer:
    results: list[object] = []
    resolver.lookup(name, rdtype).addBoth(results.append)
    assert isinstance(results[0], Answer), results
    return results[0]


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


@pytest.mark.parametrize(
    "rdtype", ["ANY", "AXFR", "IXFR", "OPT", "RRSIG", "MAILA", "MAILB", "TSIG", 255, 46]
)
def test_metaTypesRefused(hierarchy: Hierarchy, rdtype: str | int) -> None:
    """
    Meta-types and RRSIG name no RRset that can be validated (ANY with a substituted NSEC
    would read as "secure: no data" for a name that has data): both resolvers refuse them
    with a clear error, before asking anything, by text or by number, cached or not.
    """
    resolver, querier = makeResolver(hierarchy)
    trusting = ADTrustingResolver(EngineQuerier.forHierarchy(hierarchy), "::1", clock=Clock())
    for lookup in (resolver.lookup, trusting.lookup):
        for _ in range(2):
            with pytest.raises(ValueError, match="cannot look up type"):
                lookup("www.example.test.", rdtype)
    assert querier.queries == []


def _trusting(querier: TableQuerier) -> ADTrustingResolver:
    return ADTrustingResolver(querier, "127.0.0.1", clock=Clock())


def test_trustADUnfinishedCNAMEChainIsChased() -> None:
    """
    In trust-AD mode, an answer with AD set whose CNAME chain stops before the target, with
    no negative answer for it, is not a secure absence (DANE would read "no TLSA"): the
    target is asked for, and its records are the answer.
    """
    querier = TableQuerier()
    querier.ad = True
    cname = rrset("_443._tcp.www.p. 300 IN CNAME tlsa.q.")
    tlsa = rrset("tlsa.q. 300 IN TLSA 3 1 1 " + "ab" * 32)
    querier.add("_443._tcp.www.p.", "TLSA", (cname,))
    querier.add("tlsa.q.", "TLSA", (tlsa,))
    answer = resolveWith(_trusting(querier), "_443._tcp.www.p.", "TLSA")
    assert answer.secure and answer.exists, answer
    assert answer.records == list(tlsa)
    assert [q[0] for q in querier.queries] == [n("_443._tcp.www.p."), n("tlsa.q.")]


def test_trustADUnfinishedChainTargetUnanswered() -> None:
    """
    When the target cannot be asked (the resolver fails), the lookup fails: never an empty
    answer.
    """
    querier = TableQuerier()
    querier.ad = True
    querier.add("_443._tcp.www.p.", "TLSA", (rrset("_443._tcp.www.p. 300 IN CNAME tlsa.q."),))
    error = failureOf(_trusting(querier).lookup("_443._tcp.www.p.", "TLSA"))
    assert isinstance(error, LookupFailedError), error
    assert "tlsa.q. TLSA" in error.reason


def test_trustADChainWithNegativeAnswerForTheTarget() -> None:
    """
    A chain ending in a negative answer for the target (NXDOMAIN, or NODATA with the SOA)
    stays a one-query, proven absence.
    """
    querier = TableQuerier()
    querier.ad = True
    soa = rrset("q. 300 IN SOA ns.q. h.q. 1 7200 3600 1209600 300")
    querier.add(
        "_443._tcp.www.p.",
        "TLSA",
        (rrset("_443._tcp.www.p. 300 IN CNAME tlsa.q."),),
        (soa,),
        rcode=dns.rcode.NXDOMAIN,
    )
    answer = resolveWith(_trusting(querier), "_443._tcp.www.p.", "TLSA")
    assert answer.secure and not answer.exists and answer.rcode == dns.rcode.NXDOMAIN
    assert len(querier.queries) == 1


#: The hostile zone's wildcard: this many A records in each synthesized answer.
WILDCARD_RECORDS = 200
#: Distinct names looked up below it.
WILDCARD_NAMES = 300


@pytest.fixture(scope="module")
def hostileWildcard() -> Hierarchy:
    records = [
        f"*.big 300 IN A 10.{i // 65536}.{i // 256 % 256}.{i % 256}"
        for i in range(WILDCARD_RECORDS)
    ]
    return buildHierarchy(extraRecords={"example.test.": records})


def test_cacheBytesBoundMemory(hostileWildcard: Hierarchy) -> None:
    """
    Thousands of distinct names under a hostile wildcard with large answers: the cache,
    bounded in bytes (C{cacheBytes}) and not only in entries, keeps the process's memory
    growth (measured with tracemalloc) within the bound; a count bound alone would let it
    grow with every name.
    """
    bound = 1024 * 1024
    resolver, _ = makeResolver(hostileWildcard, limits=ValidationLimits(cacheBytes=bound))
    uncachedServer(resolver, hostileWildcard)
    for i in range(20):  # the zones' keys and cuts, and whatever first use allocates
        resolveHostile(resolver, f"warm{i}.big.example.test.")
    first: list[Answer] = []

    def run() -> None:
        for i in range(WILDCARD_NAMES):
            answer = resolveHostile(resolver, f"h{i}.big.example.test.")
            if i == 0:
                first.append(answer)

    growth = memoryGrowth(run)
    (answer0,) = first
    held = resolver._answers.bytes
    assert 0 < held <= bound // 2
    assert growth <= bound, f"grew {growth} bytes with a {bound}-byte cache bound"
    kept = len(resolver._answers)
    assert kept < WILDCARD_NAMES // 10, kept
    # Bounded by count alone (10,000 entries), every answer would have stayed.
    assert _answerCost(answer0) * WILDCARD_NAMES > 5 * bound


def test_cachesBoundedInBytes(hierarchy: Hierarchy) -> None:
    """
    Every cache of the resolver is bounded in bytes: the answers by half of C{cacheBytes},
    the proven zone keys and the DS results by a quarter each. Every case of the hierarchy,
    looked up with a small budget, leaves each within its bound (while, unbounded, they
    would hold several times more), and every answer is still right.
    """
    budget = 16000
    resolver, _ = makeResolver(hierarchy, limits=ValidationLimits(cacheBytes=budget))
    for case in CASES:
        assert resolve(resolver, case.name, case.rdtype).status is case.status, case
    chain = resolver._chain
    assert 0 < resolver._answers.bytes <= budget // 2, resolver._answers.bytes
    for cache in (chain.zoneCache, chain.dsCache):
        assert 0 < cache.bytes <= budget // 4, cache.bytes
    unbounded, _ = makeResolver(hierarchy, limits=ValidationLimits(cacheBytes=2**40))
    for case in CASES:
        resolve(unbounded, case.name, case.rdtype)
    assert unbounded._answers.bytes > budget
    assert unbounded._chain.zoneCache.bytes > budget
    assert unbounded._chain.dsCache.bytes > budget


def test_cacheCostEstimateIsAnUpperBound(hostileWildcard: Hierarchy) -> None:
    """
    The bytes charged for a cached answer are at least what it really holds, so that the
    bound in bytes bounds the memory.
    """
    resolver, _ = makeResolver(hostileWildcard, limits=ValidationLimits(cacheBytes=2**40))
    uncachedServer(resolver, hostileWildcard)
    resolveHostile(resolver, "warm.big.example.test.")
    charged = resolver._answers.bytes
    growth = memoryGrowth(
        lambda: [resolveHostile(resolver, f"e{i}.big.example.test.") for i in range(50)]
    )
    charged = resolver._answers.bytes - charged
    assert growth <= charged, (growth, charged)
    assert charged <= 3 * growth, (growth, charged)  # and not wildly above it


def uncachedServer(resolver: ValidatingResolver, hierarchy: Hierarchy) -> None:
    """
    Answer from a server without its own answer cache: the test measures the resolver's
    memory, not the in-process server's.
    """
    responder = Responder(ZoneStore(hierarchy.zones.values()), cacheBytes=0)
    resolver.querier = EngineQuerier(responder)


def resolveHostile(resolver: ValidatingResolver, name: str) -> Answer:
    results: list[object] = []
    resolver.lookup(name, "A").addBoth(results.append)
    answer = results[0]
    assert isinstance(answer, Answer) and answer.secure, answer
    assert len(answer.records) == WILDCARD_RECORDS
    return answer


@pytest.fixture(scope="module")
def iterationsHierarchy() -> Hierarchy:
    """
    The hierarchy with a TLSA record in C{iterations.test.}, whose NSEC3 chain uses more
    iterations than the validator's limit.
    """
    return buildHierarchy(
        extraRecords={"iterations.test.": [f"_443._tcp.www 300 IN TLSA {TLSA_RDATA}"]}
    )


def _stripSignatures(message: dns.message.Message) -> dns.message.Message:
    message.answer = [r for r in message.answer if r.rdtype != dns.rdatatype.RRSIG]
    return message


@pytest.mark.parametrize("strict", [False, True])
def test_strictNSEC3IterationsForTLSA(iterationsHierarchy: Hierarchy, strict: bool) -> None:
    """
    In a zone above the NSEC3 iteration limit, an on-path attacker who strips the signatures
    of a TLSA RRset makes it read as insecure (RFC 9276, as Unbound and BIND do), which DANE
    takes as "no TLSA". With C{strictNSEC3Iterations} such a TLSA lookup is bogus (EDE 27)
    instead; other lookups keep the default.
    """
    limits = ValidationLimits(strictNSEC3Iterations=strict)
    resolver, querier = makeResolver(iterationsHierarchy, limits=limits)
    expected = Status.BOGUS if strict else Status.INSECURE
    querier.tamper[("_443._tcp.www.iterations.test.", "TLSA")] = _stripSignatures
    stripped = resolve(resolver, "_443._tcp.www.iterations.test.", "TLSA")
    assert (stripped.status, stripped.ede) == (expected, EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE)
    # A name without TLSA records: its absence cannot be proven either.
    absent = resolve(resolver, "_25._tcp.www.iterations.test.", "TLSA")
    assert (absent.status, absent.ede) == (expected, EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE)
    if strict:
        assert "strictNSEC3Iterations" in absent.reason
    # Untouched TLSA records are still secure, and other types are left as they were.
    querier.tamper.clear()
    resolver.clearCache()
    assert resolve(resolver, "_443._tcp.www.iterations.test.", "TLSA").status is Status.SECURE
    querier.tamper[("www.iterations.test.", "A")] = _stripSignatures
    assert resolve(resolver, "www.iterations.test.", "A").status is Status.INSECURE
    assert resolve(resolver, "nx.iterations.test.", "A").status is Status.INSECURE


def test_malformedTLSARecordKept() -> None:
    """
    One TLSA record whose digest has the wrong length does not fail the lookup: it is kept as
    received (so the RRSIG over the RRset verifies over the same bytes) and left for the DANE
    layer to call unusable (RFC 7671 section 4).
    """
    malformed = r"_443._tcp.www 300 IN TLSA \# 34 030101" + "ab" * 31
    hierarchy = buildHierarchy(extraRecords={"example.test.": [malformed]})
    resolver, _ = makeResolver(hierarchy)
    answer = resolve(resolver, "_443._tcp.www.example.test.", "TLSA")
    assert answer.status is Status.SECURE
    records = [TLSARecord.fromRdata(r) for r in answer.records]  # type: ignore[arg-type]
    assert sorted(r.usable for r in records) == [False, True]
    (bad,) = (r for r in records if not r.usable)
    assert bad.data == b"\xab" * 31

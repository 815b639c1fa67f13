"""
Regression tests for the hostile-input review (#14) that concern the validator itself.
"""

from __future__ import annotations

import dns.rcode
import pytest
from twisted.internet.task import Clock

from tests.validation.fakes import EngineQuerier, failureOf
from tests.validation.test_hierarchy import makeResolver
from tests.validation.zonekit import TableQuerier, n, rrset
from txdane.testing import Hierarchy, buildHierarchy
from txdane.validation import ADTrustingResolver, Answer, LookupFailedError


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

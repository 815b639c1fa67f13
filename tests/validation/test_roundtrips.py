"""
How many round trips and queries a cold validation takes: the chain of trust asks a zone's
DS and DNSKEY together, the keys of the trust anchor, of the parent zones near it and the
zone-cut checks beside them, and an empty non-terminal between a name's own NSEC record and
the next name costs no query.
"""

from __future__ import annotations

import gc
from typing import Any, cast

import dns.name
import dns.rdatatype
import dns.zone
import pytest
from twisted.internet.defer import Deferred
from twisted.logger import ILogObserver, globalLogPublisher

from tests.validation.fakes import EngineQuerier, makeResolver
from txdane.errors import LookupFailedError
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import DNSError
from txdane.validation import Answer
from txdane.validation.trustchain import Cut, DSResult


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


class HeldQuerier:
    """
    Holds every query until L{release}, which answers all those waiting at once: one round
    trip to the resolver.
    """

    def __init__(self, engine: EngineQuerier) -> None:
        self.engine = engine
        self.waiting: list[tuple[Deferred[Any], tuple[Any, ...], dict[str, Any]]] = []
        self.asked: list[str] = []
        self.failing: dict[str, Exception] = {}

    def query(self, name: Any, rdtype: Any, *args: Any, **kw: Any) -> Deferred[Any]:
        text = f"{name} {dns.rdatatype.to_text(dns.rdatatype.RdataType.make(rdtype))}"
        self.asked.append(text)
        d: Deferred[Any] = Deferred()
        self.waiting.append((d, (name, rdtype, *args), kw))
        return d

    def release(self) -> None:
        waiting, self.waiting = self.waiting, []
        for d, args, kw in waiting:
            text = f"{args[0]} {dns.rdatatype.to_text(dns.rdatatype.RdataType.make(args[1]))}"
            if text in self.failing:
                d.errback(self.failing[text])
            else:
                self.engine.query(*args, **kw).chainDeferred(d)


def roundTrips(
    hierarchy: Hierarchy,
    questions: list[tuple[str, str]],
    failing: dict[str, Exception] | None = None,
) -> tuple[list[object], int, HeldQuerier]:
    """
    Look up C{questions} at once with a cold resolver; return the outcomes, the round trips
    taken and the querier.
    """
    resolver, engine = makeResolver(hierarchy)
    held = HeldQuerier(engine)
    held.failing = dict(failing or {})
    resolver.querier = held
    outcomes: list[object] = []
    for name, rdtype in questions:
        resolver.lookup(name, rdtype).addBoth(outcomes.append)
    trips = 0
    while held.waiting:
        trips += 1
        held.release()
        assert trips < 20
    assert len(outcomes) == len(questions)
    return outcomes, trips, held


def test_coldTLSALookup(hierarchy: Hierarchy) -> None:
    """
    A cold TLSA lookup two zones below the root: 2 round trips (the answer; then the DS and
    DNSKEY of the signer and of its parent, the root's DNSKEY and the zone-cut checks), 8
    queries, none asked twice, and no DS query for the empty non-terminal C{_tcp.www}.
    """
    outcomes, trips, held = roundTrips(hierarchy, [("_443._tcp.www.example.test.", "TLSA")])
    (answer,) = outcomes
    assert isinstance(answer, Answer) and answer.status is Status.SECURE, answer
    assert trips == 2
    assert sorted(held.asked) == sorted(
        [
            "_443._tcp.www.example.test. TLSA",
            "_443._tcp.www.example.test. DS",
            "www.example.test. DS",
            "example.test. DS",
            "example.test. DNSKEY",
            ". DNSKEY",
            "test. DS",
            "test. DNSKEY",
        ]
    )


def test_coldConnectLookups(hierarchy: Hierarchy) -> None:
    """
    What a cold C{dane:} connection asks (TLSA, A and AAAA at once): 10 queries in 2 round
    trips, each question once.
    """
    questions = [
        ("_443._tcp.www.example.test.", "TLSA"),
        ("www.example.test.", "A"),
        ("www.example.test.", "AAAA"),
    ]
    outcomes, trips, held = roundTrips(hierarchy, questions)
    assert all(isinstance(o, Answer) and o.status is Status.SECURE for o in outcomes), outcomes
    assert trips == 2
    assert len(held.asked) == len(set(held.asked)) == 10


def _withChildZone(origin: str) -> tuple[Hierarchy, EngineQuerier]:
    """
    The hierarchy with one more signed zone, C{origin}, delegated from C{test.} with a DS
    (the names between are empty non-terminals of C{test.}), and a querier serving it all.
    """
    from txdane.server.service import responderForZones
    from txdane.server.signing import KSK_FLAGS, SigningKey, SigningOptions, signZone

    name = dns.name.from_text(origin)
    key = SigningKey.generate(flags=KSK_FLAGS)
    delegation = [f"{origin} 3600 IN NS ns1.test.", f"{origin} 3600 IN DS {key.ds(name)}"]
    hierarchy = buildHierarchy(extraRecords={"test.": delegation})
    child = dns.zone.from_text(
        "@ 3600 IN SOA ns1.test. hostmaster.test. 1 7200 3600 1209600 300\n"
        "@ 3600 IN NS ns1.test.\nwww 300 IN A 127.0.0.9\n",
        name,
        relativize=False,
    )
    now = hierarchy.now
    signed = signZone(child, (key,), SigningOptions(now - 3600, now + 86400))
    return hierarchy, EngineQuerier(responderForZones([*hierarchy.zones.values(), signed]))


@pytest.mark.parametrize(
    "origin, trips, guessed",
    [
        # the parent guessed (two labels below the root) is an empty non-terminal
        ("deep.ent.test.", 2, True),
        # three labels below the root: the parent's keys wait for the DS (then the checks
        # that test. holds the names between it and the child take a round trip each)
        ("deep.ent.sub.test.", 5, False),
    ],
)
def test_parentKeysGuessedNearTheAnchorOnly(origin: str, trips: int, guessed: bool) -> None:
    """
    The keys of a zone's parent are asked for before its DS names the signer only near the
    trust anchor. A wrong guess (the parent is no zone) costs a query for the DNSKEY RRset
    it lacks (its DS query is one the check that C{test.} holds it needs anyway) and nothing
    else: the answer is secure, and nothing is logged.
    """
    hierarchy, engine = _withChildZone(origin)
    resolver, _ = makeResolver(hierarchy)
    held = HeldQuerier(engine)
    resolver.querier = held
    logged: list[dict[str, Any]] = []
    observer = cast(ILogObserver, logged.append)
    globalLogPublisher.addObserver(observer)
    outcomes: list[object] = []
    try:
        resolver.lookup(f"www.{origin}", "A").addBoth(outcomes.append)
        taken = 0
        while held.waiting:
            taken += 1
            held.release()
            assert taken < 20
        gc.collect()
    finally:
        globalLogPublisher.removeObserver(observer)
    (answer,) = outcomes
    assert isinstance(answer, Answer) and answer.status is Status.SECURE, answer
    assert taken == trips
    parent = dns.name.from_text(origin).parent()
    assert (f"{parent} DNSKEY" in held.asked) is guessed
    assert len(held.asked) == len(set(held.asked))
    assert [e for e in logged if e.get("log_level") and e["log_level"].name == "error"] == []


def test_emptyNonTerminalAskedInNSEC3Zone(hierarchy: Hierarchy) -> None:
    """
    NSEC3 records name no next name in the clear: the DS query for the empty non-terminal
    is made.
    """
    outcomes, _, held = roundTrips(hierarchy, [("_443._tcp.www.nsec3.test.", "TLSA")])
    assert isinstance(outcomes[0], Answer) and outcomes[0].status is Status.SECURE
    assert "_tcp.www.nsec3.test. DS" in held.asked


@pytest.mark.parametrize(
    "cut, span",
    [
        # the parent is a cut
        (Cut.UNSIGNED, ("www.example.test.", "_443._tcp.www.example.test.")),
        # the next name is not below the label
        (Cut.NONE, ("www.example.test.", "x.www.example.test.")),
        # the next name is the label itself
        (Cut.NONE, ("www.example.test.", "_tcp.www.example.test.")),
        # the label does not fall between the owner and the next name
        (Cut.NONE, ("a._tcp.www.example.test.", "b._tcp.www.example.test.")),
        # proven without an NSEC record
        (Cut.NONE, None),
    ],
)
def test_emptyNonTerminalOnlyFromTheParentsNSEC(
    hierarchy: Hierarchy, cut: Cut, span: tuple[str, str] | None
) -> None:
    """
    A label is taken for an empty non-terminal only when its parent is proven no cut by an
    NSEC record between whose owner and next name the label falls, the next name below it;
    else it is asked.
    """
    resolver, querier = makeResolver(hierarchy)
    _plant(resolver, cut, span)
    results: list[object] = []
    Deferred.fromCoroutine(
        resolver._chain.dsAt(dns.name.from_text("_tcp.www.example.test."), _context(resolver))
    ).addBoth(results.append)
    asked = [f"{name} {dns.rdatatype.to_text(rdtype)}" for name, rdtype, _, _ in querier.queries]
    assert "_tcp.www.example.test. DS" in asked


@pytest.mark.parametrize(
    "span",
    [
        ("www.example.test.", "_443._tcp.www.example.test."),  # the parent's own NSEC
        ("example.test.", "_443._tcp.www.example.test."),  # covering the empty parent
    ],
)
def test_emptyNonTerminalInferred(hierarchy: Hierarchy, span: tuple[str, str]) -> None:
    """
    The positive cases of the rule above: no query, a secure "no cut" in the parent's zone.
    """
    resolver, querier = makeResolver(hierarchy)
    _plant(resolver, Cut.NONE, span)
    results: list[object] = []
    Deferred.fromCoroutine(
        resolver._chain.dsAt(dns.name.from_text("_tcp.www.example.test."), _context(resolver))
    ).addBoth(results.append)
    (result,) = results
    assert isinstance(result, DSResult)
    zone = dns.name.from_text("example.test.")
    assert (result.status, result.cut, result.zone) == (Status.SECURE, Cut.NONE, zone)
    assert querier.queries == []


def _plant(resolver: Any, cut: Cut, span: tuple[str, str] | None) -> None:
    """
    Put a proven DS result for C{www.example.test.} in the resolver's cache.
    """
    parent = dns.name.from_text("www.example.test.")
    resolver._chain.dsCache.put(
        parent,
        DSResult(
            parent,
            cut,
            Status.SECURE,
            "planted",
            zone=dns.name.from_text("example.test."),
            ttl=300,
            span=(dns.name.from_text(span[0]), dns.name.from_text(span[1])) if span else None,
        ),
        300,
    )


def _context(resolver: Any) -> Any:
    from txdane.validation.context import LookupContext
    from txdane.validation.limits import Budget

    return LookupContext(
        dns.name.from_text("_443._tcp.www.example.test."),
        dns.rdatatype.TLSA,
        resolver.querier,
        resolver.clock.seconds(),
        Budget(resolver.limits),
    )


def test_failedEarlyQueryIsTheLookupsError(hierarchy: Hierarchy) -> None:
    """
    A query sent ahead of the step that needs it (the zone-cut check at C{www}) fails: the
    lookup fails with that query's error, as it did when the query was sent later.
    """
    outcomes, _, _ = roundTrips(
        hierarchy,
        [("_443._tcp.www.example.test.", "TLSA")],
        {"www.example.test. DS": DNSError("no answer")},
    )
    failure = outcomes[0]
    assert not isinstance(failure, Answer)
    error = failure.value  # type: ignore[attr-defined]
    assert isinstance(error, LookupFailedError)
    assert "www.example.test. DS" in error.reason


def test_unneededFailedQueryIsQuiet(hierarchy: Hierarchy) -> None:
    """
    When the lookup fails first on another step, a query sent ahead that failed too is
    dropped: no "Unhandled error in Deferred" is logged.
    """
    logged: list[dict[str, Any]] = []
    observer = cast(ILogObserver, logged.append)
    globalLogPublisher.addObserver(observer)
    try:
        outcomes, _, _ = roundTrips(
            hierarchy,
            [("_443._tcp.www.example.test.", "TLSA")],
            {
                "example.test. DNSKEY": DNSError("no answer"),
                "www.example.test. DS": DNSError("no answer"),
                "_443._tcp.www.example.test. DS": DNSError("no answer"),
            },
        )
        gc.collect()
    finally:
        globalLogPublisher.removeObserver(observer)
    assert not isinstance(outcomes[0], Answer)
    assert not [e for e in logged if e.get("isError") or "log_failure" in e]


def test_cancelledLookupCancelsQueriesSentAhead(hierarchy: Hierarchy) -> None:
    """
    Cancelling a lookup (its caller's, or its time limit) cancels the queries sent ahead of
    their steps too: none waits for its own timeout.
    """
    resolver, engine = makeResolver(hierarchy)
    held = HeldQuerier(engine)
    resolver.querier = held
    outcome: list[object] = []
    d = resolver.lookup("_443._tcp.www.example.test.", "TLSA")
    d.addBoth(outcome.append)
    held.release()  # the answer: the chain's and the zone-cut queries go out together
    waiting = [query for query, _, _ in held.waiting]
    assert len(waiting) == 7
    d.cancel()
    assert all(query.called for query in waiting)
    assert outcome and not isinstance(outcome[0], Answer)

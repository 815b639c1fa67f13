"""
Resolving from the root hints (L{txdane.validation.iterative}): the test hierarchy served the
way the DNS is, each zone by its own name servers with referrals and glue, asked through an
in-memory network of authoritative servers (and once over real loopback sockets); hostile
servers for the bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from twisted.internet import reactor
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.validation.fakes import failureOf, resolve
from txdane.errors import WorkLimitExceededError
from txdane.resolvconf import NameServer
from txdane.server.responder import Responder
from txdane.server.service import responderForZones
from txdane.status import Status
from txdane.testing import CASES, Case, Hierarchy, buildHierarchy, separateNameServers
from txdane.transport import (
    DNSServerError,
    DNSTimeoutError,
    DNSUnreachableError,
    EDNSUnsupportedError,
    parseMessage,
)
from txdane.validation import (
    LookupFailedError,
    TrustAnchors,
    ValidatingResolver,
    ValidationLimits,
)
from txdane.validation.answer import Answer
from txdane.validation.iterative import (
    IterationLimitError,
    IterativeLimits,
    IterativeQuerier,
    IterativeResolutionError,
    RootHintsError,
    readRootHints,
)

Handler = Callable[[dns.message.Message], dns.message.Message | Exception]


class Network:
    """
    Authoritative servers by address, answering in memory: a L{Responder} (of the zones that
    address serves) or a handler; an address nobody serves is silent (the query times out).

    @ivar asked: every (address, name, type) asked, in order.
    """

    def __init__(self, servers: Mapping[str, Responder | Handler]) -> None:
        self.servers = dict(servers)
        self.asked: list[tuple[str, str, str]] = []

    @classmethod
    def forHierarchy(cls, hierarchy: Hierarchy) -> Network:
        zonesAt: dict[str, list] = {}
        for origin, servers in hierarchy.nameServers.items():
            for _, address in servers:
                zonesAt.setdefault(address, []).append(hierarchy.zones[origin])
        return cls({a: responderForZones(zones) for a, zones in zonesAt.items()})

    def clientFor(self, server: NameServer) -> _Client:
        return _Client(self, server)


class _Client:
    def __init__(self, network: Network, server: NameServer) -> None:
        self.network = network
        self.server = server

    def query(
        self,
        name: dns.name.Name | str,
        rdtype: object,
        rdclass: object = None,
        *,
        dnssecOK: bool = False,
        checkingDisabled: bool = False,
        recursionDesired: bool = True,
    ) -> Deferred[dns.message.Message]:
        qname = name if isinstance(name, dns.name.Name) else dns.name.from_text(name)
        qtype = dns.rdatatype.RdataType.make(rdtype)  # type: ignore[arg-type]
        self.network.asked.append((self.server.host, str(qname), dns.rdatatype.to_text(qtype)))
        assert not recursionDesired, "authoritative servers are asked with RD clear"
        query = dns.message.make_query(qname, qtype, want_dnssec=dnssecOK)
        query.flags &= ~dns.flags.RD
        handler = self.network.servers.get(self.server.host)
        if handler is None:
            return fail(DNSTimeoutError(qname, qtype, [self.server], 1))
        if isinstance(handler, Responder):
            wire = handler.respondWire(query.to_wire(), tcp=True)
            assert wire is not None
            response: dns.message.Message | Exception = parseMessage(wire)
        else:
            response = handler(query)
        if isinstance(response, Exception):
            return fail(response)
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return fail(DNSServerError(response, self.server))
        return succeed(response)


def _refused(query: dns.message.Message) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.REFUSED)
    return parseMessage(response.to_wire())


def separateHierarchy(**changes: list[tuple[str, str]]) -> Hierarchy:
    """
    The hierarchy with a name server of its own per zone on 127.53.1.x, changed by
    C{changes} (origin with dots as underscores -> its name servers).
    """
    plan = separateNameServers("127.53.1.0/24")
    for key, servers in changes.items():
        plan["." if key == "root" else key.replace("_", ".") + "."] = servers
    return buildHierarchy(nameServers=plan)


def validator(
    hierarchy: Hierarchy, network: Network, limits: IterativeLimits | None = None
) -> tuple[ValidatingResolver, IterativeQuerier]:
    clock = Clock()
    clock.advance(hierarchy.now)
    querier = IterativeQuerier(
        clock, hierarchy.rootHints(), limits=limits, clientFactory=network.clientFor
    )
    resolver = ValidatingResolver(
        querier, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]), clock=clock
    )
    return resolver, querier


def querierFor(network: Network, limits: IterativeLimits | None = None) -> IterativeQuerier:
    return IterativeQuerier(
        Clock(), [NameServer("127.53.1.1")], limits=limits, clientFactory=network.clientFor
    )


def ask(querier: IterativeQuerier, name: str, rdtype: str) -> dns.message.Message:
    results: list[object] = []
    querier.query(name, rdtype, dnssecOK=True).addBoth(results.append)
    assert results, "did not finish"
    result = results[0]
    if not isinstance(result, dns.message.Message):
        result.raiseException()  # type: ignore[attr-defined]
    assert isinstance(result, dns.message.Message)
    return result


def queryFailure(querier: IterativeQuerier, name: str, rdtype: str) -> BaseException:
    return failureOf(querier.query(name, rdtype, dnssecOK=True))


@pytest.fixture(scope="module")
def separate() -> Hierarchy:
    return separateHierarchy()


# -- the hierarchy, from the root -------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.name}{c.rdtype}")
def test_everyCase(separate: Hierarchy, case: Case) -> None:
    """
    Resolved from the root, every case of the hierarchy gets the verdict and RCODE it gets
    through a recursive resolver: bogus zones stay bogus, insecure ones insecure.
    """
    resolver, _ = validator(separate, Network.forHierarchy(separate))
    answer = resolve(resolver, case.name, case.rdtype)
    assert answer.status is case.status, str(answer)
    assert dns.rcode.to_text(answer.rcode) == case.rcode


def test_referrals(separate: Hierarchy) -> None:
    """
    A query goes to the root, is referred to C{test.}, then to C{example.test.}, whose server
    answers with authority; the next query for that zone starts at its servers.
    """
    network = Network.forHierarchy(separate)
    querier = querierFor(network)
    response = ask(querier, "www.example.test.", "A")
    assert response.flags & dns.flags.AA
    assert response.answer[0].name == dns.name.from_text("www.example.test.")
    assert [a for a, _, _ in network.asked] == ["127.53.1.1", "127.53.1.2", "127.53.1.3"]
    assert querier.lastQueries == 3
    network.asked.clear()
    ask(querier, "mx.example.test.", "A")
    assert [a for a, _, _ in network.asked] == ["127.53.1.3"]


def test_dsAtTheParent(separate: Hierarchy) -> None:
    """
    A DS query is answered by the parent's servers, even once the child's are known.
    """
    network = Network.forHierarchy(separate)
    querier = querierFor(network)
    ask(querier, "www.example.test.", "A")
    network.asked.clear()
    response = ask(querier, "example.test.", "DS")
    assert network.asked == [("127.53.1.2", "example.test.", "DS")]
    assert response.answer[0].rdtype == dns.rdatatype.DS
    assert any(r.rdtype == dns.rdatatype.RRSIG for r in response.answer)


def test_cnameAcrossZones(separate: Hierarchy) -> None:
    """
    A CNAME into another zone is answered by the first zone; the validator asks for the
    target, which is resolved from that zone's own servers: C{tounsigned.example.test.}
    leads into the unsigned zone, insecure.
    """
    network = Network.forHierarchy(separate)
    resolver, _ = validator(separate, network)
    answer = resolve(resolver, "tounsigned.example.test.", "A")
    assert answer.status is Status.INSECURE
    assert answer.rrset is not None and answer.rrset.name == dns.name.from_text(
        "www.unsigned.test."
    )
    unsigned = separate.nameServers[dns.name.from_text("unsigned.test.")][0][1]
    assert (unsigned, "www.unsigned.test.", "A") in network.asked


def test_denialProofs(separate: Hierarchy) -> None:
    """
    NXDOMAIN and NODATA come with their NSEC and NSEC3 proofs (DO is passed on), and the
    validator proves them.
    """
    network = Network.forHierarchy(separate)
    querier = querierFor(network)
    nx = ask(querier, "nx.nsec3.test.", "A")
    assert nx.rcode() == dns.rcode.NXDOMAIN
    assert any(r.rdtype == dns.rdatatype.NSEC3 for r in nx.authority)
    resolver, _ = validator(separate, network)
    assert resolve(resolver, "nx.example.test.", "A").status is Status.SECURE
    assert resolve(resolver, "nodata.nsec3.test.", "TXT").status is Status.SECURE


def test_insecureAndBogus(separate: Hierarchy) -> None:
    """
    The insecure delegation is insecure, the bogus zones bogus, whichever way fetched.
    """
    resolver, _ = validator(separate, Network.forHierarchy(separate))
    assert resolve(resolver, "www.unsigned.test.", "A").status is Status.INSECURE
    assert resolve(resolver, "www.insecure.optout.test.", "A").status is Status.INSECURE
    for name in ("www.badds.test.", "www.expired.test.", "nosig.example.test."):
        assert resolve(resolver, name, "A").status is Status.BOGUS, name


def test_outOfBailiwickNameServer() -> None:
    """
    A zone whose name server lies in another zone (no glue the delegating zone may give):
    the name server's address is looked up from the root, then the zone is asked.
    """
    hierarchy = separateHierarchy(insecure_optout_test=[("ns1.example.test.", "127.53.1.3")])
    network = Network.forHierarchy(hierarchy)
    resolver, _querier = validator(hierarchy, network)
    answer = resolve(resolver, "www.insecure.optout.test.", "A")
    assert answer.status is Status.INSECURE
    assert ("127.53.1.3", "ns1.example.test.", "A") in network.asked
    assert ("127.53.1.3", "www.insecure.optout.test.", "A") in network.asked


def test_outOfBailiwickGlueIgnored(separate: Hierarchy) -> None:
    """
    Glue for a name outside the referring zone's bailiwick is not used: test.'s server
    claims ns1.example.test. is at a silent address, the root's referral says where test.'s
    own name server is; the address of a name elsewhere comes from its own zone.
    """
    engine = Network.forHierarchy(separate)
    testServer = engine.servers["127.53.1.2"]
    assert isinstance(testServer, Responder)

    def poisoning(query: dns.message.Message) -> dns.message.Message:
        response = parseMessage(testServer.respondWire(query.to_wire(), tcp=True) or b"")
        if query.question[0].name == dns.name.from_text("www.nsec3.test."):
            # Refer nsec3.test. to a name in example.test., with glue for it and for a
            # name outside test. altogether.
            response.authority = [
                dns.rrset.from_text("nsec3.test.", 3600, "IN", "NS", "ns1.example.test.")
            ]
            response.additional = [
                dns.rrset.from_text("ns1.example.test.", 3600, "IN", "A", "127.53.1.99"),
                dns.rrset.from_text("ns.elsewhere.", 3600, "IN", "A", "127.53.1.98"),
            ]
        return response

    engine.servers["127.53.1.2"] = poisoning
    # ns1.example.test. is inside test.'s bailiwick: its glue is used (and is silent), then
    # nothing else is left.
    querier = querierFor(engine)
    error = queryFailure(querier, "www.nsec3.test.", "A")
    assert isinstance(error, IterativeResolutionError)
    assert "127.53.1.99" in str(error)

    def outside(query: dns.message.Message) -> dns.message.Message:
        response = poisoning(query)
        if query.question[0].name == dns.name.from_text("www.nsec3.test."):
            response.authority = [
                dns.rrset.from_text("nsec3.test.", 3600, "IN", "NS", "ns.elsewhere.")
            ]
        return response

    engine.servers["127.53.1.2"] = outside
    engine.asked.clear()
    error = queryFailure(querierFor(engine), "www.nsec3.test.", "A")
    # ns.elsewhere.'s glue (127.53.1.98) was ignored: its address was asked of the root,
    # which has no such name.
    assert not any(a == "127.53.1.98" for a, _, _ in engine.asked)
    assert ("127.53.1.1", "ns.elsewhere.", "A") in engine.asked
    assert "no address found for ns.elsewhere." in str(error)


def test_answerOutsideTheZoneDropped() -> None:
    """
    An authoritative answer keeps only the records of the zone asked (RFC 2181 section
    5.4.1): example.test.'s server, answering a CNAME into another zone, adds records for the
    target, an address of its choice for a name in the unsigned zone, and an old RRset of
    the signed zone nsec3.test. replayed with a signature still valid. Neither is used: the
    validator asks the target's own servers, and gets their records.
    """
    import dns.dnssec

    hierarchy = buildHierarchy(
        nameServers=separateNameServers("127.53.1.0/24"),
        extraRecords={
            "example.test.": [
                "tosigned 300 IN CNAME www.nsec3.test.",
                "tonothing 300 IN CNAME nx.nsec3.test.",
            ]
        },
    )
    network = Network.forHierarchy(hierarchy)
    example = hierarchy.nameServers[dns.name.from_text("example.test.")][0][1]
    honest = network.servers[example]
    assert isinstance(honest, Responder)
    zone = dns.name.from_text("nsec3.test.")
    key = hierarchy.keys[zone][0]
    old = dns.rrset.from_text("www.nsec3.test.", 300, "IN", "A", "203.0.113.66")
    signature = dns.dnssec.sign(
        old,
        key.privateKey,
        zone,
        key.dnskey,
        inception=hierarchy.now - 3600,
        expiration=hierarchy.now + 86400,
    )
    replayed = [old, dns.rrset.from_rdata("www.nsec3.test.", 300, signature)]

    def adding(query: dns.message.Message) -> dns.message.Message:
        response = parseMessage(honest.respondWire(query.to_wire(), tcp=True) or b"")
        name = query.question[0].name.to_text()
        if name == "tounsigned.example.test.":
            response.answer.append(
                dns.rrset.from_text("www.unsigned.test.", 300, "IN", "A", "198.51.100.66")
            )
        elif name == "tosigned.example.test.":
            response.answer += replayed
        elif name == "tonothing.example.test.":
            # As a server that also held nsec3.test. would answer (RFC 6604): the target's
            # NXDOMAIN, whose proof is not example.test.'s to give.
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response

    network.servers[example] = adding
    resolver, _ = validator(hierarchy, network)
    for alias, status, target, targetZone in [
        ("tounsigned.example.test.", Status.INSECURE, "www.unsigned.test.", "unsigned.test."),
        ("tosigned.example.test.", Status.SECURE, "www.nsec3.test.", "nsec3.test."),
    ]:
        answer = resolve(resolver, alias, "A")
        assert answer.status is status, alias
        assert answer.rrset is not None
        assert [r.to_text() for r in answer.rrset] == ["127.0.0.1"], alias
        own = hierarchy.nameServers[dns.name.from_text(targetZone)][0][1]
        assert (own, target, "A") in network.asked, alias
    # The target's NXDOMAIN comes from its own zone, with its proof.
    answer = resolve(resolver, "tonothing.example.test.", "A")
    assert (answer.status, answer.rcode) == (Status.SECURE, dns.rcode.NXDOMAIN)
    own = hierarchy.nameServers[dns.name.from_text("nsec3.test.")][0][1]
    assert (own, "nx.nsec3.test.", "A") in network.asked


def referExampleTo(network: Network, hierarchy: Hierarchy, *servers: tuple[str, str]) -> None:
    """
    Make test.'s server refer example.test. to C{servers} (name, address), in that order.
    """
    testServer = network.servers["127.53.1.2"]
    assert isinstance(testServer, Responder)
    example = dns.name.from_text("example.test.")

    def ordered(query: dns.message.Message) -> dns.message.Message:
        response = parseMessage(testServer.respondWire(query.to_wire(), tcp=True) or b"")
        if query.question[0].name.is_subdomain(example) and response.authority:
            names = [name for name, _ in servers]
            ns = dns.rrset.from_text("example.test.", 3600, "IN", "NS", *names)
            response.authority = [r for r in response.authority if r.rdtype != dns.rdatatype.NS]
            response.authority.insert(0, ns)
            response.additional = [
                dns.rrset.from_text(name, 3600, "IN", "A", address) for name, address in servers
            ]
        return response

    network.servers["127.53.1.2"] = ordered


def test_lameServerSkipped(separate: Hierarchy) -> None:
    """
    A server listed for a zone that does not serve it (REFUSED), and one that answers
    without authority, are skipped; the next server answers.
    """
    network = Network.forHierarchy(separate)
    network.servers["127.53.1.40"] = responderForZones([separate.zones[dns.name.root]])

    def noAuthority(query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.answer = [dns.rrset.from_text(query.question[0].name, 300, "IN", "A", "10.9.9.9")]
        return response

    network.servers["127.53.1.41"] = noAuthority
    referExampleTo(
        network,
        separate,
        ("ns0.example.test.", "127.53.1.40"),
        ("ns2.example.test.", "127.53.1.41"),
        ("ns1.example.test.", "127.53.1.3"),
    )
    resolver, _querier = validator(separate, network)
    answer = resolve(resolver, "www.example.test.", "A")
    assert answer.status is Status.SECURE
    asked = [a for a, n, _ in network.asked if n == "www.example.test."]
    assert asked[-3:] == ["127.53.1.40", "127.53.1.41", "127.53.1.3"]


def test_silentServerSkipped(separate: Hierarchy) -> None:
    """
    A server that does not answer (timeout) or whose port is closed is skipped.
    """
    network = Network.forHierarchy(separate)
    network.servers["127.53.1.43"] = lambda query: DNSUnreachableError(
        "port unreachable", NameServer("127.53.1.43")
    )
    referExampleTo(
        network,
        separate,
        ("ns0.example.test.", "127.53.1.42"),
        ("ns2.example.test.", "127.53.1.43"),
        ("ns1.example.test.", "127.53.1.3"),
    )
    resolver, _ = validator(separate, network)
    assert resolve(resolver, "www.example.test.", "A").status is Status.SECURE
    asked = [a for a, n, _ in network.asked if n == "www.example.test."]
    assert asked[-3:] == ["127.53.1.42", "127.53.1.43", "127.53.1.3"]


def test_everyServerFails() -> None:
    """
    When no server of a zone answers, the query fails with an error naming the zone and
    what each server did; the validator's lookup fails, never an empty answer.
    """
    hierarchy = separateHierarchy()
    network = Network.forHierarchy(hierarchy)
    del network.servers["127.53.1.3"]
    resolver, _ = validator(hierarchy, network)
    error = failureOf(resolver.lookup("www.example.test.", "A"))
    assert isinstance(error, LookupFailedError)
    assert isinstance(error.cause, IterativeResolutionError)
    assert "no server of example.test. answered www.example.test. A" in str(error)
    assert "127.53.1.3 did not answer" in str(error)


def test_upwardReferralIsLame(separate: Hierarchy) -> None:
    """
    A referral back up (to the root) or sideways is lame, not followed.
    """
    network = Network.forHierarchy(separate)
    upward = responderForZones([separate.zones[dns.name.root]])

    def up(query: dns.message.Message) -> dns.message.Message:
        response = parseMessage(upward.respondWire(query.to_wire(), tcp=True) or b"")
        response.flags &= ~dns.flags.AA
        response.answer = []
        response.authority = [dns.rrset.from_text(".", 3600, "IN", "NS", "a.root-servers.")]
        return response

    network.servers["127.53.1.3"] = up
    error = queryFailure(querierFor(network), "www.example.test.", "A")
    assert "referred to ., which is not below example.test." in str(error)


# -- the bounds ------------------------------------------------------------------------------


def referral(
    query: dns.message.Message, cut: str, *names: str, glue: str = ""
) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.flags &= ~dns.flags.AA
    response.authority = [dns.rrset.from_text(cut, 3600, "IN", "NS", *names)]
    if glue:
        response.additional = [dns.rrset.from_text(name, 3600, "IN", "A", glue) for name in names]
    return response


def test_referralLoop() -> None:
    """
    A server that refers each question one label deeper, to itself, is followed at most
    C{maxReferrals} times.
    """

    labels = [1]

    def deeper(query: dns.message.Message) -> dns.message.Message:
        qname = query.question[0].name
        labels[0] += 1
        cut = qname.split(labels[0])[1]
        return referral(query, cut.to_text(), f"ns.{cut}", glue="127.53.1.1")

    network = Network({"127.53.1.1": deeper})
    name = ".".join(f"l{i}" for i in range(40)) + "."
    error = queryFailure(querierFor(network), name, "A")
    assert isinstance(error, IterationLimitError)
    assert error.limit == "maxReferrals"
    assert "more than 16 referrals" in str(error)
    assert len(network.asked) == 17


def fanOutNetwork() -> Network:
    """
    A root that delegates C{victim.} to 50 name servers without glue, each of which has an
    address of its own (in C{other.}, which the root answers) where nobody answers.
    """
    names = [f"ns{i}.other." for i in range(50)]

    def root(query: dns.message.Message) -> dns.message.Message:
        qname = query.question[0].name
        if qname.is_subdomain(dns.name.from_text("victim.")):
            return referral(query, "victim.", *names)
        response = dns.message.make_response(query)
        number = int(qname.labels[0][2:])
        response.answer = [dns.rrset.from_text(qname, 300, "IN", "A", f"127.53.1.{100 + number}")]
        response.flags |= dns.flags.AA
        return response

    return Network({"127.53.1.1": root})


def test_fanOut() -> None:
    """
    A delegation to many name servers without glue: at most C{maxNSNames} of them are
    considered, and at most C{maxServersPerQuery} server addresses are tried.
    """
    network = fanOutNetwork()
    limits = IterativeLimits(maxServersPerQuery=4)
    error = queryFailure(querierFor(network, limits), "www.victim.", "A")
    assert isinstance(error, IterationLimitError)
    assert error.limit == "maxServersPerQuery"
    assert "within 4 servers tried" in str(error)
    tried = [a for a, n, _ in network.asked if n == "www.victim."]
    assert len(tried) == 5  # the root's referral, then four servers

    network = fanOutNetwork()
    error = queryFailure(querierFor(network, IterativeLimits(maxNSNames=3)), "www.victim.", "A")
    assert isinstance(error, IterativeResolutionError)
    assert "no server of victim. answered" in str(error)
    lookedUp = {n for _, n, _ in network.asked if n.startswith("ns")}
    assert len(lookedUp) == 3


def test_queriesPerLookup() -> None:
    """
    The queries of one lookup, name server address lookups included, are bounded.
    """
    network = fanOutNetwork()
    limits = IterativeLimits(
        maxNSNames=50, maxServersPerQuery=50, maxGluelessNS=50, maxQueriesPerLookup=20
    )
    querier = querierFor(network, limits)
    error = queryFailure(querier, "www.victim.", "A")
    assert isinstance(error, IterationLimitError)
    assert error.limit == "maxQueriesPerLookup"
    assert "more than 20 queries needed" in str(error)
    assert len(network.asked) == 20
    assert querier.lastQueries == 21


def test_nameServerChain() -> None:
    """
    z1.'s name server is in z2., whose name server is in z3., and so on, never with glue:
    the nested address lookups stop at C{maxNSLookupDepth}.
    """

    def root(query: dns.message.Message) -> dns.message.Message:
        qname = query.question[0].name
        zone = qname.split(2)[1]
        number = int(zone.to_text()[1:-1])
        return referral(query, zone.to_text(), f"ns.z{number + 1}.")

    network = Network({"127.53.1.1": root})
    error = queryFailure(querierFor(network), "www.z1.", "A")
    assert isinstance(error, IterationLimitError)
    assert error.limit == "maxNSLookupDepth"
    assert "more than 3 nested name server address lookups" in str(error)
    asked = {n for _, n, _ in network.asked}
    assert asked == {"www.z1.", "ns.z2.", "ns.z3.", "ns.z4."}


def test_nameServerNeedsItself() -> None:
    """
    A zone whose only name server lies inside it, without glue, cannot be reached: the
    error says so.
    """
    network = Network({"127.53.1.1": lambda q: referral(q, "z.", "ns.z.")})
    error = queryFailure(querierFor(network), "www.z.", "A")
    assert "ns.z. has no glue" in str(error)


def test_delegationCacheBounded(separate: Hierarchy) -> None:
    """
    The delegation cache holds at most C{cacheSize} entries, delegations and name server
    addresses together (half each).
    """
    network = Network.forHierarchy(separate)
    querier = querierFor(network, IterativeLimits(cacheSize=4))
    for name in ("www.example.test.", "www.nsec3.test.", "www.unsigned.test."):
        ask(querier, name, "A")
    assert querier.cachedDelegations <= 4  # two delegations, two addresses at most
    assert len(querier._delegations) == 2


def test_delegationCacheBoundedInBytes(separate: Hierarchy) -> None:
    """
    The delegation cache holds at most C{cacheBytes} estimated bytes: with room for about
    one delegation, the next evicts the last.
    """
    network = Network.forHierarchy(separate)
    querier = querierFor(network, IterativeLimits(cacheBytes=2 * 1400))
    ask(querier, "www.example.test.", "A")
    assert querier._delegations.bytes <= 1400
    assert len(querier._delegations) == 1
    network.asked.clear()
    ask(querier, "mx.example.test.", "A")
    # test. was evicted by example.test.: the root is not asked, example.test. is.
    assert [a for a, _, _ in network.asked] == ["127.53.1.3"]


# -- root hints ------------------------------------------------------------------------------


def test_testsNeverAskTheRealRoot() -> None:
    """
    In the tests, a querier given no root hints (and a resolver's fallback past roadblocks)
    asks a closed loopback port, never the IANA root servers built in (C{tests/conftest.py}
    patches them where the querier reads them).
    """
    assert IterativeQuerier(Clock()).rootHints == (NameServer("127.0.0.1", 9),)


def test_readRootHints(tmp_path: object) -> None:
    """
    A root hints file in IANA's format gives the root servers' addresses, IPv4 first.
    """
    from pathlib import Path

    path = Path(str(tmp_path)) / "named.root"
    path.write_text(
        ";       This file holds the information on root name servers\n"
        ".                        3600000      NS    A.ROOT-SERVERS.NET.\n"
        "A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4\n"
        "A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30\n"
        ".                        3600000      NS    B.ROOT-SERVERS.NET.\n"
        "B.ROOT-SERVERS.NET.      3600000      A     170.247.170.2\n"
    )
    assert readRootHints(str(path)) == (
        NameServer("198.41.0.4"),
        NameServer("170.247.170.2"),
        NameServer("2001:503:ba3e::2:30"),
    )
    assert readRootHints(str(path), port=5353)[0] == NameServer("198.41.0.4", 5353)
    path.write_text(". 3600 NS a.root-servers.net.\n")
    with pytest.raises(RootHintsError, match="no A or AAAA record"):
        readRootHints(str(path))
    path.write_text("this is not a zone file\n")
    with pytest.raises(RootHintsError, match="not a root hints file"):
        readRootHints(str(path))
    with pytest.raises(RootHintsError) as raised:
        readRootHints(str(path) + ".missing")
    # The words only, once: the message names the path already.
    assert str(raised.value).endswith(": No such file or directory"), str(raised.value)
    assert "Errno" not in str(raised.value)
    path.write_bytes(b"\xff\xfe not text")
    with pytest.raises(RootHintsError, match="not UTF-8 text"):
        readRootHints(str(path))


# -- over real sockets -----------------------------------------------------------------------


class OverLoopbackTests(TestCase):
    """
    The hierarchy served zone by zone on 127.53.1.x (one port free on all), resolved with the
    real DNS client.
    """

    async def test_resolvesOverTheWire(self) -> None:
        hierarchy = separateHierarchy()
        servers = await hierarchy.serveEach(reactor, port=0)
        for server in servers:
            self.addCleanup(server.stop)
        port = servers[0].port
        querier = IterativeQuerier(
            reactor, hierarchy.rootHints(port), port=port, limits=IterativeLimits(serverTimeout=1)
        )
        resolver = ValidatingResolver(
            querier, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor])
        )
        for case in CASES[:3] + CASES[-8:]:
            answer = await resolver.lookup(case.name, case.rdtype)
            self.assertIs(answer.status, case.status, (case, answer))

    async def test_silentServerTimesOut(self) -> None:
        """
        A root server that never answers is given up after C{serverTimeout}, and the next
        one is asked; when none is left, the error says each did not answer.
        """
        from twisted.internet.protocol import DatagramProtocol

        silent = reactor.listenUDP(  # type: ignore[attr-defined]
            0, DatagramProtocol(), interface="127.53.1.250"
        )
        self.addCleanup(silent.stopListening)
        port = silent.getHost().port
        querier = IterativeQuerier(
            reactor,
            [NameServer("127.53.1.250", port)],
            port=port,
            limits=IterativeLimits(serverTimeout=0.2),
        )
        with self.assertRaises(IterativeResolutionError) as caught:
            await querier.query("www.example.test.", "A", dnssecOK=True)
        self.assertIn(f"127.53.1.250#{port} did not answer", str(caught.exception))


# -- hostile delegations ---------------------------------------------------------------------


def authoritative(
    query: dns.message.Message, rcode: dns.rcode.Rcode = dns.rcode.NOERROR, *answers: str
) -> dns.message.Message:
    """
    An authoritative response to C{query}, with C{answers} (record text without the owner:
    "A 192.0.2.1") for its name.
    """
    response = dns.message.make_response(query)
    response.flags |= dns.flags.AA
    response.set_rcode(rcode)
    qname = query.question[0].name
    response.answer = [dns.rrset.from_text(qname, 300, "IN", *text.split()) for text in answers]
    return response


def addressServer(
    nameServer: str, nameServerAddress: str, address: str
) -> Callable[[dns.message.Message], dns.message.Message]:
    """
    A zone's server that answers an A query for its own C{nameServer} with
    C{nameServerAddress}, one for any other name with C{address}, and any other type NODATA.
    """
    own = dns.name.from_text(nameServer)

    def answer(query: dns.message.Message) -> dns.message.Message:
        if query.question[0].rdtype != dns.rdatatype.A:
            return authoritative(query)
        found = nameServerAddress if query.question[0].name == own else address
        return authoritative(query, dns.rcode.NOERROR, f"A {found}")

    return answer


def refer(
    query: dns.message.Message, cut: str, names: list[str], glue: Mapping[str, list[str]]
) -> dns.message.Message:
    """
    A referral to C{cut}'s C{names}, with C{glue} (name -> addresses, A or AAAA).
    """
    response = dns.message.make_response(query)
    response.flags &= ~dns.flags.AA
    response.authority = [dns.rrset.from_text(cut, 3600, "IN", "NS", *names)]
    for name, addresses in glue.items():
        for address in addresses:
            rdtype = "AAAA" if ":" in address else "A"
            response.additional.append(dns.rrset.from_text(name, 3600, "IN", rdtype, address))
    return response


def nxnsNetwork(names: list[str]) -> Network:
    """
    The root (127.53.1.1) delegates C{evil.} (127.53.1.2), C{victim.} (127.53.1.3) and
    C{ok.} (127.53.1.4); C{evil.} delegates C{sub.evil.}, without glue, to C{names}. The
    victim's server says that no name exists; C{ok.}'s server answers A queries.
    """
    zones = {"evil.": "127.53.1.2", "victim.": "127.53.1.3", "ok.": "127.53.1.4"}

    def root(query: dns.message.Message) -> dns.message.Message:
        qname = query.question[0].name
        for zone, address in zones.items():
            if qname.is_subdomain(dns.name.from_text(zone)):
                return refer(query, zone, [f"ns.{zone}"], {f"ns.{zone}": [address]})
        return authoritative(query, dns.rcode.NXDOMAIN)

    def evil(query: dns.message.Message) -> dns.message.Message:
        if query.question[0].name.is_subdomain(dns.name.from_text("sub.evil.")):
            return refer(query, "sub.evil.", names, {})
        return authoritative(query, dns.rcode.NXDOMAIN)

    ok = addressServer("ns.ok.", "127.53.1.4", "192.0.2.7")

    return Network(
        {
            "127.53.1.1": root,
            "127.53.1.2": evil,
            "127.53.1.3": lambda query: authoritative(query, dns.rcode.NXDOMAIN),
            "127.53.1.4": ok,
        }
    )


def toVictim(network: Network) -> list[tuple[str, str]]:
    asked = [(name, rdtype) for address, name, rdtype in network.asked if address == "127.53.1.3"]
    network.asked.clear()
    return asked


def test_glueless() -> None:
    """
    NXNSAttack: a zone delegated, without glue, to many names in another zone that do not
    exist. One question looks up at most C{maxGluelessNS} of them, asks no AAAA after an
    authoritative NXDOMAIN for the A query (RFC 8020), and a failed lookup is remembered
    for C{FAILED_NS_TTL} seconds, so questions after it do not repeat it.
    """
    network = nxnsNetwork([f"x{i}.victim." for i in range(20)])
    clock = Clock()
    querier = IterativeQuerier(clock, [NameServer("127.53.1.1")], clientFactory=network.clientFor)
    error = queryFailure(querier, "www.sub.evil.", "A")
    assert isinstance(error, IterationLimitError)
    assert error.limit == "maxGluelessNS"
    assert "name servers without glue not looked up (x5.victim., " in str(error)
    assert toVictim(network) == [(f"x{i}.victim.", "A") for i in range(5)]
    # The next question: the names that failed are not asked again, the next ones are
    # (maxNSNames, 10, are considered at all).
    queryFailure(querier, "www.sub.evil.", "AAAA")
    assert toVictim(network) == [(f"x{i}.victim.", "A") for i in range(5, 10)]
    for name in ("sub.evil.", "a.sub.evil.", "b.sub.evil."):
        error = queryFailure(querier, name, "TXT")
        assert "no address found for x0.victim. (a recent lookup failed)" in str(error)
    assert toVictim(network) == []
    clock.advance(61)
    queryFailure(querier, "www.sub.evil.", "A")
    assert toVictim(network) == [(f"x{i}.victim.", "A") for i in range(5)]


def test_gluelessWorkingServerLast() -> None:
    """
    A delegation to nine names that do not exist, then to one that works: the first
    question looks up five and fails; the next one goes on with the others, finds the
    working one, and from then on no question asks the victim anything.
    """
    network = nxnsNetwork([f"rnd{i}.victim." for i in range(9)] + ["ns.ok."])
    querier = querierFor(network)
    error = queryFailure(querier, "www0.sub.evil.", "A")
    assert isinstance(error, IterationLimitError)
    assert len(toVictim(network)) == 5
    for i in range(1, 10):
        response = ask(querier, f"www{i}.sub.evil.", "A")
        assert response.answer[0][0].address == "192.0.2.7"
    assert toVictim(network) == [(f"rnd{i}.victim.", "A") for i in range(5, 9)]


@pytest.mark.parametrize("order", [("ns.broken.", "ns.good."), ("ns.good.", "ns.broken.")])
def test_brokenNameServerIsNotFatal(order: tuple[str, str]) -> None:
    """
    A zone with two name servers without glue, one of them in a zone whose servers all
    refuse (more than C{maxServersPerQuery} of them): that name server's lookup hits a bound
    of the other zone, which rules out that name server only; the zone is resolved through
    the other, whichever comes first.
    """
    broken = [f"127.53.1.{10 + i}" for i in range(9)]

    def root(query: dns.message.Message) -> dns.message.Message:
        qname = query.question[0].name
        if qname.is_subdomain(dns.name.from_text("victim.")):
            return refer(query, "victim.", list(order), {})
        if qname.is_subdomain(dns.name.from_text("broken.")):
            names = [f"ns{i}.broken." for i in range(9)]
            return refer(query, "broken.", names, {n: [a] for n, a in zip(names, broken)})
        if qname.is_subdomain(dns.name.from_text("good.")):
            return refer(query, "good.", ["ns.good."], {"ns.good.": ["127.53.1.2"]})
        return authoritative(query, dns.rcode.NXDOMAIN)

    good = addressServer("ns.good.", "127.53.1.2", "192.0.2.1")

    servers: dict[str, Responder | Handler] = {"127.53.1.1": root, "127.53.1.2": good}
    servers.update({address: _refused for address in broken})
    network = Network(servers)
    response = ask(querierFor(network), "www.victim.", "A")
    assert response.answer[0][0].address == "192.0.2.1"
    assert ("127.53.1.2", "www.victim.", "A") in network.asked


def test_internalAddressesNotAsked() -> None:
    """
    Glue, and looked-up name server addresses, that point at this host or its link
    (unspecified, loopback, multicast, link-local, IPv4-mapped ones too) are not asked when
    the root hints are elsewhere.
    """
    internal = ["0.0.0.0", "127.0.0.1", "::1", "224.0.0.1", "169.254.1.1", "fe80::1"]
    internal += ["::ffff:127.0.0.1", "::"]

    def root(query: dns.message.Message) -> dns.message.Message:
        qname = query.question[0].name
        if qname.is_subdomain(dns.name.from_text("evil.")):
            return refer(query, "evil.", ["ns.evil."], {"ns.evil.": ["192.0.2.2"]})
        if qname == dns.name.from_text("ns.elsewhere."):
            return authoritative(query, dns.rcode.NOERROR, "A 127.0.0.2")
        return authoritative(query, dns.rcode.NXDOMAIN)

    def evil(query: dns.message.Message) -> dns.message.Message:
        names = [f"n{i}.evil." for i in range(len(internal))]
        glue = {name: [address] for name, address in zip(names, internal)}
        glue["ok.evil."] = ["192.0.2.3"]
        return refer(query, "sub.evil.", ["ns.elsewhere.", *names, "ok.evil."], glue)

    network = Network(
        {
            "192.0.2.1": root,
            "192.0.2.2": evil,
            "192.0.2.3": lambda query: authoritative(query, dns.rcode.NOERROR, "A 192.0.2.9"),
        }
    )
    querier = IterativeQuerier(Clock(), [NameServer("192.0.2.1")], clientFactory=network.clientFor)
    response = ask(querier, "www.sub.evil.", "A")
    assert response.answer[0][0].address == "192.0.2.9"
    asked = {address for address, _, _ in network.asked}
    assert asked == {"192.0.2.1", "192.0.2.2", "192.0.2.3"}
    # Neither is the looked-up address of a name server elsewhere.
    network.servers["192.0.2.3"] = lambda query: DNSTimeoutError(
        query.question[0].name, query.question[0].rdtype, [NameServer("192.0.2.3")], 1
    )
    network.asked.clear()
    error = queryFailure(querier, "www2.sub.evil.", "A")
    assert "127.0.0.1 not asked (loopback address)" in str(error)
    assert "0.0.0.0 not asked (unspecified address)" in str(error)
    assert "127.0.0.2 not asked (loopback address)" in str(error)
    assert {address for address, _, _ in network.asked} <= {"192.0.2.1", "192.0.2.3"}


def test_ipv4BeforeIPv6() -> None:
    """
    Every IPv4 glue address of a delegation is tried before any IPv6 one, not name by name:
    on a host without IPv6, dual-stacked lame servers do not use up C{maxServersPerQuery}
    with IPv6 addresses that cannot answer.
    """
    v4 = [f"127.53.1.{10 + i}" for i in range(1, 6)]
    v6 = [f"2001:db8::{i}" for i in range(1, 6)]

    def root(query: dns.message.Message) -> dns.message.Message:
        names = [f"ns{i}.v." for i in range(1, 6)]
        glue = {name: [a, b] for name, a, b in zip(names, v4, v6)}
        return refer(query, "v.", names, glue)

    servers: dict[str, Responder | Handler] = {"127.53.1.1": root}
    servers.update({address: _refused for address in v4[:4]})
    servers[v4[4]] = lambda query: authoritative(query, dns.rcode.NOERROR, "A 192.0.2.5")
    network = Network(servers)
    response = ask(querierFor(network), "www.v.", "A")
    assert response.answer[0][0].address == "192.0.2.5"
    assert [address for address, _, _ in network.asked] == ["127.53.1.1", *v4]


# -- the question's deadline -----------------------------------------------------------------


class _SilentClient:
    """
    A server that never answers (the query's Deferred never fires unless cancelled).
    """

    def __init__(self, network: Network, server: NameServer) -> None:
        self.network = network
        self.server = server

    def query(
        self, name: dns.name.Name | str, rdtype: object, *args: object, **kwargs: object
    ) -> Deferred[dns.message.Message]:
        self.network.asked.append((self.server.host, str(name), str(rdtype)))
        return Deferred()


def test_questionTimeout() -> None:
    """
    A question that has no answer within C{questionTimeout} fails with the querier's own
    reason (the zone and the servers that did not answer), below the validator's
    C{lookupTimeout}: the lookup's error is that reason, not the lookup's generic timeout.
    """
    network = Network({})
    clock = Clock()
    hints = [NameServer(f"127.53.1.{i}") for i in range(1, 7)]
    querier = IterativeQuerier(
        clock,
        hints,
        limits=IterativeLimits(serverTimeout=2, questionTimeout=5),
        clientFactory=lambda server: _SilentClient(network, server),
    )
    results: list[object] = []
    querier.query("www.example.test.", "A", dnssecOK=True).addBoth(results.append)
    clock.advance(4.9)
    assert results == []
    clock.advance(0.1)
    (failure,) = results
    error = failure.value  # type: ignore[attr-defined]
    assert isinstance(error, IterationLimitError)
    assert error.limit == "questionTimeout"
    assert "no answer within 5 s; no server of . had answered www.example.test. A" in str(error)
    assert "127.53.1.1 did not answer" in str(error)
    # No server is asked after the deadline.
    assert len(network.asked) == 1
    clock.advance(60)
    assert len(network.asked) == 1

    # Under a validator with the default bounds (lookupTimeout 10 s, questionTimeout 8 s).
    querier = IterativeQuerier(
        clock, hints, clientFactory=lambda server: _SilentClient(network, server)
    )
    resolver = ValidatingResolver(querier, clock=clock)
    lookups: list[object] = []
    resolver.lookup("www.example.test.", "A").addBoth(lookups.append)
    clock.advance(8)
    (failure,) = lookups
    lookupError = failure.value  # type: ignore[attr-defined]
    assert isinstance(lookupError, LookupFailedError)
    assert isinstance(lookupError.cause, IterationLimitError)
    assert "no answer within 8 s; no server of . had answered" in str(lookupError)


def test_responseBytesPerLookup(separate: Hierarchy) -> None:
    """
    One question receives at most C{maxResponseBytesPerLookup} octets of responses, name
    server address lookups included: past it, it fails with that bound's name, asking no
    server more (a zone's servers choose what they send, and reading names of many labels
    costs microseconds per octet). The same question within the bound is answered.
    """
    network = Network.forHierarchy(separate)
    assert ask(querierFor(network), "www.example.test.", "A").answer
    root = network.clientFor(NameServer("127.53.1.1"))
    referral = root.query("www.example.test.", "A", dnssecOK=True, recursionDesired=False)
    first = referral.result  # the first response the question receives
    assert isinstance(first, dns.message.Message) and first.wire is not None
    limit = len(first.wire)
    network = Network.forHierarchy(separate)
    limits = IterativeLimits(maxResponseBytesPerLookup=limit)
    error = queryFailure(querierFor(network, limits), "www.example.test.", "A")
    assert isinstance(error, IterationLimitError)
    assert error.limit == "maxResponseBytesPerLookup"
    assert f"more than {limit} octets of responses received" in str(error)
    assert len(network.asked) == 2  # the root's referral fits, the next does not


class _Counting(Network):
    """
    A L{Network} that notes the size of every response its servers send, refusals included.
    """

    def __init__(self, servers: Mapping[str, Responder | Handler]) -> None:
        super().__init__(servers)
        self.sizes: list[int] = []

    def clientFor(self, server: NameServer) -> _Client:
        client = super().clientFor(server)
        query = client.query

        def counted(*args: Any, **kwargs: Any) -> Deferred[dns.message.Message]:
            def note(result: Any) -> Any:
                response = getattr(getattr(result, "value", None), "response", result)
                assert isinstance(response, dns.message.Message) and response.wire is not None
                self.sizes.append(len(response.wire))
                return result

            return query(*args, **kwargs).addBoth(note)

        client.query = counted  # type: ignore[method-assign]
        return client


def test_lookupResponseBytesCountUpstream(separate: Hierarchy) -> None:
    """
    Under a validator, what the querier receives for the lookup (referrals, the answers it
    passes on, name server address lookups) counts toward the lookup's
    C{maxResponseBytesPerLookup}, every response once: the lookup gets exactly that many
    octets, and fails asking nothing more one octet below, with the lookup's error. Counted
    only per question, 48 questions could each receive the question's bound.
    """

    def lookup(limit: int | None) -> tuple[_Counting, object]:
        network = _Counting(Network.forHierarchy(separate).servers)
        clock = Clock()
        clock.advance(separate.now)
        querier = IterativeQuerier(clock, separate.rootHints(), clientFactory=network.clientFor)
        resolver = ValidatingResolver(
            querier,
            trustAnchors=TrustAnchors.fromRRsets([separate.trustAnchor]),
            limits=ValidationLimits()
            if limit is None
            else ValidationLimits(maxResponseBytesPerLookup=limit),
            clock=clock,
        )
        results: list[object] = []
        resolver.lookup("www.example.test.", "A").addBoth(results.append)
        assert results, "did not finish"
        return network, results[0]

    honest, answer = lookup(None)
    assert isinstance(answer, Answer) and answer.status is Status.SECURE
    total = sum(honest.sizes)
    assert len(honest.sizes) >= 6  # referrals from the root down, answers, the chain's keys
    enough, answer = lookup(total)
    assert isinstance(answer, Answer) and answer.status is Status.SECURE
    assert enough.sizes == honest.sizes
    short, failed = lookup(total - 1)
    error = failed.value  # type: ignore[attr-defined]
    assert isinstance(error, WorkLimitExceededError)
    assert f"more than {total - 1} octets of responses received" in str(error)
    assert short.sizes == honest.sizes  # the last response passed the bound: nothing after it
    # The final responses alone are far below: counted only per question, this passed.
    _, failedEarly = lookup(total // 2)
    assert isinstance(failedEarly.value, WorkLimitExceededError)  # type: ignore[attr-defined]
    # Passed in the middle of a question (at a referral): that question asks nothing more.
    for received in (2, 3):
        limit = sum(honest.sizes[:received]) - 1
        stopped, failed = lookup(limit)
        assert stopped.sizes == honest.sizes[:received]
        error = failed.value  # type: ignore[attr-defined]
        assert isinstance(error, WorkLimitExceededError)
        assert f"more than {limit} octets of responses received" in str(error)
        assert isinstance(error.__cause__, IterationLimitError)


def _rejectingEDNS(query: dns.message.Message) -> Exception:
    response = dns.message.make_response(query)
    response.use_edns(False)
    response.set_rcode(dns.rcode.FORMERR)
    read = parseMessage(response.to_wire())
    return EDNSUnsupportedError(NameServer("127.53.1.1"), read.rcode(), read)


@pytest.mark.parametrize("refused", [_refused, _rejectingEDNS], ids=["REFUSED", "no EDNS"])
def test_refusalsCountAsReceived(refused: Handler) -> None:
    """
    A refusal (an RCODE other than NOERROR and NXDOMAIN, or EDNS rejected) is read as any
    response: it counts toward C{maxResponseBytesPerLookup}, so servers that refuse with large
    responses cannot be asked beyond it.
    """

    hints = [f"127.53.1.{i}" for i in range(1, 4)]
    network = _Counting({address: refused for address in hints})
    querier = IterativeQuerier(
        Clock(), [NameServer(a) for a in hints], clientFactory=network.clientFor
    )
    assert isinstance(queryFailure(querier, "www.example.test.", "A"), IterativeResolutionError)
    assert len(network.asked) == 3
    one = network.sizes[0]
    network = _Counting({address: refused for address in hints})
    querier = IterativeQuerier(
        Clock(),
        [NameServer(a) for a in hints],
        limits=IterativeLimits(maxResponseBytesPerLookup=one),
        clientFactory=network.clientFor,
    )
    error = queryFailure(querier, "www.example.test.", "A")
    assert isinstance(error, IterationLimitError)
    assert error.limit == "maxResponseBytesPerLookup"
    assert len(network.asked) == 2  # the second refusal passed the bound

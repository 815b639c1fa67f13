"""
Resolving from the root hints (L{txdane.validation.iterative}): the test hierarchy served the
way the DNS is, each zone by its own name servers with referrals and glue, asked through an
in-memory network of authoritative servers (and once over real loopback sockets); hostile
servers for the bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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
from txdane.resolvconf import NameServer
from txdane.server.responder import Responder
from txdane.server.service import responderForZones
from txdane.status import Status
from txdane.testing import CASES, Case, Hierarchy, buildHierarchy, separateNameServers
from txdane.transport import DNSServerError, DNSTimeoutError, DNSUnreachableError, parseMessage
from txdane.validation import LookupFailedError, TrustAnchors, ValidatingResolver
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
    limits = IterativeLimits(maxNSNames=50, maxServersPerQuery=50, maxQueriesPerLookup=20)
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

"""
DNSSEC roadblocks (L{txdane.validation.roadblock}): the probes find each kind of roadblock of
RFC 8027 in a resolver in front of the test hierarchy (L{tests.roadblocks}), and a resolver
built from settings falls back to the root hints only when every configured resolver is one,
reports the roadblock when it cannot, and reports a silent resolver as before.
"""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rdatatype
import pytest
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.roadblocks import startRoadblock
from tests.validation.fakes import EngineQuerier
from txdane.resolvconf import NameServer
from txdane.settings import ResolverSettings, ResolverSettingsError
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy, separateNameServers
from txdane.transport import DNSClient
from txdane.validation import LookupFailedError, TrustAnchors
from txdane.validation.iterative import IterativeQuerier, Resolution
from txdane.validation.limits import LOOKUP_BUDGET, Budget, ValidationLimits
from txdane.validation.roadblock import (
    PROBE_ANSWER_REUSE,
    ROADBLOCK_VERDICT_TTL,
    SILENT_VERDICT_TTL,
    ProbeVerdict,
    RoadblockAvoidingClient,
    RoadblockError,
    probeResolver,
)

reactor: Any = _reactor


def portOf(listening: Any) -> int:
    return int(listening.getHost().port)


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


class ProbeTests(TestCase):
    """
    L{probeResolver} against each kind of roadblock, over loopback.
    """

    hierarchy = buildHierarchy()

    async def probe(self, kind: str) -> ProbeVerdict:
        _, port = startRoadblock(reactor, self.hierarchy, kind)
        self.addCleanup(port.stopListening)
        server = NameServer("127.0.0.1", portOf(port))
        client = DNSClient(reactor, [server], timeout=0.5, attempts=1, payload=512)
        return await probeResolver(client, server, dns.name.root)

    async def test_fine(self) -> None:
        verdict = await self.probe("fine")
        self.assertTrue(verdict.usable)
        self.assertIsNone(verdict.problem)

    async def test_strips(self) -> None:
        verdict = await self.probe("strip")
        self.assertFalse(verdict.usable)
        self.assertEqual(verdict.problem, "strips RRSIGs (the DNSKEY RRset of . came unsigned)")

    async def test_dropsDS(self) -> None:
        verdict = await self.probe("dropDS")
        self.assertEqual(verdict.problem, "drops DS queries (answered DNSKEY, not DS)")
        self.assertFalse(verdict.silent)

    async def test_refusesDNSKEY(self) -> None:
        verdict = await self.probe("refuseDNSKEY")
        self.assertEqual(verdict.problem, "refuses DNSKEY queries (REFUSED)")

    async def test_refusesDS(self) -> None:
        verdict = await self.probe("refuseDS")
        self.assertEqual(verdict.problem, "refuses DS queries (REFUSED)")

    async def test_noOPT(self) -> None:
        verdict = await self.probe("noEDNS")
        self.assertEqual(verdict.problem, "answers without EDNS(0) (no OPT record)")

    async def test_rejectsEDNS(self) -> None:
        verdict = await self.probe("formerr")
        self.assertEqual(verdict.problem, "rejects EDNS(0) (FORMERR)")

    async def test_truncatesWithoutTCP(self) -> None:
        """
        Truncated answers over UDP, and a TCP port that accepts connections but never
        answers on them (a middlebox that drops DNS over TCP): a roadblock.
        """
        from twisted.internet.protocol import Factory, Protocol

        _, port = startRoadblock(reactor, self.hierarchy, "truncate")
        self.addCleanup(port.stopListening)
        silent = reactor.listenTCP(
            portOf(port), Factory.forProtocol(Protocol), interface="127.0.0.1"
        )
        self.addCleanup(silent.stopListening)
        server = NameServer("127.0.0.1", portOf(port))
        client = DNSClient(reactor, [server], timeout=0.5, attempts=1, payload=512)
        verdict = await probeResolver(client, server, dns.name.root)
        self.assertEqual(verdict.problem, "truncates answers and does not answer over TCP")

    async def test_truncatesTCPRefused(self) -> None:
        """
        Truncated answers over UDP and nothing listening on TCP: the network says so (EDE 23),
        a network failure like a closed port, not a roadblock to go around.
        """
        verdict = await self.probe("truncate")
        self.assertTrue(verdict.silent)
        self.assertIsNone(verdict.problem)

    async def test_anchorZoneMissing(self) -> None:
        """
        A resolver that answers that the trust anchor's zone does not exist is not used, and
        the error says so: the anchors are for another tree (not "a roadblock").
        """
        _, port = startRoadblock(reactor, self.hierarchy, "fine")
        self.addCleanup(port.stopListening)
        server = NameServer("127.0.0.1", portOf(port))
        client = DNSClient(reactor, [server], timeout=0.5, attempts=1, payload=512)
        zone = dns.name.from_text("nothere.example.")
        verdict = await probeResolver(client, server, zone)
        self.assertFalse(verdict.usable)
        self.assertTrue(verdict.noZone)
        self.assertEqual(
            verdict.problem, "answers that the trust anchor's zone nothere.example. does not exist"
        )
        error = RoadblockError((verdict,))
        self.assertTrue(str(error).startswith("no configured resolver knows the trust anchors'"))
        self.assertNotIn("roadblock", str(error))
        error = RoadblockError((verdict, ProbeVerdict(server, "strips RRSIGs")))
        self.assertIn("every configured resolver is a DNSSEC roadblock", str(error))

    async def test_silent(self) -> None:
        """
        A resolver that does not answer at all is silent, not a roadblock.
        """
        port = reactor.listenUDP(0, _Discard(), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        server = NameServer("127.0.0.1", portOf(port))
        client = DNSClient(reactor, [server], timeout=0.2, attempts=1)
        verdict = await probeResolver(client, server, dns.name.root)
        self.assertTrue(verdict.silent)
        self.assertIsNone(verdict.problem)
        self.assertEqual(str(verdict), f"{server} does not answer")


def test_stripsDenialOnly(hierarchy: Hierarchy) -> None:
    """
    A resolver that keeps the DNSKEY RRset's signatures but strips NSEC and NSEC3 records is
    found by the DS probe.
    """
    engine = EngineQuerier.forHierarchy(hierarchy)

    def noDenial(response: Any) -> Any:
        response.authority = [r for r in response.authority if r.rdtype not in (47, 50)]
        return response

    engine.tamper[("txdane-roadblock-probe.", "DS")] = noDenial
    results: list[object] = []
    Deferred.fromCoroutine(probeResolver(engine, NameServer("127.0.0.1"), dns.name.root)).addBoth(
        results.append
    )
    verdict = results[0]
    assert isinstance(verdict, ProbeVerdict)
    assert verdict.problem == (
        "strips NSEC/NSEC3 records (the DS denial of txdane-roadblock-probe. came without proof)"
    )


class _Discard:
    def makeConnection(self, transport: object) -> None:
        pass

    def doStart(self) -> None:
        pass

    def doStop(self) -> None:
        pass

    def datagramReceived(self, data: bytes, addr: object) -> None:
        pass


class _FakeProbe:
    """
    Probe clients that answer from the hierarchy, or strip its signatures.
    """

    def __init__(self, hierarchy: Hierarchy, stripping: set[NameServer]) -> None:
        self.hierarchy = hierarchy
        self.stripping = stripping
        self.probes = 0

    def __call__(self, server: NameServer) -> EngineQuerier:
        self.probes += 1
        engine = EngineQuerier.forHierarchy(self.hierarchy)
        if server in self.stripping:

            def strip(response: Any) -> Any:
                response.answer = [r for r in response.answer if r.rdtype != 46]
                return response

            engine.tamper[(".", "DNSKEY")] = strip
        return engine


class _Recorder:
    resolution = Resolution("iterative", "requested")

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, name: object, rdtype: object, rdclass: object = None, **kw: object) -> Deferred:
        self.asked.append(str(name))
        return succeed("from the root")


def test_fallbackWhenEveryResolverIsARoadblock(hierarchy: Hierarchy) -> None:
    """
    When every resolver is a roadblock, the iterative querier answers; the verdicts are
    remembered for L{ROADBLOCK_VERDICT_TTL} seconds, then the resolvers are probed again.
    """
    clock = Clock()
    servers = [NameServer("127.0.0.1", 1), NameServer("127.0.0.1", 2)]
    probes = _FakeProbe(hierarchy, set(servers))
    iterative = _Recorder()
    client = RoadblockAvoidingClient(
        clock, servers, iterative=iterative, probeClientFactory=probes, timeout=1, attempts=1
    )
    results: list[object] = []
    client.query("www.example.test.", "A").addBoth(results.append)
    assert results == ["from the root"]
    assert iterative.asked == ["www.example.test."]
    assert client.resolution.mode == "iterative"
    assert client.resolution.reason is not None
    assert "127.0.0.1#1 strips RRSIGs" in client.resolution.reason
    assert probes.probes == 2
    client.query("www.example.test.", "AAAA")
    assert probes.probes == 2
    clock.advance(ROADBLOCK_VERDICT_TTL)
    client.query("www.example.test.", "AAAA")
    assert probes.probes == 4


def test_fallbackCountsForTheLookup(hierarchy: Hierarchy) -> None:
    """
    The iterative querier is asked within the context of the query handed to the roadblock
    client, also when it is asked once the probes have ended: it sees the budget of the
    lookup that sent the query (L{LOOKUP_BUDGET}), and counts what it receives there.
    """
    clock = Clock()
    servers = [NameServer("127.0.0.1", 1)]
    stripping = _FakeProbe(hierarchy, set(servers))

    def later(server: NameServer) -> Any:
        engine = stripping(server)

        class Later:
            def query(self, *args: Any, **kwargs: Any) -> Deferred:
                answer: Deferred = Deferred()
                clock.callLater(1, lambda: engine.query(*args, **kwargs).chainDeferred(answer))
                return answer

        return Later()

    seen: list[Budget | None] = []

    class Seeing(_Recorder):
        def query(self, *args: Any, **kwargs: Any) -> Deferred:
            seen.append(LOOKUP_BUDGET.get())
            return super().query(*args, **kwargs)

    client = RoadblockAvoidingClient(
        clock, servers, iterative=Seeing(), probeClientFactory=later, timeout=5, attempts=1
    )
    budget = Budget(ValidationLimits())
    results: list[object] = []
    token = LOOKUP_BUDGET.set(budget)
    try:
        client.query("www.example.test.", "A").addBoth(results.append)
    finally:
        LOOKUP_BUDGET.reset(token)
    assert results == [] and seen == []
    clock.advance(1)
    assert results == ["from the root"]
    assert seen == [budget]
    client.query("www.example.test.", "AAAA")  # asked at once now, outside any lookup
    assert seen == [budget, None]


def test_noFallbackPossible(hierarchy: Hierarchy) -> None:
    """
    Without an iterative querier, every query fails with L{RoadblockError}, naming what the
    probes found.
    """
    servers = [NameServer("127.0.0.1", 1)]
    client = RoadblockAvoidingClient(
        Clock(),
        servers,
        probeClientFactory=_FakeProbe(hierarchy, set(servers)),
        timeout=1,
        attempts=1,
    )
    results: list[object] = []
    client.query("www.example.test.", "A").addBoth(results.append)
    error = results[0].value  # type: ignore[attr-defined]
    assert isinstance(error, RoadblockError)
    assert str(error).startswith(
        "every configured resolver is a DNSSEC roadblock (RFC 8027): 127.0.0.1#1 strips RRSIGs"
    )
    assert client.resolution.mode == "recursive"


def test_onlyPassingResolversAsked(hierarchy: Hierarchy) -> None:
    """
    When some resolvers pass, only they are asked, and the resolution says which were not.
    """
    servers = [NameServer("127.0.0.1", 1), NameServer("127.0.0.1", 2)]
    client = RoadblockAvoidingClient(
        Clock(),
        servers,
        iterative=_Recorder(),
        probeClientFactory=_FakeProbe(hierarchy, {servers[0]}),
        timeout=1,
        attempts=1,
    )
    probed: list[object] = []
    client._probe().addBoth(probed.append)
    assert probed == [None]
    assert client.resolution.mode == "recursive"
    assert client.resolution.reason == "not asked: 127.0.0.1#1 strips RRSIGs " + (
        "(the DNSKEY RRset of . came unsigned)"
    )
    assert isinstance(client._chosen, DNSClient)
    assert client._chosen.servers == (servers[1],)


def _probedClient(hierarchy: Hierarchy, clock: Clock) -> RoadblockAvoidingClient:
    """
    A client whose one resolver passed the probes (answered from the hierarchy).
    """
    client = RoadblockAvoidingClient(
        clock,
        [NameServer("127.0.0.1", 1)],
        probeClientFactory=_FakeProbe(hierarchy, set()),
        timeout=1,
        attempts=1,
    )
    probed: list[object] = []
    client._probe().addBoth(probed.append)
    assert probed == [None] and client._chosen is client
    return client


def test_probeAnswerReused(hierarchy: Hierarchy) -> None:
    """
    The probe's answer to the DNSKEY query of the anchor's zone answers the validator's same
    question once, without sending it again.
    """
    client = _probedClient(hierarchy, Clock())
    results: list[Any] = []
    client.query(".", "DNSKEY", dnssecOK=True, checkingDisabled=True).addBoth(results.append)
    (message,) = results
    assert message.answer and message.answer[0].rdtype == dns.rdatatype.DNSKEY
    assert client.reusedProbeAnswers == 1
    assert client.stats.udpQueries == 0
    assert client._probeAnswer is None  # once only


@pytest.mark.parametrize(
    "question, flags",
    [
        ((".", "DNSKEY"), {"dnssecOK": True}),  # without CD: another question
        ((".", "DNSKEY"), {"checkingDisabled": True}),  # without DO
        (("test.", "DNSKEY"), {"dnssecOK": True, "checkingDisabled": True}),
        ((".", "DS"), {"dnssecOK": True, "checkingDisabled": True}),
    ],
)
def test_probeAnswerOnlyForTheSameQuestion(
    hierarchy: Hierarchy, question: tuple[str, str], flags: dict[str, bool]
) -> None:
    client = _probedClient(hierarchy, Clock())
    assert (
        client._reuseProbeAnswer(
            *question,
            "IN",
            {"recursionDesired": True, **{"dnssecOK": False, "checkingDisabled": False, **flags}},
        )
        is None
    )
    assert client._probeAnswer is not None  # still kept for the real question


@pytest.mark.parametrize(
    "settings", [{"dnssecOK": True}, {"checkingDisabled": True}, {"recursionDesired": False}]
)
def test_probeAnswerNotForDefaultFlags(hierarchy: Hierarchy, settings: dict[str, bool]) -> None:
    """
    A flag left to its default counts as its default (CD and DO clear, RD set): a query
    without CD or DO is another question than the probe's.
    """
    client = _probedClient(hierarchy, Clock())
    assert client._reuseProbeAnswer(".", "DNSKEY", "IN", settings) is None
    assert client._probeAnswer is not None


def test_probeAnswerExpires(hierarchy: Hierarchy) -> None:
    clock = Clock()
    client = _probedClient(hierarchy, clock)
    clock.advance(PROBE_ANSWER_REUSE)
    settings = {"dnssecOK": True, "checkingDisabled": True, "recursionDesired": True}
    assert client._reuseProbeAnswer(".", "DNSKEY", "IN", settings) is None
    assert client.reusedProbeAnswers == 0


# -- settings, over loopback -------------------------------------------------------------------


class SettingsTests(TestCase):
    """
    A resolver built from L{ResolverSettings}, asking a roadblock in front of the hierarchy.
    """

    async def setUpHierarchy(self) -> tuple[Hierarchy, int]:
        hierarchy = buildHierarchy(nameServers=separateNameServers("127.53.1.0/24"))
        servers = await hierarchy.serveEach(reactor, port=0)
        for server in servers:
            self.addCleanup(server.stop)
        return hierarchy, servers[0].port

    def anchors(self, hierarchy: Hierarchy) -> TrustAnchors:
        return TrustAnchors.fromRRsets([hierarchy.trustAnchor])

    async def test_fallsBack(self) -> None:
        """
        Behind a resolver that strips signatures, with private anchors and root hints, the
        answers are validated from the root: secure stays secure, bogus stays bogus.
        """
        hierarchy, port = await self.setUpHierarchy()
        _, listening = startRoadblock(reactor, hierarchy, "strip")
        self.addCleanup(listening.stopListening)
        settings = ResolverSettings(
            servers=(NameServer("127.0.0.1", portOf(listening)),),
            trustAnchors=self.anchors(hierarchy),
            rootHints=hierarchy.rootHints(port),
            timeout=5,
        )
        resolver = settings.build(reactor)
        answer = await resolver.lookup("_443._tcp.www.example.test.", "TLSA")
        self.assertIs(answer.status, Status.SECURE)
        self.assertIs((await resolver.lookup("www.badds.test.", "A")).status, Status.BOGUS)
        resolution = resolver.querier.resolution  # type: ignore[attr-defined]
        self.assertEqual(resolution.mode, "iterative")
        self.assertIn("strips RRSIGs", resolution.reason)

    async def test_roadblockReported(self) -> None:
        """
        With private anchors and no root hints, the roadblock is the error.
        """
        hierarchy, _ = await self.setUpHierarchy()
        _, listening = startRoadblock(reactor, hierarchy, "dropDS")
        self.addCleanup(listening.stopListening)
        settings = ResolverSettings(
            servers=(NameServer("127.0.0.1", portOf(listening)),),
            trustAnchors=self.anchors(hierarchy),
            timeout=3,
        )
        resolver = settings.build(reactor)
        with self.assertRaises(LookupFailedError) as caught:
            await resolver.lookup("www.example.test.", "A")
        self.assertIsInstance(caught.exception.cause, RoadblockError)
        self.assertIn("drops DS queries", str(caught.exception))
        self.assertIn("needs root hints", str(caught.exception))

    async def test_silentResolverAsBefore(self) -> None:
        """
        A resolver whose port is closed is a network failure, reported as without probes;
        nothing falls back to the root.
        """
        hierarchy, port = await self.setUpHierarchy()
        closed = reactor.listenUDP(0, _Discard(), interface="127.0.0.1")
        number = portOf(closed)
        await closed.stopListening()
        settings = ResolverSettings(
            servers=(NameServer("127.0.0.1", number),),
            trustAnchors=self.anchors(hierarchy),
            rootHints=hierarchy.rootHints(port),
            timeout=1,
        )
        resolver = settings.build(reactor)
        with self.assertRaises(LookupFailedError) as caught:
            await resolver.lookup("www.example.test.", "A")
        self.assertIn(f"cannot reach 127.0.0.1#{number}", str(caught.exception))
        self.assertEqual(resolver.querier.resolution.mode, "recursive")  # type: ignore[attr-defined]

    async def test_iterativeRequested(self) -> None:
        """
        C{iterative=True} asks no recursive resolver at all.
        """
        hierarchy, port = await self.setUpHierarchy()
        settings = ResolverSettings(
            trustAnchors=self.anchors(hierarchy),
            rootHints=hierarchy.rootHints(port),
            iterative=True,
        )
        resolver = settings.build(reactor)
        self.assertIsInstance(resolver.querier, IterativeQuerier)  # type: ignore[attr-defined]
        answer = await resolver.lookup("www.nsec3.test.", "A")
        self.assertIs(answer.status, Status.SECURE)


def test_settingsExclusions(tmp_path: object) -> None:
    """
    C{iterative} excludes C{trustAD}; a bad root hints file is an error naming the setting.
    """
    with pytest.raises(ResolverSettingsError, match="trustAD and iterative exclude each other"):
        ResolverSettings(servers=(NameServer("127.0.0.1"),), trustAD=True, iterative=True)
    with pytest.raises(ResolverSettingsError, match="rootHints: root hints from"):
        ResolverSettings.fromStrings(rootHintsFile=f"{tmp_path}/missing.root")
    with pytest.raises(ResolverSettingsError, match="rootHints: names no server"):
        ResolverSettings(rootHints=())


def test_brokenProbe() -> None:
    """
    A probe that breaks (not a DNS failure: a bug, a malformed answer the client let through)
    finds nothing: the resolvers are asked as without probes, and probed again soon.
    """

    def broken(server: NameServer) -> Any:
        raise RuntimeError("broken")

    clock = Clock()
    client = RoadblockAvoidingClient(
        clock, [NameServer("127.0.0.1", 1)], probeClientFactory=broken, timeout=1, attempts=1
    )
    probed: list[object] = []
    client._probe().addBoth(probed.append)
    assert probed == [None]
    assert client._chosen is client
    assert client.resolution == Resolution("recursive")
    assert client._expires == SILENT_VERDICT_TTL


def test_ownClientsReadNoResolvConf(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The one-server clients a resolver makes for itself (a probe of each configured resolver,
    a query to each server from the root down) are given every setting, so making one reads
    nothing from resolv.conf: a cold resolver's first lookup opens no file for them.
    """
    import txdane.transport

    def refuse(path: str = "") -> object:
        raise AssertionError(f"read {path}")

    monkeypatch.setattr(txdane.transport, "readResolvConf", refuse)
    server = NameServer("127.0.0.1", 53)
    roadblock = RoadblockAvoidingClient(Clock(), [server], timeout=1, attempts=1, rotate=False)
    probe = roadblock._probeClientFactory(server)
    assert isinstance(probe, DNSClient) and probe.servers == (server,)
    iterative = IterativeQuerier(Clock(), [server])
    client = iterative._clientFactory(server)
    assert isinstance(client, DNSClient) and client.attempts == 1 and not client.rotate

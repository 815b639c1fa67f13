"""
DNSSEC roadblock probes (L{txdane.validation.roadblock}) when something goes wrong that is
not a roadblock, or is one in disguise: a lost datagram is asked again before a resolver is
judged, one probe query's truncated answer is not blamed for the other's silence, a TCP
connection closed or reset after a truncated answer is the truncation roadblock, a query
cancelled while the probes run stops, and the client for the resolvers that passed keeps the
deadline of every query.

Loopback servers where the wire matters, L{FakeReactor} where time does.
"""

from __future__ import annotations

import struct
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rdatatype
import pytest
from twisted.internet import reactor as _reactor
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from tests.roadblocks import Roadblock, startRoadblock
from tests.transport.fakes import FakeReactor
from tests.validation.test_roadblock import _FakeProbe, _Recorder, portOf
from txdane.resolvconf import NameServer
from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import DNSClient, DNSTimeoutError
from txdane.validation.iterative import Resolution
from txdane.validation.roadblock import (
    PROBE_ATTEMPTS,
    ProbeVerdict,
    RoadblockAvoidingClient,
    probeResolver,
)

reactor: Any = _reactor

TRUNCATES = "truncates answers and does not answer over TCP"


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


class _Lossy(Roadblock):
    """
    A resolver that passes the probes, but loses the first C{lose[rdtype]} queries of each
    type and answers those of the types in C{truncate} over UDP empty, with TC set.

    @ivar lost: how many queries it lost.
    """

    def __init__(
        self,
        hierarchy: Hierarchy,
        lose: dict[int, int] | None = None,
        truncate: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__(hierarchy, "fine")
        self.lose = dict(lose or {})
        self.truncate = truncate
        self.lost = 0

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        query = dns.message.from_wire(data)
        rdtype = query.question[0].rdtype
        if self.lose.get(rdtype, 0) > 0:
            self.lose[rdtype] -= 1
            self.lost += 1
            return
        if rdtype in self.truncate:
            response = dns.message.make_response(query)
            response.flags |= dns.flags.TC
            assert self.transport is not None
            self.transport.write(response.to_wire(), addr)
            return
        super().datagramReceived(data, addr)


class _TCPAnswers(Protocol):
    """
    Answers every query over TCP from the responder of the factory's C{udp} resolver, and
    counts the answers in the factory's C{answered}.
    """

    def __init__(self) -> None:
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 2:
            (length,) = struct.unpack("!H", self.buffer[:2])
            if len(self.buffer) < 2 + length:
                return
            wire, self.buffer = self.buffer[2 : 2 + length], self.buffer[2 + length :]
            answer = self.factory.udp.responder.respondWire(wire, tcp=True)
            self.factory.answered += 1
            self.transport.write(struct.pack("!H", len(answer)) + answer)  # type: ignore[union-attr]


class _ClosesAtOnce(Protocol):
    def connectionMade(self) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]


class _ClosesAfterTheQuery(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.loseConnection()  # type: ignore[union-attr]


class _ResetsAfterTheQuery(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.transport.abortConnection()  # type: ignore[union-attr]


class ProbeTests(TestCase):
    """
    L{probeResolver} over loopback, a client making one attempt per query (so that what is
    judged is what one exchange met).
    """

    hierarchy = buildHierarchy()

    def listen(self, udp: Any, tcp: type[Protocol] | None = None) -> tuple[NameServer, Any]:
        """
        Serve C{udp} on a free loopback port, and C{tcp} on the same port over TCP.
        """
        port = reactor.listenUDP(0, udp, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        factory: Any = Factory.forProtocol(tcp or Protocol)
        factory.udp, factory.answered = udp, 0
        if tcp is not None:
            listening = reactor.listenTCP(portOf(port), factory, interface="127.0.0.1")
            self.addCleanup(listening.stopListening)
        return NameServer("127.0.0.1", portOf(port)), factory

    async def probe(self, server: NameServer) -> ProbeVerdict:
        client = DNSClient(reactor, [server], timeout=0.5, attempts=1, payload=512)
        return await probeResolver(client, server, dns.name.root)

    async def probeTruncatingBehind(self, tcp: type[Protocol]) -> ProbeVerdict:
        _, port = startRoadblock(reactor, self.hierarchy, "truncate")
        self.addCleanup(port.stopListening)
        listening = reactor.listenTCP(portOf(port), Factory.forProtocol(tcp), interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        return await self.probe(NameServer("127.0.0.1", portOf(port)))

    async def test_truncatesTCPClosesAtOnce(self) -> None:
        """
        Truncated answers over UDP, and a TCP port that accepts the connection and closes it
        at once (a middlebox that kills DNS over TCP): the truncation roadblock, not silence.
        """
        verdict = await self.probeTruncatingBehind(_ClosesAtOnce)
        self.assertEqual((verdict.problem, verdict.silent), (TRUNCATES, False))

    async def test_truncatesTCPClosesAfterTheQuery(self) -> None:
        verdict = await self.probeTruncatingBehind(_ClosesAfterTheQuery)
        self.assertEqual((verdict.problem, verdict.silent), (TRUNCATES, False))

    async def test_truncatesTCPResets(self) -> None:
        verdict = await self.probeTruncatingBehind(_ResetsAfterTheQuery)
        self.assertEqual((verdict.problem, verdict.silent), (TRUNCATES, False))

    async def test_truncationCountedPerQuery(self) -> None:
        """
        A resolver that never answers the DNSKEY query, and whose truncated answer to the DS
        query (asked at the same time) it gave again over TCP: its TCP works, so the DNSKEY
        query's silence is not the truncation roadblock. It is the silence it is without the
        DS query (a network failure, no fallback).
        """
        udp = _Lossy(
            self.hierarchy, lose={dns.rdatatype.DNSKEY: 99}, truncate=frozenset({dns.rdatatype.DS})
        )
        server, tcp = self.listen(udp, _TCPAnswers)
        verdict = await self.probe(server)
        self.assertEqual(tcp.answered, 1)  # the DS query, over TCP
        self.assertEqual((verdict.problem, verdict.silent), (None, True))

    async def test_truncatedDSWithoutTCP(self) -> None:
        """
        A resolver that answers the DNSKEY query, then truncates its answer to the DS query
        and closes the TCP connection asked again on: the verdict names what the DS query met.
        """
        udp = _Lossy(self.hierarchy, truncate=frozenset({dns.rdatatype.DS}))
        server, _ = self.listen(udp, _ClosesAfterTheQuery)
        verdict = await self.probe(server)
        self.assertEqual(verdict.problem, TRUNCATES)


class LossTests(TestCase):
    """
    A L{RoadblockAvoidingClient} in front of a healthy resolver that loses one datagram.
    """

    hierarchy = buildHierarchy()

    async def firstQueryLosing(self, rdtype: int) -> tuple[RoadblockAvoidingClient, Any]:
        """
        Send the first query to a resolver that loses the first probe query of C{rdtype};
        the client makes one attempt per query (the fewest).
        """
        udp = _Lossy(self.hierarchy, lose={rdtype: 1})
        port = reactor.listenUDP(0, udp, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        iterative = _Recorder()
        client = RoadblockAvoidingClient(
            reactor,
            [NameServer("127.0.0.1", portOf(port))],
            iterative=iterative,
            timeout=0.5,
            attempts=1,
            rotate=False,
        )
        answer = await client.query("www.example.test.", "A", dnssecOK=True, checkingDisabled=True)
        self.assertIsInstance(answer, dns.message.Message)  # from the resolver
        self.assertEqual(udp.lost, 1)
        self.assertEqual(iterative.asked, [])
        return client, answer

    async def test_lostDSAnswer(self) -> None:
        """
        The DS probe's first query is lost: it is asked again, and the resolver passes; it is
        asked, not the root, for the verdicts' lifetime.
        """
        client, _ = await self.firstQueryLosing(dns.rdatatype.DS)
        (verdict,) = client.verdicts
        self.assertTrue(verdict.usable, str(verdict))
        self.assertEqual(client.resolution, Resolution("recursive"))

    async def test_lostDNSKEYAnswer(self) -> None:
        client, _ = await self.firstQueryLosing(dns.rdatatype.DNSKEY)
        (verdict,) = client.verdicts
        self.assertTrue(verdict.usable, str(verdict))


def _advanceTo(clock: FakeReactor, when: float) -> None:
    """
    Move C{clock} to C{when} in quarter seconds, so that each timer runs at its time and
    those it sets count from then.
    """
    while clock.seconds() < when:
        clock.advance(min(0.25, when - clock.seconds()))


def _sentTypes(reactor: FakeReactor) -> list[str]:
    return sorted(
        dns.rdatatype.to_text(message.question[0].rdtype) for _, message, _ in reactor.sent
    )


@pytest.mark.parametrize(
    "attempts, deadline, endsAt, sent",
    [
        # One attempt per query: the probes still ask again, within the default deadline
        # (one attempt and a TCP repeat).
        (1, None, 2.0, ["A", "DNSKEY", "DNSKEY", "DS", "DS"]),
        # A deadline shorter than the attempts: the probes end by it too.
        (2, 1.5, 1.5, ["A", "A", "DNSKEY", "DNSKEY", "DS", "DS"]),
    ],
)
def test_silentResolverProbedWithinTheDeadline(
    attempts: int, deadline: float | None, endsAt: float, sent: list[str]
) -> None:
    """
    Each probe query is asked L{PROBE_ATTEMPTS} times at least before a resolver is judged;
    the probes end by the client's deadline, so the first query to a silent resolver fails
    by that deadline with the resolver's silence, as without probes, and nothing is left
    running.
    """
    assert PROBE_ATTEMPTS == 2
    clock = FakeReactor()
    client = RoadblockAvoidingClient(
        clock,
        [NameServer("192.0.2.1")],
        timeout=1,
        attempts=attempts,
        deadline=deadline,
        rotate=False,
    )
    results: list[object] = []
    client.query("www.example.test.", "A").addBoth(results.append)
    _advanceTo(clock, endsAt - 0.25)
    assert results == []
    _advanceTo(clock, endsAt)
    (failure,) = results
    assert isinstance(failure, Failure) and failure.check(DNSTimeoutError)
    assert _sentTypes(clock) == sent
    (verdict,) = client.verdicts
    assert verdict.silent
    assert clock.getDelayedCalls() == [] and clock.openPorts() == []


class _Never:
    """
    A probe client whose queries never end.
    """

    def query(self, *args: object, **kwargs: object) -> Deferred[dns.message.Message]:
        return Deferred()


def test_cancelStopsTheQuerySentDuringTheProbes() -> None:
    """
    Cancelling the first query while the probes run stops the query sent to the resolvers
    meanwhile: its socket is closed, its timer gone, nothing more is sent, and its outcome
    is logged by no one.
    """
    clock = FakeReactor()
    client = RoadblockAvoidingClient(
        clock,
        [NameServer("192.0.2.1")],
        probeClientFactory=lambda server: _Never(),
        timeout=1,
        attempts=2,
        rotate=False,
    )
    results: list[object] = []
    query = client.query("www.example.test.", "A")
    query.addBoth(results.append)
    assert len(clock.sent) == 1
    query.cancel()
    (failure,) = results
    assert isinstance(failure, Failure) and failure.check(CancelledError)
    assert clock.openPorts() == [] and clock.getDelayedCalls() == []
    clock.advance(10)
    assert len(clock.sent) == 1


def test_passingResolversKeepTheDeadline(hierarchy: Hierarchy) -> None:
    """
    When some resolvers are roadblocks, the queries to those that passed still end by the
    client's deadline (C{ResolverSettings.timeout}: every retry included).
    """
    clock = FakeReactor()
    servers = [NameServer("192.0.2.1"), NameServer("192.0.2.2"), NameServer("192.0.2.3")]
    client = RoadblockAvoidingClient(
        clock,
        servers,
        probeClientFactory=_FakeProbe(hierarchy, {servers[0]}),
        timeout=1,
        attempts=2,
        deadline=3,
        rotate=False,
    )
    results: list[object] = []
    client.query("www.example.test.", "A").addBoth(results.append)
    assert client.resolution.reason is not None
    assert client.resolution.reason.startswith("not asked: 192.0.2.1 strips RRSIGs")
    _advanceTo(clock, 2.75)
    assert results == []
    _advanceTo(clock, 3)
    (failure,) = results
    assert isinstance(failure, Failure) and failure.check(DNSTimeoutError)
    asked = [destination for _, _, destination in clock.sent]
    assert asked[1:] == [("192.0.2.2", 53), ("192.0.2.3", 53), ("192.0.2.2", 53)]
    assert clock.getDelayedCalls() == [] and clock.openPorts() == []

"""
Tests for response rate limiting: the limiter on a fake clock, the UDP protocol with it, the
options, and a bounded flood over loopback from several source addresses.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.name
import dns.rcode
import pytest
from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.server.test_service import writeZone
from txdane.server.protocol import DNSDatagramProtocol, ResponderHolder
from txdane.server.ratelimit import (
    DEFAULT_RATE,
    DEFAULT_SLIP,
    NO_RATE_LIMIT,
    RateLimit,
    ResponseRateLimiter,
    Verdict,
)
from txdane.server.service import listenDNS, responderForZones
from txdane.server.tap import Options, makeService
from txdane.testing import buildHierarchy

_HIERARCHY = buildHierarchy()


def limiter(**kw: object) -> tuple[ResponseRateLimiter, Clock]:
    clock = Clock()
    clock.advance(1000)
    return ResponseRateLimiter(RateLimit(**kw), clock), clock  # type: ignore[arg-type]


class TestLimiter:
    def test_burstThenRate(self) -> None:
        """
        A prefix gets its burst at once, then answers at the rate: one more every 1/rate
        seconds, never more than the burst saved up.
        """
        rrl, clock = limiter(rate=10, burst=5, slip=0)
        verdicts = [rrl.check("192.0.2.1") for _ in range(8)]
        assert verdicts == [Verdict.SEND] * 5 + [Verdict.DROP] * 3
        clock.advance(0.1)
        assert rrl.check("192.0.2.1") is Verdict.SEND
        assert rrl.check("192.0.2.1") is Verdict.DROP
        clock.advance(100)  # a long silence saves up the burst, no more
        sent = sum(rrl.check("192.0.2.1") is Verdict.SEND for _ in range(20))
        assert sent == 5

    def test_heldToTheRateOverTime(self) -> None:
        """
        Flooded for ten seconds at a thousand queries a second, a prefix gets its burst plus
        the rate times the duration.
        """
        rrl, clock = limiter(rate=50, slip=0)
        sent = 0
        for _ in range(10_000):
            clock.advance(0.001)
            sent += rrl.check("198.51.100.7") is Verdict.SEND
        assert 50 + 500 - 2 <= sent <= 50 + 500 + 1

    def test_slip(self) -> None:
        """
        Every C{slip}-th answer over the rate is sent truncated, the others are dropped; slip
        1 truncates them all, 0 none.
        """
        for slip, expected in [
            (2, [Verdict.DROP, Verdict.SLIP] * 3),
            (3, [Verdict.DROP, Verdict.DROP, Verdict.SLIP] * 2),
            (1, [Verdict.SLIP] * 6),
            (0, [Verdict.DROP] * 6),
        ]:
            rrl, _ = limiter(rate=1, burst=1, slip=slip)
            assert rrl.check("192.0.2.1") is Verdict.SEND
            assert [rrl.check("192.0.2.1") for _ in range(6)] == expected, slip

    def test_prefixes(self) -> None:
        """
        Sources share a bucket within a /24 (IPv4) or /56 (IPv6), IPv4-mapped IPv6 addresses
        count as IPv4, and other prefixes have their own.
        """
        rrl, _ = limiter(rate=1, burst=1, slip=0)
        assert rrl.check("192.0.2.1") is Verdict.SEND
        assert rrl.check("192.0.2.200") is Verdict.DROP
        assert rrl.check("::ffff:192.0.2.9") is Verdict.DROP
        assert rrl.check("192.0.3.1") is Verdict.SEND
        assert rrl.check("2001:db8:0:1::1") is Verdict.SEND
        assert rrl.check("2001:db8:0:ff::2") is Verdict.DROP  # same /56
        assert rrl.check("2001:db8:0:100::1") is Verdict.SEND  # next /56
        assert rrl.check("fe80::1%eth0") is Verdict.SEND
        assert rrl.prefixOf("10.1.2.3") == rrl.prefixOf("10.1.2.250")
        other, _ = limiter(rate=1, ipv4Prefix=32)
        assert other.prefixOf("10.1.2.3") != other.prefixOf("10.1.2.4")

    def test_tableBounded(self) -> None:
        """
        Sources spread over many prefixes (spoofed at will) hold at most C{maxPrefixes}
        entries; the least recently seen goes.
        """
        rrl, _ = limiter(rate=1, maxPrefixes=100)
        for i in range(5000):
            rrl.check(f"10.{i // 256 % 256}.{i % 256}.1")
        assert len(rrl) == 100

    def test_off(self) -> None:
        rrl = ResponseRateLimiter(NO_RATE_LIMIT, Clock())
        assert all(rrl.check("192.0.2.1") is Verdict.SEND for _ in range(10_000))
        assert len(rrl) == 0

    @pytest.mark.parametrize(
        "kw",
        [
            {"rate": -1},
            # NaN compares false with everything, and would turn limiting off unnoticed.
            {"rate": float("nan")},
            {"rate": float("inf")},
            {"burst": float("nan")},
            {"burst": 0.5},
            {"slip": -1},
            {"ipv4Prefix": 33},
            {"ipv6Prefix": 129},
            {"maxPrefixes": 0},
        ],
    )
    def test_badSettings(self, kw: dict[str, float]) -> None:
        with pytest.raises(ValueError):
            RateLimit(**kw)  # type: ignore[arg-type]


@dataclass
class Transport:
    sent: list[tuple[bytes, tuple[str, int]]] = field(default_factory=list)

    def write(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sent.append((data, addr))


def test_protocolLimitsPerPrefix() -> None:
    """
    Over the rate, a flooded prefix gets truncated empty answers (no larger than the query)
    and nothing; another prefix still gets full answers.
    """
    rrl, _ = limiter(rate=10, burst=10, slip=2)
    holder = ResponderHolder(responderForZones(_HIERARCHY.zones.values()))
    protocol = DNSDatagramProtocol(holder, rrl)
    transport = Transport()
    protocol.transport = transport  # type: ignore[assignment]
    query = dns.message.make_query("_443._tcp.www.example.test.", "TLSA", want_dnssec=True)
    wire = query.to_wire()
    for _ in range(100):
        protocol.datagramReceived(wire, ("192.0.2.1", 5353))
    answers = [dns.message.from_wire(data) for data, _ in transport.sent]
    full = [a for a in answers if not a.flags & dns.flags.TC]
    truncated = [a for a in answers if a.flags & dns.flags.TC]
    assert len(full) == 10 and len(truncated) == 45
    assert all(len(a.answer) == 2 for a in full)
    assert all(not a.answer and a.question == query.question for a in truncated)
    assert max(len(d) for d, _ in transport.sent if len(d) < 200) <= len(wire)
    transport.sent.clear()
    protocol.datagramReceived(wire, ("192.0.3.1", 5353))
    assert not dns.message.from_wire(transport.sent[0][0]).flags & dns.flags.TC
    # Garbage and responses are still never answered, and cost no tokens.
    before = rrl.sent + rrl.slipped + rrl.dropped
    protocol.datagramReceived(b"\x00" * 5, ("192.0.4.1", 5353))
    assert rrl.sent + rrl.slipped + rrl.dropped == before


def test_options(tmp_path) -> None:
    """
    The plugin limits by default as NSD does (200 a second, slip 2); the options set or
    turn it off, and bad values are usage errors.
    """
    zone = writeZone(tmp_path)
    options = Options()
    options.parseOptions(["--zone", f"zone.test.={zone}"])
    service = makeService(options)
    assert service.rateLimiter is not None  # type: ignore[attr-defined]
    settings = service.rateLimiter.settings  # type: ignore[attr-defined]
    assert (settings.rate, settings.slip) == (DEFAULT_RATE, DEFAULT_SLIP)
    options = Options()
    options.parseOptions(
        [
            *("--zone", f"zone.test.={zone}", "--rrl-rate", "5", "--rrl-slip", "1"),
            *("--rrl-burst", "20", "--rrl-ipv4-prefix", "32", "--rrl-ipv6-prefix", "64"),
        ]
    )
    settings = makeService(options).rateLimiter.settings  # type: ignore[attr-defined]
    assert settings == RateLimit(rate=5, burst=20, slip=1, ipv4Prefix=32, ipv6Prefix=64)
    options = Options()
    options.parseOptions(["--zone", f"zone.test.={zone}", "--rrl-rate", "0"])
    assert makeService(options).rateLimiter is None  # type: ignore[attr-defined]
    from twisted.python import usage

    with pytest.raises(usage.UsageError, match="rate limiting"):
        Options().parseOptions(["--zone", f"zone.test.={zone}", "--rrl-ipv4-prefix", "40"])


#: The flood: its rate limit, how long it lasts and how fast each flooder sends.
FLOOD_RATE, FLOOD_BURST = 50.0, 50.0
FLOOD_SECONDS = 1.5
FLOOD_INTERVAL = 0.004
#: Sources: two in one /24, one in another; the client that must still be answered.
FLOODERS = ("127.0.0.2", "127.0.0.3", "127.0.5.2")
CLIENT = "127.0.9.9"


@dataclass
class Counts:
    sent: int = 0
    full: int = 0
    truncated: int = 0


def flood(port: int) -> tuple[dict[str, Counts], float]:
    """
    Flood the server on C{port} from L{FLOODERS} while L{CLIENT} asks every 50 ms; return
    what each source sent and got back, and how long it took.
    """
    query = dns.message.make_query("_443._tcp.www.example.test.", "TLSA", want_dnssec=True)
    wire = query.to_wire()
    sockets: dict[str, socket.socket] = {}
    for source in (*FLOODERS, CLIENT):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((source, 0))
        s.setblocking(False)
        sockets[source] = s
    counts = {source: Counts() for source in sockets}
    bySocket = {s.fileno(): source for source, s in sockets.items()}

    def drain(wait: float) -> None:
        readable, _, _ = select.select(list(sockets.values()), [], [], wait)
        for s in readable:
            source = bySocket[s.fileno()]
            while True:
                try:
                    data = s.recv(65535)
                except BlockingIOError:
                    break
                tc = dns.message.from_wire(data).flags & dns.flags.TC
                if tc:
                    counts[source].truncated += 1
                else:
                    counts[source].full += 1

    started = time.monotonic()
    nextClient = nextFlood = started
    try:
        while time.monotonic() - started < FLOOD_SECONDS:
            drain(max(0.0, min(nextFlood, nextClient) - time.monotonic()))
            if time.monotonic() < nextFlood:
                continue
            nextFlood += FLOOD_INTERVAL
            for source in FLOODERS:
                try:
                    sockets[source].sendto(wire, ("127.0.0.1", port))
                    counts[source].sent += 1
                except BlockingIOError:
                    pass
            if time.monotonic() >= nextClient:
                sockets[CLIENT].sendto(wire, ("127.0.0.1", port))
                counts[CLIENT].sent += 1
                nextClient += 0.05
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            drain(0.05)
    finally:
        for s in sockets.values():
            s.close()
    return counts, time.monotonic() - started


class FloodTests(TestCase):
    async def test_floodHeldToTheRate(self) -> None:
        """
        A flood from three loopback addresses in two /24 prefixes gets, per prefix, no more
        full answers than the burst plus the rate for the time it lasted (the rest dropped,
        or truncated to send the client to TCP), while a client in a third prefix gets every
        answer.
        """
        responder = responderForZones(_HIERARCHY.zones.values())
        limit = RateLimit(rate=FLOOD_RATE, burst=FLOOD_BURST, slip=2)
        server = await listenDNS(reactor, responder, "127.0.0.1", 0, rateLimit=limit)
        self.addCleanup(server.stop)
        counts, elapsed = await deferToThread(flood, server.port)
        ceiling = FLOOD_BURST + FLOOD_RATE * elapsed
        sameNet = counts[FLOODERS[0]].full + counts[FLOODERS[1]].full
        other = counts[FLOODERS[2]].full
        print(
            f"flood {elapsed:.2f} s: "
            + ", ".join(
                f"{s} sent {c.sent} got {c.full} full + {c.truncated} TC" for s, c in counts.items()
            )
            + f"; ceiling per prefix {ceiling:.0f}"
        )
        sentSameNet = counts[FLOODERS[0]].sent + counts[FLOODERS[1]].sent
        assert sentSameNet > 2 * ceiling, "the flood was not a flood"
        for got in (sameNet, other):
            assert FLOOD_BURST <= got <= ceiling
        assert counts[FLOODERS[0]].truncated + counts[FLOODERS[1]].truncated > 0
        client = counts[CLIENT]
        assert client.full == client.sent and client.truncated == 0

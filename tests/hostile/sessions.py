"""
Hostile peers, played in memory: for every STARTTLS protocol of the registry, a server that
speaks its prelude with random and adversarial changes (segments split and joined, forged
replies before or with the go-ahead, early close at each step, a slow trickle, giant lines,
wrong codes, garbage), then a TLS handshake that completes, fails or never ends.

Each session runs the real C{dane:} endpoint (C{DANEEndpoint} with C{starttls}) on a
C{MemoryReactorClock}, and checks:

  - the application never received a byte the server sent before TLS, and is connected only
    after the verified handshake, or, where SMTP's opportunistic policy allows it, in
    cleartext after a server that does not offer STARTTLS (and then only with the
    endpoint's greeting);
  - nothing the application wrote reached the server before TLS, unless that cleartext was
    allowed;
  - C{connect()} never succeeds without the protection the plan requires;
  - the session ends within its deadline, and leaves no timer behind;
  - nothing is logged as an unhandled error.

A session that breaks one of these is a violation; the others are counted by outcome.
C{python -m tests.hostile --sessions N --seed S} runs N of them.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionAborted, ConnectionDone
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import alsoProvides

from txdane.dane.decision import Policy
from txdane.endpoints import DANEEndpoint, IDANEConnection, Protection
from txdane.endpoints.starttls import PROTOCOLS

from ..fakeresolver import FakeResolver, answer

HOST = "mx.example.test."
PORT = 25
DEADLINE = 30.0
#: What the application writes as soon as it is connected: must never leave in cleartext
#: unless cleartext was allowed.
SECRET = b"MAIL FROM:<secret@example.test> AUTH=SECRET\r\n"
#: Marks every byte the hostile server sends before TLS.
FORGED = b"FORGED"

#: Per protocol: the server's honest prelude, message by message, the last one the go-ahead.
#: C{None} in place of the capabilities means "offer no STARTTLS" (chosen at random).
PRELUDES: dict[str, list[bytes]] = {
    "smtp": [b"220 mx ESMTP\r\n", b"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n", b"220 go\r\n"],
    "lmtp": [b"220 lmtp\r\n", b"250-lmtp\r\n250 STARTTLS\r\n", b"220 go\r\n"],
    "imap": [b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n", b"a001 OK begin\r\n"],
    "pop3": [b"+OK ready\r\n", b"+OK begin\r\n"],
    "xmpp-client": [
        b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
        b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
        b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    ],
    "xmpp-server": [
        b"<stream:stream xmlns='jabber:server' "
        b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
        b"<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
        b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    ],
    "ldap": [bytes.fromhex("300c02010178070a010004000400")],
    "ftp": [b"220-hello\r\nplain\r\n220 ready\r\n", b"234 AUTH TLS ok\r\n"],
    "postgres": [b"S"],
}

#: What a server may say instead of offering STARTTLS, per protocol.
NOT_OFFERED: dict[str, bytes] = {
    "smtp": b"250-mx\r\n250 PIPELINING\r\n",
    "lmtp": b"250 lmtp\r\n",
    "imap": b"* OK [CAPABILITY IMAP4rev1] hi\r\n",
    "pop3": b"-ERR no STLS\r\n",
    "xmpp-client": b"<stream:features><bind/></stream:features>",
    "xmpp-server": b"<stream:features><dialback/></stream:features>",
    "ldap": bytes.fromhex("300c02010178070a010204000400"),
    "ftp": b"500 no AUTH\r\n",
    "postgres": b"N",
}

#: Outcomes that break a promise.
VIOLATIONS = frozenset(
    {
        "violation: application read pre-TLS bytes",
        "violation: application data sent in cleartext",
        "violation: connected without the required protection",
        "violation: no outcome after the deadline",
        "violation: a timer left behind",
        "violation: unhandled error logged",
        "violation: crash",
    }
)


class _Transport(StringTransport):
    """
    The TCP connection to the hostile server: what is written before and after C{startTLS}.
    """

    def __init__(self) -> None:
        super().__init__(
            hostAddress=IPv4Address("TCP", "192.0.2.7", 40000),
            peerAddress=IPv4Address("TCP", "192.0.2.25", PORT),
        )
        self.tlsStarted = False
        self.cleartext = b""

    def write(self, data: bytes) -> None:
        if not self.tlsStarted:
            self.cleartext += data
        super().write(data)

    def startTLS(self, creator: Any, normal: bool = True) -> None:
        self.tlsStarted = True
        alsoProvides(self, ISSLTransport)


class _Application(Protocol):
    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.madeWith: list[bytes] | None = None

    def connectionMade(self) -> None:
        self.madeWith = list(self.received)
        assert self.transport is not None
        self.transport.write(SECRET)

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)


@dataclass
class Report:
    """
    The counts of a run's outcomes, and the first violations, each with how to replay it.
    """

    counts: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)


def _script(protocol: str, rng: random.Random) -> tuple[list[bytes], bool]:
    """
    The server's bytes for one session, in segments, and whether STARTTLS is offered.
    """
    messages = list(PRELUDES[protocol])
    offered = rng.random() < 0.8
    if not offered:
        messages = (
            [*messages[:-2], NOT_OFFERED[protocol]]
            if len(messages) > 1
            else [NOT_OFFERED[protocol]]
        )
    mutation = rng.random()
    if mutation < 0.15:
        # Forged replies with the go-ahead, in the same segment.
        messages[-1] += FORGED + b" 250 queued\r\n" + bytes(rng.randrange(256) for _ in range(20))
    elif mutation < 0.3:
        # Forged lines or garbage before the go-ahead.
        where = rng.randrange(len(messages) + 1)
        messages.insert(
            where, rng.choice([b"250 " + FORGED + b"\r\n", FORGED, b"\x00\xff" + FORGED])
        )
    elif mutation < 0.4:
        # A wrong code or garbage in place of one message.
        where = rng.randrange(len(messages))
        messages[where] = rng.choice(
            [b"554 " + FORGED + b"\r\n", b"* BYE " + FORGED + b"\r\n", FORGED]
        )
    elif mutation < 0.5:
        # A giant line, or an endless greeting.
        size = rng.choice([5000, 70000, 300000])
        messages.insert(rng.randrange(len(messages) + 1), b"220-" + FORGED * (size // 6) + b"\r\n")
    elif mutation < 0.6:
        # The server closes early.
        messages = messages[: rng.randrange(len(messages))]
    data = b"".join(messages)
    # Segments: as written, split at random points, or one byte at a time for a while.
    style = rng.random()
    if style < 0.4 or not data:
        segments = messages
    elif style < 0.8:
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(1, 8))))
        segments = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)])]
    else:
        segments = [data[i : i + 1] for i in range(min(len(data), 200))] + [data[200:]]
    return [s for s in segments if s], offered


def runSession(rng: random.Random) -> str:
    """
    Play one hostile session; return its outcome (a violation, or what happened).
    """
    protocol = rng.choice(list(PROTOCOLS))
    tlsa = rng.random() < 0.5
    smtpPolicy = protocol in ("smtp", "lmtp") and rng.random() < 0.7
    policy = Policy.SMTP if smtpPolicy else Policy.DEFAULT
    cleartextAllowed = smtpPolicy and not tlsa
    tlsaName = f"_{PORT}._tcp.{HOST}"
    resolver = FakeResolver(
        {
            (HOST, "A"): answer("A", "192.0.2.25", name=HOST),
            (HOST, "AAAA"): answer("AAAA", name=HOST),
            (tlsaName, "TLSA"): answer(
                "TLSA", *(("3 1 1 " + "00" * 32,) if tlsa else ()), name=tlsaName
            ),
        }
    )
    reactor = MemoryReactorClock()
    application = _Application()
    endpoint = DANEEndpoint(
        reactor,
        resolver,
        HOST.rstrip("."),
        PORT,
        starttls=protocol,
        policy=policy,
        handshakeTimeout=DEADLINE,
    )
    outcome: list[Any] = []
    endpoint.connect(Factory.forProtocol(lambda: application)).addBoth(outcome.append)
    ((_, _, factory, _, _),) = reactor.tcpClients
    client: Any = factory.buildProtocol(None)
    transport = _Transport()
    client.makeConnection(transport)
    segments, _ = _script(protocol, rng)
    closed = False

    def close(reason: Any) -> None:
        nonlocal closed
        if not closed:
            closed = True
            client.connectionLost(Failure(reason))

    slow = rng.random() < 0.1
    for segment in segments:
        if transport.disconnecting or closed:
            break
        reactor.advance(rng.choice([0, 0, 0.1, 1, 7]) if slow else 0)
        if transport.disconnecting:
            break
        client.dataReceived(segment)
    if transport.disconnecting:
        close(ConnectionAborted())
    elif not closed and transport.tlsStarted:
        # The handshake: completes, fails, is dropped, or never ends.
        ending = rng.random()
        if ending < 0.5:
            client.handshakeCompleted()
            if rng.random() < 0.5:
                client.dataReceived(b"over TLS\r\n")
        elif ending < 0.7:
            close(SSL.Error([("SSL routines", "", "handshake failure")]))
        elif ending < 0.85:
            close(ConnectionDone())
    elif not closed and rng.random() < 0.5 and segments and len(segments) < len(PRELUDES[protocol]):
        close(ConnectionDone())
    # Whatever is left runs into the deadline.
    if not outcome:
        reactor.advance(DEADLINE + 1)
        if transport.disconnecting:
            close(ConnectionAborted())
    return _judge(outcome, application, transport, cleartextAllowed, reactor, close)


def _judge(
    outcome: list[Any],
    application: _Application,
    transport: _Transport,
    cleartextAllowed: bool,
    reactor: MemoryReactorClock,
    close: Any,
) -> str:
    if not outcome:
        return "violation: no outcome after the deadline"
    result = outcome[0]
    if isinstance(result, Failure):
        if application.madeWith is not None:
            return "violation: connected without the required protection"
        verdict = f"refused: {type(result.value).__name__}"
    else:
        info = IDANEConnection(result.transport).connectionInfo
        if info.protection is Protection.CLEARTEXT and not cleartextAllowed:
            return "violation: connected without the required protection"
        if info.protection is not Protection.CLEARTEXT and not transport.tlsStarted:
            return "violation: connected without the required protection"
        if application.madeWith:
            return "violation: application read pre-TLS bytes"
        if info.protection is Protection.CLEARTEXT:
            # A cleartext session is the application's from its start: what the server
            # says after the endpoint's greeting is its own business. The greeting must be
            # the endpoint's.
            first = application.received[:1]
            if first and FORGED in first[0]:
                return "violation: application read pre-TLS bytes"
        elif any(FORGED in data for data in application.received):
            return "violation: application read pre-TLS bytes"
        verdict = f"connected: {info.protection}"
    if SECRET in transport.cleartext and not (
        cleartextAllowed and verdict == "connected: cleartext"
    ):
        return "violation: application data sent in cleartext"
    close(ConnectionDone())
    if reactor.getDelayedCalls():
        return "violation: a timer left behind"
    return verdict


def runSessions(count: int, seed: int, start: int = 0) -> Report:
    """
    Run sessions C{start} to C{start + count - 1} of the run seeded C{seed}; session C{i}
    draws from C{random.Random(f"{seed}-{i}")}, so each replays alone.
    """
    return _run(runSession, "session", count, seed, start)


def _run(play: Any, kind: str, count: int, seed: int, start: int) -> Report:
    report = Report()
    errors: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if event.get("log_failure") is not None or event.get("isError"):
            errors.append(str(event.get("log_failure") or event.get("log_format")))

    globalLogPublisher.addObserver(observe)  # type: ignore[arg-type]
    try:
        for index in range(start, start + count):
            rng = random.Random(
                f"{seed}-{index}" if kind == "session" else f"{kind}-{seed}-{index}"
            )
            before = len(errors)
            try:
                verdict = play(rng)
            except Exception as e:  # the harness reports it as a violation
                verdict = "violation: crash"
                errors.append(repr(e))
            if len(errors) > before and verdict != "violation: crash":
                verdict = "violation: unhandled error logged"
            report.counts[verdict] += 1
            if verdict.startswith("violation") and len(report.examples) < 10:
                detail = errors[-1] if len(errors) > before else ""
                flag = "" if kind == "session" else " --deliveries"
                report.examples.append(
                    f"{kind} {index}: {verdict} {detail}\n"
                    f"  replay: python -m tests.hostile{flag} --seed {seed} --first {index}"
                    " --sessions 1"
                )
    finally:
        globalLogPublisher.removeObserver(observe)  # type: ignore[arg-type]
    return report


def runDeliveries(count: int, seed: int, start: int = 0) -> Report:
    """
    Run deliveries C{start} to C{start + count - 1} of the run seeded C{seed} (see
    L{tests.hostile.delivery}), each drawn from C{random.Random(f"delivery-{seed}-{i}")}.
    """
    from tests.hostile.delivery import runDelivery

    return _run(runDelivery, "delivery", count, seed, start)

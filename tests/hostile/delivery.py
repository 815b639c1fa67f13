"""
Hostile MX hosts for a whole delivery (L{txdane.mail.sendMail}), played in memory: one to
three hosts, with or without TLSA records, each offering STARTTLS or not, completing or
failing the handshake, then answering the transaction with right, wrong, early, endless or
no replies, fast or slow.

Each delivery checks:

  - it ends, within its deadline, with a result or a typed delivery error, and leaves no
    timer behind;
  - a message reported delivered went out over the protection its host's policy requires
    (TLS where TLSA records are published), and its last reply was a 2xx to the data;
  - nothing of the message left in cleartext where TLS was required;
  - a bounce (permanent error) comes only from a 5xx reply to the transaction, never from
    anything said before the required TLS;
  - nothing is logged as an unhandled error.
"""

from __future__ import annotations

import random
from typing import Any

from OpenSSL import SSL
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionAborted, ConnectionDone, ConnectionRefusedError
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from zope.interface import alsoProvides

from txdane.mail import DeliveryError, DeliveryResult, sendMail

from ..fakeresolver import FakeResolver, answer

DOMAIN = "example.org."
BODY = b"SECRET-BODY-LINE"
MESSAGE = b"Subject: hi\r\n\r\n" + BODY + b"\r\n"
ATTEMPT = 60.0
DELIVERY = 150.0


class _Transport(StringTransport):
    def __init__(self, host: str) -> None:
        super().__init__(
            hostAddress=IPv4Address("TCP", "192.0.2.200", 40000),
            peerAddress=IPv4Address("TCP", host, 25),
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


def _resolver(count: int, tlsa: list[bool]) -> FakeResolver:
    names = [f"mx{i}.example.org." for i in range(count)]
    table: dict[Any, Any] = {
        (DOMAIN, "MX"): answer("MX", *(f"{10 + i} {n}" for i, n in enumerate(names)), name=DOMAIN)
    }
    for i, name in enumerate(names):
        table[(name, "A")] = answer("A", f"192.0.2.{i + 1}", name=name)
        table[(name, "AAAA")] = answer("AAAA", name=name)
        owner = f"_25._tcp.{name}"
        table[(owner, "TLSA")] = answer(
            "TLSA", *(("3 1 1 " + "00" * 32,) if tlsa[i] else ()), name=owner
        )
    return FakeResolver(table)


#: The replies of an honest transaction after EHLO: MAIL, RCPT, DATA, the data, QUIT.
TRANSACTION = [b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n", b"250 queued\r\n", b"221 bye\r\n"]


def _replies(rng: random.Random) -> list[bytes]:
    """
    What the server answers from its EHLO reply on, one item per client command.
    """
    replies = [b"250-mx\r\n250 8BITMIME\r\n", *TRANSACTION]
    change = rng.random()
    if change < 0.15:
        where = rng.randrange(1, len(replies))
        replies[where] = rng.choice([b"451 later\r\n", b"550 no\r\n", b"554 no\r\n"])
    elif change < 0.25:
        replies = replies[: rng.randrange(len(replies))]  # early close
    elif change < 0.3:
        replies.insert(rng.randrange(len(replies)), b"250-" + b"F" * 96 + b"\r\n" * 1)
    elif change < 0.35:
        replies[rng.randrange(len(replies))] = b"250-" + b"G" * 200_000
    elif change < 0.4:
        replies[rng.randrange(len(replies))] = b"garbage\r\n"
    return replies


def runDelivery(rng: random.Random) -> str:
    """
    Play one delivery against hostile MX hosts; return its outcome.
    """
    count = rng.randint(1, 3)
    tlsa = [rng.random() < 0.5 for _ in range(count)]
    reactor = MemoryReactorClock()
    outcome: list[Any] = []
    sendMail(
        reactor,
        _resolver(count, tlsa),
        "alice@example.net",
        ["bob@example.org"],
        MESSAGE,
        heloName="client.example.net",
        timeout=20,
        attemptTimeout=ATTEMPT,
        deliveryTimeout=DELIVERY,
    ).addBoth(outcome.append)
    dialled = 0
    sessions: list[tuple[int, _Transport, bool]] = []
    while not outcome and dialled < len(reactor.tcpClients):
        host, _, factory, _, _ = reactor.tcpClients[dialled]
        index = int(host.rsplit(".", 1)[1]) - 1
        dialled += 1
        if rng.random() < 0.1:
            factory.clientConnectionFailed(None, Failure(ConnectionRefusedError()))  # type: ignore[arg-type]
            reactor.advance(1)
            continue
        client: Any = factory.buildProtocol(None)
        transport = _Transport(host)
        client.makeConnection(transport)
        secured = _session(rng, reactor, client, transport)
        sessions.append((index, transport, secured))
        # Anything still open runs into the deadlines.
        for _ in range(4):
            if outcome or len(reactor.tcpClients) > dialled:
                break
            reactor.advance(ATTEMPT / 2)
            if transport.disconnecting:
                client.connectionLost(Failure(ConnectionAborted()))
    if not outcome:
        reactor.advance(DELIVERY + 1)
    return _judge(outcome, reactor, tlsa, sessions)


def _session(
    rng: random.Random, reactor: MemoryReactorClock, client: Any, transport: _Transport
) -> bool:
    """
    Play one host's server side; return whether its handshake completed.
    """
    closed = False

    def feed(data: bytes) -> bool:
        nonlocal closed
        if closed:
            return False
        if transport.disconnecting:
            closed = True
            client.connectionLost(Failure(ConnectionAborted()))
            return False
        reactor.advance(rng.choice([0, 0, 0, 0.5, 3]))
        if transport.disconnecting:
            return feed(b"")
        if data:
            client.dataReceived(data)
        # The client sends the message through a pull producer: pull it all.
        for _ in range(1000):
            producer = transport.producer
            if producer is None or transport.streaming or transport.disconnecting:
                break
            producer.resumeProducing()
        return True

    offered = rng.random() < 0.75
    if not feed(rng.choice([b"220 mx ESMTP\r\n", b"220 mx ESMTP\r\n", b"554 go away\r\n"])):
        return False
    if offered:
        if not feed(b"250-mx\r\n250 STARTTLS\r\n") or not feed(b"220 go\r\n"):
            return False
        ending = rng.random()
        if not transport.tlsStarted or transport.disconnecting:
            feed(b"")
            return False
        if ending < 0.7:
            client.handshakeCompleted()
        else:
            closed = True
            reason = SSL.Error([("SSL routines", "", "handshake failure")])
            client.connectionLost(Failure(reason if ending < 0.85 else ConnectionDone()))
            return False
    else:
        if not feed(b"250-mx\r\n250 PIPELINING\r\n"):
            return False
    secured = transport.tlsStarted
    for reply in _replies(rng):
        if not feed(reply):
            return secured
    if not closed:
        feed(b"")
        if not closed:
            closed = True
            client.connectionLost(Failure(ConnectionDone()))
    return secured


def _judge(
    outcome: list[Any],
    reactor: MemoryReactorClock,
    tlsa: list[bool],
    sessions: list[tuple[int, _Transport, bool]],
) -> str:
    if not outcome:
        return "violation: no outcome after the deadline"
    result = outcome[0]
    for index, transport, _ in sessions:
        if tlsa[index] and BODY in transport.cleartext:
            return "violation: message sent in cleartext where TLS was required"
    if isinstance(result, DeliveryResult):
        index = int(result.address.rsplit(".", 1)[1]) - 1 if result.address else -1
        session = next((s for s in sessions if s[0] == index), None)
        if session is None:
            return "violation: delivered by a host never connected"
        _, transport, secured = session
        if tlsa[index] and not secured:
            return "violation: delivered without the required protection"
        if BODY not in transport.value():
            return "violation: delivered without sending the message"
        if not result.reply.startswith("2"):
            return "violation: delivered on a non-2xx reply"
        verdict = f"delivered: {result.protection}"
    elif isinstance(result, Failure) and isinstance(result.value, DeliveryError):
        error = result.value
        if error.permanent:
            last = error.tries[-1].error if error.tries else None
            code = getattr(last, "code", None)
            if not (isinstance(code, int) and 500 <= code < 600):
                return "violation: bounced without a 5xx reply"
        verdict = f"{'bounced' if error.permanent else 'deferred'}"
    else:
        return "violation: crash"
    if reactor.getDelayedCalls():
        return "violation: a timer left behind"
    return verdict

"""
Timeouts, retries, rotation and deadlines of L{txdane.transport.DNSClient} on a fake clock.
"""

from __future__ import annotations

import errno
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import (
    CannotListenError,
    ConnectError,
    ConnectionRefusedError,
    NoRouteError,
)
from twisted.python.failure import Failure

from txdane.transport import (
    DNSClient,
    DNSConnectionError,
    DNSMalformedError,
    DNSServerError,
    DNSTimeoutError,
    DNSUnreachableError,
)

from .fakes import FakeConnector, FakeReactor

SERVERS = ["192.0.2.1", "192.0.2.2#5353", "2001:db8::3"]


def result(d: Deferred) -> object:
    """
    The result of a Deferred that has fired (a L{Failure} if it failed).
    """
    box: list[object] = []
    d.addBoth(box.append)
    assert box, "the Deferred has not fired"
    return box[0]


def destinations(reactor: FakeReactor) -> list[tuple[str, int]]:
    return [addr for _, _, addr in reactor.sent]


def test_silenceTimesOutAfterEveryAttempt() -> None:
    """
    With no answer, each server is asked once per round, each attempt waits C{timeout}
    seconds, and the error names the servers and the number of queries sent.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, SERVERS, timeout=3, attempts=2)
    d = client.query("www.example.test", "A")
    for _ in range(5):
        reactor.advance(3)
        assert not d.called
    reactor.advance(3)
    failure = result(d)
    assert isinstance(failure, Failure)
    error = failure.value
    assert isinstance(error, DNSTimeoutError)
    assert error.attempts == 6
    assert (
        destinations(reactor)
        == [
            ("192.0.2.1", 53),
            ("192.0.2.2", 5353),
            ("2001:db8::3", 53),
        ]
        * 2
    )
    assert "192.0.2.2#5353" in str(error) and "6 queries" in str(error)
    assert reactor.openPorts() == [] and reactor.getDelayedCalls() == []
    assert client.stats.timeouts == 6


def test_ipv6ServerUsesIPv6Socket() -> None:
    """
    The UDP socket for an IPv6 server is bound to the IPv6 wildcard address.
    """
    reactor = FakeReactor()
    DNSClient(reactor, ["::1#5300"], timeout=1, attempts=1).query("a.test", "A")
    assert reactor.ports[0].interface == "::"


@pytest.mark.parametrize(
    "server, source, accepted",
    [
        ("192.0.2.1", "::ffff:192.0.2.1", True),
        ("2001:db8::3", "2001:DB8:0:0::3", True),
        ("2001:db8::3", "2001:db8::4", False),
        ("192.0.2.1", "::ffff:192.0.2.2", False),
        ("192.0.2.1", "not an address", False),
    ],
)
def test_sourceComparedAsAddress(server: str, source: str, accepted: bool) -> None:
    """
    An answer whose source is the server's address written another way (IPv4-mapped, other
    letter case or zero compression) is the server's; another address, or a source that is
    no address, is ignored and counted.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, [server], timeout=2, attempts=1)
    d = client.query("www.example.test", "A")
    port, query, addr = reactor.sent[-1]
    port.deliver(dns.message.make_response(query), (source, addr[1]))
    if accepted:
        assert isinstance(result(d), dns.message.Message)
    else:
        assert client.stats.ignored == {"source": 1}
        port.deliver(dns.message.make_response(query), addr)
        assert isinstance(result(d), dns.message.Message)
    assert reactor.getDelayedCalls() == []


def test_answerAfterTimeoutOfFirstServer() -> None:
    """
    When the first server is silent, the second one's answer is delivered.
    """
    reactor = FakeReactor()
    d = DNSClient(reactor, SERVERS[:2], timeout=2, attempts=1).query("www.example.test", "A")
    reactor.advance(2)
    port, query, addr = reactor.sent[-1]
    assert addr == ("192.0.2.2", 5353)
    port.deliver(dns.message.make_response(query), addr)
    assert isinstance(result(d), dns.message.Message)
    assert reactor.getDelayedCalls() == []


def test_deadlineCutsRetriesShort() -> None:
    """
    The overall deadline ends the query even when attempts remain, and shortens the last
    attempt's wait.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, SERVERS, timeout=5, attempts=3, deadline=12)
    d = client.query("www.example.test", "A")
    reactor.advance(5)
    reactor.advance(5)
    assert not d.called
    reactor.advance(2)
    failure = result(d)
    assert isinstance(failure, Failure) and failure.check(DNSTimeoutError)
    assert len(reactor.sent) == 3


class StrictClockReactor(FakeReactor):
    """
    Refuses a negative delay, as a real reactor's C{callLater} does.
    """

    def callLater(self, delay: float, f: Any, *args: Any, **kw: Any) -> Any:  # type: ignore[override]
        assert delay >= 0, f"{delay} is not greater than or equal to 0 seconds"
        return super().callLater(delay, f, *args, **kw)


@pytest.mark.parametrize("fallback", ["edns", "tcp"])
def test_noRetryPastTheDeadline(fallback: str) -> None:
    """
    An answer asking for the EDNS or the TCP fallback that is read just after the deadline
    (its timer due but not yet run, as happens when a reactor reads before running timers)
    ends the query with a timeout; no query is sent past the deadline.
    """
    reactor = StrictClockReactor()
    client = DNSClient(reactor, SERVERS[:1], timeout=5, attempts=1, deadline=5)
    d = client.query("www.example.test", "A")
    port, query, addr = reactor.sent[-1]
    reactor.rightNow += 5.5
    rejection = dns.message.make_response(query)
    if fallback == "edns":
        rejection.use_edns(False)
        rejection.set_rcode(dns.rcode.FORMERR)
    else:
        rejection.flags |= dns.flags.TC
    port.deliver(rejection, addr)
    failure = result(d)
    assert isinstance(failure, Failure) and failure.check(DNSTimeoutError)
    assert len(reactor.sent) == 1 and reactor.connectors == []
    assert reactor.getDelayedCalls() == []


def test_edeTextCannotForgeOutput() -> None:
    """
    The EDE text is chosen by whoever answers: in the error's message (which the command line
    prints) control characters are escaped, so it stays one line and cannot drive a terminal.
    The attribute keeps the text as sent.
    """
    reactor = FakeReactor()
    d = DNSClient(reactor, SERVERS[:1], timeout=2, attempts=1).query("www.example.test", "A")
    port, query, addr = reactor.sent[-1]
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.SERVFAIL)
    text = "bad\x1b[2J\ntxdane: example.test. A: secure\u202e"
    response.use_edns(0, options=[dns.edns.EDEOption(dns.edns.EDECode.OTHER, text)])
    port.deliver(response, addr)
    failure = result(d)
    assert isinstance(failure, Failure) and failure.check(DNSServerError)
    message = str(failure.value)
    assert message.startswith("www.example.test. A: 192.0.2.1 answered SERVFAIL (EDE 0, ")
    assert message.isprintable()
    assert "(EDE 0, bad\\x1b[2J\\ntxdane: example.test. A: secure\\u202e)" in message
    assert failure.value.extendedErrors[0].text == text  # type: ignore[union-attr]


def test_rotate() -> None:
    """
    With rotation each query starts at the next server.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, SERVERS, timeout=1, attempts=1, rotate=True)
    for _ in range(3):
        client.query("www.example.test", "A")
    firsts = [addr[0] for _, _, addr in reactor.sent]
    assert firsts == ["192.0.2.1", "192.0.2.2", "2001:db8::3"]


def test_unparseableDatagramThenSilenceIsMalformed() -> None:
    """
    Garbage from the server does not end the attempt (it might be spoofed), but when nothing
    better arrives the query fails with a malformed-answer error rather than a timeout.
    """
    reactor = FakeReactor()
    d = DNSClient(reactor, SERVERS[:1], timeout=2, attempts=1).query("www.example.test", "A")
    port, _query, addr = reactor.sent[-1]
    port.deliver(b"\x12", addr)
    assert not d.called
    reactor.advance(2)
    failure = result(d)
    assert isinstance(failure, Failure)
    assert isinstance(failure.value, DNSMalformedError)
    assert "shorter than a DNS header" in str(failure.value)


def test_garbageWithTheRightIDThenRealAnswer() -> None:
    """
    A datagram with the right ID that does not parse is ignored; the real answer is taken.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, SERVERS[:1], timeout=2, attempts=1)
    d = client.query("www.example.test", "A")
    port, query, addr = reactor.sent[-1]
    port.deliver(query.id.to_bytes(2, "big") + b"\x81\x80" + b"\xff" * 20, addr)
    port.deliver(dns.message.make_response(query), addr)
    assert isinstance(result(d), dns.message.Message)
    assert client.stats.ignored == {"unparseable": 1}


def test_servfailIsNotAskedAgain() -> None:
    """
    A server that answered SERVFAIL is not asked again in later rounds; a silent one is.
    """
    reactor = FakeReactor()
    d = DNSClient(reactor, SERVERS[:2], timeout=2, attempts=2).query("www.example.test", "A")
    port, query, addr = reactor.sent[-1]
    failing = dns.message.make_response(query)
    failing.set_rcode(dns.rcode.SERVFAIL)
    port.deliver(failing, addr)
    reactor.advance(2)
    reactor.advance(2)
    assert destinations(reactor) == [("192.0.2.1", 53), ("192.0.2.2", 5353), ("192.0.2.2", 5353)]
    failure = result(d)
    assert isinstance(failure, Failure) and isinstance(failure.value, DNSServerError)


def test_cancelFakeClock() -> None:
    """
    Cancelling closes the socket and removes the timer.
    """
    reactor = FakeReactor()
    d = DNSClient(reactor, SERVERS, timeout=2, attempts=2).query("www.example.test", "A")
    d.cancel()
    failure = result(d)
    assert isinstance(failure, Failure) and failure.check(CancelledError)
    assert reactor.openPorts() == [] and reactor.getDelayedCalls() == []


def test_tcpTimeout() -> None:
    """
    A TCP repeat that never completes times out like a UDP attempt, and its connection is
    dropped.
    """
    reactor = FakeReactor()
    d = DNSClient(reactor, SERVERS[:1], timeout=2, attempts=1).query("www.example.test", "A")
    port, query, addr = reactor.sent[-1]
    truncated = dns.message.make_response(query)
    truncated.flags |= dns.flags.TC
    port.deliver(truncated, addr)
    (connector,) = reactor.connectors
    assert (connector.host, connector.port) == ("192.0.2.1", 53)
    reactor.advance(2)
    failure = result(d)
    assert isinstance(failure, Failure) and failure.check(DNSTimeoutError)
    assert connector.disconnected and reactor.getDelayedCalls() == []


def tcpFallback(reactor: FakeReactor) -> FakeConnector:
    """
    Answer the last UDP query with TC set: the client connects over TCP.
    """
    port, query, addr = reactor.sent[-1]
    truncated = dns.message.make_response(query)
    truncated.flags |= dns.flags.TC
    port.deliver(truncated, addr)
    return reactor.connectors[-1]


@pytest.mark.parametrize(
    "error, words",
    [
        (ConnectionRefusedError(), "TCP connection refused (nothing listens there)"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "TCP connection refused"),
        (NoRouteError(errno.ENETUNREACH, "no route"), "network unreachable"),
        (ConnectError(errno.EHOSTUNREACH, "no route"), "host unreachable"),
    ],
)
def test_tcpNetworkFailure(error: Exception, words: str) -> None:
    """
    A TCP connection (after a truncated UDP answer) that the network refuses at once fails
    that server's attempt with L{DNSUnreachableError} (EDE 23), in the words of
    L{networkFailure}, as a closed UDP port does: the next server is asked with no time
    passing, and the refused one is not asked again in a later round.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, SERVERS[:2], timeout=2, attempts=3)
    d = client.query("www.example.test", "A")
    connector = tcpFallback(reactor)
    assert (connector.host, connector.port) == ("192.0.2.1", 53)
    connector.connectionFailed(Failure(error))
    assert reactor.seconds() == 0 and reactor.sent[-1][2] == ("192.0.2.2", 5353)
    for _ in range(3):
        reactor.advance(2)
    assert [a for _, _, a in reactor.sent] == [("192.0.2.1", 53)] + [("192.0.2.2", 5353)] * 3
    failure = result(d)
    assert isinstance(failure, Failure) and isinstance(failure.value, DNSUnreachableError)
    assert failure.value.ede == 23
    assert str(failure.value).startswith(f"cannot reach 192.0.2.1: {words}")
    assert reactor.getDelayedCalls() == []


def test_tcpOtherConnectionFailure() -> None:
    """
    A TCP connection that fails otherwise is a connection error naming the server and the
    cause, without EDE 23.
    """
    reactor = FakeReactor()
    d = DNSClient(reactor, SERVERS[:1], timeout=2, attempts=1).query("www.example.test", "A")
    connector = tcpFallback(reactor)
    connector.connectionFailed(Failure(ConnectError(string="odd")))
    failure = result(d)
    assert isinstance(failure, Failure) and type(failure.value) is DNSConnectionError
    assert str(failure.value) == "cannot reach 192.0.2.1: An error occurred while connecting: odd."
    assert reactor.getDelayedCalls() == []


def test_tcpConnectTimeout() -> None:
    """
    The attempt's timer ends a TCP connection that does not complete, before the
    connection's own timeout: a timeout, counted, told apart from a refusal.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, SERVERS[:1], timeout=2, attempts=1)
    d = client.query("www.example.test", "A")
    connector = tcpFallback(reactor)
    assert connector.timeout > 2
    reactor.advance(2)
    failure = result(d)
    assert isinstance(failure, Failure) and isinstance(failure.value, DNSTimeoutError)
    assert str(failure.value) == "www.example.test. A: no answer from 192.0.2.1 after 1 query"
    assert failure.value.ede == 22
    assert client.stats.timeouts == 1 and connector.disconnected
    assert reactor.getDelayedCalls() == []


def test_tcpConnectTimeoutAsksAgain() -> None:
    """
    A server whose TCP connection timed out was only silent: it is asked again in the next
    round, and the query ends with L{DNSTimeoutError}, counting the queries written (the TCP
    repeats never were).
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, SERVERS[:1], timeout=2, attempts=3)
    d = client.query("www.example.test", "A")
    for _ in range(3):
        connector = tcpFallback(reactor)
        reactor.advance(2)
        assert connector.disconnected and connector.state == "disconnected"
    assert destinations(reactor) == [("192.0.2.1", 53)] * 3
    assert len(reactor.connectors) == 3
    failure = result(d)
    assert isinstance(failure, Failure) and isinstance(failure.value, DNSTimeoutError)
    assert str(failure.value) == "www.example.test. A: no answer from 192.0.2.1 after 3 queries"
    assert client.stats.timeouts == 3
    assert reactor.getDelayedCalls() == []


def test_cancelDuringTCPConnect() -> None:
    """
    Cancelling a query while its TCP repeat is still connecting fails it with
    C{CancelledError}, however the connection's end is reported: nothing more is sent, to
    that server or the next, and nothing is left running.
    """
    reactor = FakeReactor()
    d = DNSClient(reactor, SERVERS, timeout=2, attempts=2).query("www.example.test", "A")
    connector = tcpFallback(reactor)
    d.cancel()
    failure = result(d)
    assert isinstance(failure, Failure) and failure.check(CancelledError)
    assert connector.disconnected and connector.state == "disconnected"
    assert reactor.openPorts() == [] and reactor.getDelayedCalls() == []
    reactor.advance(10)
    assert destinations(reactor) == [("192.0.2.1", 53)] and len(reactor.connectors) == 1


def test_timeoutCountsTCPRepeats() -> None:
    """
    The number of queries a L{DNSTimeoutError} reports counts those repeated over TCP.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, SERVERS[:1], timeout=2, attempts=2)
    d = client.query("www.example.test", "A")
    for _ in range(2):
        connector = tcpFallback(reactor)
        transport = connector.connect()
        assert transport.value()[2:] == reactor.sent[-1][1].to_wire()
        reactor.advance(2)
        assert transport.disconnecting
    failure = result(d)
    assert isinstance(failure, Failure) and isinstance(failure.value, DNSTimeoutError)
    assert failure.value.attempts == 4
    assert str(failure.value) == "www.example.test. A: no answer from 192.0.2.1 after 4 queries"
    assert reactor.getDelayedCalls() == []


class NoIPv6Reactor(FakeReactor):
    """
    A host without IPv6: opening an IPv6 UDP socket fails.
    """

    def listenUDP(self, port: int, protocol: Any, interface: str = "", **kw: Any) -> Any:
        if ":" in interface:
            raise CannotListenError(interface, port, OSError(97, "Address family not supported"))
        return super().listenUDP(port, protocol, interface, **kw)


def test_socketFailureTriesNextServer() -> None:
    """
    A server that cannot even be asked (no IPv6 on this host) is a connection error for that
    server: the next server is asked, and if none is left the query fails with a L{DNSError}.
    """
    reactor = NoIPv6Reactor()
    d = DNSClient(reactor, ["2001:db8::3", "192.0.2.1"], timeout=2, attempts=1).query(
        "www.example.test", "A"
    )
    port, query, addr = reactor.sent[-1]
    assert addr == ("192.0.2.1", 53)
    port.deliver(dns.message.make_response(query), addr)
    assert isinstance(result(d), dns.message.Message)

    d = DNSClient(reactor, ["2001:db8::3"], timeout=2, attempts=2).query("www.example.test", "A")
    failure = result(d)
    assert isinstance(failure, Failure) and isinstance(failure.value, DNSConnectionError)
    assert "2001:db8::3" in str(failure.value)
    assert reactor.getDelayedCalls() == []


def test_portUnreachableTriesNextServer() -> None:
    """
    The query's socket is connected to its server; an ICMP port unreachable for it
    (C{connectionRefused}) fails that server's attempt at once with L{DNSUnreachableError},
    and the next server is asked at once, with no time passing. A server refused once is
    not asked again in a later round.
    """
    reactor = FakeReactor()
    client = DNSClient(reactor, ["192.0.2.1", "192.0.2.2"], timeout=2, attempts=3)
    d = client.query("www.example.test", "A")
    port, _, addr = reactor.sent[-1]
    assert (port.connected, addr) == (("192.0.2.1", 53), ("192.0.2.1", 53))
    port.protocol.connectionRefused()
    assert not port.open
    addr = reactor.sent[-1][2]
    assert addr == ("192.0.2.2", 53) and reactor.seconds() == 0
    for _ in range(3):  # the second server stays silent, round after round
        reactor.advance(2)
    assert [a for _, _, a in reactor.sent] == [("192.0.2.1", 53)] + [("192.0.2.2", 53)] * 3
    failure = result(d)
    assert isinstance(failure, Failure) and isinstance(failure.value, DNSUnreachableError)
    assert failure.value.ede == 23
    assert (client.stats.unreachable, client.stats.timeouts) == (1, 3)
    assert reactor.getDelayedCalls() == []


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"servers": []}, "servers"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": float("inf")}, "timeout"),
        ({"deadline": float("nan")}, "deadline"),
        ({"deadline": float("inf")}, "deadline"),
        ({"attempts": 0}, "attempts"),
        ({"payload": 100}, "payload"),
        ({"servers": ["not-an-address"]}, "not an IPv4 or IPv6 address"),
        ({"servers": ["192.0.2.1#port"]}, "not a number"),
    ],
)
def test_badSettings(settings: dict, message: str) -> None:
    """
    Unusable settings are refused with an error naming them.
    """
    settings.setdefault("servers", ["192.0.2.1"])
    with pytest.raises(ValueError, match=message):
        DNSClient(
            FakeReactor(),
            timeout=settings.pop("timeout", 1),
            attempts=settings.pop("attempts", 1),
            **settings,
        )

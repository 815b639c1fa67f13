"""
Tests for L{txdane.transport.DNSClient} against a scriptable server on real loopback sockets.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from typing import Any, cast

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TLSA
import dns.rrset
import pytest
from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import UserError
from twisted.internet.task import deferLater
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from txdane.transport import (
    DNSClient,
    DNSConnectionError,
    DNSMalformedError,
    DNSServerError,
    DNSTimeoutError,
    DNSUnreachableError,
    EDNSUnsupportedError,
    MalformedTLSA,
    parseMessage,
)
from txdane.validation.failures import edeOf

from .fakes import WatchedReactor
from .scriptserver import Reply, ScriptServer, answer

A_RECORD = "www.example.test. 300 IN A 192.0.2.1"


def plainAnswer(query: dns.message.Message, transport: str) -> list[Reply]:
    return [Reply(answer(query, A_RECORD).to_wire())]


def sockets(selectables: set) -> list:
    """
    The UDP ports and TCP connections among C{selectables} (not the reactor's own wakers).
    """
    return [s for s in selectables if hasattr(s, "getHost")]


def ourCalls(calls: set) -> list:
    """
    The delayed calls among C{calls} that are not trial's own test timeout.
    """
    return [c for c in calls if c.active() and "onTimeout" not in repr(c)]


class LoopbackTests(TestCase):
    """
    The client against a real UDP and TCP server on 127.0.0.1.
    """

    def serve(self, handler, otherHost: str = "127.0.0.1") -> ScriptServer:
        server = ScriptServer(handler, otherHost=otherHost)
        server.start()
        self.addCleanup(server.stop)
        return server

    def client(self, server: ScriptServer, reactor: Any = reactor, **kw: Any) -> DNSClient:
        kw.setdefault("timeout", 2.0)
        kw.setdefault("attempts", 1)
        return DNSClient(reactor, [server.address], **kw)

    async def test_ednsAndFlags(self) -> None:
        """
        The query carries an OPT record with payload 1232 and, when asked, DO and CD; RD is set
        by default. The answer is delivered as a dnspython message.
        """
        server = self.serve(plainAnswer)
        response = await self.client(server).query(
            "www.example.test", "A", dnssecOK=True, checkingDisabled=True
        )
        self.assertEqual(response.answer[0].to_text(), A_RECORD)
        ((query, transport),) = server.queries
        self.assertEqual(transport, "udp")
        self.assertEqual(query.edns, 0)
        self.assertEqual(query.payload, 1232)
        self.assertTrue(query.ednsflags & dns.flags.DO)
        self.assertTrue(query.flags & dns.flags.CD)
        self.assertTrue(query.flags & dns.flags.RD)

    async def test_plainFlags(self) -> None:
        """
        Without DO and CD the OPT record is still sent, with DO clear; RD can be turned off;
        the payload is configurable.
        """
        server = self.serve(plainAnswer)
        await self.client(server, payload=4000).query(
            "www.example.test", "A", recursionDesired=False
        )
        ((query, _),) = server.queries
        self.assertEqual(query.payload, 4000)
        self.assertFalse(query.ednsflags & dns.flags.DO)
        self.assertFalse(query.flags & (dns.flags.CD | dns.flags.RD))

    async def test_randomIDs(self) -> None:
        """
        Each query has its own ID and source port.
        """
        server = self.serve(plainAnswer)
        client = self.client(server)
        for _ in range(8):
            await client.query("www.example.test", "A")
        ids = {q.id for q, _ in server.queries}
        self.assertGreater(len(ids), 4)

    async def test_truncatedGoesToTCP(self) -> None:
        """
        A UDP answer with TC=1 is asked again over TCP and the TCP answer is delivered.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            if transport == "udp":
                response = answer(query)
                response.flags |= dns.flags.TC
                return [Reply(response.to_wire())]
            records = [f"www.example.test. 300 IN A 192.0.2.{i}" for i in range(1, 200)]
            return [Reply(answer(query, *records).to_wire(max_size=65535))]

        server = self.serve(handler)
        client = self.client(server)
        response = await client.query("www.example.test", "A")
        self.assertEqual(len(response.answer[0]), 199)
        self.assertEqual([t for _, t in server.queries], ["udp", "tcp"])
        self.assertEqual((client.stats.truncated, client.stats.tcpQueries), (1, 1))

    async def test_quiet(self) -> None:
        """
        The client logs nothing: neither Twisted's lines for each UDP socket (C{"...
        starting on N"}, C{"(UDP Port N Closed)"}) nor its factories' for each TCP connection,
        whether the query is answered over UDP, over TCP after truncation, or refused by a
        closed port.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            response = answer(query, A_RECORD)
            if transport == "udp" and query.question[0].name.labels[0] == b"big":
                response.flags |= dns.flags.TC
            return [Reply(response.to_wire())]

        server = self.serve(handler)
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        client = self.client(server)
        await client.query("www.example.test", "A")
        await client.query("big.example.test", "A")
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        refused = DNSClient(reactor, [f"127.0.0.1#{port}"], timeout=10.0, attempts=1)
        await self.assertFailure(refused.query("www.example.test", "A"), DNSUnreachableError)
        for _ in range(3):  # the ports close on the next turns of the reactor
            await deferLater(reactor, 0)
        self.assertEqual([t for _, t in server.queries], ["udp", "udp", "tcp"])
        self.assertEqual([formatEvent(e) for e in events], [])

    async def test_truncatedUnparseableGoesToTCP(self) -> None:
        """
        A UDP answer cut off in the middle of a record, with TC=1, still leads to TCP.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            wire = answer(query, A_RECORD).to_wire()
            if transport == "udp":
                cut = bytearray(wire[:-3])
                cut[2] |= 0x02
                return [Reply(bytes(cut))]
            return [Reply(wire)]

        server = self.serve(handler)
        response = await self.client(server).query("www.example.test", "A")
        self.assertEqual(response.answer[0].to_text(), A_RECORD)

    async def test_formerrFallsBackWithoutEDNS(self) -> None:
        """
        A server that answers an EDNS query with FORMERR is asked once more without EDNS.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            if query.edns >= 0:
                response = dns.message.make_response(query)
                response.use_edns(False)
                response.set_rcode(dns.rcode.FORMERR)
                return [Reply(response.to_wire())]
            return [Reply(answer(query, A_RECORD).to_wire())]

        server = self.serve(handler)
        client = self.client(server)
        response = await client.query("www.example.test", "A")
        self.assertEqual(response.answer[0].to_text(), A_RECORD)
        self.assertEqual([q.edns for q, _ in server.queries], [0, -1])
        self.assertEqual(client.stats.ednsFallbacks, 1)

    async def test_badversFallsBack(self) -> None:
        """
        BADVERS (an extended RCODE carried in the OPT record) also leads to a plain retry.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            if query.edns >= 0:
                response = dns.message.make_response(query)
                response.set_rcode(dns.rcode.BADVERS)
                return [Reply(response.to_wire())]
            return [Reply(answer(query, A_RECORD).to_wire())]

        server = self.serve(handler)
        response = await self.client(server).query("www.example.test", "A")
        self.assertEqual(len(response.answer), 1)

    async def test_formerrWithDNSSECFails(self) -> None:
        """
        When DO was asked for, a server rejecting EDNS is an error that says DNSSEC needs EDNS,
        and no plain query is sent.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            response = dns.message.make_response(query)
            response.use_edns(False)
            response.set_rcode(dns.rcode.FORMERR)
            return [Reply(response.to_wire())]

        server = self.serve(handler)
        error = await self.assertFailure(
            self.client(server).query("www.example.test", "A", dnssecOK=True),
            EDNSUnsupportedError,
        )
        self.assertIn("DNSSEC", str(error))
        self.assertEqual(error.rcode, dns.rcode.FORMERR)
        self.assertEqual(len(server.queries), 1)
        # The response read, as DNSServerError carries it (what was received is counted).
        read = cast(EDNSUnsupportedError, error).response
        assert read is not None and read.wire is not None
        self.assertEqual(read.rcode(), dns.rcode.FORMERR)

    async def test_rejectionWithOPTIsAnAnswer(self) -> None:
        """
        FORMERR or NOTIMP in an answer that carries an OPT record comes from a server that
        speaks EDNS (RFC 6891 section 7): it is that server's answer, a L{DNSServerError},
        with or without DO; no query without EDNS follows.
        """
        rcodes: list[dns.rcode.Rcode] = []

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            response = dns.message.make_response(query)  # with an OPT record, as the query
            response.set_rcode(rcodes[-1])
            return [Reply(response.to_wire())]

        server = self.serve(handler)
        client = self.client(server)
        for rcode in (dns.rcode.FORMERR, dns.rcode.NOTIMP):
            rcodes.append(rcode)
            for dnssecOK in (True, False):
                error = await self.assertFailure(
                    client.query("www.example.test", "HINFO", dnssecOK=dnssecOK), DNSServerError
                )
                self.assertEqual(error.rcode, rcode)
        self.assertEqual([q.edns for q, _ in server.queries], [0, 0, 0, 0])
        self.assertEqual(client.stats.ednsFallbacks, 0)

    async def test_closedPortFailsAtOnce(self) -> None:
        """
        A server whose UDP port is closed answers with ICMP port unreachable, which fails the
        attempt at once with L{DNSUnreachableError} (EDE 23, Network Error), not at the
        timeout; the next server is then asked.
        """
        closed = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        client = DNSClient(reactor, [f"127.0.0.1#{port}"], timeout=10.0, attempts=3)
        started = time.monotonic()
        error: Any = await self.assertFailure(
            client.query("www.example.test", "A"), DNSUnreachableError
        )
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertIsInstance(error, DNSConnectionError)
        self.assertEqual((error.ede, edeOf(error)), (23, 23))
        self.assertEqual(
            str(error), f"cannot reach 127.0.0.1#{port}: port unreachable (nothing listens there)"
        )
        self.assertEqual((client.stats.unreachable, client.stats.timeouts), (1, 0))

        server = self.serve(plainAnswer)
        client = DNSClient(reactor, [f"127.0.0.1#{port}", server.address], timeout=10.0, attempts=1)
        started = time.monotonic()
        response = await client.query("www.example.test", "A")
        self.assertLess(time.monotonic() - started, 1.0)
        self.assertEqual(response.answer[0].to_text(), A_RECORD)

    async def test_spoofedAnswersIgnored(self) -> None:
        """
        Answers from the wrong port, with the wrong ID, for the wrong question, or without QR
        are ignored, and the real answer that follows is accepted. The query's socket is
        connected to the server, so the kernel drops the one from the wrong port before the
        client sees it; the others are counted.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            good = answer(query, A_RECORD)
            evil = answer(query, "www.example.test. 300 IN A 203.0.113.66")
            wrongID = answer(query, "www.example.test. 300 IN A 203.0.113.66")
            wrongID.id = query.id ^ 0x5A5A
            other = dns.message.make_query("evil.example.test", "A")
            other.id = query.id
            wrongQuestion = dns.message.make_response(other)
            notResponse = dns.message.make_query("www.example.test", "A")
            notResponse.id = query.id
            return [
                Reply(evil.to_wire(), fromOther=True),
                Reply(wrongID.to_wire()),
                Reply(wrongQuestion.to_wire()),
                Reply(notResponse.to_wire()),
                Reply(good.to_wire()),
            ]

        server = self.serve(handler)
        client = self.client(server)
        response = await client.query("www.example.test", "A")
        self.assertEqual(response.answer[0].to_text(), A_RECORD)
        self.assertEqual(client.stats.ignored, {"id": 1, "question": 2})

    async def test_wrongAddressIgnored(self) -> None:
        """
        A datagram from another address (same port number space, different host) is ignored:
        the kernel drops it, since the query's socket is connected to the server.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            evil = answer(query, "www.example.test. 300 IN A 203.0.113.66")
            return [Reply(evil.to_wire(), fromOther=True), Reply(answer(query, A_RECORD).to_wire())]

        server = self.serve(handler, otherHost="127.0.0.2")
        client = self.client(server)
        response = await client.query("www.example.test", "A")
        self.assertEqual(response.answer[0].to_text(), A_RECORD)
        self.assertEqual(client.stats.ignored, {})

    async def test_questionComparedCaseInsensitively(self) -> None:
        """
        An answer whose question differs only in letter case is the answer.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            wire = bytearray(answer(query, A_RECORD).to_wire())
            index = wire.index(b"\x03www")
            wire[index + 1 : index + 4] = b"WwW"
            return [Reply(bytes(wire))]

        server = self.serve(handler)
        response = await self.client(server).query("www.example.test", "A")
        self.assertEqual(len(response.answer), 1)

    async def test_servfailWithEDE(self) -> None:
        """
        SERVFAIL from every server is a L{DNSServerError} carrying the RCODE and the EDE
        option; the next server is tried first.
        """
        calls: list[str] = []

        def failing(query: dns.message.Message, transport: str) -> list[Reply]:
            calls.append("first")
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            response.use_edns(0, options=[dns.edns.EDEOption(dns.edns.EDECode.DNSSEC_BOGUS, "bad")])
            return [Reply(response.to_wire())]

        first = self.serve(failing)
        second = self.serve(failing)
        client = DNSClient(reactor, [first.address, second.address], timeout=2, attempts=3)
        error: Any = await self.assertFailure(client.query("www.example.test", "A"), DNSServerError)
        self.assertEqual(error.rcode, dns.rcode.SERVFAIL)
        self.assertEqual([e.code for e in error.extendedErrors], [dns.edns.EDECode.DNSSEC_BOGUS])
        self.assertIn("SERVFAIL (EDE 6, bad)", str(error))
        # Each server answered once: an answer, even a failure, is not asked for again.
        self.assertEqual((len(first.queries), len(second.queries)), (1, 1))

    async def test_servfailThenGoodServer(self) -> None:
        """
        After a SERVFAIL the next server's good answer is delivered.
        """

        def failing(query: dns.message.Message, transport: str) -> list[Reply]:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            return [Reply(response.to_wire())]

        first, second = self.serve(failing), self.serve(plainAnswer)
        client = DNSClient(reactor, [first.address, second.address], timeout=2, attempts=1)
        response = await client.query("www.example.test", "A")
        self.assertEqual(len(response.answer), 1)

    async def test_nxdomainIsAnAnswer(self) -> None:
        """
        NXDOMAIN is delivered as a response, not raised.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.NXDOMAIN)
            return [Reply(response.to_wire())]

        server = self.serve(handler)
        response = await self.client(server).query("nowhere.example.test", "A")
        self.assertEqual(response.rcode(), dns.rcode.NXDOMAIN)

    async def test_tcpGarbageIsMalformed(self) -> None:
        """
        Garbage over TCP (which cannot be spoofed the way UDP can) is a malformed-answer error
        naming what was wrong.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            if transport == "udp":
                response = answer(query)
                response.flags |= dns.flags.TC
                return [Reply(response.to_wire())]
            return [Reply(b"\x00\x01garbage that is not DNS")]

        server = self.serve(handler)
        error = await self.assertFailure(
            self.client(server).query("www.example.test", "A"), DNSMalformedError
        )
        self.assertIn(server.address, str(error))

    async def test_cancelLeavesReactorClean(self) -> None:
        """
        Cancelling a query in flight closes its socket and its timer: nothing is left in the
        reactor (trial also fails a test that leaves the reactor dirty).
        """
        server = self.serve(lambda query, transport: [])
        readersBefore = set(reactor.getReaders())
        callsBefore = set(reactor.getDelayedCalls())
        watched = WatchedReactor(reactor)
        d = self.client(server, timeout=30, reactor=watched).query("www.example.test", "A")
        self.assertEqual(len(set(reactor.getReaders()) - readersBefore), 1)
        d.cancel()
        await self.assertFailure(d, CancelledError)
        await watched.allClosed()
        self.assertEqual(sockets(set(reactor.getReaders()) - readersBefore), [])
        self.assertEqual(ourCalls(set(reactor.getDelayedCalls()) - callsBefore), [])

    async def test_cancelDuringTCP(self) -> None:
        """
        Cancelling while the TCP repeat is in progress closes the connection.
        """
        tcpAsked: Deferred[None] = Deferred()

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            if transport == "udp":
                response = answer(query)
                response.flags |= dns.flags.TC
                return [Reply(response.to_wire())]
            tcpAsked.callback(None)
            return []

        server = self.serve(handler)
        callsBefore = set(reactor.getDelayedCalls())
        readersBefore = set(reactor.getReaders()) | set(reactor.getWriters())
        watched = WatchedReactor(reactor)
        d = self.client(server, timeout=30, reactor=watched).query("www.example.test", "A")
        await tcpAsked
        d.cancel()
        await self.assertFailure(d, CancelledError)
        await watched.allClosed()
        self.assertEqual(ourCalls(set(reactor.getDelayedCalls()) - callsBefore), [])
        # The server's side of the connection may linger a moment; the client's is gone.
        selectables: list[Any] = list(set(reactor.getReaders()) - readersBefore)
        clientSides = [
            s for s in selectables if hasattr(s, "getPeer") and s.getPeer().port == server.port
        ]
        self.assertEqual(clientSides, [])

    async def test_tcpConnectNeverCompletes(self) -> None:
        """
        A TCP repeat whose connection is never made (the SYN dropped, here by a listener
        whose accept queue is full) times out like a silent server, L{DNSTimeoutError} (EDE
        22), and the server is asked again in the next round; each connection is dropped.
        """

        def handler(query: dns.message.Message, transport: str) -> list[Reply]:
            response = answer(query)
            response.flags |= dns.flags.TC
            return [Reply(response.to_wire())]

        server = ScriptServer(handler, stalledTCP=True)
        server.start()
        self.addCleanup(server.stop)
        watched = WatchedReactor(reactor)
        client = self.client(server, reactor=watched, timeout=0.3, attempts=2)
        error: Any = await self.assertFailure(
            client.query("www.example.test", "A"), DNSTimeoutError
        )
        self.assertEqual(error.ede, 22)
        self.assertEqual([t for _, t in server.queries], ["udp", "udp"])
        self.assertEqual((client.stats.tcpQueries, client.stats.timeouts), (2, 2))
        await watched.allClosed()
        self.assertEqual(
            [(name, reason.type) for name, reason in watched.endings],
            [("clientConnectionFailed", UserError)] * 2,
        )

    async def test_cancelDuringTCPConnect(self) -> None:
        """
        Cancelling a query while its TCP repeat is still connecting fails it with
        C{CancelledError}: the next server is not asked, and the connection is dropped.
        """

        def truncating(query: dns.message.Message, transport: str) -> list[Reply]:
            response = answer(query)
            response.flags |= dns.flags.TC
            return [Reply(response.to_wire())]

        stalled = ScriptServer(truncating, stalledTCP=True)
        stalled.start()
        self.addCleanup(stalled.stop)
        other = self.serve(plainAnswer)
        watched = WatchedReactor(reactor)
        client = DNSClient(watched, [stalled.address, other.address], timeout=30, attempts=1)
        connecting = watched.nextConnection()
        d = client.query("www.example.test", "A")
        await connecting
        d.cancel()
        await self.assertFailure(d, CancelledError)
        await watched.allClosed()
        self.assertEqual(other.queries, [])
        self.assertEqual([t for _, t in stalled.queries], ["udp"])
        self.assertEqual(
            [(name, reason.type) for name, reason in watched.endings],
            [("clientConnectionFailed", UserError)],
        )


def _response(*records: tuple[str, str, bytes]) -> bytes:
    """
    A response for _443._tcp.www.example.test. TLSA whose answer holds C{records} (name,
    type, raw rdata), written by hand so that dnspython's checks do not apply.
    """
    import dns.message as message

    query = message.make_query("_443._tcp.www.example.test.", "TLSA")
    wire = bytearray(message.make_response(query).to_wire())
    wire[6:8] = struct.pack("!H", len(records))
    for name, rdtype, data in records:
        wire += dns.name.from_text(name).to_wire() or b""
        wire += struct.pack(
            "!HHIH", dns.rdatatype.from_text(rdtype), dns.rdataclass.IN, 300, len(data)
        )
        wire += data
    return bytes(wire)


def test_parseMessageKeepsMalformedTLSA() -> None:
    """
    A TLSA record whose digest has the wrong length is kept, with the data as sent, beside
    the well-formed ones of its RRset.
    """
    owner = "_443._tcp.www.example.test."
    good = b"\x03\x01\x01" + b"\x11" * 32
    bad = b"\x03\x01\x02" + b"\x22" * 63
    parsed = parseMessage(_response((owner, "TLSA", bad), (owner, "TLSA", good)))
    (rrset,) = parsed.answer
    assert rrset.rdtype == dns.rdatatype.TLSA and len(rrset) == 2
    assert {type(r) for r in rrset} == {MalformedTLSA, dns.rdtypes.ANY.TLSA.TLSA}
    assert sorted(r.to_digestable() for r in rrset) == sorted([good, bad])


def test_parseMessageKeepsEveryMalformedTLSA() -> None:
    """
    Each TLSA record of the wrong length is kept, and the records between them are read.
    """
    owner = "_443._tcp.www.example.test."
    short = b"\x03\x01\x01" + b"\x22" * 31
    long = b"\x03\x01\x02" + b"\x33" * 65
    good = b"\x03\x01\x01" + b"\x11" * 32
    address = ("www.example.test.", "A", b"\xc0\x00\x02\x01")
    parsed = parseMessage(
        _response((owner, "TLSA", short), address, (owner, "TLSA", good), (owner, "TLSA", long))
    )
    (tlsa,) = [rrset for rrset in parsed.answer if rrset.rdtype == dns.rdatatype.TLSA]
    (a,) = [rrset for rrset in parsed.answer if rrset.rdtype == dns.rdatatype.A]
    assert sorted(r.to_digestable() for r in tlsa) == sorted([short, good, long])
    assert [type(r) for r in tlsa].count(MalformedTLSA) == 2
    assert len(parsed.answer) == 2 and len(a) == 1


@pytest.mark.parametrize(
    "records",
    [
        [("_443._tcp.www.example.test.", "TLSA", b"\x03\x01")],  # too short for its fields
        [("www.example.test.", "A", b"\x7f\x00\x01")],
        [
            ("_443._tcp.www.example.test.", "TLSA", b"\x03\x01\x01" + b"\x11" * 31),
            ("www.example.test.", "AAAA", b"\x00"),
        ],
        # dnspython stops reading at the misplaced OPT record, as many records before one
        # TLSA record of the wrong length as errors (one) are not the whole message.
        [
            ("_443._tcp.www.example.test.", "TLSA", b"\x03\x01\x01" + b"\x11" * 32),
            (".", "OPT", b""),
            ("_443._tcp.www.example.test.", "TLSA", b"\x03\x01\x01" + b"\x33" * 32),
            ("www.example.test.", "A", b"\xc0\x00\x02\x01"),
            ("_443._tcp.www.example.test.", "TLSA", b"\x03\x01\x01" + b"\x22" * 31),
        ],
    ],
)
def test_parseMessageStillStrict(records: list[tuple[str, str, bytes]]) -> None:
    """
    Anything else malformed fails the message, as dnspython's parser does, also beside TLSA
    records of the wrong length, whose recovery does not make up for records not read.
    """
    with pytest.raises(dns.exception.DNSException):
        parseMessage(_response(*records))


def test_queryRendering() -> None:
    """
    Each query has its own random ID, carried by its wire form, which is otherwise exactly
    what dnspython renders for the same question and settings; names keep their case.
    """
    import itertools

    import dns.message

    client = DNSClient(object(), ["127.0.0.1#53"], timeout=1, attempts=1, payload=1400)
    names = [
        dns.name.from_text(text)
        for text in ("WWW.Example.test.", ".", "_443._tcp.a.b.c.d.example.", "x" * 63 + ".test.")
    ]
    ids = set()
    for name, rdtype, settings in itertools.product(
        names,
        (dns.rdatatype.TLSA, dns.rdatatype.A, dns.rdatatype.RdataType.make(65280)),
        itertools.product((True, False), repeat=4),
    ):
        edns, dnssecOK, checkingDisabled, recursionDesired = settings
        if dnssecOK and not edns:
            continue
        query = client._makeQuery(name, rdtype, dns.rdataclass.IN, *settings)
        flags = (dns.flags.RD if recursionDesired else 0) | (
            dns.flags.CD if checkingDisabled else 0
        )
        expected = dns.message.make_query(
            name,
            rdtype,
            use_edns=0 if edns else False,
            want_dnssec=dnssecOK,
            payload=1400,
            flags=flags,
            id=query.id,
        )
        assert query.wire == expected.to_wire()
        assert dns.message.from_wire(query.wire).question[0].name.labels == name.labels
        ids.add(query.id)
    assert len(ids) > 100
    with pytest.raises(dns.name.NeedAbsoluteNameOrOrigin):
        client._makeQuery(
            dns.name.from_text("www", None), dns.rdatatype.A, dns.rdataclass.IN, *settings
        )


def _reply(query: dns.message.Message, mutate: Callable[[dns.message.Message], None]) -> bytes:
    response = dns.message.make_response(query)
    mutate(response)
    return response.to_wire()


def test_answeredByAgreesWithDnspython() -> None:
    """
    Whether an answer matches its query is decided as dnspython's C{is_response} decides it:
    QR, ID, opcode, and the question (without regard to case; an empty one only for a
    refusal or failure), over answers that differ in each of these.
    """
    import dns.message
    import dns.opcode

    client = DNSClient(object(), ["127.0.0.1#53"], timeout=1, attempts=1)
    name = dns.name.from_text("www.Example.test.")
    query = client._makeQuery(name, dns.rdatatype.A, dns.rdataclass.IN, True, True, False, True)
    sent = dns.message.from_wire(query.wire)
    other = dns.name.from_text("www.example.org.")

    def setQuestion(
        *entries: tuple[dns.name.Name, int, int],
    ) -> Callable[[dns.message.Message], None]:
        def mutate(response: dns.message.Message) -> None:
            response.question = [
                dns.rrset.RRset(
                    owner,
                    dns.rdataclass.RdataClass.make(rdclass),
                    dns.rdatatype.RdataType.make(rdtype),
                )
                for owner, rdtype, rdclass in entries
            ]

        return mutate

    def setRcode(rcode: int) -> Callable[[dns.message.Message], None]:
        def mutate(response: dns.message.Message) -> None:
            response.set_rcode(dns.rcode.Rcode.make(rcode))
            response.question = []

        return mutate

    def setFlags(flags: int) -> Callable[[dns.message.Message], None]:
        def mutate(response: dns.message.Message) -> None:
            response.flags = flags

        return mutate

    def setID(response: dns.message.Message) -> None:
        response.id ^= 1

    mutations: list[Callable[[dns.message.Message], None]] = [
        lambda response: None,
        setID,
        setFlags(0),
        setFlags(dns.flags.QR | dns.opcode.to_flags(dns.opcode.NOTIFY)),
        setQuestion(),
        setQuestion((dns.name.from_text("WWW.EXAMPLE.TEST."), dns.rdatatype.A, dns.rdataclass.IN)),
        setQuestion((name, dns.rdatatype.AAAA, dns.rdataclass.IN)),
        setQuestion((name, dns.rdatatype.A, dns.rdataclass.CH)),
        setQuestion((other, dns.rdatatype.A, dns.rdataclass.IN)),
        setQuestion(
            (name, dns.rdatatype.A, dns.rdataclass.IN), (name, dns.rdatatype.A, dns.rdataclass.IN)
        ),
        setQuestion(
            (name, dns.rdatatype.A, dns.rdataclass.IN), (other, dns.rdatatype.A, dns.rdataclass.IN)
        ),
        *(setRcode(rcode) for rcode in (0, 1, 2, 3, 4, 5, 9)),
    ]
    verdicts = []
    for mutate in mutations:
        response = parseMessage(_reply(sent, mutate))
        assert query.answeredBy(response) == sent.is_response(response)
        verdicts.append(query.answeredBy(response))
    assert verdicts.count(True) >= 5 and verdicts.count(False) >= 5


@pytest.mark.parametrize("edns", [True, False])
def test_rcodeAsDnspythonReadsIt(edns: bool) -> None:
    """
    The client reads a response's RCODE, extended by its OPT record, as C{Message.rcode()}
    does, for every RCODE a message can carry (with EDNS, all 4,096; without, the 16 of the
    header), whatever other flags are set.
    """
    from txdane.transport import _rcodeOf

    query = dns.message.make_query("example.test.", "A", use_edns=edns)
    for rcode in range(4096 if edns else 16):
        response = dns.message.make_response(query)
        response.set_rcode(dns.rcode.Rcode.make(rcode))
        response.flags |= dns.flags.TC | dns.flags.AD
        read = dns.message.from_wire(response.to_wire())
        assert _rcodeOf(read) == read.rcode() == rcode

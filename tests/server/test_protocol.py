"""
Tests for the server on the wire: UDP and TCP on a real loopback port, and the protocol objects
with fake transports where the wire adds nothing.
"""

from __future__ import annotations

import socket
import struct

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.internet.threads import deferToThread
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from txdane.server.protocol import (
    DEFAULT_MAX_TCP_CONNECTIONS,
    DEFAULT_TCP_IDLE_TIMEOUT,
    DNSDatagramProtocol,
    DNSStreamFactory,
    DNSStreamProtocol,
    ResponderHolder,
)
from txdane.server.responder import Responder
from txdane.server.service import RunningServer, listenDNS, responderForZones
from txdane.server.zones import ZoneStore
from txdane.testing import CASES, buildHierarchy

_HIERARCHY = buildHierarchy()


class LoopbackTests(TestCase):
    """
    The hierarchy served on 127.0.0.1, queried with dnspython from a thread.
    """

    async def serve(self) -> RunningServer:
        server = await _HIERARCHY.serve(reactor)
        self.addCleanup(server.stop)
        return server

    async def ask(
        self, server: RunningServer, query: dns.message.Message, tcp: bool = False
    ) -> dns.message.Message:
        send = dns.query.tcp if tcp else dns.query.udp
        return await deferToThread(send, query, server.host, port=server.port, timeout=5)

    async def test_everyCaseBothTransports(self) -> None:
        """
        Every case of the table gets its response code over UDP and over TCP, signed answers
        carrying their RRSIGs, on one port for both.
        """
        server = await self.serve()
        self.assertEqual(server.host, "127.0.0.1")
        self.assertNotEqual(server.port, 0)
        for case in CASES:
            for tcp in (False, True):
                query = dns.message.make_query(case.name, case.rdtype, want_dnssec=True)
                response = await self.ask(server, query, tcp)
                self.assertEqual(dns.rcode.to_text(response.rcode()), case.rcode, case)
                self.assertTrue(response.flags & dns.flags.AA, case)
                self.assertFalse(response.flags & dns.flags.TC, case)
                if case.rcode == "NOERROR" and case.status.value == "secure" and response.answer:
                    self.assertTrue(
                        any(r.rdtype == dns.rdatatype.RRSIG for r in response.answer), case
                    )

    async def test_truncatedOverUDPFullOverTCP(self) -> None:
        """
        An NSEC3 NXDOMAIN proof does not fit 512 bytes: TC over UDP, the whole answer over TCP.
        """
        server = await self.serve()
        query = dns.message.make_query("nx.nsec3.test.", "A", want_dnssec=True, payload=512)
        udp = await self.ask(server, query)
        self.assertTrue(udp.flags & dns.flags.TC)
        self.assertEqual(udp.authority, [])
        tcp = await self.ask(server, query, tcp=True)
        self.assertFalse(tcp.flags & dns.flags.TC)
        self.assertGreater(len(tcp.to_wire()), 512)

    async def test_badQueryOverUDP(self) -> None:
        """
        Garbage gets FORMERR over UDP with the query's ID.
        """
        server = await self.serve()

        def exchange() -> bytes:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(5)
                garbage = struct.pack("!HHHHHH", 77, 0x0100, 1, 0, 0, 0) + b"\x3f"
                s.sendto(garbage, (server.host, server.port))
                return s.recv(512)

        response = dns.message.from_wire(await deferToThread(exchange))
        self.assertEqual(response.id, 77)
        self.assertEqual(response.rcode(), dns.rcode.FORMERR)

    async def test_errorsBothTransports(self) -> None:
        """
        BADVERS, NOTIMP and REFUSED come back over UDP and over TCP alike.
        """
        server = await self.serve()
        badVersion = dns.message.make_query("www.example.test.", "A", use_edns=1)
        notify = dns.message.make_query("example.test.", "SOA")
        notify.set_opcode(dns.opcode.NOTIFY)
        # The hierarchy holds the root, so every IN name has a zone: ask in class CH.
        elsewhere = dns.message.make_query("version.bind.", "TXT", rdclass="CH")
        for query, rcode in (
            (badVersion, dns.rcode.BADVERS),
            (notify, dns.rcode.NOTIMP),
            (elsewhere, dns.rcode.REFUSED),
        ):
            for tcp in (False, True):
                response = await self.ask(server, query, tcp)
                self.assertEqual(response.rcode(), rcode, (query.question, tcp))

    async def test_reload(self) -> None:
        """
        Replacing the responder changes the answers without reopening the port.
        """
        server = await self.serve()
        query = dns.message.make_query("www.example.test.", "A")
        self.assertEqual((await self.ask(server, query)).rcode(), dns.rcode.NOERROR)
        other = buildHierarchy(extraRecords={"example.test.": ["new 300 IN A 127.0.0.9"]})
        server.reload(responderForZones([other.zones[dns.name.from_text("example.test.")]]))
        query = dns.message.make_query("new.example.test.", "A")
        response = await self.ask(server, query)
        self.assertEqual(response.answer[0][0].address, "127.0.0.9")
        query = dns.message.make_query("www.unsigned.test.", "A")
        self.assertEqual((await self.ask(server, query)).rcode(), dns.rcode.REFUSED)

    async def test_stop(self) -> None:
        """
        After stop() fires, the port is free again for both transports.
        """
        server = await _HIERARCHY.serve(reactor)
        await server.stop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((server.host, server.port))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((server.host, server.port))

    async def test_stopDropsConnections(self) -> None:
        """
        stop() also closes TCP connections a client keeps open, and fires after they are gone.
        """
        server = await _HIERARCHY.serve(reactor)
        client = socket.create_connection((server.host, server.port), timeout=5)
        self.addCleanup(client.close)
        query = dns.message.make_query("www.example.test.", "A").to_wire()
        client.sendall(struct.pack("!H", len(query)) + query)
        self.assertTrue(await deferToThread(client.recv, 4096))
        await server.stop()

        def closed() -> bool:
            try:
                return client.recv(4096) == b""
            except ConnectionResetError:
                return True

        self.assertTrue(await deferToThread(closed))


class ProtocolTests(SynchronousTestCase):
    """
    The protocol objects with in-memory transports.
    """

    def setUp(self) -> None:
        self.holder = ResponderHolder(Responder(ZoneStore(_HIERARCHY.zones.values())))

    def test_tcpFramingAndPipelining(self) -> None:
        """
        Two length-prefixed queries arriving in pieces are answered in order, each framed.
        """
        protocol = DNSStreamFactory(self.holder, clock=Clock()).buildProtocol(None)
        assert protocol is not None
        transport = StringTransport()
        protocol.makeConnection(transport)
        queries = [
            dns.message.make_query(n, "A").to_wire()
            for n in ("www.example.test.", "nx.example.test.")
        ]
        stream = b"".join(struct.pack("!H", len(q)) + q for q in queries)
        for i in range(0, len(stream), 7):
            protocol.dataReceived(stream[i : i + 7])
        out = transport.value()
        rcodes = []
        while out:
            (length,) = struct.unpack_from("!H", out)
            rcodes.append(dns.message.from_wire(out[2 : 2 + length]).rcode())
            out = out[2 + length :]
        self.assertEqual(rcodes, [dns.rcode.NOERROR, dns.rcode.NXDOMAIN])

    def test_udpNoAnswerToResponses(self) -> None:
        sent: list[tuple[bytes, object]] = []

        class Transport:
            def write(self, data: bytes, addr: object) -> None:
                sent.append((data, addr))

        protocol = DNSDatagramProtocol(self.holder)
        protocol.transport = Transport()  # type: ignore[assignment]
        query = dns.message.make_query("www.example.test.", "A")
        protocol.datagramReceived(query.to_wire(), ("127.0.0.1", 5353))
        query.flags |= dns.flags.QR
        protocol.datagramReceived(query.to_wire(), ("127.0.0.1", 5353))
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0][1], ("127.0.0.1", 5353))

    def test_udpUnsendableSourceDropped(self) -> None:
        """
        A query whose (spoofed) source cannot be answered, such as port 0, is dropped: the
        send error does not escape, which would log a traceback for every such packet.
        """

        class Transport:
            def write(self, data: bytes, addr: object) -> None:
                raise OSError(22, "Invalid argument")

        clock = Clock()
        for protocol in (
            DNSDatagramProtocol(self.holder),
            DNSDatagramProtocol(self.holder, batch=2, clock=clock),
        ):
            protocol.transport = Transport()  # type: ignore[assignment]
            query = dns.message.make_query("www.example.test.", "A")
            protocol.datagramReceived(query.to_wire(), ("127.0.0.1", 0))
            clock.advance(0)
            self.assertEqual(self.flushLoggedErrors(), [])

    def test_udpBatch(self) -> None:
        """
        With a batch size, answers wait for the next turn of the reactor's loop, or until the
        batch is full, and go out in the order of the queries; stopping sends what waits.
        """
        sent: list[tuple[bytes, object]] = []

        class Transport:
            def write(self, data: bytes, addr: object) -> None:
                sent.append((data, addr))

        clock = Clock()
        protocol = DNSDatagramProtocol(self.holder, batch=3, clock=clock)
        protocol.transport = Transport()  # type: ignore[assignment]
        names = [f"h{i}.example.test." for i in range(8)]
        queries = [dns.message.make_query(name, "A") for name in names]

        def answered() -> list[str]:
            return [dns.message.from_wire(data).question[0].name.to_text() for data, _ in sent]

        protocol.datagramReceived(queries[0].to_wire(), ("127.0.0.1", 1))
        protocol.datagramReceived(queries[1].to_wire(), ("127.0.0.1", 2))
        self.assertEqual(sent, [])
        clock.advance(0)
        self.assertEqual(answered(), names[:2])
        self.assertEqual([addr for _, addr in sent], [("127.0.0.1", 1), ("127.0.0.1", 2)])
        for query in queries[2:7]:
            protocol.datagramReceived(query.to_wire(), ("127.0.0.1", 3))
        self.assertEqual(answered(), names[:5])  # a full batch went at once
        clock.advance(0)
        self.assertEqual(answered(), names[:7])
        self.assertEqual(clock.getDelayedCalls(), [])
        protocol.datagramReceived(queries[7].to_wire(), ("127.0.0.1", 4))
        protocol.stopProtocol()
        self.assertEqual(answered(), names)
        self.assertEqual(clock.getDelayedCalls(), [])


class StreamLimitTests(SynchronousTestCase):
    """
    What a TCP client can hold: an idle connection is closed after the idle timeout, and
    connections beyond the cap are refused.
    """

    def setUp(self) -> None:
        self.holder = ResponderHolder(Responder(ZoneStore(_HIERARCHY.zones.values())))
        self.clock = Clock()

    def connect(self, factory: DNSStreamFactory) -> tuple[DNSStreamProtocol, StringTransport]:
        protocol = factory.buildProtocol(None)
        assert isinstance(protocol, DNSStreamProtocol)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def test_idleTimeout(self) -> None:
        """
        A connection idle for the default idle timeout is closed; traffic restarts the count.
        """
        factory = DNSStreamFactory(self.holder, clock=self.clock)
        protocol, transport = self.connect(factory)
        self.clock.advance(DEFAULT_TCP_IDLE_TIMEOUT - 1)
        query = dns.message.make_query("www.example.test.", "A").to_wire()
        protocol.dataReceived(struct.pack("!H", len(query)) + query)
        self.clock.advance(DEFAULT_TCP_IDLE_TIMEOUT - 1)
        self.assertFalse(transport.disconnecting)
        self.clock.advance(1)
        self.assertTrue(transport.disconnecting)

    def test_partialFramesDoNotKeepAConnection(self) -> None:
        """
        A client dribbling a query a byte at a time (slowloris) does not hold its connection
        past the idle timeout: only complete queries count as traffic.
        """
        factory = DNSStreamFactory(self.holder, clock=self.clock)
        protocol, transport = self.connect(factory)
        query = dns.message.make_query("www.example.test.", "A").to_wire()
        frame = struct.pack("!H", len(query)) + query
        for i in range(len(frame) - 1):
            if transport.disconnecting:
                break
            protocol.dataReceived(frame[i : i + 1])
            self.clock.advance(1)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.clock.seconds(), DEFAULT_TCP_IDLE_TIMEOUT)

    def test_answersWaitForASlowReader(self) -> None:
        """
        A client that sends queries but does not read the answers cannot make the server
        buffer answers without bound: the protocol is its transport's streaming producer, and
        while the transport's buffer is full no further query is answered (nor read).
        """
        factory = DNSStreamFactory(self.holder, clock=self.clock)
        protocol, transport = self.connect(factory)
        self.assertIs(transport.producer, protocol)
        self.assertTrue(transport.streaming)
        query = dns.message.make_query("www.example.test.", "A").to_wire()
        frame = struct.pack("!H", len(query)) + query
        protocol.pauseProducing()  # what the transport does once its buffer is full
        protocol.dataReceived(frame * 3)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(transport.producerState, "paused")
        protocol.resumeProducing()
        out = transport.value()
        count = 0
        while out:
            (length,) = struct.unpack_from("!H", out)
            out = out[2 + length :]
            count += 1
        self.assertEqual(count, 3)

    def test_clientThatDoesNotReadIsAborted(self) -> None:
        """
        At the idle timeout the connection is closed gracefully; but a graceful close waits
        for the client to read every pending answer, so if it is still open one more idle
        timeout later it is aborted, and its slot freed.
        """
        factory = DNSStreamFactory(self.holder, clock=self.clock)
        protocol, transport = self.connect(factory)
        query = dns.message.make_query("www.example.test.", "A").to_wire()
        protocol.dataReceived(struct.pack("!H", len(query)) + query)
        self.clock.advance(DEFAULT_TCP_IDLE_TIMEOUT)
        self.assertTrue(transport.disconnecting)
        self.assertFalse(transport.disconnected)
        answered = transport.value()
        protocol.dataReceived(struct.pack("!H", len(query)) + query)
        self.assertEqual(transport.value(), answered)  # closing: no further answers
        self.clock.advance(DEFAULT_TCP_IDLE_TIMEOUT)
        self.assertTrue(transport.disconnected)

    def test_connectionCap(self) -> None:
        """
        Beyond C{maxConnections} open connections, new ones are refused until one closes.
        """
        factory = DNSStreamFactory(self.holder, maxConnections=2, clock=self.clock)
        first, _ = self.connect(factory)
        self.connect(factory)
        self.assertIsNone(factory.buildProtocol(None))
        first.connectionLost(Failure(ConnectionDone()))
        self.assertIsNotNone(factory.buildProtocol(None))

    def test_connectionCapDefault(self) -> None:
        """
        Without C{maxConnections}, the cap is L{DEFAULT_MAX_TCP_CONNECTIONS} (500, as
        docs/limits.md says): that many connections are taken, the next is refused.
        """
        factory = DNSStreamFactory(self.holder, clock=self.clock)
        for _ in range(DEFAULT_MAX_TCP_CONNECTIONS):
            self.connect(factory)
        self.assertIsNone(factory.buildProtocol(None))
        self.assertEqual(DEFAULT_MAX_TCP_CONNECTIONS, 500)


class SlowReaderOverTheWireTests(TestCase):
    """
    A real TCP client on loopback that pipelines queries and never reads the answers.
    """

    async def test_boundedAndDropped(self) -> None:
        """
        The server stops reading once its write buffer is full, so what it buffers stays
        bounded however many queries are sent; after the idle timeout the connection is
        dropped even though the client never reads what is pending.
        """
        clock = Clock()
        holder = ResponderHolder(Responder(ZoneStore(_HIERARCHY.zones.values())))
        factory = DNSStreamFactory(holder, clock=clock)
        # What the test waits for, each an event of the server's side: it read a chunk of
        # queries, it stopped reading (paused by its full write buffer), it lost the client.
        waiting: list[Deferred[None]] = []
        paused: list[bool] = []

        def nextEvent() -> Deferred[None]:
            d: Deferred[None] = Deferred()
            waiting.append(d)
            return d

        def happened() -> None:
            while waiting:
                waiting.pop().callback(None)

        dataReceived = DNSStreamProtocol.dataReceived
        pauseProducing = DNSStreamProtocol.pauseProducing

        def recordingDataReceived(protocol: DNSStreamProtocol, data: bytes) -> None:
            dataReceived(protocol, data)
            happened()

        def recordingPauseProducing(protocol: DNSStreamProtocol) -> None:
            pauseProducing(protocol)
            paused.append(True)
            happened()

        self.patch(DNSStreamProtocol, "dataReceived", recordingDataReceived)
        self.patch(DNSStreamProtocol, "pauseProducing", recordingPauseProducing)
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(client.close)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.connect(("127.0.0.1", port.getHost().port))  # type: ignore[attr-defined]
        client.setblocking(False)
        query = dns.message.make_query("example.test.", "ANY", want_dnssec=True).to_wire()
        pending = (struct.pack("!H", len(query)) + query) * 8000  # 6 MB of answers
        while not paused:
            if pending:
                try:
                    pending = pending[client.send(pending) :]
                    continue
                except BlockingIOError:
                    pass
            await nextEvent()  # the server read some queries, or stopped reading
        (protocol,) = factory.connections
        transport = protocol.transport
        buffered = len(transport.dataBuffer) + transport._tempDataLen  # type: ignore[union-attr]
        self.assertLess(buffered, 256 * 1024)
        lost: Deferred[None] = Deferred()
        connectionLost = protocol.connectionLost

        def recordingConnectionLost(reason: Failure) -> None:
            connectionLost(reason)
            lost.callback(None)

        self.patch(protocol, "connectionLost", recordingConnectionLost)
        clock.advance(DEFAULT_TCP_IDLE_TIMEOUT)  # closed gracefully: the answers wait
        self.assertTrue(transport.disconnecting)  # type: ignore[union-attr]
        self.assertIn(protocol, factory.connections)
        clock.advance(DEFAULT_TCP_IDLE_TIMEOUT)  # still there: aborted
        await lost
        self.assertEqual(factory.connections, set())


class ReferralOverTheWireTests(TestCase):
    """
    A server holding only C{test.} gives referrals, over UDP and TCP alike.
    """

    async def test_referral(self) -> None:
        responder = responderForZones([_HIERARCHY.zones[dns.name.from_text("test.")]])
        server = await listenDNS(reactor, responder, "127.0.0.1", 0)
        self.addCleanup(server.stop)
        query = dns.message.make_query("www.example.test.", "A", want_dnssec=True)
        for send in (dns.query.udp, dns.query.tcp):
            response = await deferToThread(send, query, server.host, port=server.port, timeout=5)
            self.assertFalse(response.flags & dns.flags.AA)
            self.assertEqual(
                {dns.rdatatype.to_text(r.rdtype) for r in response.authority}, {"NS", "DS", "RRSIG"}
            )
            self.assertEqual(len(response.additional), 2)

    async def test_formErrOverTCP(self) -> None:
        server = await _HIERARCHY.serve(reactor)
        self.addCleanup(server.stop)

        def exchange() -> bytes:
            garbage = struct.pack("!HHHHHH", 78, 0x0100, 1, 0, 0, 0) + b"\x3f"
            with socket.create_connection((server.host, server.port), timeout=5) as s:
                s.sendall(struct.pack("!H", len(garbage)) + garbage)
                data = b""
                while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data[2:]

        response = dns.message.from_wire(await deferToThread(exchange))
        self.assertEqual(response.id, 78)
        self.assertEqual(response.rcode(), dns.rcode.FORMERR)

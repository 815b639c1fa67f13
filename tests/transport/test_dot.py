"""
Tests for L{txdane.dot.DoTClient} against a DNS-over-TLS server on real loopback sockets.
"""

from __future__ import annotations

import struct
from typing import Any

import dns.edns
import dns.message
import dns.name
import dns.rcode
from twisted.internet import reactor
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.ssl import Certificate, optionsForClientTLS
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from txdane.dot import PADDING_BLOCK, DoTAuthenticationError, DoTClient, UpstreamTLS
from txdane.testing import issue
from txdane.transport import (
    DNSConnectionError,
    DNSMalformedError,
    DNSQuerier,
    DNSTimeoutError,
)

from .dotserver import DoTServer, DoTServerConnection, answerAtOnce, within
from .scriptserver import answer


def silentForSlow(query: dns.message.Message, connection: DoTServerConnection) -> None:
    """
    Answer every query but those for names starting with C{slow}.
    """
    if not str(query.question[0].name).startswith("slow"):
        answerAtOnce(query, connection)


def names(response: dns.message.Message) -> list[str]:
    return [str(rrset.name) for rrset in response.answer]


def oneThenClose(query: dns.message.Message, connection: DoTServerConnection) -> None:
    """
    Answer the first query of each connection, then close it (a server that serves one
    query per connection: RFC 7766 section 6.2.1.1).
    """
    if not getattr(connection, "answered", False):
        connection.answered = True  # type: ignore[attr-defined]
        answerAtOnce(query, connection)
        connection.transport.loseConnection()  # type: ignore[union-attr]


def firstOnly(query: dns.message.Message, connection: DoTServerConnection) -> None:
    """
    Answer the first query of each connection, and nothing after it (a connection that went
    dead, while the server answers on a new one).
    """
    if not getattr(connection, "answered", False):
        connection.answered = True  # type: ignore[attr-defined]
        answerAtOnce(query, connection)


class DoTClientTests(TestCase):
    """
    The client against a Twisted DoT server on 127.0.0.1, authenticated by PKIX with the
    server's private CA.
    """

    def serve(self, handler: Any = answerAtOnce, **kw: Any) -> DoTServer:
        server = DoTServer(handler, **kw)
        server.start()
        self.addCleanup(server.stop)
        return server

    def client(self, *servers: DoTServer, name: str | None = None, **kw: Any) -> DoTClient:
        kw.setdefault("timeout", 5.0)
        kw.setdefault("attempts", 1)
        creators = {s.address: s.creator(name) for s in servers}
        client = DoTClient(
            reactor,
            [s.address for s in servers],
            name or servers[0].name,
            lambda server: creators[f"{server.host}#{server.port}"],
            **kw,
        )
        self.addCleanup(client.close)
        for server in servers:
            if server.ignoreCloseNotify:
                self.addCleanup(server.abortConnections)  # before client.close
        return client

    async def warmClient(self, server: DoTServer, **kw: Any) -> DoTClient:
        """
        A client whose connection is open (one query answered), then given a short timeout:
        the tests of timeouts do not depend on how long a TLS handshake takes.
        """
        client = self.client(server, **kw)
        await client.query("warm.example.test", "A")
        client.timeout = 0.1
        return client

    async def test_isAQuerier(self) -> None:
        """
        The client answers a query as L{DNSQuerier} says: the response, matched to the query.
        """
        server = self.serve()
        client: DNSQuerier = self.client(server)
        response = await client.query("www.example.test", "A", dnssecOK=True)
        self.assertEqual(names(response), ["www.example.test."])
        query = server.queries[0]
        self.assertTrue(query.ednsflags & dns.flags.DO)
        self.assertEqual(query.edns, 0)

    async def test_oneConnectionForManyQueries(self) -> None:
        """
        Queries one after another reuse one TLS connection.
        """
        server = self.serve()
        client = self.client(server)
        for i in range(5):
            response = await client.query(f"q{i}.example.test", "A")
            self.assertEqual(names(response), [f"q{i}.example.test."])
        self.assertEqual(len(server.connections), 1)
        self.assertEqual(len(server.connections[0].received), 5)
        self.assertEqual(client.stats.connections, 1)

    async def test_pipeliningOutOfOrder(self) -> None:
        """
        Queries sent together go out on one connection without waiting for each other, and
        answers coming back in the reverse order reach the right queries (matched by ID and
        question).
        """
        held: list[tuple[dns.message.Message, DoTServerConnection]] = []

        def hold(query: dns.message.Message, connection: DoTServerConnection) -> None:
            held.append((query, connection))
            if len(held) == 4:
                for q, c in reversed(held):
                    answerAtOnce(q, c)

        server = self.serve(hold)
        client = self.client(server)
        wanted = [f"n{i}.example.test." for i in range(4)]
        responses = await gatherResults([client.query(n, "A") for n in wanted])
        self.assertEqual([names(r)[0] for r in responses], wanted)
        self.assertEqual(len(server.connections), 1)
        self.assertEqual(client.stats.mostOutstanding, 4)
        self.assertEqual(len({q.id for q, _ in held}), 4)

    async def test_padding(self) -> None:
        """
        Every query is padded to a multiple of 128 octets with the EDNS(0) Padding option,
        whatever the length of the name.
        """
        server = self.serve()
        client = self.client(server)
        for name in ("a.test", "a-much-longer-name." * 5 + "example.test", "x" * 60 + ".test"):
            await client.query(name, "TLSA")
        sizes = [len(wire) for wire in server.connections[0].received]
        self.assertTrue(all(size % PADDING_BLOCK == 0 for size in sizes), sizes)
        self.assertEqual(sorted(set(sizes)), [128, 256])
        for query in server.queries:
            self.assertTrue(any(o.otype == dns.edns.PADDING for o in query.options))

    async def test_idleCloseAndReconnect(self) -> None:
        """
        A connection with nothing outstanding for the idle timeout is closed by the client;
        the next query opens a new one.
        """
        server = self.serve()
        client = self.client(server, idleTimeout=0.05)
        await client.query("one.example.test", "A")
        await server.connections[0].lost
        self.assertEqual(client.stats.idleClosed, 1)
        response = await client.query("two.example.test", "A")
        self.assertEqual(names(response), ["two.example.test."])
        self.assertEqual(len(server.connections), 2)

    async def test_serverClosesIdleConnection(self) -> None:
        """
        A server that closes the connection between queries is no failure: the next query
        opens a new connection.
        """
        server = self.serve()
        client = self.client(server)
        await client.query("one.example.test", "A")
        server.connections[0].transport.loseConnection()  # type: ignore[union-attr]
        await server.connections[0].lost
        await deferLater(reactor, 0, lambda: None)
        response = await client.query("two.example.test", "A")
        self.assertEqual(names(response), ["two.example.test."])
        self.assertEqual(len(server.connections), 2)

    async def test_onePerConnection(self) -> None:
        """
        A server that answers one query per connection and then closes it: the queries
        asked together are each asked again on a new connection until answered (RFC 7766
        section 6.2.1), for as long as the attempt lasts, as the server answers one on each.
        """
        server = self.serve(oneThenClose)
        client = self.client(server)
        wanted = [f"n{i}.example.test." for i in range(5)]
        responses = await gatherResults([client.query(n, "A") for n in wanted])
        self.assertEqual([names(r)[0] for r in responses], wanted)
        self.assertEqual(len(server.connections), 5)

    async def test_closedWithoutAnswers(self) -> None:
        """
        A server that closes every connection without answering anything: each attempt asks
        once more on a new connection, then the query fails with L{DNSConnectionError}; the
        next round asks the server again (a closed connection is no verdict on it).
        """
        server = self.serve(lambda q, c: c.transport.loseConnection())
        client = self.client(server, attempts=2)
        with self.assertRaises(DNSConnectionError) as raised:
            await client.query("www.example.test", "A")
        self.assertIn("closed before the answer came", str(raised.exception))
        self.assertEqual(len(server.connections), 4)

    async def test_closedTwiceThenAnswered(self) -> None:
        """
        When the server closed the connection twice without answering, the attempt fails,
        and the next round asks the server again.
        """

        def closeTwice(query: dns.message.Message, connection: DoTServerConnection) -> None:
            if len(server.connections) <= 2:
                connection.transport.loseConnection()  # type: ignore[union-attr]
            else:
                answerAtOnce(query, connection)

        server = self.serve(closeTwice)
        client = self.client(server, attempts=2)
        response = await client.query("again.example.test", "A")
        self.assertEqual(names(response), ["again.example.test."])
        self.assertEqual(len(server.connections), 3)

    async def test_deadConnectionHandsOver(self) -> None:
        """
        The queries outstanding on a connection left for dead are asked again on a new one
        at once, without waiting for the dead one to finish closing (it never answers TLS's
        close_notify).
        """
        server = self.serve(firstOnly, ignoreCloseNotify=True)
        client = await self.warmClient(server)
        client.timeout = 0.6
        first = client.query("first.example.test", "A")
        await deferLater(reactor, 0.2, lambda: None)
        second = client.query("second.example.test", "A")
        with self.assertRaises(DNSTimeoutError):
            await first
        self.assertEqual(names(await second), ["second.example.test."])
        self.assertEqual(len(server.connections), 2)

    async def test_closedWithQueryOutstanding(self) -> None:
        """
        When the server closes the connection before answering, the query is asked again on
        a new connection (RFC 7766 section 6.2.1).
        """

        def closeFirst(query: dns.message.Message, connection: DoTServerConnection) -> None:
            if len(server.queries) == 1:
                connection.transport.loseConnection()  # type: ignore[union-attr]
            else:
                answerAtOnce(query, connection)

        server = self.serve(closeFirst)
        client = self.client(server)
        response = await client.query("again.example.test", "A")
        self.assertEqual(names(response), ["again.example.test."])
        self.assertEqual(len(server.connections), 2)

    async def test_timeout(self) -> None:
        """
        A server that never answers a query: it fails with L{DNSTimeoutError} after its
        timeout; the connection, which answered another query meanwhile, is kept, and the
        answer that comes late is ignored, not taken for another query's.
        """
        held: list[tuple[dns.message.Message, DoTServerConnection]] = []

        def silentOnce(query: dns.message.Message, connection: DoTServerConnection) -> None:
            if not held and str(query.question[0].name).startswith("slow"):
                held.append((query, connection))
            else:
                answerAtOnce(query, connection)

        server = self.serve(silentOnce)
        client = await self.warmClient(server)
        slow = client.query("slow.example.test", "A")
        await client.query("other.example.test", "A")
        with self.assertRaises(DNSTimeoutError):
            await slow
        self.assertEqual(client.stats.timeouts, 1)
        # Another query on the same connection, then the late answer with the first ID.
        pending = client.query("next.example.test", "A")
        query, connection = held[0]
        late = answer(query, "slow.example.test. 300 IN A 192.0.2.9")
        connection.reply(late.to_wire())
        response = await pending
        self.assertEqual(names(response), ["next.example.test."])
        self.assertEqual(len(server.connections), 1)

    async def test_deadline(self) -> None:
        """
        The deadline bounds a query over every server and round.
        """
        server = self.serve(silentForSlow)
        client = await self.warmClient(server, attempts=5)
        client.deadline = 0.25
        with self.assertRaises(DNSTimeoutError) as raised:
            await client.query("slow.example.test", "A")
        self.assertLessEqual(raised.exception.attempts, 3)

    async def test_shortFrame(self) -> None:
        """
        A message too short to hold a header breaks the framing: the query fails with
        L{DNSMalformedError} and the connection is closed.
        """
        server = self.serve(lambda q, c: c.reply(b"\x00\x01\x02"))
        client = self.client(server)
        with self.assertRaises(DNSMalformedError) as raised:
            await client.query("bad.example.test", "A")
        self.assertIn("shorter than a header", str(raised.exception))
        await server.connections[0].lost

    async def test_unparseable(self) -> None:
        """
        An answer with the query's ID that does not parse fails the query with
        L{DNSMalformedError}.
        """

        def garbage(query: dns.message.Message, connection: DoTServerConnection) -> None:
            wire = answer(query, "bad.example.test. 300 IN A 192.0.2.1").to_wire()
            connection.reply(wire[:-3])

        server = self.serve(garbage)
        client = self.client(server)
        with self.assertRaises(DNSMalformedError):
            await client.query("bad.example.test", "A")

    async def test_wrongQuestion(self) -> None:
        """
        An answer with the query's ID but another question is refused.
        """

        def other(query: dns.message.Message, connection: DoTServerConnection) -> None:
            forged = dns.message.make_query("evil.example.test", "A")
            forged.id = query.id
            connection.reply(answer(forged, "evil.example.test. 300 IN A 192.0.2.66").to_wire())

        server = self.serve(other)
        client = self.client(server)
        with self.assertRaises(DNSMalformedError) as raised:
            await client.query("good.example.test", "A")
        self.assertIn("does not match", str(raised.exception))

    async def test_splitFrames(self) -> None:
        """
        An answer that arrives a byte at a time, and two answers in one segment, are read
        alike.
        """

        def trickle(query: dns.message.Message, connection: DoTServerConnection) -> None:
            name = query.question[0].name.to_text()
            wire = answer(query, f"{name} 300 IN A 192.0.2.1").to_wire()
            framed = struct.pack("!H", len(wire)) + wire
            assert connection.transport is not None
            if name.startswith("slow"):
                for i in range(len(framed)):
                    connection.transport.write(framed[i : i + 1])
            else:
                held.append(framed)
                if len(held) == 2:
                    connection.transport.write(b"".join(held))

        held: list[bytes] = []
        server = self.serve(trickle)
        client = self.client(server)
        response = await client.query("slow.example.test", "A")
        self.assertEqual(names(response), ["slow.example.test."])
        both = await gatherResults(
            [client.query("a.example.test", "A"), client.query("b.example.test", "A")]
        )
        self.assertEqual([names(r) for r in both], [["a.example.test."], ["b.example.test."]])

    async def test_closeFailsQueriesInProgress(self) -> None:
        """
        C{close()} fails the queries in progress with L{DNSConnectionError}, at once: they are
        asked neither again nor of another server, and the connection is gone when the
        Deferred it returns fires. A later query opens a new connection.
        """
        server = self.serve(silentForSlow)
        other = self.serve(ca=server.ca)
        client = self.client(server, other)
        await client.query("warm.example.test", "A")
        pending = client.query("slow.example.test", "A")
        await deferLater(reactor, 0.05, lambda: None)
        await client.close()
        failure = self.failureResultOf(pending, DNSConnectionError)
        self.assertIn("the client was closed", str(failure.value))
        self.assertTrue(await within(server.connections[0].lost, 1))
        self.assertEqual(len(server.connections), 1)
        self.assertEqual(
            [str(q.question[0].name) for q in server.queries][1:], ["slow.example.test."]
        )
        self.assertEqual(other.queries, [])
        response = await client.query("after.example.test", "A")
        self.assertEqual(names(response), ["after.example.test."])
        self.assertEqual(len(server.connections), 2)

    async def test_serverIgnoresCloseNotify(self) -> None:
        """
        A server that neither answers the client's TLS close_notify nor closes: the client
        aborts the connection after the grace (here its timeout, shorter than
        C{CLOSE_GRACE}), whether it closed it for being idle or in C{close()}, whose Deferred
        then fires; no socket is left open.
        """
        server = self.serve(ignoreCloseNotify=True)
        client = self.client(server, idleTimeout=0.05, timeout=0.5)
        await client.query("one.example.test", "A")
        self.assertTrue(await within(server.connections[0].lost, 2))
        self.assertEqual(client.stats.idleClosed, 1)
        await client.query("two.example.test", "A")
        closed = client.close()
        self.assertTrue(await within(closed, 2))
        self.assertTrue(server.connections[1].lost.called)

    async def test_stuckAuthentication(self) -> None:
        """
        An C{authenticate} callable that never decides fails the connection after the
        client's deadline with L{DoTAuthenticationError}: the queries waiting for it fail, and
        a later query asks for a decision again.
        """
        server = self.serve()
        decisions: list[Deferred[Any]] = [Deferred()]

        def authenticate(s: Any) -> Any:
            return decisions.pop(0) if decisions else server.creator()

        client = DoTClient(
            reactor, [server.address], server.name, authenticate, attempts=1, deadline=0.3
        )
        self.addCleanup(client.close)
        first = client.query("first.example.test", "A")
        await deferLater(reactor, 0.1, lambda: None)
        with self.assertRaises(DoTAuthenticationError) as raised:
            await client.query("second.example.test", "A")
        self.assertIn("no decision on how to authenticate it within 0.3 s", str(raised.exception))
        self.assertIsInstance(
            self.failureResultOf(first).value, (DNSTimeoutError, DoTAuthenticationError)
        )
        client.deadline = 5.0
        response = await client.query("third.example.test", "A")
        self.assertEqual(names(response), ["third.example.test."])
        self.assertEqual(len(server.connections), 1)

    async def test_cancel(self) -> None:
        """
        Cancelling a query stops waiting for it; its late answer is ignored and the
        connection serves the next query.
        """
        server = self.serve(silentForSlow)
        client = self.client(server)
        await client.query("warm.example.test", "A")
        pending = client.query("slow.example.test", "A")
        await deferLater(reactor, 0.05, lambda: None)
        pending.cancel()
        self.failureResultOf(pending)
        response = await client.query("next.example.test", "A")
        self.assertEqual(names(response), ["next.example.test."])
        self.assertEqual(len(server.connections), 1)

    async def test_unknownIDIgnored(self) -> None:
        """
        A response with an ID no query has is ignored; the real answer still counts.
        """

        def extra(query: dns.message.Message, connection: DoTServerConnection) -> None:
            stray = dns.message.make_query("stray.example.test", "A")
            stray.id = (query.id + 1) % 65536
            connection.reply(answer(stray).to_wire())
            answerAtOnce(query, connection)

        server = self.serve(extra)
        client = self.client(server)
        response = await client.query("real.example.test", "A")
        self.assertEqual(names(response), ["real.example.test."])
        self.assertEqual(client.stats.ignored, {"id": 1})

    async def test_outstandingBound(self) -> None:
        """
        At most C{maxOutstanding} queries are outstanding on a connection: the next waits
        until an answer frees a slot, and is then sent on the same connection.
        """
        held: list[tuple[dns.message.Message, DoTServerConnection]] = []
        bothHeld: Deferred[None] = Deferred()

        def hold(query: dns.message.Message, connection: DoTServerConnection) -> None:
            if str(query.question[0].name).startswith("third"):
                answerAtOnce(query, connection)
                return
            held.append((query, connection))
            if len(held) == 2:
                bothHeld.callback(None)

        server = self.serve(hold)
        client = self.client(server, maxOutstanding=2)
        first = client.query("first.example.test", "A")
        second = client.query("second.example.test", "A")
        third = client.query("third.example.test", "A")
        await bothHeld
        # A round trip on the server's side: anything the client had written has arrived.
        await deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(len(server.queries), 2)
        self.assertEqual(client.stats.waitedForSlot, 1)
        server.events.append("answer first")
        answerAtOnce(*held[0])
        self.assertEqual(names(await third), ["third.example.test."])
        self.assertEqual(
            server.events,
            [
                "query first.example.test.",
                "query second.example.test.",
                "answer first",
                "query third.example.test.",
            ],
        )
        answerAtOnce(*held[1])
        await gatherResults([first, second])
        self.assertEqual(client.stats.mostOutstanding, 2)
        self.assertEqual(len(server.connections), 1)

    async def test_abandonedQueriesFillTheBound(self) -> None:
        """
        A connection whose every slot is held by queries that timed out is closed, though
        it is not silent; the next query opens a new connection.
        """

        def strayForSlow(query: dns.message.Message, connection: DoTServerConnection) -> None:
            # Queries for slow names are never answered; a message no query asked for comes
            # instead (with an ID the client has not used), so the connection is not silent.
            if str(query.question[0].name).startswith("slow"):
                used = {q.id for q in server.queries}
                stray = dns.message.make_query("stray.example.test", "A")
                stray.id = next(i for i in range(65536) if i not in used)
                connection.reply(answer(stray).to_wire())
            else:
                answerAtOnce(query, connection)

        server = self.serve(strayForSlow)
        client = await self.warmClient(server, maxOutstanding=2)
        for name in ("slow-a.example.test", "slow-b.example.test"):
            with self.assertRaises(DNSTimeoutError):
                await client.query(name, "A")
        await server.connections[0].lost
        self.assertEqual(client.stats.ignored, {"id": 2})
        response = await client.query("c.example.test", "A")
        self.assertEqual(names(response), ["c.example.test."])

    async def test_silentConnectionReplaced(self) -> None:
        """
        A query that timed out on a connection that received nothing since it was written
        leaves the connection for dead: it is closed, and the next attempt opens a new one
        (the server went silent on it, or the path lost it), rather than timing out there
        until timed-out queries fill every slot.
        """
        server = self.serve(firstOnly)
        client = await self.warmClient(server, attempts=2)
        client.timeout = 0.5
        response = await client.query("next.example.test", "A")
        self.assertEqual(names(response), ["next.example.test."])
        self.assertEqual(len(server.connections), 2)
        self.assertEqual(client.stats.timeouts, 1)
        self.assertTrue(await within(server.connections[0].lost, 2))

    async def test_wrongNameRefused(self) -> None:
        """
        A server whose certificate does not prove the name is refused with
        L{DoTAuthenticationError}, naming the server and the name, and receives no query:
        not one application byte.
        """
        server = self.serve()
        client = self.client(server, name="other.example.test")
        with self.assertRaises(DoTAuthenticationError) as raised:
            await client.query("secret.example.test", "A")
        error = raised.exception
        self.assertEqual(str(error.server), server.address)
        self.assertEqual(error.serverName, "other.example.test")
        self.assertIn("other.example.test", str(error))
        self.assertIn("refused", str(error))
        self.assertEqual(server.bytesReceived, 0)
        self.assertEqual(server.queries, [])
        self.assertEqual(client.stats.refused, 1)

    async def test_untrustedCA(self) -> None:
        """
        A certificate from a CA the client does not trust is refused, with OpenSSL's reason.
        """
        server = self.serve()
        otherCA = Certificate.loadPEM(issue("Another CA", ca=True).certPEM())
        creator = optionsForClientTLS(server.name, trustRoot=otherCA)
        client = DoTClient(reactor, [server.address], server.name, lambda s: creator, attempts=1)
        self.addCleanup(client.close)
        with self.assertRaises(DoTAuthenticationError) as raised:
            await client.query("secret.example.test", "A")
        self.assertIn("certificate verify failed", str(raised.exception))
        self.assertEqual(server.bytesReceived, 0)

    async def test_authenticatorRefuses(self) -> None:
        """
        When the authenticator refuses a server (its decision failed), the query fails with
        L{DoTAuthenticationError} and no connection is even opened.
        """
        server = self.serve()

        def refuse(s: Any) -> Any:
            raise ValueError("TLSA lookup is bogus")

        client = DoTClient(reactor, [server.address], server.name, refuse, attempts=1)
        with self.assertRaises(DoTAuthenticationError) as raised:
            await client.query("secret.example.test", "A")
        self.assertIn("TLSA lookup is bogus", str(raised.exception))
        self.assertEqual(server.connections, [])

    async def test_failover(self) -> None:
        """
        A refused server is passed over for the next one; the refusal is remembered for the
        query only.
        """
        wrong = self.serve(name="wrong.example.test")
        right = self.serve(ca=wrong.ca)
        creators = {
            wrong.address: wrong.creator("dot.example.test"),
            right.address: right.creator(),
        }
        client = DoTClient(
            reactor,
            [wrong.address, right.address],
            "dot.example.test",
            lambda s: UpstreamTLS(creators[f"{s.host}#{s.port}"]),
            attempts=1,
        )
        self.addCleanup(client.close)
        response = await client.query("www.example.test", "A")
        self.assertEqual(names(response), ["www.example.test."])
        self.assertEqual(wrong.bytesReceived, 0)
        self.assertEqual(client.stats.refused, 1)

    async def test_connectionRefused(self) -> None:
        """
        Nothing listening: L{DNSConnectionError}, not an authentication failure.
        """
        server = self.serve()
        address = server.address
        await server.stop()
        client = DoTClient(reactor, [address], server.name, lambda s: server.creator(), attempts=1)
        with self.assertRaises(DNSConnectionError):
            await client.query("www.example.test", "A")

    async def test_silentHandshake(self) -> None:
        """
        A server that accepts the connection and never answers the TLS handshake fails the
        attempt after the timeout (a connection error, not an authentication failure).
        """
        from twisted.internet.protocol import Factory, Protocol

        port: Any = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        address = f"127.0.0.1#{port.getHost().port}"
        client = DoTClient(
            reactor,
            [address],
            "dot.example.test",
            lambda s: DoTServer().creator(),
            timeout=0.2,
            attempts=1,
        )
        with self.assertRaises(DNSConnectionError) as raised:
            await client.query("www.example.test", "A")
        self.assertIn("no TLS handshake within 0.2 s", str(raised.exception))

    async def test_servfail(self) -> None:
        """
        A SERVFAIL is a L{DNSServerError<txdane.transport.DNSServerError>}, as over UDP.
        """
        from txdane.transport import DNSServerError

        def servfail(query: dns.message.Message, connection: DoTServerConnection) -> None:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            connection.reply(response.to_wire())

        server = self.serve(servfail)
        client = self.client(server)
        with self.assertRaises(DNSServerError):
            await client.query("www.example.test", "A")

    async def test_ednsRejected(self) -> None:
        """
        FORMERR or NOTIMP without an OPT record: the server does not speak EDNS, and the
        query fails with L{EDNSUnsupportedError<txdane.transport.EDNSUnsupportedError>}.
        """
        from txdane.transport import EDNSUnsupportedError

        def rejectEDNS(query: dns.message.Message, connection: DoTServerConnection) -> None:
            response = dns.message.make_response(query)
            response.use_edns(False)
            response.set_rcode(dns.rcode.FORMERR)
            connection.reply(response.to_wire())

        server = self.serve(rejectEDNS)
        client = self.client(server)
        with self.assertRaises(EDNSUnsupportedError) as raised:
            await client.query("www.example.test", "A", dnssecOK=True)
        response = raised.exception.response
        assert response is not None and response.wire is not None
        self.assertEqual(response.rcode(), dns.rcode.FORMERR)

    async def test_rcodeWithOPTIsNoEDNSRejection(self) -> None:
        """
        NOTIMP or FORMERR in an answer that carries an OPT record comes from a server that
        speaks EDNS (RFC 6891 section 7): a L{DNSServerError<txdane.transport.DNSServerError>},
        not L{EDNSUnsupportedError<txdane.transport.EDNSUnsupportedError>}.
        """
        from txdane.transport import DNSServerError, EDNSUnsupportedError

        def refuseWith(rcode: dns.rcode.Rcode) -> Any:
            def refuse(query: dns.message.Message, connection: DoTServerConnection) -> None:
                response = dns.message.make_response(query)  # with the query's OPT record
                response.set_rcode(rcode)
                connection.reply(response.to_wire())

            return refuse

        for rcode in (dns.rcode.NOTIMP, dns.rcode.FORMERR):
            server = self.serve(refuseWith(rcode))
            client = self.client(server)
            with self.assertRaises(DNSServerError) as raised:
                await client.query("www.example.test", "HINFO", dnssecOK=True)
            self.assertNotIsInstance(raised.exception, EDNSUnsupportedError)
            self.assertEqual(raised.exception.response.rcode(), rcode)

    def test_maxOutstandingCapped(self) -> None:
        """
        C{maxOutstanding} is at most C{MAX_OUTSTANDING}, a sixteenth of the ID space: more
        is refused, naming the setting, so that a free ID is always found at once.
        """
        for value in (4097, 65536, 100000):
            with self.assertRaises(ValueError) as raised:
                DoTClient(
                    reactor, ["127.0.0.1#853"], "x.test", lambda s: None, maxOutstanding=value
                )
            self.assertIn("maxOutstanding", str(raised.exception))
        from txdane.dot import MAX_OUTSTANDING

        self.assertEqual(MAX_OUTSTANDING, 4096)
        client = DoTClient(
            reactor, ["127.0.0.1#853"], "x.test", lambda s: None, maxOutstanding=MAX_OUTSTANDING
        )
        self.assertEqual(client.maxOutstanding, MAX_OUTSTANDING)

    def test_settingsChecked(self) -> None:
        """
        Unusable settings are refused, naming the setting.
        """
        for kw, word in (
            ({"maxOutstanding": 0}, "maxOutstanding"),
            ({"idleTimeout": 0}, "idleTimeout"),
            ({"timeout": -1}, "timeout"),
        ):
            with self.assertRaises(ValueError) as raised:
                DoTClient(reactor, ["127.0.0.1#853"], "x.test", lambda s: None, **kw)
            self.assertIn(word, str(raised.exception))

"""
MX exchanges and SRV targets whose names are IP addresses (C{MX 10 127.0.0.1.}, C{SRV 0 0
993 127.0.0.1.}): domain names whose addresses are looked up (RFC 5321 section 5.1, RFC
2782), never dialled as the address they spell. In memory for the per-host step and the
walk, on loopback for C{dane:srv=} and mail delivery, with a server listening on the address
such a name spells (which must hear nothing).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import SynchronousTestCase, TestCase

from txdane.adapters import AddressLookupError
from txdane.dane.decision import Policy
from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints import SRVConnectError, SRVEndpoint
from txdane.endpoints.connection import Protection
from txdane.endpoints.errors import AllHostsFailedError
from txdane.endpoints.mx import mxEndpoint
from txdane.endpoints.planner import Candidate, UnusableHostError, connectCandidate
from txdane.mail import PermanentDeliveryError, sendMail
from txdane.mailpolicy import TLSSession

from ..dane.certs import issue
from ..dane.tlsserver import GreetingServer, RecordingClient, serverOptions
from ..fakeresolver import FakeResolver, answer
from ..mail.smtpserver import listenSMTP
from .test_srv import options
from .world import World, makeWorld, reactor

MESSAGE = b"From: a@example.org\r\nTo: b@x\r\nSubject: test\r\n\r\nhello\r\n"


def outcome(d: Deferred[Any]) -> Any:
    """
    What C{d} fired with, at once: the result, or the exception.
    """
    results: list[Any] = []
    d.addBoth(results.append)
    (result,) = results
    return getattr(result, "value", result)


class CandidateTests(SynchronousTestCase):
    """
    The per-host step refuses a host that is an IP address, and a candidate a planner marked
    unusable, before any lookup or connection.
    """

    def attempt(self, candidate: Candidate) -> tuple[Any, FakeResolver, MemoryReactorClock]:
        resolver = FakeResolver({})
        clock = MemoryReactorClock()
        result = outcome(
            Deferred.fromCoroutine(
                connectCandidate(clock, resolver, candidate, Factory.forProtocol(Protocol))
            )
        )
        return result, resolver, clock

    def test_numericHostNeverDialled(self) -> None:
        for host in ("127.0.0.1", "127.0.0.1.", "::1", "fe80::1%eth0", "127.0.0.1%lo"):
            error, resolver, clock = self.attempt(Candidate(host, 25, policy=Policy.SMTP))
            self.assertIsInstance(error, UnusableHostError)
            self.assertIsInstance(error, AddressLookupError)
            self.assertEqual(error.hostName, host)
            self.assertIn("a numeric name, not a host name", str(error))
            self.assertEqual(resolver.asked, [])
            self.assertEqual(clock.tcpClients, [])

    def test_unusableCandidate(self) -> None:
        """
        The reason a planner gave is the error's message.
        """
        candidate = Candidate("mx.example.test", 25, unusable="not this one")
        error, resolver, clock = self.attempt(candidate)
        self.assertIsInstance(error, UnusableHostError)
        self.assertEqual(str(error), "not this one")
        self.assertEqual((resolver.asked, clock.tcpClients), ([], []))

    def test_mxWalkListsEachNumericHost(self) -> None:
        """
        C{dane:mx=} over numeric exchanges only: every host fails with its reason, nothing
        is looked up but the MX records, nothing is dialled.
        """
        records = answer("MX", "10 127.0.0.1.", "20 ::1.", name="example.test.")
        resolver = FakeResolver({("example.test.", "MX"): records})
        clock = MemoryReactorClock()
        endpoint = mxEndpoint(clock, resolver, "example.test", shuffle=lambda group: None)
        error = outcome(endpoint.connect(Factory.forProtocol(Protocol)))
        self.assertIsInstance(error, AllHostsFailedError)
        self.assertEqual([a.host for a in error.attempts], ["127.0.0.1", "::1"])
        self.assertEqual([a.address for a in error.attempts], [None, None])
        self.assertTrue(all(isinstance(a.error, UnusableHostError) for a in error.attempts))
        self.assertEqual(
            str(error),
            "MX of example.test: every host failed: 127.0.0.1:25: MX host 127.0.0.1.: a"
            " numeric name, not a host name (RFC 5321 section 5.1); ::1:25: MX host ::1.: a"
            " numeric name, not a host name (RFC 5321 section 5.1)",
        )
        self.assertEqual(resolver.asked, [("example.test.", "MX")])
        self.assertEqual(clock.tcpClients, [])


class _Counting(Factory):
    """
    A TLS server's protocols, counted.
    """

    def __init__(self) -> None:
        self.built = 0
        self.serverNames: list[Any] = []
        self.clientCertificates: list[Any] = []

    def buildProtocol(self, addr: Any) -> Any:
        self.built += 1
        protocol = GreetingServer()
        protocol.factory = self
        return protocol


class LoopbackTests(TestCase):
    """
    A server listens on 127.0.0.1, the address the numeric names spell: a target or MX host
    named C{127.0.0.1.} never reaches it; the walk goes on to the next host.
    """

    async def world(self, records: list[str]) -> World:
        world = await makeWorld({"example.test.": records})
        self.addCleanup(world.dnsServer.stop)
        return world

    async def test_srvNumericTargetSkipped(self) -> None:
        certificate = issue("xmpp.example.test")
        factory = _Counting()
        port = reactor.listenTCP(
            0,
            TLSMemoryBIOFactory(options(certificate, (b"imap",)), False, factory),
            interface="127.0.0.1",
        )
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        record = recordForCertificate(certificate.cert, 3, 1, 1)
        world = await self.world(
            [
                f"_imaps._tcp.chat 300 IN SRV 0 0 {number} 127.0.0.1.",
                f"_imaps._tcp.chat 300 IN SRV 10 0 {number} xmpp",
                "xmpp 300 IN A 127.0.0.1",
                f"_{number}._tcp.xmpp 300 IN TLSA {record}",
                f"_imaps._tcp.numeric 300 IN SRV 0 0 {number} 127.0.0.1.",
            ]
        )
        endpoint = SRVEndpoint(reactor, world.resolver, "imaps", "chat.example.test")
        client = RecordingClient()
        protocol: Any = await endpoint.connect(Factory.forProtocol(lambda: client))
        self.addCleanup(protocol.transport.abortConnection)
        assert endpoint.connectedTarget is not None
        self.assertEqual(endpoint.connectedTarget.host, "xmpp.example.test")
        self.assertEqual(factory.built, 1)
        only = SRVEndpoint(reactor, world.resolver, "imaps", "numeric.example.test")
        error: Any = await self.assertFailure(
            only.connect(Factory.forProtocol(Protocol)), SRVConnectError
        )
        (attempt,) = error.attempts
        self.assertIsInstance(attempt.error, UnusableHostError)
        self.assertEqual((attempt.host, attempt.address), ("127.0.0.1", None))
        self.assertIn(
            f"127.0.0.1:{number}: SRV target 127.0.0.1.: a numeric name, not a host", str(error)
        )
        self.assertEqual(factory.built, 1)

    async def test_mailNumericMXSkipped(self) -> None:
        """
        Mail delivery lists a numeric MX host among the hosts that failed, with why, sends
        no TLS report for it, and goes on to the next host; with no other host, the
        message bounces (RFC 5321 section 5.1: no usable MX host is an error to report) and
        the server on that address hears nothing.
        """
        certificate = issue("mxa.example.test")
        server = listenSMTP(serverOptions(certificate), ("127.0.0.1",))
        for listening in server.ports:
            self.addCleanup(listening.stopListening)
        record = recordForCertificate(certificate.cert, 3, 1, 1)
        world = await self.world(
            [
                "mxa 300 IN A 127.0.0.1",
                f"_{server.port}._tcp.mxa 300 IN TLSA {record}",
                "numeric 300 IN MX 10 127.0.0.1.",
                "mixed 300 IN MX 10 127.0.0.1.",
                "mixed 300 IN MX 20 mxa",
            ]
        )
        sessions: list[TLSSession] = []

        def send(domain: str) -> Deferred[Any]:
            return sendMail(
                reactor,
                world.resolver,
                "alice@example.org",
                [f"bob@{domain}"],
                MESSAGE,
                port=server.port,
                heloName="client.example.org",
                timeout=10,
                reporter=sessions.append,
            )

        error: Any = await self.assertFailure(send("numeric.example.test"), PermanentDeliveryError)
        (attempt,) = error.tries
        self.assertIsInstance(attempt.error, UnusableHostError)
        self.assertEqual((attempt.host, attempt.address), ("127.0.0.1", None))
        self.assertIn(
            f"127.0.0.1:{server.port}: MX host 127.0.0.1.: a numeric name, not a host name",
            str(error),
        )
        self.assertEqual((server.cleartext, server.messages, sessions), ([], [], []))
        result = await send("mixed.example.test")
        self.assertEqual((result.mx, result.protection), ("mxa.example.test", Protection.VERIFIED))
        (attempt,) = result.tries
        self.assertEqual(attempt.host, "127.0.0.1")
        self.assertIsInstance(attempt.error, UnusableHostError)
        self.assertEqual(len(server.messages), 1)
        self.assertEqual([s.mxHost for s in sessions], ["mxa.example.test"])

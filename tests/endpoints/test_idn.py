"""
Host names Twisted's C{HostnameEndpoint} would refuse though DNS has them, on loopback:
internationalized names in upper case or with a sharp s (which IDNA 2008 takes only once
mapped), and labels with underscores. The endpoints look them up in A-labels, as dnspython
maps them, and connect; SNI and the certificate checks use the A-labels.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

from txdane.dane.decision import Action
from txdane.dane.pkix import PKIXTrust
from txdane.endpoints import DANEEndpoint, DNSSECEndpoint
from txdane.endpoints.connection import IDANEConnection

from ..dane.certs import issue
from .test_dane import recordingFactory
from .world import World, makeWorld, reactor, startTLSServer

BUECHER = "xn--bcher-kva.example.test"


class Reader(Protocol):
    def dataReceived(self, data: bytes) -> None:
        self.factory.received.callback(data)


class Greeter(Protocol):
    def connectionMade(self) -> None:
        self.transport.write(b"hi")  # type: ignore[union-attr]
        self.transport.loseConnection()  # type: ignore[union-attr]


class InternationalizedHostTests(TestCase):
    async def world(self, records: list[str]) -> World:
        world = await makeWorld({"example.test.": records})
        self.addCleanup(world.dnsServer.stop)
        return world

    def tlsServer(self, certificate: Any) -> Any:
        server = startTLSServer(certificate, interfaces=["127.0.0.1"])
        for port in server.ports:
            self.addCleanup(port.stopListening)
        return server

    async def greeted(self, endpoint: DANEEndpoint) -> Any:
        factory, _ = recordingFactory()
        protocol: Any = await endpoint.connect(factory)
        self.addCleanup(protocol.transport.abortConnection)
        await protocol.greeted
        return protocol

    async def test_upperCaseByDANE(self) -> None:
        """
        C{BÜCHER.example.test}, which Twisted refuses as it is, is looked up, verified by DANE
        and connected to as C{xn--bcher-kva.example.test}: SNI names the A-labels; the
        connection's host is the name as given.
        """
        server = self.tlsServer(issue(BUECHER))
        world = await self.world(
            [
                "xn--bcher-kva 300 IN A 127.0.0.1",
                f"_{server.port}._tcp.xn--bcher-kva 300 IN TLSA {server.record()}",
            ]
        )
        for host in ("B\u00dcCHER.example.test", "b\u00fccher.example.test"):
            endpoint = DANEEndpoint(reactor, world.resolver, host, server.port)
            _, plan = await endpoint.plan()
            self.assertIs(plan.action, Action.DANE)
            protocol = await self.greeted(endpoint)
            self.assertEqual(IDANEConnection(protocol.transport).connectionInfo.host, host)
        self.assertEqual(server.factory.serverNames, [BUECHER.encode()] * 2)

    async def test_upperCaseByPKIX(self) -> None:
        """
        Without TLSA records, PKIX checks the certificate against the A-labels, as SNI names
        them.
        """
        root = issue("Test Root", ca=True)
        server = self.tlsServer(issue(BUECHER, root))
        world = await self.world(["xn--bcher-kva 300 IN A 127.0.0.1"])
        endpoint = DANEEndpoint(
            reactor,
            world.resolver,
            "B\u00dcCHER.example.test",
            server.port,
            trustRoots=PKIXTrust((root.cert,)),
        )
        _, plan = await endpoint.plan()
        self.assertEqual((plan.action, plan.serverName), (Action.PKIX, BUECHER))
        await self.greeted(endpoint)
        self.assertEqual(server.factory.serverNames, [BUECHER.encode()])

    async def connectTCP(self, host: str, records: list[str]) -> bytes:
        """
        Connect with L{DNSSECEndpoint} to C{host} (whose records are C{records}), and return
        what the server said.
        """
        listening = reactor.listenTCP(0, Factory.forProtocol(Greeter), interface="127.0.0.1")
        self.addCleanup(listening.stopListening)
        world = await self.world(records)
        factory: Any = Factory.forProtocol(Reader)
        factory.received = Deferred()
        endpoint = DNSSECEndpoint(reactor, world.resolver, host, listening.getHost().port)
        await endpoint.connect(factory)
        return await factory.received

    async def test_sharpS(self) -> None:
        """
        C{Straße.example.test} is C{xn--strae-oqa.example.test} (IDNA 2008 keeps the sharp
        s): looked up and connected to under that name.
        """
        received = await self.connectTCP(
            "Stra\u00dfe.example.test", ["xn--strae-oqa 300 IN A 127.0.0.1"]
        )
        self.assertEqual(received, b"hi")

    async def test_underscoreLabel(self) -> None:
        """
        A host name with a service label's underscore, which IDNA refuses (so Twisted would),
        is connected to as well.
        """
        received = await self.connectTCP("_svc.example.test", ["_svc 300 IN A 127.0.0.1"])
        self.assertEqual(received, b"hi")

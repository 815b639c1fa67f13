"""
Perspective Broker: C{PBClientFactory} over a C{dane:} endpoint, against a
C{PBServerFactory} behind TLS on loopback.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.spread import pb

from txdane.dane.errors import DANEVerificationError

from .loopback import LoopbackTestCase, reactor


class Calculator(pb.Root):
    """
    A root object with two remote methods, counting the calls that reach it.
    """

    def __init__(self) -> None:
        self.calls = 0

    def remote_add(self, a: int, b: int) -> int:
        self.calls += 1
        return a + b

    def remote_fail(self) -> None:
        self.calls += 1
        raise pb.Error("as asked")


def disconnect(factory: pb.PBClientFactory, broker: pb.Broker) -> Deferred[None]:
    """
    Close the factory's connection; the Deferred fires once it is closed.
    """
    closed: Deferred[None] = Deferred()
    broker.notifyOnDisconnect(lambda: closed.callback(None))
    factory.disconnect()
    return closed


class PerspectiveBrokerTests(LoopbackTestCase):
    async def test_callRemote(self) -> None:
        """
        Over C{dane:host=...:port=...}, the root object's methods are called and their
        results and errors come back.
        """
        calculator = Calculator()
        server = await self.serve(pb.PBServerFactory(calculator), "pb")
        factory = pb.PBClientFactory()
        endpoint = clientFromString(reactor, server.endpointString())
        broker: Any = await endpoint.connect(factory)
        self.addCleanup(disconnect, factory, broker)
        self.assertEqual(
            broker.transport.getPeerCertificate().to_cryptography(), server.certificate.cert
        )
        root = await factory.getRootObject()
        self.assertEqual(await root.callRemote("add", 2, 3), 5)
        error = await self.assertFailure(root.callRemote("fail"), pb.Error)
        self.assertIn("as asked", str(error))
        self.assertEqual(calculator.calls, 2)

    async def test_mismatchRefused(self) -> None:
        """
        A server whose certificate matches no TLSA record is refused inside the TLS
        handshake: C{connect()} fails with L{DANEVerificationError}, no broker is connected
        for the factory, and the server receives not one PB byte.
        """
        calculator = Calculator()
        server = await self.serve(pb.PBServerFactory(calculator), "pb", good=False)
        factory = pb.PBClientFactory()
        endpoint = clientFromString(reactor, server.endpointString())
        error = await self.assertFailure(endpoint.connect(factory), DANEVerificationError)
        self.assertIn("no TLSA record matched", str(error))
        self.assertIsNone(factory._broker)
        await server.allEnded()
        self.assertEqual((server.connections, server.received), (1, b""))
        self.assertEqual(calculator.calls, 0)

    async def test_example(self) -> None:
        """
        docs/examples/pb_call.py calls the method and prints the result.
        """
        server = await self.serve(pb.PBServerFactory(Calculator()), "pb")
        arguments = [server.host, str(server.port), "add", "2", "3"]
        code, out, err = await self.runExample(
            "pb_call.py", *arguments, *server.resolverArguments()
        )
        self.assertEqual((code, out), (0, "5\n"), err)

    async def test_exampleRefused(self) -> None:
        """
        docs/examples/pb_call.py, given a server that fails DANE, says so and exits with 1.
        """
        calculator = Calculator()
        server = await self.serve(pb.PBServerFactory(calculator), "pb", good=False)
        arguments = [server.host, str(server.port), "add", "2", "3"]
        code, out, err = await self.runExample(
            "pb_call.py", *arguments, *server.resolverArguments()
        )
        self.assertEqual((code, out), (1, ""))
        self.assertIn("refused: ", err)
        self.assertIn("no TLSA record matched", err)
        self.assertEqual((server.received, calculator.calls), (b"", 0))

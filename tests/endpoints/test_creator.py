"""
creatorForStartTLS: a plain connection the application upgrades itself, to TLS checked by DANE.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory
from twisted.trial.unittest import TestCase

from txdane.dane.decision import Policy
from txdane.dane.errors import DANEPolicyError, DANEVerificationError
from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints import DNSSECEndpoint, creatorForStartTLS

from ..dane.certs import issue
from ..dane.tlsserver import StartTLSClient, listenStartTLS, serverOptions
from .world import makeWorld, reactor


class StartTLSTests(TestCase):
    async def upgrade(self, certificate: Any, tlsaCertificate: Any) -> StartTLSClient:
        port = listenStartTLS(serverOptions(certificate))
        self.addCleanup(port.stopListening)
        number = port.getHost().port  # type: ignore[attr-defined]
        record = recordForCertificate(tlsaCertificate.cert, 3, 1, 1)
        world = await makeWorld(
            {"example.test.": [f"_{number}._tcp.mx 300 IN TLSA {record}", "mx 300 IN A 127.0.0.1"]}
        )
        self.addCleanup(world.dnsServer.stop)
        creator = await creatorForStartTLS(
            reactor, world.resolver, "mx.example.test", number, policy=Policy.SMTP
        )
        client = StartTLSClient(creator)
        await DNSSECEndpoint(reactor, world.resolver, "mx.example.test", number).connect(
            Factory.forProtocol(lambda: client)
        )
        return client

    async def test_upgradeVerified(self) -> None:
        certificate = issue("mx.example.test")
        client = await self.upgrade(certificate, certificate)
        await client.greeted
        client.transport.abortConnection()  # type: ignore[union-attr]
        await client.lost

    async def test_upgradeRefused(self) -> None:
        client = await self.upgrade(issue("mx.example.test"), issue("mx.example.test"))
        await self.assertFailure(client.greeted, DANEVerificationError)
        self.assertEqual(client.received, [])

    async def test_bogusRefusedBeforeConnecting(self) -> None:
        world = await makeWorld({})
        self.addCleanup(world.dnsServer.stop)
        d: Deferred[Any] = creatorForStartTLS(
            reactor, world.resolver, "www.example.test", 25, tlsaHost="www.expired.test"
        )
        await self.assertFailure(d, DANEPolicyError)

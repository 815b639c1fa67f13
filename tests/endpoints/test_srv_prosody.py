"""
End-to-end: a twisted.words client logs in to a real Prosody over C{dane:srv=xmpp-client},
the SRV and TLSA records served from the signed test hierarchy (RFC 7673, XEP-0368).

One Prosody serves the VirtualHost C{chat.example.test} with STARTTLS on its c2s port and
TLS on its direct TLS port; its certificate is issued by a private CA for
C{chat.example.test}. Each test serves its own hierarchy, made once the ports are known.
Prosody refuses a TLS handshake whose SNI names no VirtualHost it serves ("unrecognized
name" alert): the reason the SRV endpoint sends the JID domain as SNI, as XEP-0368 says.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase
from twisted.words.protocols.jabber import xmlstream
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from txdane.dane.errors import DANEVerificationError
from txdane.dane.pkix import PKIXTrust
from txdane.endpoints import (
    SRVConnectError,
    SRVEndpoint,
    SRVLookupError,
)
from txdane.status import Status
from txdane.xmpp import xmppClientFactory

from ..dane.certs import issue
from ..peers.common import Credentials
from ..peers.prosody import Prosody
from .world import World, makeWorld, reactor

pytestmark = pytest.mark.interop

DOMAIN = "chat.example.test"
TARGET = "xmpp.example.test"


class Session:
    """
    A logged-in twisted.words stream, collecting the message bodies it receives.
    """

    def __init__(self, xs: Any) -> None:
        self.xs = xs
        self.bodies: list[str] = []
        self.arrived: Deferred[str] = Deferred()
        xs.addObserver("/message/body", self._message)

    def _message(self, message: domish.Element) -> None:
        body = str(message.body)
        self.bodies.append(body)
        if not self.arrived.called:
            self.arrived.callback(body)

    def send(self, to: str, body: str) -> None:
        message = domish.Element((None, "message"))
        message["to"] = to
        message["type"] = "chat"
        message.addElement("body", content=body)
        self.xs.send(message)

    def available(self) -> None:
        self.xs.send(domish.Element((None, "presence")))

    def close(self) -> None:
        # twisted.words' factory reconnects (to the next target) when the stream is lost.
        self.xs.factory.stopTrying()
        if self.xs.transport is not None:
            self.xs.transport.abortConnection()


async def logIn(endpoint: Any, jid: str, password: str = "secret") -> Session:
    """
    Connect twisted.words' client factory (through txdane.xmpp) over C{endpoint} and wait
    until the stream is authenticated and bound.
    """
    factory = xmppClientFactory(JID(jid), password)
    authenticated: Deferred[Any] = Deferred()
    factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, authenticated.callback)
    factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, authenticated.errback)
    await endpoint.connect(factory)
    return Session(await authenticated)


class ProsodyTestCase(TestCase):
    """
    A Prosody for the test class, serving C{domain}, with the users alice and bob.
    """

    domain = DOMAIN
    prosody: Prosody
    credentials: Credentials
    ca: Any

    @classmethod
    def setUpClass(cls) -> None:
        directory = Path(tempfile.mkdtemp(prefix="txdane-xmpp-"))
        cls.ca = issue("Test XMPP CA", ca=True)
        leaf = issue(cls.domain, cls.ca)
        cls.credentials = Credentials.write(directory, leaf, (cls.ca.cert,))
        cls.prosody = Prosody(cls.credentials, domain=cls.domain)
        try:
            cls.prosody.register("alice", "secret")
            cls.prosody.register("bob", "secret")
            cls.prosody.start()
        except BaseException:
            cls.prosody.cleanUp()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        cls.prosody.cleanUp()

    def tlsa(self, good: bool = True) -> str:
        if good:
            return self.credentials.tlsa()
        return Credentials.write(
            Path(tempfile.mkdtemp(prefix="txdane-other-")), issue(DOMAIN)
        ).tlsa()

    def targetRecords(self, host: str = "xmpp", good: bool = True) -> list[str]:
        p = self.prosody
        return [
            f"{host} 300 IN A 127.0.0.1",
            f"_{p.starttlsPort}._tcp.{host} 300 IN TLSA {self.tlsa(good)}",
            f"_{p.directTLSPort}._tcp.{host} 300 IN TLSA {self.tlsa(good)}",
        ]

    async def world(self, records: dict[str, list[str]]) -> World:
        world = await makeWorld(records)
        self.addCleanup(world.dnsServer.stop)
        return world

    def endpoint(self, world: World, domain: str = DOMAIN, **kw: Any) -> SRVEndpoint:
        return SRVEndpoint(reactor, world.resolver, "xmpp-client", domain, **kw)

    async def session(self, endpoint: Any, jid: str) -> Session:
        session = await logIn(endpoint, jid)
        self.addCleanup(session.close)
        return session


class ProsodySRVTests(ProsodyTestCase):
    async def starttlsWorldWithBob(self) -> tuple[World, Any]:
        """
        A hierarchy whose only SRV record names Prosody's STARTTLS port, and bob logged in
        over it, available.
        """
        world = await self.world(
            {
                "example.test.": [
                    f"_xmpp-client._tcp.chat 300 IN SRV 0 0 {self.prosody.starttlsPort} xmpp",
                    *self.targetRecords(),
                ]
            }
        )
        bob = await self.session(self.endpoint(world), f"bob@{DOMAIN}/b")
        bob.available()
        return world, bob

    async def test_starttls(self) -> None:
        """
        Only C{_xmpp-client._tcp}: the endpoint does STARTTLS, the target is verified by its
        TLSA record, and alice logs in and sends bob (logged in the same way) a message.
        """
        p = self.prosody
        world, bob = await self.starttlsWorldWithBob()
        endpoint = self.endpoint(world)
        alice = await self.session(endpoint, f"alice@{DOMAIN}/a")
        assert endpoint.connectedTarget is not None
        self.assertEqual(endpoint.connectedTarget.service.name, "xmpp-client")
        self.assertEqual(endpoint.connectedTarget.port, p.starttlsPort)
        alice.send(f"bob@{DOMAIN}", "hello over STARTTLS and DANE")
        self.assertEqual(await bob.arrived, "hello over STARTTLS and DANE")
        p.waitForLog(rf"Authenticated as alice@{DOMAIN}")

    async def test_directTLS(self) -> None:
        """
        Both SRV sets, direct TLS preferred by priority: alice logs in over TLS from the
        first byte and sends herself a message.
        """
        p = self.prosody
        world = await self.world(
            {
                "example.test.": [
                    f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {p.directTLSPort} xmpp",
                    f"_xmpp-client._tcp.chat 300 IN SRV 10 0 {p.starttlsPort} xmpp",
                    *self.targetRecords(),
                ]
            }
        )
        endpoint = self.endpoint(world)
        alice = await self.session(endpoint, f"alice@{DOMAIN}/direct")
        assert endpoint.connectedTarget is not None
        self.assertEqual(endpoint.connectedTarget.service.name, "xmpps-client")
        alice.available()
        alice.send(f"alice@{DOMAIN}/direct", "hello over direct TLS")
        self.assertEqual(await alice.arrived, "hello over direct TLS")

    async def test_example(self) -> None:
        """
        docs/examples/xmpp_send.py logs in over C{dane:srv=xmpp-client} and sends bob a
        message.
        """
        world, bob = await self.starttlsWorldWithBob()
        anchor = Path(tempfile.mkdtemp(prefix="txdane-anchor-")) / "anchor"
        anchor.write_text(world.hierarchy.trustAnchorText())
        root = Path(__file__).parents[2]
        example = root / "docs" / "examples" / "xmpp_send.py"
        out, err, code = await getProcessOutputAndValue(
            sys.executable,
            [
                str(example),
                f"alice@{DOMAIN}",
                f"bob@{DOMAIN}",
                "hello from the example",
                "--resolver",
                world.resolverAddress,
                "--trust-anchor",
                str(anchor),
            ],
            env={**os.environ, "XMPP_PASSWORD": "secret", "PYTHONPATH": str(root)},
        )
        self.assertEqual(code, 0, err.decode())
        self.assertIn(b"sent to bob@chat.example.test as alice@chat.example.test/", out)
        self.assertEqual(await bob.arrived, "hello from the example")

    async def test_mismatchRefusedPasswordNeverSent(self) -> None:
        """
        A TLSA record that matches nothing: both targets are refused inside the handshake,
        and Prosody never sees an authentication attempt.
        """
        p = self.prosody
        world = await self.world(
            {
                "example.test.": [
                    f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {p.directTLSPort} xmpp",
                    f"_xmpp-client._tcp.chat 300 IN SRV 10 0 {p.starttlsPort} xmpp",
                    *self.targetRecords(good=False),
                ]
            }
        )
        before = p.log()
        error: Any = await self.assertFailure(
            Deferred.fromCoroutine(
                logIn(self.endpoint(world), f"alice@{DOMAIN}/x", "password-that-must-not-leave")
            ),
            SRVConnectError,
        )
        self.assertEqual(len(error.attempts), 2)
        for attempt in error.attempts:
            self.assertIsInstance(attempt.error, DANEVerificationError)
        self.assertIn("no TLSA record matched", str(error))
        after = p.log()[len(before) :]
        self.assertNotIn("uthenticat", after)
        self.assertNotIn("SASL", after)

    async def test_firstTargetFailsDANE(self) -> None:
        """
        The first target's certificate does not match its TLSA record: the second target
        is used.
        """
        p = self.prosody
        world = await self.world(
            {
                "example.test.": [
                    f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {p.directTLSPort} bad",
                    f"_xmpps-client._tcp.chat 300 IN SRV 5 0 {p.directTLSPort} xmpp",
                    *self.targetRecords("bad", good=False),
                    *self.targetRecords(),
                ]
            }
        )
        endpoint = self.endpoint(world)
        await self.session(endpoint, f"alice@{DOMAIN}/second")
        assert endpoint.connectedTarget is not None
        self.assertEqual(endpoint.connectedTarget.host, "xmpp.example.test")

    async def test_bogusSRVDialsNothing(self) -> None:
        """
        SRV records with expired signatures: refused before anything is dialled.
        """
        p = self.prosody
        world = await self.world(
            {
                "expired.test.": [
                    f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {p.directTLSPort} xmpp.example.test."
                ],
                "example.test.": self.targetRecords(),
            }
        )
        before = p.log()
        error: Any = await self.assertFailure(
            Deferred.fromCoroutine(
                logIn(self.endpoint(world, "chat.expired.test"), f"alice@{DOMAIN}/x")
            ),
            SRVLookupError,
        )
        self.assertIs(error.status, Status.BOGUS)
        self.assertEqual(p.log(), before)


class ProsodyInsecureSRVTests(ProsodyTestCase):
    """
    SRV records in an unsigned zone, for a Prosody serving C{chat.unsigned.test} with a
    certificate from a private CA; its target's TLSA records (in a signed zone) match.
    """

    domain = "chat.unsigned.test"

    async def insecureWorld(self) -> World:
        p = self.prosody
        return await self.world(
            {
                "unsigned.test.": [
                    f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {p.directTLSPort} xmpp.example.test.",
                    f"_xmpp-client._tcp.chat 300 IN SRV 5 0 {p.starttlsPort} xmpp.example.test.",
                ],
                "example.test.": self.targetRecords(),
            }
        )

    async def test_insecureSRVIsPKIXForTheDomain(self) -> None:
        """
        Insecure SRV records (unsigned zone): DANE does not apply even though the target's
        own TLSA record would match; the certificate is checked by PKIX for the service
        domain, which a certificate from a trusted CA for that name passes.
        """
        world = await self.insecureWorld()
        trusted = PKIXTrust((self.ca.cert,))
        endpoint = self.endpoint(world, self.domain, trustRoots=trusted)
        alice = await self.session(endpoint, f"alice@{self.domain}/pkix")
        alice.available()
        alice.send(f"alice@{self.domain}/pkix", "hello over PKIX")
        self.assertEqual(await alice.arrived, "hello over PKIX")

    async def test_insecureSRVIgnoresTargetTLSA(self) -> None:
        """
        Without the CA among the trust roots, the same server is refused: the matching TLSA
        record at the (possibly forged) target did not authenticate it.
        """
        world = await self.insecureWorld()
        other = PKIXTrust((issue("Other CA", ca=True).cert,))
        error: Any = await self.assertFailure(
            self.endpoint(world, self.domain, trustRoots=other).connect(
                Factory.forProtocol(Protocol)
            ),
            SRVConnectError,
        )
        self.assertEqual(len(error.attempts), 2)
        self.assertIn("certificate verify failed", str(error))

"""
A hostile first MX host in front of a real Postfix: one that greets C{554} before the TLS its
TLSA record requires, one that floods an endless greeting. Either way the message is
delivered by the next MX host, Postfix, verified by DANE, within a minute and in bounded
memory (Postfix itself skips such hosts: C{smtp_skip_5xx_greeting}).
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import LoopingCall
from twisted.trial.unittest import TestCase

from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints.connection import Protection
from txdane.endpoints.errors import StartTLSError
from txdane.mail import sendMail

from ..endpoints.world import makeWorld, reactor
from ..peers.common import Credentials, requireRoot
from .mxworld import MailCertificates
from .test_postfix import _portFreeOnAll, _PostfixAt

pytestmark = pytest.mark.interop

POSTFIX = "127.0.0.2"
HOSTILE = {"mx554": "127.0.0.6", "mxflood": "127.0.0.7"}


class _Greets554(Protocol):
    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"554 5.3.2 not now\r\n")


class _Floods(Protocol):
    """
    Sends an endless multi-line greeting, a kilobyte every millisecond.
    """

    def connectionMade(self) -> None:
        self.flood = LoopingCall(self.more)
        self.flood.clock = reactor
        self.flood.start(0.001)

    def more(self) -> None:
        assert self.transport is not None
        self.transport.write((b"220-" + b"A" * 996 + b"\r\n") * 64)

    def connectionLost(self, reason: Any = None) -> None:
        if self.flood.running:
            self.flood.stop()


class HostileFirstMXTests(TestCase):
    async def test_nextMXDelivers(self) -> None:
        requireRoot("a private Postfix instance")
        certs = MailCertificates.make()
        directory = Path(tempfile.mkdtemp(prefix="txdane-hostile-"))
        port = _portFreeOnAll([POSTFIX, *HOSTILE.values()])
        postfix = _PostfixAt(
            Credentials.write(directory / "a", certs.a),
            POSTFIX,
            domains=["greet554.example.test", "flood.example.test"],
            hostname="mxa.example.test",
            starttls=True,
            port=port,
        )
        self.addCleanup(postfix.cleanUp)
        postfix.start()
        for host, protocol in (("mx554", _Greets554), ("mxflood", _Floods)):
            listening = reactor.listenTCP(
                port, Factory.forProtocol(protocol), interface=HOSTILE[host]
            )
            self.addCleanup(listening.stopListening)
        record = recordForCertificate(certs.a.cert, 3, 1, 1)
        world = await makeWorld(
            {
                "example.test.": [
                    f"mxa 300 IN A {POSTFIX}",
                    f"_{port}._tcp.mxa 300 IN TLSA {record}",
                    *(f"{host} 300 IN A {address}" for host, address in HOSTILE.items()),
                    # The hostile hosts owe TLS, as their TLSA records say.
                    *(f"_{port}._tcp.{host} 300 IN TLSA {record}" for host in HOSTILE),
                    "greet554 300 IN MX 10 mx554",
                    "greet554 300 IN MX 20 mxa",
                    "flood 300 IN MX 10 mxflood",
                    "flood 300 IN MX 20 mxa",
                ]
            }
        )
        self.addCleanup(world.dnsServer.stop)
        for domain, refusal in (
            ("greet554.example.test", "expected the greeting 220, got '554 5.3.2 not now'"),
            ("flood.example.test", "more than 65536 bytes before STARTTLS"),
        ):
            started = time.monotonic()
            tracemalloc.start()
            try:
                result = await sendMail(
                    reactor,
                    world.resolver,
                    "alice@client.test",
                    [f"bob@{domain}"],
                    b"Subject: " + domain.encode() + b"\r\n\r\nhello\r\n",
                    port=port,
                    timeout=10,
                )
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            self.assertLess(time.monotonic() - started, 60)
            self.assertLess(peak, 20_000_000)
            self.assertEqual(
                (result.mx, result.protection), ("mxa.example.test", Protection.VERIFIED)
            )
            (first,) = result.tries
            self.assertIsInstance(first.error, StartTLSError)
            self.assertIn(refusal, str(first))
        messages = postfix.waitForMessages(2)
        self.assertEqual(
            sorted(m["Subject"] for m in messages),
            ["flood.example.test", "greet554.example.test"],
        )
        self.assertIn("with ESMTPS", messages[0]["Received"])

"""
What a C{dane:} connection logs: nothing of its own plumbing (no line per DNS query's socket,
none per factory), so that a client under C{twistd} keeps a readable log; and a failed
C{connect()}, once, with its reason, so that what retries it (C{ClientService}) leaves a log
that says why.
"""

from __future__ import annotations

from typing import Any

from twisted.application.internet import ClientService
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from txdane.dane.errors import DANEVerificationError
from txdane.testing import startLab

from .world import reactor


class QuietFactory(Factory):
    noisy = False
    protocol = Protocol


class QuietConnectTests(TestCase):
    async def test_connectLogsNothing(self) -> None:
        """
        Connections through the lab's C{dane:} strings (TLS, SMTP STARTTLS to an MX host, an
        SRV service, and one refused) log nothing but the refusal: no C{"_UDPExchange starting
        on N"}, no C{"(UDP Port N Closed)"}, no factory starting or stopping.
        """
        lab = await startLab(reactor)
        self.addCleanup(lab.stop)
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        for name in ("dane-ee", "mx", "srv", "mx-fallback"):
            protocol: Any = await clientFromString(reactor, lab.service(name).endpoint).connect(
                QuietFactory()
            )
            protocol.transport.abortConnection()
        with self.assertRaises(DANEVerificationError):
            await clientFromString(reactor, lab.service("mismatch").endpoint).connect(
                QuietFactory()
            )
        for _ in range(3):  # ports and connections close on the next turns of the reactor
            await deferLater(reactor, 0)
        [refusal] = events
        self.assertEqual(refusal["log_namespace"], "txdane.endpoints")
        self.assertIn("mismatch.example.test", formatEvent(refusal))


class RefusalLogTests(TestCase):
    async def test_clientService(self) -> None:
        """
        Under C{ClientService}, each failed attempt logs one warning in the namespace
        C{txdane.endpoints} that names the endpoint (host, port) and the reason, with the
        exception's class name as C{error}, before the service's own C{"Scheduling retry"} line.
        """
        lab = await startLab(reactor)
        self.addCleanup(lab.stop)
        service = lab.service("mismatch")
        endpoint = clientFromString(reactor, service.endpoint)
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        clock = Clock()
        client = ClientService(endpoint, QuietFactory(), retryPolicy=lambda n: 5.0, clock=clock)
        client.startService()
        self.addCleanup(client.stopService)
        with self.assertRaises(DANEVerificationError):
            await client.whenConnected(failAfterFailures=1)
        await deferLater(reactor, 0)  # out of the service's state machine, which fired it
        ours = [e for e in events if e.get("log_namespace") == "txdane.endpoints"]
        [event] = ours
        self.assertEqual(event["log_level"], LogLevel.warn)
        self.assertEqual(event["error"], "DANEVerificationError")
        text = formatEvent(event)
        self.assertIn(f"mismatch.example.test:{service.port}", text)
        self.assertIn("refused: no TLSA record matched", text)
        lines = [formatEvent(e) for e in events]
        self.assertTrue(lines[-1].startswith("Scheduling retry 1 to connect <DANEEndpoint"))
        self.assertEqual(lines[-2], text)
        second = client.whenConnected(failAfterFailures=1)
        clock.advance(5)  # the second attempt: one more line, with the same reason
        with self.assertRaises(DANEVerificationError):
            await second
        await deferLater(reactor, 0)
        ours = [e for e in events if e.get("log_namespace") == "txdane.endpoints"]
        self.assertEqual([formatEvent(e) for e in ours], [text, text])

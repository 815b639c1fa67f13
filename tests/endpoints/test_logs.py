"""
What a C{dane:} connection logs: nothing of its own plumbing (no line per DNS query's socket,
none per factory), so that a client under C{twistd} keeps a readable log.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import deferLater
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import formatEvent, globalLogPublisher
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
        SRV service, and one refused) log nothing: no C{"_UDPExchange starting on N"}, no
        C{"(UDP Port N Closed)"}, no factory starting or stopping.
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
        self.assertEqual([formatEvent(e) for e in events], [])

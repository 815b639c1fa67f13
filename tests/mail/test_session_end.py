"""
How a delivery's session with a host ends, in memory (as L{tests.mail.test_hostile}): its
outcome comes only once the connection has closed, whether the message was taken, refused or
the delivery cancelled; and a delivery dropped half-way, its connection never closed, is
collected like any coroutine, without waiting for anything on the way out.
"""

from __future__ import annotations

import gc
import sys
import types
import weakref
from typing import Any

from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport

from txdane.mail import DeliveryResult, TemporaryDeliveryError, sendMail
from txdane.mail._client import _Sender

from .test_hostile import MemoryMail, hosts


class SessionEndTests(MemoryMail):
    def setUp(self) -> None:
        super().setUp()
        # twisted.mail's reply timeout runs on the global reactor: here, on the test's clock.
        self.patch(_Sender, "callLater", lambda _, delay, f: self.reactor.callLater(delay, f))

    def atDataEnd(self) -> tuple[Any, Any, StringTransport]:
        """
        Start a delivery to one host and take its session up to the end of the data: the
        delivery, the client and its transport, cleared.
        """
        sending = sendMail(
            self.reactor,
            hosts(1),
            "alice@example.net",
            ["bob@example.org"],
            b"Subject: hi\r\n\r\nhello\r\n",
            heloName="client.example.net",
        )
        client, transport = self.cleartextSession()
        for reply in (b"250 mx\r\n", b"250 2.1.0 Ok\r\n", b"250 2.1.5 Ok\r\n", b"354 go\r\n"):
            client.dataReceived(reply)
        for _ in range(100):
            producer = getattr(transport, "producer", None)
            if producer is None:
                break
            producer.resumeProducing()
        self.assertTrue(transport.value().endswith(b"\r\n.\r\n"))
        transport.clear()
        return sending, client, transport

    def test_takenOnceClosed(self) -> None:
        """
        The message taken, the client ends the session; the delivery succeeds once the
        server has closed the connection, not before.
        """
        sending, client, transport = self.atDataEnd()
        client.dataReceived(b"250 2.0.0 queued\r\n")
        client.dataReceived(b"221 bye\r\n")
        self.assertIn(b"QUIT\r\n", transport.value())
        self.assertNoResult(sending)
        self.end(client, ConnectionDone)
        result: DeliveryResult = self.successResultOf(sending)
        self.assertEqual(result.reply, "250 2.0.0 queued")

    def test_refusedOnceClosed(self) -> None:
        """
        The message deferred by the server, the delivery fails once the connection has
        closed, not before.
        """
        sending, client, _ = self.atDataEnd()
        client.dataReceived(b"451 4.3.0 try later\r\n")
        client.dataReceived(b"221 bye\r\n")
        self.assertNoResult(sending)
        self.end(client, ConnectionDone)
        self.reactor.advance(0)
        self.failureResultOf(sending, TemporaryDeliveryError)

    def test_cancelledOnceClosed(self) -> None:
        """
        Cancelled while the server has the message, the delivery aborts the connection and
        fails with L{CancelledError} once it has closed, not before.
        """
        sending, client, transport = self.atDataEnd()
        sending.cancel()
        self.assertTrue(transport.disconnecting)
        self.assertNoResult(sending)
        self.end(client)
        self.failureResultOf(sending, CancelledError)

    def test_droppedCollectedQuietly(self) -> None:
        """
        A delivery dropped while it waits for the reply to the end of the data, with a
        connection that never closes (nothing refers to it any more, not even a reactor),
        is collected without an error: its session waits for nothing while it is closed,
        where Python would report it ignoring GeneratorExit.
        """
        gc.collect()
        unraisable: list[Any] = []
        self.patch(sys, "unraisablehook", unraisable.append)
        before = {id(session) for session in self.sessions()}
        self.atDataEnd()
        [session] = [weakref.ref(s) for s in self.sessions() if id(s) not in before]
        self.reactor = MemoryReactorClock()
        gc.collect()
        self.assertEqual([repr(u.exc_value) for u in unraisable], [])
        self.assertIsNone(session())

    def sessions(self) -> list[Any]:
        """
        The sessions of the deliveries not collected yet.
        """
        return [
            o
            for o in gc.get_objects()
            if isinstance(o, types.CoroutineType) and o.__qualname__ == "_Delivery.session"
        ]

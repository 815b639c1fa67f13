"""
The message data on the wire, in memory: line ends, dot-stuffing wherever twisted.mail's
chunks of 16 KiB start, 8-bit data declared, line length, and the wait for the reply to the
end of the data.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.error import ConnectionDone

from txdane.mail import DeliveryResult, TemporaryDeliveryError, checkLines, sendMail
from txdane.mail._client import DATA_END_TIMEOUT, _Sender

from .test_hostile import MemoryMail, hosts

#: The size of the chunks twisted.mail writes the message in.
CHUNK = 2**14


class DataTests(MemoryMail):
    def setUp(self) -> None:
        super().setUp()
        # twisted.mail's reply timeout runs on the global reactor: here, on the test's clock.
        self.patch(_Sender, "callLater", lambda _, delay, f: self.reactor.callLater(delay, f))

    def start(self, message: bytes, count: int = 1, **kw: Any) -> Any:
        return sendMail(
            self.reactor,
            hosts(count),
            "alice@example.net",
            ["bob@example.org"],
            message,
            heloName="client.example.net",
            **kw,
        )

    def dataOnWire(
        self, message: bytes, ehlo: bytes = b"250 mx\r\n", **kw: Any
    ) -> tuple[Any, Any, Any, bytes]:
        """
        Take a delivery of C{message} to the first host up to the end of its data; return
        the delivery, the client, its transport and the bytes sent after C{354}.
        """
        sending = self.start(message, **kw)
        client, transport = self.cleartextSession()
        for reply in (ehlo, b"250 2.1.0 Ok\r\n", b"250 2.1.5 Ok\r\n"):
            client.dataReceived(reply)
        self.commands = transport.value()
        transport.clear()
        client.dataReceived(b"354 go\r\n")
        for _ in range(1000):
            producer = getattr(transport, "producer", None)
            if producer is None:
                break
            producer.resumeProducing()
        return sending, client, transport, transport.value()

    def test_dotAtChunkStart(self) -> None:
        """
        A line "." where a chunk starts is sent as "..", as every other: the data ends at
        the client's own "." line only, and what follows is never read as commands
        (RFC 5321 section 4.5.2).
        """
        head = b"Subject: hi\n\n"
        smuggled = b".\nMAIL FROM:<ceo@example.org>\nRCPT TO:<eve@example.org>\nDATA\nforged\n.\n"
        for size in (CHUNK, 2 * CHUNK):
            # Lines of 80 bytes, then one that ends right at the chunk's end.
            fill = size - len(head)
            before = b"x" * 79 + b"\n"
            before = before * (fill // 80 - 1) + b"y" * (fill % 80 + 79) + b"\n"
            self.assertEqual(len(head + before), size)
            message = head + before + smuggled + b"tail\n"
            _, _, _, wire = self.dataOnWire(message)
            self.assertEqual(wire.find(b"\r\n.\r\n"), len(wire) - 5, wire[-200:])
            self.assertIn(b"\r\n..\r\nMAIL FROM:", wire)
            self.assertEqual(
                wire.replace(b"\r\n..", b"\r\n."), message.replace(b"\n", b"\r\n") + b".\r\n"
            )

    def test_firstLineDot(self) -> None:
        """
        The message's first line is stuffed too: a first line "." ended the data at once,
        and ".hidden" reached the server as "hidden".
        """
        for message, sent in (
            (b".\r\nRSET\r\n", b"..\r\nRSET\r\n.\r\n"),
            (b".hidden\r\n", b"..hidden\r\n.\r\n"),
            (b"..\r\n", b"...\r\n.\r\n"),
        ):
            _, _, _, wire = self.dataOnWire(message)
            self.assertEqual(wire, sent)

    def test_loneCR(self) -> None:
        """
        A CR on its own is a line end, sent as CRLF (RFC 5321 section 2.3.8: CR and LF only
        as CRLF): C{<CR>.<CR>} is what servers that end the data there are smuggled with.
        """
        _, _, _, wire = self.dataOnWire(b"Subject: hi\r\n\r\nline\rone\r.\rRSET\r\n")
        self.assertEqual(wire, b"Subject: hi\r\n\r\nline\r\none\r\n..\r\nRSET\r\n.\r\n")

    def test_eightBitDeclared(self) -> None:
        """
        A message with 8-bit bytes is declared with C{BODY=8BITMIME} to a server that offers
        it (RFC 6152 section 3); an ASCII one is not, nor to a server that does not offer it.
        """
        utf8 = "Subject: café\r\n\r\nvoilà\r\n".encode()
        ascii = b"Subject: hi\r\n\r\nhello\r\n"
        offers = b"250-mx\r\n250 8BITMIME\r\n"
        for message, ehlo, declared in (
            (utf8, offers, True),
            (ascii, offers, False),
            (utf8, b"250 mx\r\n", False),
        ):
            self.dataOnWire(message, ehlo)
            self.assertIn(b"MAIL FROM:<alice@example.net>", self.commands)
            self.assertEqual(b"BODY=8BITMIME" in self.commands, declared, self.commands)

    def test_longLineRefused(self) -> None:
        """
        A line over 998 bytes is refused before anything is sent (RFC 5321 section
        4.5.3.1.6); 998 is taken.
        """
        with self.assertRaises(ValueError) as raised:
            self.start(b"Subject: hi\r\n\r\n" + b"x" * 999 + b"\r\n")
        self.assertIn("a line of 999 bytes", str(raised.exception))
        self.assertEqual(self.reactor.tcpClients, [])
        _, _, _, wire = self.dataOnWire(b"x" * 998)
        self.assertEqual(wire, b"x" * 998 + b"\r\n.\r\n")

    def test_checkLines(self) -> None:
        """
        L{checkLines}, the check L{sendMail} makes, is there to make it earlier: 998 bytes
        between line ends of any kind pass, 999 are refused with the length, a CR counting as
        a line end and not as a byte of the line.
        """
        for ok in (
            b"",
            b"x" * 998,
            b"x" * 998 + b"\r\n" + b"y" * 998,
            b"x" * 998 + b"\r" + b"y" * 998,
        ):
            checkLines(ok)
        for long, length in (
            (b"x" * 999, 999),
            (b"a\r\n" + b"x" * 1000 + b"\r\nb", 1000),
            (b"a\r" + b"x" * 999, 999),
            (b"a\n" + b"x" * 999 + b"\n", 999),
        ):
            with self.assertRaises(ValueError) as raised:
                checkLines(long)
            self.assertIn(f"a line of {length} bytes", str(raised.exception))

    def test_waitForDataEnd(self) -> None:
        """
        The reply to the end of the data is awaited for L{DATA_END_TIMEOUT} (RFC 5321
        section 4.5.3.2.6: 10 minutes), not the per-reply timeout: a server that processes
        the message before it answers has it, and a client giving up would send it again to
        the next host.
        """
        sending, client, transport, _ = self.dataOnWire(
            b"Subject: hi\r\n\r\nhello\r\n", count=2, timeout=10
        )
        self.reactor.advance(DATA_END_TIMEOUT - 20)
        self.assertFalse(transport.disconnecting)
        self.assertNoResult(sending)
        self.assertEqual(len(self.reactor.tcpClients), 1)
        client.dataReceived(b"250 2.0.0 queued\r\n221 bye\r\n")
        self.end(client, ConnectionDone)
        result: DeliveryResult = self.successResultOf(sending)
        self.assertEqual(result.reply, "250 2.0.0 queued")

    def test_dataEndTimeout(self) -> None:
        """
        A server that never answers the end of the data is given up after
        L{DATA_END_TIMEOUT}.
        """
        sending, client, transport, _ = self.dataOnWire(
            b"Subject: hi\r\n\r\nhello\r\n", timeout=10, attemptTimeout=1000
        )
        self.reactor.advance(DATA_END_TIMEOUT - 1)
        self.assertFalse(transport.disconnecting)
        self.reactor.advance(2)
        self.assertTrue(transport.disconnecting)
        self.end(client)
        self.failureResultOf(sending, TemporaryDeliveryError)

"""
twisted.mail's SMTP client as a delivery uses it: it notes the server's reply to the
message, bounds what a server may send (L{MAX_REPLY_LINE}, L{MAX_REPLY}), sends the message
data as RFC 5321 requires whatever its size, and says when it is 8-bit.

twisted.mail writes the message in chunks of 16 KiB and dot-stuffs each chunk on its own,
after a line end inside it (RFC 5321 section 4.5.2): a line that starts with "." at the start
of a chunk, the message's first line among them, went out as it was. A line "." there ended
the data early, and the server read the rest of the message as commands (SMTP smuggling).
L{_Sender.transformChunk} stuffs those lines too.
"""

from __future__ import annotations

from typing import Any

from twisted.mail.smtp import ESMTPSender, ESMTPSenderFactory, SMTPClient

#: The longest reply line accepted from an SMTP server, in bytes (RFC 5321 section 4.5.3.1.5
#: sets 512 octets; no real server comes near this).
MAX_REPLY_LINE = 4096

#: The most bytes one reply may hold, all its lines together (a multi-line EHLO reply of a
#: real server is well under 1 KiB).
MAX_REPLY = 65536

#: Seconds to wait for the reply to the end of the message data, the "." line: RFC 5321
#: section 4.5.3.2.6 asks for 10 minutes, as the server may process the message before it
#: answers, and a client that gives up earlier sends the message again elsewhere while the
#: server may have taken it. The attempt's own deadline still applies.
DATA_END_TIMEOUT = 600.0


class _Sender(ESMTPSender):
    """
    twisted.mail's sender, noting the server's reply to the message for the result.
    """

    MAX_LENGTH = MAX_REPLY_LINE
    _replyBytes = 0
    #: Whether the message data sent so far ends at the start of a line (so does none).
    _lineStart = True
    #: The server's EHLO keywords, upper case.
    _keywords: frozenset[bytes] = frozenset()

    def tryTLS(self, code: int, resp: bytes, items: dict[bytes, Any]) -> None:
        self._keywords = frozenset(keyword.upper() for keyword in items)
        super().tryTLS(code, resp, items)

    def sendLine(self, line: bytes) -> None:
        offered = b"8BITMIME" in self._keywords
        if line.startswith(b"MAIL FROM:") and offered and self.factory.eightBit:
            # RFC 6152 section 3: 8-bit data is declared, to a server that offers it. One that
            # does not gets it as it is, as Postfix sends it.
            line += b" BODY=8BITMIME"
        super().sendLine(line)

    def transformChunk(self, chunk: bytes) -> bytes:
        """
        Each line end as CRLF and each line that starts with "." with one more, wherever the
        chunk starts (the message's LF line ends are its only ones: L{sendMail
        <txdane.mail.sendMail>} made them so).
        """
        self.resetTimeout()
        out = chunk.replace(b"\n", b"\r\n").replace(b"\r\n.", b"\r\n..")
        if self._lineStart and chunk.startswith(b"."):
            out = b"." + out
        if chunk:
            self._lineStart = chunk.endswith(b"\n")
        return out

    def finishedFileTransfer(self, lastsent: bytes) -> None:
        super().finishedFileTransfer(lastsent)
        self.setTimeout(max(self.timeout or 0, DATA_END_TIMEOUT))

    def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
        self.factory.reply = (code, resp)
        self.setTimeout(self.timeout)  # the reply to the data came: the usual wait again
        super().sentMail(code, resp, numOk, addresses, log)

    def lineReceived(self, line: bytes) -> None:
        # twisted.mail keeps every line of a multi-line reply and resets its timeout on
        # each: bound the reply as a whole.
        self._replyBytes += len(line) + 2
        if self._replyBytes > MAX_REPLY:
            self._exceeded(f"a reply longer than {MAX_REPLY} bytes")
            return
        if line[3:4] != b"-":
            self._replyBytes = 0
        super().lineReceived(line)

    def sendError(self, exc: Exception) -> None:
        if self.factory.sendFinished:
            # The outcome is in (its Deferred has fired and is gone): an error after it, such
            # as a malformed reply to QUIT, only ends the session. twisted.mail would fail
            # on the missing Deferred inside dataReceived.
            SMTPClient.sendError(self, exc)
            return
        super().sendError(exc)

    def lineLengthExceeded(self, line: bytes) -> None:
        self._exceeded(f"a reply line longer than {MAX_REPLY_LINE} bytes")

    def _exceeded(self, reason: str) -> None:
        if self.factory.exceeded is None:
            self.factory.exceeded = reason
        assert self.transport is not None
        self.transport.abortConnection()  # type: ignore[attr-defined]


class _SenderFactory(ESMTPSenderFactory):
    protocol = _Sender
    reply: tuple[int, bytes] | None = None
    #: The bound a server went past, if any.
    exceeded: str | None = None
    #: Whether the message has 8-bit bytes (the delivery decides, once for all its hosts).
    eightBit = False

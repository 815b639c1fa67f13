"""
twisted.mail's SMTP client as a delivery uses it: it notes the server's reply to the
message, and bounds what a server may send (L{MAX_REPLY_LINE}, L{MAX_REPLY}).
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


class _Sender(ESMTPSender):
    """
    twisted.mail's sender, noting the server's reply to the message for the result.
    """

    MAX_LENGTH = MAX_REPLY_LINE
    _replyBytes = 0

    def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
        self.factory.reply = (code, resp)
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

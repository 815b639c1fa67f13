"""
STARTTLS for the line-based protocols: SMTP and submission (RFC 3207), LMTP (RFC 2033), IMAP
(RFC 3501 section 6.2.1), POP3 (RFC 2595 section 4) and FTP (RFC 4217).

Each waits for the server's greeting, asks for TLS and starts it on the server's go-ahead. The
application then receives a greeting made by the negotiator (C{220} for SMTP, LMTP and FTP,
C{* OK} for IMAP, C{+OK} for POP3), never the server's cleartext one, and speaks again from
the start: an SMTP client says C{EHLO} again, as RFC 3207 section 4.2 requires after TLS; an
IMAP client asks for the capabilities again (RFC 3501 section 6.2.1); a POP3 client logs in
over TLS.

A server whose greeting is not the protocol's (an IMAP greeting to an SMTP client, an XMPP
stream) is told apart from one that refuses: L{StartTLSWrongProtocolError
<txdane.endpoints.errors.StartTLSWrongProtocolError>}, as soon as its first byte
shows it (the greeting of another protocol may never end a line).

Tests: C{tests/endpoints/test_starttls.py}.
"""

from __future__ import annotations

import re

from twisted.internet.address import IPv4Address, IPv6Address

from txdane.endpoints.starttls.negotiator import Negotiator, greetingProtocol, quoted

__all__ = [
    "FTPStartTLS",
    "IMAPStartTLS",
    "LMTPStartTLS",
    "LineNegotiator",
    "POP3StartTLS",
    "SMTPStartTLS",
]


class LineNegotiator(Negotiator):
    """
    The base of the line-based negotiators: the server's cleartext split into lines (CRLF or
    LF ended), each given to L{line}; lines left after the upgrade are dropped.

    @cvar maxLine: the longest line accepted from the server.
    @cvar greetingStarts: the bytes the protocol's greeting may start with: a server whose
        first byte is none of them speaks another protocol
        (L{Negotiator.wrongProtocol<txdane.endpoints.starttls.negotiator.Negotiator.wrongProtocol>}).
    """

    maxLine = 4096
    greetingStarts = b""

    def begin(self) -> None:
        self._buffer = b""
        self._first = True

    def received(self, data: bytes) -> None:
        if self._first and data:
            self._first = False
            if self.greetingStarts and data[0] not in self.greetingStarts:
                self.wrongProtocol(data)
                return
        self._buffer += data
        while not self.upgrading and not self.open and self._refusal is None:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > self.maxLine:
                    self.refuse(f"a line longer than {self.maxLine} bytes")
                return
            line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
            if end > self.maxLine:
                self.refuse(f"a line longer than {self.maxLine} bytes")
                return
            self.line(line.rstrip(b"\r").decode("utf-8", "replace"))
        self._buffer = b""

    def line(self, line: str) -> None:
        """
        Called with each line from the server before the upgrade, without its line end.
        """

    def command(self, line: str) -> None:
        """
        Send one command line.
        """
        self.send(line.encode("ascii") + b"\r\n")

    def notUnderstood(self, greeting: str, code: str, command: str, answer: str) -> bool:
        """
        Whether a server that answered C{command} with C{answer} (its code C{code}) speaks
        another protocol, which
        L{Negotiator.wrongProtocol<txdane.endpoints.starttls.negotiator.Negotiator.wrongProtocol>}
        then says: it did not understand the command (C{500}, C{502}, C{504}) and its
        C{greeting}, grammatical here, names another protocol of the same grammar
        (C{220 ... ESMTP} to LMTP or FTP, say). A greeting that names none (C{220 ready})
        shows nothing.
        """
        if code not in _NOT_UNDERSTOOD:
            return False
        speaks = greetingProtocol(greeting)
        # Named: SMTP, LMTP and FTP are their own names in the registry, upper-cased.
        if speaks in (None, self.protocolName) or speaks.upper() not in greeting.upper():
            return False
        self.wrongProtocol(greeting, f"{command} with {quoted(answer)}")
        return True


#: The codes of SMTP, LMTP and FTP for a command not understood, or not implemented.
_NOT_UNDERSTOOD = frozenset({"500", "502", "504"})


_SMTP_REPLY = re.compile(r"([2-5][0-9][0-9])([ -])(.*)\Z", re.DOTALL)


class SMTPStartTLS(LineNegotiator):
    """
    STARTTLS for SMTP and submission (RFC 3207): wait for the C{220} greeting, send C{EHLO},
    check that its reply offers C{STARTTLS}, send C{STARTTLS} and wait for C{220}. Replies
    may span several lines (C{250-...}, then C{250 ...}).

    The C{EHLO} argument is the negotiator's C{heloName} when it has one (the name the
    client goes on to greet with over TLS, as L{txdane.mail.sendMail} does), else the
    client's address literal (RFC 5321 section 4.1.3), which vouches for nothing it does not
    show anyway.
    """

    protocolName = "smtp"
    title = "SMTP"
    defaultPort = 25
    greetingStarts = b"2345"
    greeting = "220 {host} ESMTP\r\n"
    #: The greeting command.
    hello = "EHLO"

    def begin(self) -> None:
        super().begin()
        self._state = "greeting"
        self._reply: list[str] = []

    def line(self, line: str) -> None:
        match = _SMTP_REPLY.match(line) or _SMTP_REPLY.match(line + " ")
        if match is None and self._state == "greeting" and not self._reply:
            self.wrongProtocol(line)
            return
        if match is None or (self._reply and match.group(1) != self._reply[0][:3]):
            self.refuse(f"a malformed reply {quoted(line)}")
            return
        self._reply.append(line)
        if match.group(2) == "-":
            return
        reply, self._reply = self._reply, []
        code = reply[0][:3]
        if self._state == "greeting":
            if code != "220":
                self.refuse(f"expected the greeting 220, got {quoted(reply[0])}")
                return
            self._state = "ehlo"
            self._greeting = reply[0]
            self.command(f"{self.hello} {self._ehloName()}")
        elif self._state == "ehlo":
            if self.notUnderstood(self._greeting, code, self.hello, reply[0]):
                return
            if code != "250":
                self.refuse(f"the server answered {self.hello} with {quoted(reply[0])}")
                return
            keywords = {r[4:].split(None, 1)[0].upper() for r in reply[1:] if r[4:].strip()}
            if "STARTTLS" not in keywords:
                self.notOffered("the server does not offer STARTTLS")
                return
            self._state = "starttls"
            self.command("STARTTLS")
        elif code == "220":
            self.upgrade()
        else:
            self.refuse(f"the server answered STARTTLS with {quoted(reply[0])}")

    def where(self) -> str:
        if self._state == "greeting":
            return "during its greeting" if self.heard else "before its greeting"
        if self._state == "ehlo":
            return "after its greeting, before STARTTLS"
        return "before answering STARTTLS"

    def _ehloName(self) -> str:
        if self.heloName is not None:
            return self.heloName
        assert self.transport is not None
        local = self.transport.getHost()
        if isinstance(local, IPv6Address):
            return f"[IPv6:{local.host}]"
        if isinstance(local, IPv4Address):
            return f"[{local.host}]"
        return "localhost"


class LMTPStartTLS(SMTPStartTLS):
    """
    STARTTLS for LMTP (RFC 2033): as for SMTP, with C{LHLO}.
    """

    protocolName = "lmtp"
    title = "LMTP"
    defaultPort = 24
    greeting = "220 {host} LMTP\r\n"
    hello = "LHLO"


class IMAPStartTLS(LineNegotiator):
    """
    STARTTLS for IMAP (RFC 3501 section 6.2.1): wait for the C{* OK} greeting, send
    C{a001 STARTTLS} and wait for its tagged C{OK}; untagged responses in between are
    skipped. A greeting whose C{CAPABILITY} response code lacks C{STARTTLS} means the server
    does not offer it; C{PREAUTH} or C{BYE} leaves no STARTTLS to do.
    """

    protocolName = "imap"
    title = "IMAP"
    defaultPort = 143
    greetingStarts = b"*"
    greeting = "* OK IMAP4rev1 {host} ready\r\n"
    tag = "a001"

    def begin(self) -> None:
        super().begin()
        self._greeted = False

    def line(self, line: str) -> None:
        words = line.split(None, 2)
        first = words[0] if words else ""
        status = words[1].upper() if len(words) > 1 else ""
        if not self._greeted:
            if first != "*":
                self.wrongProtocol(line)
                return
            if status != "OK":
                self.refuse(f"expected the greeting '* OK', got {quoted(line)}")
                return
            capability = re.search(r"\[CAPABILITY ([^\]]*)\]", line, re.IGNORECASE)
            if capability and "STARTTLS" not in capability.group(1).upper().split():
                self.notOffered("the server does not offer STARTTLS")
                return
            self._greeted = True
            self.command(f"{self.tag} STARTTLS")
        elif first == "*":
            if status == "BYE":
                self.refuse(f"the server said {quoted(line)}")
        elif first == self.tag and status == "OK":
            self.upgrade()
        elif first == self.tag and status in ("NO", "BAD"):
            self.refuse(f"the server answered STARTTLS with {quoted(line)}")
        else:
            self.refuse(f"expected the answer to STARTTLS, got {quoted(line)}")

    def where(self) -> str:
        if not self._greeted:
            return "during its greeting" if self.heard else "before its greeting"
        return "before answering STARTTLS"


class POP3StartTLS(LineNegotiator):
    """
    STARTTLS for POP3 (RFC 2595 section 4): wait for the C{+OK} greeting, send C{STLS} and
    wait for C{+OK}. C{-ERR} (STLS not offered, or refused) ends the connection. The made
    greeting carries no APOP challenge: the client logs in over TLS.
    """

    protocolName = "pop3"
    title = "POP3"
    defaultPort = 110
    greetingStarts = b"+-"
    greeting = "+OK {host} ready\r\n"

    def begin(self) -> None:
        super().begin()
        self._greeted = False

    def line(self, line: str) -> None:
        status = line.split(None, 1)[0] if line.strip() else ""
        if not self._greeted:
            if status not in ("+OK", "-ERR"):
                self.wrongProtocol(line)
                return
            if status != "+OK":
                self.refuse(f"expected the greeting '+OK', got {quoted(line)}")
                return
            self._greeted = True
            self.command("STLS")
        elif status == "+OK":
            self.upgrade()
        elif status == "-ERR":
            self.refuse(f"the server answered STLS with {quoted(line)}")
        else:
            self.refuse(f"expected the answer to STLS, got {quoted(line)}")

    def where(self) -> str:
        if not self._greeted:
            return "during its greeting" if self.heard else "before its greeting"
        return "before answering STLS"


_FTP_REPLY = re.compile(r"([1-5][0-9][0-9])([ -])(.*)\Z", re.DOTALL)


class FTPStartTLS(LineNegotiator):
    """
    TLS for FTP (RFC 4217): wait for the C{220} greeting (a multi-line reply may hold lines
    of any text between C{220-} and C{220 }), send C{AUTH TLS} and wait for C{234}.
    """

    protocolName = "ftp"
    title = "FTP"
    defaultPort = 21
    greetingStarts = b"12345"
    greeting = "220 {host} ready\r\n"

    def begin(self) -> None:
        super().begin()
        self._greeted = False
        self._open: str | None = None

    def line(self, line: str) -> None:
        match = _FTP_REPLY.match(line) or _FTP_REPLY.match(line + " ")
        if self._open is not None:
            # Inside a multi-line reply: only "NNN " with the same code ends it.
            if match is not None and match.group(1) == self._open and match.group(2) == " ":
                self._open = None
                self._reply(match.group(1), line)
            return
        if match is None and not self._greeted:
            self.wrongProtocol(line)
        elif match is None:
            self.refuse(f"a malformed reply {quoted(line)}")
        elif match.group(2) == "-":
            self._open = match.group(1)
        else:
            self._reply(match.group(1), line)

    def _reply(self, code: str, line: str) -> None:
        if not self._greeted:
            if code != "220":
                self.refuse(f"expected the greeting 220, got {quoted(line)}")
                return
            self._greeted = True
            self._greeting = line
            self.command("AUTH TLS")
        elif code == "234":
            self.upgrade()
        elif not self.notUnderstood(self._greeting, code, "AUTH TLS", line):
            self.refuse(f"the server answered AUTH TLS with {quoted(line)}")

    def where(self) -> str:
        if not self._greeted:
            return "during its greeting" if self.heard else "before its greeting"
        return "before answering AUTH TLS"

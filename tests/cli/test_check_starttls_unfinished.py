"""
C{txdane check --starttls} against servers with which the STARTTLS dialogue does not
complete: they hang up before TLS (after the greeting, during EHLO, in answer to STARTTLS,
right after agreeing to it) or speak another protocol than the one asked for. The check did
not complete (exit status 4, C{connection failed}), which is no verdict on whether the server
offers TLS; servers that answered (no STARTTLS offered, STARTTLS refused) are still refused.
The servers are scripted, in-process, on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus

from ..endpoints.world import reactor
from .world import CLIWorld, makeCLIWorld

#: What a step of a script does once its bytes are written: go on, close the connection
#: cleanly, or cut it.
GO_ON, CLOSE, ABORT = "go on", "close", "abort"

#: An SMTP server's greeting, and its EHLO reply offering STARTTLS.
GREETING = (b"220 mail.example.test ESMTP ready\r\n", GO_ON)
EHLO_STARTTLS = (b"250-mail.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n", GO_ON)

#: A TLSA record for a key no server here has: with it, the SMTP policy requires TLS.
RECORD = "3 1 1 " + "ab" * 32


@dataclass
class Script:
    """
    What a scripted server says: C{greeting} on connecting, then for each line the client
    sends the next of C{answers}; once they are used up, C{after} in answer to whatever the
    client sends next (the TLS handshake's first message), if given. Each step is
    C{(bytes, ending)}, its ending one of L{GO_ON}, L{CLOSE}, L{ABORT}.

    @ivar heard: the lines the server received.
    """

    greeting: tuple[bytes, str]
    answers: list[tuple[bytes, str]] = field(default_factory=list)
    after: tuple[bytes, str] | None = None
    heard: list[bytes] = field(default_factory=list)


class _Scripted(Protocol):
    """
    Plays its factory's L{Script}.
    """

    def connectionMade(self) -> None:
        self.script: Script = self.factory.script
        self.answers = list(self.script.answers)
        self.buffer = b""
        self.playing = True
        self.play(self.script.greeting)

    def play(self, step: tuple[bytes, str]) -> None:
        data, ending = step
        assert self.transport is not None
        if data:
            self.transport.write(data)
        if ending == CLOSE:
            self.playing = False
            self.transport.loseConnection()
        elif ending == ABORT:
            self.playing = False
            self.transport.abortConnection()  # type: ignore[attr-defined]

    def dataReceived(self, data: bytes) -> None:
        if not self.answers:
            if self.playing and self.script.after is not None:
                self.play(self.script.after)
                self.playing = False
            return
        self.buffer += data
        while self.playing and self.answers and b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self.script.heard.append(line.rstrip(b"\r"))
            self.play(self.answers.pop(0))


def startScripted(testCase: TestCase, script: Script) -> int:
    """
    Listen on 127.0.0.1 and ::1 (the addresses of C{www.example.test}) with a server that
    plays C{script} on each connection; return the port.
    """
    factory: Any = Factory.forProtocol(_Scripted)
    factory.script = script
    port = 0
    for interface in ("127.0.0.1", "::1"):
        listening = reactor.listenTCP(port, factory, interface=interface)
        testCase.addCleanup(listening.stopListening)
        port = listening.getHost().port
    return port


async def world(testCase: TestCase, port: int, *, tlsa: bool = True) -> CLIWorld:
    """
    The signed hierarchy, with a TLSA record for C{www.example.test}:C{port} when C{tlsa}.
    """
    records = [f"_{port}._tcp.www 300 IN TLSA {RECORD}"] if tlsa else []
    return await makeCLIWorld(testCase, {"example.test.": records})


class HangUpTests(TestCase):
    """
    A server that closes or breaks the connection before a TLS session: C{connection
    failed}, exit status 4, with what happened; not C{refused: no TLS} (exit status 6).
    """

    async def check(
        self, script: Script, *, tlsa: bool = True, protocol: str = "smtp"
    ) -> tuple[str, list[str], list[bytes]]:
        port = startScripted(self, script)
        checking = await world(self, port, tlsa=tlsa)
        argv = ("--timeout", "5", "--starttls", protocol, "www.example.test", str(port))
        status, output = await checking.run("check", *argv)
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertTrue(lines[0].startswith(f"www.example.test:{port}  connection failed: "))
        self.assertNotIn("refused", output)
        self.assertIn(f"  protection none (STARTTLS {protocol})", lines)
        heard = list(script.heard)
        jsonStatus, data = await checking.json("check", *argv)
        self.assertEqual(
            (jsonStatus, data["exit_status"], data["verified"], data["protection"]),
            (ExitStatus.FAILURE, 4, False, None),
        )
        # The verdict's first line, without the host; what the server heard the first time.
        return lines[0].split("  ", 1)[1], lines[1:], heard

    async def test_closedAfterGreeting(self) -> None:
        """
        The server greets and hangs up at once: whether its end reaches the client as a
        close or as a reset (the client's EHLO may cross it), the check says the connection
        ended after the greeting, before STARTTLS.
        """
        headline, _, _ = await self.check(Script((GREETING[0], CLOSE)))
        self.assertIn("after its greeting, before STARTTLS", headline)

    async def test_closedInAnswerToEHLO(self) -> None:
        """
        The server reads EHLO and closes the connection: required TLS or not, the check did
        not complete.
        """
        for tlsa in (True, False):
            headline, _, heard = await self.check(Script(GREETING, [(b"", CLOSE)]), tlsa=tlsa)
            self.assertEqual(
                headline,
                "connection failed: the server closed the connection after its greeting, "
                "before STARTTLS",
            )
            self.assertEqual([line.split()[0] for line in heard], [b"EHLO"])

    async def test_closedBeforeGreeting(self) -> None:
        headline, _, _ = await self.check(Script((b"", CLOSE)))
        self.assertEqual(
            headline, "connection failed: the server closed the connection before its greeting"
        )

    async def test_closedInAnswerToSTARTTLS(self) -> None:
        headline, _, heard = await self.check(Script(GREETING, [EHLO_STARTTLS, (b"", CLOSE)]))
        self.assertEqual(
            headline,
            "connection failed: the server closed the connection before answering STARTTLS",
        )
        self.assertEqual([line.split()[0] for line in heard], [b"EHLO", b"STARTTLS"])

    async def test_cutInAnswerToSTARTTLS(self) -> None:
        """
        A connection cut (reset) rather than closed: it broke.
        """
        headline, _, _ = await self.check(Script(GREETING, [EHLO_STARTTLS, (b"", ABORT)]))
        self.assertTrue(
            headline.startswith(
                "connection failed: the connection broke before answering STARTTLS ("
            ),
            headline,
        )

    async def test_closedAfterGoAhead(self) -> None:
        """
        The server agrees to STARTTLS and hangs up before any TLS handshake: the check did
        not complete, and says the server agreed.
        """
        script = Script(GREETING, [EHLO_STARTTLS, (b"220 2.0.0 go ahead\r\n", CLOSE)])
        headline, lines, _ = await self.check(script)
        self.assertEqual(
            headline,
            "connection failed: the server closed the connection during the TLS handshake",
        )
        self.assertEqual(
            lines[0], "  the server agreed to STARTTLS, then ended the connection before TLS"
        )

    async def test_closedOnClientHello(self) -> None:
        """
        The server agrees, reads the client's first TLS message and closes the connection.
        """
        script = Script(GREETING, [EHLO_STARTTLS, (b"220 2.0.0 go ahead\r\n", GO_ON)])
        script.after = (b"", CLOSE)
        headline, lines, _ = await self.check(script)
        self.assertEqual(
            headline,
            "connection failed: the server closed the connection during the TLS handshake",
        )
        self.assertIn("the server agreed to STARTTLS", lines[0])

    async def test_noTLSAfterGoAhead(self) -> None:
        """
        The server agrees and answers the client's first TLS message in cleartext: the
        handshake failed, as a direct TLS handshake that fails is reported.
        """
        script = Script(GREETING, [EHLO_STARTTLS, (b"220 2.0.0 go ahead\r\n", GO_ON)])
        script.after = (b"500 5.5.2 what?\r\n", GO_ON)
        headline, lines, _ = await self.check(script)
        self.assertTrue(headline.startswith("connection failed: the TLS handshake failed ("))
        self.assertEqual(lines[0], "  the server agreed to STARTTLS, but no TLS session came about")

    async def test_imapClosedInAnswerToSTARTTLS(self) -> None:
        script = Script((b"* OK IMAP4rev1 ready\r\n", GO_ON), [(b"", CLOSE)])
        headline, _, heard = await self.check(script, protocol="imap")
        self.assertEqual(
            headline,
            "connection failed: the server closed the connection before answering STARTTLS",
        )
        self.assertEqual(heard, [b"a001 STARTTLS"])


class MXHangUpTests(TestCase):
    async def test_mxHost(self) -> None:
        """
        C{--mx} checks each host as C{--starttls smtp} does: a host that hangs up is a
        connection failure, and so is the domain's check.
        """
        port = startScripted(self, Script(GREETING, [(b"", CLOSE)]))
        checking = await makeCLIWorld(
            self,
            {
                "example.test.": [
                    "hangup 300 IN MX 10 www.example.test.",
                    f"_{port}._tcp.www 300 IN TLSA {RECORD}",
                ]
            },
        )
        argv = ("--timeout", "5", "--mx", "hangup.example.test", "--port", str(port))
        status, output = await checking.run("check", *argv)
        self.assertEqual(status, ExitStatus.FAILURE, output)
        self.assertIn(
            f"www.example.test:{port}  connection failed: the server closed the connection "
            "after its greeting, before STARTTLS",
            output.splitlines(),
        )
        _, data = await checking.json("check", *argv)
        self.assertEqual(
            [(h["host"], h["exit_status"]) for h in data["hosts"]], [("www.example.test", 4)]
        )

    async def test_srvTarget(self) -> None:
        """
        C{--srv} checks each STARTTLS target the same way: an IMAP target that hangs up
        after its greeting is a connection failure, not a refusal.
        """
        greeting = (b"* OK IMAP4rev1 ready\r\n", GO_ON)
        port = startScripted(self, Script(greeting, [(b"", CLOSE)]))
        checking = await makeCLIWorld(
            self,
            {
                "example.test.": [
                    f"_imap._tcp.hangup 300 IN SRV 0 0 {port} www.example.test.",
                    f"_{port}._tcp.www 300 IN TLSA {RECORD}",
                ]
            },
        )
        argv = ("--timeout", "5", "--srv", "imap", "hangup.example.test")
        status, output = await checking.run("check", *argv)
        self.assertEqual(status, ExitStatus.FAILURE, output)
        self.assertNotIn("refused", output)
        self.assertIn(f"www.example.test:{port}  connection failed: ", output)
        _, data = await checking.json("check", *argv)
        self.assertEqual(
            [(h["host"], h["exit_status"]) for h in data["hosts"]], [("www.example.test", 4)]
        )


class AnsweredTests(TestCase):
    """
    Servers that answered about TLS are still refused (exit status 6) where TLS is
    required: a hang-up is told apart from them, never mistaken for them nor they for it.
    """

    async def refused(self, script: Script, protocol: str = "smtp") -> list[str]:
        port = startScripted(self, script)
        checking = await world(self, port)
        argv = ("--timeout", "5", "--starttls", protocol, "www.example.test", str(port))
        status, output = await checking.run("check", *argv)
        self.assertEqual(status, ExitStatus.NOT_VERIFIED, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[0],
            f"www.example.test:{port}  refused: no TLS, but its TLSA records require it",
        )
        return lines

    async def test_notOffered(self) -> None:
        lines = await self.refused(Script(GREETING, [(b"250-mail\r\n250 PIPELINING\r\n", GO_ON)]))
        self.assertIn("the server does not offer STARTTLS", lines[1])

    async def test_refusedReply(self) -> None:
        lines = await self.refused(
            Script(GREETING, [EHLO_STARTTLS, (b"454 4.7.0 TLS not available\r\n", GO_ON)])
        )
        self.assertIn("the server answered STARTTLS with '454 4.7.0 TLS not available'", lines[1])

    async def test_refusedReplyThenClosed(self) -> None:
        """
        A refusal followed at once by the server's hang-up is still the refusal.
        """
        lines = await self.refused(
            Script(GREETING, [EHLO_STARTTLS, (b"454 4.7.0 TLS not available\r\n", CLOSE)])
        )
        self.assertIn("answered STARTTLS with '454 4.7.0", lines[1])

    async def test_smtpServerTurnsAway(self) -> None:
        """
        An SMTP server that greets with an error speaks SMTP: a refusal, not another
        protocol.
        """
        lines = await self.refused(Script((b"554 5.3.2 no service\r\n", GO_ON)))
        self.assertIn("expected the greeting 220, got '554 5.3.2 no service'", lines[1])

    async def test_imapRefused(self) -> None:
        lines = await self.refused(
            Script((b"* OK IMAP4rev1 ready\r\n", GO_ON), [(b"a001 NO not now\r\n", GO_ON)]),
            "imap",
        )
        self.assertIn("answered STARTTLS with 'a001 NO not now'", lines[1])


class WrongProtocolTests(TestCase):
    """
    C{--starttls PROTO} against a server of another protocol: the server does not speak
    PROTO; its greeting is quoted and, where it shows one, the protocol to try is named.
    The check did not complete (exit status 4).
    """

    async def check(self, protocol: str, greeting: bytes) -> tuple[list[str], dict[str, Any]]:
        port = startScripted(self, Script((greeting, GO_ON), [(b"500 what?\r\n", GO_ON)] * 3))
        checking = await world(self, port)
        argv = ("--timeout", "5", "--starttls", protocol, "www.example.test", str(port))
        status, output = await checking.run("check", *argv)
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertNotIn("refused", output)
        self.assertNotIn("malformed", output)
        status, data = await checking.json("check", *argv)
        self.assertEqual((status, data["exit_status"], data["protection"]), (4, 4, None))
        self.assertEqual(data["reason"], lines[1].strip())
        return [line.split("  ", 1)[1] if i == 0 else line for i, line in enumerate(lines)], data

    async def test_smtpToIMAP(self) -> None:
        lines, _ = await self.check("smtp", b"* OK IMAP4rev1 ready\r\n")
        self.assertEqual(lines[0], "connection failed: the server does not speak SMTP")
        self.assertEqual(
            lines[1],
            "  the server's greeting is not SMTP's ('* OK IMAP4rev1 ready'); it looks like "
            "IMAP: try --starttls imap",
        )

    async def test_smtpToXMPP(self) -> None:
        """
        A stream header, which ends no line, is recognised at once.
        """
        lines, _ = await self.check(
            "smtp",
            b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
        )
        self.assertEqual(lines[0], "connection failed: the server does not speak SMTP")
        self.assertTrue(lines[1].startswith("  the server's greeting is not SMTP's (\"<?xml"))
        self.assertTrue(
            lines[1].endswith("'1.0'>\"); it looks like XMPP: try --starttls xmpp-client")
        )

    async def test_xmppToSMTP(self) -> None:
        lines, _ = await self.check("xmpp-client", b"220 mail.example.test ESMTP ready\r\n")
        self.assertEqual(lines[0], "connection failed: the server does not speak XMPP")
        self.assertEqual(
            lines[1],
            "  the server's greeting is not XMPP's ('220 mail.example.test ESMTP ready'); "
            "it looks like SMTP: try --starttls smtp",
        )

    async def test_imapToPOP3(self) -> None:
        lines, _ = await self.check("imap", b"+OK POP3 server ready\r\n")
        self.assertEqual(lines[0], "connection failed: the server does not speak IMAP")
        self.assertTrue(lines[1].endswith("it looks like POP3: try --starttls pop3"))

    async def test_pop3ToSMTP(self) -> None:
        lines, _ = await self.check("pop3", b"220 mail.example.test ESMTP ready\r\n")
        self.assertTrue(lines[1].endswith("it looks like SMTP: try --starttls smtp"))

    async def test_lmtpToSMTP(self) -> None:
        """
        An SMTP greeting is an LMTP one too: the server shows it speaks SMTP when it does
        not understand LHLO, its greeting saying ESMTP.
        """
        lines, _ = await self.check("lmtp", b"220 mail.example.test ESMTP ready\r\n")
        self.assertEqual(lines[0], "connection failed: the server does not speak LMTP")
        self.assertEqual(
            lines[1],
            "  the server's greeting is not LMTP's ('220 mail.example.test ESMTP ready'), and it "
            "answered LHLO with '500 what?'; it looks like SMTP: try --starttls smtp",
        )

    async def test_unknownProtocol(self) -> None:
        """
        A greeting of no protocol txdane knows is quoted, with no suggestion.
        """
        lines, data = await self.check("smtp", b"HTTP/1.1 400 Bad Request\r\n")
        self.assertEqual(lines[0], "connection failed: the server does not speak SMTP")
        self.assertEqual(
            lines[1], "  the server's greeting is not SMTP's ('HTTP/1.1 400 Bad Request')"
        )
        self.assertNotIn("try", data["reason"])

    async def test_sshNotSuggested(self) -> None:
        """
        Only the protocols of C{--starttls} are suggested.
        """
        lines, _ = await self.check("smtp", b"SSH-2.0-OpenSSH_9.6\r\n")
        self.assertEqual(lines[1], "  the server's greeting is not SMTP's ('SSH-2.0-OpenSSH_9.6')")

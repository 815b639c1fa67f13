"""
Mail with DANE end to end on loopback, against twisted.mail's own SMTP server with STARTTLS:
L{txdane.mail.sendMail}, and a plain C{ESMTPSenderFactory} over C{dane:mx=}.
"""

from __future__ import annotations

import io
import ipaddress
import shutil
import tempfile
from pathlib import Path
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.task import deferLater
from twisted.mail.smtp import ESMTPSenderFactory
from twisted.trial.unittest import TestCase

from txdane.dane.errors import DANEVerificationError
from txdane.endpoints import DANEOptions
from txdane.endpoints.connection import Protection
from txdane.endpoints.errors import AllHostsFailedError, StartTLSError
from txdane.endpoints.planner import HostSettings
from txdane.mail import PermanentDeliveryError, TemporaryDeliveryError, sendMail
from txdane.mailpolicy import TLSSession
from txdane.tlsrpt import aggregate, sessionResult

from ..dane.tlsserver import serverOptions
from ..endpoints.world import World, makeWorld, reactor
from .mxworld import ADDRESSES, MailCertificates, mailRecords
from .smtpserver import SMTPServer, listenSMTP

MESSAGE = b"From: a@example.org\r\nTo: b@x\r\nSubject: test\r\n\r\nhello\r\n"


class _Factory(ESMTPSenderFactory):
    """
    twisted.mail's factory, noting when its last connection is lost.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.lost: Deferred[None] = Deferred()

    def clientConnectionLost(self, connector: Any, err: Any) -> None:
        super().clientConnectionLost(connector, err)
        if self.sendFinished and not self.lost.called:
            self.lost.callback(None)

    def clientConnectionFailed(self, connector: Any, err: Any) -> None:
        super().clientConnectionFailed(connector, err)
        if self.sendFinished or self.retries >= 0:
            if not self.lost.called:
                self.lost.callback(None)


class MailWorld(TestCase):
    """
    The mail cases of L{tests.mail.mxworld}: twisted.mail SMTP servers with STARTTLS on their
    loopback addresses, the hierarchy served, and a trust anchor file for endpoint strings.
    """

    certs: MailCertificates
    servers: dict[str, SMTPServer]
    world: World

    async def setUp(self) -> None:  # type: ignore[override]
        self.certs = certs = MailCertificates.make()
        contexts = {
            "mxa": serverOptions(certs.a),
            "mxbad": serverOptions(certs.bad),
            "mxta": serverOptions(certs.taLeaf, certs.ca),
            "mxplain": None,
        }
        self.servers = {}
        port = 0
        for host, context in contexts.items():
            server = listenSMTP(context, (ADDRESSES[host],), port)
            port = server.port
            self.servers[host] = server
            for p in server.ports:
                self.addCleanup(p.stopListening)
        self.port = port
        self.world = await makeWorld(mailRecords(port, certs))
        self.addCleanup(self.world.dnsServer.stop)
        self.anchorFile = self.temporaryPath()
        Path(self.anchorFile).write_text(self.world.hierarchy.trustAnchorText())

    def temporaryPath(self) -> str:
        """
        A path in a temporary directory removed after the test.
        """
        directory = tempfile.mkdtemp(prefix="txdane-mail-test-")
        self.addCleanup(shutil.rmtree, directory, True)
        return str(Path(directory) / "file")

    def send(self, domain: str) -> Deferred[Any]:
        return sendMail(
            reactor,
            self.world.resolver,
            "alice@example.org",
            [f"bob@{domain}"],
            MESSAGE,
            port=self.port,
            heloName="client.example.org",
            timeout=10,
        )

    def sendRaw(
        self, domain: str, tls: bool = True, endpoint: str | None = None
    ) -> tuple[Deferred[Any], Any]:
        """
        twisted.mail's factory over C{dane:mx=} (or the C{dane:} C{endpoint} string given,
        without its resolver options): with a TLS context of its own or none at all (the
        endpoint does STARTTLS either way).
        """
        done: Deferred[Any] = Deferred()
        factory = _Factory(
            None,
            None,
            "alice@example.org",
            [f"bob@{domain}"],
            io.BytesIO(MESSAGE),
            done,
            contextFactory=object() if tls else None,
            requireAuthentication=False,
            requireTransportSecurity=True,
        )
        self.lost = factory.lost
        where = endpoint or f"dane:mx={domain}:port={self.port}"
        client = clientFromString(
            reactor,
            f"{where}:resolver=127.0.0.1#{self.world.dnsServer.port}:trustAnchor={self.anchorFile}",
        )
        return client.connect(factory), done

    def mailFromSent(self) -> list[bytes]:
        return [
            line
            for server in self.servers.values()
            for line in server.cleartext
            if line.upper().startswith(b"MAIL")
        ]


class DeliveryTests(MailWorld):
    async def test_verified(self) -> None:
        result = await self.send("verified.example.test")
        self.assertEqual(
            (result.mx, result.address, result.protection),
            ("mxa.example.test", "127.0.0.2", Protection.VERIFIED),
        )
        self.assertTrue(result.reply.startswith("250"))
        self.assertEqual(len(self.servers["mxa"].messages), 1)
        self.assertEqual(self.mailFromSent(), [])
        # The message's CRLF line ends arrive as sent: not CR CR LF (twisted.mail makes each
        # LF a CRLF as it sends).
        self.assertEqual(
            self.servers["mxa"].messages[0].split(b"\n")[-3:], [b"Subject: test", b"", b"hello"]
        )

    async def test_recipientsFromAGenerator(self) -> None:
        """
        Recipients given as a generator are read once: the domain is found from them and
        the same addresses are sent (the generator used to be spent on the domain, and the
        session then had no recipient).
        """
        result = await sendMail(
            reactor,
            self.world.resolver,
            "alice@example.org",
            (f"{name}@verified.example.test" for name in ("bob", "carol")),
            MESSAGE,
            port=self.port,
            heloName="client.example.org",
            timeout=10,
        )
        self.assertEqual(
            [r[0] for r in result.recipients],
            ["bob@verified.example.test", "carol@verified.example.test"],
        )

    async def test_cancelDuringSession(self) -> None:
        """
        Cancelling the delivery while the server has the message ends the session at once,
        with L{CancelledError}: not as the host's failure, which would try the next host and
        report deferred (to be sent again) a message the server may have taken.
        """
        server = self.servers["mxa"]
        server.holdEOM = True
        delivery = self.send("fallback.example.test")
        while not server.held:
            await deferLater(reactor, 0.01)
        delivery.cancel()
        await self.assertFailure(delivery, CancelledError)
        self.assertEqual(len(server.messages), 1)

    async def test_mismatchNotDelivered(self) -> None:
        error: Any = await self.assertFailure(
            self.send("mismatch.example.test"), TemporaryDeliveryError
        )
        (attempt,) = error.tries
        self.assertIsInstance(attempt.error, DANEVerificationError)
        self.assertEqual(attempt.address, "127.0.0.3")
        self.assertEqual(self.servers["mxbad"].messages, [])
        self.assertEqual(self.mailFromSent(), [])

    async def test_secondMXTakesIt(self) -> None:
        result = await self.send("fallback.example.test")
        self.assertEqual(result.mx, "mxa.example.test")
        self.assertIsInstance(result.tries[0].error, DANEVerificationError)
        self.assertEqual(result.tries[0].host, "mxbad.example.test")

    async def test_reportsNameTheRecords(self) -> None:
        """
        A TLS report's session names the host's TLSA records whether the host was verified
        or refused (a verified session used to name none, and was counted under another
        policy than the refused ones of the same records); the result carries them too.
        """
        sessions: list[TLSSession] = []
        result = await sendMail(
            reactor,
            self.world.resolver,
            "alice@example.org",
            ["bob@fallback.example.test"],
            MESSAGE,
            port=self.port,
            timeout=10,
            reporter=sessions.append,
        )
        refused, verified = sessions
        self.assertEqual(
            [(s.mxHost, s.policyType, s.resultType) for s in sessions],
            [
                ("mxbad.example.test", "tlsa", "validation-failure"),
                ("mxa.example.test", "tlsa", None),
            ],
        )
        self.assertTrue(verified.policyStrings)
        self.assertEqual(verified.policyStrings, result.tlsa)
        self.assertEqual(list(result.tlsa), sorted(result.tlsa))
        self.assertEqual(
            refused.policyStrings,
            tuple(sorted(str(c.record) for c in getattr(result.tries[0].error, "checks", ()))),
        )

    async def test_reportsNameTheSendingAddress(self) -> None:
        """
        Each session reported names this side's address as well as the server's, the one
        refused inside the endpoint (before twisted.mail's client had the connection) too:
        a TLS report's C{sending-mta-ip} (RFC 8460 section 4.4). A message delivered in
        cleartext is reported as C{starttls-not-supported}, never as a TLS session.
        """
        sessions: list[TLSSession] = []
        for domain in ("fallback.example.test", "opportunistic.example.test"):
            await sendMail(
                reactor,
                self.world.resolver,
                "alice@example.org",
                [f"bob@{domain}"],
                MESSAGE,
                port=self.port,
                timeout=10,
                reporter=sessions.append,
            )
        self.assertEqual(
            [(s.mxHost, s.receivingIP, s.resultType) for s in sessions],
            [
                ("mxbad.example.test", "127.0.0.3", "validation-failure"),
                ("mxa.example.test", "127.0.0.2", None),
                ("mxopen.example.test", ADDRESSES["mxplain"], "starttls-not-supported"),
            ],
        )
        for session in sessions:
            self.assertIsNotNone(session.sendingIP)
            self.assertTrue(ipaddress.ip_address(session.sendingIP or "").is_loopback)
        reports = aggregate([sessionResult(s) for s in sessions], "org.example", "a@org.example")
        details = [d for r in reports for p in r["policies"] for d in p["failure-details"]]
        self.assertEqual(len(details), 2)
        self.assertTrue(all("sending-mta-ip" in d for d in details))

    async def test_daneTA(self) -> None:
        result = await self.send("tata.example.test")
        self.assertEqual((result.mx, result.protection), ("mxta.example.test", Protection.VERIFIED))

    async def test_noSTARTTLSNothingSent(self) -> None:
        error: Any = await self.assertFailure(
            self.send("nostarttls.example.test"), TemporaryDeliveryError
        )
        self.assertIn("TLS", str(error.tries[0].error))
        self.assertEqual(self.servers["mxplain"].messages, [])
        self.assertEqual(self.mailFromSent(), [])

    async def test_opportunisticCleartext(self) -> None:
        """
        No TLSA records and no STARTTLS offered: RFC 7672's opportunistic TLS sends the message
        in cleartext, and says so; the server sees EHLO from the endpoint, then the client's
        own session from its EHLO on.
        """
        result = await self.send("opportunistic.example.test")
        self.assertEqual(
            (result.mx, result.protection), ("mxopen.example.test", Protection.CLEARTEXT)
        )
        self.assertEqual(len(self.servers["mxplain"].messages), 1)
        verbs = [line.split()[0].upper() for line in self.servers["mxplain"].cleartext[:3]]
        self.assertEqual(verbs, [b"EHLO", b"EHLO", b"MAIL"])

    async def test_oneHeloName(self) -> None:
        """
        The server hears the caller's C{heloName} in every greeting: the endpoint's C{EHLO}
        before STARTTLS (not the local address literal) and the client's after it. A name
        in C{settings.options} is used the same way; two different names are refused.
        """
        await self.send("opportunistic.example.test")
        greetings = [line for line in self.servers["mxplain"].cleartext if line[:4] == b"EHLO"]
        self.assertEqual(greetings, [b"EHLO client.example.org"] * 2)
        settings = HostSettings(options=DANEOptions(heloName="other.example.org"))
        await sendMail(
            reactor,
            self.world.resolver,
            "alice@example.org",
            ["bob@opportunistic.example.test"],
            MESSAGE,
            port=self.port,
            settings=settings,
        )
        greetings = [line for line in self.servers["mxplain"].cleartext if line[:4] == b"EHLO"]
        self.assertEqual(greetings[2:], [b"EHLO other.example.org"] * 2)
        with self.assertRaises(ValueError) as caught:
            sendMail(
                reactor,
                self.world.resolver,
                "alice@example.org",
                ["bob@opportunistic.example.test"],
                MESSAGE,
                heloName="client.example.org",
                settings=settings,
            )
        self.assertIn("differs from settings.options.heloName", str(caught.exception))

    async def test_nullMX(self) -> None:
        """
        A null MX bounces at once: nothing is dialled, no host sees a byte.
        """
        error: Any = await self.assertFailure(
            self.send("nullmx.example.test"), PermanentDeliveryError
        )
        self.assertIn("null MX", str(error))
        self.assertEqual(error.tries, ())
        self.assertEqual(sum(len(s.cleartext) for s in self.servers.values()), 0)
        self.assertEqual(sum(len(s.messages) for s in self.servers.values()), 0)

    async def test_implicitMX(self) -> None:
        result = await self.send("implicit.example.test")
        self.assertEqual(
            (result.mx, result.protection), ("implicit.example.test", Protection.VERIFIED)
        )

    async def test_insecureMXTrusted(self) -> None:
        result = await self.send("insecure.unsigned.test")
        self.assertEqual((result.mx, result.protection), ("mxa.example.test", Protection.TRUSTED))

    async def test_bogusMXNothingDialled(self) -> None:
        error: Any = await self.assertFailure(
            self.send("bogus.expired.test"), TemporaryDeliveryError
        )
        self.assertIn("bogus", str(error))
        self.assertEqual(error.tries, ())
        self.assertEqual(sum(len(s.cleartext) for s in self.servers.values()), 0)

    async def test_tempfailMovesOn(self) -> None:
        self.servers["mxbad"].context = serverOptions(self.certs.other)
        self.servers["mxbad"].tempfail = True
        error: Any = await self.assertFailure(
            self.send("mismatch.example.test"), TemporaryDeliveryError
        )
        self.assertIn("451", str(error))


class RawFactoryTests(MailWorld):
    async def test_verified(self) -> None:
        connected, done = self.sendRaw("verified.example.test")
        protocol = await connected
        await done
        await self.lost
        info = protocol.transport.connectionInfo
        self.assertEqual((info.host, info.protection), ("mxa.example.test", Protection.VERIFIED))
        self.assertEqual(len(self.servers["mxa"].messages), 1)

    async def test_secondMXTakesIt(self) -> None:
        connected, done = self.sendRaw("fallback.example.test")
        await connected
        await done
        await self.lost
        self.assertEqual(len(self.servers["mxa"].messages), 1)
        self.assertEqual(self.mailFromSent(), [])

    async def test_mismatchFailsPromptly(self) -> None:
        connected, done = self.sendRaw("mismatch.example.test")
        error: Any = await self.assertFailure(connected, AllHostsFailedError)
        self.assertIn("every host failed", str(error))
        self.assertIsInstance(error.attempts[0].error, DANEVerificationError)
        self.assertFalse(done.called)
        self.assertEqual(self.mailFromSent(), [])

    async def test_withoutTLSContext(self) -> None:
        """
        A factory given no TLS context of its own still gets the endpoint's verified TLS
        (and its requireTransportSecurity is satisfied); a host that owes TLS and does not
        offer it is refused before the client says anything.
        """
        connected, done = self.sendRaw("verified.example.test", tls=False)
        protocol = await connected
        await done
        await self.lost
        self.assertEqual(protocol.transport.connectionInfo.protection, Protection.VERIFIED)
        self.assertEqual(len(self.servers["mxa"].messages), 1)
        connected, done = self.sendRaw("nostarttls.example.test", tls=False)
        error: Any = await self.assertFailure(connected, AllHostsFailedError)
        self.assertIsInstance(error.attempts[0].error, StartTLSError)
        self.assertIn("does not offer STARTTLS", str(error))
        self.assertEqual(self.mailFromSent(), [])


class ForgedRepliesTests(MailWorld):
    """
    A server that answers STARTTLS with its go-ahead and, in the same segment, forged replies
    to the whole transaction, then drops the handshake: nothing is delivered, and nobody is
    told otherwise (RFC 3207 section 4.2).
    """

    async def setUp(self) -> None:  # type: ignore[override]
        await super().setUp()
        self.servers["mxa"].forge = True

    def assertNothingSent(self) -> None:
        self.assertEqual(self.servers["mxa"].messages, [])
        self.assertEqual(
            [line.split()[0].upper() for line in self.servers["mxa"].cleartext],
            [b"EHLO", b"STARTTLS"],
        )

    async def test_sendMail(self) -> None:
        error: Any = await self.assertFailure(
            self.send("verified.example.test"), TemporaryDeliveryError
        )
        (attempt,) = error.tries
        self.assertIsInstance(attempt.error, StartTLSError)
        self.assertIn("the TLS handshake failed", str(error))
        self.assertNotIn("FORGED", str(error))
        self.assertNothingSent()

    async def test_esmtpSenderOverMX(self) -> None:
        connected, done = self.sendRaw("verified.example.test")
        error: Any = await self.assertFailure(connected, AllHostsFailedError)
        self.assertIn("the TLS handshake failed", str(error))
        self.assertFalse(done.called)
        self.assertNothingSent()

    async def test_esmtpSenderOverStartTLS(self) -> None:
        connected, done = self.sendRaw(
            "verified.example.test",
            endpoint=f"dane:host=mxa.example.test:port={self.port}:starttls=smtp",
        )
        error: Any = await self.assertFailure(connected, StartTLSError)
        self.assertIn("the TLS handshake failed", str(error))
        self.assertFalse(done.called)
        self.assertNothingSent()

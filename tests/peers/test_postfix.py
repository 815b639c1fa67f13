"""
Smoke tests of the Postfix harness and of C{posttls-finger} run through the validating stub:
what the SMTP DANE tests build on.
"""

from __future__ import annotations

import smtplib
import ssl
import tempfile
from pathlib import Path

import pytest
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from txdane.testing import buildHierarchy

from .common import Credentials
from .postfix import Postfix, PostTLSFingerReport, postTLSFingerCommand
from .resolver import ValidatingStub, requireNamespace

pytestmark = pytest.mark.interop

#: A TLSA record that matches no certificate.
WRONG_TLSA = "3 1 1 " + "00" * 32


def startPostfix(testCase: TestCase, **options: object) -> Postfix:
    """
    Start a Postfix with a fresh self-signed certificate for C{mail.example.test}, stopped and
    removed after C{testCase}.
    """
    directory = Path(tempfile.mkdtemp(prefix="txdane-credentials-"))
    credentials = Credentials.selfSigned(directory, "mail.example.test")
    postfix = Postfix(credentials, **options)  # type: ignore[arg-type]
    testCase.addCleanup(postfix.cleanUp)
    postfix.start()
    return postfix


def send(postfix: Postfix, recipient: str, starttls: bool = True) -> None:
    """
    Send one message to C{recipient} with smtplib (STARTTLS without verification).
    """
    with smtplib.SMTP(postfix.host, postfix.port, timeout=10) as client:
        if starttls:
            client.starttls(context=ssl._create_unverified_context())
        client.sendmail(
            "sender@client.test",
            [recipient],
            f"From: sender@client.test\r\nTo: {recipient}\r\nSubject: smoke\r\n\r\nhello\r\n",
        )


class PostfixHarnessTests(TestCase):
    """
    The private Postfix accepts mail for its domains and shows it and its log to the test.
    """

    def test_deliverOverSTARTTLS(self) -> None:
        postfix = startPostfix(self)
        send(postfix, "someone@example.test")
        [message] = postfix.waitForMessages(1)
        self.assertEqual(message["Subject"], "smoke")
        self.assertIn("with ESMTPS", message["Received"])
        postfix.waitForLog(r"status=sent \(delivered to maildir\)")
        [session] = postfix.sessions()
        self.assertEqual((session["starttls"], session["mail"]), ("1", "1"))

    def test_noSTARTTLS(self) -> None:
        """
        Without STARTTLS, the EHLO reply does not offer it, and mail still arrives in clear.
        """
        postfix = startPostfix(self, starttls=False)
        with smtplib.SMTP(postfix.host, postfix.port, timeout=10) as client:
            client.ehlo()
            self.assertFalse(client.has_extn("starttls"))
        send(postfix, "someone@example.test", starttls=False)
        [message] = postfix.waitForMessages(1)
        self.assertIn("with ESMTP id", message["Received"])

    def test_discardAndRefuseRelay(self) -> None:
        """
        With C{discard}, accepted mail is logged as discarded and not stored; mail for other
        domains is refused.
        """
        postfix = startPostfix(self, discard=True)
        send(postfix, "someone@example.test")
        with self.assertRaises(smtplib.SMTPRecipientsRefused):
            send(postfix, "someone@elsewhere.test")
        postfix.waitForLog(r"status=sent \(discarded by the test server\)")
        self.assertEqual(postfix.messages(), [])


class PostTLSFingerTests(TestCase):
    """
    C{posttls-finger}, resolving through a validating Unbound that knows the test hierarchy,
    verifies the private Postfix by its TLSA record.
    """

    async def finger(
        self, tlsa: str, zone: str, destination: str, starttls: bool = True, chat: bool = False
    ) -> tuple[PostTLSFingerReport, Postfix]:
        """
        Start Postfix, publish C{mail.ZONE} with C{tlsa} at C{_PORT._tcp.mail.ZONE} and a
        C{ZONE} MX record for it, serve the hierarchy, and run posttls-finger C{-l dane}
        against C{destination} (C{{port}} and C{{zone}} filled in); return its report.
        """
        requireNamespace()
        directory = Path(tempfile.mkdtemp(prefix="txdane-credentials-"))
        credentials = Credentials.selfSigned(directory, f"mail.{zone.rstrip('.')}")
        domain = zone.rstrip(".")
        postfix = Postfix(
            credentials, domains=[domain], hostname=f"mail.{domain}", starttls=starttls
        )
        self.addCleanup(postfix.cleanUp)
        postfix.start()
        hierarchy = buildHierarchy(
            extraRecords={
                zone: [
                    "@ 300 IN MX 5 mail",
                    "mail 300 IN A 127.0.0.1",
                    f"_{postfix.port}._tcp.mail 300 IN TLSA {tlsa or credentials.tlsa()}",
                ]
            }
        )
        server = await hierarchy.serve(reactor)
        self.addCleanup(server.stop)
        stub = ValidatingStub(hierarchy, server.port)
        stub.start()
        self.addCleanup(stub.stop)
        argv, env = postTLSFingerCommand(
            destination.format(port=postfix.port, zone=domain), chat=chat
        )
        result = await deferToThread(stub.run, argv, 60, env)
        self.assertEqual(result.returncode, 0, result.stderr)
        return PostTLSFingerReport.parse(result.stdout + result.stderr), postfix

    async def test_verified(self) -> None:
        """
        A matching C{3 1 1} record: C{Verified}.
        """
        report, postfix = await self.finger("", "example.test.", "[mail.{zone}]:{port}")
        self.assertEqual(report.established, "Verified", report.output)
        self.assertEqual(len(report.matches), 1, report.output)
        self.assertTrue(report.matches[0].startswith("Matched DANE EE certificate at depth 0"))
        self.assertIsNone(report.failure)
        # posttls-finger only says EHLO, STARTTLS, EHLO and QUIT: it sends no mail.
        postfix.waitForLog(r"disconnect from .* quit=1")
        [session] = postfix.sessions()
        self.assertEqual(session["starttls"], "1")
        self.assertNotIn("mail", session)

    async def test_verifiedThroughMX(self) -> None:
        """
        Given the domain, posttls-finger looks up its MX records and tries the most preferred
        host first (C{mail}, preference 5; the leaf zone's own C{mx}, preference 10, is never
        dialled once C{mail} answered).
        """
        report, _ = await self.finger("", "example.test.", "{zone}:{port}")
        self.assertEqual(report.established, "Verified", report.output)

    async def test_noMatch(self) -> None:
        """
        A secure TLSA record that does not match: a verification failure "no matching DANE
        TLSA records"; posttls-finger still completes the handshake and calls it untrusted.
        """
        report, _ = await self.finger(WRONG_TLSA, "example.test.", "[mail.{zone}]:{port}")
        self.assertEqual(report.failure, "num=65:no matching DANE TLSA records", report.output)
        self.assertTrue(report.daneMismatch)
        self.assertEqual(report.established, "Untrusted")
        self.assertEqual(report.matches, ())

    async def test_insecureZone(self) -> None:
        """
        In an unsigned zone the (non-matching) TLSA record is not used: opportunistic TLS,
        C{Untrusted}, with a PKIX (not DANE) verification failure.
        """
        report, _ = await self.finger(WRONG_TLSA, "unsigned.test.", "[mail.{zone}]:{port}")
        self.assertEqual(report.established, "Untrusted", report.output)
        self.assertEqual(report.failure, "self-signed certificate")
        self.assertFalse(report.daneMismatch)
        self.assertEqual(report.matches, ())

    async def test_noSTARTTLS(self) -> None:
        """
        A secure matching TLSA record, but the server offers no STARTTLS: posttls-finger
        says EHLO and QUIT and reports nothing about TLS (with C{-c}, it prints nothing).
        """
        report, _ = await self.finger("", "example.test.", "[mail.{zone}]:{port}", False, True)
        self.assertIn("posttls-finger: Connected to mail.example.test[127.0.0.1]:", report.output)
        self.assertNotIn("> STARTTLS", report.output)
        self.assertIsNone(report.established, report.output)
        self.assertIsNone(report.failure)

"""
C{verify --smtp} applies RFC 7672: PKIX-TA and PKIX-EE records are unusable, and each record's
row and JSON say so with the reason, as the verdict does.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus
from txdane.dane.tlsa import recordForCertificate

from .test_verify import files
from .world import CLIWorld, issue

#: The reason the matcher gives, which the rows and the JSON repeat.
SMTP_PKIX_UNUSABLE = "PKIX usages are not used for SMTP (RFC 7672 section 3.1.3)"


class SMTPUsabilityTests(TestCase):
    def setUp(self) -> None:
        leaf = issue("mail.example.test")
        self.pkixEE = str(recordForCertificate(leaf.cert, 1, 1, 1))
        self.daneEE = str(recordForCertificate(leaf.cert, 3, 1, 1))
        [self.cert] = files(("leaf.pem", leaf.certPEM()))
        self.world = CLIWorld(None, None, None)  # type: ignore[arg-type]

    async def test_pkixOnly(self) -> None:
        """
        A PKIX-EE record alone: no DANE under SMTP, and its row says it is unusable, why.
        """
        argv = ("--smtp", "--cert", str(self.cert), "--tlsa", self.pkixEE, "mail.example.test")
        status, output = await self.world.run("verify", *argv)
        self.assertEqual(status, ExitStatus.INSECURE)
        self.assertIn("no DANE: every TLSA record", output)
        self.assertIn(f"PKIX-EE SPKI SHA2-256  unusable: {SMTP_PKIX_UNUSABLE}", output)
        self.assertNotIn("  usable", output)
        status, data = await self.world.json("verify", *argv)
        [record] = data["records"]
        self.assertEqual((record["usable"], record["unusable_reason"]), (False, SMTP_PKIX_UNUSABLE))

    async def test_withoutSMTP(self) -> None:
        """
        Without C{--smtp}, the same record is usable (it then needs a PKIX path, which the
        self-signed certificate does not have: not verified, rather than no DANE).
        """
        argv = ("--cert", str(self.cert), "--tlsa", self.pkixEE, "mail.example.test")
        status, data = await self.world.json("verify", *argv)
        self.assertEqual(status, ExitStatus.NOT_VERIFIED)
        [record] = data["records"]
        self.assertEqual((record["usable"], record["unusable_reason"]), (True, None))

    async def test_mixed(self) -> None:
        """
        Beside a DANE-EE record that matches, the PKIX-EE record is unusable in the JSON too.
        """
        argv = (
            "--smtp",
            "--cert",
            str(self.cert),
            "--tlsa",
            self.pkixEE,
            "--tlsa",
            self.daneEE,
            "mail.example.test",
        )
        status, data = await self.world.json("verify", *argv)
        self.assertEqual(status, ExitStatus.OK)
        usable = {r["record"]: (r["usable"], r["unusable_reason"]) for r in data["records"]}
        self.assertEqual(
            usable, {self.pkixEE: (False, SMTP_PKIX_UNUSABLE), self.daneEE: (True, None)}
        )

"""
C{txdane check --starttls PROTO} and C{txdane check --mx DOMAIN} on loopback: twisted.mail
SMTP servers (L{tests.mail.mxworld}), the signed hierarchy, the library's STARTTLS endpoint
and MX planner; and the usage errors a new user meets.
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any

from twisted.internet.utils import getProcessOutputAndValue

from txdane.cli import ExitStatus
from txdane.cli._target import Progress
from txdane.cli.check import execute

from ..endpoints.world import reactor
from ..mail.test_delivery import MailWorld
from ..peers.common import freeTCPPort
from .test_check import HOST_KEYS
from .world import parse

STARTTLS_KEYS = HOST_KEYS | {"starttls", "protection"}

#: --mx DOMAIN -> exit status, then per MX host: (host, verified, protection, exit status).
MX_CASES: dict[str, tuple[int, list[tuple[str, bool, str | None, int]]]] = {
    "verified.example.test": (0, [("mxa.example.test", True, "verified", 0)]),
    "mismatch.example.test": (6, [("mxbad.example.test", False, None, 6)]),
    "fallback.example.test": (
        6,
        [("mxbad.example.test", False, None, 6), ("mxa.example.test", True, "verified", 0)],
    ),
    "tata.example.test": (0, [("mxta.example.test", True, "verified", 0)]),
    "nostarttls.example.test": (6, [("mxplain.example.test", False, "cleartext", 6)]),
    "nullmx.example.test": (1, []),
    "implicit.example.test": (0, [("implicit.example.test", True, "verified", 0)]),
    "insecure.unsigned.test": (1, [("mxa.example.test", False, "trusted", 1)]),
    "bogus.expired.test": (3, []),
}


class CheckSTARTTLSTests(MailWorld):
    async def check(self, *argv: str, progress: Progress | None = None) -> tuple[int, str]:
        out = io.StringIO()
        options = parse("check", *argv)
        status = await execute(reactor, self.world.resolver, options, out, progress)
        return status, out.getvalue()

    async def checkJSON(self, *argv: str) -> tuple[int, dict[str, Any]]:
        status, output = await self.check(*argv, "--json")
        return status, json.loads(output)

    async def test_smtpVerified(self) -> None:
        status, output = await self.check("--starttls", "smtp", "mxa.example.test", str(self.port))
        self.assertEqual(status, ExitStatus.OK, output)
        lines = output.splitlines()
        self.assertEqual(lines[0], f"mxa.example.test:{self.port}  verified by DANE")
        self.assertIn("  protection verified (STARTTLS smtp)", lines)
        self.assertIn("DANE-EE SPKI SHA2-256  matched at depth 0", output)
        self.assertIn("SNI mxa.example.test, to 127.0.0.2", output)
        # EHLO, STARTTLS: nothing else was said in cleartext.
        self.assertEqual(
            [line.split()[0] for line in self.servers["mxa"].cleartext], [b"EHLO", b"STARTTLS"]
        )
        status, data = await self.checkJSON(
            "--starttls", "smtp", "mxa.example.test", str(self.port)
        )
        self.assertLessEqual(STARTTLS_KEYS, set(data))
        self.assertEqual((data["starttls"], data["protection"]), ("smtp", "verified"))
        self.assertEqual(data["hosts"][0]["protection"], "verified")

    async def test_smtpRefused(self) -> None:
        status, output = await self.check(
            "--starttls", "smtp", "mxbad.example.test", "--port", str(self.port)
        )
        self.assertEqual(status, ExitStatus.NOT_VERIFIED, output)
        self.assertIn("refused: no TLSA record matched", output.splitlines()[0])
        self.assertIn("  protection none (STARTTLS smtp)", output)
        self.assertIn("  chain      0  CN=mxbad.example.test", output)

    async def test_noSTARTTLS(self) -> None:
        """
        TLSA records published, no STARTTLS offered: refused, nothing but EHLO sent.
        """
        status, output = await self.check(
            "--starttls", "smtp", "mxplain.example.test", str(self.port)
        )
        self.assertEqual(status, ExitStatus.NOT_VERIFIED, output)
        self.assertIn("refused: no TLS, but its TLSA records require it", output.splitlines()[0])
        self.assertIn("STARTTLS (smtp): the server does not offer STARTTLS", output)
        sent = [line.split()[0] for line in self.servers["mxplain"].cleartext]
        self.assertEqual(sent, [b"EHLO"])

    async def test_mxEveryCase(self) -> None:
        table = {}
        for domain in MX_CASES:
            status, data = await self.checkJSON("--mx", domain, "--port", str(self.port))
            hosts = [
                (h["host"], h["verified"], h["protection"], h["exit_status"]) for h in data["hosts"]
            ]
            for host in data["hosts"]:
                self.assertLessEqual(STARTTLS_KEYS, set(host), domain)
            self.assertEqual(data["verified"], bool(hosts) and all(h[1] for h in hosts))
            table[domain] = (status, hosts)
        self.assertEqual(table, MX_CASES)

    async def test_mxReport(self) -> None:
        status, output = await self.check("--mx", "fallback.example.test", "--port", str(self.port))
        self.assertEqual(status, ExitStatus.NOT_VERIFIED)
        lines = output.splitlines()
        self.assertEqual(
            lines[:4],
            [
                "MX of fallback.example.test  not verified: 1 of 2 MX hosts verified by DANE",
                "  MX         fallback.example.test.  secure",
                "             10 mxbad.example.test.",
                "             20 mxa.example.test.",
            ],
        )
        self.assertIn(f"mxbad.example.test:{self.port}  refused: no TLSA record matched", output)
        self.assertIn(f"mxa.example.test:{self.port}  verified by DANE", lines)
        status, data = await self.checkJSON("--mx", "nullmx.example.test", "--port", str(self.port))
        self.assertEqual(
            (data["null_mx"], data["hosts"], data["verified"], data["mx"]),
            (True, [], False, [{"preference": 0, "host": "."}]),
        )

    async def test_mxMaxHosts(self) -> None:
        """
        C{--max-hosts}: the hosts beyond it are listed as skipped, not dialled.
        """
        status, output = await self.check(
            "--mx", "fallback.example.test", "--port", str(self.port), "--max-hosts", "1"
        )
        self.assertEqual(status, ExitStatus.NOT_VERIFIED)
        self.assertIn(
            f"  skipped    mxa.example.test:{self.port} (beyond --max-hosts)", output.splitlines()
        )
        self.assertNotIn(f"mxa.example.test:{self.port}  verified by DANE", output)
        _, data = await self.checkJSON(
            "--mx", "fallback.example.test", "--port", str(self.port), "--max-hosts", "1"
        )
        self.assertEqual(data["skipped"], [f"mxa.example.test:{self.port}"])
        self.assertEqual(len(data["hosts"]), 1)

    async def test_mxProgress(self) -> None:
        """
        On a terminal, which host is being checked; the line is gone before the report.
        """

        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        stream = Terminal()
        await self.check(
            "--mx", "fallback.example.test", "--port", str(self.port), progress=Progress(stream)
        )
        shown = stream.getvalue()
        self.assertIn("[1/2] checking mxbad.example.test", shown)
        self.assertIn("[2/2] checking mxa.example.test", shown)
        self.assertTrue(shown.endswith("\r"))
        piped = io.StringIO()
        await self.check(
            "--mx", "verified.example.test", "--port", str(self.port), progress=Progress(piped)
        )
        self.assertEqual(piped.getvalue(), "")


class ClosedPortTests(MailWorld):
    """
    A closed port, as a new user meets it: one line of verdict, exit status 4, nothing on
    standard error, no traceback.
    """

    async def txdane(self, *arguments: str) -> tuple[int, str, str]:
        out, err, status = await getProcessOutputAndValue(
            sys.executable,
            [
                "-m",
                "txdane",
                "check",
                "--resolver",
                f"127.0.0.1#{self.world.dnsServer.port}",
                "--trust-anchor",
                self.anchorFile,
                *arguments,
            ],
            env=dict(os.environ),
        )
        return status, out.decode(), err.decode()

    async def test_closedPort(self) -> None:
        closed = freeTCPPort("127.0.0.2")
        status, out, err = await self.txdane("--starttls", "smtp", "mxa.example.test", str(closed))
        self.assertEqual((status, err), (ExitStatus.FAILURE, ""))
        self.assertEqual(out.splitlines()[0], f"mxa.example.test:{closed}  connection failed", out)
        self.assertIn("connection refused (nothing listens there)", out)
        status, out, err = await self.txdane("--mx", "verified.example.test", "--port", str(closed))
        self.assertEqual((status, err), (ExitStatus.FAILURE, ""))
        self.assertIn(f"mxa.example.test:{closed}  connection failed", out)
        self.assertNotIn("Traceback", out)

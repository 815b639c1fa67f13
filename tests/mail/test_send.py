"""
C{txdane send}, run as a program against the loopback mail world.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from twisted.internet.utils import getProcessOutputAndValue

from txdane.cli import ExitStatus, main

from .test_delivery import MailWorld


class SendCommandTests(MailWorld):
    def commandLine(self, *arguments: str) -> list[str]:
        """
        The arguments of C{python -m txdane send --json} against the mail world.
        """
        return [
            "-m",
            "txdane",
            "send",
            "--json",
            "--resolver",
            f"127.0.0.1#{self.world.dnsServer.port}",
            "--trust-anchor",
            self.anchorFile,
            "--port",
            str(self.port),
            *arguments,
        ]

    async def txdaneSend(self, *arguments: str) -> tuple[int, dict[str, Any], str]:
        # A message file: the child's standard input is a pipe nobody closes.
        message = self.temporaryPath()
        Path(message).write_bytes(b"Subject: hi\r\n\r\nhello\r\n")
        out, err, status = await getProcessOutputAndValue(
            sys.executable, self.commandLine(*arguments, message), env=dict(os.environ)
        )
        return status, json.loads(out) if out.strip() else {}, err.decode()

    async def txdaneSendStdin(self, stdin: str, *arguments: str) -> tuple[int, dict[str, Any], str]:
        """
        C{txdane send} with no message file, its standard input the file C{stdin}.
        """
        out, err, status = await getProcessOutputAndValue(
            "/bin/sh",
            [
                "-c",
                f'exec "$0" "$@" < {shlex.quote(stdin)}',
                sys.executable,
                *self.commandLine(*arguments),
            ],
            env=dict(os.environ),
        )
        return status, json.loads(out) if out.strip() else {}, err.decode()

    async def test_delivered(self) -> None:
        status, report, _ = await self.txdaneSend(
            "--from", "a@example.org", "--to", "b@verified.example.test"
        )
        self.assertEqual(status, ExitStatus.OK)
        self.assertEqual(
            (report["delivered"], report["mx"], report["address"], report["protection"]),
            (True, "mxa.example.test", "127.0.0.2", "verified"),
        )
        self.assertTrue(report["reply"].startswith("250"))
        self.assertIsNone(report["reason"])
        self.assertIn(b"Subject: hi", self.servers["mxa"].messages[0])

    async def test_messageFromStandardInput(self) -> None:
        """
        Without a message file, the message on standard input is delivered as it is.
        """
        message = self.temporaryPath()
        Path(message).write_bytes(b"Subject: piped\r\n\r\nhello\r\n")
        status, report, err = await self.txdaneSendStdin(
            message, "--from", "a@example.org", "--to", "b@verified.example.test"
        )
        self.assertEqual((status, report["delivered"]), (ExitStatus.OK, True), err)
        self.assertIn(b"Subject: piped", self.servers["mxa"].messages[0])

    async def test_emptyStandardInput(self) -> None:
        """
        An empty standard input (as from cron) is a usage error and nothing is sent;
        C{--test-message} sends the generated message with its C{--subject} instead.
        """
        arguments = ("--from", "a@example.org", "--to", "b@verified.example.test")
        status, report, err = await self.txdaneSendStdin(os.devnull, *arguments)
        self.assertEqual((status, report), (ExitStatus.USAGE, {}))
        self.assertEqual(
            err,
            "txdane: no message was read from standard input: pipe one in, give "
            "MESSAGE_FILE, or add --test-message to send the generated test message\n",
        )
        self.assertEqual(self.servers["mxa"].messages, [])
        status, report, err = await self.txdaneSendStdin(
            os.devnull, "--test-message", "--subject", "from cron", *arguments
        )
        self.assertEqual((status, report["delivered"]), (ExitStatus.OK, True), err)
        self.assertIn(b"Subject: from cron", self.servers["mxa"].messages[0])

    async def test_badAddressNotTried(self) -> None:
        """
        A malformed recipient is a usage error before any lookup, not a bounce.
        """
        status, report, err = await self.txdaneSend(
            "--from", "a@example.org", "--to", "B <b@verified.example.test>"
        )
        self.assertEqual((status, report), (ExitStatus.USAGE, {}))
        self.assertEqual(
            err,
            "txdane: --to 'B <b@verified.example.test>': give the address alone, without a "
            "name or angle brackets: b@verified.example.test\n",
        )
        self.assertEqual(self.servers["mxa"].messages, [])

    async def test_temporaryAndPermanent(self) -> None:
        status, report, _ = await self.txdaneSend(
            "--from", "a@example.org", "--to", "b@mismatch.example.test"
        )
        self.assertEqual(status, ExitStatus.FAILURE)
        self.assertFalse(report["delivered"])
        self.assertEqual(report["tries"][0]["mx"], "mxbad.example.test")
        self.assertIn("no TLSA record matched", report["tries"][0]["reason"])
        status, report, _ = await self.txdaneSend(
            "--from", "a@example.org", "--to", "b@nullmx.example.test"
        )
        self.assertEqual((status, report["permanent"]), (ExitStatus.BOGUS, True))
        self.assertIn("null MX", report["reason"])

    async def test_forgedRepliesNotDelivered(self) -> None:
        """
        A server that answers STARTTLS with forged replies to the whole transaction and
        drops the handshake: not delivered, exit status 4, the reason names the handshake.
        """
        self.servers["mxa"].forge = True
        status, report, _ = await self.txdaneSend(
            "--from", "a@example.org", "--to", "b@verified.example.test"
        )
        self.assertEqual(status, ExitStatus.FAILURE)
        self.assertEqual((report["delivered"], report["permanent"]), (False, False))
        self.assertIn("the TLS handshake failed", report["tries"][0]["reason"])
        self.assertNotIn("FORGED", json.dumps(report))
        self.assertEqual(self.servers["mxa"].messages, [])

    async def test_tlsReportStore(self) -> None:
        """
        C{--tlsrpt DIR}: each session's TLS outcome is recorded for C{txdane tlsrpt}: the
        refused host as a validation failure under its TLSA policy, the one that took the
        message as a success; the JSON names the policy that protected the delivery.
        """
        from txdane.tlsrpt import ReportStore, ResultType

        store = self.temporaryPath()
        status, report, _ = await self.txdaneSend(
            "--tlsrpt", store, "--from", "a@example.org", "--to", "b@fallback.example.test"
        )
        self.assertEqual((status, report["policy"]), (ExitStatus.OK, "dane"))
        results = sorted(ReportStore(store).results(), key=lambda r: r.mxHost or "")
        self.assertEqual(
            [(r.policyDomain, r.mxHost, r.policyType, r.result) for r in results],
            [
                ("fallback.example.test", "mxa.example.test", "tlsa", None),
                (
                    "fallback.example.test",
                    "mxbad.example.test",
                    "tlsa",
                    ResultType.VALIDATION_FAILURE,
                ),
            ],
        )
        self.assertEqual(results[1].receivingIP, "127.0.0.3")
        self.assertTrue(results[1].policyStrings[0].startswith("3 1 1 "))

    async def test_maxHosts(self) -> None:
        """
        C{--max-hosts 1}: the second MX is not tried, and the report says so.
        """
        status, report, _ = await self.txdaneSend(
            "--max-hosts", "1", "--from", "a@example.org", "--to", "b@fallback.example.test"
        )
        self.assertEqual(status, ExitStatus.FAILURE)
        self.assertEqual(report["skipped"], [f"mxa.example.test:{self.port}"])
        self.assertEqual([t["mx"] for t in report["tries"]], ["mxbad.example.test"])
        status, report, _ = await self.txdaneSend(
            "--from", "a@example.org", "--to", "b@fallback.example.test"
        )
        self.assertEqual((status, report["skipped"]), (ExitStatus.OK, []))


def test_maxHostsUsage(capsys: Any) -> None:
    status = main(["send", "--from", "a@x.test", "--to", "b@y.test", "--max-hosts", "0"])
    assert status == ExitStatus.USAGE
    assert "--max-hosts 0: not in 1-1000" in capsys.readouterr().err


def test_testMessage() -> None:
    from txdane.cli.send import testMessage

    message = testMessage("a@x.test", ["b@y.test"], "hello")
    assert b"Subject: hello" in message and b"To: b@y.test" in message


def test_oneDomainOnly(capsys: Any) -> None:
    status = main(["send", "--from", "a@x.test", "--to", "b@y.test", "--to", "c@z.test"])
    assert status == ExitStatus.USAGE
    assert "several domains" in capsys.readouterr().err

"""
The mail guide's examples (docs/examples/mail_*.py) run against the loopback mail world.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from twisted.internet.utils import getProcessOutputAndValue

from .test_delivery import MESSAGE, MailWorld

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


class MailExampleTests(MailWorld):
    async def runExample(self, name: str, *arguments: str) -> tuple[bytes, bytes, int]:
        message = self.temporaryPath()
        Path(message).write_bytes(MESSAGE)
        # The message on standard input, as the examples read it.
        return await getProcessOutputAndValue(
            "/bin/sh",
            ["-c", f'exec "$0" "$@" < {message}', sys.executable, str(EXAMPLES / name), *arguments],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )

    async def test_sendMail(self) -> None:
        out, err, code = await self.runExample(
            "mail_send.py",
            "alice@example.org",
            "bob@fallback.example.test",
            "--port",
            str(self.port),
            "--resolver",
            self.world.resolverAddress,
            "--trust-anchor",
            self.anchorFile,
        )
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith(b"mxa.example.test [127.0.0.2] verified: 250"), out)
        out, err, code = await self.runExample(
            "mail_send.py",
            "alice@example.org",
            "bob@nullmx.example.test",
            "--port",
            str(self.port),
            "--resolver",
            self.world.resolverAddress,
            "--trust-anchor",
            self.anchorFile,
        )
        self.assertEqual(code, 3, err)
        self.assertIn(b"null MX", err)

    async def test_factory(self) -> None:
        description = (
            f"dane:mx=fallback.example.test:port={self.port}"
            f":resolver={self.world.resolverAddress}:trustAnchor={self.anchorFile}"
        )
        out, err, code = await self.runExample(
            "mail_factory.py", description, "alice@example.org", "bob@fallback.example.test"
        )
        self.assertEqual((code, out.strip()), (0, b"mxa.example.test [127.0.0.2] verified"), err)
        self.assertEqual(len(self.servers["mxa"].messages), 1)

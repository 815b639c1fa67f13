"""
C{txdane check --ssh} against OpenSSH's sshd on loopback: the host key the server proves,
judged by the SSHFP records of every case of the SSH world (no login is tried).
"""

from __future__ import annotations

import io
import json

import pytest
from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus, check

from ..cli.world import parse
from .world import CASES, makeSSHWorld, reactor

pytestmark = pytest.mark.interop

#: The exit status of C{check --ssh} for each case of the SSH world (no known_hosts file).
EXPECTED = {
    "all.example.test.": ExitStatus.OK,
    "ed25519.example.test.": ExitStatus.OK,
    "sha1.example.test.": ExitStatus.OK,
    "wrong.example.test.": ExitStatus.NOT_VERIFIED,
    "wrong256.example.test.": ExitStatus.NOT_VERIFIED,
    "absent.example.test.": ExitStatus.INSECURE,
    "absentknown.example.test.": ExitStatus.INSECURE,
    "host.unsigned.test.": ExitStatus.INSECURE,
    "known.unsigned.test.": ExitStatus.INSECURE,
    "nosig.example.test.": ExitStatus.BOGUS,
    "host.expired.test.": ExitStatus.BOGUS,
    "rotation.example.test.": ExitStatus.OK,
    "stalesha1.example.test.": ExitStatus.OK,
    "ecdsa.example.test.": ExitStatus.OK,
    "wrongknown.example.test.": ExitStatus.NOT_VERIFIED,
    "nosigknown.example.test.": ExitStatus.BOGUS,
}


class CheckSSHTests(TestCase):
    async def test_everyCase(self) -> None:
        world = await makeSSHWorld(self)
        wrong = []
        for case in CASES:
            argv = ["--ssh", case.name.rstrip("."), str(world.sshd.port), "--json"]
            out = io.StringIO()
            status = await check.execute(reactor, world.resolver, parse("check", *argv), out)
            data = json.loads(out.getvalue())
            if status != EXPECTED[case.name] or data["verified"] != (status == 0):
                wrong.append((case.name, status, data["reason"]))
            # Where txdane's endpoint accepts the key by SSHFP alone, check says verified.
            if case.txdane == "accepted" and not case.knownHosts:
                assert data["verified"], case.name
        self.assertEqual(wrong, [])

    async def test_report(self) -> None:
        world = await makeSSHWorld(self)
        argv = ["--ssh", "wrong.example.test", str(world.sshd.port)]
        out = io.StringIO()
        status = await check.execute(reactor, world.resolver, parse("check", *argv), out)
        self.assertEqual(status, ExitStatus.NOT_VERIFIED)
        lines = out.getvalue().splitlines()
        self.assertEqual(
            lines[0],
            f"wrong.example.test:{world.sshd.port}  refused: no SSHFP record matched the "
            "server's host key",
        )
        self.assertIn("  SSHFP      wrong.example.test.  secure", lines)
        self.assertTrue(any(line.startswith("  host key   ") for line in lines), lines)
        self.assertIn("IN SSHFP", out.getvalue())

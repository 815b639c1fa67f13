"""
C{txdane check --ssh} against OpenSSH's sshd on loopback: the host key the server proves, and
its key of every other type the secure records cover, judged by the SSHFP records of every
case of the SSH world (no login is tried).
"""

from __future__ import annotations

import io
import json

import pytest
from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus, check

from ..cli.world import parse
from .sshd import startSSHServer
from .world import CASES, SSHWorld, makeSSHWorld, reactor

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
    "staletype.example.test.": ExitStatus.NOT_VERIFIED,
    "wrongknown.example.test.": ExitStatus.NOT_VERIFIED,
    "nosigknown.example.test.": ExitStatus.BOGUS,
}


#: Cases the endpoint accepts and the check refuses: the check judges the server's key of
#: every type the secure records cover, the endpoint only the one it asks for.
STRICTER = {"staletype.example.test."}


async def runCheck(world: SSHWorld, name: str, *argv: str, port: int = 0) -> tuple[int, str]:
    """
    Run C{txdane check --ssh NAME PORT ARGV...} (the world's sshd unless C{port}).
    """
    out = io.StringIO()
    options = parse("check", "--ssh", name, str(port or world.sshd.port), *argv)
    status = await check.execute(reactor, world.resolver, options, out)
    return status, out.getvalue()


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
            # Where txdane's endpoint accepts the key by SSHFP alone, check says verified
            # (unless another covered key type's records are stale).
            if case.txdane == "accepted" and not case.knownHosts and case.name not in STRICTER:
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
            "server's ECDSA, RSA and Ed25519 keys",
        )
        self.assertIn("  SSHFP      wrong.example.test.  secure", lines)
        self.assertTrue(any(line.startswith("  host key   ") for line in lines), lines)
        self.assertIn("IN SSHFP", out.getvalue())

    async def test_staleRecordOfAnotherType(self) -> None:
        """
        A stale Ed25519 record beside matching ECDSA records: the endpoint gets the ECDSA
        key (Conch asks for it first) and accepts it, but a client that asks for Ed25519
        first (OpenSSH) refuses the server: the check fetches the Ed25519 key too and refuses,
        naming the stale type, and says which types it checked.
        """
        world = await makeSSHWorld(self)
        status, output = await runCheck(world, "staletype.example.test")
        self.assertEqual(status, ExitStatus.NOT_VERIFIED, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[:2],
            [
                f"staletype.example.test:{world.sshd.port}  refused: no SSHFP record matched "
                "the server's Ed25519 key",
                "  checked every key type the secure SSHFP records cover: ECDSA matched, "
                "Ed25519 no match; a client that asks for the Ed25519 key refuses the server",
            ],
        )
        ecdsa = world.keys.server.key("ecdsa")
        ed25519 = world.keys.server.key("ed25519")
        self.assertIn(f"  host key   ecdsa-sha2-nistp256 {_fingerprint(ecdsa)}  matched", lines)
        self.assertIn(f"             ssh-ed25519 {_fingerprint(ed25519)}  no match", lines)
        fix = world.keys.records("ed25519", 2)[0]
        self.assertIn(f"             staletype.example.test. IN SSHFP {fix}", lines)
        status, output = await runCheck(world, "staletype.example.test", "--json")
        data = json.loads(output)
        self.assertEqual(
            [(k["algorithm"], k["outcome"]) for k in data["host_keys"]],
            [("ECDSA", "matched"), ("Ed25519", "no match")],
        )
        self.assertFalse(data["verified"])

    async def test_everyTypeChecked(self) -> None:
        """
        Records of every key type, all matching: verified, each type checked on a
        connection of its own, as the report says; C{-v} adds the chain of trust of the
        SSHFP records (also for a bogus answer, which refuses before connecting).
        """
        world = await makeSSHWorld(self)
        status, output = await runCheck(world, "all.example.test", "-v")
        self.assertEqual(status, ExitStatus.OK, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[1],
            "  checked every key type the secure SSHFP records cover: ECDSA matched, "
            "RSA matched, Ed25519 matched",
        )
        self.assertIn("  chain of trust", lines)
        self.assertTrue(
            any("answer" in line and "RRSIG SSHFP by example.test." in line for line in lines),
            output,
        )
        self.assertEqual(world.sshd.log().count("Connection from"), 3)
        status, output = await runCheck(world, "nosig.example.test", "-v")
        self.assertEqual(status, ExitStatus.BOGUS, output)
        self.assertIn("  chain of trust", output.splitlines())

    async def test_noKeyOfACoveredType(self) -> None:
        """
        Against a server with ECDSA and RSA keys only: where the records cover those and
        Ed25519, the missing type is listed and refuses nothing (verified); where they cover
        Ed25519 alone, the endpoint's key exchange fails, and the check says the server has
        no key of the types its records cover (a refusal, not a failed connection).
        """
        world = await makeSSHWorld(self)
        server = world.keys.server.private
        sshd = startSSHServer(
            self, world.directory, [server["ecdsa"], server["rsa"]], world.keys.client
        )
        status, output = await runCheck(world, "all.example.test", port=sshd.port)
        self.assertEqual(status, ExitStatus.OK, output)
        self.assertEqual(
            output.splitlines()[1],
            "  checked every key type the secure SSHFP records cover: ECDSA matched, "
            "RSA matched, Ed25519: the server has none",
        )
        status, output = await runCheck(world, "ed25519.example.test", port=sshd.port)
        self.assertEqual(status, ExitStatus.NOT_VERIFIED, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[0],
            f"ed25519.example.test:{sshd.port}  refused: the server has no host key of the "
            "types its SSHFP records cover",
        )
        self.assertTrue(lines[1].startswith("  the secure SSHFP records cover Ed25519; the "))
        self.assertIn("Ed25519 SHA-256  not compared (the server has no Ed25519 key)", output)
        status, output = await runCheck(world, "ed25519.example.test", "--json", port=sshd.port)
        data = json.loads(output)
        self.assertEqual((data["verified"], data["status"]), (False, "secure"))
        self.assertEqual(
            data["host_keys"],
            [{"algorithm": "Ed25519", "type": None, "sha256": None, "outcome": "absent"}],
        )


def _fingerprint(key: object) -> str:
    from twisted.conch.ssh.keys import Key

    from txdane.ssh import sha256Fingerprint

    assert isinstance(key, Key)
    return sha256Fingerprint(key.blob())

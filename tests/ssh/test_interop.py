"""
txdane's SSH endpoint against a real OpenSSH server on loopback, its host keys published (or
not) in the signed test hierarchy.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

import pytest
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from txdane.errors import TxdaneError
from txdane.ssh import (
    SSHFPAlgorithm,
    SSHFPLookupError,
    SSHFPMismatchError,
    SSHFPNoCoveredKeyError,
    SSHFPUnverifiedError,
    sha256Fingerprint,
    sshCommandEndpoint,
)

from .sshd import startSSHServer
from .world import (
    ACCEPTED,
    CASES,
    V4,
    V6,
    NoUI,
    SSHWorld,
    conchKnownHosts,
    makeSSHWorld,
    outputFactory,
    reactor,
    runCommand,
    txdaneVerdict,
)

pytestmark = pytest.mark.interop

ROOT = Path(__file__).resolve().parents[2]
CASE = {case.name: case for case in CASES}


class ConchInteropTests(TestCase):
    """
    A Conch client runs C{echo hello} through L{sshCommandEndpoint} when, and only when, the
    SSHFP rules say so.
    """

    timeout = 60

    async def world(self) -> SSHWorld:
        return await makeSSHWorld(self)

    def runExample(self, world: SSHWorld, name: str, port: int | None = None) -> Any:
        """
        Run docs/examples/ssh_command.py (C{echo hello} with C{--require}) on C{name}, served
        by the world's sshd or the one on C{port}; fire with its output, errors and status.
        """
        anchor = world.directory / "anchor"
        anchor.write_text(world.hierarchy.trustAnchorText())
        return getProcessOutputAndValue(
            sys.executable,
            [
                str(ROOT / "docs" / "examples" / "ssh_command.py"),
                name,
                "echo hello",
                "--port",
                str(port or world.sshd.port),
                "--user",
                "root",
                "--identity",
                str(world.keys.client.path),
                "--resolver",
                f"127.0.0.1#{world.dnsServer.port}",
                "--trust-anchor",
                str(anchor),
                "--require",
            ],
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )

    async def test_everyCase(self) -> None:
        """
        Each case of the table gets txdane's verdict, for the documented reason.
        """
        world = await self.world()
        seen = []
        for case in CASES:
            verdict, error = await txdaneVerdict(world, case)
            seen.append((case.name, verdict, type(error).__name__ if error else ""))
            self.assertEqual(verdict, case.txdane, (case.name, repr(error)))
        reasons = dict((name, error) for name, _, error in seen)
        self.assertEqual(reasons["wrong.example.test."], "SSHFPMismatchError")
        self.assertEqual(reasons["wrong256.example.test."], "SSHFPMismatchError")
        self.assertEqual(reasons["wrongknown.example.test."], "SSHFPMismatchError")
        self.assertIn(reasons["host.expired.test."], ("SSHFPLookupError", "AddressValidationError"))
        self.assertEqual(reasons["nosig.example.test."], "SSHFPLookupError")
        self.assertEqual(reasons["nosigknown.example.test."], "SSHFPLookupError")
        self.assertEqual(reasons["absent.example.test."], "UserRejectedKey")
        self.assertEqual(reasons["host.unsigned.test."], "UserRejectedKey")

    async def test_ed25519OnlyWithRequire(self) -> None:
        """
        Only Ed25519 fingerprints published, the server has ECDSA and RSA keys too: the client
        asks for Ed25519 first, so the key is verified by DNS (with C{require}, nothing else
        could accept it).
        """
        world = await self.world()
        output = await runCommand(world, "ed25519.example.test", require=True)
        self.assertEqual(output, b"hello\n")
        log = world.sshd.waitForLog("Accepted publickey for root")
        self.assertIn("Accepted publickey for root", log)

    async def test_noFallbackToAnUncoveredAlgorithm(self) -> None:
        """
        Only Ed25519 fingerprints published, and a server (or an attacker on the path) with no
        Ed25519 key but an ECDSA key that known_hosts would accept: the client offers only
        Ed25519, so the key exchange fails and known_hosts is never asked. (OpenSSH would
        offer ECDSA too and accept it from known_hosts.)
        """
        world = await self.world()
        server = world.keys.server.private
        sshd = startSSHServer(
            self, world.directory, [server["ecdsa"], server["rsa"]], world.keys.client
        )
        endpoint = sshCommandEndpoint(
            reactor,
            world.resolver,
            "ed25519.example.test",
            b"echo hello",
            b"root",
            sshd.port,
            keys=[world.keys.client.key],
            knownHosts=conchKnownHosts(world, "ed25519.example.test.", True),
            ui=cast(Any, NoUI()),
        )
        with self.assertRaises(SSHFPNoCoveredKeyError) as raised:
            await endpoint.connect(outputFactory())
        error = raised.exception
        self.assertEqual(error.covered, (SSHFPAlgorithm.ED25519,))
        self.assertIn("ecdsa-sha2-nistp256", error.serverKeyTypes)
        self.assertNotIn("ssh-ed25519", error.serverKeyTypes)
        # sshd lists its keys in an order of its own.
        self.assertIn(
            str(error),
            [
                "ed25519.example.test: host key refused: the server has no host key of the "
                f"types its secure SSHFP records cover (Ed25519; it offers {offers}), so the "
                "key exchange failed"
                for offers in ("ECDSA, RSA", "RSA, ECDSA")
            ],
        )
        log = sshd.waitForLog("no matching host key type")
        self.assertIn("no matching host key type", log)
        for attempt in ("publickey", "Accepted", "userauth"):
            self.assertNotIn(attempt, log)
        # The documented example, which catches TxdaneError, says so in one line.
        out, err, code = await self.runExample(world, "ed25519.example.test", sshd.port)
        self.assertEqual(code, 1, (out, err))
        self.assertEqual(err.decode().splitlines(), [f"refused: {error}"])

    async def test_mismatchRefusedBeforeAuthentication(self) -> None:
        """
        A mismatch is refused in the key exchange: sshd sees the connection closed before
        any authentication attempt.
        """
        world = await self.world()
        with self.assertRaises(SSHFPMismatchError) as raised:
            await runCommand(world, "wrong.example.test")
        error = raised.exception
        self.assertEqual(error.host, "wrong.example.test")
        # Conch offers ECDSA first; the records cover every algorithm.
        self.assertEqual(
            error.fingerprint, sha256Fingerprint(world.keys.server.key("ecdsa").blob())
        )
        self.assertIn("update the SSHFP records in DNS", str(error))
        log = world.sshd.waitForLog("[preauth]")
        self.assertIn("[preauth]", log)
        for attempt in ("publickey", "Accepted", "Failed", "Invalid user", "userauth"):
            self.assertNotIn(attempt, log)

    async def test_insecureRequireRefusedBeforeConnecting(self) -> None:
        world = await self.world()
        with self.assertRaises(SSHFPUnverifiedError) as raised:
            await runCommand(world, "known.unsigned.test", require=True)
        self.assertIn("insecure", str(raised.exception))
        self.assertNotIn("Connection from", world.sshd.log())

    async def test_insecureKnownHostsFallback(self) -> None:
        world = await self.world()
        knownHosts = conchKnownHosts(world, "known.unsigned.test.", True)
        output = await runCommand(world, "known.unsigned.test", knownHosts=knownHosts)
        self.assertEqual(output, b"hello\n")

    async def test_insecureAddressesNeedPermission(self) -> None:
        world = await self.world()
        with self.assertRaises(TxdaneError):
            await runCommand(world, "known.unsigned.test", allowInsecureAddresses=False)
        self.assertNotIn("Connection from", world.sshd.log())

    async def test_bogusRefusedBeforeConnecting(self) -> None:
        world = await self.world()
        knownHosts = conchKnownHosts(world, "nosigknown.example.test.", True)
        with self.assertRaises(SSHFPLookupError) as raised:
            await runCommand(world, "nosigknown.example.test", knownHosts=knownHosts)
        self.assertEqual(str(raised.exception.status), "bogus")
        with self.assertRaises(TxdaneError):
            await runCommand(world, "host.expired.test")
        self.assertNotIn("Connection from", world.sshd.log())

    async def test_ipv6(self) -> None:
        world = await self.world()
        self.assertEqual(await runCommand(world, V6, require=True), b"hello\n")
        log = world.sshd.waitForLog("Accepted publickey for root from ::1")
        self.assertIn("Accepted publickey for root from ::1", log)

    async def test_ipv4(self) -> None:
        world = await self.world()
        self.assertEqual(await runCommand(world, V4, require=True), b"hello\n")
        log = world.sshd.waitForLog("Accepted publickey for root from 127.0.0.1")
        self.assertIn("Accepted publickey for root from 127.0.0.1", log)

    async def test_docsExample(self) -> None:
        """
        docs/examples/ssh_command.py runs a command on a verified host, and refuses a
        mismatching one.
        """
        world = await self.world()
        out, err, code = await self.runExample(world, "all.example.test")
        self.assertEqual((code, out), (0, b"hello\n"), err)
        out, err, code = await self.runExample(world, "wrong.example.test")
        self.assertEqual(code, 1, (out, err))
        self.assertIn(b"wrong.example.test: host key refused: no SSHFP record matched", err)
        self.assertEqual(CASE["all.example.test."].txdane, ACCEPTED)

"""
OpenSSH agrees: for each case of L{tests.ssh.world.CASES}, txdane's verdict equals that of

    ssh -o VerifyHostKeyDNS=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=FILE
        -o BatchMode=yes root@NAME true

against the same sshd and the same records, ssh's C library resolver asking a validating
Unbound and trusting its AD bit; except for the cases where txdane differs on purpose
(docs/ssh.md, "Where txdane and OpenSSH differ"), where both verdicts are checked as documented.

    case                        txdane    ssh
    all.example.test.           accepted  accepted   every key, SHA-1 and SHA-256
    ed25519.example.test.       accepted  accepted   Ed25519 only (server: ECDSA, RSA too)
    sha1.example.test.          accepted  accepted   SHA-1 records only
    wrong.example.test.         refused   refused    every record for other keys
    wrong256.example.test.      refused   refused    SHA-1 matches, SHA-256 another key's
    absent.example.test.        refused   refused    no SSHFP, key not in known_hosts
    absentknown.example.test.   accepted  accepted   no SSHFP, key in known_hosts
    host.unsigned.test.         refused   refused    insecure, key not in known_hosts
    known.unsigned.test.        accepted  accepted   insecure, key in known_hosts
    nosig.example.test.         refused   refused    bogus SSHFP
    host.expired.test.          refused   refused    bogus zone
    -- deliberate differences --
    rotation.example.test.      accepted  refused    old and new Ed25519 key (bz#3322)
    stalesha1.example.test.     accepted  refused    SHA-256 matches, stale SHA-1
    ecdsa.example.test.         accepted  refused    ECDSA only; ssh negotiates Ed25519
    staletype.example.test.     accepted  refused    stale Ed25519, matching ECDSA records
    wrongknown.example.test.    refused   accepted   mismatch, key in known_hosts
    nosigknown.example.test.    refused   accepted   bogus SSHFP, key in known_hosts
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.peers.resolver import ValidatingStub, requireNamespace
from tests.support import requireProgram

from .world import ACCEPTED, CASES, REFUSED, SSHCase, SSHWorld, knownHostsText, makeSSHWorld
from .world import txdaneVerdict as txdaneVerdictOf

ROOT = Path(__file__).resolve().parents[2]


def test_tablesAgree() -> None:
    """
    The module's table, the docs' table and L{CASES} say the same.
    """
    expected = [(c.name, c.txdane, c.openssh) for c in CASES]
    here = re.findall(
        r"^    (\S+\.)\s+(accepted|refused)\s+(accepted|refused)", __doc__ or "", re.M
    )
    assert here == expected
    page = (ROOT / "docs" / "ssh.md").read_text()
    rows = re.findall(r"^\| `(\S+\.)` \| (accepted|refused) \| (accepted|refused) \|", page, re.M)
    assert rows == expected


@pytest.mark.interop
class OpenSSHAgreesTests(TestCase):
    timeout = 120

    async def sshVerdict(self, world: SSHWorld, stub: ValidatingStub, case: SSHCase) -> str:
        ssh = requireProgram("ssh")
        knownHosts = world.directory / f"ssh_known_hosts-{case.name}"
        knownHosts.write_text(
            knownHostsText(world.keys, case.name, world.sshd.port) if case.knownHosts else ""
        )
        args = [
            "-F",
            "/dev/null",
            "-p",
            str(world.sshd.port),
            "-i",
            str(world.keys.client.path),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "VerifyHostKeyDNS=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={knownHosts if case.knownHosts else '/dev/null'}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            f"root@{case.name.rstrip('.')}",
            "true",
        ]
        done = await deferToThread(stub.run, [ssh, *args], 60)
        self.errors[case.name] = done.stderr
        return ACCEPTED if done.returncode == 0 else REFUSED

    async def test_openSSHAgrees(self) -> None:
        requireProgram("sshd")
        world = await makeSSHWorld(self)
        requireNamespace()
        stub = ValidatingStub(world.hierarchy, world.dnsServer.port)
        self.addCleanup(stub.stop)
        await deferToThread(stub.start)
        self.errors: dict[str, str] = {}
        rows = []
        for case in CASES:
            ours, _ = await txdaneVerdictOf(world, case)
            theirs = await self.sshVerdict(world, stub, case)
            rows.append((case.name, ours, theirs))
        self.assertEqual(rows, [(c.name, c.txdane, c.openssh) for c in CASES], self.errors)
        for name, ours, theirs in rows:
            if CASES[[c.name for c in CASES].index(name)].agrees:
                self.assertEqual(ours, theirs, name)
        # ssh refused the mismatch for the reason it gives.
        self.assertIn("Host key verification failed", self.errors["wrong.example.test."])
        self.assertIn("Update the SSHFP RR in DNS", self.errors["wrong.example.test."])

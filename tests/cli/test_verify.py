"""
Tests for C{txdane verify}: a certificate file against TLSA records given offline or found in
DNS; which record matched at which depth, why the others did not; JSON and exit statuses.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding
from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus, UsageError
from txdane.dane.tlsa import recordForCertificate

from .world import issue, makeCLIWorld, parse

#: The keys of C{verify --json} and C{check --json}.
VERDICT_KEYS = {"verified", "matched", "status", "reason", "warnings", "hosts", "exit_status"}


def files(*contents: tuple[str, bytes]) -> list[Path]:
    directory = Path(tempfile.mkdtemp(prefix="txdane-verify-"))
    paths = []
    for name, data in contents:
        path = directory / name
        path.write_bytes(data)
        paths.append(path)
    return paths


class VerifyOfflineTests(TestCase):
    def setUp(self) -> None:
        self.ca = issue("Example CA", ca=True)
        self.leaf = issue("www.example.test", self.ca)
        self.ee = str(recordForCertificate(self.leaf.cert))
        self.ta = str(recordForCertificate(self.ca.cert, 2, 0, 1))
        [self.chain, self.der] = files(
            ("chain.pem", self.leaf.certPEM() + self.ca.certPEM()),
            ("leaf.der", self.leaf.cert.public_bytes(Encoding.DER)),
        )
        self.world = None

    async def verify(self, *argv: str) -> tuple[int, str]:
        from .world import CLIWorld

        world = CLIWorld(None, None, None)  # type: ignore[arg-type]
        return await world.run("verify", *argv)

    async def test_matchedAtDepth(self) -> None:
        status, output = await self.verify(
            "www.example.test", "--cert", str(self.chain), "--tlsa", self.ta
        )
        self.assertEqual(status, ExitStatus.OK)
        self.assertIn("verified by", output.splitlines()[0])
        self.assertIn("at depth 1", output.splitlines()[0])
        self.assertIn("DANE-TA Cert SHA2-256  matched at depth 1", output)
        self.assertIn("1  CN=Example CA  self-signed", output)

    async def test_derAndMnemonics(self) -> None:
        record = "DANE-EE SPKI SHA2-256 " + self.ee.split()[-1]
        status, _ = await self.verify("h.example", "--cert", str(self.der), "--tlsa", record)
        self.assertEqual(status, ExitStatus.OK)

    async def test_eachRecordWhyNot(self) -> None:
        wrong = "3 1 1 " + "00" * 32
        status, output = await self.verify(
            "www.example.test",
            "--cert",
            str(self.chain),
            "--tlsa",
            wrong,
            "--tlsa",
            "2 0 1 " + "11" * 32,
        )
        self.assertEqual(status, ExitStatus.NOT_VERIFIED)
        self.assertTrue(output.startswith("www.example.test:443  not verified: no TLSA record"))
        self.assertIn("no match (the server's key hashes to", output)
        self.assertIn(f"txdane generate --cert {self.chain} www.example.test 443", output)

    async def test_tlsaFile(self) -> None:
        [records] = files(
            (
                "records",
                f"; comment\n_443._tcp.www.example.test. 300 IN TLSA {self.ee}\n\n".encode(),
            )
        )
        status, data = await CLIWorldJSON.run(
            "www.example.test", "--cert", str(self.chain), "--tlsa-file", str(records)
        )
        self.assertEqual(status, ExitStatus.OK)
        self.assertLessEqual(VERDICT_KEYS, set(data))
        self.assertEqual(
            data["matched"], {"record": self.ee, "mnemonic": "DANE-EE SPKI SHA2-256", "depth": 0}
        )
        self.assertEqual(data["status"], "given")
        self.assertEqual(len(data["hosts"]), 1)
        self.assertEqual([c["depth"] for c in data["chain"]], [0, 1])

    async def test_allUnusable(self) -> None:
        status, output = await self.verify(
            "h.example", "--cert", str(self.chain), "--tlsa", "3 1 9 abcd"
        )
        self.assertEqual(status, ExitStatus.INSECURE)
        self.assertIn("no DANE: every TLSA record", output)

    async def test_mistakes(self) -> None:
        """
        Unreadable or wrong files and malformed records: one line each, exit status 2.
        """
        [notCert, badRecords] = files(("x.pem", b"hello"), ("r", b"3 1 1 zz\n"))
        cases = [
            (
                ["h.example", "--cert", "/nonexistent.pem", "--tlsa", self.ee],
                "--cert /nonexistent.pem: no such file or directory",
            ),
            (
                ["h.example", "--cert", str(notCert), "--tlsa", self.ee],
                "not a certificate in PEM or DER form",
            ),
            (
                ["h.example", "--cert", str(self.chain), "--tlsa", "3 1 1 xyz"],
                "TLSA data is not hexadecimal",
            ),
            (["h.example", "--cert", str(self.chain), "--tlsa", "9 1"], "needs usage, selector"),
            (
                ["h.example", "--cert", str(self.chain), "--tlsa", "FOO SPKI SHA2-256 ab"],
                "unknown TLSA usage 'FOO'",
            ),
            (
                ["h.example", "--cert", str(self.chain), "--tlsa-file", str(badRecords)],
                f"{badRecords}, line 1",
            ),
            (
                ["192.0.2.1", "--cert", str(self.chain), "--tlsa", self.ee],
                "is an address, not a host name",
            ),
        ]
        for argv, message in cases:
            with self.assertRaises(UsageError) as caught:
                await self.verify(*argv)
            self.assertIn(message, str(caught.exception))
            self.assertNotIn("\n", str(caught.exception))


class CLIWorldJSON:
    @staticmethod
    async def run(*argv: str) -> tuple[int, dict]:
        from .world import CLIWorld

        return await CLIWorld(None, None, None).json("verify", *argv)  # type: ignore[arg-type]


class VerifyDNSTests(TestCase):
    async def test_fromDNS(self) -> None:
        leaf = issue("www.example.test")
        other = issue("www.example.test")
        record = recordForCertificate(leaf.cert)
        world = await makeCLIWorld(self, {"example.test.": [f"_25._tcp.www 300 IN TLSA {record}"]})
        [good, bad] = files(("good.pem", leaf.certPEM()), ("bad.pem", other.certPEM()))
        status, data = await world.json("verify", "www.example.test", "25", "--cert", str(good))
        self.assertEqual((status, data["verified"], data["status"]), (0, True, "secure"))
        status, data = await world.json("verify", "www.example.test", "25", "--cert", str(bad))
        self.assertEqual((status, data["verified"]), (ExitStatus.NOT_VERIFIED, False))
        self.assertEqual(data["records"][0]["outcome"], "no match")
        status, _ = await world.run("verify", "www.badds.test", "--cert", str(good))
        self.assertEqual(status, ExitStatus.BOGUS)
        status, _ = await world.run("verify", "www.unsigned.test", "--cert", str(good))
        self.assertEqual(status, ExitStatus.INSECURE)

    def test_parse(self) -> None:
        options = parse("verify", "h.example", "25", "--cert", "c.pem", "--smtp")
        self.assertEqual((options.port, options.smtp), (25, True))

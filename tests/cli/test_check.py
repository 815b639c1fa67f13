"""
Tests for C{txdane check} over TLS: the endpoint's own connection to loopback TLS servers,
with the signed hierarchy; the report, the JSON, every exit status, and progress.
"""

from __future__ import annotations

import io

from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus
from txdane.cli._target import Progress
from txdane.dane.tlsa import recordForCertificate

from .test_verify import VERDICT_KEYS
from .world import issue, makeCLIWorld, startServer

HOST_KEYS = VERDICT_KEYS - {"hosts"} | {
    "host",
    "port",
    "tlsa_name",
    "base_domain",
    "records",
    "chain",
    "addresses",
    "address_status",
    "tls",
}


class CheckTLSTests(TestCase):
    async def test_verified(self) -> None:
        leaf = issue("www.example.test")
        server = startServer(self, leaf)
        world = await makeCLIWorld(
            self, {"example.test.": [f"_{server.port}._tcp.www 300 IN TLSA {server.record()}"]}
        )
        status, output = await world.run("check", "www.example.test", str(server.port))
        self.assertEqual(status, ExitStatus.OK)
        lines = output.splitlines()
        self.assertEqual(lines[0], f"www.example.test:{server.port}  verified by DANE")
        self.assertIn("  addresses  ::1, 127.0.0.1  secure", lines)
        self.assertIn(f"  TLSA       _{server.port}._tcp.www.example.test.  secure", lines)
        self.assertIn("DANE-EE SPKI SHA2-256  matched at depth 0", output)
        self.assertIn("  chain      0  CN=www.example.test  self-signed, expires", output)
        self.assertIn("SNI www.example.test", output)
        status, data = await world.json("check", "www.example.test", str(server.port))
        self.assertLessEqual(VERDICT_KEYS, set(data))
        self.assertEqual(len(data["hosts"]), 1)
        self.assertLessEqual(HOST_KEYS, set(data["hosts"][0]))
        self.assertEqual(data["matched"]["depth"], 0)
        self.assertEqual(
            (data["verified"], data["status"], data["exit_status"]), (True, "secure", 0)
        )

    async def test_refused(self) -> None:
        server = startServer(self, issue("www.example.test"))
        wrong = recordForCertificate(issue("www.example.test").cert)
        world = await makeCLIWorld(
            self, {"example.test.": [f"_{server.port}._tcp.www 300 IN TLSA {wrong}"]}
        )
        status, output = await world.run("check", "www.example.test", str(server.port))
        self.assertEqual(status, ExitStatus.NOT_VERIFIED)
        self.assertIn("refused: no TLSA record matched", output.splitlines()[0])
        self.assertIn("no match (the server's key hashes to", output)
        # The chain is shown from the refusal's result.
        self.assertIn("  chain      0  CN=www.example.test", output)
        self.assertIn(f"txdane generate --cert server.pem www.example.test {server.port}", output)
        status, data = await world.json("check", "www.example.test", str(server.port))
        self.assertEqual((data["verified"], data["matched"]), (False, None))
        self.assertEqual(data["records"][0]["outcome"], "no match")

    async def test_noDANE(self) -> None:
        """
        An unsigned zone: DANE does not apply (exit status 1), whatever PKIX says.
        """
        server = startServer(self, issue("www.unsigned.test"))
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "www.unsigned.test", str(server.port))
        self.assertEqual(status, ExitStatus.INSECURE)
        self.assertIn("no DANE", output.splitlines()[0])
        self.assertIn("insecure", output)

    async def test_bogusAndUnknownHost(self) -> None:
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "www.badds.test")
        self.assertEqual(status, ExitStatus.BOGUS)
        self.assertIn("bogus", output)
        # A host that provably does not exist: the check completed, DANE does not apply.
        status, output = await world.run("check", "nx.example.test")
        self.assertEqual(status, ExitStatus.INSECURE)
        self.assertIn("no such host (proven by DNSSEC)", output.splitlines()[0])
        self.assertIn("no address records (secure NXDOMAIN)", output)

    async def test_closedPort(self) -> None:
        server = startServer(self, issue("www.example.test"))
        port = server.port
        for listening in server.ports:
            await listening.stopListening()  # type: ignore[misc]
        world = await makeCLIWorld(
            self, {"example.test.": [f"_{port}._tcp.www 300 IN TLSA {server.record()}"]}
        )
        status, output = await world.run("check", "www.example.test", str(port))
        self.assertEqual(status, ExitStatus.FAILURE)
        self.assertIn("connection failed", output.splitlines()[0])
        self.assertIn("connection refused (nothing listens there)", output)


class ProgressTests(TestCase):
    def test_quietWhenPiped(self) -> None:
        stream = io.StringIO()
        progress = Progress(stream)
        progress.show("checking mx1.example.test:25 ...")
        progress.clear()
        self.assertEqual(stream.getvalue(), "")

    def test_terminal(self) -> None:
        class Terminal(io.StringIO):
            def isatty(self) -> bool:
                return True

        stream = Terminal()
        progress = Progress(stream)
        progress.show("[1/2] mx1")
        progress.show("[2/2] mx22")
        progress.clear()
        self.assertEqual(stream.getvalue(), "\r[1/2] mx1\r[2/2] mx22\r          \r")

"""
Each advice warning, with a zone built to trigger it and one that must not.
"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import TestCase

from txdane.dane.tlsa import recordForCertificate, recordForKey

from .world import issue, makeCLIWorld, startServer


def codes(data: dict[str, Any]) -> set[str]:
    return {w["code"] for w in data["warnings"]}


class SignatureAdviceTests(TestCase):
    async def test_expiresSoon(self) -> None:
        world = await makeCLIWorld(self, {}, validity=3 * 86400)
        _, data = await world.json("tlsa", "www.example.test")
        soon = [w for w in data["warnings"] if w["code"] == "signature-expires-soon"]
        subjects = {w["subject"].split()[1] for w in soon}
        self.assertIn("TLSA", subjects)  # the records' own signature
        self.assertIn("DNSKEY", subjects)  # and the zone keys above them
        self.assertIn("expires in 2 days", soon[0]["message"])
        self.assertIn("re-sign zone", soon[0]["fix"])
        _, output = await world.run("tlsa", "www.example.test")
        self.assertIn("  warning  the signature over the records expires in 2 days", output)

    async def test_notSoon(self) -> None:
        world = await makeCLIWorld(self, {})
        _, data = await world.json("tlsa", "www.example.test")
        self.assertNotIn("signature-expires-soon", codes(data))
        self.assertNotIn("ttl-outlives-signature", codes(data))

    async def test_ttlOutlivesSignature(self) -> None:
        record = "3 1 1 " + "ab" * 32
        world = await makeCLIWorld(
            self, {"example.test.": [f"_25._tcp.www 3456000 IN TLSA {record}"]}
        )
        _, data = await world.json("tlsa", "www.example.test", "25")
        [warning] = [w for w in data["warnings"] if w["code"] == "ttl-outlives-signature"]
        self.assertIn("3456000", warning["message"])
        self.assertIn("_25._tcp.www.example.test.", warning["subject"])


class SingleRecordAdviceTests(TestCase):
    async def test_tlsaSingleRecord(self) -> None:
        """
        C{tlsa} warns about a single DANE-EE record, and not about current + next.
        """
        current, following = "3 1 1 " + "ab" * 32, "3 1 1 " + "cd" * 32
        world = await makeCLIWorld(self, {"example.test.": [f"_25._tcp.www 300 IN TLSA {current}"]})
        _, data = await world.json("tlsa", "www.example.test", "25")
        [warning] = [w for w in data["warnings"] if w["code"] == "single-record"]
        self.assertIn("3 1 1", warning["subject"])
        self.assertIn("no record for a next key", warning["message"])
        _, output = await world.run("tlsa", "www.example.test", "25")
        self.assertIn("warning  the service has a single TLSA record", output)
        world = await makeCLIWorld(
            self,
            {
                "example.test.": [
                    f"_25._tcp.www 300 IN TLSA {current}",
                    f"_25._tcp.www 300 IN TLSA {following}",
                ]
            },
        )
        _, data = await world.json("tlsa", "www.example.test", "25")
        self.assertNotIn("single-record", codes(data))


class RecordAdviceTests(TestCase):
    async def check(self, records: list[str], leaf: Any, *chain: Any) -> dict[str, Any]:
        server = startServer(self, leaf, *chain)
        lines = [f"_{server.port}._tcp.www 300 IN TLSA {r}" for r in records]
        world = await makeCLIWorld(self, {"example.test.": lines})
        _, data = await world.json("check", "www.example.test", str(server.port))
        return data

    async def test_pinsCertificate(self) -> None:
        leaf = issue("www.example.test")
        data = await self.check([str(recordForCertificate(leaf.cert, 3, 0, 1))], leaf)
        self.assertTrue(data["verified"])
        self.assertIn("pins-certificate", codes(data))
        data = await self.check([str(recordForCertificate(leaf.cert, 3, 1, 1))], leaf)
        self.assertNotIn("pins-certificate", codes(data))

    async def test_noRolloverRecord(self) -> None:
        leaf = issue("www.example.test")
        current = str(recordForCertificate(leaf.cert))
        data = await self.check([current], leaf)
        self.assertIn("no-rollover-record", codes(data))
        nextKey = str(recordForKey(issue("next").key.public_key()))
        data = await self.check([current, nextKey], leaf)
        self.assertTrue(data["verified"])
        self.assertNotIn("no-rollover-record", codes(data))

    async def test_singleRecordSaysSo(self) -> None:
        leaf = issue("www.example.test")
        data = await self.check([str(recordForCertificate(leaf.cert))], leaf)
        [warning] = [w for w in data["warnings"] if w["code"] == "no-rollover-record"]
        self.assertIn("single TLSA record", warning["message"])
        self.assertIn("txdane publish", warning["fix"])
        self.assertNotIn("single-record", codes(data))

    async def test_taNotSent(self) -> None:
        ca = issue("Example CA", ca=True)
        leaf = issue("www.example.test", ca)
        record = str(recordForCertificate(ca.cert, 2, 0, 1))
        data = await self.check([record], leaf)
        self.assertFalse(data["verified"])
        [warning] = [w for w in data["warnings"] if w["code"] == "ta-not-sent"]
        self.assertIn("2 0 1", warning["subject"])
        self.assertIn("full chain", warning["fix"])
        data = await self.check([record], leaf, ca)
        self.assertTrue(data["verified"])
        self.assertNotIn("ta-not-sent", codes(data))
        self.assertNotIn("no-rollover-record", codes(data))

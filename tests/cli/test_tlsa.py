"""
Tests for C{txdane tlsa}: the records of a service with their names, status, base domain and
usability, against the signed hierarchy on loopback; the JSON and every exit status.
"""

from __future__ import annotations

import io

import dns.message
import dns.rcode
from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus, lookup
from txdane.resolvconf import NameServer
from txdane.testing import TLSA_RDATA
from txdane.transport import DNSServerError

from ..endpoints.world import FailingQuerier
from .world import makeCLIWorld, parse

UNUSABLE = "3 1 9 abcd"


def servfail() -> DNSServerError:
    response = dns.message.make_response(dns.message.make_query("x.", "TLSA"))
    response.set_rcode(dns.rcode.SERVFAIL)
    return DNSServerError(response, NameServer("127.0.0.1"))


#: The keys C{tlsa --json} shares with C{lookup --json}, and its own.
LOOKUP_KEYS = {"name", "type", "status", "reason", "ede", "ede_text", "records"}
TLSA_KEYS = {"host", "port", "proto", "base_domain", "dane", "warnings"}


class TLSATests(TestCase):
    async def test_secureWithUnusable(self) -> None:
        world = await makeCLIWorld(
            self, {"example.test.": [f"_25._tcp.www 300 IN TLSA {UNUSABLE}"]}
        )
        status, output = await world.run("tlsa", "www.example.test", "25")
        self.assertEqual(status, ExitStatus.INSECURE)
        lines = output.splitlines()
        self.assertEqual(lines[0], "_25._tcp.www.example.test. TLSA  secure")
        self.assertIn("none of the 1 records is usable: DANE does not apply", lines[1])
        self.assertIn("3 1 9 abcd  DANE-EE SPKI 9  unusable: unknown matching type 9", output)

    async def test_secureUsable(self) -> None:
        world = await makeCLIWorld(self, {})
        status, output = await world.run("tlsa", "www.example.test")
        self.assertEqual(status, ExitStatus.OK)
        self.assertIn("DANE applies: 1 of 1 record(s) usable", output)
        self.assertIn("  base domain  www.example.test\n", output)
        self.assertIn("DANE-EE SPKI SHA2-256  usable", output)

    async def test_cnameBaseDomain(self) -> None:
        """
        A secure CNAME makes its target the TLSA base domain (RFC 7671 section 7).
        """
        world = await makeCLIWorld(self, {})
        status, data = await world.json("tlsa", "alias.example.test")
        self.assertEqual(status, ExitStatus.OK)
        self.assertEqual(data["base_domain"], "www.example.test.")
        self.assertEqual(data["name"], "_443._tcp.www.example.test.")
        status, output = await world.run("tlsa", "alias.example.test")
        self.assertIn("the secure CNAME target of alias.example.test", output)

    async def test_json(self) -> None:
        world = await makeCLIWorld(
            self,
            {
                "example.test.": [
                    f"_25._tcp.www 300 IN TLSA {UNUSABLE}",
                    f"_25._tcp.www 300 IN TLSA {TLSA_RDATA}",
                ]
            },
        )
        status, data = await world.json("tlsa", "www.example.test", "25")
        self.assertEqual(status, ExitStatus.OK)
        self.assertLessEqual(LOOKUP_KEYS | TLSA_KEYS, set(data))
        self.assertEqual(data["status"], "secure")
        self.assertTrue(data["dane"])
        byRecord = {r["record"]: r for r in data["records"]}
        self.assertEqual(
            byRecord[TLSA_RDATA],
            {
                "record": TLSA_RDATA,
                "usage": 3,
                "selector": 1,
                "matching_type": 1,
                "data": TLSA_RDATA.split()[-1],
                "mnemonic": "DANE-EE SPKI SHA2-256",
                "usable": True,
                "unusable_reason": None,
            },
        )
        self.assertFalse(byRecord[UNUSABLE]["usable"])
        self.assertEqual(byRecord[UNUSABLE]["unusable_reason"], "unknown matching type 9")

    async def test_bogus(self) -> None:
        world = await makeCLIWorld(self, {})
        status, output = await world.run("tlsa", "www.badds.test")
        self.assertEqual(status, ExitStatus.BOGUS)
        self.assertIn("TLSA  bogus (EDE 9, DNSKEY missing)", output.splitlines()[0])
        self.assertIn("a client must not connect", output)

    async def test_insecureAndAbsent(self) -> None:
        world = await makeCLIWorld(self, {})
        status, output = await world.run("tlsa", "www.unsigned.test")
        self.assertEqual(status, ExitStatus.INSECURE)
        self.assertIn("not signed (insecure): DANE does not apply", output)
        status, data = await world.json("tlsa", "www.example.test", "8443")
        self.assertEqual(status, ExitStatus.INSECURE)
        self.assertEqual((data["status"], data["records"], data["dane"]), ("secure", [], False))

    async def test_failed(self) -> None:
        world = await makeCLIWorld(
            self, {}, querier=lambda client: FailingQuerier(client, "TLSA", servfail())
        )
        status, output = await world.run("tlsa", "www.example.test")
        self.assertEqual(status, ExitStatus.FAILURE)
        self.assertIn("TLSA  failed", output.splitlines()[0])
        status, data = await world.json("tlsa", "www.example.test")
        self.assertEqual(status, ExitStatus.FAILURE)
        self.assertEqual(data["status"], "failed")


class MalformedTLSATests(TestCase):
    """
    A TLSA record whose digest has the wrong length is shown as unusable; the lookup and the
    other records stand.
    """

    RECORDS = {
        "example.test.": [
            r"_443._tcp.www 300 IN TLSA \# 34 030101" + "ab" * 31,
        ]
    }

    async def test_tlsa(self) -> None:
        world = await makeCLIWorld(self, self.RECORDS)
        status, output = await world.run("tlsa", "www.example.test")
        self.assertEqual(status, ExitStatus.OK)
        self.assertIn("DANE applies: 1 of 2 record(s) usable", output)
        self.assertIn("unusable: SHA2-256 data is 31 bytes, not 32", output)

    async def test_lookup(self) -> None:
        world = await makeCLIWorld(self, self.RECORDS)
        out = io.StringIO()
        options = parse("lookup", "_443._tcp.www.example.test", "TLSA")
        status = await lookup.execute(world.resolver, options, out, io.StringIO())
        output = out.getvalue()
        self.assertEqual(status, ExitStatus.OK)
        self.assertIn("secure", output.splitlines()[0])
        self.assertIn("3 1 1 " + "ab" * 31, output)
        self.assertIn("unusable: SHA2-256 data is 31 bytes, not 32", output)

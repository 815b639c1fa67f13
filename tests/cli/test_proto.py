"""
C{tlsa} and C{verify} with C{--proto} another label than C{tcp}: the records of
C{_PORT._udp.HOST} are looked up and matched as a connection would plan them (addresses,
CNAME base domain), though the C{dane:} endpoint connects over TCP only; never a traceback.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus
from txdane.dane.tlsa import recordForCertificate

from .test_verify import files
from .world import issue, makeCLIWorld


class OtherProtocolTests(TestCase):
    async def test_tlsaUDP(self) -> None:
        """
        C{tlsa --proto udp} shows the records of C{_PORT._udp.HOST}, not those of
        C{_PORT._tcp.HOST}.
        """
        leaf = issue("www.example.test")
        record = recordForCertificate(leaf.cert)
        world = await makeCLIWorld(self, {"example.test.": [f"_853._udp.www 300 IN TLSA {record}"]})
        status, output = await world.run("tlsa", "--proto", "udp", "www.example.test", "853")
        self.assertEqual(status, ExitStatus.OK)
        self.assertEqual(output.splitlines()[0], "_853._udp.www.example.test. TLSA  secure")
        self.assertIn("DANE applies: 1 of 1 record(s) usable", output)
        status, data = await world.json("tlsa", "--proto", "udp", "www.example.test", "853")
        self.assertEqual((status, data["proto"], data["dane"]), (ExitStatus.OK, "udp", True))
        self.assertEqual(data["name"], "_853._udp.www.example.test.")
        status, data = await world.json("tlsa", "www.example.test", "853")
        self.assertEqual((data["name"], data["records"]), ("_853._tcp.www.example.test.", []))

    async def test_tlsaUDPAlias(self) -> None:
        """
        The CNAME base domain applies to another label as to C{tcp} (RFC 7671 section 7).
        """
        record = recordForCertificate(issue("www.example.test").cert)
        world = await makeCLIWorld(self, {"example.test.": [f"_443._udp.www 300 IN TLSA {record}"]})
        status, data = await world.json("tlsa", "--proto", "udp", "alias.example.test")
        self.assertEqual(status, ExitStatus.OK)
        self.assertEqual(data["base_domain"], "www.example.test.")
        self.assertEqual(data["name"], "_443._udp.www.example.test.")

    async def test_verifyUDP(self) -> None:
        """
        C{verify --proto udp} matches the certificate against the records of
        C{_PORT._udp.HOST}, and its reasons name that owner.
        """
        leaf = issue("www.example.test")
        other = issue("www.example.test")
        record = recordForCertificate(leaf.cert)
        world = await makeCLIWorld(
            self, {"example.test.": [f"_5061._udp.www 300 IN TLSA {record}"]}
        )
        [good, bad] = files(("good.pem", leaf.certPEM()), ("bad.pem", other.certPEM()))
        argv = ("--proto", "udp", "www.example.test", "5061")
        status, data = await world.json("verify", *argv, "--cert", str(good))
        self.assertEqual((status, data["verified"]), (ExitStatus.OK, True))
        self.assertEqual(data["tlsa_name"], "_5061._udp.www.example.test.")
        status, _ = await world.run("verify", *argv, "--cert", str(bad))
        self.assertEqual(status, ExitStatus.NOT_VERIFIED)
        status, output = await world.run(
            "verify", "--proto", "udp", "www.example.test", "5062", "--cert", str(good)
        )
        self.assertEqual(status, ExitStatus.INSECURE)
        self.assertIn("no DANE: _5062._udp.www.example.test has no TLSA records", output)
        self.assertNotIn("_tcp", output)

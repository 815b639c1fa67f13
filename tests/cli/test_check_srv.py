"""
C{txdane check --srv SERVICE DOMAIN}: against a real Prosody (both XMPP services, XEP-0368),
each target's verdict compared with that of OpenSSL's DANE code (C{openssl s_client
[-starttls xmpp -xmpphost DOMAIN] -dane_tlsa_domain TARGET -dane_tlsa_rrdata ...}); and the
SRV lookups that stop the check before any connection.
"""

from __future__ import annotations

import io
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.support import requireProgram
from txdane.cli import ExitStatus
from txdane.cli.check import execute

from ..dane.certs import issue
from ..endpoints.world import World, makeWorld, reactor
from ..peers.common import Credentials
from ..peers.prosody import Prosody
from .test_check_starttls import STARTTLS_KEYS
from .world import parse

DOMAIN = "chat.example.test"
TARGET = "xmpp.example.test"


async def check(world: World, *argv: str) -> tuple[int, dict[str, Any], str]:
    out = io.StringIO()
    status = await execute(reactor, world.resolver, parse("check", *argv, "--json"), out)
    text = io.StringIO()
    await execute(reactor, world.resolver, parse("check", *argv), text)
    return status, json.loads(out.getvalue()), text.getvalue()


def opensslVerdict(port: int, starttls: bool, record: str) -> bool:
    command = [requireProgram("openssl"), "s_client"]
    if starttls:
        command += ["-starttls", "xmpp", "-xmpphost", DOMAIN]
    command += [
        "-connect",
        f"127.0.0.1:{port}",
        "-servername",
        DOMAIN,
        "-dane_tlsa_domain",
        TARGET,
        "-dane_ee_no_namechecks",
        "-dane_tlsa_rrdata",
        record,
        "-verify_return_error",
        "-no-CApath",
        "-no-CAstore",
    ]
    done = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30
    )
    return "Verify return code: 0 (ok)" in done.stdout and done.returncode == 0


@pytest.mark.interop
class CheckSRVProsodyTests(TestCase):
    async def test_verdictsAgree(self) -> None:
        requireProgram("openssl")
        directory = Path(tempfile.mkdtemp(prefix="txdane-credentials-"))
        ca = issue("Test XMPP CA", ca=True)
        credentials = Credentials.write(directory, issue(DOMAIN, ca), (ca.cert,))
        prosody = Prosody(credentials, domain=DOMAIN)
        self.addCleanup(prosody.cleanUp)
        prosody.start()
        good = credentials.tlsa()
        bad = Credentials.write(directory / "other", issue(DOMAIN)).tlsa()
        table = {}
        for case, record in (("match", good), ("mismatch", bad)):
            world = await makeWorld(
                {
                    "example.test.": [
                        f"_xmpps-client._tcp.chat 300 IN SRV 0 0 {prosody.directTLSPort} xmpp",
                        f"_xmpp-client._tcp.chat 300 IN SRV 10 0 {prosody.starttlsPort} xmpp",
                        "xmpp 300 IN A 127.0.0.1",
                        f"_{prosody.starttlsPort}._tcp.xmpp 300 IN TLSA {record}",
                        f"_{prosody.directTLSPort}._tcp.xmpp 300 IN TLSA {record}",
                    ]
                }
            )
            self.addCleanup(world.dnsServer.stop)
            status, data, text = await check(world, "--srv", "xmpp-client", DOMAIN)
            self.assertEqual(len(data["hosts"]), 2, text)
            self.assertEqual(
                [(h["port"], h["starttls"]) for h in data["hosts"]],
                [(prosody.directTLSPort, None), (prosody.starttlsPort, "xmpp-client")],
            )
            for host in data["hosts"]:
                self.assertLessEqual(STARTTLS_KEYS, set(host))
                theirs = await deferToThread(
                    opensslVerdict, host["port"], host["starttls"] is not None, record
                )
                how = "STARTTLS" if host["starttls"] else "direct TLS"
                table[(case, how)] = (host["verified"], theirs)
                print(f"--srv xmpp-client {case:9} {how:10} txdane={host['verified']} ", end="")
                print(f"openssl={theirs}")
            self.assertEqual(data["verified"], case == "match")
            self.assertEqual(status, ExitStatus.OK if case == "match" else ExitStatus.NOT_VERIFIED)
            if case == "match":
                self.assertEqual(
                    text.splitlines()[0],
                    f"xmpp-client of {DOMAIN}  verified: every target (2) verified by DANE",
                )
                self.assertIn("protection verified (direct TLS, from _xmpps-client._tcp)", text)
                self.assertIn(
                    "protection verified (STARTTLS xmpp-client, from _xmpp-client._tcp)", text
                )
        expected = {
            (case, how): (case == "match",) * 2
            for case in ("match", "mismatch")
            for how in ("direct TLS", "STARTTLS")
        }
        self.assertEqual(table, expected)


class CheckSRVLookupTests(TestCase):
    async def test_lookupStopsTheCheck(self) -> None:
        """
        A bogus SRV lookup (exit status 3) and a service the domain does not offer (target
        "."; exit status 1): no target is checked.
        """
        world = await makeWorld(
            {
                "example.test.": ["_imap._tcp.none 300 IN SRV 0 0 0 ."],
                "expired.test.": ["_imap._tcp.bogus 300 IN SRV 0 0 143 mail.example.test."],
            }
        )
        self.addCleanup(world.dnsServer.stop)
        status, data, text = await check(world, "--srv", "imap", "bogus.expired.test")
        self.assertEqual((status, data["hosts"], data["status"]), (ExitStatus.BOGUS, [], "bogus"))
        self.assertIn("not checked: the SRV lookup cannot be used", text.splitlines()[0])
        status, data, text = await check(world, "--srv", "imap", "none.example.test")
        self.assertEqual((status, data["hosts"]), (ExitStatus.INSECURE, []))
        self.assertEqual(text.splitlines()[0], "imap of none.example.test  service not offered")
        self.assertEqual(data["srv"][0]["target"], ".")

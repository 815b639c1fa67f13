"""
C{txdane check --starttls xmpp-client} against a real Prosody, its verdicts compared with
those of OpenSSL's DANE code (C{openssl s_client -starttls xmpp -xmpphost DOMAIN
-dane_tlsa_domain DOMAIN -dane_tlsa_rrdata ... -verify_return_error}) for a TLSA record that
matches the server's key and one that does not.
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
from txdane.cli.check import execute
from txdane.dane.tlsa import recordForCertificate

from ..dane.certs import issue
from ..endpoints.world import makeWorld, reactor
from ..peers.common import Credentials
from ..peers.prosody import Prosody
from .world import parse

pytestmark = pytest.mark.interop

DOMAIN = "chat.example.test"


def opensslVerdict(port: int, record: str) -> bool:
    command = [
        requireProgram("openssl"),
        "s_client",
        "-starttls",
        "xmpp",
        "-xmpphost",
        DOMAIN,
        "-connect",
        f"127.0.0.1:{port}",
        "-servername",
        DOMAIN,
        "-dane_tlsa_domain",
        DOMAIN,
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


class CheckAgreesWithProsodyTests(TestCase):
    async def test_verdictsAgree(self) -> None:
        requireProgram("openssl")
        directory = Path(tempfile.mkdtemp(prefix="txdane-credentials-"))
        credentials = Credentials.selfSigned(directory, DOMAIN)
        prosody = Prosody(credentials, domain=DOMAIN)
        self.addCleanup(prosody.cleanUp)
        prosody.start()
        port = prosody.starttlsPort
        records = {
            "3 1 1 match": (credentials.tlsa(), True),
            "3 1 1 mismatch": (str(recordForCertificate(issue(DOMAIN).cert)), False),
        }
        table = {}
        for case, (record, expected) in records.items():
            world = await makeWorld(
                {
                    "example.test.": [
                        "chat 300 IN A 127.0.0.1",
                        f"_{port}._tcp.chat 300 IN TLSA {record}",
                    ]
                }
            )
            self.addCleanup(world.dnsServer.stop)
            out = io.StringIO()
            options = parse("check", "--starttls", "xmpp-client", DOMAIN, str(port), "--json")
            status = await execute(reactor, world.resolver, options, out)
            data: dict[str, Any] = json.loads(out.getvalue())
            self.assertEqual(status, 0 if data["verified"] else 6, data["reason"])
            theirs = await deferToThread(opensslVerdict, port, record)
            table[case] = (data["verified"], theirs)
            print(f"--starttls xmpp-client {case:15} txdane={data['verified']} openssl={theirs}")
            if expected:
                self.assertEqual(data["protection"], "verified")
        self.assertEqual(table, {case: (e, e) for case, (_, e) in records.items()})

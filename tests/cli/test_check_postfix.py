"""
C{txdane check --starttls smtp} and C{txdane check --mx} against real Postfix servers, their
verdicts compared with those of OpenSSL's DANE code (C{openssl s_client -starttls smtp
-dane_tlsa_domain ... -dane_tlsa_rrdata ... -verify_return_error}) for single hosts, and of
Postfix's own C{posttls-finger -l dane} for MX domains.

One private Postfix per MX host of L{tests.mail.mxworld} (plus C{mxta2}, a DANE-TA host
whose certificate names the host itself), each on its own loopback address and one shared
port; C{posttls-finger} resolves through a validating Unbound that knows the hierarchy.
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
from ..mail.mxworld import ADDRESSES, MailCertificates, mailRecords
from ..mail.test_postfix import _portFreeOnAll, _PostfixAt, fingerVerdict
from ..peers.common import Credentials, requireRoot
from ..peers.postfix import PostTLSFingerReport, postTLSFingerCommand
from ..peers.resolver import ValidatingStub, requireNamespace
from .world import parse

pytestmark = pytest.mark.interop

#: The extra DANE-TA host: its certificate, issued by the mail CA, names mxta2.example.test.
TA2_ADDRESS = "127.0.0.6"

#: --starttls smtp HOST: (txdane's verdict, OpenSSL's verdict), both must be this.
STARTTLS_EXPECTED = {
    "mxa.example.test": "verified",  # DANE-EE matches
    "mxbad.example.test": "refused",  # DANE-EE differs
    "mxta.example.test": "refused",  # DANE-TA, but the certificate names another host
    "mxta2.example.test": "verified",  # DANE-TA
    "mxplain.example.test": "refused",  # TLSA published, no STARTTLS
}

#: --mx DOMAIN: per MX host, the verdict txdane and posttls-finger must both give.
MX_EXPECTED = {
    "verified.example.test": {"mxa.example.test": "verified"},
    "mismatch.example.test": {"mxbad.example.test": "refused"},
    "fallback.example.test": {"mxbad.example.test": "refused", "mxa.example.test": "verified"},
    "tata.example.test": {"mxta.example.test": "verified"},
    "nostarttls.example.test": {"mxplain.example.test": "no-starttls"},
    "nullmx.example.test": {"-": "bounced"},
    "implicit.example.test": {"implicit.example.test": "verified"},
    "insecure.unsigned.test": {"mxa.example.test": "trusted"},
    "bogus.expired.test": {"-": "deferred"},
}


def hostVerdict(host: dict[str, Any]) -> str:
    """
    One host of C{check --json} in the words of the verdict tables.
    """
    if host["protection"] == "cleartext":
        return "no-starttls"
    if host["verified"]:
        return "verified"
    if host["protection"] in ("trusted", "encrypted"):
        return str(host["protection"])
    if host["exit_status"] == 6:
        return "refused"
    return f"failed ({host['reason']})"


def domainVerdicts(data: dict[str, Any]) -> dict[str, str]:
    if data["null_mx"]:
        return {"-": "bounced"}
    if not data["hosts"]:
        return {"-": "deferred" if data["exit_status"] in (3, 4, 5) else data["reason"]}
    return {host["host"]: hostVerdict(host) for host in data["hosts"]}


def opensslVerdict(address: str, port: int, host: str, records: list[str]) -> str:
    command = [
        requireProgram("openssl"),
        "s_client",
        "-starttls",
        "smtp",
        "-connect",
        f"{address}:{port}",
        "-servername",
        host,
        "-dane_tlsa_domain",
        host,
        "-dane_ee_no_namechecks",
        "-verify_return_error",
        "-no-CApath",
        "-no-CAstore",
    ]
    for record in records:
        command += ["-dane_tlsa_rrdata", record]
    done = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30
    )
    verified = "Verify return code: 0 (ok)" in done.stdout and done.returncode == 0
    return "verified" if verified else "refused"


class CheckAgreesWithPostfixTests(TestCase):
    async def test_verdictsAgree(self) -> None:
        requireRoot("a private Postfix instance")
        requireNamespace()
        requireProgram("openssl")
        certs = MailCertificates.make()
        ta2 = issue("mxta2.example.test", certs.ca)
        directory = Path(tempfile.mkdtemp(prefix="txdane-check-"))
        credentials = {
            "mxa": Credentials.write(directory / "a", certs.a),
            "mxbad": Credentials.write(directory / "bad", certs.bad),
            "mxta": Credentials.write(directory / "ta", certs.taLeaf, [certs.ca.cert]),
            "mxta2": Credentials.write(directory / "ta2", ta2, [certs.ca.cert]),
            "mxplain": None,
        }
        addresses = {**ADDRESSES, "mxta2": TA2_ADDRESS}
        port = _portFreeOnAll(list(addresses.values()))
        for host, credential in credentials.items():
            postfix = _PostfixAt(
                credential,
                addresses[host],
                domains=list(MX_EXPECTED),
                hostname=f"{host}.example.test",
                starttls=credential is not None,
                port=port,
            )
            self.addCleanup(postfix.cleanUp)
            postfix.start()
        records = mailRecords(port, certs)
        ta2Record = str(recordForCertificate(certs.ca.cert, 2, 1, 1))
        records["example.test."] += [
            f"mxta2 300 IN A {TA2_ADDRESS}",
            f"_{port}._tcp.mxta2 300 IN TLSA {ta2Record}",
        ]
        world = await makeWorld(records)
        self.addCleanup(world.dnsServer.stop)

        async def check(*argv: str) -> dict[str, Any]:
            out = io.StringIO()
            options = parse("check", *argv, "--port", str(port), "--json", "--timeout", "10")
            await execute(reactor, world.resolver, options, out)
            return dict(json.loads(out.getvalue()))

        # --starttls smtp HOST against openssl s_client.
        published = {
            "mxa.example.test": [str(recordForCertificate(certs.a.cert))],
            "mxbad.example.test": [str(recordForCertificate(certs.other.cert))],
            "mxta.example.test": [str(recordForCertificate(certs.ca.cert, 2, 1, 1))],
            "mxta2.example.test": [ta2Record],
            "mxplain.example.test": [str(recordForCertificate(certs.a.cert))],
        }
        starttls = {}
        for host, tlsa in published.items():
            ours = hostVerdict(await check("--starttls", "smtp", host))
            ours = "refused" if ours == "no-starttls" else ours
            address = addresses[host.split(".")[0]]
            theirs = await deferToThread(opensslVerdict, address, port, host, tlsa)
            starttls[host] = (ours, theirs)
            print(f"--starttls smtp {host:22} txdane={ours:9} openssl={theirs}")
        self.assertEqual(starttls, {h: (v, v) for h, v in STARTTLS_EXPECTED.items()})

        # --mx DOMAIN against posttls-finger: its verdict is on the first MX host that
        # answers; a later host of a secure MX RRset is compared with posttls-finger on that
        # host alone ("[HOST]:PORT").
        stub = ValidatingStub(world.hierarchy, world.dnsServer.port)
        stub.start()
        self.addCleanup(stub.stop)

        async def finger(destination: str) -> str:
            argv, env = postTLSFingerCommand(destination, chat=True)
            finished = await deferToThread(stub.run, argv, 60, env)
            return fingerVerdict(PostTLSFingerReport.parse(finished.stdout + finished.stderr))

        table = {}
        for domain in MX_EXPECTED:
            data = await check("--mx", domain)
            mine = domainVerdicts(data)
            fingers = {}
            for index, host in enumerate(mine):
                if index == 0:
                    fingers[host] = await finger(f"{domain}:{port}")
                else:
                    fingers[host] = await finger(f"[{host}]:{port}")
            table[domain] = {host: (mine[host], fingers[host]) for host in mine}
            for host in mine:
                print(f"--mx {domain:24} {host:22} txdane={mine[host]:11} ", end="")
                print(f"posttls-finger={fingers[host]}")
            overall = all(v == "verified" for v in mine.values())
            self.assertEqual(data["verified"], overall, domain)
        expected = {d: {h: (v, v) for h, v in hosts.items()} for d, hosts in MX_EXPECTED.items()}
        self.assertEqual(table, expected)

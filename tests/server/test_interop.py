"""
Cross-checks of the server and the hierarchy against real DNSSEC software: Unbound validating
through our server, BIND's delv, and ldns-verify-zone on every zone we sign.
"""

from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.zone
import pytest
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.server.test_property import LABELS, TYPES, ZONES
from tests.support import requireProgram
from tests.unbound import startUnbound, unboundVerdict
from txdane.server.service import RunningServer
from txdane.server.signing import NSEC3Options, SigningKey, SigningOptions, signZone
from txdane.status import Status
from txdane.testing import CASES, Case, buildHierarchy

pytestmark = pytest.mark.interop

_HIERARCHY = buildHierarchy()


def expectedByPeers(case: Case) -> Status:
    return case.peerStatus or case.status


def delvVerdict(output: str) -> Status:
    """
    delv prints a verdict per link of a CNAME chain; the weakest one counts.
    """
    verdicts = []
    for line in output.splitlines():
        if line.startswith("; ") and "fully validated" in line:
            verdicts.append(Status.SECURE)
        elif line.startswith("; ") and "unsigned answer" in line:
            verdicts.append(Status.INSECURE)
    failed = any(
        "resolution failed" in line and "ncache" not in line for line in output.splitlines()
    )
    if not verdicts or failed:
        return Status.BOGUS
    return Status.weakest(*verdicts)


class ValidatorsAgreeTests(TestCase):
    """
    Unbound and delv, given the hierarchy's trust anchor, reach the verdicts of L{CASES}.
    """

    async def serve(self) -> RunningServer:
        server = await _HIERARCHY.serve(reactor)
        self.addCleanup(server.stop)
        return server

    async def test_unbound(self) -> None:
        server = await self.serve()
        unbound = startUnbound(self, _HIERARCHY, server.port)

        def ask(case: Case) -> dns.message.Message:
            return unbound.ask(case.name, case.rdtype)

        disagreements = []
        for case in CASES:
            response = await deferToThread(ask, case)
            verdict = unboundVerdict(response)
            rcode = dns.rcode.to_text(response.rcode())
            if verdict != expectedByPeers(case) or (
                verdict != Status.BOGUS and rcode != case.rcode
            ):
                disagreements.append((case.name, case.rdtype, verdict, rcode))
        self.assertEqual(disagreements, [])

        # Random questions inside the secure zones (as in test_property): all secure, except
        # NXDOMAIN under opt-out.
        chooser = random.Random(20261125)
        for _ in range(80):
            labels = [chooser.choice(LABELS) for _ in range(chooser.randint(0, 3))]
            zone = chooser.choice(ZONES)
            rdtype = chooser.choice(TYPES)
            name = dns.name.Name([label.encode() for label in labels]).concatenate(
                dns.name.from_text(zone)
            )
            response = await deferToThread(ask, Case(name.to_text(), rdtype, Status.SECURE))
            verdict = unboundVerdict(response)
            expected = Status.SECURE
            if zone == "optout.test." and response.rcode() == dns.rcode.NXDOMAIN:
                expected = Status.INSECURE
            if verdict != expected:
                rcode = dns.rcode.to_text(response.rcode())
                disagreements.append((name.to_text(), rdtype, verdict, rcode))
        self.assertEqual(disagreements, [])

    async def test_delv(self) -> None:
        delv = requireProgram("delv")
        server = await self.serve()
        directory = Path(tempfile.mkdtemp(prefix="txdane-delv-"))
        anchors = directory / "anchors.conf"
        anchors.write_text(_HIERARCHY.delvAnchorText())

        def run(case: Case) -> str:
            command = [delv, "@127.0.0.1", "-p", str(server.port), "-a", str(anchors)]
            command += ["+root=.", case.name, case.rdtype]
            result = subprocess.run(command, capture_output=True, text=True, timeout=30)
            return result.stdout + result.stderr

        disagreements = []
        for case in CASES:
            output = await deferToThread(run, case)
            verdict = delvVerdict(output)
            negative = "negative response" in output
            if verdict != expectedByPeers(case) or (
                verdict == Status.SECURE and negative != _isNegative(case)
            ):
                disagreements.append((case.name, case.rdtype, verdict, output))
        self.assertEqual(disagreements, [])


def _isNegative(case: Case) -> bool:
    return case.rcode == "NXDOMAIN" or case.name.startswith("nodata.")


def ldnsVerify(
    zone: dns.zone.Zone, directory: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    program = requireProgram("ldns-verify-zone")
    path = directory / f"{zone.origin}zone"
    path.write_text(zone.to_text(relativize=False))
    return subprocess.run(
        [program, "-V", "1", *extra, str(path)], capture_output=True, text=True, timeout=60
    )


def test_ldnsAcceptsEverySignedZone(tmp_path: Path) -> None:
    """
    ldns-verify-zone accepts each zone of the hierarchy that is meant to be valid, and the
    expired and not-yet-valid ones at a time inside their validity.
    """
    names = ("example.test.", "insecure.optout.test.", "unsigned.test.")
    broken = {dns.name.from_text(n) for n in names}
    times = {
        dns.name.from_text("expired.test."): _HIERARCHY.now - 20 * 86400,
        dns.name.from_text("future.test."): _HIERARCHY.now + 20 * 86400,
    }
    for origin, zone in _HIERARCHY.zones.items():
        if origin in broken:
            continue
        extra = []
        if origin in times:
            extra = ["-t", time.strftime("%Y%m%d%H%M%S", time.gmtime(times[origin]))]
        result = ldnsVerify(zone, tmp_path, *extra)
        assert result.returncode == 0, (origin, result.stdout, result.stderr)


def test_ldnsFindsTheDeliberateBreakage(tmp_path: Path) -> None:
    """
    In example.test., ldns-verify-zone objects to exactly the two names broken on purpose.
    """
    result = ldnsVerify(_HIERARCHY.zones[dns.name.from_text("example.test.")], tmp_path)
    errors = [line for line in (result.stdout + result.stderr).splitlines() if "Error" in line]
    assert len(errors) == 2
    assert "nosig.example.test." in errors[0] + errors[1]
    assert "wrongsigner.example.test." in errors[0] + errors[1]


@pytest.mark.parametrize(
    "algorithm,nsec3",
    [
        ("ECDSAP256SHA256", None),
        ("ED25519", NSEC3Options()),
        ("RSASHA256", NSEC3Options(salt=b"\xab\xcd", iterations=5)),
        ("ECDSAP256SHA256", NSEC3Options(optOut=True)),
    ],
)
def test_ldnsAcceptsSigning(tmp_path: Path, algorithm: str, nsec3: NSEC3Options | None) -> None:
    """
    Zones signed with each algorithm, NSEC and NSEC3 (salted, opt-out), with a KSK/ZSK split,
    delegations, glue, wildcards and empty non-terminals, pass ldns-verify-zone.
    """
    text = """
$ORIGIN zone.test.
$TTL 300
@ IN SOA ns1.zone.test. hostmaster.zone.test. 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
a.b.c IN A 127.0.0.2
*.wild IN TXT "w"
_443._tcp.www IN TLSA 3 1 1 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
secure IN NS ns.secure
secure IN DS 1 13 2 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
ns.secure IN A 127.0.0.3
plain IN NS ns.plain
ns.plain IN A 127.0.0.4
"""
    zone = dns.zone.from_text(text, "zone.test.", relativize=False)
    keys = [SigningKey.generate(algorithm, 257), SigningKey.generate(algorithm, 256)]
    now = int(time.time())
    signed = signZone(zone, keys, SigningOptions(now - 60, now + 86400, nsec3=nsec3))
    result = ldnsVerify(signed, tmp_path)
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert os.path.exists(tmp_path / "zone.test.zone")

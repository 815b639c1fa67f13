"""
Resolving from the root past roadblocks, cross-checked against Unbound: the test hierarchy
served zone by zone on port 53 of 127.53.1.x (as the DNS is served; this needs root), a
forwarder in front of it that strips RRSIG/NSEC/NSEC3, drops DS queries or rejects EDNS as
the configured resolver, and root hints pointing at the hierarchy's root. txdane must reach
the verdict of a validating Unbound resolving from the same root hints, case by case; bogus
zones stay bogus. Without root hints, with private anchors, the roadblock is the error, in
the command line's words too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import pytest
from twisted.internet import reactor as _reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.roadblocks import startRoadblock
from tests.support import skipOrFail
from tests.unbound import Unbound, launchUnbound, unboundConfig, unboundVerdict
from tests.validation.test_interop import MORE
from txdane.resolvconf import NameServer
from txdane.settings import ResolverSettings
from txdane.status import Status
from txdane.testing import CASES, Hierarchy, buildHierarchy, separateNameServers
from txdane.validation import LookupFailedError, TrustAnchors

pytestmark = pytest.mark.interop

reactor: Any = _reactor

#: The loopback network the hierarchy's name servers answer on, on port 53.
NETWORK = "127.53.1.0/24"
ROOT = Path(__file__).resolve().parents[2]


def portOf(listening: Any) -> int:
    return int(listening.getHost().port)


def requirePort53() -> None:
    """
    Skip (or fail, when peers are required) where port 53 of the test network cannot be
    bound: the test needs root, as the interop tests run in CI.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.53.1.254", 53))
        except OSError as e:
            skipOrFail(f"cannot listen on port 53 of {NETWORK} ({e.strerror}): run as root")


def rootHintsFile(directory: Path, hierarchy: Hierarchy) -> Path:
    """
    The hierarchy's root hints, written as IANA writes named.root.
    """
    lines = []
    for name, address in hierarchy.nameServers[dns.name.root]:
        lines.append(f".                        3600000      NS    {name}")
        lines.append(f"{name}      3600000      A     {address}")
    path = directory / "named.root"
    path.write_text("\n".join(lines) + "\n")
    return path


def startUnboundFromRoot(testCase: TestCase, hierarchy: Hierarchy, directory: Path) -> Unbound:
    """
    A validating Unbound resolving from the hierarchy's root hints, on 127.0.0.1.
    """
    hints = rootHintsFile(directory, hierarchy)
    return launchUnbound(
        testCase,
        directory,
        lambda port: unboundConfig(directory, hierarchy, 0, port, rootHints=hints),
    )


class PastRoadblocksTests(TestCase):
    """
    txdane behind each kind of roadblock, with root hints, agrees with Unbound.
    """

    async def setUpHierarchy(self) -> tuple[Hierarchy, Path]:
        requirePort53()
        hierarchy = buildHierarchy(nameServers=separateNameServers(NETWORK))
        servers = await hierarchy.serveEach(reactor, port=53)
        for server in servers:
            self.addCleanup(server.stop)
        directory = Path(tempfile.mkdtemp(prefix="txdane-iterative-"))
        return hierarchy, directory

    async def test_sameVerdictsAsUnbound(self) -> None:
        hierarchy, directory = await self.setUpHierarchy()
        unbound = startUnboundFromRoot(self, hierarchy, directory)
        theirs: dict[tuple[str, str], Status] = {}
        for case in CASES:
            response: dns.message.Message = await deferToThread(unbound.ask, case.name, case.rdtype)
            theirs[(case.name, case.rdtype)] = unboundVerdict(response)
        anchors = TrustAnchors.fromRRsets([hierarchy.trustAnchor])
        disagreements: list[tuple[str, ...]] = []
        for kind in ("strip", "dropDS", "formerr"):
            roadblock, listening = startRoadblock(reactor, hierarchy, kind)
            self.addCleanup(listening.stopListening)
            settings = ResolverSettings(
                servers=(NameServer("127.0.0.1", portOf(listening)),),
                trustAnchors=anchors,
                rootHints=hierarchy.rootHints(53),
                timeout=5,
            )
            resolver = settings.build(reactor)
            for case in CASES:
                try:
                    ours = (await resolver.lookup(case.name, case.rdtype)).status
                except LookupFailedError as e:
                    disagreements.append((kind, case.name, case.rdtype, str(e)))
                    continue
                reference = theirs[(case.name, case.rdtype)]
                if ours is not case.status or reference is not (case.peerStatus or case.status):
                    disagreements.append((kind, case.name, case.rdtype, str(ours), str(reference)))
            if kind == "strip":
                # Beyond the table: DS and DNSKEY lookups, NODATA at wildcards, names below
                # unsigned or missing names; the verdict and the RCODE of Unbound.
                for name, rdtype in MORE:
                    response = await deferToThread(unbound.ask, name, rdtype)
                    reference = unboundVerdict(response)
                    try:
                        answer = await resolver.lookup(name, rdtype)
                    except LookupFailedError as e:
                        disagreements.append((kind, name, rdtype, str(e)))
                        continue
                    if answer.status is not reference or (
                        reference is not Status.BOGUS and answer.rcode != response.rcode()
                    ):
                        disagreements.append((kind, name, rdtype, str(answer), str(reference)))
            resolution = resolver.querier.resolution  # type: ignore[attr-defined]
            self.assertEqual(resolution.mode, "iterative", kind)
            before = roadblock.queries
            await resolver.lookup("www.future.test.", "A")
            self.assertEqual(roadblock.queries, before, "the roadblock is not asked again")
        self.assertEqual(disagreements, [])

    def txdane(self, *argv: str) -> subprocess.CompletedProcess[str]:
        environ = dict(os.environ, PYTHONPATH=str(ROOT))
        return subprocess.run(
            [sys.executable, "-m", "txdane", *argv],
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
        )

    async def test_commandLine(self) -> None:
        """
        C{txdane lookup --json} says how it resolved and why; C{--iterative} resolves from
        the root as asked; without root hints, the roadblock is the error.
        """
        hierarchy, directory = await self.setUpHierarchy()
        anchor = directory / "anchor.txt"
        anchor.write_text(hierarchy.trustAnchorText())
        hints = rootHintsFile(directory, hierarchy)
        _, listening = startRoadblock(reactor, hierarchy, "strip")
        self.addCleanup(listening.stopListening)
        forwarder = f"127.0.0.1#{portOf(listening)}"
        common = ["--trust-anchor", str(anchor), "--timeout", "8"]

        done = await deferToThread(
            self.txdane, "lookup", "--json", *common, "--iterative", "--root-hints", str(hints),
            "_443._tcp.www.example.test.", "TLSA",
        )  # fmt: skip
        self.assertEqual(done.returncode, 0, done.stderr)
        data = json.loads(done.stdout)
        self.assertEqual(data["status"], "secure")
        self.assertEqual(data["resolution"], {"mode": "iterative", "reason": "requested"})

        done = await deferToThread(
            self.txdane, "lookup", "--json", *common, "--resolver", forwarder,
            "--root-hints", str(hints), "www.badds.test.", "A",
        )  # fmt: skip
        data = json.loads(done.stdout)
        self.assertEqual(data["status"], "bogus")
        self.assertEqual(data["resolution"]["mode"], "iterative")
        self.assertIn(f"{forwarder} strips RRSIGs", data["resolution"]["reason"])

        done = await deferToThread(
            self.txdane, "lookup", "-v", *common, "--resolver", forwarder,
            "--root-hints", str(hints), "www.example.test.", "A",
        )  # fmt: skip
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("resolution  from the root hints (every configured resolver", done.stdout)

        done = await deferToThread(
            self.txdane, "lookup", *common, "--resolver", forwarder, "www.example.test.", "A"
        )
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("every configured resolver is a DNSSEC roadblock", done.stderr)
        self.assertIn(f"{forwarder} strips RRSIGs", done.stderr)
        self.assertNotIn("Traceback", done.stderr)

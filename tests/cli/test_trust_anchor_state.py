"""
C{txdane lookup --trust-anchor-state}: the state file made from C{--trust-anchor} on the first
run, read by the next, against the test hierarchy served on loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from txdane.testing import buildHierarchy

ROOT = Path(__file__).resolve().parents[2]


def _txdane(*argv: str) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "txdane", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
    )


class TrustAnchorStateTests(TestCase):
    async def test_lookup(self) -> None:
        hierarchy = buildHierarchy()
        server = await hierarchy.serve(reactor)
        self.addCleanup(server.stop)
        directory = Path(tempfile.mkdtemp(prefix="txdane-state-"))
        self.addCleanup(shutil.rmtree, directory, True)
        anchor = directory / "anchor"
        anchor.write_text(hierarchy.trustAnchorText())
        state = directory / "root.state"
        options = ["--resolver", f"127.0.0.1#{server.port}", "--trust-anchor-state", str(state)]

        first = await deferToThread(
            _txdane, "lookup", "www.example.test", "A", *options, "--trust-anchor", str(anchor)
        )
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("www.example.test. A  secure\n")
        rootKey = hierarchy.keys[hierarchy.trustAnchor.name][0]
        text = state.read_text()
        assert f";{{id = {rootKey.keyTag} (ksk), size = 512b}} ;;state=2 [  VALID  ]" in text

        # The next run takes its anchors from the state file alone.
        second = await deferToThread(_txdane, "lookup", "www.example.test", "A", *options)
        assert second.returncode == 0, second.stderr
        assert second.stdout.startswith("www.example.test. A  secure\n")

        state.write_text(";;id: . 1\n. 3600 IN DNSKEY 257 3 13 AAAA\n")
        broken = await deferToThread(_txdane, "lookup", "www.example.test", "A", *options)
        assert broken.returncode == 2
        assert broken.stderr.strip().splitlines() == [
            f"txdane: --trust-anchor-state: trust anchor state file {state}: line 2: no "
            ";;state= annotation"
        ]

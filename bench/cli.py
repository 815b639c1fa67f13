"""
How fast the command line starts and answers, measured in one run against a floor:

  - C{txdane --help} (target: at most 0.1 s);
  - C{txdane lookup _443._tcp.www.example.test TLSA} against the signed test hierarchy served
    on loopback (target: at most 1.3 times the import floor);
  - BIND's C{delv} doing the same validated lookup (if installed);
  - the import floor: a bare interpreter importing Twisted's reactor and C{dns.dnssec}, which
    any validated lookup in Python with Twisted and dnspython must pay.

Each is the best of L{ROUNDS} wall-clock runs of a fresh process, so that other load on the
machine counts as little as possible. Run: python bench/cli.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: Runs of each command; the fastest counts.
ROUNDS = 7
NAME = "_443._tcp.www.example.test."


def wallTime(argv: list[str]) -> float:
    """
    The best wall time of L{ROUNDS} runs of C{argv}, which must succeed.
    """
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
        best = min(best, elapsed)
    return best


def serveHierarchy() -> tuple[Any, int]:
    """
    Serve the test hierarchy from a reactor running in a thread; return it and the port.
    """
    from twisted.internet import reactor as _reactor
    from twisted.internet.threads import blockingCallFromThread

    from txdane.testing import buildHierarchy

    reactor: Any = _reactor

    hierarchy = buildHierarchy()
    thread = threading.Thread(
        target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True
    )
    thread.start()
    server: Any = blockingCallFromThread(reactor, hierarchy.serve, reactor)  # type: ignore[arg-type]
    return hierarchy, server.port


def main() -> None:
    from twisted.internet import reactor as _reactor

    reactor: Any = _reactor

    hierarchy, port = serveHierarchy()
    directory = Path(tempfile.mkdtemp(prefix="txdane-bench-cli-"))
    try:
        anchor = directory / "anchor.ds"
        anchor.write_text(hierarchy.trustAnchorText())
        python = sys.executable
        txdane = [python, "-m", "txdane"]
        results = {
            "txdane --help": wallTime([*txdane, "--help"]),
            "txdane lookup": wallTime(
                [
                    *txdane,
                    "lookup",
                    "--resolver",
                    f"127.0.0.1#{port}",
                    "--trust-anchor",
                    str(anchor),
                    NAME,
                    "TLSA",
                ]
            ),
            "import floor": wallTime([python, "-c", "import twisted.internet.reactor, dns.dnssec"]),
            "bare interpreter": wallTime([python, "-c", "pass"]),
        }
        delv = shutil.which("delv")
        if delv is not None:
            anchors = directory / "anchors.conf"
            anchors.write_text(hierarchy.delvAnchorText())
            results["delv"] = wallTime(
                [delv, "@127.0.0.1", "-p", str(port), "-a", str(anchors), "+root=.", NAME, "TLSA"]
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        reactor.callFromThread(reactor.stop)
    print(f"best of {ROUNDS} runs, wall time:")
    for what, seconds in results.items():
        print(f"  {what:<18} {seconds:.3f} s")
    print(f"txdane --help: {results['txdane --help']:.3f} s (target: at most 0.100 s)")
    if "delv" in results:
        print(f"txdane lookup over delv: {results['txdane lookup'] / results['delv']:.2f}")
    print("txdane lookup over the import floor (target: at most 1.3):")
    print(f"ratio: {results['txdane lookup'] / results['import floor']:.2f}")


if __name__ == "__main__":
    main()

"""
The hostile-peer fuzzer in CI: a fixed, seeded slice of sessions, none of which may end in a
violation; the slice replays alike; memory stays bounded across it.
"""

from __future__ import annotations

import tracemalloc

from tests.hostile.sessions import runDeliveries, runSessions

#: Sessions run in CI (a few seconds), and their seed.
CI_SESSIONS = 4000
CI_SEED = 18


def test_noViolation() -> None:
    report = runSessions(CI_SESSIONS, CI_SEED)
    violations = {o: n for o, n in report.counts.items() if o.startswith("violation")}
    assert violations == {}, "\n".join(report.examples)
    # Every kind of ending is reached: the slice exercises what it claims to.
    for outcome in (
        "connected: verified",
        "connected: encrypted",
        "connected: cleartext",
        "refused: StartTLSError",
        "refused: HandshakeTimeoutError",
    ):
        assert report.counts[outcome] > 0, outcome


def test_replays() -> None:
    """
    A session is drawn from its own seed: the same numbers give the same outcomes, in
    order, whichever session a run starts from.
    """
    assert runSessions(300, CI_SEED).counts == runSessions(300, CI_SEED).counts
    whole = runSessions(40, CI_SEED)
    halves = runSessions(20, CI_SEED).counts + runSessions(20, CI_SEED, 20).counts
    assert whole.counts == halves


def test_memoryBounded() -> None:
    """
    Floods of up to 300 KB per session do not accumulate: the peak stays small.
    """
    tracemalloc.start()
    try:
        runSessions(500, CI_SEED)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


#: Deliveries run in CI, and their seed.
CI_DELIVERIES = 1500


def test_deliveriesNoViolation() -> None:
    report = runDeliveries(CI_DELIVERIES, CI_SEED)
    violations = {o: n for o, n in report.counts.items() if o.startswith("violation")}
    assert violations == {}, "\n".join(report.examples)
    for outcome in (
        "delivered: verified",
        "delivered: encrypted",
        "delivered: cleartext",
        "deferred",
        "bounced",
    ):
        assert report.counts[outcome] > 0, outcome


def test_deliveriesReplay() -> None:
    assert runDeliveries(100, CI_SEED).counts == runDeliveries(100, CI_SEED).counts

"""
The rollover gate's state file (L{txdane.cli._gatestate.GateState}): which TTLs caches may still
hold a TLSA RRset with, and how files of every version are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import dns.name
from hypothesis import given, settings
from hypothesis import strategies as st

from txdane.cli._gatestate import GateState, readState, writeState
from txdane.cli.publish import keepTTL

NAME = "_443._tcp.www.example.test."


def test_lookNotHeardFromEverywhere() -> None:
    """
    A look that does not hear from every server keeps the TTLs served as they are, beside
    the one it finds; one that does finds the others replaced, as of its own time.
    """
    state = GateState()
    state.seen(NAME, 3600, 100.0, everywhere=True)
    state.seen(NAME, 60, 200.0, everywhere=False)
    # 60 is served too, but 3600 counts for longer: only it is kept.
    assert state.ttls == {NAME: {3600: None}}
    assert state.wait(NAME, 10_000.0) == 3600
    state.seen(NAME, 60, 300.0, everywhere=True)
    assert state.ttls == {NAME: {3600: 300.0, 60: None}}
    assert state.wait(NAME, 300.0 + 3599) == 3600
    assert state.wait(NAME, 300.0 + 3600) == 60


def test_lookFindsNoRRset() -> None:
    """
    A look that hears from every server and finds none serving the RRset finds its TTL
    replaced; one that finds it again takes the TTL for served again.
    """
    state = GateState()
    state.seen(NAME, 300, 0.0, everywhere=True)
    state.seen(NAME, 0, 50.0, everywhere=True)
    assert state.ttls == {NAME: {300: 50.0}}
    state.seen(NAME, 300, 100.0, everywhere=True)
    assert state.ttls == {NAME: {300: None}}


def test_expiredTTLsForgotten() -> None:
    """
    TTLs that have passed since they were found replaced are dropped from every name, and a
    name left with none with them.
    """
    state = GateState(ttls={NAME: {3600: 0.0}, "_25._tcp.mx.example.test.": {60: 0.0, 300: 0.0}})
    state.seen(NAME, 60, 100.0, everywhere=True)
    assert state.ttls == {NAME: {3600: 0.0, 60: None}, "_25._tcp.mx.example.test.": {300: 0.0}}
    state.expire(3600.0)
    assert state.ttls == {NAME: {60: None}}


def test_publishReplacesWhatWasServed(tmp_path: Path) -> None:
    """
    C{txdane publish} finds the TTL it replaced, and any the gate found served, replaced as
    of when it ran, even when there was no RRset to replace; with nothing kept for the name
    and nothing replaced, the file is not written.
    """
    path = tmp_path / "ready.json"
    owner = dns.name.from_text(NAME)
    keepTTL(path, SimpleNamespace(owner=owner, previousTTL=None), 10.0)
    assert not path.exists()
    path.write_text(json.dumps({"largest_ttl": {NAME: {"600": None}}}))
    keepTTL(path, SimpleNamespace(owner=owner, previousTTL=300), 10.0)
    assert json.loads(path.read_text()) == {"largest_ttl": {NAME: {"600": 10.0}}}
    # A smaller TTL is kept beside a larger one only while it counts for longer.
    path.write_text(json.dumps({"largest_ttl": {NAME: {"600": 0.0}}}))
    keepTTL(path, SimpleNamespace(owner=owner, previousTTL=60), 590.0)
    assert json.loads(path.read_text()) == {"largest_ttl": {NAME: {"60": 590.0, "600": 0.0}}}
    path.write_text(json.dumps({"largest_ttl": {NAME: {"600": None}}}))
    keepTTL(path, SimpleNamespace(owner=owner, previousTTL=None), 20.0)
    assert json.loads(path.read_text()) == {"largest_ttl": {NAME: {"600": 20.0}}}


def test_readEveryVersion(tmp_path: Path) -> None:
    """
    A file without TTLs, one with a largest TTL per name (taken for served, its time unknown)
    and one with TTLs and times are read; what is not a TTL with a time is skipped.
    """
    path = tmp_path / "ready.json"
    path.write_text(json.dumps({"_443._tcp.a. TLSA 3 1 1 00": 5.0}))
    assert readState(path) == GateState({"_443._tcp.a. TLSA 3 1 1 00": 5.0}, {})
    path.write_text(json.dumps({"largest_ttl": {NAME: 3600, "b.": True, "c.": "60"}}))
    assert readState(path).ttls == {NAME: {3600: None}}
    ttls = {"3600": 7.5, "60": None, "-1": 1.0, "x": 1.0, "0": None, "300": "soon"}
    path.write_text(json.dumps({"largest_ttl": {NAME: ttls, "d.": {"x": None}}}))
    state = readState(path)
    assert state.ttls == {NAME: {3600: 7.5, 60: None}}
    writeState(path, state)
    assert readState(path) == state


class _Unpruned:
    """
    The TTLs of one name as the gate's rule defines them, every one kept until it has passed
    since it was found replaced: what L{GateState} must agree with.
    """

    def __init__(self) -> None:
        self.ttls: dict[int, float | None] = {}

    def replace(self, now: float) -> None:
        for ttl, replaced in self.ttls.items():
            if replaced is None:
                self.ttls[ttl] = now

    def wait(self, now: float) -> int:
        return max(
            (t for t, r in self.ttls.items() if r is None or r + t > now),
            default=0,
        )


_TTLS = st.sampled_from([0, 1, 30, 60, 299, 300, 3600, 86400])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["seen", "partial", "publish"]), _TTLS, st.integers(0, 4000)),
        max_size=30,
    )
)
def test_keptTTLsGiveTheSameWaits(steps: list[tuple[str, int, int]]) -> None:
    """
    However the looks and publications go, the wait the state gives at every moment is the
    one given by keeping every TTL until it has passed since it was found replaced; and a
    name keeps at most one TTL served.
    """
    state, model, now = GateState(), _Unpruned(), 0.0
    for action, ttl, gap in steps:
        now += gap
        if action == "publish":
            state.replaced(NAME, ttl or None, now)
            model.replace(now)
            if ttl:
                model.ttls[ttl] = now
        else:
            everywhere = action == "seen"
            state.seen(NAME, ttl, now, everywhere=everywhere)
            if everywhere:
                model.replace(now)
            if ttl:
                model.ttls[ttl] = None
        kept = state.ttls.get(NAME, {})
        assert sum(1 for replaced in kept.values() if replaced is None) <= 1
        for later in (0, 1, 29, 30, 59, 60, 300, 3600, 86400, 90000):
            assert state.wait(NAME, now + later) == model.wait(now + later)

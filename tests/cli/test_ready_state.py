"""
The rollover gate's state file (L{txdane.cli._gatestate.GateState}): which TTLs caches may still
hold a TLSA RRset with, and how files of every version are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import dns.name

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
    assert state.ttls == {NAME: {3600: None, 60: None}}
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
    assert json.loads(path.read_text()) == {"largest_ttl": {NAME: {"300": 10.0, "600": 10.0}}}
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

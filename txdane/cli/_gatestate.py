"""
The rollover gate's state file (C{txdane check --ready --state FILE}, L{txdane.cli._ready}),
which C{txdane publish} writes to as well: a JSON object from C{"OWNER TLSA RECORD"} to the
POSIX time the record was first seen everywhere, and under the key C{"largest_ttl"}, for each
name whose TLSA RRset was asked for, the TTLs caches may still hold it with (L{GateState}).

A TTL the RRset is served with counts; one it no longer has counts until that TTL has passed
since it was found replaced, when caches that fetched the RRset with it have dropped it. It is
found replaced by the first look that hears from every authoritative server and finds none
serving it (not at the last look that saw it: it may have been served, and cached, until just
before the next), or by C{txdane publish} when it replaces the RRset. A TTL lowered long ago
so no longer holds up every rollover.

Files of earlier versions are read as they are: without C{"largest_ttl"}, no TTL is known; one
that kept a single largest TTL per name (a number), with no time, is read as if the latest look
had found that TTL served: it counts until one TTL after a look or C{txdane publish} finds it
replaced.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from txdane.cli import UsageError
from txdane.cli._common import pathError
from txdane.files import writeAtomically

#: The state file's default place.
DEFAULT_STATE = "~/.local/state/txdane/ready.json"


def defaultStatePath() -> Path:
    """
    The default state file: C{$XDG_STATE_HOME/txdane/ready.json}, else L{DEFAULT_STATE}.
    """
    base = os.environ.get("XDG_STATE_HOME")
    if base:
        return Path(base) / "txdane" / "ready.json"
    return Path(DEFAULT_STATE).expanduser()


#: The key of the state file under which the TTLs of each name are kept (L{GateState.ttls}).
LARGEST_TTL = "largest_ttl"


@dataclass
class GateState:
    """
    What the gate remembers between looks (the C{--state} file).

    @ivar firstSeen: C{"OWNER TLSA RECORD"} -> when the record was first seen everywhere.
    @ivar ttls: TLSA owner name (C{"_443._tcp.www.example.com."}) -> each TTL its RRset has
        had that caches may still hold -> when it was found replaced (a POSIX time), or
        C{None} while the latest look found it served. A TTL is forgotten once it has passed
        since it was found replaced: no cache holds the RRset with it any more.
    """

    firstSeen: dict[str, float] = field(default_factory=dict)
    ttls: dict[str, dict[int, float | None]] = field(default_factory=dict)

    def seen(self, name: str, ttl: int, now: float, everywhere: bool) -> None:
        """
        A look at C{now} found the RRset at C{name} served with the largest TTL C{ttl} (0 when
        no server that answered serves it).

        @param everywhere: whether every authoritative server answered. Then the TTLs served
            as of the latest look that this one did not find are replaced as of now (not as of
            the latest look: they may have been served until just before this one). Otherwise
            a server not heard from may still serve them, and they are kept as served.
        """
        ttls = self.ttls.setdefault(name, {})
        if everywhere:
            _replace(ttls, now)
        if ttl > 0:
            ttls[ttl] = None
        self.expire(now)

    def replaced(self, name: str, ttl: int | None, now: float) -> None:
        """
        C{txdane publish} replaced the RRset at C{name} at C{now}: its TTL was C{ttl}
        (C{None} when there was no RRset), and whatever TTL the latest look found served is
        no longer served either.
        """
        ttls = self.ttls.setdefault(name, {})
        _replace(ttls, now)
        if ttl is not None and ttl > 0:
            ttls[ttl] = max(ttls.get(ttl) or now, now)
        self.expire(now)

    def wait(self, name: str, now: float) -> int:
        """
        The largest TTL caches may still hold the RRset at C{name} with at C{now}: of the
        TTLs served as of the latest look, and of those found replaced less than themselves
        before C{now}; 0 when none is known.
        """
        return max(
            (
                ttl
                for ttl, replaced in self.ttls.get(name, {}).items()
                if replaced is None or replaced + ttl > now
            ),
            default=0,
        )

    def expire(self, now: float) -> None:
        """
        Forget the TTLs found replaced at least themselves before C{now}, and the names left
        with none.
        """
        for name, ttls in list(self.ttls.items()):
            for ttl, replaced in list(ttls.items()):
                if replaced is not None and replaced + ttl <= now:
                    del ttls[ttl]
            if not ttls:
                del self.ttls[name]


def _replace(ttls: dict[int, float | None], now: float) -> None:
    """
    The TTLs of C{ttls} that were served are found replaced at C{now}.
    """
    for ttl, replaced in ttls.items():
        if replaced is None:
            ttls[ttl] = now


def readState(path: Path) -> GateState:
    """
    The state kept in C{path}: empty when it does not exist. A file of an earlier version is
    read as it is: without L{LARGEST_TTL}, no TTL is known; with one largest TTL per name
    (a number, not an object of TTLs), that TTL is taken for served as of the latest look,
    since when it was last served is not known.

    @raise UsageError: when it cannot be read or is not a JSON object.
    """
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return GateState()
    except OSError as e:
        raise pathError("--state", path, e) from None
    except ValueError as e:
        raise UsageError(f"--state {path}: not a JSON object ({e})") from None
    if not isinstance(data, dict):
        raise UsageError(f"--state {path}: not a JSON object")
    return GateState(
        {str(k): float(v) for k, v in data.items() if _isNumber(v)},
        _readTTLs(data.get(LARGEST_TTL)),
    )


def _readTTLs(data: object) -> dict[str, dict[int, float | None]]:
    """
    L{GateState.ttls} from the value of L{LARGEST_TTL}, skipping what is not a TTL.
    """
    if not isinstance(data, dict):
        return {}
    found: dict[str, dict[int, float | None]] = {}
    for name, value in data.items():
        ttls: dict[int, float | None] = {}
        if _isNumber(value):
            ttls[int(value)] = None
        elif isinstance(value, dict):
            for ttl, replaced in value.items():
                if not (isinstance(ttl, str) and ttl.isascii() and ttl.isdigit()):
                    continue
                if replaced is None or _isNumber(replaced):
                    ttls[int(ttl)] = None if replaced is None else float(replaced)
        ttls = {ttl: replaced for ttl, replaced in ttls.items() if ttl > 0}
        if ttls:
            found[str(name)] = ttls
    return found


def _isNumber(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def writeState(path: Path, state: GateState) -> None:
    """
    Write C{state} to C{path} atomically, making its directory if needed. The TTLs of a name
    are an object from each TTL to when it was found replaced, C{null} while served:
    C{{"3600": 1767225600.0, "60": null}}.

    @raise UsageError: when it cannot be written.
    """
    data: dict[str, Any] = dict(state.firstSeen)
    if state.ttls:
        data[LARGEST_TTL] = {
            name: {str(ttl): replaced for ttl, replaced in sorted(ttls.items())}
            for name, ttls in state.ttls.items()
        }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writeAtomically(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
    except OSError as e:
        raise pathError("--state", path, e, "cannot write") from None

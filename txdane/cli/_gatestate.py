"""
The rollover gate's state file (C{txdane check --ready --state FILE}, L{txdane.cli._ready}),
which C{txdane publish} writes to as well: a JSON object from C{"OWNER TLSA RECORD"} to the
POSIX time the record was first seen everywhere, and under the key C{"largest_ttl"}, for each
name whose TLSA RRset was asked for, the largest TTL seen for it (by any look, the record
there or not, and by C{txdane publish} for the RRset it replaced); files written before it
was kept are read as they are.
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


#: The key of the state file under which the largest TTL of each name is kept.
LARGEST_TTL = "largest_ttl"


@dataclass
class GateState:
    """
    What the gate remembers between looks (the C{--state} file).

    @ivar firstSeen: C{"OWNER TLSA RECORD"} -> when the record was first seen everywhere.
    @ivar largestTTL: TLSA owner name (C{"_443._tcp.www.example.com."}) -> the largest TTL
        its RRset has been seen with.
    """

    firstSeen: dict[str, float] = field(default_factory=dict)
    largestTTL: dict[str, int] = field(default_factory=dict)

    def remember(self, name: str, ttl: int | None) -> None:
        """
        Keep C{ttl} for the RRset at C{name} when it is larger than what is kept.
        """
        if ttl is not None and ttl > self.largestTTL.get(name, 0):
            self.largestTTL[name] = ttl


def readState(path: Path) -> GateState:
    """
    The state kept in C{path}: empty when it does not exist; a file of an earlier version,
    without L{LARGEST_TTL}, is read as it is.

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
    ttls = data.get(LARGEST_TTL)
    return GateState(
        {str(k): float(v) for k, v in data.items() if _isNumber(v)},
        {str(k): int(v) for k, v in ttls.items() if _isNumber(v)} if isinstance(ttls, dict) else {},
    )


def _isNumber(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def writeState(path: Path, state: GateState) -> None:
    """
    Write C{state} to C{path} atomically, making its directory if needed.

    @raise UsageError: when it cannot be written.
    """
    data: dict[str, Any] = dict(state.firstSeen)
    if state.largestTTL:
        data[LARGEST_TTL] = state.largestTTL
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writeAtomically(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())
    except OSError as e:
        raise pathError("--state", path, e, "cannot write") from None

"""
Every fuzz target of C{fuzz/}, run for a fixed number of inputs under the seeded driver (the
same inputs on every Python version and in every process): none may crash, hang or break an
invariant of its target; and two runs of each, in separate processes with different hash
seeds, give the same summary (the seed corpus, every input and every outcome), so that a
failure in CI replays with the command it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

#: Inputs per target in CI, chosen so that all of them take well under a minute.
TARGETS = {
    "server_query": 20000,
    "server_update": 8000,
    "transport_answer": 3000,
    "parse_message": 8000,
    "validator_answer": 600,
    "tlsa_match": 4000,
    "trust_anchors": 8000,
    "trust_anchor_state": 3000,
    "zone_file": 2000,
    "endpoint_string": 6000,
    "cli_args": 2000,
    "starttls_prelude": 60000,
    "mail_policy": 50000,
}

#: The seed of the CI slice.
SEED = 14

#: Targets that find a known crash, until it is fixed.
KNOWN_CRASHES: dict[str, str] = {}


def test_everyTargetListed() -> None:
    scripts = {p.stem for p in (ROOT / "fuzz").glob("*.py") if not p.stem.startswith("_")}
    assert scripts == set(TARGETS)


def sliceCommand(target: str) -> list[str]:
    """
    The command that runs C{target}'s CI slice.
    """
    script = str(ROOT / "fuzz" / f"{target}.py")
    return [sys.executable, script, f"-runs={TARGETS[target]}", f"-seed={SEED}"]


def summaryOf(output: str) -> dict[str, object]:
    """
    The summary the seeded driver prints last.
    """
    lines = [line for line in output.splitlines() if line.startswith("summary ")]
    assert lines, output[-3000:]
    summary: dict[str, object] = json.loads(lines[-1].partition(" ")[2])
    return summary


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzzTarget(target: str, tmp_path: Path) -> None:
    """
    The target's CI slice passes, twice alike.
    """
    if target in KNOWN_CRASHES:
        pytest.xfail(KNOWN_CRASHES[target])
    runs = []
    for hashSeed in (1, 2):
        directory = tmp_path / str(hashSeed)
        directory.mkdir()
        environment = {**os.environ, "FUZZ_DRIVER": "seeded", "PYTHONHASHSEED": str(hashSeed)}
        runs.append(
            subprocess.Popen(
                sliceCommand(target),
                cwd=directory,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    summaries = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, out[-3000:] + err[-3000:]
        summaries.append(summaryOf(out))
    assert summaries[0] == summaries[1]
    assert summaries[0]["runs"] == TARGETS[target]
    assert summaries[0]["target"] == target

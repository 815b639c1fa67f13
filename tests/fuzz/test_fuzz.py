"""
Every fuzz target of C{fuzz/}, run for a fixed number of inputs: under atheris
(coverage-guided) when it is installed, else under the seeded random driver. None may
crash, hang or raise an exception its input does not call for.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

#: Inputs per target in CI, chosen so that all of them take well under a minute.
TARGETS = {
    "server_query": 20000,
    "transport_answer": 3000,
    "parse_message": 8000,
    "validator_answer": 600,
    "tlsa_match": 2000,
    "trust_anchors": 5000,
    "trust_anchor_state": 3000,
    "zone_file": 2000,
    "endpoint_string": 8000,
    "cli_args": 8000,
}

#: Targets that find a known crash, until it is fixed.
KNOWN_CRASHES: dict[str, str] = {}


def test_everyTargetListed() -> None:
    scripts = {p.stem for p in (ROOT / "fuzz").glob("*.py") if not p.stem.startswith("_")}
    assert scripts == set(TARGETS)


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fuzzTarget(target: str, tmp_path: Path) -> None:
    if target in KNOWN_CRASHES:
        pytest.xfail(KNOWN_CRASHES[target])
    command = [
        sys.executable,
        str(ROOT / "fuzz" / f"{target}.py"),
        f"-runs={TARGETS[target]}",
        "-seed=14",
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

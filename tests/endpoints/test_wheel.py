"""
The built wheel, installed into a fresh virtualenv (not editable), makes the C{dane:} and
C{dnssec:} endpoint strings work.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.interop
def test_wheelInstallsPlugins(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("txdane-*.whl")
    # Nothing of the source tree may leak into the fresh environment.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=env)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)],
        check=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    result = subprocess.run(
        [str(venv / "bin" / "python"), str(Path(__file__).parent / "wheelcheck.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"
    console = subprocess.run(
        [str(venv / "bin" / "txdane"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert console.stdout.startswith("txdane ")

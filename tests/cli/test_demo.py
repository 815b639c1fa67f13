"""
C{txdane demo} runs with no network and reaches every expected verdict.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "txdane", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "www.example.test. A      secure" in out
    assert "bogus (EDE 9, DNSKEY missing)" in out
    assert "insecure" in out
    assert "verified by DANE" in out and "DANE-EE SPKI SHA2-256  matched the server's key" in out
    assert "refused: no TLSA record matched" in out
    assert "unexpected" not in out
    assert "Every result is the expected one." in out


def test_demoQuiet() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "txdane", "demo", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert (result.returncode, result.stdout) == (0, "")

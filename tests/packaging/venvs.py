"""
Fresh virtualenvs with txdane installed in them, kept apart from the tests' own environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cleanEnvironment() -> dict[str, str]:
    """
    The environment for commands run in a fresh virtualenv: nothing of the tests' own
    environment or of the source tree leaks in.
    """
    return {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }


def makeVirtualenv(path: Path, *install: str) -> Path:
    """
    Make a virtualenv at C{path} and C{pip install} C{install} (arguments to pip) into it.
    """
    env = cleanEnvironment()
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, timeout=120, env=env)
    run(path, "pip", "install", "-q", *install, timeout=600)
    return path


def run(
    venv: Path, program: str, *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """
    Run C{program} of C{venv}'s C{bin} directory, outside the source tree.
    """
    return subprocess.run(
        [str(venv / "bin" / program), *args],
        cwd=venv,
        env=cleanEnvironment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )

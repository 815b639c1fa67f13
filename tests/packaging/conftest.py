"""
The release artefacts, built once per test run, or taken from C{$TXDANE_DIST} when C{.ci/run}
has built them already; virtualenvs with txdane installed from the wheel (C{.ci/run}'s, given
in C{$TXDANE_WHEEL_VENV}) and editable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.venvs import ROOT, makeVirtualenv


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """
    A directory holding one sdist and one wheel of the source tree.
    """
    given = os.environ.get("TXDANE_DIST")
    if given:
        return Path(given)
    directory = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(directory), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


@pytest.fixture(scope="session")
def wheelVenv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """
    A fresh virtualenv with txdane installed from the wheel: C{$TXDANE_WHEEL_VENV} when
    C{.ci/run} has made it already.
    """
    given = os.environ.get("TXDANE_WHEEL_VENV")
    if given:
        return Path(given)
    (wheel,) = dist.glob("txdane-*.whl")
    return makeVirtualenv(tmp_path_factory.mktemp("wheel") / "venv", str(wheel))


@pytest.fixture(scope="session")
def editableVenv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """
    A fresh virtualenv with the source tree installed editable, by a plain C{pip install -e}.
    """
    return makeVirtualenv(tmp_path_factory.mktemp("editable") / "venv", "-e", str(ROOT))

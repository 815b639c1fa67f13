"""
txdane installed into a fresh virtualenv, from the built wheel and as an editable install of
the source tree (C{pip install -e}), works the same: the C{txdane-dns} twistd plugin is listed,
the C{dane:} and C{dnssec:} endpoint strings connect, and the C{txdane} command runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.packaging.contents import version
from tests.packaging.venvs import ROOT, run

pytestmark = pytest.mark.slow


@pytest.fixture(params=["wheelVenv", "editableVenv"])
def installed(request: pytest.FixtureRequest) -> Path:
    """
    A fresh virtualenv with txdane installed from the wheel, or editable from the source tree.
    """
    venv: Path = request.getfixturevalue(request.param)
    return venv


def test_twistdListsPlugin(installed: Path) -> None:
    result = run(installed, "twistd", "--help")
    assert result.returncode == 0, result.stderr
    assert "txdane-dns" in result.stdout


def test_endpointStrings(installed: Path) -> None:
    """
    C{clientFromString} makes C{dane:} and C{dnssec:} endpoints that connect; txdane is
    imported from where it was installed, not from the working directory.
    """
    where = ROOT if installed.parent.name.startswith("editable") else installed / "lib"
    result = run(installed, "python", str(Path(__file__).parent / "wheelcheck.py"), str(where))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"


def test_console(installed: Path) -> None:
    result = run(installed, "txdane", "--version")
    assert result.stdout.strip() == f"txdane {version()}"

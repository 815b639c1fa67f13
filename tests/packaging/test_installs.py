"""
txdane installed into a fresh virtualenv, from the built wheel and as an editable install of
the source tree (C{pip install -e}), works the same: the C{txdane-dns} twistd plugin is listed,
the C{dane:} and C{dnssec:} endpoint strings connect, and the C{txdane} command runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.packaging.contents import version
from tests.packaging.venvs import ROOT, run

pytestmark = pytest.mark.slow

PROBE = Path(__file__).parent / "plugincache.py"

#: The command README.md gives to regenerate Twisted's plugin cache after installing.
REGENERATE = "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))"


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


def test_pluginCacheRegenerated(wheelVenv: Path) -> None:
    """
    Where Twisted cannot write its plugin cache, a cache older than txdane's plugins makes it
    log "Unable to write to plugin cache" at every start; the command README.md gives to run
    after installing regenerates the cache, and then nothing is logged.
    """
    (plugin,) = (wheelVenv / "lib").glob("python3*/site-packages/twisted/plugins/txdane_dns.py")
    future = plugin.stat().st_mtime + 10
    os.utime(plugin, (future, future))  # as if txdane were installed after the cache was made
    stale = run(wheelVenv, "python", str(PROBE))
    assert stale.returncode == 0, stale.stderr
    assert "Unable to write to plugin cache" in stale.stdout
    os.utime(plugin, None)
    assert REGENERATE in (ROOT / "README.md").read_text()
    regenerate = run(wheelVenv, "python", "-c", REGENERATE)
    assert regenerate.returncode == 0, regenerate.stderr
    fresh = run(wheelVenv, "python", str(PROBE))
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout == ""

"""
Shared pytest configuration.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _temporaryFilesRemoved() -> Iterator[str]:
    """
    Every temporary file or directory a test makes (with C{tempfile}, in this process or in
    the programs it starts, which read C{TMPDIR}) is made in one directory of the run, removed
    when the run ends: the servers' and peers' configurations, keys and sockets do not pile up
    in the machine's temporary directory run after run.

    The directory can be passed through by every user, as the machine's own can: peers that
    drop their privileges (Postfix, Prosody, Unbound, NSD, Knot) reach the directories the
    tests make for them inside it.
    """
    before = (tempfile.tempdir, os.environ.get("TMPDIR"))
    directory = tempfile.mkdtemp(prefix="txdane-tests-")
    os.chmod(directory, 0o755)
    tempfile.tempdir = directory
    os.environ["TMPDIR"] = directory
    try:
        yield directory
    finally:
        tempfile.tempdir = before[0]
        if before[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before[1]
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def _noRealRootServers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """
    Tests never reach the real DNS: where a resolver would resolve from the built-in IANA root
    servers (asked, or as the fallback past DNSSEC roadblocks), it asks a closed loopback port
    instead, which fails at once. Tests that resolve from the root give root hints of a private
    hierarchy.
    """
    from txdane.resolvconf import NameServer
    from txdane.validation.iterative import _hints

    monkeypatch.setattr(_hints, "IANA_ROOT_HINTS", (NameServer("127.0.0.1", 9),))
    yield

"""
L{txdane.files}: a file replaced atomically keeps its permissions, and a failed write leaves
the old content and no temporary file behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from txdane.files import syncDirectory, writeAtomically


def test_replaces(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    writeAtomically(path, b"one")
    assert path.read_bytes() == b"one"
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o600)
    writeAtomically(path, b"two")
    assert path.read_bytes() == b"two"
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_failureKeepsTheOld(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    writeAtomically(path, b"old")

    def broken(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="No space"):
        writeAtomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_missingDirectory(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        writeAtomically(tmp_path / "nowhere" / "state.json", b"x")
    syncDirectory(tmp_path / "nowhere")  # nothing to flush: no error

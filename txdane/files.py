"""
Files that must survive a crash whole: written beside their place, flushed to disk, then
renamed over it, so that a reader finds the old content or the new, never a part.

Used by every state and cache file txdane keeps (RFC 5011 state, MTA-STS cache, TLS report
store, the rollover gate's and the history's state, zones rewritten after updates).

Tests: tests/test_files.py.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["syncDirectory", "writeAtomically"]


def writeAtomically(path: str | os.PathLike[str], data: bytes) -> None:
    """
    Replace the file C{path} with C{data} atomically: a temporary file in the same directory
    (the existing file's permissions, else C{0o644}), flushed to disk, renamed over C{path},
    and the directory entry flushed too.

    @raise OSError: it cannot be written; the temporary file is removed and C{path} is left
        as it was.
    """
    target = Path(path).absolute()
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o644
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        try:
            os.fchmod(descriptor, mode)
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    syncDirectory(target.parent)


def syncDirectory(directory: str | os.PathLike[str]) -> None:
    """
    Flush a directory's entries (a file renamed into it) to disk, where the platform allows
    it; where it does not, nothing happens.
    """
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)

"""
Helpers shared by the tests.

Interop tests need real peers (Unbound, delv, OpenSSL, NSD ...). L{requireProgram} skips a test
when a program is missing on a developer's machine, but fails it under CI (C{CI=true}), where
C{.ci/run} installs them: a missing peer must never turn into a silently skipped check.
"""

from __future__ import annotations

import os
import shutil

import pytest


def requireProgram(name: str) -> str:
    """
    Return the path of program C{name}; skip the test if it is missing, or fail under CI.
    """
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path

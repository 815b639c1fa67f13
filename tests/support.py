"""
Helpers shared by the tests.

Interop tests need real peers (Unbound, delv, OpenSSL, NSD ...). L{requireProgram} skips a test
when a program is missing on a developer's machine, but fails it when peers are required
(L{peersRequired}: C{.ci/run} exports C{TXDANE_REQUIRE_PEERS=1}, and CI services set
C{CI=true}), where C{.ci/run} installs them: a missing peer must never turn into a silently
skipped check.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import NoReturn

import pytest

#: The longest name the wire allows, in wire form: four labels (63, 63, 63 and 61 octets) and
#: the root, 255 octets in all (RFC 1035 section 3.1).
LONGEST_NAME_WIRE = (
    b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63 + b"\x3d" + b"d" * 61 + b"\x00"
)
assert len(LONGEST_NAME_WIRE) == 255

#: The variable C{.ci/run} exports so that every interop test runs or fails, whoever runs it.
REQUIRE_PEERS = "TXDANE_REQUIRE_PEERS"

#: The values of L{REQUIRE_PEERS} and C{CI} that mean "yes" (compared case-insensitively);
#: anything else, C{CI=false} and C{CI=0} included, means "no".
_YES = frozenset({"1", "yes", "true"})


def peersRequired(environ: Mapping[str, str] | None = None) -> bool:
    """
    Whether a missing interop peer fails the test rather than skipping it: when
    L{REQUIRE_PEERS} or C{CI} is C{1}, C{yes} or C{true}.

    @param environ: the environment to read (default: this process's).
    """
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "").strip().lower() in _YES for name in (REQUIRE_PEERS, "CI"))


def skipOrFail(reason: str) -> NoReturn:
    """
    Skip the current test because of C{reason}, or fail it when peers are required
    (L{peersRequired}).
    """
    if peersRequired():
        pytest.fail(reason)
    pytest.skip(reason)


def requireProgram(name: str) -> str:
    """
    Return the path of program C{name}; skip the test if it is missing, or fail when peers
    are required (L{peersRequired}).
    """
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        skipOrFail(f"{name} is not installed (.ci/run installs it)")
    return path

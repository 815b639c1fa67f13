"""
Tests for the helpers of L{tests.support}: when a missing interop peer fails a test.
"""

from __future__ import annotations

import pytest

from tests.support import REQUIRE_PEERS, peersRequired, skipOrFail


@pytest.mark.parametrize(
    ("environ", "required"),
    [
        ({}, False),
        ({"CI": "true"}, True),
        ({"CI": "1"}, True),
        ({"CI": "yes"}, True),
        ({"CI": "TRUE"}, True),
        ({"CI": "false"}, False),
        ({"CI": "0"}, False),
        ({"CI": "no"}, False),
        ({"CI": ""}, False),
        ({REQUIRE_PEERS: "1"}, True),
        ({REQUIRE_PEERS: "yes"}, True),
        ({REQUIRE_PEERS: "true"}, True),
        ({REQUIRE_PEERS: " True "}, True),
        ({REQUIRE_PEERS: "0"}, False),
        ({REQUIRE_PEERS: "false"}, False),
        ({REQUIRE_PEERS: "off"}, False),
        ({REQUIRE_PEERS: "1", "CI": "false"}, True),
        ({REQUIRE_PEERS: "0", "CI": "true"}, True),
    ],
)
def test_peersRequired(environ: dict[str, str], required: bool) -> None:
    """
    Peers are required when C{TXDANE_REQUIRE_PEERS} or C{CI} says yes (C{1}, C{yes},
    C{true}); C{CI=false}, as some services set it, does not require them.
    """
    assert peersRequired(environ) is required


def test_skipsWithoutRequirement(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    On a developer's machine (neither variable set) a missing peer skips the test.
    """
    monkeypatch.delenv(REQUIRE_PEERS, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no peer"):
        skipOrFail("no peer")


@pytest.mark.parametrize("name", [REQUIRE_PEERS, "CI"])
def test_failsWhenRequired(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """
    With either variable set to yes, a missing peer fails the test.
    """
    monkeypatch.delenv(REQUIRE_PEERS, raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(name, "1")
    with pytest.raises(pytest.fail.Exception, match="no peer"):
        skipOrFail("no peer")

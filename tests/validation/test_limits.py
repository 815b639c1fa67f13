"""
L{ValidationLimits} made in Python: each limit is checked when the limits are made, not when a
lookup first meets it.
"""

from __future__ import annotations

from typing import Any

import pytest

from txdane.validation import ValidationLimits


@pytest.mark.parametrize(
    "fields, error, message",
    [
        ({"lookupTimeout": "5"}, TypeError, "lookupTimeout must be a number of seconds, not '5'"),
        ({"lookupTimeout": 0}, ValueError, "lookupTimeout 0 is not a positive number"),
        ({"lookupTimeout": float("inf")}, ValueError, "lookupTimeout inf"),
        ({"maxCNAMEChain": -1}, ValueError, "maxCNAMEChain -1 is negative"),
        ({"cacheSize": 1.5}, TypeError, "cacheSize must be a whole number, not 1.5"),
        ({"maxQueriesPerLookup": True}, TypeError, "maxQueriesPerLookup must be a whole number"),
        ({"strictNSEC3Iterations": "no"}, TypeError, "strictNSEC3Iterations must be True or"),
    ],
)
def test_checked(fields: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        ValidationLimits(**fields)


def test_defaultsAndZeros() -> None:
    """
    The defaults pass, and so does a limit of zero where it means "none allowed".
    """
    ValidationLimits()
    limits = ValidationLimits(maxCNAMEChain=0, maxNSEC3Iterations=0, lookupTimeout=2)
    assert (limits.maxCNAMEChain, limits.lookupTimeout) == (0, 2)


def test_resolverArguments() -> None:
    """
    The resolver and its trust anchors are checked when made: a path given for the anchors,
    or no querier, fails at once with what to give instead.
    """
    from txdane.validation import TrustAnchors, ValidatingResolver

    with pytest.raises(TypeError, match=r"TrustAnchors\.fromFile"):
        TrustAnchors("root-anchors.xml")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a querier"):
        ValidatingResolver(None)  # type: ignore[arg-type]
    builtin = TrustAnchors.builtin()
    assert TrustAnchors(list(builtin.anchors)) == builtin  # type: ignore[arg-type]

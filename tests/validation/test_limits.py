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
        ({"clockSkew": 86401}, ValueError, "clockSkew 86401 is more than 86400 seconds"),
        ({"clockSkew": 10**12}, ValueError, "would accept long expired signatures"),
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


@pytest.mark.parametrize(
    "fields",
    [{"cacheSize": 0}, {"cacheBytes": 0}, {"cacheBytes": 1000}, {"maxCacheTTL": 0}],
)
def test_noCacheStillValidates(fields: dict[str, Any]) -> None:
    """
    Caches that keep nothing (of size 0, a maximum TTL of 0, too small for one entry) cost
    speed, not answers: one lookup works out each zone's keys once, whatever its caches
    keep. It used to check them again for every RRset, and a CNAME, a wildcard or a TLSA
    lookup ran out of its signature budget and was bogus.
    """
    from tests.validation.fakes import makeResolver, resolve
    from txdane.status import Status
    from txdane.testing import buildHierarchy

    resolver, _ = makeResolver(buildHierarchy(), limits=ValidationLimits(**fields))
    for name, rdtype in [
        ("alias.example.test.", "A"),
        ("host.wild.example.test.", "A"),
        ("_443._tcp.www.example.test.", "TLSA"),
    ]:
        answer = resolve(resolver, name, rdtype)
        assert answer.status is Status.SECURE, answer.reason


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

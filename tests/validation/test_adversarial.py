"""
Adversarial cases for the validating resolver: answers crafted by a hostile network or zone
that must end in a failure or a bogus verdict, never in secure data, a hang or an unbounded
cost.
"""

from __future__ import annotations

import pytest

from tests.validation.test_hierarchy import makeResolver, resolve
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy
from txdane.validation import ValidationLimits


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy(extraRecords={"nsec3.test.": ["far 300 IN CNAME www.example.test."]})


def test_budgetExhaustionIsNotCached(hierarchy: Hierarchy) -> None:
    """
    A lookup that runs out of its signature budget while proving a zone's keys or cuts (here,
    behind a CNAME from another zone: an attacker's zone can make such a chain as costly as
    the budget) must not leave that zone bogus in the cache for the lookups after it.
    """
    resolver, _ = makeResolver(hierarchy)
    assert resolve(resolver, "far.nsec3.test.", "A").secure
    needed = resolver.lastSignatureChecks
    fits = 0
    for budget in range(1, needed):
        limits = ValidationLimits(maxSignatureChecksPerLookup=budget)
        fresh, _ = makeResolver(hierarchy, limits=limits)
        if not resolve(fresh, "www.example.test.", "A").secure:
            continue
        fits += 1
        resolver, _ = makeResolver(hierarchy, limits=limits)
        assert resolve(resolver, "far.nsec3.test.", "A").status is Status.BOGUS
        answer = resolve(resolver, "www.example.test.", "A")
        assert answer.secure, (budget, str(answer))
    assert fits >= 2

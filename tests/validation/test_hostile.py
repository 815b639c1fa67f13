"""
Regression tests for the hostile-input review (#14) that concern the validator itself.
"""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from tests.validation.fakes import EngineQuerier
from tests.validation.test_hierarchy import makeResolver
from txdane.testing import Hierarchy, buildHierarchy
from txdane.validation import ADTrustingResolver


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


@pytest.mark.parametrize(
    "rdtype", ["ANY", "AXFR", "IXFR", "OPT", "RRSIG", "MAILA", "MAILB", "TSIG", 255, 46]
)
def test_metaTypesRefused(hierarchy: Hierarchy, rdtype: str | int) -> None:
    """
    Meta-types and RRSIG name no RRset that can be validated (ANY with a substituted NSEC
    would read as "secure: no data" for a name that has data): both resolvers refuse them
    with a clear error, before asking anything, by text or by number, cached or not.
    """
    resolver, querier = makeResolver(hierarchy)
    trusting = ADTrustingResolver(EngineQuerier.forHierarchy(hierarchy), "::1", clock=Clock())
    for lookup in (resolver.lookup, trusting.lookup):
        for _ in range(2):
            with pytest.raises(ValueError, match="cannot look up type"):
                lookup("www.example.test.", rdtype)
    assert querier.queries == []

"""
The validator against the signed test hierarchy: every case of L{txdane.testing.CASES}.
"""

from __future__ import annotations

import dns.name
import dns.rcode
import pytest

from tests.validation.fakes import makeResolver, resolve
from txdane.status import Status
from txdane.testing import CASES, Case, Hierarchy, buildHierarchy


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.name}{c.rdtype}")
def test_case(hierarchy: Hierarchy, case: Case) -> None:
    resolver, querier = makeResolver(hierarchy)
    answer = resolve(resolver, case.name, case.rdtype)
    assert answer.status is case.status, str(answer)
    assert dns.rcode.to_text(answer.rcode) == case.rcode
    assert all(q[2] and q[3] for q in querier.queries), "every query must set DO and CD"
    if case.status is Status.SECURE:
        assert answer.ede is None
        assert answer.trustChain[0].zone == dns.name.root
        assert answer.trustChain[0].anchored
    else:
        assert answer.reason
    if case.status is Status.BOGUS:
        assert answer.ede is not None

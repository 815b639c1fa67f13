"""
C{txdane lookup --json}, run with the validator on the signed test hierarchy, reports for every
case the status, EDE code and records the API gives.
"""

from __future__ import annotations

import argparse
import io
import json
from typing import Any

import pytest
from twisted.internet.defer import Deferred

from tests.validation.fakes import makeResolver, resolve
from txdane.cli import ExitStatus, lookup
from txdane.status import Status
from txdane.testing import CASES, Case, Hierarchy, buildHierarchy


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


EXIT = {
    Status.SECURE: ExitStatus.OK,
    Status.INSECURE: ExitStatus.INSECURE,
    Status.BOGUS: ExitStatus.BOGUS,
    Status.INDETERMINATE: ExitStatus.INDETERMINATE,
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.name}{c.rdtype}")
def test_jsonMatchesTheAPI(hierarchy: Hierarchy, case: Case) -> None:
    resolver, _ = makeResolver(hierarchy)
    api = resolve(resolver, case.name, case.rdtype)
    parser = argparse.ArgumentParser()
    lookup.addArguments(parser)
    options = parser.parse_args(["--json", case.name, case.rdtype])
    out, err = io.StringIO(), io.StringIO()
    fresh, _ = makeResolver(hierarchy)
    box: list[Any] = []
    Deferred.fromCoroutine(lookup.execute(fresh, options, out, err)).addBoth(box.append)
    report = json.loads(out.getvalue())
    assert report["status"] == str(api.status) == str(case.status)
    assert report["ede"] == api.ede
    assert len(report["records"]) == len(api.records)
    assert box[0] == EXIT[api.status]

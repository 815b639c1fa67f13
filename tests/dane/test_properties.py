"""
Property tests: TLSA text and wire forms round-trip, and the matcher never raises nor
authenticates a server on records that do not describe it.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txdane.dane.matching import CheckOutcome, MatchOptions, verifyChain
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import TLSARecord
from txdane.errors import TLSAFormatError

from .certs import Hierarchy, hierarchy

records = st.builds(
    TLSARecord,
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(min_size=1, max_size=80),
)
likely = st.builds(
    TLSARecord,
    st.integers(0, 4),
    st.integers(0, 2),
    st.integers(0, 3),
    st.one_of(
        st.binary(min_size=32, max_size=32),
        st.binary(min_size=64, max_size=64),
        st.binary(min_size=1, max_size=200),
    ),
)


@functools.cache
def _hierarchy() -> Hierarchy:
    return hierarchy("example.com")


@given(records)
def test_textAndWireRoundTrip(record: TLSARecord) -> None:
    assert TLSARecord.fromText(str(record)) == record
    assert TLSARecord.fromText(f"{record.mnemonic} {record.data.hex()}") == record
    if {1: 32, 2: 64}.get(record.matchingType, len(record.data)) == len(record.data):
        assert TLSARecord.fromRdata(record.toRdata()) == record
    else:
        with pytest.raises(TLSAFormatError, match="needs"):
            record.toRdata()
    assert record.shortText().startswith(f"{record.usage} {record.selector} {record.matchingType} ")


@settings(max_examples=60, deadline=None)
@given(st.lists(likely, min_size=1, max_size=6))
def test_randomRecordsNeverAuthenticate(chosen: list[TLSARecord]) -> None:
    h = _hierarchy()
    result = verifyChain(
        chosen,
        [h.leaf.cert, h.intermediate.cert, h.root.cert],
        MatchOptions(referenceNames=("example.com",), trust=PKIXTrust((h.root.cert,))),
    )
    assert not result.verified
    assert len(result.checks) == len(chosen)
    assert all(c.outcome is not CheckOutcome.MATCHED for c in result.checks)
    assert result.summary()

"""
Property test: flipping any bits of any response a lookup depends on never produces a secure
answer with other data than the genuine one, nor turns secure data into insecure data.
"""

from __future__ import annotations

import dns.exception
import dns.message
import dns.name
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, fail, succeed

from tests.validation.fakes import EngineQuerier, makeResolver
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import DNSError
from txdane.validation import Answer, LookupFailedError

QUESTIONS = [
    ("_443._tcp.www.example.test.", "TLSA"),
    ("host.wild.nsec3.test.", "A"),
    ("nx.example.test.", "A"),
    ("nodata.nsec3.test.", "TXT"),
    ("alias.example.test.", "A"),
    ("www.unsigned.test.", "A"),
]


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy()


class FlippingQuerier(EngineQuerier):
    """
    Flips bits in the wire form of the C{target}th response.
    """

    def __init__(self, base: EngineQuerier, target: int, offset: int, mask: int) -> None:
        super().__init__(base.responder)
        self.target, self.offset, self.mask = target, offset, mask

    def query(self, name, rdtype, rdclass="IN", **flags) -> Deferred:
        index = len(self.queries)
        results: list[dns.message.Message] = []
        super().query(name, rdtype, rdclass, **flags).addCallback(results.append)
        response = results[0]
        if index != self.target:
            return succeed(response)
        wire = bytearray(response.to_wire())
        position = 12 + self.offset % max(1, len(wire) - 12)  # leave the header alone
        wire[position] ^= self.mask
        try:
            return succeed(dns.message.from_wire(bytes(wire)))
        except (dns.exception.DNSException, ValueError) as e:
            return fail(DNSError(f"malformed: {e}"))


def run(resolver) -> Answer | LookupFailedError:
    box: list[object] = []
    resolver.lookup(resolver.question[0], resolver.question[1]).addBoth(box.append)
    result = box[0]
    if isinstance(result, Answer):
        return result
    error = result.value  # type: ignore[attr-defined]
    assert isinstance(error, LookupFailedError), error
    return error


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(QUESTIONS),
    st.integers(0, 12),
    st.integers(0, 4000),
    st.integers(1, 255),
)
def test_flippedBitsNeverGiveForgedSecureData(hierarchy, question, target, offset, mask) -> None:
    genuine, _ = makeResolver(hierarchy)
    genuine.question = question  # type: ignore[attr-defined]
    baseline = run(genuine)
    assert isinstance(baseline, Answer)
    resolver, querier = makeResolver(hierarchy)
    resolver.querier = FlippingQuerier(querier, target, offset, mask)
    resolver.question = question  # type: ignore[attr-defined]
    result = run(resolver)
    if isinstance(result, Answer) and result.status is baseline.status is Status.SECURE:
        assert result.rcode == baseline.rcode
        assert sorted(map(str, result.records)) == sorted(map(str, baseline.records))
        assert result.canonicalName == baseline.canonicalName
    if isinstance(result, Answer) and result.status is Status.SECURE:
        assert baseline.status is Status.SECURE, (str(baseline), str(result))
    if isinstance(result, Answer) and baseline.status is Status.SECURE:
        # No downgrade: secure data tampered with is bogus (or the lookup fails), never
        # insecure or indeterminate.
        assert result.status in (Status.SECURE, Status.BOGUS), str(result)

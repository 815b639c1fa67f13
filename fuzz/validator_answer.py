"""
Fuzz the validator on arbitrary answers: one response of a lookup (which one, the first
byte says) is replaced by arbitrary bytes; the others come from the signed test hierarchy.
The lookup ends in an answer or a L{LookupFailedError}, never another exception or a hang,
and a secure answer is always the honest one.

    python fuzz/validator_answer.py -runs=100000
"""

from __future__ import annotations

import sys
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.rdatatype
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.server.service import responderForZones
    from txdane.status import Status
    from txdane.transport import DNSError
    from txdane.validation import Answer, LookupFailedError, TrustAnchors, ValidatingResolver

from fuzz._fixed import NOW as _NOW
from fuzz._fixed import canonicalWire, fixedHierarchy

_HIERARCHY = fixedHierarchy()
_RESPONDER = responderForZones(_HIERARCHY.zones.values())
_ANCHORS = TrustAnchors.fromRRsets([_HIERARCHY.trustAnchor])
_QUESTIONS = [
    ("_443._tcp.www.example.test.", "TLSA"),
    ("_443._tcp.www.nsec3.test.", "TLSA"),
    ("nx.nsec3.test.", "A"),
    ("host.wild.example.test.", "A"),
    ("alias.example.test.", "A"),
    ("www.redirect.example.test.", "A"),
    ("www.unsigned.test.", "A"),
    ("nodata.example.test.", "TXT"),
]


def _honest(name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, want_dnssec=True, id=0x5EED)
    wire = _RESPONDER.respondWire(query.to_wire(), tcp=True)
    assert wire is not None
    return dns.message.from_wire(wire)


class _Querier:
    def __init__(self, target: int, data: bytes) -> None:
        self.target, self.data, self.count = target, data, 0

    def query(self, name, rdtype, rdclass="IN", **flags) -> Deferred[dns.message.Message]:
        index, self.count = self.count, self.count + 1
        if index != self.target:
            return succeed(_honest(name, rdtype))
        try:
            return succeed(dns.message.from_wire(self.data))
        except (dns.exception.DNSException, ValueError) as e:
            return fail(DNSError(f"malformed: {e}"))


def _lookup(querier: object, name: str, rdtype: str) -> object:
    clock = Clock()
    clock.advance(_NOW)
    resolver = ValidatingResolver(querier, trustAnchors=_ANCHORS, clock=clock)  # type: ignore[arg-type]
    results: list[object] = []
    resolver.lookup(name, rdtype).addBoth(results.append)
    assert results, "the lookup never finished"
    return getattr(results[0], "value", results[0])


_BASELINE = {q: _lookup(_Querier(-1, b""), *q) for q in _QUESTIONS}


def _records(answer: Answer) -> list[str]:
    return sorted(r.to_text() for r in answer.records)


def testOneInput(data: bytes) -> str:
    if len(data) < 2:
        return "short"
    question = _QUESTIONS[data[0] % len(_QUESTIONS)]
    result = _lookup(_Querier(data[1] % 8, data[2:]), *question)
    if isinstance(result, LookupFailedError):
        assert not result.reason.startswith("cannot validate:"), result.reason
        return "failed"
    assert isinstance(result, Answer), repr(result)
    if result.status is Status.SECURE:
        honest = _BASELINE[question]
        assert isinstance(honest, Answer) and honest.secure, (str(honest), str(result))
        assert result.rcode == honest.rcode and _records(result) == _records(honest), str(result)
    return result.status.name.lower()


class _Recorder(_Querier):
    def __init__(self) -> None:
        super().__init__(-1, b"")
        self.asked: list[tuple[dns.name.Name, dns.rdatatype.RdataType]] = []

    def query(self, name, rdtype, rdclass="IN", **flags) -> Deferred[dns.message.Message]:
        self.asked.append((name, dns.rdatatype.RdataType.make(rdtype)))
        return super().query(name, rdtype)


def seeds() -> list[bytes]:
    """
    For each question and position, the honest response at that position.
    """
    out = []
    for index, (name, rdtype) in enumerate(_QUESTIONS):
        recorder = _Recorder()
        _lookup(recorder, name, rdtype)
        for position, key in enumerate(recorder.asked[:8]):
            out.append(bytes([index, position]) + canonicalWire(_honest(*key)))
    return out


if __name__ == "__main__":
    main(testOneInput, seeds())

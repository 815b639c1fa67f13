"""
The validator's cost: a cold validation of a TLSA record in a zone three delegations below the
root (., test., example.test., deep.example.test.), against the floor of the raw signature
checks that validation needs, measured in the same run; and warm-cache lookups per second.

The recursive resolver is replaced by recorded responses (already parsed), so the numbers are
the validator's own CPU time: chain of trust, zone cuts, denial proofs, bookkeeping.

Run: python bench/validate.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dns.dnssec
import dns.message
import dns.name
import dns.rdataset
import dns.rdatatype
import dns.zone
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from txdane.server.service import responderForZones
from txdane.server.signing import KSK_FLAGS, SigningKey, SigningOptions, signZone
from txdane.testing import TLSA_RDATA, buildHierarchy
from txdane.validation import Answer, TrustAnchors, ValidatingResolver, rrsig

NAME = "_443._tcp.www.deep.example.test."
DEEP = "deep.example.test."
COLD_ROUNDS = 300
WARM_SECONDS = 1.0
#: Windows of warm lookups: the best is printed, the one the rest of the machine disturbed least.
WARM_WINDOWS = 3


class ReplayQuerier:
    """
    Answers each query with a response recorded beforehand, already parsed.
    """

    def __init__(self, responses: dict[tuple[dns.name.Name, int], dns.message.Message]) -> None:
        self.responses = responses

    def query(self, name: Any, rdtype: Any, rdclass: Any = None, **flags: Any) -> Deferred:
        return succeed(self.responses[(name, int(rdtype))])


class RecordingQuerier:
    """
    Asks the hierarchy's answer engine and keeps every response.
    """

    def __init__(self, zones: Any) -> None:
        self.responder = responderForZones(zones)
        self.responses: dict[tuple[dns.name.Name, int], dns.message.Message] = {}

    def query(self, name: Any, rdtype: Any, rdclass: Any = None, **flags: Any) -> Deferred:
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        response = self.responder.respond(query)
        response = dns.message.from_wire(response.to_wire())
        self.responses[(name, int(rdtype))] = response
        return succeed(response)


def lookup(resolver: ValidatingResolver) -> Answer:
    results: list[Any] = []
    resolver.lookup(NAME, "TLSA").addBoth(results.append)
    answer = results[0]
    assert isinstance(answer, Answer), answer
    return answer


def main() -> None:
    # The test hierarchy, plus a signed zone below example.test.
    now = int(time.time())
    key = SigningKey.generate(flags=KSK_FLAGS)
    hierarchy = buildHierarchy(
        now=now,
        extraRecords={
            "example.test.": [
                f"{DEEP} 3600 IN NS ns1.test.",
                f"{DEEP} 3600 IN DS {key.ds(DEEP).to_text()}",
            ]
        },
    )
    deep = dns.zone.from_text(
        f"$ORIGIN {DEEP}\n$TTL 300\n"
        "@ IN SOA ns1.test. hostmaster.test. 1 7200 3600 1209600 300\n"
        "@ IN NS ns1.test.\n"
        f"_443._tcp.www IN TLSA {TLSA_RDATA}\n",
        DEEP,
        relativize=False,
    )
    deep = signZone(deep, [key], SigningOptions(now - 3600, now + 30 * 86400))
    zones = [*hierarchy.zones.values(), deep]
    clock = Clock()
    clock.advance(hierarchy.now)
    anchors = TrustAnchors.fromRRsets([hierarchy.trustAnchor])

    # Record the responses, and every signature check validation makes.
    # (each as the arguments of the dnspython check that does the same: the floor).
    recorder = RecordingQuerier(zones)
    checks: list[tuple[Any, ...]] = []
    original = rrsig.checkWithKey

    def recording(signed: Any, sig: Any, key: Any, zone: Any, now: float) -> None:
        keyset = dns.rdataset.Rdataset(key.rdclass, dns.rdatatype.DNSKEY)
        keyset.add(key)
        inside = min(max(now, sig.inception), sig.expiration)
        checks.append((signed.rrset, sig, {zone: keyset}, inside))
        original(signed, sig, key, zone, now)

    rrsig.checkWithKey = recording  # type: ignore[assignment]
    try:
        answer = lookup(ValidatingResolver(recorder, trustAnchors=anchors, clock=clock))
    finally:
        rrsig.checkWithKey = original
    assert answer.secure and answer.exists, str(answer)
    replay = ReplayQuerier(recorder.responses)

    def cold() -> None:
        lookup(ValidatingResolver(replay, trustAnchors=anchors, clock=clock))

    def floor() -> None:
        for rrset, sig, keys, inside in checks:
            dns.dnssec.validate_rrsig(
                rrset, sig, keys, now=inside, policy=dns.dnssec.allow_all_policy
            )

    cold()
    floor()
    coldTimes, floorTimes = [], []
    for _ in range(COLD_ROUNDS):
        start = time.process_time()
        cold()
        coldTimes.append(time.process_time() - start)
        start = time.process_time()
        floor()
        floorTimes.append(time.process_time() - start)
    coldTime = sorted(coldTimes)[len(coldTimes) // 2]
    floorTime = sorted(floorTimes)[len(floorTimes) // 2]

    warm = ValidatingResolver(replay, trustAnchors=anchors, clock=clock)
    lookup(warm)
    rates = []
    for _ in range(WARM_WINDOWS):
        count = 0
        start = time.perf_counter()
        deadline = start + WARM_SECONDS
        while time.perf_counter() < deadline:
            for _ in range(1000):
                warm.lookup(NAME, "TLSA")
            count += 1000
        rates.append(count / (time.perf_counter() - start))
    perSecond = max(rates)

    print(
        f"cold validation of {NAME} TLSA: {coldTime * 1000:.2f} ms CPU, {len(checks)} "
        f"signature checks, {len(recorder.responses)} queries (median of {COLD_ROUNDS})"
    )
    print(f"floor, the same {len(checks)} raw signature checks: {floorTime * 1000:.2f} ms CPU")
    print(
        f"warm-cache lookups: {perSecond:,.0f} per second, the best of {WARM_WINDOWS} windows"
        f" of {WARM_SECONDS:g} s (target >= 1,000,000)"
    )
    print("cold validation CPU time over the raw signature checks it needs (target <= 1.6)")
    print(f"ratio: {coldTime / floorTime:.2f}")


if __name__ == "__main__":
    main()

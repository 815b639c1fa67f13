"""
Property tests of the NSEC and NSEC3 proofs on random zones: a proof built from a zone's
whole chain denies exactly the names and types the zone does not have.
"""

from __future__ import annotations

import base64

import dns.name
import dns.rdata
import dns.rdatatype
from hypothesis import given, settings
from hypothesis import strategies as st

from txdane.status import Status
from txdane.validation import nsec, nsec3
from txdane.validation.limits import ValidationLimits

ZONE = dns.name.from_text("z.")
LABELS = st.sampled_from(["a", "b", "c", "ab", "ba", "x", "zz"])
NAMES = st.lists(LABELS, min_size=1, max_size=3).map(
    lambda labels: dns.name.from_text(".".join(labels), ZONE)
)


def existing(names: set[dns.name.Name]) -> set[dns.name.Name]:
    """
    The names that exist: the owners and every ancestor up to the apex (empty non-terminals).
    """
    out = {ZONE}
    for name in names:
        while name != ZONE:
            out.add(name)
            name = name.parent()
    return out


def nsecChain(names: set[dns.name.Name]) -> list[tuple[dns.name.Name, object]]:
    owners = sorted(names | {ZONE})
    chain: list[tuple[dns.name.Name, object]] = []
    for i, owner in enumerate(owners):
        nextName = owners[(i + 1) % len(owners)]
        types = "SOA NS NSEC RRSIG" if owner == ZONE else "A NSEC RRSIG"
        chain.append((owner, dns.rdata.from_text("IN", "NSEC", f"{nextName} {types}")))
    return chain


def nsec3Chain(names: set[dns.name.Name]) -> list[tuple[dns.name.Name, object]]:
    hashed = {}
    for name in existing(names):
        if name == ZONE:
            types = "SOA NS NSEC3PARAM RRSIG"
        elif name in names:
            types = "A RRSIG"
        else:
            types = ""
        hashed[nsec3.nsec3Hash(name, b"", 0)] = types
    ordered = sorted(hashed)
    chain: list[tuple[dns.name.Name, object]] = []
    for i, digest in enumerate(ordered):
        nextHash = base64.b32hexencode(ordered[(i + 1) % len(ordered)]).decode()
        owner = dns.name.from_text(base64.b32hexencode(digest).decode(), ZONE)
        rdata = dns.rdata.from_text("IN", "NSEC3", f"1 0 0 - {nextHash} {hashed[digest]}")
        chain.append((owner, rdata))
    return chain


@settings(max_examples=150, deadline=None)
@given(st.sets(NAMES, min_size=1, max_size=8), NAMES)
def test_nsecProofsAreSound(names: set[dns.name.Name], query: dns.name.Name) -> None:
    chain = nsecChain(names)
    exists = query in existing(names)
    nx = nsec.proveNXDomain(query, chain, ZONE)  # type: ignore[arg-type]
    assert (nx.status is Status.SECURE) == (not exists), nx.reason
    noA = nsec.proveNoData(query, dns.rdatatype.A, chain, ZONE)  # type: ignore[arg-type]
    # NODATA for A holds only at an empty non-terminal (or the apex, which has no A).
    assert (noA.status is Status.SECURE) == (exists and query not in names), noA.reason


@settings(max_examples=150, deadline=None)
@given(st.sets(NAMES, min_size=1, max_size=6), NAMES)
def test_nsec3ProofsAreSound(names: set[dns.name.Name], query: dns.name.Name) -> None:
    limits = ValidationLimits(maxNSEC3RecordsPerProof=100)
    exists = query in existing(names)
    proof = nsec3.NSEC3Proof.check(nsec3Chain(names), ZONE, limits)  # type: ignore[arg-type]
    assert isinstance(proof, nsec3.NSEC3Proof)
    nx = nsec3.proveNXDomain(query, proof)
    assert (nx.status is Status.SECURE) == (not exists), nx.reason
    noA = nsec3.proveNoData(query, dns.rdatatype.A, proof)
    assert (noA.status is Status.SECURE) == (exists and query not in names), noA.reason

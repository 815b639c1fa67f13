"""
The policy cache: memory and one JSON file per domain; and the resolver's use of it on a
fake clock, with a resolver answering from a table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.testing import MemoryReactorClock

from txdane.mtasts import MTASTSPolicy, PolicyCache, PolicyFailure, PolicyResolver, parsePolicy
from txdane.mtasts.cache import CACHE_FORMAT
from txdane.status import Status

from ..fakeresolver import FakeResolver, answer

T = TypeVar("T")


def fired(d: Deferred[T]) -> T:
    """
    The result of a Deferred that has fired.
    """
    results: list[T] = []
    d.addCallback(results.append)
    assert results, "the Deferred has not fired"
    return results[0]


TEXT = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 100\n"


def policy(policyId: str = "a1", fetched: float = 1000.0, text: str = TEXT) -> MTASTSPolicy:
    return parsePolicy(text, policyId, fetched)


def test_memoryOnly() -> None:
    cache = PolicyCache(None)
    assert cache.get("example.com") is None
    cache.put("example.com", policy())
    assert cache.get("example.com") == policy()
    assert cache.path("example.com") is None


def test_fileWrittenAndRead(tmp_path: Path) -> None:
    """
    A policy written by one cache is read by another over the same directory, and nothing
    but the domain's file is left there.
    """
    directory = tmp_path / "mta-sts"
    PolicyCache(directory).put("example.com", policy())
    assert sorted(p.name for p in directory.iterdir()) == ["example.com.json"]
    data = json.loads((directory / "example.com.json").read_text())
    assert data == {
        "format": CACHE_FORMAT,
        "domain": "example.com",
        "id": "a1",
        "fetched": 1000.0,
        "policy": TEXT,
    }
    assert PolicyCache(directory).get("example.com") == policy()


def test_fileReplaced(tmp_path: Path) -> None:
    cache = PolicyCache(tmp_path)
    cache.put("example.com", policy("a1"))
    cache.put("example.com", policy("a2"))
    assert PolicyCache(tmp_path).get("example.com") == policy("a2")
    assert [p.name for p in tmp_path.iterdir()] == ["example.com.json"]


@pytest.mark.parametrize("name", ["../evil", "Example.com", "example.com.", "a/b", ""])
def test_onlyHostNamesOnDisk(tmp_path: Path, name: str) -> None:
    """
    Only a domain as the resolver writes it (a host name, lower case, no final dot) gets a
    file: no name can reach outside the directory.
    """
    directory = tmp_path / "cache"
    cache = PolicyCache(directory)
    cache.put(name, policy())
    assert cache.get(name) == policy()
    assert cache.path(name) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "format": CACHE_FORMAT,
        "domain": "example.com",
        "id": "a1",
        "fetched": 1000.0,
        "policy": TEXT,
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not ...}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b'{"format": 1, "domain": "example.com", "id": "a1", "fetch',
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"a string"',
        json.dumps(_entry(format=2)).encode(),
        json.dumps(_entry(domain="example.net")).encode(),
        json.dumps(_entry(id="not-an-id")).encode(),
        json.dumps(_entry(id=7)).encode(),
        json.dumps(_entry(fetched="yesterday")).encode(),
        json.dumps(_entry(fetched=True)).encode(),
        # json reads these: a policy fetched "at infinity" would never expire.
        json.dumps(_entry(fetched=float("nan"))).encode(),
        json.dumps(_entry(fetched=float("inf"))).encode(),
        json.dumps(_entry(policy="version: STSv2\n")).encode(),
        json.dumps(_entry(policy=["version: STSv1"])).encode(),
        json.dumps(_entry(policy=...)).encode(),
        json.dumps(_entry(id=...)).encode(),
    ],
)
def test_corruptFileIgnored(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "example.com.json").write_bytes(content)
    assert PolicyCache(tmp_path).get("example.com") is None


def test_unreadableDirectoryEntryIgnored(tmp_path: Path) -> None:
    (tmp_path / "example.com.json").mkdir()
    assert PolicyCache(tmp_path).get("example.com") is None


def test_unwritableDirectory(tmp_path: Path) -> None:
    """
    A cache file that cannot be written: the policy is still kept in memory.
    """
    notADirectory = tmp_path / "file"
    notADirectory.write_text("")
    cache = PolicyCache(notADirectory)
    cache.put("example.com", policy())
    assert cache.get("example.com") == policy()


def test_memoryBounded(tmp_path: Path) -> None:
    """
    Past C{size} domains the oldest leave memory; with a directory they are read again.
    """
    inMemory = PolicyCache(None, size=2)
    onDisk = PolicyCache(tmp_path, size=2)
    for cache in (inMemory, onDisk):
        for domain in ("a.example", "b.example", "c.example"):
            cache.put(domain, policy())
    assert inMemory.get("a.example") is None
    assert inMemory.get("c.example") == policy()
    assert onDisk.get("a.example") == policy()


def world(
    txt: str | None = "v=STSv1; id=a1", status: Status = Status.SECURE
) -> tuple[MemoryReactorClock, FakeResolver]:
    reactor = MemoryReactorClock()
    reactor.advance(1050)
    records = (f'"{txt}"',) if txt is not None else ()
    resolver = FakeResolver(
        {
            ("_mta-sts.example.com.", "TXT"): answer(
                "TXT", *records, name="_mta-sts.example.com.", status=status
            ),
            ("mta-sts.example.com.", "A"): answer("A", "192.0.2.1", name="mta-sts.example.com."),
            ("mta-sts.example.com.", "AAAA"): answer("AAAA", name="mta-sts.example.com."),
        }
    )
    return reactor, resolver


def test_cachedFileUsedWithoutFetch(tmp_path: Path) -> None:
    """
    After a restart, a policy cached on disk under the record's id is used as it is:
    nothing is dialled (it is not due for a refresh: fetched less than half its max_age
    ago).
    """
    PolicyCache(tmp_path).put("example.com", policy(fetched=1001.0))
    reactor, resolver = world()
    result = fired(
        PolicyResolver(reactor, resolver, cacheDirectory=tmp_path).policyFor("example.com")
    )
    assert (result.policy, result.fromCache, result.failure) == (policy(fetched=1001.0), True, None)
    assert reactor.tcpClients == []


def test_expiredPolicyFetchedAgain(tmp_path: Path) -> None:
    """
    At its C{fetched + max_age} a cached policy is stale: it is fetched again although the
    id did not change, and not used when that fetch fails (here: it never connects, and
    the deadline passes).
    """
    PolicyCache(tmp_path).put("example.com", policy())
    reactor, resolver = world()
    reactor.advance(49.9)
    policies = PolicyResolver(reactor, resolver, cacheDirectory=tmp_path, timeout=10)
    assert fired(policies.policyFor("example.com")).fromCache
    reactor.advance(0.1)
    pending = policies.policyFor("example.com")
    assert not pending.called
    assert [(host, port) for host, port, *_ in reactor.tcpClients] == [("192.0.2.1", 443)]
    reactor.advance(10)
    outcome = fired(pending)
    assert (outcome.policy, outcome.failure) == (None, PolicyFailure.FETCH_ERROR)
    assert "no policy within 10 s" in outcome.reason
    assert not reactor.getDelayedCalls()


def test_noRecordCachedPolicyApplies(tmp_path: Path) -> None:
    PolicyCache(tmp_path).put("example.com", policy())
    reactor, resolver = world(txt=None)
    outcome = fired(
        PolicyResolver(reactor, resolver, cacheDirectory=tmp_path).policyFor("example.com")
    )
    assert (outcome.policy, outcome.fromCache) == (policy(), True)


@pytest.mark.parametrize("status", [Status.BOGUS, Status.INDETERMINATE])
def test_unusableAnswer(tmp_path: Path, status: Status) -> None:
    reactor, resolver = world(status=status)
    outcome = fired(
        PolicyResolver(reactor, resolver, cacheDirectory=tmp_path).policyFor("example.com")
    )
    assert outcome.policy is None
    assert f"is {status.value}" in outcome.reason
    PolicyCache(tmp_path).put("example.com", policy())
    outcome = fired(
        PolicyResolver(reactor, resolver, cacheDirectory=tmp_path).policyFor("example.com")
    )
    assert (outcome.policy, outcome.fromCache) == (policy(), True)
    assert reactor.tcpClients == []


def test_fetchedAheadOfTheClockIsExpired() -> None:
    """
    A policy that claims to be fetched more than a day after now (a cache file dated ahead)
    counts as expired, so it is fetched again rather than kept for as long again.
    """
    assert not policy(fetched=1000.0).expired(1000.0)
    assert not policy(fetched=1000.0 + 86400).expired(1000.0)
    assert policy(fetched=1000.0 + 86401).expired(1000.0)


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        ({"trustRoots": "sts.pem"}, TypeError, "trustRoots must be a PKIXTrust"),
        ({"trustRoots": []}, TypeError, "trustRoots must be a PKIXTrust"),
        ({"resolver": object()}, TypeError, "resolver must be a validating resolver"),
    ],
)
def test_resolverArgumentsChecked(arguments: dict[str, Any], error: type, message: str) -> None:
    """
    Arguments that every fetch would fail on, which reads as "no policy" (so that an
    enforced policy never applies), are refused when the resolver is made.
    """
    reactor, resolver = world()
    given: dict[str, Any] = {"resolver": resolver}
    given.update(arguments)
    with pytest.raises(error, match=message):
        PolicyResolver(reactor, **given)


@pytest.mark.parametrize("domain", [None, b"example.com", 7])
def test_policyForNeverRaises(domain: object) -> None:
    """
    C{policyFor} never fails, as documented: what is not a domain name gets an outcome
    without a policy that says so.
    """
    reactor, resolver = world()
    outcome = fired(PolicyResolver(reactor, resolver).policyFor(domain))  # type: ignore[arg-type]
    assert outcome.policy is None and "is not a domain name" in outcome.reason


@pytest.mark.parametrize("size", [0, -1, "5", True])
def test_cacheSizeChecked(size: object) -> None:
    with pytest.raises(ValueError, match="is not a whole number above 0"):
        PolicyCache(None, size)  # type: ignore[arg-type]

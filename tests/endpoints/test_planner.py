"""
Tests for L{txdane.endpoints.planner}: the one walk over the hosts of a plan.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.defer import Deferred, succeed

from txdane.endpoints.errors import AllHostsFailedError, SRVConnectError
from txdane.endpoints.planner import Candidate, HostFailed, HostWalk

HOSTS = [Candidate("a.example.test", 25), Candidate("b.example.test", 25)]


def run(walk: HostWalk, attempt: Any, **kw: Any) -> Any:
    d = Deferred.fromCoroutine(walk.next(attempt, **kw))
    outcome: list[Any] = []
    d.addBoth(outcome.append)
    return outcome[0]


def test_firstSuccessWins() -> None:
    walk = HostWalk("MX of example.test", HOSTS)
    tried: list[str] = []

    def attempt(candidate: Candidate) -> Any:
        tried.append(candidate.host)
        if candidate.host == "a.example.test":
            raise HostFailed(ValueError("refused"), "192.0.2.1")
        return succeed(candidate.host)

    assert run(walk, attempt) == "b.example.test"
    assert tried == ["a.example.test", "b.example.test"]
    (attempt0,) = walk.attempts
    assert (attempt0.host, attempt0.address, str(attempt0.error)) == (
        "a.example.test",
        "192.0.2.1",
        "refused",
    )
    assert str(attempt0) == "a.example.test:25 (192.0.2.1): ValueError: refused"


def test_everyHostFailed() -> None:
    walk = HostWalk("xmpp-client of example.test", HOSTS, SRVConnectError)

    def attempt(candidate: Candidate) -> Any:
        raise ConnectionRefusedError(candidate.host)

    failure = run(walk, attempt)
    assert isinstance(failure.value, SRVConnectError)
    assert isinstance(failure.value, AllHostsFailedError)
    assert [a.host for a in failure.value.attempts] == ["a.example.test", "b.example.test"]
    assert str(failure.value).startswith("xmpp-client of example.test: every host failed: ")


def test_noHost() -> None:
    failure = run(HostWalk("MX of example.test", []), lambda c: succeed(c))
    assert str(failure.value) == "MX of example.test: no host to try"


def test_finalErrorStopsTheWalk() -> None:
    """
    An error the caller calls final (a 5xx to a message) ends the walk at once: it is noted
    and raised, and the next host is not tried.
    """
    walk = HostWalk("MX of example.test", HOSTS)
    tried: list[str] = []

    def attempt(candidate: Candidate) -> Any:
        tried.append(candidate.host)
        raise HostFailed(PermissionError("550 no such user"), None)

    failure = run(walk, attempt, final=lambda e: isinstance(e, PermissionError))
    assert isinstance(failure.value, PermissionError)
    assert tried == ["a.example.test"] and len(walk.attempts) == 1
    assert walk.remaining == HOSTS[1:]


@pytest.mark.parametrize("name", ["smtp", "imap"])
def test_candidateCarriesItsStartTLS(name: str) -> None:
    assert Candidate("a.example.test", 25, starttls=name).starttls == name

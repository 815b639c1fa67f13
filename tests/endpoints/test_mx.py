"""
Tests for L{txdane.endpoints.mx}: the rules of RFC 5321 section 5, RFC 7505 and RFC 7672 that
L{planMX} applies to a validated MX lookup, in memory.
"""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
import pytest
from twisted.internet.defer import Deferred

from txdane.dane.decision import Policy
from txdane.endpoints.errors import MXLookupError, NoSuchDomainError, NullMXError
from txdane.endpoints.mx import planMX
from txdane.errors import LookupFailedError
from txdane.status import Status

from ..fakeresolver import FakeResolver, answer

DOMAIN = "example.org."


def plan(*rdatas: str, **kw: Any) -> Any:
    """
    The outcome of L{planMX} for an MX answer of C{rdatas} (C{status}, C{rcode} ... as for
    L{answer}): the candidates, or the exception.
    """
    shuffle = kw.pop("shuffle", lambda group: group.sort())
    given = kw.pop("given", None)
    table = {
        (DOMAIN, "MX"): given if given is not None else answer("MX", *rdatas, name=DOMAIN, **kw)
    }
    outcome: list[Any] = []
    d = Deferred.fromCoroutine(planMX(FakeResolver(table), "example.org", shuffle=shuffle))
    d.addBoth(outcome.append)
    result = outcome[0]
    return result.value if hasattr(result, "value") else result


def test_preferenceOrder() -> None:
    candidates = plan("20 b.example.org.", "10 c.example.org.", "20 a.example.org.")
    assert [c.host for c in candidates] == ["c.example.org", "a.example.org", "b.example.org"]
    for candidate in candidates:
        assert (candidate.port, candidate.policy, candidate.starttls) == (25, Policy.SMTP, "smtp")
        assert candidate.nameSecure and candidate.domain == "example.org"
        assert candidate.extraNames == ("example.org",)


def test_equalPreferencesShuffled() -> None:
    """
    Hosts of one preference are ordered by the random source given, and only they are.
    """
    groups: list[list[Any]] = []

    def shuffle(group: list[Any]) -> None:
        groups.append(list(group))
        group.reverse()

    candidates = plan(
        "10 a.example.org.", "10 b.example.org.", "20 c.example.org.", shuffle=shuffle
    )
    assert [c.host for c in candidates] == ["b.example.org", "a.example.org", "c.example.org"]
    assert [len(g) for g in groups] == [2, 1]


def test_nullMX() -> None:
    error = plan("0 .")
    assert isinstance(error, NullMXError) and error.permanent
    # "." beside real hosts means nothing: it is dropped.
    assert [c.host for c in plan("0 .", "10 a.example.org.")] == ["a.example.org"]


def test_noSuchDomain() -> None:
    error = plan(rcode=dns.rcode.NXDOMAIN)
    assert isinstance(error, NoSuchDomainError) and error.permanent


def test_implicitMX() -> None:
    """
    No MX records: the domain itself is the mail host (RFC 5321 section 5.1).
    """
    (candidate,) = plan()
    assert (candidate.host, candidate.port, candidate.starttls) == ("example.org", 25, "smtp")


def test_insecureHostsNotVouchedFor() -> None:
    """
    From an insecure MX RRset the hosts are still used, but their names could be forged: a
    DANE-authenticated connection to them is "trusted", not "verified".
    """
    candidates = plan("10 a.example.org.", status=Status.INSECURE)
    assert [c.nameSecure for c in candidates] == [False]


@pytest.mark.parametrize("status", [Status.BOGUS, Status.INDETERMINATE])
def test_bogusDefers(status: Status) -> None:
    error = plan("10 a.example.org.", status=status)
    assert isinstance(error, MXLookupError) and not error.permanent
    assert error.status is status


def test_failedLookupDefers() -> None:
    failed = LookupFailedError(dns.name.from_text(DOMAIN), dns.rdatatype.MX, "timeout", 22)
    error = plan(given=failed)
    assert isinstance(error, MXLookupError) and not error.permanent
    assert (error.status, error.ede) == (None, 22)


def test_numericExchangeUnusable() -> None:
    """
    An exchange whose name is an IP address (with a zone or not) is no host name (RFC 5321
    section 5.1): it keeps its place, marked unusable with the reason, so that it is never
    dialled and the error lists it; a name of digits that is no address (C{1.2.3.}) is a
    host name like any other.
    """
    candidates = plan(
        "10 127.0.0.1.",
        "20 ::1.",
        "30 fe80::1%eth0.",
        "40 127.0.0.1%lo.",
        "50 a.example.org.",
        "60 1.2.3.",
    )
    assert [c.host for c in candidates] == [
        "127.0.0.1",
        "::1",
        "fe80::1%eth0",
        "127.0.0.1%lo",
        "a.example.org",
        "1.2.3",
    ]
    assert candidates[0].unusable == (
        "MX host 127.0.0.1.: a numeric name, not a host name (RFC 5321 section 5.1)"
    )
    assert [c.unusable is not None for c in candidates] == [True] * 4 + [False] * 2
    for candidate in candidates[:4]:
        assert f"MX host {candidate.host}.: a numeric name" in str(candidate.unusable)

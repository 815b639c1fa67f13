"""
The TLSRPT record (RFC 8460 section 3): parsing it, and finding it with a validating
resolver.
"""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
import pytest
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from txdane.errors import LookupFailedError
from txdane.status import Status
from txdane.tlsrpt import (
    TLSRPTError,
    TLSRPTLookupError,
    lookupReportAddresses,
    parseTLSRPTRecord,
)

from ..fakeresolver import FakeResolver, answer

NAME = "_smtp._tls.example.com."


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "v=TLSRPTv1; rua=mailto:a@x,https://r.example/tlsrpt",
            ("mailto:a@x", "https://r.example/tlsrpt"),
        ),
        ("v=TLSRPTv1;rua=mailto:reports@example.com", ("mailto:reports@example.com",)),
        ("v=TLSRPTv1 ;\trua=mailto:reports@example.com;", ("mailto:reports@example.com",)),
        (
            "v=TLSRPTv1; rua=mailto:a@example.com , https://r.example:8443/x?y=1",
            ("mailto:a@example.com", "https://r.example:8443/x?y=1"),
        ),
        ("v=TLSRPTv1; ext=value; rua=mailto:a@x", ("mailto:a@x",)),
        ("v=TLSRPTv1; rua=mailto:tls%2Brpt@example.com", ("mailto:tls%2Brpt@example.com",)),
        ("v=TLSRPTv1; rua=MAILTO:a@x", ("MAILTO:a@x",)),
        ("v=TLSRPTv1; rua=urn:example:later", ("urn:example:later",)),
    ],
)
def test_parse(text: str, expected: tuple[str, ...]) -> None:
    assert parseTLSRPTRecord(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("rua=mailto:a@x; v=TLSRPTv1", "does not start with v=TLSRPTv1"),
        ("v=TLSRPTv2; rua=mailto:a@x", "does not start with v=TLSRPTv1"),
        ("V=tlsrptv1; rua=mailto:a@x", "does not start with v=TLSRPTv1"),
        ("v=TLSRPTv1x; rua=mailto:a@x", "does not start with v=TLSRPTv1"),
        ("v=TLSRPTv1", "has no rua"),
        ("v=TLSRPTv1; ext=1", "has no rua"),
        ("v=TLSRPTv1; rua=mailto:a@x; rua=mailto:b@x", "rua is given twice"),
        ("v=TLSRPTv1;; rua=mailto:a@x", "'' is not a field"),
        ("v=TLSRPTv1; rua", "'rua' is not a field"),
        ("v=TLSRPTv1; rua=", "'' is not a URI"),
        ("v=TLSRPTv1; rua=mailto:a@x,", "'' is not a URI"),
        ("v=TLSRPTv1; rua=reports@example.com", "is not a URI"),
        ("v=TLSRPTv1; rua=mailto:a@x b@x", "is not a URI"),
        ("v=TLSRPTv1; rua=mailto:nobody", "names no mail address"),
        ("v=TLSRPTv1; rua=mailto:@example.com", "names no mail address"),
        ("v=TLSRPTv1; rua=https:///tlsrpt", "names no host"),
        ("v=TLSRPTv1; rua=mailto:a@x; ext=a b", "is not a field"),
        ("v=TLSRPTv1; rua=mailto:a@x; -ext=1", "is not a field"),
        ("v=TLSRPTv1; rua=mailto:a@x; ext=caf\u00e9", "is not a field"),
    ],
)
def test_parseRefused(text: str, message: str) -> None:
    with pytest.raises(TLSRPTError, match=message):
        parseTLSRPTRecord(text)


def outcome(d: Deferred[Any]) -> Any:
    """
    What a Deferred that has fired holds: its result, or its failure's exception.
    """
    results: list[Any] = []
    d.addBoth(results.append)
    (value,) = results
    return value.value if isinstance(value, Failure) else value


def lookup(*rdatas: str, **kw: Any) -> tuple[Any, FakeResolver]:
    resolver = FakeResolver({(NAME, "TXT"): answer("TXT", *rdatas, name=NAME, **kw)})
    return outcome(lookupReportAddresses(resolver, "Example.COM.")), resolver


def test_lookup() -> None:
    """
    The record at C{_smtp._tls.DOMAIN}: its strings joined, other TXT records ignored, an
    insecure answer used.
    """
    found, resolver = lookup(
        '"v=spf1 -all"', '"v=TLSRPTv1; rua=mailto:tlsrpt@" "example.com,https://r.example/t"'
    )
    assert found == ("mailto:tlsrpt@example.com", "https://r.example/t")
    assert resolver.asked == [(NAME, "TXT")]
    found, _ = lookup('"v=TLSRPTv1; rua=mailto:a@example.com"', status=Status.INSECURE)
    assert found == ("mailto:a@example.com",)


def test_lookupNone() -> None:
    """
    No name, no TXT record, or none that is a TLSRPT record: no destination.
    """
    assert lookup(rcode=dns.rcode.NXDOMAIN)[0] == ()
    assert lookup()[0] == ()
    assert lookup('"v=spf1 -all"', '"v=TLSRPTv10; rua=mailto:a@x"')[0] == ()


def test_lookupNotUsable() -> None:
    """
    Several TLSRPT records, or a malformed one: the domain takes no report.
    """
    found, _ = lookup('"v=TLSRPTv1; rua=mailto:a@x"', '"v=TLSRPTv1; rua=mailto:b@x"')
    assert type(found) is TLSRPTError
    assert str(found) == f"{NAME} has 2 TLSRPT records, so none is used"
    found, _ = lookup('"v=TLSRPTv1; rua=nowhere"')
    assert type(found) is TLSRPTError
    assert "is not a URI" in str(found)


@pytest.mark.parametrize("status", [Status.BOGUS, Status.INDETERMINATE])
def test_lookupUntrusted(status: Status) -> None:
    """
    A bogus or indeterminate answer is not used: try again later.
    """
    found, _ = lookup('"v=TLSRPTv1; rua=mailto:evil@attacker.example"', status=status, ede=6)
    assert isinstance(found, TLSRPTLookupError)
    assert str(found).startswith(f"{NAME} TXT: {status} (EDE 6)")


def test_lookupFailed() -> None:
    error = LookupFailedError(dns.name.from_text(NAME), dns.rdatatype.TXT, "the resolver timed out")
    resolver = FakeResolver({(NAME, "TXT"): error})
    found = outcome(lookupReportAddresses(resolver, "example.com"))
    assert isinstance(found, TLSRPTLookupError)
    assert "the resolver timed out" in str(found)
    assert found.__cause__ is error

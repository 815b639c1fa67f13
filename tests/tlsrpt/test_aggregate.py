"""
The daily reports, field by field against RFC 8460 section 4.
"""

from __future__ import annotations

import json
import re

from txdane.tlsrpt import ResultType, aggregate

from .samples import START, STS, TLSA, result

ORG = "mail.example.org"
CONTACT = "tlsrpt@example.org"


def test_onePerDomainAndDay() -> None:
    """
    One report per policy domain and UTC day, by day then domain, with the report's fields
    in the RFC's order.
    """
    results = [
        result(domain="example.net"),
        result(when=START + 86400 + 1),
        result(),
        result(domain="example.net", when=START + 86399),
    ]
    reports = aggregate(results, ORG, CONTACT)
    assert [(r["date-range"]["start-datetime"], r["report-id"]) for r in reports] == [
        ("2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z_example.com@mail.example.org"),
        ("2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z_example.net@mail.example.org"),
        ("2024-05-02T00:00:00Z", "2024-05-02T00:00:00Z_example.com@mail.example.org"),
    ]
    report = reports[0]
    assert list(report) == [
        "organization-name",
        "date-range",
        "contact-info",
        "report-id",
        "policies",
    ]
    assert report["organization-name"] == ORG
    assert report["contact-info"] == CONTACT
    assert report["date-range"] == {
        "start-datetime": "2024-05-01T00:00:00Z",
        "end-datetime": "2024-05-01T23:59:59Z",
    }
    assert reports[1]["policies"][0]["summary"]["total-successful-session-count"] == 2
    assert len({r["report-id"] for r in reports}) == 3
    json.dumps(reports)


def test_reportIDs() -> None:
    """
    The report-id is the same each time the report is made; an organization name that could
    not stand in it is replaced by a UUID made from it.
    """
    named = aggregate([result()], "Example Mail Org", CONTACT)[0]["report-id"]
    assert re.fullmatch(
        r"2024-05-01T00:00:00Z_example\.com@[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-"
        r"[0-9a-f]{12}",
        named,
    )
    assert aggregate([result()], "Example Mail Org", CONTACT)[0]["report-id"] == named
    assert aggregate([result()], "Other Org", CONTACT)[0]["report-id"] != named


def test_tlsaPolicy() -> None:
    """
    A DANE policy: its TLSA records as the policy-string, no mx-host; the counts of
    successful and failed sessions.
    """
    results = [
        result(),
        result(),
        result(ResultType.CERTIFICATE_NOT_TRUSTED, reason="no TLSA record matched"),
    ]
    (report,) = aggregate(results, ORG, CONTACT)
    (policy,) = report["policies"]
    assert list(policy) == ["policy", "summary", "failure-details"]
    assert policy["policy"] == {
        "policy-type": "tlsa",
        "policy-string": list(TLSA),
        "policy-domain": "example.com",
    }
    assert policy["summary"] == {
        "total-successful-session-count": 2,
        "total-failure-session-count": 1,
    }
    assert policy["failure-details"] == [
        {
            "result-type": "certificate-not-trusted",
            "sending-mta-ip": "192.0.2.1",
            "receiving-mx-hostname": "mx1.example.com",
            "receiving-ip": "198.51.100.25",
            "failed-session-count": 1,
            "failure-reason-code": "no TLSA record matched",
        }
    ]


def test_stsPolicy() -> None:
    """
    An MTA-STS policy: its lines as the policy-string, the patterns of its C{mx:} lines as
    mx-host.
    """
    (report,) = aggregate([result(policyType="sts", strings=STS)], ORG, CONTACT)
    assert report["policies"][0]["policy"] == {
        "policy-type": "sts",
        "policy-string": list(STS),
        "policy-domain": "example.com",
        "mx-host": ["mx1.example.com", "*.backup.example.com"],
    }


def test_noPolicyFound() -> None:
    """
    Without a policy, no policy-string.
    """
    (report,) = aggregate(
        [result(policyType="no-policy-found", strings=(), reason="x")], ORG, CONTACT
    )
    assert report["policies"][0]["policy"] == {
        "policy-type": "no-policy-found",
        "policy-domain": "example.com",
    }


def test_policiesGrouped() -> None:
    """
    Sessions under the same policy (type and strings) share its entry; another record set of
    the same domain (another MX host's TLSA records) is another policy.
    """
    other = ("3 1 1 " + "ef" * 32,)
    results = [
        result(),
        result(strings=other, mx="mx2.example.com"),
        result(ResultType.STARTTLS_NOT_SUPPORTED),
        result(strings=other, mx="mx2.example.com"),
        result(policyType="sts", strings=STS),
    ]
    (report,) = aggregate(results, ORG, CONTACT)
    summaries = [
        (p["policy"]["policy-type"], p["policy"]["policy-string"][0], p["summary"])
        for p in report["policies"]
    ]
    assert summaries == [
        (
            "sts",
            STS[0],
            {"total-successful-session-count": 1, "total-failure-session-count": 0},
        ),
        (
            "tlsa",
            TLSA[0],
            {"total-successful-session-count": 1, "total-failure-session-count": 1},
        ),
        (
            "tlsa",
            other[0],
            {"total-successful-session-count": 2, "total-failure-session-count": 0},
        ),
    ]


def test_failureDetailsGrouped() -> None:
    """
    Failures with the same result type, addresses, host and reason are one detail with their
    count; any difference makes another. Unknown addresses and hosts are left out; a reason
    that is a URI is additional-information.
    """
    expired = ResultType.CERTIFICATE_EXPIRED
    results = [
        result(expired, reason="expired"),
        result(expired, reason="expired"),
        result(expired, reason="expired", sending="192.0.2.2"),
        result(expired, reason="expired", receiving="198.51.100.26"),
        result(expired, reason="expired", mx="mx2.example.com"),
        result(expired, reason="expired on 2024-04-30"),
        result(ResultType.VALIDATION_FAILURE, reason="expired"),
        result(ResultType.STARTTLS_NOT_SUPPORTED, receiving=None, sending=None),
        result(ResultType.STARTTLS_NOT_SUPPORTED, receiving=None, sending=None),
        result(
            ResultType.DNSSEC_INVALID,
            mx=None,
            receiving=None,
            reason="https://reports.example.org/why?id=1",
        ),
        result(),
    ]
    (report,) = aggregate(results, ORG, CONTACT)
    (policy,) = report["policies"]
    assert policy["summary"] == {
        "total-successful-session-count": 1,
        "total-failure-session-count": 10,
    }
    details = policy["failure-details"]
    assert sum(d["failed-session-count"] for d in details) == 10
    assert [
        (
            d["result-type"],
            d.get("sending-mta-ip"),
            d.get("receiving-mx-hostname"),
            d.get("receiving-ip"),
            d["failed-session-count"],
        )
        for d in details
    ] == [
        ("certificate-expired", "192.0.2.1", "mx1.example.com", "198.51.100.25", 2),
        ("certificate-expired", "192.0.2.1", "mx1.example.com", "198.51.100.25", 1),
        ("certificate-expired", "192.0.2.1", "mx1.example.com", "198.51.100.26", 1),
        ("certificate-expired", "192.0.2.1", "mx2.example.com", "198.51.100.25", 1),
        ("certificate-expired", "192.0.2.2", "mx1.example.com", "198.51.100.25", 1),
        ("dnssec-invalid", "192.0.2.1", None, None, 1),
        ("starttls-not-supported", None, "mx1.example.com", None, 2),
        ("validation-failure", "192.0.2.1", "mx1.example.com", "198.51.100.25", 1),
    ]
    assert details[0]["failure-reason-code"] == "expired"
    assert details[1]["failure-reason-code"] == "expired on 2024-04-30"
    assert list(details[5]) == [
        "result-type",
        "sending-mta-ip",
        "failed-session-count",
        "additional-information",
    ]
    assert details[5]["additional-information"] == "https://reports.example.org/why?id=1"
    assert list(details[6]) == ["result-type", "receiving-mx-hostname", "failed-session-count"]


def test_onlyDaysOver() -> None:
    """
    With C{now}, a day is reported once it is over.
    """
    results = [result(when=START + 10), result(when=START + 86400 + 10)]
    days = [r["date-range"]["start-datetime"] for r in aggregate(results, ORG, CONTACT)]
    assert days == ["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"]
    for now, expected in [
        (START + 86399, []),
        (START + 86400, ["2024-05-01T00:00:00Z"]),
        (START + 2 * 86400 - 1, ["2024-05-01T00:00:00Z"]),
        (START + 2 * 86400, days),
    ]:
        reports = aggregate(results, ORG, CONTACT, now=now)
        assert [r["date-range"]["start-datetime"] for r in reports] == expected


def test_nothing() -> None:
    assert aggregate([], ORG, CONTACT) == []

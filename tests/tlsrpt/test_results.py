"""
The result types of RFC 8460 section 4.3, and one session's result as delivery records it.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from txdane.tlsrpt import POLICY_TYPES, ResultType, SessionResult, TLSRPTError

from .samples import START, result

#: RFC 8460 section 4.3: the negotiation failures (4.3.1) and the policy failures of DANE
#: (4.3.2.1) and MTA-STS (4.3.2.2), as the reports spell them.
RFC_RESULT_TYPES = {
    "starttls-not-supported",
    "certificate-host-mismatch",
    "certificate-expired",
    "certificate-not-trusted",
    "validation-failure",
    "tlsa-invalid",
    "dnssec-invalid",
    "dane-required",
    "sts-policy-fetch-error",
    "sts-policy-invalid",
    "sts-webpki-invalid",
}


def test_resultTypes() -> None:
    """
    One member per result type of the RFC, valued and printed as the RFC names it.
    """
    assert {member.value for member in ResultType} == RFC_RESULT_TYPES
    assert len(ResultType) == 11
    assert ResultType("dane-required") is ResultType.DANE_REQUIRED
    assert str(ResultType.CERTIFICATE_NOT_TRUSTED) == "certificate-not-trusted"
    assert ResultType.STARTTLS_NOT_SUPPORTED.name == "STARTTLS_NOT_SUPPORTED"


def test_policyTypes() -> None:
    assert POLICY_TYPES == ("tlsa", "sts", "no-policy-found")


def test_successAndFailure() -> None:
    assert result().successful
    failed = result(ResultType.TLSA_INVALID, reason="no usable record")
    assert not failed.successful
    assert failed.failureReason == "no usable record"


def test_normalized() -> None:
    """
    Domain and MX host in lower case without the final dot; the policy strings a tuple; a
    result type given by its name.
    """
    strings: Any = ["3 1 1 ab"]
    name: Any = "tlsa-invalid"
    session = SessionResult("Example.COM.", "tlsa", strings, "MX1.Example.com.", None, None, name)
    assert session.policyDomain == "example.com"
    assert session.mxHost == "mx1.example.com"
    assert session.policyStrings == ("3 1 1 ab",)
    assert session.result is ResultType.TLSA_INVALID
    assert (session.failureReason, session.when) == ("", 0.0)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"policyType": "dane"}, "policyType 'dane'"),
        ({"domain": ""}, "policyDomain is empty"),
        ({"domain": "."}, "policyDomain '.' is not a domain name"),
        ({"when": float("nan")}, "not a time"),
    ],
)
def test_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        result(**change)
    with pytest.raises(ValueError):
        result("no-such-result")  # type: ignore[arg-type]


def test_day() -> None:
    """
    The UTC day of the session, whatever the local time zone.
    """
    assert result(when=START).day == datetime.date(2024, 5, 1)
    assert result(when=START + 86399.9).day == datetime.date(2024, 5, 1)
    assert result(when=START + 86400).day == datetime.date(2024, 5, 2)
    assert result(when=START - 0.5).day == datetime.date(2024, 4, 30)


def test_json() -> None:
    """
    The JSON object names every attribute, and reads back the same.
    """
    session = result(ResultType.STS_POLICY_INVALID, policyType="sts", reason="bad max_age")
    data = session.toJSON()
    assert data == {
        "policyDomain": "example.com",
        "policyType": "sts",
        "policyStrings": list(session.policyStrings),
        "mxHost": "mx1.example.com",
        "sendingIP": "192.0.2.1",
        "receivingIP": "198.51.100.25",
        "result": "sts-policy-invalid",
        "failureReason": "bad max_age",
        "when": START + 3600,
    }
    assert SessionResult.fromJSON(json.loads(json.dumps(data))) == session
    success = result(mx=None, sending=None, receiving=None)
    assert SessionResult.fromJSON(success.toJSON()) == success
    assert success.toJSON()["result"] is None


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("policyDomain", None, "policyDomain: None is not a string"),
        ("policyType", "dane", "policyType 'dane'"),
        ("policyStrings", "3 1 1 ab", "policyStrings"),
        ("policyStrings", [1], "policyStrings"),
        ("mxHost", 25, "mxHost: 25 is not a string"),
        ("result", "certificate-lost", "certificate-lost"),
        ("when", "yesterday", "when: 'yesterday' is not a number"),
        ("when", True, "when: True is not a number"),
        ("failureReason", None, "failureReason"),
    ],
)
def test_jsonRefused(field: str, value: object, message: str) -> None:
    data = result().toJSON()
    data[field] = value
    with pytest.raises(TLSRPTError, match=message):
        SessionResult.fromJSON(data)


def test_fieldsChecked() -> None:
    """
    A result the store could not read back, which would stop the reports of every domain of
    its day, is refused when made; an internationalized domain is kept in A-labels, and a
    failure reason on one line.
    """
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"receivingIP": 12}, ValueError, "receivingIP 12 is not an IP address"),
        ({"sendingIP": "mx.example"}, ValueError, "sendingIP 'mx.example' is not an IP"),
        ({"failureReason": None}, TypeError, "failureReason must be a str"),
        ({"when": "today"}, TypeError, "when must be POSIX seconds"),
        ({"mxHost": "mx/1.example"}, ValueError, "mxHost 'mx/1.example' is not a domain"),
    ]
    for kw, error, message in cases:
        fields: dict[str, Any] = {
            "policyDomain": "example.com",
            "policyType": "tlsa",
            "policyStrings": (),
            "mxHost": None,
            "sendingIP": None,
            "receivingIP": "192.0.2.1",
        }
        fields.update(kw)
        fields.setdefault("result", None)
        with pytest.raises(error, match=message):
            SessionResult(**fields)
    session = SessionResult(
        "M\u00fcnchen.example", "tlsa", (), None, None, "2001:db8::1", None, "a\r\nb  c"
    )
    assert session.policyDomain == "xn--mnchen-3ya.example"
    assert session.failureReason == "a b c"

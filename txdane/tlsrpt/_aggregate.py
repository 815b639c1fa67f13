"""
The reports of session results (L{aggregate}): one per recipient domain and UTC day, as
RFC 8460 section 4 defines them (JSON objects, ready for C{json.dumps}).

Tests: C{tests/tlsrpt/test_aggregate.py}.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Iterable
from typing import Any

from txdane.tlsrpt._results import SessionResult

#: A token that may stand after the C{@} of a report-id as it is: a dot-atom (RFC 5322).
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _reportIdentity(organization: str) -> str:
    """
    What follows the C{@} of a report-id: the organization's name when it is a dot-atom (a
    domain, say), else a UUID made from it (version 5), so that a report's id is the same
    each time it is made.
    """
    if _DOT_ATOM.fullmatch(organization):
        return organization
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"txdane-tlsrpt:{organization}"))


def _dayStart(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc)


def _rfc3339(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _mxPatterns(policyStrings: Iterable[str]) -> list[str]:
    """
    The C{mx:} patterns of an MTA-STS policy's lines.
    """
    patterns = []
    for line in policyStrings:
        key, colon, value = line.partition(":")
        if colon and key.strip() == "mx" and value.strip():
            patterns.append(value.strip())
    return patterns


def _isURI(text: str) -> bool:
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*://\S+$", text) is not None


def _failureDetail(key: tuple[Any, ...], count: int) -> dict[str, Any]:
    result, sendingIP, mxHost, receivingIP, reason = key
    detail: dict[str, Any] = {"result-type": result}
    if sendingIP is not None:
        detail["sending-mta-ip"] = sendingIP
    if mxHost is not None:
        detail["receiving-mx-hostname"] = mxHost
    if receivingIP is not None:
        detail["receiving-ip"] = receivingIP
    detail["failed-session-count"] = count
    if reason:
        detail["additional-information" if _isURI(reason) else "failure-reason-code"] = reason
    return detail


def _sortKey(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if part is None else str(part) for part in key)


def aggregate(
    results: Iterable[SessionResult],
    organization: str,
    contact: str,
    *,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """
    The reports of C{results} (RFC 8460 section 4): one per policy domain and UTC day, in
    order of day then domain. Each is a JSON object:

      - C{organization-name} (C{organization}), C{contact-info} (C{contact});
      - C{date-range}: the day, C{start-datetime} C{YYYY-MM-DDT00:00:00Z} and
        C{end-datetime} C{YYYY-MM-DDT23:59:59Z};
      - C{report-id}: C{YYYY-MM-DDT00:00:00Z_DOMAIN@ORGANIZATION}, the organization's name
        when it is a dot-atom (a domain name) else a UUID made from it: the same report
        gets the same id each time it is made;
      - C{policies}: one per distinct policy (type and strings), each with C{policy}
        (C{policy-type}, C{policy-string} unless empty, C{policy-domain}, and for C{sts}
        C{mx-host}, the patterns of its C{mx:} lines), C{summary}
        (C{total-successful-session-count}, C{total-failure-session-count}) and
        C{failure-details}: one per distinct C{result-type}, C{sending-mta-ip},
        C{receiving-mx-hostname}, C{receiving-ip} and reason, with its
        C{failed-session-count}; a reason is C{additional-information} when it is a URI,
        else C{failure-reason-code}; unknown addresses and host names are left out.

    @param now: report only the days over by then (POSIX seconds); C{None}: every day.
    """
    groups: dict[tuple[datetime.date, str], list[SessionResult]] = {}
    for result in results:
        day = result.day
        if now is not None and (_dayStart(day) + datetime.timedelta(days=1)).timestamp() > now:
            continue
        groups.setdefault((day, result.policyDomain), []).append(result)
    identity = _reportIdentity(organization)
    reports = []
    for (day, domain), sessions in sorted(groups.items()):
        start = _dayStart(day)
        policies: dict[tuple[str, tuple[str, ...]], list[SessionResult]] = {}
        for session in sessions:
            policies.setdefault((session.policyType, session.policyStrings), []).append(session)
        reports.append(
            {
                "organization-name": organization,
                "date-range": {
                    "start-datetime": _rfc3339(start),
                    "end-datetime": _rfc3339(start + datetime.timedelta(seconds=86399)),
                },
                "contact-info": contact,
                "report-id": f"{_rfc3339(start)}_{domain}@{identity}",
                "policies": [
                    _policy(domain, policyType, strings, policies[(policyType, strings)])
                    for policyType, strings in sorted(policies)
                ],
            }
        )
    return reports


def _policy(
    domain: str, policyType: str, strings: tuple[str, ...], sessions: list[SessionResult]
) -> dict[str, Any]:
    policy: dict[str, Any] = {"policy-type": policyType}
    if strings:
        policy["policy-string"] = list(strings)
    policy["policy-domain"] = domain
    if policyType == "sts":
        policy["mx-host"] = _mxPatterns(strings)
    failures: dict[tuple[Any, ...], int] = {}
    for session in sessions:
        if session.result is not None:
            key = (
                session.result.value,
                session.sendingIP,
                session.mxHost,
                session.receivingIP,
                session.failureReason,
            )
            failures[key] = failures.get(key, 0) + 1
    failed = sum(failures.values())
    return {
        "policy": policy,
        "summary": {
            "total-successful-session-count": len(sessions) - failed,
            "total-failure-session-count": failed,
        },
        "failure-details": [
            _failureDetail(key, failures[key]) for key in sorted(failures, key=_sortKey)
        ],
    }

"""
Session results for the tests: a day, a domain, its policies.
"""

from __future__ import annotations

import datetime
from typing import Any

from txdane.tlsrpt import ResultType, SessionResult

#: The day most results fall on, and its first second (POSIX).
DAY = datetime.date(2024, 5, 1)
START = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc).timestamp()

TLSA = ("3 1 1 " + "ab" * 32, "2 1 1 " + "cd" * 32)
STS = ("version: STSv1", "mode: enforce", "mx: mx1.example.com", "mx: *.backup.example.com")


def result(
    result: ResultType | None = None,
    *,
    domain: str = "example.com",
    policyType: str = "tlsa",
    strings: tuple[str, ...] = TLSA,
    mx: str | None = "mx1.example.com",
    sending: str | None = "192.0.2.1",
    receiving: str | None = "198.51.100.25",
    reason: str = "",
    when: float = START + 3600,
    **kw: Any,
) -> SessionResult:
    """
    A session result, successful unless C{result} says why it failed.
    """
    return SessionResult(
        policyDomain=domain,
        policyType=policyType,
        policyStrings=strings,
        mxHost=mx,
        sendingIP=sending,
        receivingIP=receiving,
        result=result,
        failureReason=reason,
        when=when,
        **kw,
    )

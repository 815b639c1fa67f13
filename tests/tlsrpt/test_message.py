"""
A report as a mail message (RFC 8460 section 5.3), read back with the email package.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import json
from email.message import EmailMessage
from typing import Any

import pytest

from txdane.tlsrpt import (
    ResultType,
    aggregate,
    compressReport,
    reportFileName,
    reportMessage,
)

from .samples import START, result

SUBMITTER = "mail.example.org"


def report() -> dict[str, Any]:
    (made,) = aggregate(
        [result(), result(ResultType.CERTIFICATE_EXPIRED, reason="expired")],
        "Example Org",
        "tlsrpt@example.org",
    )
    return made


def parse(message: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_message() -> None:
    made = report()
    raw = reportMessage(
        made,
        submitter=SUBMITTER,
        sender="tlsrpt@example.org",
        recipient="reports@example.com",
        date=START + 2 * 86400,
    )
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    message = parse(raw)
    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "tlsrpt"
    assert message["From"] == "tlsrpt@example.org"
    assert message["To"] == "reports@example.com"
    assert message["TLS-Report-Domain"] == "example.com"
    assert message["TLS-Report-Submitter"] == SUBMITTER
    assert message["Subject"] == (
        f"Report Domain: example.com Submitter: {SUBMITTER} Report-ID: <{made['report-id']}>"
    )
    assert message["Date"].datetime.timestamp() == START + 2 * 86400
    assert message["Message-ID"].endswith(f"@{SUBMITTER}>")
    text, attachment = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    words = text.get_content()
    assert "TLS report (RFC 8460) from mail.example.org for example.com" in words
    assert "1 successful and 1 failed" in words
    assert attachment.get_content_type() == "application/tlsrpt+gzip"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment["Content-Transfer-Encoding"] == "base64"
    body = attachment.get_payload(decode=True)
    assert isinstance(body, bytes)
    assert json.loads(gzip.decompress(body)) == made
    begin = int(START)
    assert attachment.get_filename() == (f"{SUBMITTER}!example.com!{begin}!{begin + 86399}.json.gz")
    assert attachment.get_filename() == reportFileName(made, SUBMITTER)


def test_compressed() -> None:
    """
    The same report compresses to the same bytes.
    """
    assert compressReport(report()) == compressReport(report())
    assert json.loads(gzip.decompress(compressReport(report()))) == report()


def test_oneDomain() -> None:
    made = report()
    made["policies"] = []
    with pytest.raises(ValueError, match="not one policy domain"):
        reportMessage(made, submitter=SUBMITTER, sender="a@example.org", recipient="b@x")

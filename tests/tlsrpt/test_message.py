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


def longName(length: int) -> str:
    """
    A domain name of C{length} characters, in labels of at most 63, ending C{.example}.
    """
    rest = length - len(".example")
    labels = []
    while rest > 0:
        size = min(63, rest)
        labels.append("a" * size if rest == size else "a" * (size - 1))
        rest -= len(labels[-1]) + (rest != size)
    name = ".".join(labels) + ".example"
    assert len(name) == length, name
    return name


def rawHeader(message: bytes, name: bytes) -> bytes:
    """
    The header C{name} of C{message} as it is written: its folded lines, CRLF included.
    """
    head = message.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    start = head.index(b"\r\n" + name + b": ") + 2
    end = start
    while True:
        end = head.index(b"\r\n", end) + 2
        if end == len(head) or head[end : end + 1] not in (b" ", b"\t"):
            return head[start:end]


@pytest.mark.parametrize(
    "organization, domain, submitter",
    [
        ("Example Org", "customer-support.example.com", SUBMITTER),
        ("Exämple Örg", "customer-support.example.com", SUBMITTER),
        ("reports.mailhost.example.org", longName(200), longName(200)),
        ("Example Org", longName(253), longName(253)),
    ],
)
def test_subjectOneLine(organization: str, domain: str, submitter: str) -> None:
    """
    The subject is written as RFC 8460 section 5.3 spells it, on one line, with a report-id
    longer than 78 characters too: not as RFC 2047 encoded words, which a receiver matching
    it does not read.
    """
    (made,) = aggregate([result(domain=domain)], organization, "tlsrpt@example.org")
    raw = reportMessage(
        made, submitter=submitter, sender="tlsrpt@example.org", recipient="r@example.com"
    )
    subject = f"Report Domain: {domain} Submitter: {submitter} Report-ID: <{made['report-id']}>"
    assert rawHeader(raw, b"Subject") == f"Subject: {subject}\r\n".encode("ascii")
    assert b"=?" not in raw.split(b"\r\n\r\n", 1)[0]
    message = parse(raw)
    assert message["Subject"] == subject
    assert message["TLS-Report-Domain"] == domain
    assert message["TLS-Report-Submitter"] == submitter
    (_, attachment) = message.iter_parts()
    assert attachment.get_filename() == reportFileName(made, submitter)


def test_subjectFolded() -> None:
    """
    A subject longer than a line may be (998 characters, RFC 5322 section 2.1.1) is folded
    at spaces, still without encoded words, and reads back the same.
    """
    organization = longName(400)
    (made,) = aggregate([result(domain=longName(253))], organization, "tlsrpt@example.org")
    submitter = longName(253)
    raw = reportMessage(
        made, submitter=submitter, sender="tlsrpt@example.org", recipient="r@example.com"
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split(b"\r\n")) <= 998
    assert b"=?" not in head
    assert rawHeader(raw, b"Subject").count(b"\r\n") > 1
    assert parse(raw)["Subject"] == (
        f"Report Domain: {longName(253)} Submitter: {submitter} Report-ID: <{made['report-id']}>"
    )


def test_submitterChecked() -> None:
    """
    The submitter is a domain, as SMTP takes one: an internationalized one is written in
    A-labels everywhere the message names it (the email package could not write it, and
    failed with a C{UnicodeEncodeError}); anything else is a C{ValueError} saying so, where
    a space or an underscore went into the headers, the file name and the C{Message-ID}.
    """
    raw = reportMessage(
        report(), submitter="Bücher.example.", sender="a@example.org", recipient="b@x"
    )
    message = parse(raw)
    assert message["TLS-Report-Submitter"] == "xn--bcher-kva.example"
    assert "Submitter: xn--bcher-kva.example Report-ID" in message["Subject"]
    assert message["Message-ID"].endswith("@xn--bcher-kva.example>")
    (_, attachment) = message.iter_parts()
    assert (attachment.get_filename() or "").startswith("xn--bcher-kva.example!")
    for bad in ("a b", "x_y.example", "x\r\nBcc: y@example.org", "", "-x.example", None):
        with pytest.raises(ValueError, match="submitter"):
            reportMessage(report(), submitter=bad, sender="a@example.org", recipient="b@x")  # type: ignore[arg-type]

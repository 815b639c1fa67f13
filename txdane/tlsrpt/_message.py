"""
A report as it is sent (RFC 8460 section 5): its JSON compressed with gzip
(L{compressReport}), its file name (L{reportFileName}), and the mail message that carries
it (L{reportMessage}).

Tests: C{tests/tlsrpt/test_message.py}.
"""

from __future__ import annotations

import datetime
import gzip
import json
from collections.abc import Mapping
from email import policy as emailPolicy
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any

from txdane.names import mailDomain

#: How the message is written: CRLF line ends, and header lines folded only past 998
#: characters (RFC 5322 section 2.1.1), not past 78 as C{email.policy.SMTP} does: the email
#: package writes a word longer than a line (the C{<ID>} of C{Report-ID: <ID>} often is) as
#: RFC 2047 encoded words, which a receiver matching the subject as RFC 8460 section 5.3
#: spells it does not recognize. So the subject stays one line: its domains and report-id
#: are ASCII (an organization's name that is not a dot-atom is in the id as a UUID).
_POLICY = emailPolicy.SMTP.clone(max_line_length=998)


def _reportDomain(report: Mapping[str, Any]) -> str:
    """
    The one policy domain of a report.

    @raise ValueError: the report has no policy, or policies of several domains.
    """
    domains = {policy["policy"]["policy-domain"] for policy in report.get("policies", ())}
    if len(domains) != 1:
        raise ValueError(f"report {report.get('report-id')!r}: not one policy domain")
    return str(domains.pop())


def _timestamp(text: str) -> int:
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp())


def compressReport(report: Mapping[str, Any]) -> bytes:
    """
    A report as it is sent: its JSON (UTF-8), compressed with gzip (no file name or time in
    the gzip header, so the same report compresses the same each time).
    """
    return gzip.compress(json.dumps(report).encode("utf-8"), mtime=0)


def reportFileName(report: Mapping[str, Any], submitter: str) -> str:
    """
    The file name of a report (RFC 8460 section 5.1):
    C{SUBMITTER!DOMAIN!BEGIN!END.json.gz}, with the date range in POSIX seconds.
    """
    dates = report["date-range"]
    begin = _timestamp(dates["start-datetime"])
    end = _timestamp(dates["end-datetime"])
    return f"{submitter}!{_reportDomain(report)}!{begin}!{end}.json.gz"


def _checkedSubmitter(submitter: object) -> str:
    """
    C{submitter}, the domain of a reporting system, as the report mail names it (in the
    C{TLS-Report-Submitter} header, the subject, the file name and the C{Message-ID}): a
    domain as SMTP takes one (L{mailDomain<txdane.names.mailDomain>}), in ASCII, without a
    final dot.

    @raise ValueError: for anything else, saying why.
    """
    if not isinstance(submitter, str):
        raise ValueError(f"submitter {submitter!r} is not a domain name")
    try:
        return mailDomain(submitter)
    except ValueError as e:
        raise ValueError(f"submitter: {e}") from None


def reportMessage(
    report: Mapping[str, Any],
    *,
    submitter: str,
    sender: str,
    recipient: str,
    date: float | None = None,
) -> bytes:
    """
    A report as a mail message (RFC 8460 section 5.3): C{multipart/report} with
    C{report-type="tlsrpt"}, holding a C{text/plain} part that says what it is and the
    report as C{application/tlsrpt+gzip} (L{compressReport}, base64, named as
    L{reportFileName} says); the headers C{TLS-Report-Domain} and C{TLS-Report-Submitter},
    and the subject C{Report Domain: DOMAIN Submitter: SUBMITTER Report-ID: <ID>}, on one
    line while it fits in 998 characters (then folded at a space). The message is not
    DKIM-signed.

    @param report: a report of L{aggregate}.
    @param submitter: the domain of the reporting system (an internationalized domain is
        written in A-labels).
    @param sender: the address the report comes from (C{From}).
    @param recipient: the address it goes to (C{To}).
    @param date: the message's C{Date}, POSIX seconds (default: now).
    @return: the message, CRLF line ends.
    @raise ValueError: the report has no policy, or policies of several domains; the
        submitter is no domain name.
    """
    submitter = _checkedSubmitter(submitter)
    domain = _reportDomain(report)
    reportID = report["report-id"]
    summary = [policy["summary"] for policy in report["policies"]]
    successful = sum(s["total-successful-session-count"] for s in summary)
    failed = sum(s["total-failure-session-count"] for s in summary)
    dates = report["date-range"]
    message = MIMEMultipart("report", policy=_POLICY, report_type="tlsrpt")
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = f"Report Domain: {domain} Submitter: {submitter} Report-ID: <{reportID}>"
    message["Date"] = formatdate(date, usegmt=True)
    message["Message-ID"] = make_msgid(domain=submitter)
    message["TLS-Report-Domain"] = domain
    message["TLS-Report-Submitter"] = submitter
    message.preamble = "This is an SMTP TLS report (RFC 8460) in MIME format."
    text = (
        f"This is an aggregate TLS report (RFC 8460) from {submitter} for {domain},\n"
        f"from {dates['start-datetime']} to {dates['end-datetime']}: {successful} successful"
        f" and {failed} failed TLS sessions.\n"
        "The report is attached as JSON compressed with gzip.\n"
    )
    message.attach(MIMEText(text, "plain", "us-ascii", policy=_POLICY))
    attachment = MIMEApplication(compressReport(report), "tlsrpt+gzip", policy=_POLICY)
    attachment.add_header(
        "Content-Disposition", "attachment", filename=reportFileName(report, submitter)
    )
    message.attach(attachment)
    return message.as_bytes()

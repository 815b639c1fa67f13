"""
C{txdane tlsrpt DIR --org NAME --contact ADDRESS [--json] [--send --from ADDR] [--keep]}:
the SMTP TLS reports (RFC 8460) of the session results kept in a
L{ReportStore<txdane.tlsrpt.ReportStore>}, one per recipient domain and UTC day.

Prints the verdict first (how many reports, and with C{--send} how many were sent), then each
report; C{--json} prints the reports as JSON instead (see L{outcomesToJSON} for C{--send}).
Only days over for at least L{SETTLE} seconds are reported, unless C{--all}. With C{--send},
each report goes to the destinations of its domain's TLSRPT record, and leaves the store
unless C{--keep}. Exit status: 0 done, 4 some report could not be sent (or the store could
not be read), 2 usage error.

Tests: C{tests/tlsrpt/test_cli.py}, C{tests/tlsrpt/test_send.py}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import time
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from txdane.cli import CommandError, ExitStatus, UsageError
from txdane.cli._common import addResolverArguments, mailAddress, resolverSettings, runOnReactor
from txdane.cli._target import portNumber
from txdane.names import mailDomain
from txdane.tlsrpt import ReportStore, SendOutcome, TLSRPTError, aggregate, sendReports

__all__ = ["SETTLE", "addArguments", "formatReports", "outcomesToJSON", "run"]

#: Seconds a day must have been over before it is reported: a session dated before midnight
#: may be recorded when its delivery ends, at most 30 minutes later with
#: L{txdane.mail.sendMail}'s default bounds.
SETTLE = 3600.0


def addArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", metavar="DIR", help="the report store: where session results are recorded"
    )
    parser.add_argument(
        "--org", required=True, metavar="NAME", help="organization-name of the reports"
    )
    parser.add_argument(
        "--contact",
        required=True,
        metavar="ADDRESS",
        help="contact-info of the reports (a mail address or a URL)",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="also report the days not over yet (today's sessions); not with --send",
    )
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    parser.add_argument(
        "--send",
        action="store_true",
        help="send each report to the destinations of its domain's TLSRPT record (mailto: "
        "by mail with DANE, https: by POST with DANE), then remove it from the store",
    )
    parser.add_argument(
        "--from",
        dest="sender",
        metavar="ADDR",
        help="with --send: the address reports by mail come from",
    )
    parser.add_argument(
        "--submitter",
        metavar="DOMAIN",
        help="with --send: the domain of the reporting system (TLS-Report-Submitter; "
        "default: the domain of --from)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="with --send: keep sent reports in the store"
    )
    parser.add_argument(
        "--port", type=portNumber, default=25, metavar="N", help="SMTP port of the MX hosts (25)"
    )
    addResolverArguments(parser)


def _reportDomain(report: dict[str, Any]) -> str:
    return str(report["policies"][0]["policy"]["policy-domain"])


def _reportDay(report: dict[str, Any]) -> datetime.date:
    return datetime.date.fromisoformat(report["date-range"]["start-datetime"][:10])


def formatReports(
    reports: Sequence[dict[str, Any]], outcomes: Sequence[SendOutcome] | None = None
) -> str:
    """
    The verdict line, then one section per report: its policies with their counts, each
    failure detail, and with C{outcomes} what became of it.
    """
    if not reports:
        return "no report: no session result of a finished day"
    domains = {_reportDomain(report) for report in reports}
    days = sorted(_reportDay(report) for report in reports)
    span = str(days[0]) if days[0] == days[-1] else f"{days[0]} to {days[-1]}"
    verdict = f"{len(reports)} report{'s' if len(reports) != 1 else ''} ({len(domains)} "
    verdict += f"domain{'s' if len(domains) != 1 else ''}, {span})"
    if outcomes is not None:
        verdict += ": " + _sentSummary(reports, outcomes)
    lines = [verdict]
    for report in reports:
        lines.append("")
        lines.append(f"{_reportDomain(report)}  {_reportDay(report)}  {report['report-id']}")
        for entry in report["policies"]:
            policy, summary = entry["policy"], entry["summary"]
            lines.append(f"  policy     {policy['policy-type']}")
            if policy.get("mx-host"):
                lines.append(f"             mx-host {', '.join(policy['mx-host'])}")
            elif policy["policy-type"] == "tlsa":
                for record in policy.get("policy-string", []):
                    lines.append(f"             {_abridged(record)}")
            lines.append(
                f"  sessions   {summary['total-successful-session-count']} successful, "
                f"{summary['total-failure-session-count']} failed"
            )
            for detail in entry["failure-details"]:
                where = detail.get("receiving-mx-hostname", "?")
                if "receiving-ip" in detail:
                    where += f" [{detail['receiving-ip']}]"
                if "sending-mta-ip" in detail:
                    where += f" from {detail['sending-mta-ip']}"
                reason = detail.get("failure-reason-code") or detail.get(
                    "additional-information", ""
                )
                text = f"  failed     {detail['failed-session-count']} {detail['result-type']}"
                text += f"  {where}"
                if reason:
                    text += f": {reason}"
                lines.append(text)
        for outcome in outcomes or ():
            if outcome.reportID == report["report-id"]:
                status, _, detail = outcome.outcome.partition(": ")
                target = f"{outcome.destination}: " if outcome.destination else ""
                lines.append(f"  {status:<10} {target}{detail}")
    return "\n".join(lines)


def _abridged(record: str) -> str:
    """
    A TLSA record with its long digest abridged, as the other subcommands show it.
    """
    return " ".join(
        f"{word[:8]}...{word[-4:]}" if len(word) > 16 else word for word in record.split()
    )


def _sentSummary(reports: Sequence[dict[str, Any]], outcomes: Sequence[SendOutcome]) -> str:
    sent = sum(1 for r in reports if any(o.sent for o in _of(r, outcomes)))
    failed = sum(
        1 for r in reports if not any(o.sent for o in _of(r, outcomes)) and _anyFailed(r, outcomes)
    )
    nowhere = len(reports) - sent - failed
    return f"{sent} sent, {failed} failed, {nowhere} not sent"


def _of(report: dict[str, Any], outcomes: Sequence[SendOutcome]) -> list[SendOutcome]:
    return [o for o in outcomes if o.reportID == report["report-id"]]


def _anyFailed(report: dict[str, Any], outcomes: Sequence[SendOutcome]) -> bool:
    return any(o.failed for o in _of(report, outcomes))


def _status(outcome: SendOutcome) -> str:
    return outcome.outcome.partition(": ")[0]


def outcomesToJSON(
    reports: Sequence[dict[str, Any]], outcomes: Sequence[SendOutcome], status: int
) -> dict[str, Any]:
    """
    The JSON of C{--send}: C{reports} (the report objects sent), C{deliveries} (one object
    per report and destination: C{report_id}, C{destination} (C{""} when the report went
    nowhere), C{status} (C{"sent"}, C{"failed"} or C{"not sent"}), C{detail}) and
    C{exit_status}.
    """
    return {
        "reports": list(reports),
        "deliveries": [
            {
                "report_id": outcome.reportID,
                "destination": outcome.destination,
                "status": _status(outcome),
                "detail": outcome.outcome.partition(": ")[2],
            }
            for outcome in outcomes
        ],
        "exit_status": status,
    }


#: A URI's scheme and the rest (RFC 3986 section 3.1), with no white space.
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")

#: A mail address: a local part and a domain, with no white space.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")


def _checkLine(option: str, text: str) -> None:
    """
    Refuse a control character (a line break among them) in C{text}, given as C{option}:
    it would go into every report's JSON as it is.

    @raise UsageError: naming the option, the text and the character.
    """
    for character in text:
        if unicodedata.category(character) == "Cc":
            raise UsageError(f"{option} {text!r}: a control character ({character!r})")


def checkContact(text: str) -> None:
    """
    Refuse a C{--contact} that is not a mail address or a URI (C{tlsrpt@example.org},
    C{mailto:tlsrpt@example.org}, C{https://example.org/tls}): RFC 8460 section 4.4 makes
    C{contact-info} a string for reaching the party responsible for the report, and the
    command documents it as one of those, so that a typo or a stray line break does not go
    into every report sent.

    @raise UsageError: for an empty one, a control character, or text that is neither.
    """
    if not text.strip():
        raise UsageError("--contact: empty")
    _checkLine("--contact", text)
    if not (_ADDRESS.fullmatch(text) or _URI.fullmatch(text)):
        raise UsageError(
            f"--contact {text!r}: not a mail address or a URI (such as tlsrpt@example.org "
            "or https://example.org/tlsrpt)"
        )


def _check(options: argparse.Namespace) -> None:
    """
    Refuse what cannot be done as asked, before anything is read or sent.
    """
    directory = Path(options.directory)
    if not directory.is_dir():
        why = "not a directory" if directory.exists() else "does not exist"
        raise UsageError(f"{options.directory}: {why}")
    if not options.org.strip():
        raise UsageError("--org: empty")
    _checkLine("--org", options.org)
    checkContact(options.contact)
    if not options.send:
        for given, name in ((options.sender, "--from"), (options.submitter, "--submitter")):
            if given is not None:
                raise UsageError(f"{name} goes with --send")
        if options.keep:
            raise UsageError("--keep goes with --send")
        return
    if options.all:
        raise UsageError("--all is not allowed with --send: a day is reported once it is over")
    if options.sender is None:
        raise UsageError("--send needs --from ADDR, the address reports by mail come from")
    mailAddress("--from", options.sender)
    if options.submitter is not None:
        if not options.submitter.strip(". "):
            raise UsageError("--submitter: empty")
        try:
            mailDomain(options.submitter)
        except ValueError as e:
            raise UsageError(f"--submitter: {e}") from None
    if not 0 < options.port < 65536:
        raise UsageError(f"--port {options.port}: not in 1-65535")


def run(options: argparse.Namespace) -> int:
    _check(options)
    settings = resolverSettings(options) if options.send else None
    store = ReportStore(options.directory)
    try:
        results = store.results()
    except (OSError, TLSRPTError) as e:
        raise CommandError(f"cannot read the store: {e}") from None
    now = None if options.all else time.time() - SETTLE
    reports = aggregate(results, options.org, options.contact, now=now)
    if settings is None:
        if options.json:
            print(json.dumps(reports, indent=2))
        else:
            print(formatReports(reports))
        return ExitStatus.OK
    sender = mailAddress("--from", options.sender)
    submitter = mailDomain(options.submitter or sender.rpartition("@")[2])

    async def main(reactor: Any) -> list[SendOutcome]:
        resolver = settings.build(reactor)
        return await sendReports(
            reactor, resolver, reports, submitter=submitter, sender=sender, port=options.port
        )

    try:
        outcomes = runOnReactor(main) if reports else []
    except Exception as e:
        raise CommandError(f"tlsrpt failed: {e}") from None
    failed = any(_anyFailed(report, outcomes) for report in reports)
    status = ExitStatus.FAILURE if failed else ExitStatus.OK
    # Before anything is printed, so that a report sent leaves the store even when nobody
    # reads what is printed.
    if not options.keep:
        for report in reports:
            mine = _of(report, outcomes)
            # Sent to some destination, or to none at all since the domain takes no report:
            # done. A report that no destination took stays, to be tried again.
            if any(o.sent for o in mine) or not any(o.failed for o in mine):
                store.remove(_reportDay(report), _reportDomain(report))
        store.discardStale()
    if options.json:
        print(json.dumps(outcomesToJSON(reports, outcomes, status), indent=2))
    else:
        print(formatReports(reports, outcomes))
    return status

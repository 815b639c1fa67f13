"""
C{txdane send --from ADDR --to ADDR [--to ADDR ...] [MESSAGE_FILE]}: deliver one message to
the MX hosts of the recipients' domain with DANE (L{txdane.mail.sendMail}).

The addresses, the subject and the message are checked before the reactor starts: a mistake
in them is a usage error (exit status 2), never a deferral or a bounce.

Prints the verdict first (delivered or not, to which host, with which protection), then the
recipients a server refused and each host tried; C{--json} prints one JSON object instead
(see L{resultToJSON}). Exit status: 0 delivered to every recipient, 4 temporary failure
(defer; also a message delivered to some recipients while another was refused with a 4yz
code), 3 permanent failure (bounce; also a message delivered to some recipients while the
others were refused with a 5yz code), 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from txdane.cli import CommandError, ExitStatus, UsageError
from txdane.cli._common import (
    DEFAULT_TIMEOUT,
    addResolverArguments,
    connectErrorText,
    mailAddress,
    makeDirectory,
    readPEMCertificates,
    resolverSettings,
    runOnReactor,
)
from txdane.cli._target import portNumber, wholeNumber
from txdane.endpoints.errors import HostAttempt
from txdane.endpoints.planner import DEFAULT_MAX_HOSTS
from txdane.mail import DeliveryError, DeliveryResult, recipientDomain, sendMail

#: A recipient and the server's reply to it: C{(address, code, reply)}.
_Reply = tuple[str, int, str]


def addArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="sender", required=True, metavar="ADDR", help="sender")
    parser.add_argument(
        "--to",
        dest="recipients",
        action="append",
        required=True,
        metavar="ADDR",
        help="recipient (repeatable; all in one domain)",
    )
    parser.add_argument(
        "--port", type=portNumber, default=25, metavar="N", help="SMTP port of the MX hosts (25)"
    )
    parser.add_argument(
        "--max-hosts",
        type=wholeNumber,
        default=DEFAULT_MAX_HOSTS,
        metavar="N",
        help=f"try at most N MX hosts (default {DEFAULT_MAX_HOSTS}); the others are listed "
        "as skipped",
    )
    parser.add_argument(
        "--tlsrpt",
        metavar="DIR",
        help="record each SMTP session's TLS outcome in the TLS report store DIR, for "
        "'txdane tlsrpt DIR' (RFC 8460)",
    )
    parser.add_argument(
        "--no-mta-sts",
        dest="mtaSTS",
        action="store_false",
        help="do not look up or apply the domain's MTA-STS policy (RFC 8461)",
    )
    parser.add_argument(
        "--mta-sts-cache",
        metavar="DIR",
        help="keep fetched MTA-STS policies in DIR, so that later runs use them (default: "
        "in memory for this run only)",
    )
    parser.add_argument(
        "--ca-file",
        metavar="FILE",
        help="trust the CA certificates of this PEM file for MTA-STS (the policy's HTTPS "
        "server and the MX hosts' certificates) instead of the system's trust store",
    )
    parser.add_argument(
        "--subject",
        metavar="TEXT",
        help="subject of the generated test message (not with a message from MESSAGE_FILE "
        "or standard input)",
    )
    parser.add_argument(
        "--test-message",
        dest="testMessage",
        action="store_true",
        help="send the generated test message even when standard input is not a terminal "
        "(as from cron or CI); not with MESSAGE_FILE",
    )
    parser.add_argument(
        "message",
        metavar="MESSAGE_FILE",
        nargs="?",
        help="the message (RFC 5322); default standard input if it is not a terminal, "
        "else a generated test message",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="also print every host tried")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    addResolverArguments(parser)


def testMessage(sender: str, recipients: list[str], subject: str | None) -> bytes:
    """
    The message sent when none is given.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject or "txdane send: test message"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid()
    message.set_content("A test message sent by txdane send, with DANE where published.\n")
    return message.as_bytes()


#: The characters str.splitlines (and so the email package) takes for line breaks.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def _checkSubject(subject: str) -> None:
    """
    Refuse a C{--subject} that is not one line of text: the email package refuses a header
    with a line break, and a control character would go into the header as it is.

    @raise UsageError: naming the subject and what is wrong with it.
    """
    for character in subject:
        if character in _LINE_BREAKS:
            raise UsageError(f"--subject {subject!r}: a line break; the subject is one line")
        if unicodedata.category(character) == "Cc" and character != "\t":
            raise UsageError(f"--subject {subject!r}: a control character ({character!r})")


def _stdinIsTerminal() -> bool:
    # No standard input at all (closed when txdane started) is no terminal either.
    return sys.stdin is not None and sys.stdin.isatty()


def _readMessage(options: argparse.Namespace, sender: str, recipients: list[str]) -> bytes:
    """
    The message to send: that of C{MESSAGE_FILE}, else of standard input when it is not a
    terminal, else (or with C{--test-message}) the generated test message (L{testMessage}).

    @raise UsageError: for C{MESSAGE_FILE} with C{--test-message}, C{--subject} with a message
        that is not generated, a file that cannot be read, or an empty message: an empty
        standard input (C{</dev/null}, as from cron) is a mistake, never a message to send.
    """
    if options.message is not None:
        if options.testMessage:
            raise UsageError(
                f"--test-message with {options.message}: give MESSAGE_FILE or --test-message"
            )
        if options.subject is not None:
            raise UsageError(
                f"--subject is for the generated test message, not the message of {options.message}"
            )
        if not options.message:
            raise UsageError("MESSAGE_FILE: an empty file name")
        try:
            data = Path(options.message).read_bytes()
        except OSError as e:
            raise UsageError(f"{options.message}: {e.strerror}") from None
        if not data.strip():
            raise UsageError(f"{options.message}: empty, no message to send")
        return data
    if options.testMessage or _stdinIsTerminal():
        return testMessage(sender, recipients, options.subject)
    if options.subject is not None:
        raise UsageError(
            "--subject is for the generated test message, but the message is read from "
            "standard input (not a terminal): add --test-message to send the test message"
        )
    data = sys.stdin.buffer.read() if sys.stdin is not None else b""
    if not data.strip():
        raise UsageError(
            "no message was read from standard input: pipe one in, give MESSAGE_FILE, or add "
            "--test-message to send the generated test message"
        )
    return data


def attemptText(attempt: HostAttempt) -> str:
    """
    One host tried and why it failed, as L{HostAttempt} says it, but a connection that
    could not be made in plain words: C{"mx.example.com:25: connection refused ..."}.
    """
    plain = connectErrorText(attempt.error)
    if plain is None:
        return str(attempt)
    where = f"{attempt.host}:{attempt.port}"
    if attempt.address:
        where += f" ({attempt.address})"
    return f"{where}: {plain}"


def _attemptReason(attempt: HostAttempt) -> str:
    return connectErrorText(attempt.error) or str(attempt.error)


def _failureText(outcome: DeliveryError) -> str:
    """
    The verdict on a delivery that failed, each host's connection error in plain words.
    """
    text = str(outcome)
    for attempt in outcome.tries:
        text = text.replace(str(attempt), attemptText(attempt))
    return text


def _attemptJSON(attempt: HostAttempt) -> dict[str, Any]:
    return {
        "mx": attempt.host,
        "port": attempt.port,
        "address": attempt.address,
        "reason": _attemptReason(attempt),
    }


def _permanent(code: int) -> bool:
    """
    Whether a recipient refused with C{code} is refused for good (5yz), not for now.
    """
    return 500 <= code < 600


def _refusedText(reply: _Reply) -> str:
    address, code, text = reply
    return f"{address}: {code} {text} ({'permanent' if _permanent(code) else 'temporary'})"


def _replyJSON(reply: _Reply) -> dict[str, Any]:
    address, code, text = reply
    return {"address": address, "code": code, "reply": text}


def _refusedJSON(reply: _Reply) -> dict[str, Any]:
    return {**_replyJSON(reply), "permanent": _permanent(reply[1])}


def resultToJSON(outcome: DeliveryResult | DeliveryError) -> dict[str, Any]:
    """
    The stable JSON form: C{delivered} (bool: the message was taken, for one recipient at
    least), C{mx}, C{address}, C{protection}, C{policy} (C{"dane"}, C{"mta-sts"},
    C{"mta-sts-testing"} or C{"none"}), C{reply} (C{None} unless delivered), C{reason}
    (C{None} when delivered), C{permanent} (for a failure), C{recipients} (one object per
    recipient a server replied to: C{address}, C{code}, C{reply}; when delivered, every
    recipient), C{refused} (those of them the message was not delivered to, each also with
    C{permanent}: refused with a 5yz code), C{tries} (one object per host that failed:
    C{mx}, C{port}, C{address}, C{reason}), C{skipped} (the MX hosts beyond
    C{--max-hosts}, as C{"host:port"}).
    """
    if isinstance(outcome, DeliveryResult):
        return {
            "delivered": True,
            "domain": outcome.domain,
            "mx": outcome.mx,
            "address": outcome.address,
            "protection": str(outcome.protection),
            "policy": str(outcome.policy),
            "reply": outcome.reply,
            "reason": None,
            "recipients": [_replyJSON(r) for r in outcome.recipients],
            "refused": [_refusedJSON(r) for r in outcome.refused],
            "tries": [_attemptJSON(a) for a in outcome.tries],
            "skipped": list(outcome.skipped),
        }
    last = outcome.tries[-1] if outcome.tries else None
    return {
        "delivered": False,
        "domain": outcome.domain,
        "mx": last.host if last else None,
        "address": last.address if last else None,
        "protection": None,
        "policy": None,
        "reply": None,
        "reason": _failureText(outcome),
        "permanent": outcome.permanent,
        "recipients": [_replyJSON(r) for r in outcome.refused],
        "refused": [_refusedJSON(r) for r in outcome.refused],
        "tries": [_attemptJSON(a) for a in outcome.tries],
        "skipped": list(outcome.skipped),
    }


def formatOutcome(outcome: DeliveryResult | DeliveryError, verbose: bool) -> str:
    """
    The verdict line, then the recipients a server refused (each with its reply, permanent
    or temporary), then (with C{verbose}, or on failure) the hosts tried.
    """
    lines = []
    if isinstance(outcome, DeliveryResult):
        where = f"{outcome.mx}[{outcome.address}]:{outcome.port}"
        lines.append(f"delivered to {where}  {outcome.protection} (policy {outcome.policy})")
        lines.append(f"  reply      {outcome.reply}")
    else:
        lines.append(_failureText(outcome))
    for refused in outcome.refused:
        lines.append(f"  refused    {_refusedText(refused)}")
    tries = outcome.tries
    if tries and (verbose or isinstance(outcome, DeliveryError)):
        for attempt in tries:
            lines.append(f"  tried      {attemptText(attempt)}")
    for skipped in outcome.skipped:
        lines.append(f"  skipped    {skipped} (beyond --max-hosts)")
    return "\n".join(lines)


def _trustRoots(path: str) -> Any:
    """
    The PKIX roots of a PEM file (C{--ca-file}).

    @raise UsageError: for a file that cannot be read or holds no certificate.
    """
    from txdane.dane.pkix import PKIXTrust

    if not path:
        raise UsageError("--ca-file: empty (give a PEM file, or leave the option out)")
    return PKIXTrust(tuple(readPEMCertificates("--ca-file", path)))


def _reportStore(path: str) -> Any:
    """
    The TLS report store of C{--tlsrpt}, its directory made if missing.

    @raise UsageError: for an empty path, a file in the way, or a directory that cannot be
        made or written in.
    """
    from txdane.tlsrpt import ReportStore, TLSRPTError

    if not path:
        raise UsageError("--tlsrpt: empty (give the report store's directory)")
    makeDirectory("--tlsrpt", path)
    if not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"--tlsrpt {path}: cannot write in it")
    try:
        return ReportStore(path)
    except TLSRPTError as e:
        raise UsageError(f"--tlsrpt {path}: {e}") from None


def _checkCacheDirectory(path: str) -> None:
    """
    Refuse a C{--mta-sts-cache} that is not a directory: empty, or a file. A directory that
    does not exist yet is left to the cache, which makes it.

    @raise UsageError: saying what is wrong with it.
    """
    if not path:
        raise UsageError("--mta-sts-cache: empty (give a directory, or leave the option out)")
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--mta-sts-cache {path}: not a directory (a file is in the way)")
    if os.path.isdir(path) and not os.access(path, os.W_OK | os.X_OK):
        raise UsageError(f"--mta-sts-cache {path}: cannot write in it")


def _checkLines(path: str | None, message: bytes) -> None:
    """
    Refuse a message with a line longer than SMTP allows, before anything is looked up.

    @raise UsageError: naming the file (or the message made) and the line's length.
    """
    from txdane.mail import checkLines

    try:
        checkLines(message)
    except ValueError as e:
        raise UsageError(f"{path or 'the message'}: {e}") from None


def run(options: argparse.Namespace) -> int:
    settings = resolverSettings(options)
    if options.subject is not None:
        _checkSubject(options.subject)
    sender = mailAddress("--from", options.sender)
    recipients = [mailAddress("--to", recipient) for recipient in options.recipients]
    try:
        recipientDomain(recipients)
    except ValueError as e:
        raise UsageError(f"--to: {e}") from None
    if not 0 < options.port < 65536:
        raise UsageError(f"--port {options.port}: not in 1-65535")
    if not 0 < options.max_hosts <= 1000:
        raise UsageError(f"--max-hosts {options.max_hosts}: not in 1-1000")
    if options.mta_sts_cache and not options.mtaSTS:
        raise UsageError("--mta-sts-cache is for MTA-STS, which --no-mta-sts turns off")
    message = _readMessage(options, sender, recipients)
    _checkLines(options.message, message)
    reporter = None
    if options.tlsrpt is not None:
        reporter = _reportStore(options.tlsrpt).recordSession
    if options.mta_sts_cache is not None:
        _checkCacheDirectory(options.mta_sts_cache)
    trust = _trustRoots(options.ca_file) if options.ca_file is not None else None

    async def main(reactor: Any) -> DeliveryResult | DeliveryError:
        resolver = settings.build(reactor)
        mtaSTS = None
        if options.mtaSTS:
            from txdane.mtasts import PolicyResolver

            mtaSTS = PolicyResolver(
                reactor, resolver, trustRoots=trust, cacheDirectory=options.mta_sts_cache
            )
        hosts = None
        if trust is not None:
            from txdane.endpoints.options import DANEOptions
            from txdane.endpoints.planner import HostSettings

            timeout = settings.timeout or DEFAULT_TIMEOUT
            hosts = HostSettings(timeout=min(timeout, 30), options=DANEOptions(trustRoots=trust))
        try:
            return await sendMail(
                reactor,
                resolver,
                sender,
                recipients,
                message,
                port=options.port,
                timeout=settings.timeout or DEFAULT_TIMEOUT,
                maxHosts=options.max_hosts,
                reporter=reporter,
                mtaSTS=mtaSTS,
                settings=hosts,
            )
        except DeliveryError as e:
            return e
        finally:
            if mtaSTS is not None and options.mta_sts_cache is not None:
                # A policy fetched in the background (a new id, or one due for its daily
                # refresh) reaches the cache only once its fetch ends: before the exit.
                await mtaSTS.whenRefreshed()

    try:
        outcome = runOnReactor(main)
    except Exception as e:
        raise CommandError(f"send failed: {e}") from None
    if options.json:
        print(json.dumps(resultToJSON(outcome), indent=2))
    else:
        print(formatOutcome(outcome, options.verbose))
    return exitStatus(outcome)


def exitStatus(outcome: DeliveryResult | DeliveryError) -> int:
    """
    The exit status of C{outcome}: L{ExitStatus.OK} for a message delivered to every
    recipient; L{ExitStatus.FAILURE} to defer (a temporary failure, or a message delivered
    to some recipients while another was refused for now, with a 4yz code: send it again
    to those); L{ExitStatus.BOGUS} to bounce (a permanent failure, or a message delivered to
    some recipients while the others were refused for good, with a 5yz code).
    """
    if isinstance(outcome, DeliveryResult):
        codes = [code for _, code, _ in outcome.refused]
        if not codes:
            return ExitStatus.OK
        return ExitStatus.BOGUS if all(_permanent(c) for c in codes) else ExitStatus.FAILURE
    return ExitStatus.BOGUS if outcome.permanent else ExitStatus.FAILURE

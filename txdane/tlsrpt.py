"""
SMTP TLS Reporting (RFC 8460): what a sending mail server tells a recipient domain, once a
day, about the TLS sessions it attempted with the domain's MX hosts.

Four steps, each usable alone:

  - L{SessionResult}: one session, successful or failed with a L{ResultType}, as delivery
    records it;
  - L{ReportStore}: keeps the results on disk, one file per session, safe with several
    processes recording at once;
  - L{aggregate}: the reports, one per recipient domain and UTC day, as RFC 8460 section 4
    defines them (JSON objects, ready for C{json.dumps});
  - L{lookupReportAddresses}, L{reportMessage} and L{sendReports}: where a domain wants its
    reports (the C{rua} of its C{_smtp._tls} TXT record, L{parseTLSRPTRecord}), and their
    delivery by mail (L{txdane.mail.sendMail}, with DANE) or by HTTPS POST (through
    L{daneAgent<txdane.endpoints.web.daneAgent>}, with DANE).

The C{txdane tlsrpt} command (L{txdane.cli.tlsrpt}) runs the last three over a store.

Tests: C{tests/tlsrpt/test_results.py}, C{tests/tlsrpt/test_store.py},
C{tests/tlsrpt/test_aggregate.py}, C{tests/tlsrpt/test_record.py},
C{tests/tlsrpt/test_message.py}, C{tests/tlsrpt/test_send.py}, C{tests/tlsrpt/test_cli.py}.
"""

from __future__ import annotations

import datetime
import enum
import gzip
import io
import json
import math
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email import policy as emailPolicy
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, unquote, urlsplit

import dns.rdatatype
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from txdane.errors import LookupFailedError, TxdaneError
from txdane.files import syncDirectory
from txdane.mailpolicy import TLSSession
from txdane.names import asciiHostName, isAddress

if TYPE_CHECKING:
    from twisted.web.iweb import IAgent

    from txdane.validation.interfaces import IDNSSECResolver

__all__ = [
    "MAX_RESPONSE",
    "POLICY_TYPES",
    "POST_TIMEOUT",
    "ReportStore",
    "ResultType",
    "SendOutcome",
    "SessionResult",
    "TLSRPTError",
    "TLSRPTLookupError",
    "aggregate",
    "compressReport",
    "lookupReportAddresses",
    "parseTLSRPTRecord",
    "reportFileName",
    "reportMessage",
    "sendReports",
    "sessionResult",
]

#: The policy types of a report (RFC 8460 section 4.4): DANE, MTA-STS, or neither.
POLICY_TYPES = ("tlsa", "sts", "no-policy-found")

#: The most bytes of an HTTPS reporting server's response body read (and then dropped).
MAX_RESPONSE = 65536

#: Seconds an HTTPS POST of a report may take, connection to response.
POST_TIMEOUT = 300.0


class TLSRPTError(TxdaneError):
    """
    A TLSRPT record, a stored session result or a report could not be used: a record that is
    malformed or not alone (RFC 8460 section 3: the domain then does not take reports), or a
    file of a L{ReportStore} that is not a session result.

    @ivar message: what is wrong, one line.
    """

    message: str
    template = "{message}"


class TLSRPTLookupError(TLSRPTError):
    """
    The lookup of a domain's TLSRPT record failed, or its answer was bogus or indeterminate:
    where to send the domain's reports is unknown for now, try again later.
    """


class ResultType(enum.Enum):
    """
    Why a TLS session failed (RFC 8460 section 4.3): the C{result-type} of a report's
    failure details.

    @cvar STARTTLS_NOT_SUPPORTED: the MX host did not offer STARTTLS.
    @cvar CERTIFICATE_HOST_MISMATCH: the certificate does not name the host.
    @cvar CERTIFICATE_EXPIRED: the certificate has expired.
    @cvar CERTIFICATE_NOT_TRUSTED: the certificate does not chain to a trusted root.
    @cvar VALIDATION_FAILURE: any other failure of the TLS negotiation or of validation.
    @cvar TLSA_INVALID: a validation error in the TLSA records: none of them was found valid
        (DANE).
    @cvar DNSSEC_INVALID: the DNSSEC validation of the TLSA or address records failed (DANE).
    @cvar DANE_REQUIRED: DANE was required and the host has no TLSA records.
    @cvar STS_POLICY_FETCH_ERROR: the MTA-STS policy could not be fetched.
    @cvar STS_POLICY_INVALID: the MTA-STS policy is invalid.
    @cvar STS_WEBPKI_INVALID: the certificate of the MTA-STS policy host failed validation.
    """

    STARTTLS_NOT_SUPPORTED = "starttls-not-supported"
    CERTIFICATE_HOST_MISMATCH = "certificate-host-mismatch"
    CERTIFICATE_EXPIRED = "certificate-expired"
    CERTIFICATE_NOT_TRUSTED = "certificate-not-trusted"
    VALIDATION_FAILURE = "validation-failure"
    TLSA_INVALID = "tlsa-invalid"
    DNSSEC_INVALID = "dnssec-invalid"
    DANE_REQUIRED = "dane-required"
    STS_POLICY_FETCH_ERROR = "sts-policy-fetch-error"
    STS_POLICY_INVALID = "sts-policy-invalid"
    STS_WEBPKI_INVALID = "sts-webpki-invalid"

    def __str__(self) -> str:
        return self.value


def _domain(name: str) -> str:
    """
    A domain name as reports and the store spell it: lower case, no final dot.
    """
    return name.rstrip(".").lower()


def _hostName(name: object, what: str) -> str:
    """
    C{name} as reports and the store spell a domain: in A-labels, lower case, without a final
    dot.

    @raise ValueError: for what is not a host name (a line break, a slash, the empty text).
    @raise TypeError: for anything but a C{str}.
    """
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a domain name as str, not {name!r}")
    try:
        return _domain(asciiHostName(name))
    except ValueError:
        raise ValueError(f"{what} {name!r} is not a domain name") from None


def _oneLine(text: str) -> str:
    """
    C{text} on one line: its runs of blanks and line breaks as single spaces.
    """
    return " ".join(text.split()) if not text.isprintable() else text


@dataclass(frozen=True)
class SessionResult:
    """
    The outcome of one TLS session (or attempt) with an MX host of a recipient domain.

    @ivar policyDomain: the recipient domain (its A-label form), lower case without the
        final dot.
    @ivar policyType: the policy applied: C{"tlsa"} (DANE), C{"sts"} (MTA-STS) or
        C{"no-policy-found"}.
    @ivar policyStrings: the policy as text: the TLSA records (C{"3 1 1 e3b0..."}) or the
        lines of the MTA-STS policy (whose C{mx:} lines give a report's C{mx-host}); empty
        for C{no-policy-found}.
    @ivar mxHost: the MX host's name, or C{None}.
    @ivar sendingIP: the address the session was made from, or C{None}.
    @ivar receivingIP: the MX host's address, or C{None} (no connection).
    @ivar result: why the session failed, or C{None} for a successful TLS session.
    @ivar failureReason: more about a failure, one line: a TLS error code or message (a
        report's C{failure-reason-code}), or a URI (its C{additional-information}).
    @ivar when: when the session took place, POSIX seconds; its UTC day is the report's.
    """

    policyDomain: str
    policyType: str
    policyStrings: tuple[str, ...]
    mxHost: str | None
    sendingIP: str | None
    receivingIP: str | None
    result: ResultType | None
    failureReason: str = ""
    when: float = 0.0

    def __post_init__(self) -> None:
        """
        Check every field, so that a result the store could not read back (which would stop
        every report of the day) is never written.

        @raise ValueError: for a value that cannot be used.
        @raise TypeError: for a value of the wrong type.
        """
        if self.policyType not in POLICY_TYPES:
            raise ValueError(
                f"policyType {self.policyType!r}: not one of {', '.join(POLICY_TYPES)}"
            )
        if self.policyDomain == "":
            raise ValueError("policyDomain is empty")
        domain = _hostName(self.policyDomain, "policyDomain")
        strings = self.policyStrings
        if isinstance(strings, (str, bytes)) or not all(isinstance(x, str) for x in strings):
            raise TypeError(f"policyStrings must be a sequence of lines (str), not {strings!r}")
        for name in ("sendingIP", "receivingIP"):
            address = getattr(self, name)
            if address is not None and not (isinstance(address, str) and isAddress(address)):
                raise ValueError(f"{name} {address!r} is not an IP address")
        if not isinstance(self.failureReason, str):
            raise TypeError(f"failureReason must be a str, not {self.failureReason!r}")
        if isinstance(self.when, bool) or not isinstance(self.when, (int, float)):
            raise TypeError(f"when must be POSIX seconds, not {self.when!r}")
        if not math.isfinite(self.when):
            raise ValueError(f"when {self.when!r}: not a time")
        object.__setattr__(self, "policyDomain", domain)
        object.__setattr__(self, "policyStrings", tuple(self.policyStrings))
        object.__setattr__(self, "failureReason", _oneLine(self.failureReason))
        if self.mxHost is not None:
            object.__setattr__(self, "mxHost", _hostName(self.mxHost, "mxHost"))
        if self.result is not None:
            object.__setattr__(self, "result", ResultType(self.result))
        object.__setattr__(self, "when", float(self.when))

    @property
    def successful(self) -> bool:
        """
        Whether the session succeeded (no L{result}).
        """
        return self.result is None

    @property
    def day(self) -> datetime.date:
        """
        The UTC day of the session: the day of the report that counts it.
        """
        return datetime.datetime.fromtimestamp(self.when, datetime.timezone.utc).date()

    def toJSON(self) -> dict[str, Any]:
        """
        The result as a JSON object: its attributes by name, C{policyStrings} as a list and
        C{result} as its RFC 8460 name (or C{null}). L{fromJSON} reads it back.
        """
        return {
            "policyDomain": self.policyDomain,
            "policyType": self.policyType,
            "policyStrings": list(self.policyStrings),
            "mxHost": self.mxHost,
            "sendingIP": self.sendingIP,
            "receivingIP": self.receivingIP,
            "result": None if self.result is None else self.result.value,
            "failureReason": self.failureReason,
            "when": self.when,
        }

    @classmethod
    def fromJSON(cls, data: Mapping[str, Any]) -> SessionResult:
        """
        The result of a JSON object made by L{toJSON}.

        @raise TLSRPTError: for an object that is not one.
        """

        def text(name: str, optional: bool = False) -> Any:
            value = data.get(name)
            if isinstance(value, str) or (optional and value is None):
                return value
            raise TLSRPTError(f"{name}: {value!r} is not a string")

        try:
            strings = data.get("policyStrings")
            if not isinstance(strings, list) or not all(isinstance(s, str) for s in strings):
                raise TLSRPTError(f"policyStrings: {strings!r} is not a list of strings")
            when = data.get("when")
            if isinstance(when, bool) or not isinstance(when, (int, float)):
                raise TLSRPTError(f"when: {when!r} is not a number")
            result = text("result", optional=True)
            return cls(
                policyDomain=text("policyDomain"),
                policyType=text("policyType"),
                policyStrings=tuple(strings),
                mxHost=text("mxHost", optional=True),
                sendingIP=text("sendingIP", optional=True),
                receivingIP=text("receivingIP", optional=True),
                result=None if result is None else ResultType(result),
                failureReason=text("failureReason"),
                when=when,
            )
        except ValueError as e:
            raise TLSRPTError(str(e)) from None


#: The name of the store's directory of records being written.
_WRITING = ".writing"

#: A day's directory of the store.
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def sessionResult(session: TLSSession) -> SessionResult:
    """
    The L{SessionResult} of a delivery's L{TLSSession<txdane.mailpolicy.TLSSession>} (what
    L{sendMail<txdane.mail.sendMail>} tells its C{reporter}).
    """
    return SessionResult(
        session.policyDomain,
        session.policyType,
        session.policyStrings,
        session.mxHost,
        session.sendingIP,
        session.receivingIP,
        None if session.resultType is None else ResultType(session.resultType),
        session.failureReason,
        session.when,
    )


class ReportStore:
    """
    Session results on disk, until their day's reports are sent.

    B{Design.} Each result is one file, C{DIR/YYYY-MM-DD/DOMAIN!UNIQUE.json} (the UTC day of
    the session; the domain percent-encoded; C{UNIQUE} the time in nanoseconds, the process
    id and random bits), holding the JSON of L{SessionResult.toJSON}. L{record} writes it
    under a temporary name in C{DIR/.writing/}, flushes it to disk (C{fsync}) and only then
    moves it into the day's directory with C{os.replace}, which is atomic, and flushes that
    directory. So:

      - several processes (and threads) may record at once, without locks: each writes its
        own file, and no two files share a name;
      - a reader sees a record whole or not at all: a process that dies while writing leaves
        a temporary file, never read (L{discardStale} removes it later); a crash after the
        move loses nothing;
      - L{remove} deletes the files of one day and domain, after their report was sent.

    Reading lists the day directories, and a file removed meanwhile is skipped.

    @ivar directory: the store's directory (made on the first L{record}).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _dayDirectory(self, day: datetime.date) -> Path:
        return self.directory / day.isoformat()

    def recordSession(self, session: TLSSession) -> None:
        """
        Record a delivery's session: the C{reporter} to give L{sendMail
        <txdane.mail.sendMail>} (C{reporter=store.recordSession}).
        """
        self.record(sessionResult(session))

    def record(self, result: SessionResult) -> None:
        """
        Keep C{result}, durably: when this returns, the result is on disk.

        @raise OSError: the store's directory cannot be written.
        """
        data = json.dumps(result.toJSON(), sort_keys=True).encode("utf-8") + b"\n"
        unique = f"{time.time_ns()}-{os.getpid()}-{secrets.token_hex(6)}"
        name = f"{quote(result.policyDomain, safe='')}!{unique}.json"
        writing = self.directory / _WRITING
        writing.mkdir(parents=True, exist_ok=True)
        temporary = writing / f"{name}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        except BaseException:
            os.close(descriptor)
            temporary.unlink(missing_ok=True)
            raise
        os.close(descriptor)
        day = self._dayDirectory(result.day)
        try:
            for attempt in range(3):
                day.mkdir(exist_ok=True)
                try:
                    os.replace(temporary, day / name)
                    break
                except FileNotFoundError:
                    # L{remove} took the day's directory away between the two calls.
                    if attempt == 2:
                        raise
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        syncDirectory(day)

    def _files(self, day: datetime.date, domain: str | None = None) -> list[Path]:
        prefix = "" if domain is None else quote(_domain(domain), safe="") + "!"
        try:
            names = sorted(os.listdir(self._dayDirectory(day)))
        except FileNotFoundError:
            return []
        return [
            self._dayDirectory(day) / name
            for name in names
            if name.endswith(".json") and name.startswith(prefix) and "!" in name
        ]

    def days(self) -> list[datetime.date]:
        """
        The days that have results, in order.
        """
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        days = []
        for name in names:
            if not _DAY.fullmatch(name):
                continue
            try:
                day = datetime.date.fromisoformat(name)
            except ValueError:
                continue
            if self._files(day):
                days.append(day)
        return sorted(days)

    def results(self, day: datetime.date | None = None) -> list[SessionResult]:
        """
        Every result kept (of C{day} only, when given), by day.

        @raise TLSRPTError: a file of a day's directory is not a session result (nothing
            this class writes: it was changed by hand or damaged on disk). Remove it or
            repair it; nothing is reported until then.
        """
        results = []
        for each in [day] if day is not None else self.days():
            for path in self._files(each):
                try:
                    text = path.read_bytes()
                except FileNotFoundError:  # removed since listed
                    continue
                try:
                    data = json.loads(text)
                    if not isinstance(data, dict):
                        raise TLSRPTError("not a JSON object")
                    results.append(SessionResult.fromJSON(data))
                except (ValueError, TLSRPTError) as e:
                    raise TLSRPTError(f"{path}: not a session result: {e}") from None
        return results

    def remove(self, day: datetime.date, domain: str) -> None:
        """
        Delete the results of C{domain} on C{day}: after their report was sent. The day's
        directory goes when it is empty.
        """
        for path in self._files(day, domain):
            path.unlink(missing_ok=True)
        try:
            self._dayDirectory(day).rmdir()
        except OSError:  # not empty, or gone
            pass

    def discardStale(self, age: float = 86400.0) -> list[Path]:
        """
        Remove the temporary files of records that were never finished (their process died
        while writing) and are older than C{age} seconds.

        @return: the files removed.
        """
        removed = []
        limit = time.time() - age
        try:
            entries = list(os.scandir(self.directory / _WRITING))
        except FileNotFoundError:
            return []
        for entry in entries:
            try:
                if entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except FileNotFoundError:
                continue
        return removed


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


#: A field of a TLSRPT record other than the version (RFC 8460 section 3).
_EXTENSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_EXTENSION_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")

#: The start of a TLSRPT record: records that do not start so are not TLSRPT records.
_VERSION = re.compile(r"v=TLSRPTv1[ \t]*(?:;|$)")


def _shown(text: str) -> str:
    """
    C{text} as an error message quotes it: its first 80 characters, as a Python literal, so
    that a message stays one short line however long the record.
    """
    return repr(text[:80]) + ("..." if len(text) > 80 else "")


def _checkURI(uri: str, record: str) -> None:
    """
    Check one C{rua} URI: C{mailto:} with an address, or C{https:} with a host; another
    scheme only for its syntax (RFC 3986), since it may name a later way of sending.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+", uri) or "," in uri:
        raise TLSRPTError(f"{_shown(record)}: {_shown(uri)} is not a URI")
    scheme = uri.split(":", 1)[0].lower()
    if scheme == "mailto":
        address = unquote(uri.split(":", 1)[1].split("?", 1)[0])
        local, at, domain = address.rpartition("@")
        if not (at and local and domain) or any(c.isspace() for c in address):
            raise TLSRPTError(f"{_shown(record)}: {_shown(uri)} names no mail address")
    elif scheme == "https":
        try:
            parts = urlsplit(uri)
        except ValueError:  # an unbalanced "[" or "]" of an IPv6 host
            raise TLSRPTError(f"{_shown(record)}: {_shown(uri)} is not a URI") from None
        if not parts.hostname:
            raise TLSRPTError(f"{_shown(record)}: {_shown(uri)} names no host")


def parseTLSRPTRecord(text: str) -> tuple[str, ...]:
    """
    The reporting URIs (C{rua}) of a TLSRPT record (RFC 8460 section 3)::

        >>> parseTLSRPTRecord("v=TLSRPTv1; rua=mailto:a@x.example,https://r.example/tlsrpt")
        ('mailto:a@x.example', 'https://r.example/tlsrpt')

    Fields are separated by C{;} with optional blanks around it (and may end with one); the
    version C{v=TLSRPTv1} comes first, C{rua} once; other fields (extensions) must be well
    formed and are ignored.

    @raise TLSRPTError: the text is not a well-formed TLSRPT record, or has no C{rua}.
    """
    if not _VERSION.match(text):
        raise TLSRPTError(f"{_shown(text)} does not start with v=TLSRPTv1")
    fields = [field.strip(" \t") for field in text.split(";")]
    if len(fields) > 1 and fields[-1] == "":
        fields.pop()  # a final ";"
    addresses: tuple[str, ...] | None = None
    for field in fields[1:]:
        name, equals, value = field.partition("=")
        if not equals or not _EXTENSION_NAME.fullmatch(name):
            raise TLSRPTError(f"{_shown(text)}: {_shown(field)} is not a field")
        if name == "rua":
            if addresses is not None:
                raise TLSRPTError(f"{_shown(text)}: rua is given twice")
            uris = tuple(uri.strip(" \t") for uri in value.split(","))
            for uri in uris:
                _checkURI(uri, text)
            addresses = uris
        elif not _EXTENSION_VALUE.fullmatch(value):
            raise TLSRPTError(f"{_shown(text)}: {_shown(field)} is not a field")
    if addresses is None:
        raise TLSRPTError(f"{_shown(text)} has no rua")
    return addresses


def lookupReportAddresses(resolver: IDNSSECResolver, domain: str) -> Deferred[tuple[str, ...]]:
    """
    Where C{domain} wants its reports: the C{rua} URIs of its TLSRPT record, the TXT record
    at C{_smtp._tls.DOMAIN} that starts with C{v=TLSRPTv1} (RFC 8460 section 3), looked up
    with C{resolver}. A TXT record's strings are joined; TXT records that do not start with
    the version are ignored. A secure or insecure answer is used (DNSSEC is not required).

    @return: a Deferred firing with the URIs, or C{()} when the domain has no such record
        (no name, no TXT record, or none with the version); failing with a L{TLSRPTError}
        when it has several or a malformed one (the domain then takes no report, section 3),
        or with a L{TLSRPTLookupError} when the lookup failed or its answer is bogus or
        indeterminate.
    """
    name = f"_smtp._tls.{_domain(domain)}."

    async def lookup() -> tuple[str, ...]:
        try:
            answer = await resolver.lookup(name, dns.rdatatype.TXT)
        except LookupFailedError as e:
            raise TLSRPTLookupError(str(e)) from e
        problem = answer.problem()
        if problem is not None:
            raise TLSRPTLookupError(f"{name} TXT: {problem}")
        records = []
        for rdata in answer.records:
            text = b"".join(rdata.strings).decode("utf-8", "replace")
            if _VERSION.match(text):
                records.append(text)
        if not records:
            return ()
        if len(records) > 1:
            raise TLSRPTError(f"{name} has {len(records)} TLSRPT records, so none is used")
        return parseTLSRPTRecord(records[0])

    return Deferred.fromCoroutine(lookup())


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
    and the subject C{Report Domain: DOMAIN Submitter: SUBMITTER Report-ID: <ID>}. The
    message is not DKIM-signed.

    @param report: a report of L{aggregate}.
    @param submitter: the domain of the reporting system.
    @param sender: the address the report comes from (C{From}).
    @param recipient: the address it goes to (C{To}).
    @param date: the message's C{Date}, POSIX seconds (default: now).
    @return: the message, CRLF line ends.
    @raise ValueError: the report has no policy, or policies of several domains.
    """
    domain = _reportDomain(report)
    reportID = report["report-id"]
    summary = [policy["summary"] for policy in report["policies"]]
    successful = sum(s["total-successful-session-count"] for s in summary)
    failed = sum(s["total-failure-session-count"] for s in summary)
    dates = report["date-range"]
    message = MIMEMultipart("report", policy=emailPolicy.SMTP, report_type="tlsrpt")
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
    message.attach(MIMEText(text, "plain", "us-ascii", policy=emailPolicy.SMTP))
    attachment = MIMEApplication(compressReport(report), "tlsrpt+gzip", policy=emailPolicy.SMTP)
    attachment.add_header(
        "Content-Disposition", "attachment", filename=reportFileName(report, submitter)
    )
    message.attach(attachment)
    return message.as_bytes()


class SendOutcome(NamedTuple):
    """
    What became of a report for one destination: a C{(reportID, destination, outcome)}
    tuple.

    @ivar reportID: the report's C{report-id}.
    @ivar destination: the C{rua} URI, or C{""} when the report went nowhere (no TLSRPT
        record, or its lookup failed).
    @ivar outcome: one line, starting with C{"sent: "} (the destination took the report),
        C{"failed: "} (it did not, or the lookup failed: try again later) or C{"not sent: "}
        (the domain takes no report: no TLSRPT record, a malformed one, several, or a URI
        of another scheme than C{mailto} and C{https}).
    """

    reportID: str
    destination: str
    outcome: str

    @property
    def sent(self) -> bool:
        """
        Whether the destination took the report.
        """
        return self.outcome.startswith("sent: ")

    @property
    def failed(self) -> bool:
        """
        Whether sending failed (or the lookup of the destinations did): worth trying again.
        """
        return self.outcome.startswith("failed: ")


class _Drain(Protocol):
    """
    Reads a response body and drops it, stopping after L{MAX_RESPONSE} bytes.
    """

    def __init__(self, done: Deferred[None]) -> None:
        self.done = done
        self.received = 0

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > MAX_RESPONSE and self.transport is not None:
            self.transport.stopProducing()  # type: ignore[attr-defined]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if not self.done.called:
            self.done.callback(None)


def _describe(error: BaseException) -> str:
    """
    An error in one line, through the wrappers of twisted.web's client.
    """
    reasons = getattr(error, "reasons", None)
    if reasons and isinstance(reasons[0], Failure) and reasons[0].value is not None:
        return _describe(reasons[0].value)
    return str(error) or type(error).__name__


async def _post(reactor: Any, agent: IAgent, uri: str, body: bytes, timeout: float) -> str:
    """
    POST a compressed report to C{uri}, within C{timeout} seconds from the connection to the
    end of the response (or L{MAX_RESPONSE} bytes of it): the status says whether it was
    taken.
    """
    from twisted.web.client import FileBodyProducer
    from twisted.web.http_headers import Headers

    headers = Headers(
        {b"Content-Type": [b"application/tlsrpt+gzip"], b"User-Agent": [b"txdane tlsrpt"]}
    )
    request = agent.request(
        b"POST", uri.encode("ascii"), headers, FileBodyProducer(io.BytesIO(body))
    )
    done: Deferred[None] = Deferred()
    drain: _Drain | None = None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        if drain is None:
            request.cancel()
            return
        # The status is in; the body did not end in time.
        if drain.transport is not None:
            drain.transport.stopProducing()  # type: ignore[attr-defined]
        if not done.called:
            done.callback(None)

    timer = reactor.callLater(timeout, expire)
    try:
        try:
            response = await request
        except Exception as e:
            if expired:
                return f"failed: no response within {timeout:g} s"
            return f"failed: {_describe(e)}"
        drain = _Drain(done)
        response.deliverBody(drain)
        await done
    finally:
        if timer.active():
            timer.cancel()
    phrase = response.phrase.decode("utf-8", "replace")
    if 200 <= response.code < 300:
        return f"sent: HTTP {response.code} {phrase}".rstrip()
    return f"failed: HTTP {response.code} {phrase}".rstrip()


def sendReports(
    reactor: Any,
    resolver: IDNSSECResolver,
    reports: Iterable[Mapping[str, Any]],
    *,
    submitter: str,
    sender: str,
    agent: IAgent | None = None,
    mailSender: Callable[..., Deferred[Any]] | None = None,
    port: int = 25,
    timeout: float = POST_TIMEOUT,
) -> Deferred[list[SendOutcome]]:
    """
    Send each report to every destination its domain's TLSRPT record names
    (L{lookupReportAddresses}), one report after the other: C{mailto:} URIs get the message
    of L{reportMessage}, delivered with DANE by C{mailSender}; C{https:} URIs get a POST of
    the compressed report (L{compressReport}) with C{Content-Type: application/tlsrpt+gzip}
    through C{agent}, a 2xx status meaning taken (RFC 8460 section 5.4).

    Nothing is raised for one report or one destination: each outcome is listed.

    @param resolver: the validating resolver, for the TLSRPT records, and for the default
        mail sender and agent.
    @param reports: reports of L{aggregate}.
    @param submitter: the domain of the reporting system (C{TLS-Report-Submitter}).
    @param sender: the address reports by mail come from (envelope and C{From}).
    @param agent: the C{IAgent} for C{https:} destinations (default: a
        L{daneAgent<txdane.endpoints.web.daneAgent>} of C{resolver}).
    @param mailSender: called as L{sendMail<txdane.mail.sendMail>} is, C{(reactor, resolver,
        sender, [recipient], message, port=port)}, for C{mailto:} destinations (default:
        L{txdane.mail.sendMail}).
    @param port: the SMTP port of the MX hosts.
    @param timeout: seconds an HTTPS POST may take (L{POST_TIMEOUT}).
    @return: a Deferred firing with a L{SendOutcome} per report and destination (one with
        destination C{""} for a report that went nowhere), in order.
    """
    reports = list(reports)

    async def send() -> list[SendOutcome]:
        nonlocal agent, mailSender
        outcomes: list[SendOutcome] = []
        for report in reports:
            reportID = str(report.get("report-id", ""))
            try:
                domain = _reportDomain(report)
            except (KeyError, TypeError, ValueError) as e:
                outcomes.append(SendOutcome(reportID, "", f"not sent: not a report: {e}"))
                continue
            try:
                destinations = await lookupReportAddresses(resolver, domain)
            except TLSRPTLookupError as e:
                outcomes.append(SendOutcome(reportID, "", f"failed: {e}"))
                continue
            except TLSRPTError as e:
                outcomes.append(SendOutcome(reportID, "", f"not sent: {e}"))
                continue
            except Exception as e:
                outcomes.append(SendOutcome(reportID, "", f"failed: {_describe(e)}"))
                continue
            if not destinations:
                outcomes.append(
                    SendOutcome(reportID, "", f"not sent: {domain} publishes no TLSRPT record")
                )
            for uri in destinations:
                scheme = uri.split(":", 1)[0].lower()
                if scheme == "mailto":
                    if mailSender is None:
                        from txdane.mail import sendMail

                        mailSender = sendMail
                    outcome = await _mail(
                        reactor, resolver, report, uri, submitter, sender, mailSender, port
                    )
                elif scheme == "https":
                    if agent is None:
                        from txdane.endpoints.web import daneAgent

                        agent = daneAgent(reactor, resolver)
                    outcome = await _post(reactor, agent, uri, compressReport(report), timeout)
                else:
                    outcome = (
                        f"not sent: {scheme}: URIs are not supported (only mailto: and https:)"
                    )
                outcomes.append(SendOutcome(reportID, uri, outcome))
        return outcomes

    return Deferred.fromCoroutine(send())


async def _mail(
    reactor: Any,
    resolver: IDNSSECResolver,
    report: Mapping[str, Any],
    uri: str,
    submitter: str,
    sender: str,
    mailSender: Callable[..., Deferred[Any]],
    port: int,
) -> str:
    recipient = unquote(uri.split(":", 1)[1].split("?", 1)[0])
    try:
        message = reportMessage(report, submitter=submitter, sender=sender, recipient=recipient)
        result = await mailSender(reactor, resolver, sender, [recipient], message, port=port)
    except Exception as e:
        return f"failed: {_describe(e)}"
    mx = getattr(result, "mx", None)
    if mx is None:
        return "sent: delivered"
    return f"sent: delivered to {mx} [{result.address}] {result.protection}: {result.reply}"

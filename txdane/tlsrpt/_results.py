"""
One TLS session as TLS reporting counts it: a L{SessionResult}, successful or failed with
a L{ResultType}, made from what a delivery tells its C{reporter} (L{sessionResult}), and
its JSON, as the store keeps it.

Tests: C{tests/tlsrpt/test_results.py}.
"""

from __future__ import annotations

import datetime
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from txdane.mailpolicy import TLSSession
from txdane.names import asciiHostName, isAddress
from txdane.tlsrpt._errors import TLSRPTError

#: The policy types of a report (RFC 8460 section 4.4): DANE, MTA-STS, or neither.
POLICY_TYPES = ("tlsa", "sts", "no-policy-found")


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

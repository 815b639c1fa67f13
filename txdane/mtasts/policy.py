"""
MTA-STS policies and TXT records as RFC 8461 writes them, and which MX hosts a policy
allows: pure functions, no I/O.

Tests: C{tests/mtasts/test_policy.py}, C{tests/mtasts/test_postfix_resolver.py}.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from txdane.mtasts.errors import PolicySyntaxError
from txdane.names import nameFromText

__all__ = [
    "MAX_AGE_LIMIT",
    "MTASTSPolicy",
    "Mode",
    "STSRecord",
    "hostName",
    "isPolicyId",
    "isSTSRecord",
    "parsePolicy",
    "parseRecord",
]

#: The longest C{max_age} honoured, in seconds (31557600, a year: RFC 8461 section 3.2); a
#: policy asking for longer is kept for that long.
MAX_AGE_LIMIT = 31557600


class Mode(enum.Enum):
    """
    What a policy asks of senders (RFC 8461 section 5).

    @cvar ENFORCE: deliver only to matching MX hosts, over TLS with a certificate valid under
        WebPKI.
    @cvar TESTING: report failures (RFC 8460) but deliver as without a policy.
    @cvar NONE: the domain has withdrawn its policy: treat it as no policy.
    """

    ENFORCE = "enforce"
    TESTING = "testing"
    NONE = "none"


_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def hostName(name: str) -> str | None:
    """
    C{name} in lower case, with A-labels and without a final dot; C{None} when it is not a
    host name (labels of letters, digits and inner hyphens, at most 63 characters each).
    """
    text = name.strip()
    if text.endswith("."):
        text = text[:-1]
    if text and not text.isascii():
        try:
            text = nameFromText(text).to_text(omit_final_dot=True)
        except Exception:
            return None
    text = text.lower()
    if len(text) > 253 or not all(_LABEL.match(label) for label in text.split(".")):
        return None
    return text


#: Seconds a policy's fetch time may lie ahead of the clock before it counts as expired.
_FUTURE_TOLERANCE = 86400.0


@dataclass(frozen=True)
class MTASTSPolicy:
    """
    A policy as fetched from a domain's policy host (RFC 8461 section 3.2).

    @ivar mode: what the policy asks for.
    @ivar mx: the MX host patterns as published, in lower case and without a final dot;
        C{*.example.com} covers exactly one label in front of C{example.com}.
    @ivar maxAge: how long the policy may be cached, in seconds (at most
        L{MAX_AGE_LIMIT}).
    @ivar id: the C{id} of the TXT record the policy was fetched under.
    @ivar text: the policy file as received, for the C{policy-string} of TLS reports.
    @ivar fetched: when it was fetched, in the reactor's seconds (C{reactor.seconds()}).
    """

    mode: Mode
    mx: tuple[str, ...]
    maxAge: int
    id: str
    text: str
    fetched: float

    def matches(self, host: str) -> bool:
        """
        Whether the MX host C{host} matches one of the policy's patterns (RFC 8461 section
        4.1): the same name, or exactly one label in front of a wildcard's domain; case and
        a final dot do not matter.
        """
        name = hostName(host)
        if name is None:
            return False
        for pattern in self.mx:
            if pattern.startswith("*."):
                label, _, rest = name.partition(".")
                if label and rest == pattern[2:]:
                    return True
            elif name == pattern:
                return True
        return False

    def expired(self, now: float) -> bool:
        """
        Whether the policy's C{max_age} has passed at C{now} (the reactor's seconds), or it
        claims to be fetched more than a day after C{now}: a cache file dated ahead (a clock
        set back, a file edited) would otherwise keep it for as long again.
        """
        return self.fetched + self.maxAge <= now or self.fetched > now + _FUTURE_TOLERANCE

    def lines(self) -> tuple[str, ...]:
        """
        The policy's lines without their line ends, blank lines left out: the
        C{policy-string} of an RFC 8460 report.
        """
        return tuple(
            line.removesuffix("\r") for line in self.text.split("\n") if line.strip(" \t\r")
        )


@dataclass(frozen=True)
class STSRecord:
    """
    The C{_mta-sts} TXT record of a domain (RFC 8461 section 3.1).

    @ivar id: the policy's identifier: when it changes, the policy has changed.
    @ivar extensions: the other fields, as C{(name, value)} pairs.
    """

    id: str
    extensions: tuple[tuple[str, str], ...] = ()


_RECORD_START = re.compile(r"v=STSv1[ \t]*;")
_RECORD_FIELD = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,31})=([\x21-\x3a\x3c\x3e-\x7e]+)\Z")
_RECORD_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")


def isPolicyId(text: str) -> bool:
    """
    Whether C{text} is a policy id: 1 to 32 letters and digits.
    """
    return _RECORD_ID.match(text) is not None


def isSTSRecord(text: str) -> bool:
    """
    Whether a TXT record's text is meant as an MTA-STS record: C{v=STSv1} and the first
    delimiter. Other TXT records at C{_mta-sts} are ignored, whatever they say.
    """
    return _RECORD_START.match(text) is not None


def parseRecord(text: str) -> STSRecord:
    """
    Parse the text of an C{_mta-sts} TXT record (its strings joined without spaces): fields
    separated by C{;} with optional whitespace, C{v=STSv1} first, an C{id} of 1 to 32
    letters and digits (the first counts if there are several), other well-formed fields
    ignored.

    @raise PolicySyntaxError: when the text does not follow RFC 8461 section 3.1.
    """
    if not isSTSRecord(text):
        raise PolicySyntaxError("the record does not start with v=STSv1;")
    # Split at each ";" and the blanks around it, without a regular expression: searching
    # for [ \t]*;[ \t]* takes quadratic time on a long run of blanks that no ";" follows.
    fields = [field.lstrip(" \t") for field in text.split(";")[1:]]
    fields = [field.rstrip(" \t") for field in fields[:-1]] + fields[-1:]
    if fields and fields[-1] == "":
        fields.pop()  # one delimiter may end the record
    policyId: str | None = None
    extensions = []
    for field in fields:
        match = _RECORD_FIELD.match(field)
        if match is None:
            raise PolicySyntaxError(f"the record's field {field[:80]!r} is not NAME=VALUE")
        name, value = match.groups()
        if name == "id":
            if not isPolicyId(value):
                raise PolicySyntaxError(f"the id {value[:80]!r} is not 1 to 32 letters and digits")
            if policyId is None:
                policyId = value
        else:
            extensions.append((name, value))
    if policyId is None:
        raise PolicySyntaxError("the record has no id")
    return STSRecord(policyId, tuple(extensions))


#: A policy line: the value keeps its trailing blanks, stripped after the match (a lazy
#: value followed by C{[ \t]*\Z} takes quadratic time on a long run of inner blanks).
_POLICY_LINE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*)\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_MAX_AGE = re.compile(r"[0-9]{1,10}\Z")


def _mxPattern(value: str) -> str | None:
    wildcard = value.startswith("*.")
    name = hostName(value[2:] if wildcard else value) if value.isascii() else None
    if name is None:
        return None
    return "*." + name if wildcard else name


def parsePolicy(text: str, policyId: str, fetched: float) -> MTASTSPolicy:
    """
    Parse a policy file (RFC 8461 section 3.2): C{key: value} lines ended by LF or CRLF,
    whitespace allowed after the colon and after the value; C{version: STSv1}, C{mode} and
    C{max_age} required, one or more C{mx} unless the mode is C{none}; other keys ignored;
    blank lines skipped. Of a key other than C{mx} only the first line counts: later ones are
    ignored whatever their value (section 3.2), so a repeated C{mode: enforcing} does not
    make the policy invalid. A C{max_age} above L{MAX_AGE_LIMIT} is read as that limit.

    @param text: the policy file.
    @param policyId: the C{id} of the TXT record it was fetched under.
    @param fetched: when it was fetched, in the reactor's seconds.
    @raise PolicySyntaxError: when the file does not follow RFC 8461 section 3.2.
    """
    mode: Mode | None = None
    maxAge: int | None = None
    version = False
    mx: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), 1):
        line = line.removesuffix("\r")
        if not line.strip(" \t"):
            continue
        match = _POLICY_LINE.match(line)
        if match is None or _CONTROL.search(line):
            raise PolicySyntaxError(f"line {number} is not KEY: VALUE: {line[:80]!r}")
        key, value = match.group(1), match.group(2).rstrip(" \t")
        if key != "mx":
            # "If any non-repeated field [...] is duplicated, all entries except for the
            # first SHALL be ignored" (RFC 8461 section 3.2): whatever a later one says.
            if key in seen:
                continue
            seen.add(key)
        if key == "version":
            if value != "STSv1":
                raise PolicySyntaxError(f"line {number}: unknown version {value[:40]!r}")
            version = True
        elif key == "mode":
            if value not in {m.value for m in Mode}:
                raise PolicySyntaxError(f"line {number}: unknown mode {value[:40]!r}")
            mode = Mode(value)
        elif key == "max_age":
            if _MAX_AGE.match(value) is None:
                raise PolicySyntaxError(
                    f"line {number}: max_age {value[:40]!r} is not 1 to 10 digits"
                )
            maxAge = min(int(value), MAX_AGE_LIMIT)
        elif key == "mx":
            pattern = _mxPattern(value)
            if pattern is None:
                raise PolicySyntaxError(f"line {number}: mx {value[:80]!r} is not a host name")
            mx.append(pattern)
        elif not value:
            raise PolicySyntaxError(f"line {number}: {key} has no value")
    if not version:
        raise PolicySyntaxError("the policy has no version: STSv1")
    if mode is None:
        raise PolicySyntaxError("the policy has no mode")
    if maxAge is None:
        raise PolicySyntaxError("the policy has no max_age")
    if not mx and mode is not Mode.NONE:
        raise PolicySyntaxError(f"the policy of mode {mode.value} has no mx")
    return MTASTSPolicy(mode, tuple(mx), maxAge, policyId, text, fetched)

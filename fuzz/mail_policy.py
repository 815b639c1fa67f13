"""
Fuzz the parsers of mail-policy inputs an attacker may write: the C{_mta-sts} TXT record
(RFC 8461 section 3.1, possibly from an unsigned zone), the MTA-STS policy file (section
3.2, as fetched over HTTPS) and the TLSRPT TXT record (RFC 8460 section 3).

Each input gives a parsed value or the parser's error (L{PolicySyntaxError},
L{TLSRPTError}) with a one-line message under 2000 characters, never another exception.
A parsed policy has a mode, a C{max_age} of at most L{MAX_AGE_LIMIT}, well-formed C{mx}
patterns that it matches, and at least one of them unless its mode is C{none}; a parsed
record has an id of 1 to 32 letters and digits and well-formed extensions; a TLSRPT record
has at least one URI. Every parsed value round-trips: written out again in canonical form
(and, for a policy, as the lines of its C{policy-string}) it parses equal. Every input, as
large as the real path lets through, parses within L{TIME_LIMIT} seconds.

The first byte picks the parser (its two low bits: 0 and 3 the policy file, 1 the
C{_mta-sts} record, 2 the TLSRPT record) and whether to pump the input (bit 2): the second
byte then names a byte of the rest, repeated with up to three bytes after it (bits 3 and 4)
until the input is as large as the real path lets through (a policy of L{MAX_POLICY_SIZE}
bytes, a TXT record of L{TXT_LIMIT}), to find parsing slower than linear. The rest is the
policy file or the TXT record's strings joined, decoded as they are on their way to the
parser.

    python fuzz/mail_policy.py -runs=100000
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.mtasts import MAX_AGE_LIMIT, MAX_POLICY_SIZE, Mode, MTASTSPolicy, STSRecord
    from txdane.mtasts.errors import PolicySyntaxError
    from txdane.mtasts.policy import (
        hostName,
        isPolicyId,
        isSTSRecord,
        parsePolicy,
        parseRecord,
    )
    from txdane.tlsrpt import TLSRPTError, parseTLSRPTRecord

#: The most bytes of a TXT record's strings joined: an RDATA of 65535 bytes, each string of
#: at most 255 bytes after its length byte.
TXT_LIMIT = 65535 - 65535 // 256 - 1

#: The most seconds one input, as large as the real path lets through, may take to parse.
TIME_LIMIT = 2.0

#: The longest error message allowed.
MESSAGE_LIMIT = 2000

_POLICY_ID = "20250101T000000"
_FETCHED = 1735689600.0


def _checkMessage(error: Exception) -> None:
    """
    An error's message is one line, not empty, and shorter than L{MESSAGE_LIMIT}.
    """
    message = str(error)
    assert message.strip(), repr(error)
    assert len(message) < MESSAGE_LIMIT, (len(message), message[:200])
    assert "\n" not in message and "\r" not in message, message[:200]


def _isPattern(pattern: str) -> bool:
    """
    Whether C{pattern} is an C{mx} pattern as a policy keeps it: a host name in lower case
    without a final dot, or C{*.} and one.
    """
    name = pattern.removeprefix("*.")
    return name.isascii() and hostName(name) == name


def renderPolicy(policy: MTASTSPolicy) -> str:
    """
    C{policy} written out canonically: the version, mode, C{max_age} and C{mx} lines.
    """
    lines = ["version: STSv1", f"mode: {policy.mode.value}", f"max_age: {policy.maxAge}"]
    lines += [f"mx: {pattern}" for pattern in policy.mx]
    return "\r\n".join(lines) + "\r\n"


def _policyValue(policy: MTASTSPolicy) -> tuple[object, ...]:
    return (policy.mode, policy.mx, policy.maxAge, policy.id, policy.fetched)


def checkPolicy(text: str) -> str:
    """
    Parse C{text} as a policy file and check what it gives.
    """
    try:
        policy = parsePolicy(text, _POLICY_ID, _FETCHED)
    except PolicySyntaxError as e:
        _checkMessage(e)
        return "policy-error"
    assert isinstance(policy.mode, Mode), policy
    assert 0 <= policy.maxAge <= MAX_AGE_LIMIT, policy.maxAge
    assert policy.mx or policy.mode is Mode.NONE, policy
    assert (policy.id, policy.text, policy.fetched) == (_POLICY_ID, text, _FETCHED)
    for pattern in policy.mx:
        assert _isPattern(pattern), pattern
        host = "mx." + pattern[2:] if pattern.startswith("*.") else pattern
        if len(host) <= 253:
            assert policy.matches(host) and policy.matches(host.upper() + "."), pattern
    assert not policy.expired(_FETCHED + policy.maxAge - 1) or policy.maxAge == 0
    assert policy.expired(_FETCHED + policy.maxAge)
    for again in (renderPolicy(policy), "\n".join(policy.lines())):
        reparsed = parsePolicy(again, _POLICY_ID, _FETCHED)
        assert _policyValue(reparsed) == _policyValue(policy), (text[:400], again[:400])
    return f"policy-{policy.mode.value}"


def renderRecord(record: STSRecord) -> str:
    """
    C{record} written out canonically: the version, the id, the extensions.
    """
    fields = ["v=STSv1", f"id={record.id}", *(f"{n}={v}" for n, v in record.extensions)]
    return "; ".join(fields) + ";"


def checkRecord(text: str) -> str:
    """
    Parse C{text} as an C{_mta-sts} TXT record and check what it gives.
    """
    try:
        record = parseRecord(text)
    except PolicySyntaxError as e:
        _checkMessage(e)
        return "sts-error" if isSTSRecord(text) else "sts-ignored"
    assert isSTSRecord(text), text[:400]
    assert isPolicyId(record.id), record
    for name, value in record.extensions:
        assert name != "id" and name.isascii() and value.isascii(), record
        assert value and ";" not in value and "=" not in value, record
        assert not any(c.isspace() for c in name + value), record
    again = renderRecord(record)
    assert parseRecord(again) == record, (text[:400], again[:400])
    return "sts-record"


def renderTLSRPT(uris: tuple[str, ...]) -> str:
    """
    A TLSRPT record of C{uris}, written out canonically.
    """
    return f"v=TLSRPTv1; rua={','.join(uris)}"


def checkTLSRPT(text: str) -> str:
    """
    Parse C{text} as a TLSRPT TXT record and check what it gives.
    """
    try:
        uris = parseTLSRPTRecord(text)
    except TLSRPTError as e:
        _checkMessage(e)
        return "tlsrpt-error"
    assert uris and all(isinstance(uri, str) and uri for uri in uris), uris
    for uri in uris:
        assert ":" in uri and "," not in uri and uri.isascii(), uri
        assert not any(c.isspace() for c in uri), uri
    again = renderTLSRPT(uris)
    assert parseTLSRPTRecord(again) == uris, (text[:400], again[:400])
    return "tlsrpt-record"


def pumped(header: int, position: int, body: bytes, limit: int) -> bytes:
    """
    C{body} with the one to four bytes at C{position} (modulo its length) repeated until
    it is C{limit} bytes long.
    """
    if not body:
        return body
    start = position % len(body)
    chunk = body[start : start + 1 + (header >> 3 & 3)]
    count = (limit - len(body)) // len(chunk)
    return (body[:start] + chunk * count + body[start:])[:limit]


def testOneInput(data: bytes) -> str:
    """
    Check one input: the first byte picks the parser and the pumping (see the module).
    """
    if not data:
        return "empty"
    header, body = data[0], data[1:]
    kind = header & 3
    limit = MAX_POLICY_SIZE if kind in (0, 3) else TXT_LIMIT
    if header & 4:
        if not body:
            return "empty"
        body = pumped(header, body[0], body[1:], limit)
    if len(body) > limit:
        return "too-large"  # the fetch or DNS refuses it before any parsing
    started = time.perf_counter()
    if kind in (0, 3):
        # The fetch refuses a policy that is not UTF-8; other bytes stand for U+FFFD, text
        # a policy may hold.
        outcome = checkPolicy(body.decode("utf-8", "replace"))
    elif kind == 1:
        # The resolver passes ASCII records starting with v=STSv1 only; the parser must
        # refuse any other text all the same.
        outcome = checkRecord(body.decode("latin-1"))
    else:
        outcome = checkTLSRPT(body.decode("utf-8", "replace"))  # as the lookup decodes it
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_LIMIT, f"{len(body)} bytes took {elapsed:.1f} s"
    return outcome


_POLICIES = [
    b"version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n",
    b"version: STSv1\r\nmode: testing\r\nmx: mx1.example.org\r\nmax_age: 86400\r\n",
    b"\xef\xbb\xbfversion: STSv1\nmode: none\nmax_age: 0\n",
    b"version:STSv1\n\n  \nmode:\tenforce \t\nmx: MX.Example.COM.\nmax_age: 99999999999\n",
    b"version: STSv1\nmode: enforce\nmax_age: 31557601\nmx: *.*.example.com\n",
    b"version: STSv1\nmode: enforce\nmax_age: 10\nmx: b\xc3\xbccher.example\next: x\n",
    b"version: STSv1\nmode: enforce\nmax_age: 10\nmx: *.mail.example\nfuture-key: some value\n",
    b"version: STSv1\nmode: testing\nmax_age: 1\nmx: " + b"a" * 63 + b"." + b"b" * 63 + b"\n",
    b"mode: enforce\nmax_age: 5\nmx: x.example\nversion: STSv2\n",
]
_RECORDS = [
    b"v=STSv1; id=20160831085700Z;",
    b"v=STSv1;id=abc",
    b"v=STSv1 ;\tid=1; ext.name=value-1; id=2 ;",
    b"v=STSv1; id=" + b"9" * 33,
    b"v=STSv1; ext=1",
    b"v=STSv2; id=1",
    b"v=STSv1; id=1; x=a=b",
    b"v=STSv1; id=caf\xc3\xa9",
]
_TLSRPT = [
    b"v=TLSRPTv1; rua=mailto:tlsrpt@example.com",
    b"v=TLSRPTv1;rua=https://reporting.example.com/v1/tlsrpt, mailto:a%40b@example.net;",
    b"v=TLSRPTv1; ext=1; rua=mailto:r@example.org?subject=tls",
    b"v=TLSRPTv1 ; rua=https:///x",
    b"v=TLSRPTv1; rua=mailto:a@x; rua=mailto:b@x",
    b"v=TLSRPTv1; rua=urn:example:future-scheme; x=caf\xc3\xa9",
    b"v=TLSRPTv1",
]
_SEEDS = [
    *(bytes([0]) + p for p in _POLICIES),
    *(bytes([1]) + r for r in _RECORDS),
    *(bytes([2]) + t for t in _TLSRPT),
    # Pumped: a long run of blanks in a value, of a field, of delimiters.
    bytes([4, 44]) + b"version: STSv1\nmode: none\nmax_age: 1\nnote: a b\n",
    bytes([4 | 8, 33]) + b"version: STSv1\nmode: enforce\nmx: a.b.c\nmax_age: 1\n",
    bytes([5, 8]) + b"v=STSv1; id=1",
    bytes([5 | 16, 13]) + b"v=STSv1; id=1; a=b",
    bytes([6, 11]) + b"v=TLSRPTv1; rua=mailto:a@example.com",
    bytes([6 | 8, 23]) + b"v=TLSRPTv1; rua=mailto:a@example.com",
]

if __name__ == "__main__":
    main(testOneInput, _SEEDS)

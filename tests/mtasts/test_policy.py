"""
MTA-STS policies, TXT records and MX matching (RFC 8461 sections 3.1, 3.2 and 4.1).
"""

from __future__ import annotations

import pytest

from txdane.mtasts import (
    MAX_AGE_LIMIT,
    Mode,
    MTASTSError,
    MTASTSPolicy,
    PolicyFailure,
    PolicySyntaxError,
    parsePolicy,
    parseRecord,
)
from txdane.mtasts.policy import hostName, isSTSRecord

GOOD = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 604800\n"

#: (name, policy text, (mode, mx, max_age)) for policies that parse.
VALID = [
    ("the RFC's example, LF", GOOD, ("enforce", ("mail.example.com", "*.example.net"), 604800)),
    (
        "CRLF",
        GOOD.replace("\n", "\r\n"),
        ("enforce", ("mail.example.com", "*.example.net"), 604800),
    ),
    ("no final line end", GOOD.rstrip("\n"), ("enforce", None, 604800)),
    ("mixed line ends", "version: STSv1\r\nmode: testing\nmx: a.example\r\nmax_age: 1", None),
    ("no space after the colon", "version:STSv1\nmode:testing\nmx:a.example\nmax_age:1\n", None),
    (
        "whitespace after the colon and the value",
        "version:  STSv1 \nmode:\tnone\t\nmax_age: 86400   \n",
        ("none", (), 86400),
    ),
    ("mode none needs no mx", "version: STSv1\nmode: none\nmax_age: 0\n", ("none", (), 0)),
    ("fields in any order", "max_age: 5\nmx: a.example\nmode: enforce\nversion: STSv1\n", None),
    (
        "unknown keys ignored",
        "version: STSv1\nmode: enforce\nfoo_bar.baz-1: any value: at all\nmx: a.example\n"
        "max_age: 1\n",
        None,
    ),
    (
        "blank lines skipped",
        "version: STSv1\n\nmode: enforce\r\n\r\nmx: a.example\nmax_age: 1\n\n",
        None,
    ),
    (
        "mx in upper case and with a final dot",
        "version: STSv1\nmode: enforce\nmx: MAIL.Example.COM.\nmx: *.EXAMPLE.net\nmax_age: 1\n",
        ("enforce", ("mail.example.com", "*.example.net"), 1),
    ),
    (
        "max_age above a year: capped",
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\n",
        ("enforce", ("a.example",), MAX_AGE_LIMIT),
    ),
    (
        "max_age of ten digits",
        "version: STSv1\nmode: none\nmax_age: 0000086400\n",
        ("none", (), 86400),
    ),
    (
        "the first mode and max_age count",
        "version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 7\nmax_age: 9\n",
        ("testing", ("a.example",), 7),
    ),
    ("a byte order mark", "\ufeffversion: STSv1\nmode: none\nmax_age: 1\n", ("none", (), 1)),
    # RFC 8461 section 3.2: of a field other than mx, "all entries except for the first
    # SHALL be ignored", whatever they say.
    (
        "a later mode ignored, even unknown",
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nmode: enforcing\n",
        ("enforce", ("a.example",), 1),
    ),
    (
        "a later max_age ignored, even not digits",
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 604800\nmax_age: 1w\n",
        ("enforce", ("a.example",), 604800),
    ),
    (
        "a later version ignored, even another",
        "version: STSv1\nmode: testing\nmx: a.example\nversion: STSv2\nmax_age: 5\n",
        ("testing", ("a.example",), 5),
    ),
    (
        "a later mode ignored, even empty",
        "version: STSv1\nmode: none\nmode:\nmax_age: 1\n",
        ("none", (), 1),
    ),
    (
        "a later extension ignored, even empty",
        "version: STSv1\nmode: none\nfoo: bar\nmax_age: 1\nfoo:\n",
        ("none", (), 1),
    ),
]

#: (name, policy text) for policies that do not parse.
INVALID = [
    ("empty", ""),
    ("no version", "mode: enforce\nmx: a.example\nmax_age: 1\n"),
    ("another version", "version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n"),
    ("version in lower case", "version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 1\n"),
    ("no mode", "version: STSv1\nmx: a.example\nmax_age: 1\n"),
    ("unknown mode", "version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n"),
    ("mode in upper case", "version: STSv1\nmode: ENFORCE\nmx: a.example\nmax_age: 1\n"),
    (
        "a first mode invalid, a later one valid",
        "version: STSv1\nmode: x\nmode: none\nmax_age: 1\n",
    ),
    ("a first max_age invalid", "version: STSv1\nmode: none\nmax_age: 1w\nmax_age: 1\n"),
    ("a first version invalid", "version: STSv2\nversion: STSv1\nmode: none\nmax_age: 1\n"),
    ("no mx with enforce", "version: STSv1\nmode: enforce\nmax_age: 1\n"),
    ("no mx with testing", "version: STSv1\nmode: testing\nmax_age: 1\n"),
    ("no max_age", "version: STSv1\nmode: enforce\nmx: a.example\n"),
    ("negative max_age", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n"),
    ("max_age with a sign", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: +5\n"),
    ("max_age not a number", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: week\n"),
    (
        "max_age of 11 digits",
        "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 10000000000\n",
    ),
    ("max_age empty", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age:\n"),
    ("max_age with a fraction", "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1.5\n"),
    ("space before the colon", "version : STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n"),
    ("indented line", "version: STSv1\n mode: enforce\nmx: a.example\nmax_age: 1\n"),
    ("a line without a colon", "version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n"),
    ("mx empty", "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n"),
    ("mx with a port", "version: STSv1\nmode: enforce\nmx: a.example:25\nmax_age: 1\n"),
    ("mx a wildcard alone", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n"),
    ("mx a wildcard inside", "version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 1\n"),
    ("mx an underscore", "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n"),
    ("mx in U-labels", "version: STSv1\nmode: enforce\nmx: bücher.example\nmax_age: 1\n"),
    ("mx two names", "version: STSv1\nmode: enforce\nmx: a.example b.example\nmax_age: 1\n"),
    ("a lone CR inside", "version: STSv1\rmode: enforce\nmx: a.example\nmax_age: 1\n"),
    ("a NUL byte", "version: STSv1\nmode: enforce\x00\nmx: a.example\nmax_age: 1\n"),
    ("an extension without a value", "version: STSv1\nmode: none\nmax_age: 1\nfoo:\n"),
    ("a key too long", "version: STSv1\nmode: none\nmax_age: 1\n" + "k" * 33 + ": v\n"),
    ("HTML", "<html><body>version: STSv1</body></html>\n"),
]


@pytest.mark.parametrize("name, text, expected", VALID, ids=[v[0] for v in VALID])
def test_valid(
    name: str, text: str, expected: tuple[str, tuple[str, ...] | None, int] | None
) -> None:
    policy = parsePolicy(text, "abc123", 1000.0)
    assert policy.id == "abc123"
    assert policy.fetched == 1000.0
    assert policy.text == text
    if expected is not None:
        mode, mx, maxAge = expected
        assert policy.mode is Mode(mode)
        if mx is not None:
            assert policy.mx == mx
        assert policy.maxAge == maxAge


@pytest.mark.parametrize("name, text", INVALID, ids=[i[0] for i in INVALID])
def test_invalid(name: str, text: str) -> None:
    with pytest.raises(PolicySyntaxError) as raised:
        parsePolicy(text, "abc123", 0.0)
    assert "\n" not in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_lines() -> None:
    """
    A policy's lines, as TLS reports list them: no line ends, no blank lines.
    """
    policy = parsePolicy("version: STSv1\r\nmode: none\r\n\r\nmax_age: 86400\r\n", "a", 0)
    assert policy.lines() == ("version: STSv1", "mode: none", "max_age: 86400")


def test_expired() -> None:
    policy = parsePolicy("version: STSv1\nmode: none\nmax_age: 100\n", "a", 1000.0)
    assert not policy.expired(1099.9)
    assert policy.expired(1100.0)
    assert parsePolicy("version: STSv1\nmode: none\nmax_age: 0\n", "a", 5.0).expired(5.0)


#: (name, TXT text, id or None when the record is invalid).
RECORDS = [
    ("the RFC's example", "v=STSv1; id=20160831085700Z;", "20160831085700Z"),
    ("no final delimiter", "v=STSv1; id=abc", "abc"),
    ("no whitespace", "v=STSv1;id=abc;", "abc"),
    ("tabs and spaces", "v=STSv1 \t;\t id=abc \t; ", "abc"),
    ("extensions ignored", "v=STSv1; foo=bar; id=abc; x.y-z_1=!:<>~", "abc"),
    ("32 characters", "v=STSv1; id=" + "a1" * 16, "a1" * 16),
    ("the first id counts", "v=STSv1; id=first; id=second", "first"),
    ("no id", "v=STSv1;", None),
    ("only the version", "v=STSv1; foo=bar", None),
    ("empty id", "v=STSv1; id=", None),
    ("id too long", "v=STSv1; id=" + "a" * 33, None),
    ("id with a hyphen", "v=STSv1; id=2024-01", None),
    ("id with a space", "v=STSv1; id=abc def", None),
    ("ID in upper case is an extension", "v=STSv1; ID=abc", None),
    ("two delimiters", "v=STSv1;; id=abc", None),
    ("two final delimiters", "v=STSv1; id=abc;;", None),
    ("a field without =", "v=STSv1; id=abc; foo", None),
    ("an extension value with =", "v=STSv1; id=abc; foo=a=b", None),
    ("a second id invalid", "v=STSv1; id=abc; id=no-no", None),
]


@pytest.mark.parametrize("name, text, expected", RECORDS, ids=[r[0] for r in RECORDS])
def test_record(name: str, text: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(PolicySyntaxError):
            parseRecord(text)
    else:
        assert parseRecord(text).id == expected


def test_recordExtensions() -> None:
    assert parseRecord("v=STSv1; a=1; id=x; b=2").extensions == (("a", "1"), ("b", "2"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("v=STSv1; id=a", True),
        ("v=STSv1 ; id=a", True),
        ("v=STSv1;", True),
        ("v=STSv1", False),
        ("v=STSv10; id=a", False),
        ("v=spf1 -all", False),
        (" v=STSv1; id=a", False),
        ("V=STSv1; id=a", False),
    ],
)
def test_isSTSRecord(text: str, expected: bool) -> None:
    """
    Which TXT records count as MTA-STS records: the others at the name are ignored.
    """
    assert isSTSRecord(text) is expected


def policy(*mx: str) -> MTASTSPolicy:
    lines = "".join(f"mx: {m}\n" for m in mx)
    return parsePolicy(f"version: STSv1\nmode: enforce\n{lines}max_age: 1\n", "a", 0)


@pytest.mark.parametrize(
    "patterns, host, expected",
    [
        (["mail.example.com"], "mail.example.com", True),
        (["mail.example.com"], "MAIL.Example.Com", True),
        (["mail.example.com"], "mail.example.com.", True),
        (["MAIL.EXAMPLE.COM."], "mail.example.com", True),
        (["mail.example.com"], "mail2.example.com", False),
        (["mail.example.com"], "example.com", False),
        (["mail.example.com"], "x.mail.example.com", False),
        (["*.example.com"], "mx1.example.com", True),
        (["*.example.com"], "MX1.EXAMPLE.COM.", True),
        (["*.example.com"], "example.com", False),
        (["*.example.com"], "a.b.example.com", False),
        (["*.example.com"], ".example.com", False),
        (["*.example.com"], "mx1.example.com.evil", False),
        (["*.example.com"], "mx1.notexample.com", False),
        (["*.example.com"], "*.example.com", False),
        (["*.mail.example.com"], "mail.example.com", False),
        (["a.example.com", "*.example.net"], "b.example.net", True),
        (["a.example.com", "*.example.net"], "b.example.com", False),
        (["mail.example.com"], "", False),
        (["mail.example.com"], "mail..example.com", False),
        (["xn--bcher-kva.example"], "bücher.example", True),
    ],
)
def test_matches(patterns: list[str], host: str, expected: bool) -> None:
    assert policy(*patterns).matches(host) is expected


def test_noneModeMatchesNothing() -> None:
    assert not parsePolicy("version: STSv1\nmode: none\nmax_age: 1\n", "a", 0).matches("a.example")


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Example.COM.", "example.com"),
        (" example.com ", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("", None),
        (".", None),
        ("a..b", None),
        ("-a.example", None),
        ("a-.example", None),
        ("a/b.example", None),
        ("[192.0.2.1]", None),
        ("a" * 64 + ".example", None),
    ],
)
def test_hostName(name: str, expected: str | None) -> None:
    assert hostName(name) == expected


def test_errors() -> None:
    error = MTASTSError("example.com", "the server answered 404 Not Found")
    assert error.failure is PolicyFailure.FETCH_ERROR
    assert str(error) == "example.com: MTA-STS policy: the server answered 404 Not Found"
    assert PolicyFailure.WEBPKI_INVALID.value == "sts-webpki-invalid"
    assert PolicyFailure.INVALID.value == "sts-policy-invalid"
    assert PolicyFailure.FETCH_ERROR.value == "sts-policy-fetch-error"

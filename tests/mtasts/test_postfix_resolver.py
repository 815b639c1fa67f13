"""
The same policy files, TXT records and MX hosts given to txdane and to
C{postfix-mta-sts-resolver} (the MTA-STS daemon for Postfix, from PyPI), whose verdicts are
compared: they agree except where listed below, each difference with its reason.

Its whole path runs, from its TXT lookup to the C{socketmap} answer it gives Postfix, with its
DNS resolver and HTTP client replaced by fakes that return the texts of the table.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from postfix_mta_sts_resolver import resolver as theirResolver
from postfix_mta_sts_resolver.internal_cache import InternalLRUCache
from postfix_mta_sts_resolver.responder import STSSocketmapResponder
from postfix_mta_sts_resolver.utils import populate_cfg_defaults
from twisted.internet.defer import succeed
from twisted.internet.task import Clock

from txdane.mtasts import PolicyResolver, PolicySyntaxError, parsePolicy

from ..fakeresolver import FakeResolver, answer
from .test_cache import fired
from .test_policy import INVALID, RECORDS, VALID

GOOD = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n"


class _FakeDNS:
    """
    Stands for aiodns: the TXT records of the table.
    """

    def __init__(self, records: list[str]) -> None:
        self.records = records

    async def query(self, name: str, rdtype: str) -> list[Any]:
        return [SimpleNamespace(text=text) for text in self.records]


class _FakeResponse:
    """
    Stands for an aiohttp response: a 200 of type text/plain, with the policy as its body.
    """

    def __init__(self, body: bytes) -> None:
        self.status = 200
        self.headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "Content-Length": str(len(body)),
        }
        self.charset = "utf-8"
        self.content = self
        self._body = body

    async def read(self, size: int) -> bytes:
        chunk, self._body = self._body[:size], self._body[size:]
        return chunk

    async def __aenter__(self) -> _FakeResponse:
        return self

    async def __aexit__(self, *exc: object) -> bool:
        return False


def _fakeAiohttp(body: bytes) -> Any:
    class Session:
        def __init__(self, **kw: Any) -> None:
            pass

        async def __aenter__(self) -> Session:
            return self

        async def __aexit__(self, *exc: object) -> bool:
            return False

        def get(self, url: str, **kw: Any) -> _FakeResponse:
            assert url == "https://mta-sts.example.com/.well-known/mta-sts.txt"
            assert kw["allow_redirects"] is False
            return _FakeResponse(body)

    return SimpleNamespace(ClientSession=Session)


def theirs(
    monkeypatch: pytest.MonkeyPatch, policy: str, records: list[str] | None = None
) -> tuple[str, str | None]:
    """
    What postfix-mta-sts-resolver answers Postfix for C{example.com}: C{("NOTFOUND", None)},
    or C{("OK", "the match= list")} for a policy it enforces; mode C{testing} and C{none}
    read as NOTFOUND, as for no policy.
    """

    async def ask() -> bytes:
        loop = asyncio.get_running_loop()
        responder = STSSocketmapResponder(populate_cfg_defaults({}), loop, InternalLRUCache())
        zone = responder._default_zone.resolver
        zone._resolver = _FakeDNS(records if records is not None else ["v=STSv1; id=1"])
        with monkeypatch.context() as patch:
            patch.setattr(theirResolver, "aiohttp", _fakeAiohttp(policy.encode()))
            reply: bytes = await responder.process_request(b"default example.com")
        return reply

    reply = asyncio.run(ask()).decode()
    length, _, rest = reply.partition(":")
    words = rest[: int(length)].split()
    if words[0] != "OK":
        return ("NOTFOUND", None)
    match = next(w for w in words if w.startswith("match="))
    return ("OK", match.removeprefix("match="))


def theirResolve(
    monkeypatch: pytest.MonkeyPatch, policy: str, records: list[str] | None = None
) -> tuple[str, Any]:
    """
    What postfix-mta-sts-resolver's resolver makes of C{example.com}'s TXT records and
    policy: C{("VALID", (id, the policy's fields))}, C{("FETCH_ERROR", None)} (which it
    also answers for an invalid policy) or C{("NONE", None)}.
    """

    async def resolve() -> tuple[Any, Any]:
        resolver = theirResolver.STSResolver(loop=asyncio.get_running_loop(), timeout=4)
        resolver._resolver = _FakeDNS(records if records is not None else ["v=STSv1; id=1"])
        with monkeypatch.context() as patch:
            patch.setattr(theirResolver, "aiohttp", _fakeAiohttp(policy.encode()))
            return await resolver.resolve("example.com")

    status, result = asyncio.run(resolve())
    return status.name, result


def theirVerdict(monkeypatch: pytest.MonkeyPatch, policy: str) -> bool:
    """
    Whether postfix-mta-sts-resolver accepts a policy file.
    """
    return theirResolve(monkeypatch, policy)[0] == "VALID"


def myVerdict(policy: str) -> bool:
    try:
        parsePolicy(policy, "1", 0)
    except PolicySyntaxError:
        return False
    return True


#: Policy files (by their names in the tables of test_policy) on which the two differ:
#: (txdane accepts it, postfix-mta-sts-resolver accepts it, why).
POLICY_DIFFERENCES = {
    "max_age above a year: capped": (
        True,
        False,
        "its grammar allows 10 digits: txdane keeps the policy for the longest max_age, a"
        " year; they refuse it",
    ),
    "a byte order mark": (True, False, "txdane skips a UTF-8 byte order mark"),
    "max_age with a sign": (False, True, "Python's int() reads +5; the grammar is digits"),
    "mx empty": (False, True, "they do not check mx values"),
    "mx with a port": (False, True, "they do not check mx values"),
    "mx a wildcard alone": (False, True, "they do not check mx values"),
    "mx a wildcard inside": (False, True, "they do not check mx values"),
    "mx an underscore": (False, True, "they do not check mx values"),
    "mx in U-labels": (False, True, "they do not check mx values (U-labels are not allowed)"),
    "mx two names": (False, True, "they do not check mx values"),
    "a lone CR inside": (False, True, "Python's splitlines() ends lines at a lone CR too"),
    "an extension without a value": (False, True, "they ignore unknown keys unchecked"),
    "a key too long": (False, True, "they ignore unknown keys unchecked"),
    **{
        name: (
            name.startswith("a later"),
            not name.startswith("a later"),
            "of a field given twice, txdane uses the first (RFC 8461 section 3.2), whatever"
            " later ones say; they use the last (test_firstOrLastField)",
        )
        for name in (
            "a later mode ignored, even unknown",
            "a later max_age ignored, even not digits",
            "a later version ignored, even another",
            "a later mode ignored, even empty",
            "a first mode invalid, a later one valid",
            "a first max_age invalid",
            "a first version invalid",
        )
    },
}


#: Policy files both accept but read differently.
VALUE_DIFFERENCES = {
    "the first mode and max_age count": "they use the last of each (test_firstOrLastField)",
}

CASES = [(name, text) for name, text, _ in VALID] + list(INVALID)


@pytest.mark.parametrize("name, text", CASES, ids=[c[0] for c in CASES])
def test_policyVerdicts(monkeypatch: pytest.MonkeyPatch, name: str, text: str) -> None:
    mine, other = myVerdict(text), theirVerdict(monkeypatch, text)
    if name in POLICY_DIFFERENCES:
        expectedMine, expectedTheirs, _ = POLICY_DIFFERENCES[name]
        assert (mine, other) == (expectedMine, expectedTheirs)
    else:
        assert mine == other
    if mine and other and name not in VALUE_DIFFERENCES:
        # Both accept it: they read the same mode, max_age and MX patterns (theirs as
        # published, which Postfix compares without case).
        policy = parsePolicy(text, "1", 0)
        _, (_, fields) = theirResolve(monkeypatch, text)
        assert fields["mode"] == policy.mode.value
        assert fields["max_age"] == policy.maxAge
        assert tuple(mx.lower().rstrip(".") for mx in fields["mx"]) == policy.mx


def test_firstOrLastField(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A field given twice: txdane uses the first (RFC 8461 section 3.2), they use the last.
    """
    text = "version: STSv1\nmode: none\nmode: enforce\nmx: a.example\nmax_age: 1\nmax_age: 2\n"
    policy = parsePolicy(text, "1", 0)
    assert (policy.mode.value, policy.maxAge) == ("none", 1)
    assert theirs(monkeypatch, text) == ("OK", "a.example")
    status, (_, fields) = theirResolve(monkeypatch, text)
    assert (status, fields["mode"], fields["max_age"]) == ("VALID", "enforce", 2)


@pytest.mark.parametrize("mode", ["testing", "none"])
def test_modesNotEnforced(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """
    Both read testing and none as "deliver as without a policy" (they answer NOTFOUND).
    """
    text = f"version: STSv1\nmode: {mode}\nmx: mail.example.com\nmax_age: 86400\n"
    assert parsePolicy(text, "1", 0).mode.value == mode
    assert theirs(monkeypatch, text) == ("NOTFOUND", None)


def myRecordVerdict(records: list[str]) -> str | None:
    """
    The policy id txdane's discovery fetches under, for these TXT records, or C{None}.
    """
    quoted = [f'"{r}"' for r in records]
    resolver = FakeResolver(
        {("_mta-sts.example.com.", "TXT"): answer("TXT", *quoted, name="_mta-sts.example.com.")}
    )
    policies = PolicyResolver(Clock(), resolver)
    fetched: list[str] = []

    def fetch(domain: str, policyId: str) -> Any:
        fetched.append(policyId)
        return succeed(parsePolicy(GOOD, policyId, 0))

    policies.fetchPolicy = fetch  # type: ignore[method-assign]
    outcome = fired(policies.policyFor("example.com"))
    return outcome.policy.id if outcome.policy is not None else None


#: TXT records (by their names in the table of test_policy) on which the two differ.
RECORD_DIFFERENCES = {
    "empty id": "they do not check the id",
    "id too long": "they do not check the id",
    "id with a hyphen": "they do not check the id",
    "id with a space": "they do not check the id",
    "two delimiters": "they skip empty fields",
    "two final delimiters": "they skip empty fields",
    "a field without =": "they do not check the fields",
    "an extension value with =": "they do not check the fields",
    "a second id invalid": "they do not check the id, and use the last",
}

EXTRA_RECORDS = [
    ("other records ignored", ["v=spf1 -all", "v=STSv1; id=a"], "a", "a"),
    ("two records", ["v=STSv1; id=a", "v=STSv1; id=b"], None, None),
    ("STSv10 is not STSv1", ["v=STSv10; id=a"], None, None),
    # They count every record starting with v=STSv1, so v=STSv10 hides the real one.
    ("STSv10 beside STSv1", ["v=STSv10; id=a", "v=STSv1; id=b"], "b", None),
    ("space before the delimiter", ["v=STSv1 ; id=a"], "a", "a"),
    ("no records", [], None, None),
    # They use the last id of a record, txdane the first.
    ("two ids", ["v=STSv1; id=first; id=second"], "first", "second"),
]


@pytest.mark.parametrize("name, text, expected", RECORDS, ids=[r[0] for r in RECORDS])
def test_recordVerdicts(
    monkeypatch: pytest.MonkeyPatch, name: str, text: str, expected: str | None
) -> None:
    mine = myRecordVerdict([text])
    other = theirResolve(monkeypatch, GOOD, [text])[0] == "VALID"
    assert mine == expected
    if name in RECORD_DIFFERENCES:
        assert (mine is not None, other) == (False, True)
    else:
        assert (mine is not None) == other


@pytest.mark.parametrize(
    "name, records, mine, their",
    EXTRA_RECORDS,
    ids=[r[0] for r in EXTRA_RECORDS],
)
def test_recordSets(
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    records: list[str],
    mine: str | None,
    their: str | None,
) -> None:
    assert myRecordVerdict(records) == mine
    status, result = theirResolve(monkeypatch, GOOD, records)
    assert (result[0] if status == "VALID" else None) == their


def postfixMatches(patterns: str, name: str) -> bool:
    """
    Whether Postfix's C{secure} level accepts a certificate name C{name} under a C{match=}
    list (postconf(5), C{smtp_tls_verify_cert_match}): a pattern C{example.com} matches that
    name, C{.example.com} a non-zero number of labels before it; case is ignored.
    """
    name = name.lower()
    for pattern in patterns.lower().split(":"):
        if pattern.startswith("."):
            if name.endswith(pattern) and len(name) > len(pattern):
                return True
        elif name == pattern:
            return True
    return False


MX = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\nmax_age: 86400\n"


@pytest.mark.parametrize(
    "host, mine, their",
    [
        ("mail.example.com", True, True),
        ("MAIL.Example.COM", True, True),
        ("a.example.net", True, True),
        ("A.EXAMPLE.NET", True, True),
        ("example.net", False, False),
        ("mail2.example.com", False, False),
        ("a.mail.example.com", False, False),
        ("example.com", False, False),
        ("a.example.net.evil", False, False),
        # RFC 8461 section 4.1: the wildcard covers one label. Postfix's ".example.net",
        # which they make of "*.example.net", covers any number.
        ("a.b.example.net", False, True),
    ],
)
def test_mxMatching(monkeypatch: pytest.MonkeyPatch, host: str, mine: bool, their: bool) -> None:
    """
    Which MX hosts a policy allows. RFC 8461 matches the MX host's name; they hand Postfix
    the patterns as a C{match=} list, which Postfix matches against the certificate's names
    (the same name for a certificate issued to the MX host).
    """
    verdict, patterns = theirs(monkeypatch, MX)
    assert verdict == "OK" and patterns is not None
    assert sorted(patterns.split(":")) == [".example.net", "mail.example.com"]
    assert parsePolicy(MX, "1", 0).matches(host) is mine
    assert postfixMatches(patterns, host) is their

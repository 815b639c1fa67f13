"""
The command line's resolution options (C{--iterative}, C{--root-hints}) and how C{lookup}
reports how its answers were fetched (C{"resolution"} in the JSON, a line with C{-v}).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus, main
from txdane.cli._common import addResolution, resolutionLines
from txdane.resolvconf import NameServer
from txdane.validation import LookupFailedError
from txdane.validation.iterative import IANA_ROOT_HINTS, Resolution

from ..fakeresolver import NAME, FakeResolver, answer
from .test_lookup import options, run
from .world import makeCLIWorld


class _Querier:
    def __init__(self, resolution: Resolution) -> None:
        self.resolution = resolution


class _Resolving(FakeResolver):
    def __init__(self, table: dict, resolution: Resolution) -> None:
        super().__init__(table)
        self.querier = _Querier(resolution)


FALLBACK = Resolution(
    "iterative", "every configured resolver is a DNSSEC roadblock: 192.0.2.53#53 strips RRSIGs"
)


def test_jsonSaysHow() -> None:
    resolver = _Resolving({(NAME, "A"): answer("A", "192.0.2.1")}, FALLBACK)
    status, output = run(resolver, "--json", NAME)
    assert status == ExitStatus.OK
    assert json.loads(output)["resolution"] == {
        "mode": "iterative",
        "reason": "every configured resolver is a DNSSEC roadblock: 192.0.2.53#53 strips RRSIGs",
    }


def test_failedJsonSaysHow() -> None:
    error = LookupFailedError(NAME, 1, "no server of example.test. answered")  # type: ignore[arg-type]
    resolver = _Resolving({(NAME, "A"): error}, Resolution("iterative", "requested"))
    status, output = run(resolver, "--json", NAME)
    assert status == ExitStatus.FAILURE
    data = json.loads(output)
    assert data["status"] == "failed"
    assert data["resolution"] == {"mode": "iterative", "reason": "requested"}


def test_verboseSaysWhy() -> None:
    resolver = _Resolving({(NAME, "A"): answer("A", "192.0.2.1")}, FALLBACK)
    _, output = run(resolver, "-v", NAME)
    assert output.splitlines()[-1] == (
        "  resolution  from the root hints (every configured resolver is a DNSSEC roadblock: "
        "192.0.2.53#53 strips RRSIGs)"
    )
    _, quiet = run(resolver, NAME)
    assert "resolution" not in quiet


def test_recursiveAsUsualSaysNothing() -> None:
    """
    Asking the resolvers as usual adds no line, and a resolver that does not say how it
    resolves (trust-AD, a fake) adds no JSON member.
    """
    resolving = _Resolving({}, Resolution("recursive"))
    assert resolutionLines(resolving) == []
    assert addResolution({}, resolving) == {"resolution": {"mode": "recursive", "reason": None}}
    assert addResolution({}, FakeResolver({})) == {}
    partial = _Resolving({}, Resolution("recursive", "not asked: 192.0.2.53#53 strips RRSIGs"))
    assert resolutionLines(partial) == [
        "  resolution  recursive (not asked: 192.0.2.53#53 strips RRSIGs)"
    ]


def test_options(tmp_path: Path) -> None:
    """
    C{--iterative} and C{--root-hints FILE} reach the resolver settings.
    """
    from txdane.cli._common import resolverSettings

    hints = tmp_path / "named.root"
    hints.write_text(". 3600000 NS a.root-servers.net.\na.root-servers.net. 3600000 A 192.0.2.1\n")
    settings = resolverSettings(options("--iterative", "--root-hints", str(hints), NAME))
    assert settings.iterative
    assert settings.rootHints == (NameServer("192.0.2.1"),)
    settings = resolverSettings(options(NAME))
    assert not settings.iterative and settings.rootHints is None
    assert len(IANA_ROOT_HINTS) == 26


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--root-hints", "/nonexistent/named.root"],
            "--root-hints /nonexistent/named.root: no such file or directory",
        ),
        (["--iterative", "--trust-ad", "--resolver", "127.0.0.1"], "--trust-ad and --iterative"),
        (["--iterative", "--resolver", "127.0.0.1"], "--resolver and --iterative exclude"),
    ],
)
def test_usageErrors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lookup", "example.test", *argv]) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


class _Telling:
    """
    A querier passing queries to the DNS client, saying that it resolved from the root.
    """

    resolution = FALLBACK

    def __init__(self, client: Any) -> None:
        self.client = client

    def query(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.query(*args, **kwargs)


class CheckTests(TestCase):
    async def test_checkSaysHow(self) -> None:
        """
        C{txdane check} says how the answers were fetched, in its JSON and with C{-v}.
        """
        world = await makeCLIWorld(self, {}, querier=_Telling)
        status, data = await world.json("check", "www.badds.test")
        self.assertEqual(status, ExitStatus.BOGUS)
        self.assertEqual(data["resolution"], FALLBACK.toJSON())
        _, output = await world.run("check", "-v", "www.badds.test")
        self.assertIn("  resolution  from the root hints (every configured resolver", output)
        _, output = await world.run("check", "www.badds.test")
        self.assertNotIn("resolution", output)

"""
Tests for C{txdane lookup}: the report, the JSON, the exit statuses and the usage errors.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from twisted.internet.defer import Deferred

from txdane.cli import ExitStatus, UsageError, main
from txdane.cli.lookup import answerToJSON, execute, formatAnswer
from txdane.status import Status
from txdane.validation import ChainLink, LookupFailedError, SignatureUse, ZoneTrust

from ..fakeresolver import NAME, FakeResolver, answer

ROOT = Path(__file__).resolve().parents[2]


def options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    from txdane.cli import lookup

    lookup.addArguments(parser)
    return parser.parse_args(list(argv))


def run(resolver: FakeResolver, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    d = Deferred.fromCoroutine(execute(resolver, options(*argv), out, err))
    box: list[Any] = []
    d.addBoth(box.append)
    result = box[0]
    if hasattr(result, "raiseException"):
        result.raiseException()
    return result, out.getvalue()


SIGNATURE = SignatureUse(
    owner=dns.name.from_text(NAME),
    covered=dns.rdatatype.A,
    signer=dns.name.from_text("example.test."),
    keyTag=38913,
    algorithm=13,
    inception=1764000000,
    expiration=1766000000,
)


def test_secure() -> None:
    resolver = FakeResolver({(NAME, "A"): answer("A", "192.0.2.1", signatures=(SIGNATURE,))})
    status, output = run(resolver, NAME)
    assert status == ExitStatus.OK == 0
    assert output.splitlines() == [f"{NAME} A  secure", "  192.0.2.1"]


def test_bogusNamesTheCause() -> None:
    bogus = answer(
        "A",
        "192.0.2.1",
        status=Status.BOGUS,
        ede=9,
        reason="no DNSKEY of example.test. matches the DS its parent publishes",
    )
    status, output = run(FakeResolver({(NAME, "A"): bogus}), NAME, "A")
    assert status == ExitStatus.BOGUS
    lines = output.splitlines()
    assert lines[0] == f"{NAME} A  bogus (EDE 9, DNSKEY missing)"
    assert lines[1] == "  no DNSKEY of example.test. matches the DS its parent publishes"
    # Bogus data is shown apart, never as if it were the answer.
    assert lines[2:] == ["  data that failed validation (do not use it):", "    192.0.2.1"]


def test_tlsaMnemonics() -> None:
    owner = "_443._tcp.www.example.test."
    resolver = FakeResolver({(owner, "TLSA"): answer("TLSA", "3 1 1 " + "ab" * 32, name=owner)})
    _, output = run(resolver, owner, "TLSA")
    assert output.splitlines()[1] == "  3 1 1 " + "ab" * 32 + "  DANE-EE SPKI SHA2-256"


@pytest.mark.parametrize(
    "status, code",
    [
        (Status.INSECURE, ExitStatus.INSECURE),
        (Status.INDETERMINATE, ExitStatus.INDETERMINATE),
    ],
)
def test_exitStatuses(status: Status, code: int) -> None:
    resolver = FakeResolver({(NAME, "A"): answer("A", "192.0.2.1", status=status)})
    assert run(resolver, NAME)[0] == code


def test_lookupFailure() -> None:
    """
    A lookup that could not complete is exit status 4 with one line, no traceback.
    """
    failure = LookupFailedError(
        dns.name.from_text(NAME), dns.rdatatype.A, "SERVFAIL from 192.0.2.53"
    )
    resolver = FakeResolver({(NAME, "A"): failure})
    from txdane.cli import CommandError

    with pytest.raises(CommandError) as caught:
        run(resolver, NAME)
    assert caught.value.status == ExitStatus.FAILURE
    assert "SERVFAIL from 192.0.2.53" in str(caught.value)
    status, output = run(resolver, NAME, "--json")
    assert status == ExitStatus.FAILURE
    assert json.loads(output)["status"] == "failed"


def test_negativeAndChain() -> None:
    cname = dns.rrset.from_text("alias.example.test.", 300, "IN", "CNAME", NAME)
    chained = answer("A", "192.0.2.1", name=NAME, chain=(ChainLink(cname, Status.SECURE),))
    nx = answer("A", rcode=dns.rcode.NXDOMAIN, name="nope.example.test.")
    resolver = FakeResolver(
        {("alias.example.test.", "A"): chained, ("nope.example.test.", "A"): nx}
    )
    _, output = run(resolver, "alias.example.test")
    assert f"  alias.example.test. CNAME {NAME}  (secure)" in output.splitlines()
    status, output = run(resolver, "nope.example.test")
    assert status == ExitStatus.OK
    assert output.splitlines()[1] == "  no such name (NXDOMAIN)"


def test_verboseChainOfTrust() -> None:
    ds = dns.rrset.from_text(".", 3600, "IN", "DS", "20326 13 2 " + "ab" * 32)
    zones = (
        ZoneTrust(dns.name.root, Status.SECURE, ds=ds, anchored=True, dsKeyTags=(20326,)),
        ZoneTrust(dns.name.from_text("example.test."), Status.SECURE, dsKeyTags=(2371,)),
    )
    resolver = FakeResolver(
        {(NAME, "A"): answer("A", "192.0.2.1", trustChain=zones, signatures=(SIGNATURE,))}
    )
    _, output = run(resolver, NAME, "-v")
    assert "  chain of trust" in output
    assert "trust anchor 20326" in output
    assert "RRSIG A by example.test. key 38913" in output


def test_json() -> None:
    resolver = FakeResolver({(NAME, "A"): answer("A", "192.0.2.1", signatures=(SIGNATURE,))})
    status, output = run(resolver, NAME, "--json")
    data = json.loads(output)
    assert status == 0
    assert data == answerToJSON(resolver.table[(NAME, "A")])  # type: ignore[arg-type]
    assert {k: data[k] for k in ("name", "type", "status", "reason", "ede", "records")} == {
        "name": NAME,
        "type": "A",
        "status": "secure",
        "reason": "",
        "ede": None,
        "records": ["192.0.2.1"],
    }
    assert data["signatures"][0]["key_tag"] == 38913


def test_formatTrustAD() -> None:
    text = formatAnswer(answer("A", "192.0.2.1", securedBy="AD bit from 127.0.0.1"))
    assert text.splitlines()[0] == f"{NAME} A  secure [AD bit from 127.0.0.1]"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["lookup"], "the following arguments are required: NAME"),
        (["lookup", "a..b"], "is not a valid domain name"),
        (["lookup", ""], "'' is not a valid domain name: it is empty (the root is .)"),
        (["lookup", " "], "it is empty"),
        (["lookup", "example.test", "TYPE0"], "record type 0 is reserved"),
        (["lookup", "example.test", "NOPE"], "unknown record type 'NOPE'"),
        (["lookup", "example.test", "--resolver", "not-an-ip"], "--resolver"),
        (["lookup", "example.test", "--timeout", "0"], "--timeout"),
        (["lookup", "example.test", "--timeout", "nan"], "--timeout"),
        (["lookup", "example.test", "--timeout", "inf"], "--timeout"),
        (["lookup", "example.test", "TYPE99999"], "unknown record type 'TYPE99999'"),
        (["lookup", "example.test", "--trust-anchor", "/nonexistent/anchor"], "--trust-anchor"),
        (["lookup", "example.test", "--trust-ad", "--trust-anchor", "x"], "exclude each other"),
        (
            ["lookup", "example.test", "--trust-anchor-state", "/nonexistent/state"],
            "--trust-anchor-state: trust anchor state file /nonexistent/state: cannot write",
        ),
        (
            ["lookup", "example.test", "--trust-ad", "--trust-anchor-state", "x"],
            "--trust-ad and --trust-anchor-state exclude each other",
        ),
        (["lookup", "example.test", "--trust-ad", "--resolver", "192.0.2.53"], "192.0.2.53"),
        (
            ["lookup", "example.test", "--trust-ad", "--resolver", "192.0.2.53"],
            "--trust-ad-remote",
        ),
        (
            ["lookup", "example.test", "--trust-ad-remote"],
            "--trust-ad-remote: applies only when the AD bit is trusted (give --trust-ad",
        ),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usageErrors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """
    A user's mistake is exit status 2 and one line on standard error.
    """
    assert main(argv) == ExitStatus.USAGE
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_moduleEntryPoint() -> None:
    """
    C{python -m txdane} is the command line.
    """
    result = subprocess.run(
        [sys.executable, "-m", "txdane", "lookup", "a..b"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == ExitStatus.USAGE
    assert result.stderr.startswith("txdane: ")


@pytest.mark.parametrize(
    "extra",
    [
        ["--resolver", "127.0.0.1#5353", "--resolver", "::1"],
        ["--resolver", "192.0.2.53", "--trust-ad-remote"],
    ],
)
def test_trustADLoopbackOrOverride(extra: list[str]) -> None:
    """
    --trust-ad is accepted for loopback resolvers, and for others with --trust-ad-remote.
    """
    from txdane.cli._common import addResolverArguments, resolverSettings

    parser = argparse.ArgumentParser()
    addResolverArguments(parser)
    settings = resolverSettings(parser.parse_args(["--trust-ad", *extra]))
    assert settings.trustAD


def test_strictNSEC3() -> None:
    """
    --strict-nsec3 reaches the validator's limits, and is refused with --trust-ad (one line
    naming both options).
    """
    from txdane.cli._common import addResolverArguments, resolverSettings

    parser = argparse.ArgumentParser()
    addResolverArguments(parser)
    settings = resolverSettings(parser.parse_args(["--strict-nsec3", "--resolver", "::1"]))
    assert settings.strictNSEC3Iterations
    assert not resolverSettings(parser.parse_args(["--resolver", "::1"])).strictNSEC3Iterations
    with pytest.raises(UsageError) as raised:
        resolverSettings(parser.parse_args(["--strict-nsec3", "--trust-ad", "--resolver", "::1"]))
    assert "--strict-nsec3" in str(raised.value)
    assert "--trust-ad" in str(raised.value)

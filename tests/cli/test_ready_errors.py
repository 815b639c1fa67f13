"""
The rollover gate (L{txdane.cli._ready.checkReady}) when its files cannot be used or the
validating resolver cannot be reached: one line that says so, naming what was asked, within
the C{--timeout} in all, and no blame on the root zone.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dns.name
import dns.rdatatype
import pytest
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock

from tests.dane.certs import issue
from txdane.cli import UsageError
from txdane.cli._ready import ReadyReport, checkReady
from txdane.errors import LookupFailedError
from txdane.resolvconf import NameServer
from txdane.status import Status
from txdane.transport import DNSTimeoutError

OWNER = dns.name.from_text("_443._tcp.www.example.test.")
RESOLVER = NameServer("192.0.2.53")
TIMEOUT = 3.0


class Resolver:
    """
    A validating resolver asked through C{querier} (which names its servers), answering each
    question with what C{answers} gives (a Deferred, or a fresh one that never fires).
    """

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []
        self.querier = SimpleNamespace(servers=(RESOLVER,))

    def lookup(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> Deferred[Any]:
        question = f"{name} {dns.rdatatype.to_text(rdtype)}"
        self.asked.append(question)
        answer = self.answers.get((str(name), dns.rdatatype.to_text(rdtype)))
        return answer() if answer is not None else Deferred()


@pytest.fixture
def cert(tmp_path: Path) -> Path:
    path = tmp_path / "next.pem"
    path.write_bytes(issue("www.example.test").certPEM())
    return path


def gate(clock: Clock, resolver: Resolver, cert: Path, state: Path) -> Deferred[ReadyReport]:
    return Deferred.fromCoroutine(
        checkReady(clock, resolver, "www.example.test", 443, cert, state, 0.0, TIMEOUT)
    )


def test_stateIsADirectory(tmp_path: Path, cert: Path) -> None:
    """
    A C{--state} that is a directory is refused in words, before anything is looked up.
    """
    resolver = Resolver()
    failures: list[Any] = []
    gate(Clock(), resolver, cert, tmp_path).addErrback(failures.append)
    [failure] = failures
    assert failure.check(UsageError)
    assert str(failure.value) == f"--state {tmp_path}: is a directory"
    assert resolver.asked == []


def test_certificateIsADirectory(tmp_path: Path) -> None:
    """
    A C{--ready} that cannot be read is named as the option, the reason in words.
    """
    failures: list[Any] = []
    gate(Clock(), Resolver(), tmp_path, tmp_path / "state.json").addErrback(failures.append)
    [failure] = failures
    assert str(failure.value) == f"--ready {tmp_path}: is a directory"


def test_resolverNeverAnswers(tmp_path: Path, cert: Path) -> None:
    """
    A resolver that never answers: the gate ends after the timeout with one line that names
    the resolver and the question; the zone, its keys and servers are not asked for (they
    would come from the same resolver), and the root zone is not blamed.
    """
    clock, resolver = Clock(), Resolver()
    results: list[ReadyReport] = []
    gate(clock, resolver, cert, tmp_path / "state.json").addCallback(results.append)
    clock.advance(TIMEOUT - 0.1)
    assert results == []
    clock.advance(0.1)
    [report] = results
    assert report.missing == [
        f"the validating resolver (192.0.2.53) could not be reached, asked for {OWNER} TLSA: "
        f"no answer within the --timeout of {TIMEOUT:g} s"
    ]
    assert resolver.asked == [f"{OWNER} TLSA"]
    assert not any(" . " in line or "of .:" in line for line in report.lines())
    assert (tmp_path / "state.json").read_text() == "{}\n"


def test_resolverTimesOut(tmp_path: Path, cert: Path) -> None:
    """
    The resolver's own timeout (a lookup failed for want of an answer) is said once, without
    the question twice.
    """
    timedOut = DNSTimeoutError(OWNER, dns.rdatatype.TLSA, [RESOLVER], 2)
    error = LookupFailedError(OWNER, dns.rdatatype.TLSA, str(timedOut), 22, timedOut)
    resolver = Resolver({(str(OWNER), "TLSA"): lambda: fail(error)})
    results: list[ReadyReport] = []
    gate(Clock(), resolver, cert, tmp_path / "state.json").addCallback(results.append)
    [report] = results
    assert report.missing == [
        f"the validating resolver (192.0.2.53) could not be reached, asked for {OWNER} TLSA: "
        "no answer from 192.0.2.53 after 2 queries"
    ]
    assert resolver.asked == [f"{OWNER} TLSA"]


def test_deadlineForTheWholeLook(tmp_path: Path, cert: Path) -> None:
    """
    The timeout bounds the whole look, not each step: a resolver that answers the TLSA
    question at once and never the zone's SOA ends the look at the timeout, naming the zone
    lookup that did not finish rather than the root zone.
    """
    seen = SimpleNamespace(status=Status.SECURE, rrset=None, canonicalName=OWNER)
    resolver = Resolver({(str(OWNER), "TLSA"): lambda: succeed(seen)})
    clock = Clock()
    results: list[ReadyReport] = []
    gate(clock, resolver, cert, tmp_path / "state.json").addCallback(results.append)
    clock.advance(TIMEOUT)
    [report] = results
    assert report.missing == [
        "the validating resolver sees no record for the certificate",
        f"the zone of {OWNER} (its SOA record): {OWNER} SOA: no answer within the --timeout "
        f"of {TIMEOUT:g} s",
    ]
    assert resolver.asked == [f"{OWNER} TLSA", f"{OWNER} SOA"]


def test_zoneLookupFails(tmp_path: Path, cert: Path) -> None:
    """
    A failed SOA lookup is not taken for "no zone here": the zone is not guessed (at worst
    the root), so the root's keys and servers are not asked for.
    """
    seen = SimpleNamespace(status=Status.SECURE, rrset=None, canonicalName=OWNER)
    error = LookupFailedError(OWNER, dns.rdatatype.SOA, "server failure (SERVFAIL)", 2)
    resolver = Resolver(
        {
            (str(OWNER), "TLSA"): lambda: succeed(seen),
            (str(OWNER), "SOA"): lambda: fail(error),
        }
    )
    results: list[ReadyReport] = []
    gate(Clock(), resolver, cert, tmp_path / "state.json").addCallback(results.append)
    [report] = results
    assert report.missing[-1] == f"the zone of {OWNER} (its SOA record): {error}"
    assert resolver.asked == [f"{OWNER} TLSA", f"{OWNER} SOA"]

"""
The on-path attacker suite in CI: a fixed, seeded number of trials, none of which may end in
a secure answer other than the honest one, a downgrade, a crash or a hang; and the split-zone
replays, one by one.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import pytest
from twisted.internet.defer import Deferred, succeed

from tests.attack.attacker import MUTATIONS, Attacker
from tests.attack.trials import (
    VIOLATIONS,
    Report,
    classify,
    questionNamed,
    runTrial,
    runTrials,
)
from tests.attack.world import (
    Question,
    World,
    buildWorld,
    expectedVerdicts,
    lookupNow,
    splitQuestions,
)
from txdane.status import Status
from txdane.testing import CASES
from txdane.validation import EDE, Answer

#: Trials run in CI (about ten seconds), their seed, and the time the zones are signed
#: around: with all three fixed, the slice replays alike in any process.
CI_TRIALS = 2500
CI_SEED = 14
CI_NOW = 1_800_000_000

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world() -> World:
    return buildWorld(CI_NOW, CI_SEED)


@pytest.fixture(scope="module")
def ciReport(world: World) -> Report:
    return runTrials(world, CI_TRIALS, CI_SEED)


def test_honestWorld(world: World) -> None:
    """
    Without an attacker every question gets the verdict and response code of the fixed
    table, and no violation: the harness itself is sound.
    """
    for question in world.questions:
        assert (question.honest.status, question.honest.rcode) == (
            question.expected,
            question.rcode,
        ), question.name
        attacker = Attacker(world, random.Random(0), rate=0.0)
        result = lookupNow(world.resolver(attacker), question.name, question.rdtype)
        outcome = classify(world, question, result)
        name = question.expected.name.lower()
        assert outcome == {"secure": "secure-identical"}.get(name, name), (question.name, outcome)
    statuses = {q.expected for q in world.questions}
    assert {Status.SECURE, Status.INSECURE, Status.BOGUS} <= statuses
    assert len([q for q in world.questions if q.expected is Status.SECURE]) > 30


def test_tableIsNotTheValidator() -> None:
    """
    The expected verdicts come from the fixed table of C{txdane.testing.CASES} and the split
    zones, with every question of the world in it.
    """
    table = expectedVerdicts()
    for case in CASES:
        assert table[(case.name, case.rdtype)][0] is case.status or (
            case.name,
            case.rdtype,
        ) in {(c.name, c.rdtype) for c in CASES if c is not case}
    for parent in PARENTS:
        for name, rdtype in splitQuestions(parent):
            assert table[(name, rdtype)][0] is Status.SECURE


def _asIf(
    question: Question, status: Status, honest: Status | None = None
) -> tuple[Question, Answer]:
    """
    The question, its honest answer claiming C{honest} (a validator under test that is
    wrong even without an attacker), and an attacked result of C{status}.
    """
    answer = dataclasses.replace(question.honest, status=status)
    if honest is not None:
        question = dataclasses.replace(
            question, honest=dataclasses.replace(question.honest, status=honest)
        )
    return question, answer


@pytest.mark.parametrize(
    ("name", "rdtype", "attacked", "outcome"),
    [
        ("nosig.example.test.", "A", Status.INSECURE, "WEAKENED"),
        ("nosig.example.test.", "A", Status.SECURE, "WEAKENED"),
        ("www.badds.test.", "A", Status.INSECURE, "WEAKENED"),
        ("www.expired.test.", "A", Status.INDETERMINATE, "indeterminate"),
        ("www.expired.test.", "A", Status.BOGUS, "bogus"),
        ("www.example.test.", "A", Status.INSECURE, "DOWNGRADE"),
        ("www.example.test.", "A", Status.INDETERMINATE, "DOWNGRADE"),
        ("www.example.test.", "A", Status.BOGUS, "bogus"),
        ("www.unsigned.test.", "A", Status.SECURE, "secure-DIFFERENT"),
        ("www.unsigned.test.", "A", Status.BOGUS, "bogus"),
        ("nx.iterations.test.", "A", Status.INSECURE, "insecure"),
    ],
)
def test_weakeningsCounted(
    world: World, name: str, rdtype: str, attacked: Status, outcome: str
) -> None:
    """
    Against the table: bogus to insecure or secure, secure to insecure or indeterminate, and
    insecure to secure are violations; failing closed (bogus, indeterminate) never is.
    """
    question, result = _asIf(questionNamed(world, name, rdtype), attacked)
    assert classify(world, question, result) == outcome


def test_brokenHonestValidatorStillCaught(world: World) -> None:
    """
    A validator under test that already calls a bogus case insecure (or secure) without an
    attacker does not move the bar: the table says bogus, so the result is a violation.
    """
    for status in (Status.INSECURE, Status.SECURE):
        question, result = _asIf(
            questionNamed(world, "nosig.example.test.", "A"), status, honest=status
        )
        assert classify(world, question, result) in VIOLATIONS


def test_everyMutationApplies(world: World) -> None:
    """
    Each mutation runs on real responses without raising.
    """
    rng = random.Random(1)
    for mutation, _ in MUTATIONS:
        for question in world.questions[:10]:
            message = world.respond(question.name, question.rdtype)
            assert isinstance(mutation(rng, world, message), dns.message.Message)


def test_seededTrials(ciReport: Report) -> None:
    """
    A fixed number of seeded trials: every secure result is the honest answer, and nothing
    crashes, hangs, downgrades secure data or weakens a failure (against the fixed table).
    """
    report = ciReport
    assert report.violations == 0, "\n\n".join(report.examples[:3])
    assert report.counts["secure-identical"] > CI_TRIALS // 20
    assert report.counts["bogus"] > CI_TRIALS // 4


_SLICE = """
import dataclasses
import json
from tests.attack.test_attack import CI_NOW, CI_SEED, CI_TRIALS
from tests.attack.trials import runTrials
from tests.attack.world import buildWorld
report = runTrials(buildWorld(CI_NOW, CI_SEED), CI_TRIALS, CI_SEED)
print(json.dumps(dict(report.counts), sort_keys=True))
"""


def test_sliceReplays(ciReport: Report) -> None:
    """
    The CI slice replays: two other processes (each with its own hash seed) count the same
    outcomes as this one, so a violation found with a seed is found again with it.
    """
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _SLICE],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": str(hashSeed)},
            stdout=subprocess.PIPE,
            text=True,
        )
        for hashSeed in (1, 2)
    ]
    counts = []
    for run in runs:
        out, _ = run.communicate(timeout=300)
        assert run.returncode == 0
        counts.append(json.loads(out))
    assert counts[0] == counts[1] == dict(ciReport.counts)


class Replaying:
    """
    A querier answering from the world as it is now, except for the questions in C{old}
    (answered as before the split) and C{strip} (answered without signatures).
    """

    def __init__(self, world: World, old: set[str], strip: frozenset[str] = frozenset()) -> None:
        self.world, self.old, self.strip = world, old, strip

    def query(self, name, rdtype, rdclass="IN", **flags) -> Deferred[dns.message.Message]:
        key = f"{name} {dns.rdatatype.to_text(rdtype)}"
        response = self.world.respond(name, rdtype, old=key in self.old)
        if key in self.strip:
            response.answer = [r for r in response.answer if r.rdtype != dns.rdatatype.RRSIG]
        return succeed(response)


PARENTS = ["split.test.", "split3.test."]


def _attacked(world: World, qname: str, rdtype: str, querier: Replaying) -> Answer:
    honest = questionNamed(world, qname, rdtype).honest
    assert honest.secure and honest.exists
    result = lookupNow(world.resolver(querier), dns.name.from_text(qname), _type(rdtype))
    assert isinstance(result, Answer), result
    return result


def _type(text: str) -> dns.rdatatype.RdataType:
    return dns.rdatatype.RdataType.make(text)


@pytest.mark.parametrize("parent", PARENTS)
def test_oldParentNXDOMAINForTheChildsTLSA(world: World, parent: str) -> None:
    """
    The parent's old NXDOMAIN for C{_443._tcp.www.child}, signed before the child was split
    out and still valid, replayed for the TLSA query: bogus (EDE 6), never a secure "no
    TLSA" (which makes DANE fall back to PKIX, and SMTP to unauthenticated TLS).
    """
    qname = f"_443._tcp.www.child.{parent}"
    old = world.respond(dns.name.from_text(qname), _type("TLSA"), old=True)
    assert old.rcode() == dns.rcode.NXDOMAIN
    result = _attacked(world, qname, "TLSA", Replaying(world, {f"{qname} TLSA"}))
    assert result.status is Status.BOGUS, result
    assert result.ede == EDE.DNSSEC_BOGUS


@pytest.mark.parametrize("parent", PARENTS)
def test_oldParentRecordForTheChildsName(world: World, parent: str) -> None:
    """
    The parent's old A record of C{www.child}, replayed: the signer no longer holds the name.
    """
    qname = f"www.child.{parent}"
    result = _attacked(world, qname, "A", Replaying(world, {f"{qname} A"}))
    assert result.status is Status.BOGUS, result


@pytest.mark.parametrize("parent", PARENTS)
def test_oldParentDelegationForTheGrandchildsDS(world: World, parent: str) -> None:
    """
    The parent's old NSEC (or NSEC3) for C{sub.child}, an unsigned delegation before the
    split, replayed for the DS query of the signed grandchild, with the grandchild's TLSA
    signatures stripped: bogus, never insecure.
    """
    qname = f"_443._tcp.www.sub.child.{parent}"
    querier = Replaying(world, {f"sub.child.{parent} DS"}, frozenset({f"{qname} TLSA"}))
    result = _attacked(world, qname, "TLSA", querier)
    assert result.status is Status.BOGUS, result


def test_trialReplays(world: World) -> None:
    """
    The command a trial's report prints replays that one trial, to the same outcome.
    """
    outcome, detail = runTrial(world, CI_SEED, 7)
    command = detail.rpartition("replay: python ")[2].split()
    assert command[:2] == ["-m", "tests.attack"]
    done = subprocess.run(
        [sys.executable, *command], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert f"1 trials, seed {CI_SEED}, now {CI_NOW}" in done.stdout
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in done.stdout.splitlines()[1:]
        if line.startswith("  ") and line.split()[0] != "violations"
    }
    assert counts == {outcome: 1}

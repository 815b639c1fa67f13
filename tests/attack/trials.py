"""
Seeded attacker trials and the sorting of their outcomes.

Each trial picks a question, makes a fresh validator (empty caches) behind an L{Attacker}
whose random choices come from the trial's seed, and compares the result with the question's
expected verdict, from a fixed table (L{tests.attack.world.expectedVerdicts}: not what the
validator under test says without an attacker), and with the honest answer's records.
Outcomes:

- C{secure-identical}: secure, expected secure, and the honest answer (same existence,
  RCODE, records, name);
- C{bogus}, C{insecure}, C{indeterminate}: what the validator said, when not secure;
- C{failed}: the lookup failed (L{LookupFailedError}), which callers treat as an error;
- C{insecure-trade}: honest secure, attacked insecure, in a zone whose NSEC3 iterations are
  over the limit (RFC 9276's documented trade);
- C{insecure-replay}: honest secure, attacked insecure, for a name that was below an unsigned
  delegation before the split, when the attacker replayed the old parent's consistent view
  (no cut at the child, an unsigned delegation at the grandchild): the old verdict, which no
  validator can tell from the new one until those signatures expire;

- C{secure-replay}: secure, and the answer an honest network gave before the split (the old
  parent's records, replayed with a consistent old view of the zone cuts, still validly
  signed): DNSSEC has no freshness beyond the signatures' validity, so no validator can
  tell it from the current answer until they expire;

and the violations, which must never happen:

- C{secure-DIFFERENT}: secure, but not the honest answer (or the honest answer is not secure,
  or not the table's);
- C{DOWNGRADE}: expected secure, attacked insecure or indeterminate, outside those zones;
- C{WEAKENED}: expected bogus or indeterminate, attacked insecure or secure (a failure that
  must stay one made usable);
- C{CRASH}: an exception other than L{LookupFailedError}, or one wrapping an internal error;
- C{HANG}: the lookup never finished.
"""

from __future__ import annotations

import collections
import dataclasses
import random

import dns.name

from tests.attack.attacker import Attacker
from tests.attack.world import Question, World, lookupNow
from txdane.status import Status
from txdane.validation import Answer, LookupFailedError

VIOLATIONS = ("secure-DIFFERENT", "DOWNGRADE", "WEAKENED", "CRASH", "HANG")


@dataclasses.dataclass
class Report:
    """
    Counts per outcome, and the first few violations with how they came about.
    """

    counts: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    examples: list[str] = dataclasses.field(default_factory=list)

    @property
    def violations(self) -> int:
        return sum(self.counts[v] for v in VIOLATIONS)

    def add(self, outcome: str, detail: str | None = None) -> None:
        self.counts[outcome] += 1
        if detail is not None and len(self.examples) < 20:
            self.examples.append(detail)


def _same(result: Answer, honest: Answer) -> bool:
    return (
        result.rcode == honest.rcode
        and result.exists == honest.exists
        and result.canonicalName == honest.canonicalName
        and sorted(r.to_text() for r in result.records)
        == sorted(r.to_text() for r in honest.records)
    )


def classify(world: World, question: Question, result: object) -> str:
    """
    The outcome of one attacked lookup (see the module docstring).
    """
    honest, expected = question.honest, question.expected
    if result is None:
        return "HANG"
    if isinstance(result, LookupFailedError):
        return "CRASH" if result.reason.startswith("cannot validate:") else "failed"
    if not isinstance(result, Answer):
        return "CRASH"
    if expected in (Status.BOGUS, Status.INDETERMINATE) and result.status in (
        Status.INSECURE,
        Status.SECURE,
    ):
        return "WEAKENED"
    if result.status is Status.SECURE:
        if (
            expected is Status.SECURE
            and honest.status is Status.SECURE
            and honest.rcode == question.rcode
            and _same(result, honest)
        ):
            return "secure-identical"
        old = question.old
        if isinstance(old, Answer) and old.status is Status.SECURE and _same(result, old):
            return "secure-replay"
        return "secure-DIFFERENT"
    if expected is Status.SECURE and result.status in (Status.INSECURE, Status.INDETERMINATE):
        if any(question.name.is_subdomain(zone) for zone in world.overLimit):
            return "insecure-trade"
        if any(question.name.is_subdomain(zone) for zone in world.formerlyUnsigned):
            return "insecure-replay"
        return "DOWNGRADE"
    return result.status.name.lower()


#: How often the attacker touches a response, chosen per trial: rarely, so that attacks deep
#: in the chain of trust get through the honest steps before them, up to most of the time.
RATES = (0.1, 0.3, 0.6)


def runTrial(world: World, seed: int, trial: int) -> tuple[str, str]:
    """
    Run trial number C{trial} of the run seeded C{seed}; return its outcome and a
    description of what the attacker did.
    """
    rng = random.Random(f"{seed}:{trial}")
    question = rng.choice(world.questions)
    attacker = Attacker(world, rng, rng.choice(RATES))
    resolver = world.resolver(attacker)
    result = lookupNow(resolver, question.name, question.rdtype)
    outcome = classify(world, question, result)
    steps = "; ".join(f"{asked}: {','.join(done)}" for asked, done in attacker.log if done)
    detail = (
        f"trial {trial} {question.name} {question.rdtype.name}: {outcome}: "
        f"expected {question.expected.name.lower()}; honest {question.honest}; got {result};"
        f" attacker: {steps}\nreplay: python -m tests.attack --seed {seed}"
        f" --now {world.hierarchy.now} --first {trial} --trials 1"
    )
    return outcome, detail


def runTrials(world: World, trials: int, seed: int, start: int = 0) -> Report:
    """
    Run C{trials} trials numbered from C{start}.
    """
    report = Report()
    for trial in range(start, start + trials):
        outcome, detail = runTrial(world, seed, trial)
        report.add(outcome, detail if outcome in VIOLATIONS else None)
    return report


def questionNamed(world: World, name: str, rdtype: str) -> Question:
    """
    The question of C{world} for C{name} and C{rdtype}.
    """
    wanted = dns.name.from_text(name)
    for question in world.questions:
        if question.name == wanted and question.rdtype.name == rdtype:
            return question
    raise KeyError((name, rdtype))

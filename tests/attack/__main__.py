"""
C{python -m tests.attack [--trials N] [--seed S] [--first I] [--jobs J] [--now T]}: run
attacker trials (numbered from C{--first}) and print the count of each outcome, the time
taken and the first violations found, each with the command that replays it. The zones' keys
come from the seed: a run with the same seed and C{--now} (printed) replays alike, whatever
the number of jobs.

Exits with status 1 when any trial ends in a violation (see L{tests.attack.trials}).
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing
import sys
import time

from tests.attack.trials import VIOLATIONS, Report, runTrials
from tests.attack.world import buildWorld


def _work(job: tuple[int, int, int, int]) -> Report:
    start, count, seed, now = job
    return runTrials(buildWorld(now, seed), count, seed, start)


def main(argv: list[str] | None = None) -> int:
    """
    Parse C{argv}, run the trials and print the report; return the exit status.
    """
    parser = argparse.ArgumentParser(prog="python -m tests.attack", description=__doc__)
    parser.add_argument("--trials", type=int, default=1000, help="how many trials")
    parser.add_argument("--seed", type=int, default=1, help="the seed of the run")
    parser.add_argument("--first", type=int, default=0, help="the first trial's number")
    parser.add_argument("--jobs", type=int, default=1, help="processes to share the trials")
    parser.add_argument(
        "--now",
        type=int,
        default=None,
        help="the time the zones are signed around (default: now); with the seed, a run"
        " replays alike",
    )
    args = parser.parse_args(argv)
    jobs = max(1, min(args.jobs, args.trials))
    share, extra = divmod(args.trials, jobs)
    now = int(time.time()) if args.now is None else args.now
    work, start = [], args.first
    for job in range(jobs):
        count = share + (1 if job < extra else 0)
        work.append((start, count, args.seed, now))
        start += count
    began = time.monotonic()
    if jobs == 1:
        reports = [_work(work[0])]
    else:
        with multiprocessing.Pool(jobs) as pool:
            reports = pool.map(_work, work)
    elapsed = time.monotonic() - began
    counts: collections.Counter[str] = collections.Counter()
    examples: list[str] = []
    for report in reports:
        counts.update(report.counts)
        examples += report.examples
    print(f"{args.trials} trials, seed {args.seed}, now {now}, {jobs} jobs, {elapsed:.1f} s")
    for outcome, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {outcome:18} {count:8}")
    violations = sum(counts[v] for v in VIOLATIONS)
    print(f"  {'violations':18} {violations:8}")
    for example in examples[:10]:
        print("\n" + example)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())

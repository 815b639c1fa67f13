"""
C{python -m tests.hostile [--deliveries] [--sessions N] [--seed S] [--first I] [--jobs J]}: play
hostile STARTTLS peers (or, with C{--deliveries}, hostile MX hosts for whole deliveries) and
print the count of each outcome and the first violations, each with the
command that replays it. Exits with status 1 when any session ends in a violation.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections import Counter

from tests.hostile.sessions import Report, runDeliveries, runSessions


def _work(job: tuple[int, int, int, bool]) -> Report:
    start, count, seed, deliveries = job
    run = runDeliveries if deliveries else runSessions
    return run(count, seed, start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.hostile", description=__doc__)
    parser.add_argument("--sessions", type=int, default=1000, help="how many sessions")
    parser.add_argument("--seed", type=int, default=1, help="the seed of the run")
    parser.add_argument("--first", type=int, default=0, help="the first session's number")
    parser.add_argument("--jobs", type=int, default=1, help="processes to share the sessions")
    parser.add_argument(
        "--deliveries",
        action="store_true",
        help="play whole mail deliveries (tests.hostile.delivery) instead of STARTTLS sessions",
    )
    args = parser.parse_args(argv)
    jobs = max(1, min(args.jobs, args.sessions))
    share, extra = divmod(args.sessions, jobs)
    work, start = [], args.first
    for job in range(jobs):
        count = share + (1 if job < extra else 0)
        work.append((start, count, args.seed, args.deliveries))
        start += count
    began = time.monotonic()
    if jobs == 1:
        reports = [_work(work[0])]
    else:
        with multiprocessing.Pool(jobs) as pool:
            reports = pool.map(_work, work)
    counts: Counter[str] = Counter()
    examples: list[str] = []
    for report in reports:
        counts.update(report.counts)
        examples += report.examples
    print(
        f"{args.sessions} sessions, seed {args.seed}, {jobs} jobs, {time.monotonic() - began:.1f} s"
    )
    for outcome, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"  {outcome:60} {count:8}")
    violations = sum(n for outcome, n in counts.items() if outcome.startswith("violation"))
    print(f"  {'violations':60} {violations:8}")
    for example in examples[:10]:
        print("\n" + example)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())

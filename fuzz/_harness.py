"""
What every fuzz target shares: running under atheris (coverage-guided, libFuzzer options
such as C{-runs=N}, C{-seed=S}, C{-max_total_time=T}) when it is installed, else under a
seeded random mutator with the same options, so the targets run everywhere.

Each target defines C{testOneInput(data: bytes)}, which handles the errors its input may
rightly cause and lets anything else escape (a crash), and a list of seed inputs.

    python fuzz/server_query.py -runs=100000
    FUZZ_DRIVER=random python fuzz/server_query.py -runs=1000 -seed=3
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Seconds one input may take before it counts as a hang.
INPUT_TIMEOUT = 10


def atherisOrNone() -> object | None:
    """
    The atheris module, unless it is missing or C{FUZZ_DRIVER=random} asks for the random
    driver.
    """
    if os.environ.get("FUZZ_DRIVER") == "random":
        return None
    try:
        import atheris
    except ImportError:
        return None
    return atheris


@contextlib.contextmanager
def instrumented() -> Iterator[None]:
    """
    Instrument the txdane modules imported inside for coverage, under atheris.
    """
    atheris = atherisOrNone()
    if atheris is None:
        yield
        return
    with atheris.instrument_imports(include=["txdane"]):  # type: ignore[attr-defined]
        yield


def _options(argv: Sequence[str]) -> dict[str, str]:
    out = {}
    for arg in argv:
        if arg.startswith("-") and "=" in arg:
            key, _, value = arg.lstrip("-").partition("=")
            out[key] = value
    return out


def mutate(rng: random.Random, data: bytes, seeds: Sequence[bytes]) -> bytes:
    """
    One to four random edits of C{data}: bit flips, random bytes, insertions, deletions,
    repeats, splices with another seed, interesting values, truncation.
    """
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.randrange(8)
        position = rng.randrange(len(out) + 1)
        if choice == 0 and out:
            out[position % len(out)] ^= 1 << rng.randrange(8)
        elif choice == 1 and out:
            out[position % len(out)] = rng.randrange(256)
        elif choice == 2:
            out[position:position] = rng.randbytes(rng.randint(1, 8))
        elif choice == 3 and out:
            del out[position : position + rng.randint(1, 16)]
        elif choice == 4 and out:
            chunk = out[position : position + rng.randint(1, 32)]
            out[position:position] = chunk * rng.randint(1, 4)
        elif choice == 5 and seeds:
            other = rng.choice(seeds)
            cut = rng.randrange(len(other) + 1)
            out = out[:position] + bytearray(other[cut:])
        elif choice == 6 and out:
            value = rng.choice((0, 0xFF, 0x7F, 0x80, 0x3F, 0xC0))
            out[position % len(out)] = value
        else:
            out = out[:position]
    return bytes(out)


def _alarm(signum: int, frame: object) -> None:
    raise TimeoutError(f"one input took more than {INPUT_TIMEOUT} s")


def runRandom(
    testOneInput: Callable[[bytes], None], seeds: Sequence[bytes], runs: int, seed: int
) -> None:
    """
    Run C{runs} inputs: every seed, then mutations of seeds and of earlier inputs, and some
    random bytes. A slow input raises L{TimeoutError} (a hang).
    """
    rng = random.Random(seed)
    corpus = list(seeds) or [b""]
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for index in range(runs):
            if index < len(seeds):
                data = seeds[index]
            elif rng.random() < 0.05:
                data = rng.randbytes(rng.randint(0, 300))
            else:
                data = mutate(rng, rng.choice(corpus), corpus)
                if rng.random() < 0.1 and len(corpus) < 500:
                    corpus.append(data)
            signal.alarm(INPUT_TIMEOUT)
            try:
                testOneInput(data)
            except BaseException:
                sys.stderr.write(f"crash on input {index}: {data!r}\n")
                raise
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def main(testOneInput: Callable[[bytes], None], seeds: Sequence[bytes]) -> None:
    """
    Fuzz C{testOneInput} with the command line's libFuzzer options, starting from C{seeds}.
    """
    atheris = atherisOrNone()
    options = _options(sys.argv[1:])
    if atheris is None:
        runs = int(options.get("runs", "1000"))
        seed = int(options.get("seed", "1"))
        started = time.monotonic()
        runRandom(testOneInput, seeds, runs, seed)
        print(f"random driver: {runs} inputs in {time.monotonic() - started:.1f} s, no crash")
        return
    corpus = tempfile.mkdtemp(prefix="fuzz-seeds-")
    for index, data in enumerate(seeds):
        Path(corpus, f"seed{index}").write_bytes(data)
    argv = [arg for arg in sys.argv if not arg.startswith("-timeout=")]
    argv.append(f"-timeout={INPUT_TIMEOUT}")
    atheris.Setup([*argv, corpus], testOneInput)  # type: ignore[attr-defined]
    atheris.Fuzz()  # type: ignore[attr-defined]

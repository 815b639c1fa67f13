"""
What every fuzz target shares: running under atheris (coverage-guided, libFuzzer options
such as C{-runs=N}, C{-seed=S}, C{-max_total_time=T}) when it is installed, else under a
seeded mutator with the same options, so the targets run everywhere.

Each target defines C{testOneInput(data: bytes)}, which checks the target's invariants on
the outcome of its input (asserting them), handles the errors its input may rightly cause,
lets anything else escape (a failure), and returns a short word naming the outcome
(C{"parsed"}, C{"error"}, C{"skipped"} ...); and a list of seed inputs, the same bytes in
every run (keys, certificates and query IDs derived from fixed values, never fresh).

The seeded mutator (C{FUZZ_DRIVER=seeded}, the only driver CI uses) draws its choices from
L{Stream}, a SHA-256 counter stream, not from the C{random} module, whose algorithms may
change between Python versions: a seed gives the same inputs, in the same order, on every
version and in every process. It ends with a C{summary} line (a JSON object: the target, seed,
runs, digests of the seed corpus and of every input run, and the count of each outcome),
which two runs of one seed print alike. A failure prints the input, writes it to a file and
prints the commands that replay it:

    python fuzz/server_query.py -runs=100000
    FUZZ_DRIVER=seeded python fuzz/server_query.py -runs=1000 -seed=3
    FUZZ_DRIVER=seeded python fuzz/server_query.py -runs=1000 -seed=3 -only=517
    python fuzz/server_query.py crash-server_query-seed3-input517
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Where the driver started: failing inputs are written here, whatever directory the target
#: works in.
START = Path.cwd()

#: Seconds one input may take before it counts as a hang.
INPUT_TIMEOUT = 10

#: The values of C{FUZZ_DRIVER} that choose the seeded mutator (C{random} is its old name).
SEEDED = ("seeded", "random")

_T = TypeVar("_T")

#: What a target returns: a word naming the outcome, or C{None} (counted as C{"done"}).
Target = Callable[[bytes], "str | None"]


class Stream:
    """
    A deterministic stream of choices: SHA-256 of the seed and a block counter, read in
    order. Integer arithmetic only, so every Python version draws the same numbers.
    """

    def __init__(self, seed: object) -> None:
        self._key = f"txdane-fuzz:{seed}:".encode()
        self._counter = 0
        self._buffer = b""

    def bytes(self, count: int) -> bytes:
        """
        The next C{count} bytes.
        """
        while len(self._buffer) < count:
            block = self._key + self._counter.to_bytes(8, "big")
            self._buffer += hashlib.sha256(block).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:count], self._buffer[count:]
        return out

    def below(self, bound: int) -> int:
        """
        An integer from 0 to C{bound - 1}, uniformly (by rejection); 0 when C{bound <= 1}.
        """
        if bound <= 1:
            return 0
        bits = (bound - 1).bit_length()
        size = (bits + 7) // 8
        while True:
            value = int.from_bytes(self.bytes(size), "big") & ((1 << bits) - 1)
            if value < bound:
                return value

    def between(self, low: int, high: int) -> int:
        """
        An integer from C{low} to C{high}, both included.
        """
        return low + self.below(high - low + 1)

    def choice(self, items: Sequence[_T]) -> _T:
        """
        One of C{items} (not empty).
        """
        return items[self.below(len(items))]

    def percent(self, chance: int) -> bool:
        """
        True C{chance} times in a hundred.
        """
        return self.below(100) < chance


def atherisOrNone() -> object | None:
    """
    The atheris module, unless it is missing or C{FUZZ_DRIVER=seeded} asks for the seeded
    mutator.
    """
    if os.environ.get("FUZZ_DRIVER") in SEEDED:
        return None
    try:
        import atheris
    except ImportError:
        return None
    return atheris


@contextlib.contextmanager
def instrumented() -> Iterator[None]:
    """
    Instrument the txdane modules imported inside for coverage, under atheris, when a target
    runs as a script (not when a test imports it).
    """
    atheris = atherisOrNone()
    script = Path(sys.argv[0] or ".").resolve().parent == Path(__file__).resolve().parent
    if atheris is None or not script:
        yield
        return
    with atheris.instrument_imports(include=["txdane"]):  # type: ignore[attr-defined]
        yield


def _options(argv: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """
    The C{-name=value} options and the other (file) arguments of C{argv}.
    """
    out, files = {}, []
    for arg in argv:
        if arg.startswith("-") and "=" in arg:
            key, _, value = arg.lstrip("-").partition("=")
            out[key] = value
        elif not arg.startswith("-"):
            files.append(arg)
    return out, files


_INTERESTING = (0, 0xFF, 0x7F, 0x80, 0x3F, 0xC0)


def mutate(stream: Stream, data: bytes, seeds: Sequence[bytes]) -> bytes:
    """
    One to four edits of C{data} chosen by C{stream}: bit flips, random bytes, insertions,
    deletions, repeats, splices with another seed, interesting values, truncation.
    """
    out = bytearray(data)
    for _ in range(stream.between(1, 4)):
        choice = stream.below(8)
        position = stream.below(len(out) + 1)
        if choice == 0 and out:
            out[position % len(out)] ^= 1 << stream.below(8)
        elif choice == 1 and out:
            out[position % len(out)] = stream.below(256)
        elif choice == 2:
            out[position:position] = stream.bytes(stream.between(1, 8))
        elif choice == 3 and out:
            del out[position : position + stream.between(1, 16)]
        elif choice == 4 and out:
            chunk = out[position : position + stream.between(1, 32)]
            out[position:position] = chunk * stream.between(1, 4)
        elif choice == 5 and seeds:
            other = stream.choice(seeds)
            cut = stream.below(len(other) + 1)
            out = out[:position] + bytearray(other[cut:])
        elif choice == 6 and out:
            out[position % len(out)] = stream.choice(_INTERESTING)
        else:
            out = out[:position]
    return bytes(out)


def inputs(seeds: Sequence[bytes], runs: int, seed: int) -> Iterator[bytes]:
    """
    The C{runs} inputs of the seeded mutator: every seed, then mutations of seeds and of
    earlier inputs, and some random bytes; a function of C{seeds}, C{runs} and C{seed} only.
    """
    stream = Stream(seed)
    corpus = list(seeds) or [b""]
    for index in range(runs):
        if index < len(seeds):
            yield seeds[index]
            continue
        if stream.percent(5):
            yield stream.bytes(stream.below(301))
            continue
        data = mutate(stream, stream.choice(corpus), corpus)
        if stream.percent(10) and len(corpus) < 500:
            corpus.append(data)
        yield data


def _alarm(signum: int, frame: object) -> None:
    raise TimeoutError(f"one input took more than {INPUT_TIMEOUT} s")


def _digest(items: Sequence[bytes] | Iterator[bytes]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(len(item).to_bytes(4, "big") + item)
    return digest.hexdigest()[:16]


def _runOne(testOneInput: Target, data: bytes) -> str:
    signal.alarm(INPUT_TIMEOUT)
    try:
        return testOneInput(data) or "done"
    finally:
        signal.alarm(0)


def _failed(target: str, data: bytes, index: int, seed: int, runs: int) -> None:
    """
    Report a failing input: print it, keep it in a file, and print the commands that replay it.
    """
    path = START / f"crash-{target}-seed{seed}-input{index}"
    try:
        path.write_bytes(data)
    except OSError:
        path = Path(tempfile.mkdtemp(prefix="fuzz-crash-"), path.name)
        path.write_bytes(data)
    script = f"fuzz/{target}.py"
    sys.stderr.write(
        f"failure on input {index} of seed {seed}: {data[:400]!r}\n"
        f"replay (from the source tree):\n"
        f"  FUZZ_DRIVER=seeded python {script} -runs={runs} -seed={seed} -only={index}\n"
        f"  python {script} {path}\n"
    )


def runSeeded(
    testOneInput: Target,
    seeds: Sequence[bytes],
    runs: int,
    seed: int,
    target: str = "target",
    only: int | None = None,
) -> dict[str, object]:
    """
    Run the C{runs} inputs of L{inputs} (only input number C{only}, if given) and return
    the run's summary. A slow input raises L{TimeoutError} (a hang); any exception, an
    assertion of an invariant among them, is reported with the commands that replay it and
    raised again.
    """
    outcomes: collections.Counter[str] = collections.Counter()
    digest = hashlib.sha256()
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for index, data in enumerate(inputs(seeds, runs, seed)):
            if only is not None and index != only:
                continue
            digest.update(len(data).to_bytes(4, "big") + data)
            try:
                outcomes[_runOne(testOneInput, data)] += 1
            except BaseException:
                _failed(target, data, index, seed, runs)
                raise
    finally:
        signal.signal(signal.SIGALRM, previous)
    return {
        "target": target,
        "seed": seed,
        "runs": runs if only is None else 1,
        "seeds": _digest(seeds),
        "inputs": digest.hexdigest()[:16],
        "outcomes": dict(sorted(outcomes.items())),
    }


def _runFiles(testOneInput: Target, target: str, files: Sequence[str]) -> None:
    for name in files:
        data = Path(name).read_bytes()
        try:
            outcome = _runOne(testOneInput, data)
        except BaseException:
            sys.stderr.write(f"failure on {name}: {data[:400]!r}\n")
            raise
        print(f"{name}: {outcome}")


def main(testOneInput: Target, seeds: Sequence[bytes]) -> None:
    """
    Fuzz C{testOneInput} with the command line's libFuzzer options, starting from C{seeds};
    or, given file names, run each file's bytes once.
    """
    target = Path(sys.argv[0]).stem
    options, files = _options(sys.argv[1:])
    if files:
        previous = signal.signal(signal.SIGALRM, _alarm)
        try:
            _runFiles(testOneInput, target, files)
        finally:
            signal.signal(signal.SIGALRM, previous)
        return
    atheris = atherisOrNone()
    if atheris is None:
        runs = int(options.get("runs", "1000"))
        seed = int(options.get("seed", "1"))
        only = int(options["only"]) if "only" in options else None
        started = time.monotonic()
        summary = runSeeded(testOneInput, seeds, runs, seed, target, only)
        print(f"seeded driver: {summary['runs']} inputs in {time.monotonic() - started:.1f} s")
        print("summary " + json.dumps(summary, sort_keys=True))
        return
    corpus = tempfile.mkdtemp(prefix="fuzz-seeds-")
    for index, data in enumerate(seeds):
        Path(corpus, f"seed{index}").write_bytes(data)
    argv = [arg for arg in sys.argv if not arg.startswith("-timeout=")]
    argv.append(f"-timeout={INPUT_TIMEOUT}")

    def oneInput(data: bytes) -> None:
        testOneInput(data)  # atheris wants no return value

    atheris.Setup([*argv, corpus], oneInput)  # type: ignore[attr-defined]
    atheris.Fuzz()  # type: ignore[attr-defined]

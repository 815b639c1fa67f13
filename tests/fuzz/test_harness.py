"""
The fuzz driver itself: its seeded stream and mutator give the same inputs everywhere, a
failure prints commands that replay it, and the invariants of a target catch a broken
implementation.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
from cryptography import x509

from fuzz import tlsa_match
from fuzz._harness import Stream, inputs, runSeeded
from txdane.dane.matching import DANEResult, MatchOptions
from txdane.dane.tlsa import TLSARecord

ROOT = Path(__file__).resolve().parent.parent.parent


def test_streamIsSHA256Blocks() -> None:
    """
    The stream's bytes are SHA-256 of its key and a counter: nothing of C{random}.
    """
    stream = Stream(7)
    expected = b"".join(
        hashlib.sha256(b"txdane-fuzz:7:" + n.to_bytes(8, "big")).digest() for n in range(3)
    )
    assert stream.bytes(40) + stream.bytes(56) == expected


def test_streamBounds() -> None:
    """
    C{below} and C{between} stay in their bounds and reach both ends.
    """
    stream = Stream("bounds")
    drawn = [stream.below(10) for _ in range(500)]
    assert set(drawn) == set(range(10))
    assert {stream.between(3, 5) for _ in range(100)} == {3, 4, 5}
    assert stream.below(1) == stream.below(0) == 0


def test_inputsPinned() -> None:
    """
    The mutator's inputs for a seed are pinned: a change to the driver that would stop old
    seeds from replaying old failures makes this fail (update the digest knowingly).
    """
    digest = hashlib.sha256()
    for data in inputs([b"seed one", b"\x00\x01\x02\x03 seed two"], 300, 14):
        digest.update(len(data).to_bytes(4, "big") + data)
    assert digest.hexdigest()[:16] == PINNED


#: The digest of L{test_inputsPinned}'s inputs.
PINNED = "f03b325f77407031"


def test_inputsStartWithSeeds() -> None:
    seeds = [b"a", b"bb", b"ccc"]
    assert list(inputs(seeds, 5, 1))[:3] == seeds


_FAILING = """
import sys
sys.path.insert(0, {root!r})
from fuzz._harness import main

def testOneInput(data):
    assert b"\\xff" not in data, "found the byte"
    return "fine"

if __name__ == "__main__":
    main(testOneInput, [b"abc", b"hello world"])
"""


def test_failureReplays(tmp_path: Path) -> None:
    """
    A failing input is reported with the commands that replay it, and both commands (the
    seed with C{-only=}, and the input's file) fail again on the same input.
    """
    script = tmp_path / "failing.py"
    script.write_text(_FAILING.format(root=str(ROOT)))
    environment = {**os.environ, "FUZZ_DRIVER": "seeded"}
    command = [sys.executable, str(script), "-runs=5000", "-seed=3"]
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert done.returncode != 0
    assert "found the byte" in done.stderr
    replays = [line.strip() for line in done.stderr.splitlines() if line.startswith("  ")]
    seeded = next(r for r in replays if r.startswith("FUZZ_DRIVER=seeded python "))
    only = seeded.split()[-1]
    assert only.startswith("-only=")
    crashFile = Path(next(r for r in replays if r.startswith("python ")).split()[-1])
    assert crashFile.parent == tmp_path and b"\xff" in crashFile.read_bytes()
    again = subprocess.run(
        [*command, only], cwd=tmp_path, env=environment, capture_output=True, text=True
    )
    assert again.returncode != 0 and f"failure on input {only[6:]} of seed 3" in again.stderr
    fromFile = subprocess.run(
        [sys.executable, str(script), str(crashFile)], cwd=tmp_path, capture_output=True, text=True
    )
    assert fromFile.returncode != 0 and "found the byte" in fromFile.stderr


def _alwaysVerified(
    records: Iterable[TLSARecord], chain: list[x509.Certificate], options: MatchOptions
) -> DANEResult:
    """
    A broken matcher: every record set verifies, by its first record.
    """
    given = list(records)
    return DANEResult(True, tuple(chain), (), given[0] if given else None, 0)


def test_brokenMatcherCaught(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A matcher that always says "verified" breaks the invariants of C{fuzz/tlsa_match.py}
    on its own seeds: the target proves more than that matching returns a result.
    """
    monkeypatch.setattr(tlsa_match, "verifyChain", _alwaysVerified)
    caught = 0
    for data in tlsa_match.seeds():
        try:
            tlsa_match.testOneInput(data)
        except AssertionError:
            caught += 1
    assert caught >= 2


def test_seededRunOfTLSAMatch() -> None:
    """
    With the real matcher, the seeds and a short seeded run pass, and some inputs verify.
    """
    summary = runSeeded(tlsa_match.testOneInput, tlsa_match.seeds(), 300, 1, "tlsa_match")
    outcomes = summary["outcomes"]
    assert isinstance(outcomes, dict)
    assert any(key.startswith("verified") for key in outcomes)


def test_brokenMatcherFailsTheSlice(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The same broken matcher fails a seeded run, which names the input that replays it.
    """
    monkeypatch.setattr(tlsa_match, "verifyChain", _alwaysVerified)
    with pytest.raises(AssertionError, match=r"matches no certificate|random association"):
        runSeeded(tlsa_match.testOneInput, tlsa_match.seeds(), 50, 1, "tlsa_match")


def test_transportSeedsReachTheClient() -> None:
    """
    The seeds of C{fuzz/transport_answer.py} exercise what it is there to fuzz: a good answer
    over UDP, over TCP after a truncated one, and after one from the wrong address (ignored)
    are each accepted; a SERVFAIL and garbage are errors. (Its seeds once all came from the
    wrong address, so that almost no input reached the client's answer handling.) An answer
    whose question differs from the query's only in case is accepted, as the client matches
    names.
    """
    import struct

    import dns.message

    from fuzz import transport_answer

    outcomes = [transport_answer.testOneInput(seed) for seed in transport_answer.seeds()]
    assert outcomes == [
        "answer-rcode-0",
        "answer-rcode-0",
        "DNSServerError",
        "answer-rcode-0",
        "answer-rcode-0",
        "DNSMalformedError",
    ]
    asked = transport_answer._QNAME.replace("example", "exaMple")
    wire = dns.message.make_response(dns.message.make_query(asked, "TLSA", id=0x4EED)).to_wire()
    framed = struct.pack("!H", len(wire)) + wire
    assert transport_answer.testOneInput(framed) == "answer-rcode-0"

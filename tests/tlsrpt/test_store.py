"""
The report store: one file per result, written whole or not at all, by several processes at
once.
"""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
from pathlib import Path

import pytest

from txdane.tlsrpt import ReportStore, ResultType, TLSRPTError, _store

from .samples import DAY, START, result


def test_recordAndRead(tmp_path: Path) -> None:
    """
    A result is a JSON file in the directory of its UTC day, named for its domain; nothing is
    left among the files being written.
    """
    store = ReportStore(tmp_path / "store")
    first = result(ResultType.CERTIFICATE_EXPIRED, reason="expired 2024-04-30")
    second = result(domain="example.net", when=START + 86400 + 5)
    store.record(first)
    store.record(second)
    assert store.results() == [first, second]
    assert store.days() == [DAY, datetime.date(2024, 5, 2)]
    assert store.results(DAY) == [first]
    (file,) = (tmp_path / "store" / "2024-05-01").iterdir()
    assert file.name.startswith("example.com!") and file.name.endswith(".json")
    assert json.loads(file.read_text()) == first.toJSON()
    assert list((tmp_path / "store" / ".writing").iterdir()) == []


def test_emptyOrMissing(tmp_path: Path) -> None:
    store = ReportStore(tmp_path / "nothing yet")
    assert (store.results(), store.days()) == ([], [])
    store.remove(DAY, "example.com")
    assert store.discardStale() == []


def test_remove(tmp_path: Path) -> None:
    """
    Removing a day's domain leaves its other domains and days; an empty day goes.
    """
    store = ReportStore(tmp_path)
    kept = [result(domain="example.net"), result(when=START + 86400)]
    store.record(result())
    store.record(result(ResultType.DANE_REQUIRED))
    for each in kept:
        store.record(each)
    store.remove(DAY, "Example.COM.")
    assert store.results() == kept
    store.remove(DAY, "example.net")
    assert store.days() == [datetime.date(2024, 5, 2)]
    assert not (tmp_path / "2024-05-01").exists()


def test_domainInFileName(tmp_path: Path) -> None:
    """
    The domain is percent-encoded in the file name, so that one domain's files never match
    another's prefix.
    """
    store = ReportStore(tmp_path)
    store.record(result(domain="_x.example"))
    store.record(result(domain="x.example"))
    names = sorted(p.name.split("!")[0] for p in (tmp_path / "2024-05-01").iterdir())
    assert names == ["_x.example", "x.example"]
    store.remove(DAY, "x.example")
    assert [r.policyDomain for r in store.results()] == ["_x.example"]
    # What is no domain name never reaches a file name (nor stops the store's reading).
    for domain in ("a!b.example", "a/b.example", "../../x", "x\ny.example"):
        with pytest.raises(ValueError, match="is not a domain name"):
            result(domain=domain)


def _writer(directory: str, worker: int, count: int) -> None:
    store = ReportStore(directory)
    for i in range(count):
        store.record(
            result(
                ResultType.VALIDATION_FAILURE if i % 2 else None,
                domain=f"d{i % 3}.example",
                reason=f"{worker}-{i}",
                when=START + i * 600,
            )
        )


def test_concurrentWriters(tmp_path: Path) -> None:
    """
    Two processes recording at once, into the same days and domains: every result is read
    back, whole.
    """
    context = multiprocessing.get_context("spawn")
    count = 150
    workers = [
        context.Process(target=_writer, args=(str(tmp_path), worker, count)) for worker in (1, 2)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    results = ReportStore(tmp_path).results()
    assert len(results) == 2 * count
    assert {r.failureReason for r in results} == {
        f"{worker}-{i}" for worker in (1, 2) for i in range(count)
    }
    assert ReportStore(tmp_path).days() == [DAY, datetime.date(2024, 5, 2)]


def _dieBeforeReplace(directory: str) -> None:
    """
    Record a result and die, as a killed process would, between writing the file and moving
    it into place.
    """
    _store.os.replace = lambda *_: os._exit(9)
    ReportStore(directory).record(result())


def test_interruptedRecordNotRead(tmp_path: Path) -> None:
    """
    A process that dies before C{os.replace} leaves a temporary file that no reader takes for
    a result, corrupt or not; L{ReportStore.discardStale} removes it once old enough.
    """
    store = ReportStore(tmp_path)
    store.record(result())
    process = multiprocessing.get_context("spawn").Process(
        target=_dieBeforeReplace, args=(str(tmp_path),)
    )
    process.start()
    process.join(60)
    assert process.exitcode == 9
    (left,) = (tmp_path / ".writing").iterdir()
    assert json.loads(left.read_text()) == result().toJSON()
    # A file cut short, as a crash in the middle of a write leaves it.
    (tmp_path / ".writing" / "example.com!1-2-3.json.tmp").write_text('{"policyDom')
    assert store.results() == [result()]
    assert store.days() == [DAY]
    assert store.discardStale() == []
    assert len(store.discardStale(age=-1)) == 2
    assert list((tmp_path / ".writing").iterdir()) == []
    assert store.results() == [result()]


def test_failedWriteLeavesNothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    An error while writing (a full disk) leaves neither a result nor a temporary file.
    """

    def full(descriptor: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_store.os, "write", full)
    store = ReportStore(tmp_path)
    with pytest.raises(OSError, match="No space"):
        store.record(result())
    monkeypatch.undo()
    assert store.results() == []
    assert list((tmp_path / ".writing").iterdir()) == []


def test_dayRemovedWhileRecording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A report sent (its empty day directory removed) between the two steps of a record: the
    record makes the directory again.
    """
    replace = os.replace
    calls: list[str] = []

    def racing(source: str, target: str) -> None:
        if not calls:
            os.rmdir(os.path.dirname(target))
        calls.append(target)
        replace(source, target)

    monkeypatch.setattr(_store.os, "replace", racing)
    store = ReportStore(tmp_path)
    store.record(result())
    assert len(calls) == 2
    assert store.results() == [result()]


def test_damagedFileReported(tmp_path: Path) -> None:
    """
    A file of a day's directory that is not a result (changed by hand, damaged on disk) is
    an error naming it, not skipped.
    """
    store = ReportStore(tmp_path)
    store.record(result())
    damaged = tmp_path / "2024-05-01" / "example.com!9.json"
    for content in ('{"policyDomain": "example.com"', "[1]", '{"policyDomain": 1}'):
        damaged.write_text(content)
        with pytest.raises(TLSRPTError, match=f"{damaged}: not a session result"):
            store.results()
    damaged.unlink()
    (tmp_path / "notes").mkdir()
    (tmp_path / "2024-13-45").mkdir()
    (tmp_path / "2024-05-01" / "README").write_text("not a record")
    assert store.results() == [result()]
    assert store.days() == [DAY]


def test_policyStringsAreLines() -> None:
    """
    The policy is a sequence of lines: one string would be read one letter at a time, into
    every report.
    """
    with pytest.raises(TypeError, match="policyStrings must be a sequence of lines"):
        result(strings="3 1 1 ab")  # type: ignore[arg-type]

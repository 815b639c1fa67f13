"""
C{txdane check --history FILE} and C{txdane tlsa --history FILE}: a TLSA record that has
matched nothing the server sent, in checks spanning three weeks, is pointed out
(C{stale-record}); the current record, a fresh next record and a service that matches nothing
at all are not. Three weeks pass by moving the times in the file back.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from twisted.trial.unittest import TestCase

from tests.dane.certs import issue as issueCert
from txdane.cli import ExitStatus, UsageError, main
from txdane.cli._history import (
    MAX_SERVICES,
    STALE,
    observe,
    readHistory,
    staleAdvice,
    writeHistory,
)
from txdane.dane.tlsa import recordForCertificate

from .world import issue, makeCLIWorld, startServer

WEEKS = STALE + 86400


def travel(path: Path, seconds: float) -> None:
    """
    Move every time in the history file C{seconds} into the past.
    """
    history = json.loads(path.read_text())
    for entry in history.values():
        entry["checked"] = [t - seconds for t in entry["checked"]]
        for seen in entry["records"].values():
            seen["first"] -= seconds
            if seen["matched"] is not None:
                seen["matched"] -= seconds
    path.write_text(json.dumps(history))


class HistoryTests(TestCase):
    async def setUp(self) -> None:  # type: ignore[override]
        self.leaf = issue("www.example.test")
        self.server = startServer(self, self.leaf)
        self.current = recordForCertificate(self.leaf.cert)
        self.following = recordForCertificate(issue("www.example.test").cert)
        port = self.server.port
        self.world = await makeCLIWorld(
            self,
            {
                "example.test.": [
                    f"_{port}._tcp.www 300 IN TLSA {self.current}",
                    f"_{port}._tcp.www 300 IN TLSA {self.following}",
                ]
            },
        )
        folder = Path(tempfile.mkdtemp(prefix="txdane-history-"))
        self.addCleanup(shutil.rmtree, folder)
        self.path = folder / "history.json"

    async def check(self) -> tuple[int, dict[str, Any]]:
        return await self.world.json(
            "check", "www.example.test", str(self.server.port), "--history", str(self.path)
        )

    async def test_staleNextRecord(self) -> None:
        """
        The first check records both records; three weeks of checks later the next record,
        which never matched, is pointed out, and C{tlsa} says so too without connecting.
        """
        status, data = await self.check()
        assert status == ExitStatus.OK
        assert not [w for w in data["warnings"] if w["code"] == "stale-record"]
        owner = f"_{self.server.port}._tcp.www.example.test."
        stored = json.loads(self.path.read_text())[owner]
        assert stored["records"][str(self.current)]["matched"] is not None
        assert stored["records"][str(self.following)]["matched"] is None

        travel(self.path, WEEKS)
        status, data = await self.check()
        assert status == ExitStatus.OK
        stale = [w for w in data["warnings"] if w["code"] == "stale-record"]
        assert [w["subject"] for w in stale] == [str(self.following)], data["warnings"]
        assert "has been published for 22 days" in stale[0]["message"]

        status, output = await self.world.run(
            "tlsa", "www.example.test", str(self.server.port), "--history", str(self.path)
        )
        assert "warning  the record has been published for 22 days" in output, output

    async def test_oncePreviousRecord(self) -> None:
        """
        A record that matched once (the previous key's) and has not for three weeks is
        pointed out with the days since it last matched.
        """
        await self.check()
        history = json.loads(self.path.read_text())
        owner = f"_{self.server.port}._tcp.www.example.test."
        history[owner]["records"][str(self.following)]["matched"] = history[owner]["checked"][0]
        self.path.write_text(json.dumps(history))
        travel(self.path, WEEKS)
        _, data = await self.check()
        stale = [w for w in data["warnings"] if w["code"] == "stale-record"]
        assert (
            len(stale) == 1
            and "no certificate the server sent for 22 days" in (stale[0]["message"])
        )

    async def test_notStaleYet(self) -> None:
        """
        Checks spanning less than three weeks say nothing.
        """
        await self.check()
        travel(self.path, STALE - 3600)
        _, data = await self.check()
        assert not [w for w in data["warnings"] if w["code"] == "stale-record"]

    async def test_nothingMatchesNow(self) -> None:
        """
        When no record matches the server today, the verdict is the refusal; the history adds
        no advice on top.
        """
        await self.check()
        travel(self.path, WEEKS)
        history = json.loads(self.path.read_text())
        for entry in history.values():
            for seen in entry["records"].values():
                seen["matched"] = None
        self.path.write_text(json.dumps(history))
        owner = f"_{self.server.port}._tcp.www.example.test."
        # A check whose chain matches neither record.
        observe(history, owner, [self.current, self.following], 10**10, [issueCert("x").cert])
        assert staleAdvice(history, owner, 10**10) == []


def test_recordsNoLongerPublishedAreForgotten() -> None:
    first, second = (recordForCertificate(issueCert("a.test").cert) for _ in range(2))
    history: dict[str, Any] = {}
    observe(history, "owner.", [first, second], 100.0)
    observe(history, "owner.", [first], 200.0)
    assert list(history["owner."]["records"]) == [str(first)]


def test_boundedServices(tmp_path: Path) -> None:
    """
    The file keeps the L{MAX_SERVICES} services seen most recently.
    """
    record = recordForCertificate(issueCert("a.test").cert)
    history: dict[str, Any] = {}
    for index in range(MAX_SERVICES + 5):
        observe(history, f"s{index}.", [record], float(index))
    path = tmp_path / "history.json"
    writeHistory(path, history)
    kept = json.loads(path.read_text())
    assert len(kept) == MAX_SERVICES
    assert "s0." not in kept and f"s{MAX_SERVICES + 4}." in kept


@pytest.mark.parametrize(
    "argv, message",
    [
        (["check", "--mx", "example.test", "--history", "@h"], "--history records what"),
        (["check", "www.example.test", "443", "--history", "@bad"], "not a txdane history"),
        (["tlsa", "www.example.test", "--history", "@broken"], "--history"),
    ],
)
def test_usage(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    Mistakes are one line and exit status 2, before any lookup.
    """
    (tmp_path / "bad").write_text('{"x": 1}')
    (tmp_path / "broken").write_text("{")
    argv = [str(tmp_path / a[1:]) if a.startswith("@") else a for a in argv]
    status = main([*argv, "--resolver", "127.0.0.1#9"])
    err = capsys.readouterr().err
    assert status == 2 and message in err and err.count("\n") == 1, err


#: The owner of the service in the damaged files below, and a record as the writer writes it.
OWNER = "_443._tcp.www.example.test."
RECORD = "3 1 1 " + "8cb0" * 16


def entry(checked: Any = (1.5e9, 1.6e9), **seen: Any) -> dict[str, Any]:
    """
    A service of a history file, with one record whose fields are C{seen} (a valid record
    by default).
    """
    fields: dict[str, Any] = {"first": 1.5e9, "matched": 1.6e9, **seen}
    return {"checked": list(checked) if checked else checked, "records": {RECORD: fields}}


@pytest.mark.parametrize(
    "content",
    [
        "[1, 2]",
        "null",
        json.dumps({OWNER: {"checked": "x", "records": {RECORD: 5}}}),
        json.dumps({OWNER: {"checked": "x", "records": {}}}),
        json.dumps({OWNER: entry(checked=[1.6e9])}),
        json.dumps({OWNER: entry(checked=[1.5e9, "1.6e9"])}),
        json.dumps({OWNER: entry(checked=[1.5e9, True])}),
        f'{{"{OWNER}": {{"checked": [1, NaN], "records": {{}}}}}}',
        f'{{"{OWNER}": {{"checked": [1, Infinity], "records": {{}}}}}}',
        json.dumps({OWNER: {"records": {}}}),
        json.dumps({OWNER: {"checked": None, "records": {}, "extra": 1}}),
        json.dumps({OWNER: {"checked": None, "records": []}}),
        json.dumps({OWNER: entry(first="yesterday")}),
        json.dumps({OWNER: entry(first=None)}),
        json.dumps({OWNER: entry(matched="today")}),
        json.dumps({OWNER: entry(matched=False)}),
        json.dumps({OWNER: {"checked": None, "records": {RECORD: {"first": 1}}}}),
        json.dumps({OWNER: {"checked": None, "records": {RECORD: []}}}),
        json.dumps({OWNER: {"checked": None, "records": {"hello": {"first": 1, "matched": None}}}}),
        json.dumps(
            {OWNER: {"checked": None, "records": {RECORD.upper(): entry()["records"][RECORD]}}}
        ),
        json.dumps(
            {OWNER: {"checked": None, "records": {"3 1 1 8cb0": {"first": 1, "matched": None}}}}
        ),
        json.dumps({"www.example.test.": entry()}),
        json.dumps({OWNER.rstrip("."): entry()}),
        json.dumps({"_443._tcp..": entry()}),
        json.dumps({OWNER: 1}),
    ],
    ids=[
        "list",
        "null",
        "checked-string-record-number",
        "checked-string",
        "checked-one-time",
        "checked-time-string",
        "checked-time-bool",
        "checked-nan",
        "checked-infinity",
        "no-checked",
        "extra-field",
        "records-list",
        "first-string",
        "first-null",
        "matched-string",
        "matched-bool",
        "no-matched",
        "seen-list",
        "record-not-tlsa",
        "record-upper-case",
        "record-unusable",
        "owner-not-tlsa",
        "owner-relative",
        "owner-bad-name",
        "entry-number",
    ],
)
@pytest.mark.parametrize("command", ["tlsa", "check"])
def test_damagedFile(
    content: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """
    A file whose fields are not what L{writeHistory} writes is refused in one line, exit
    status 2, before any lookup; it is not read into a traceback later.
    """
    path = tmp_path / "history.json"
    path.write_text(content)
    status = main(
        [command, "www.example.test", "443", "--history", str(path), "--resolver", "127.0.0.1#9"]
    )
    captured = capsys.readouterr()
    assert status == ExitStatus.USAGE
    assert captured.err == f"txdane: --history {path}: not a txdane history file\n"
    assert captured.out == ""
    assert path.read_text() == content


def test_damagedFirstBeyondTheLimit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    A file of more services than are kept, one of them damaged, is refused as such (not
    met as a C{TypeError} when the services are sorted to drop the oldest).
    """
    history = {f"_443._tcp.s{index}.test.": entry() for index in range(MAX_SERVICES + 1)}
    history[OWNER] = entry(first="1.5e9")
    path = tmp_path / "history.json"
    path.write_text(json.dumps(history))
    status = main(["tlsa", "www.example.test", "--history", str(path), "--resolver", "127.0.0.1#9"])
    assert status == ExitStatus.USAGE
    assert capsys.readouterr().err == f"txdane: --history {path}: not a txdane history file\n"


def test_readsWhatItWrites(tmp_path: Path) -> None:
    """
    What L{writeHistory} writes, with or without checks and matches, and times as whole
    numbers (a file edited by hand), reads back.
    """
    first, second = (recordForCertificate(issueCert("a.test").cert) for _ in range(2))
    leaf = issueCert("a.test").cert
    history: dict[str, Any] = {}
    observe(history, "_443._tcp.a.test.", [first, second], 100.0)
    observe(history, "_25._tcp.mx.b.test.", [first, second], 100.0, [leaf])
    observe(history, "_25._tcp.mx.b.test.", [first, second], 200.5, [leaf])
    history["_853._udp.c.test."] = entry(checked=[1, 2], first=1, matched=None)
    path = tmp_path / "history.json"
    writeHistory(path, history)
    assert readHistory(path) == history
    assert readHistory(tmp_path / "none-yet.json") == {}


@pytest.mark.parametrize("command", ["tlsa", "check"])
def test_missingDirectory(command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    A path in a directory that does not exist (a typing mistake) is refused before any lookup
    rather than found out after them, with the report lost; the directory is not made.
    """
    path = tmp_path / "nonexistent" / "dir" / "h.json"
    status = main(
        [command, "www.example.test", "443", "--history", str(path), "--resolver", "127.0.0.1#9"]
    )
    assert status == ExitStatus.USAGE
    assert capsys.readouterr().err == (f"txdane: --history {path}: {path.parent} does not exist\n")
    assert not (tmp_path / "nonexistent").exists()


def test_parentIsAFile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "h.json"
    status = main(["tlsa", "www.example.test", "--history", str(path), "--resolver", "127.0.0.1#9"])
    assert status == ExitStatus.USAGE
    assert capsys.readouterr().err == f"txdane: --history {path}: Not a directory\n"


def test_unwritableDirectory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """
    A directory the file cannot be written in is refused before any lookup.
    """
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root may write anywhere: have the permission check say otherwise
        access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: access(p, mode) and Path(p) != folder)
    path = folder / "h.json"
    status = main(["tlsa", "www.example.test", "--history", str(path), "--resolver", "127.0.0.1#9"])
    assert status == ExitStatus.USAGE
    assert capsys.readouterr().err == f"txdane: --history {path}: cannot write in {folder}\n"


def test_writeMakesNoDirectory(tmp_path: Path) -> None:
    """
    L{writeHistory} does not make the missing directories of a mistyped path.
    """
    path = tmp_path / "nonexistent" / "h.json"
    with pytest.raises(UsageError) as raised:
        writeHistory(path, {})
    assert str(raised.value) == f"--history {path}: No such file or directory"
    assert not path.parent.exists()

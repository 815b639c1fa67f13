"""
The store of session results on disk, until their day's reports are sent
(L{ReportStore}): one file per session, written whole or not at all, safe with several
processes recording at once.

Tests: C{tests/tlsrpt/test_store.py}.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import secrets
import time
from pathlib import Path
from urllib.parse import quote

from txdane.files import syncDirectory
from txdane.mailpolicy import TLSSession
from txdane.tlsrpt._errors import TLSRPTError
from txdane.tlsrpt._results import SessionResult, _domain, sessionResult

#: The name of the store's directory of records being written.
_WRITING = ".writing"

#: A day's directory of the store.
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ReportStore:
    """
    Session results on disk, until their day's reports are sent.

    B{Design.} Each result is one file, C{DIR/YYYY-MM-DD/DOMAIN!UNIQUE.json} (the UTC day of
    the session; the domain percent-encoded; C{UNIQUE} the time in nanoseconds, the process
    id and random bits), holding the JSON of L{SessionResult.toJSON}. L{record} writes it
    under a temporary name in C{DIR/.writing/}, flushes it to disk (C{fsync}) and only then
    moves it into the day's directory with C{os.replace}, which is atomic, and flushes that
    directory. So:

      - several processes (and threads) may record at once, without locks: each writes its
        own file, and no two files share a name;
      - a reader sees a record whole or not at all: a process that dies while writing leaves
        a temporary file, never read (L{discardStale} removes it later); a crash after the
        move loses nothing;
      - L{remove} deletes the files of one day and domain, after their report was sent.

    Reading lists the day directories, and a file removed meanwhile is skipped.

    @ivar directory: the store's directory (made on the first L{record}).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _dayDirectory(self, day: datetime.date) -> Path:
        return self.directory / day.isoformat()

    def recordSession(self, session: TLSSession) -> None:
        """
        Record a delivery's session: the C{reporter} to give L{sendMail
        <txdane.mail.sendMail>} (C{reporter=store.recordSession}).
        """
        self.record(sessionResult(session))

    def record(self, result: SessionResult) -> None:
        """
        Keep C{result}, durably: when this returns, the result is on disk.

        @raise OSError: the store's directory cannot be written.
        """
        data = json.dumps(result.toJSON(), sort_keys=True).encode("utf-8") + b"\n"
        unique = f"{time.time_ns()}-{os.getpid()}-{secrets.token_hex(6)}"
        name = f"{quote(result.policyDomain, safe='')}!{unique}.json"
        writing = self.directory / _WRITING
        writing.mkdir(parents=True, exist_ok=True)
        temporary = writing / f"{name}.tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        except BaseException:
            os.close(descriptor)
            temporary.unlink(missing_ok=True)
            raise
        os.close(descriptor)
        day = self._dayDirectory(result.day)
        try:
            for attempt in range(3):
                day.mkdir(exist_ok=True)
                try:
                    os.replace(temporary, day / name)
                    break
                except FileNotFoundError:
                    # L{remove} took the day's directory away between the two calls.
                    if attempt == 2:
                        raise
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        syncDirectory(day)

    def _files(self, day: datetime.date, domain: str | None = None) -> list[Path]:
        prefix = "" if domain is None else quote(_domain(domain), safe="") + "!"
        try:
            names = sorted(os.listdir(self._dayDirectory(day)))
        except FileNotFoundError:
            return []
        return [
            self._dayDirectory(day) / name
            for name in names
            if name.endswith(".json") and name.startswith(prefix) and "!" in name
        ]

    def days(self) -> list[datetime.date]:
        """
        The days that have results, in order.
        """
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        days = []
        for name in names:
            if not _DAY.fullmatch(name):
                continue
            try:
                day = datetime.date.fromisoformat(name)
            except ValueError:
                continue
            if self._files(day):
                days.append(day)
        return sorted(days)

    def results(self, day: datetime.date | None = None) -> list[SessionResult]:
        """
        Every result kept (of C{day} only, when given), by day.

        @raise TLSRPTError: a file of a day's directory is not a session result (nothing
            this class writes: it was changed by hand or damaged on disk). Remove it or
            repair it; nothing is reported until then.
        """
        results = []
        for each in [day] if day is not None else self.days():
            for path in self._files(each):
                try:
                    text = path.read_bytes()
                except FileNotFoundError:  # removed since listed
                    continue
                try:
                    data = json.loads(text)
                    if not isinstance(data, dict):
                        raise TLSRPTError("not a JSON object")
                    results.append(SessionResult.fromJSON(data))
                except (ValueError, TLSRPTError) as e:
                    raise TLSRPTError(f"{path}: not a session result: {e}") from None
        return results

    def remove(self, day: datetime.date, domain: str) -> None:
        """
        Delete the results of C{domain} on C{day}: after their report was sent. The day's
        directory goes when it is empty.
        """
        for path in self._files(day, domain):
            path.unlink(missing_ok=True)
        try:
            self._dayDirectory(day).rmdir()
        except OSError:  # not empty, or gone
            pass

    def discardStale(self, age: float = 86400.0) -> list[Path]:
        """
        Remove the temporary files of records that were never finished (their process died
        while writing) and are older than C{age} seconds.

        @return: the files removed.
        """
        removed = []
        limit = time.time() - age
        try:
            entries = list(os.scandir(self.directory / _WRITING))
        except FileNotFoundError:
            return []
        for entry in entries:
            try:
                if entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
            except FileNotFoundError:
                continue
        return removed

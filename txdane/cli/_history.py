"""
C{--history FILE} of C{txdane check} and C{txdane tlsa}: what the TLSA records of each service
have matched over time, so that a record that has matched nothing the server deployed for
weeks is pointed out (advice C{stale-record}).

A "next" record (RFC 7671 section 8.1, "current + next") is published ahead of a key change;
if the change never comes (the renewal failed, its key was lost, the record names a key no one
keeps), it sits there matching nothing, and the rollover it was meant for will break. Only
C{check} sees the server's certificates, so only C{check} records matches; C{tlsa} reads the
file (and adds the records it sees) to give the same advice without connecting.

The file is a JSON object: TLSA owner name -> C{{"checked": [FIRST, LAST], "records": {RECORD:
{"first": TIME, "matched": TIME or null}}}}, times in POSIX seconds. C{checked} spans the
checks that saw the server's chain; C{first} is when the record was first seen published,
C{matched} when a check last found it matching the chain. A record not published any more is
forgotten; at most L{MAX_SERVICES} services are kept (those checked longest ago go first).

The advice is given for a record that matched no chain in checks spanning at least L{STALE}
seconds since it was published or last matched, while another record of the service matches.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
from cryptography import x509

from txdane.cli import UsageError
from txdane.cli._advice import Advice, matchesCertificate
from txdane.dane.tlsa import TLSARecord, Usage
from txdane.files import writeAtomically
from txdane.names import nameFromText

#: How long a record must have matched nothing to be pointed out: three weeks.
STALE = 21 * 86400

#: The most services a history file keeps.
MAX_SERVICES = 1000

_DAY = 86400


def readHistory(path: Path) -> dict[str, Any]:
    """
    The history in C{path} (empty when the file does not exist yet). Its directory is checked
    too, so that a path L{writeHistory} cannot write to is refused before the lookups, not
    after them with the report lost.

    @raise UsageError: when it cannot be read, is not a history file (every field is checked
        as L{writeHistory} writes it), or its directory does not exist or cannot be written.
    """
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        text = b"{}"
    except OSError as e:
        raise UsageError(f"--history {path}: {e.strerror or e}") from None
    try:
        data = json.loads(text.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"--history {path}: not a txdane history file (not text)") from None
    except ValueError:
        what = "it is empty" if not text.strip() else "not JSON"
        raise UsageError(f"--history {path}: not a txdane history file ({what})") from None
    if not isinstance(data, dict) or not all(
        _isEntry(owner, entry) for owner, entry in data.items()
    ):
        raise UsageError(f"--history {path}: not a txdane history file")
    directory = path.parent
    if not directory.is_dir():  # a file in the way is met above, as "Not a directory"
        raise UsageError(f"--history {path}: {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"--history {path}: cannot write in {directory}")
    return data


def _isEntry(owner: str, entry: object) -> bool:
    """
    Whether C{entry} is a service of a history file, at C{owner}: C{{"checked": null or
    [FIRST, LAST], "records": {RECORD: {"first": TIME, "matched": TIME or null}}}}, the
    owner a TLSA owner name and each record the text of a usable TLSA record, as
    L{observe} writes them.
    """
    if not (_isOwner(owner) and isinstance(entry, dict) and set(entry) == {"checked", "records"}):
        return False
    checked, records = entry["checked"], entry["records"]
    if checked is not None and not (
        isinstance(checked, list) and len(checked) == 2 and all(map(_isTime, checked))
    ):
        return False
    return isinstance(records, dict) and all(
        _isRecord(text)
        and isinstance(seen, dict)
        and set(seen) == {"first", "matched"}
        and _isTime(seen["first"])
        and (seen["matched"] is None or _isTime(seen["matched"]))
        for text, seen in records.items()
    )


def _isTime(value: object) -> bool:
    # JSON's true and false are Python bools, which are ints too; NaN and Infinity parse.
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _isOwner(text: str) -> bool:
    try:
        name = nameFromText(text)
    except (dns.exception.DNSException, ValueError):
        return False
    return (
        name.to_text() == text
        and len(name.labels) > 3
        and all(label.startswith(b"_") for label in name.labels[:2])
    )


def _isRecord(text: str) -> bool:
    try:
        record = TLSARecord.fromText(text)
    except ValueError:  # TLSAFormatError, or a digit int() does not read
        return False
    return str(record) == text and record.usable


def writeHistory(path: Path, history: dict[str, Any]) -> None:
    """
    Write C{history} to C{path} atomically (a new file renamed over the old one), keeping the
    L{MAX_SERVICES} services checked most recently. The directory is not made: a mistyped
    path is an error, not a new directory.

    @raise UsageError: when it cannot be written.
    """
    if len(history) > MAX_SERVICES:
        newest = sorted(history, key=lambda owner: _lastSeen(history[owner]), reverse=True)
        for owner in newest[MAX_SERVICES:]:
            del history[owner]
    try:
        writeAtomically(path, (json.dumps(history, indent=1, sort_keys=True) + "\n").encode())
    except OSError as e:
        raise UsageError(f"--history {path}: {e.strerror or e}") from None


def _lastSeen(entry: dict[str, Any]) -> float:
    checked = entry.get("checked") or [0, 0]
    firsts = [r.get("first", 0) for r in entry["records"].values()]
    return float(max([checked[1], *firsts]))


def _usable(records: Sequence[TLSARecord]) -> list[TLSARecord]:
    return [r for r in records if r.usable]


def _matched(record: TLSARecord, chain: Sequence[x509.Certificate]) -> bool:
    if record.usage in (Usage.DANE_EE, Usage.PKIX_EE):
        return bool(chain) and matchesCertificate(record, chain[0])
    return any(matchesCertificate(record, c) for c in chain)


def observe(
    history: dict[str, Any],
    owner: str,
    records: Sequence[TLSARecord],
    now: float,
    chain: Sequence[x509.Certificate] | None = None,
) -> None:
    """
    Add what was seen: the usable records published at C{owner} and, when C{chain} is given
    (a check that got the server's certificates), which of them match it.
    """
    usable = _usable(records)
    entry = history.setdefault(owner, {"checked": None, "records": {}})
    known: dict[str, Any] = entry["records"]
    current = {str(r) for r in usable}
    for text in list(known):
        if text not in current:
            del known[text]
    for record in usable:
        seen = known.setdefault(str(record), {"first": now, "matched": None})
        if chain is not None and _matched(record, chain):
            seen["matched"] = now
    if chain is not None:
        checked = entry.get("checked")
        entry["checked"] = [checked[0] if checked else now, now]


def staleAdvice(history: dict[str, Any], owner: str, now: float) -> list[Advice]:
    """
    The C{stale-record} advice for the records of C{owner} in C{history}.
    """
    entry = history.get(owner)
    if not entry or not entry.get("checked"):
        return []
    lastCheck = float(entry["checked"][1])
    known: dict[str, Any] = entry["records"]
    if not any(seen.get("matched") == lastCheck for seen in known.values()):
        return []  # the service matches nothing now: its verdict already says so
    advice = []
    for text, seen in sorted(known.items()):
        since = seen.get("matched") or seen["first"]
        if seen.get("matched") == lastCheck or lastCheck - since < STALE:
            continue
        what = (
            f"has matched no certificate the server sent for {int((now - since) // _DAY)} days"
            if seen.get("matched")
            else f"has been published for {int((now - seen['first']) // _DAY)} days and has "
            "matched no certificate the server sent"
        )
        advice.append(
            Advice(
                "stale-record",
                text,
                f"the record {what} (checks recorded in the history file)",
                "if it is the next key's record, make sure that key is still the one the next "
                "renewal will use; if not, publish the records without it "
                "(txdane publish HOST PORT --cert CURRENT.pem --cert NEXT.pem ...)",
            )
        )
    return advice

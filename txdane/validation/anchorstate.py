"""
The state file of RFC 5011 trust anchor tracking: the states of the tracked keys
(L{KeyState}, L{TrackedKey}), and the file that keeps them (L{AnchorState}, read by
L{parseState}, written by L{formatState} and L{writeState}), in the format of Unbound's
C{auto-trust-anchor-file}, which Unbound reads too::

    ; autotrust trust anchor file
    ;;id: . 1
    ;;last_queried: 1765000000 ;;Sat Dec  6 05:46:40 2025
    ;;last_success: 1765000000 ;;Sat Dec  6 05:46:40 2025
    ;;next_probe_time: 1765043200 ;;Sat Dec  6 17:46:40 2025
    ;;query_failed: 0
    ;;query_interval: 43200
    ;;retry_time: 8640
    . 172800 IN DNSKEY 257 3 8 AwEAAa... ;{id = 20326 (ksk), size = 2048b} ;;state=2 [  VALID  ]
        ;;count=0 ;;lastchange=1765000000 ;;Sat Dec  6 05:46:40 2025

(each key on one line, folded here; the fields are separated by tabs). Before any DNSKEY
RRset was proven, the file holds the DS records it was seeded with. A file of plain DS or
DNSKEY lines, without the C{;;id:} header, is read as trusted anchors to start from, as
Unbound reads one.

Tests: C{tests/validation/test_autotrust.py}.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from txdane.errors import TrustAnchorStateError
from txdane.files import writeAtomically
from txdane.names import nameFromText
from txdane.validation.anchors import _refusedKeyReason
from txdane.validation.rrsig import keyTag

__all__ = [
    "AnchorState",
    "KeyState",
    "TrackedKey",
    "formatState",
    "isRevoked",
    "parseState",
    "readState",
    "unrevoked",
    "writeState",
]

_REVOKE = 0x0080
_SEP = 0x0001
_HOUR = 3600


class KeyState(enum.IntEnum):
    """
    The RFC 5011 states of a tracked key, numbered as Unbound's state file writes them.
    """

    START = 0
    ADDPEND = 1
    VALID = 2
    MISSING = 3
    REVOKED = 4
    REMOVED = 5


_STATE_TEXT = {
    KeyState.START: "  START  ",
    KeyState.ADDPEND: " ADDPEND ",
    KeyState.VALID: "  VALID  ",
    KeyState.MISSING: " MISSING ",
    KeyState.REVOKED: " REVOKED ",
    KeyState.REMOVED: " REMOVED ",
}


def unrevoked(key: DNSKEY) -> DNSKEY:
    """
    C{key} without its REVOKE bit: the key's identity, whether revoked or not.
    """
    if not key.flags & _REVOKE:
        return key
    return cast(DNSKEY, key.replace(flags=key.flags & ~_REVOKE))


def isRevoked(key: DNSKEY) -> bool:
    """
    Whether C{key} has the REVOKE bit set.
    """
    return bool(key.flags & _REVOKE)


@dataclasses.dataclass(frozen=True)
class TrackedKey:
    """
    One key of the tracked zone and its RFC 5011 state.

    @ivar dnskey: the key as last seen (with its REVOKE bit once revoked).
    @ivar state: its state.
    @ivar lastChange: when its state last changed, or its hold-down was restarted (seconds
        since the epoch; 0 for a configured key not seen yet).
    @ivar count: for a pending key, in how many proven DNSKEY RRsets it was seen.
    @ivar ttl: the TTL of the DNSKEY RRset it was seen in.
    """

    dnskey: DNSKEY
    state: KeyState
    lastChange: int = 0
    count: int = 0
    ttl: int = 0

    @property
    def identity(self) -> DNSKEY:
        """
        The key without its REVOKE bit.
        """
        return unrevoked(self.dnskey)

    @property
    def trusted(self) -> bool:
        """
        Whether the key is a trust anchor now (valid, or missing but not revoked).
        """
        return self.state in (KeyState.VALID, KeyState.MISSING)

    def moved(self, state: KeyState, now: int, **changes: object) -> TrackedKey:
        """
        This key in C{state}, its hold-down restarted at C{now}.
        """
        return dataclasses.replace(self, state=state, lastChange=now, **changes)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class AnchorState:
    """
    What a state file holds: the zone's tracked keys and the times of its fetches.

    @ivar zone: the zone whose keys are tracked.
    @ivar keys: the tracked keys.
    @ivar seedDS: the DS anchors it was seeded with, trusted until a key they match is seen.
    @ivar lastQueried: when the zone's DNSKEY RRset was last fetched (0: never).
    @ivar lastSuccess: when a fetched DNSKEY RRset was last proven (0: never).
    @ivar nextProbe: when the DNSKEY RRset should be fetched again.
    @ivar queryFailed: fetches that failed since the last that succeeded.
    @ivar queryInterval: seconds between fetches when they succeed.
    @ivar retryTime: seconds until the next fetch after a failed one.
    """

    zone: dns.name.Name
    keys: tuple[TrackedKey, ...] = ()
    seedDS: tuple[DS, ...] = ()
    lastQueried: int = 0
    lastSuccess: int = 0
    nextProbe: int = 0
    queryFailed: int = 0
    queryInterval: int = _HOUR
    retryTime: int = _HOUR

    @property
    def allRevoked(self) -> bool:
        """
        Whether nothing is trusted: no seed DS record, and no trusted key.
        """
        return not self.seedDS and not any(k.trusted for k in self.keys)


def readState(path: Path) -> AnchorState | None:
    """
    The state file C{path}, or C{None} when it does not exist.

    @raise TrustAnchorStateError: it cannot be read or parsed.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise TrustAnchorStateError(str(path), _why(e)) from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TrustAnchorStateError(str(path), "not UTF-8 text") from e
    return parseState(text, str(path))


def parseState(text: str, source: str) -> AnchorState:
    """
    Parse the text of a state file.

    @param source: the file it came from, for errors.
    @raise TrustAnchorStateError: naming the line at fault.
    """
    zone: dns.name.Name | None = None
    header = False
    revokedFile = False
    fields: dict[str, int] = {}
    keys: list[TrackedKey] = []
    seedDS: list[DS] = []
    lines: dict[DNSKEY, int] = {}  # each key's identity -> the line that lists it
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()

        def bad(reason: str, number: int = number) -> TrustAnchorStateError:
            return TrustAnchorStateError(source, f"line {number}: {reason}")

        if not stripped:
            continue
        if stripped.startswith(";;id: "):
            parts = stripped[6:].split()
            try:
                named = nameFromText(parts[0])
            except (dns.exception.DNSException, IndexError) as e:
                raise bad(f"bad ;;id: {e}") from e
            if zone is not None and named != zone:
                raise bad(f";;id: {named}: a state file holds the keys of one zone ({zone})")
            zone = _zoneName(named, bad)
            header = True
            continue
        if stripped.startswith(";;REVOKED"):
            revokedFile = True
            continue
        match = re.match(r";;([a-z_]+): *([0-9]+)", stripped)
        if match:
            fields[match.group(1)] = _number(match.group(2), bad)
            continue
        if stripped.startswith(";"):
            continue
        data, _, comments = stripped.partition(";")
        owner, rdata = _parseRecord(data, bad)
        if zone is None:
            zone = _zoneName(owner, bad)
        elif owner != zone:
            raise bad(f"{owner}: a state file holds the keys of one zone ({zone})")
        stateMatch = re.search(r";;state=([0-9]+)", ";" + comments)
        if stateMatch is None and header:
            raise bad("no ;;state= annotation")
        state = KeyState.VALID
        if stateMatch is not None:
            try:
                state = KeyState(_number(stateMatch.group(1), bad))
            except ValueError:
                raise bad(f"unknown state {stateMatch.group(1)}") from None
        count = re.search(r";;count=([0-9]+)", ";" + comments)
        change = re.search(r";;lastchange=([0-9]+)", ";" + comments)
        if isinstance(rdata, DS):
            if state is KeyState.VALID:
                seedDS.append(rdata)
            continue
        assert isinstance(rdata, DNSKEY)
        identity = unrevoked(rdata)
        if identity in lines:
            # Two states for one key (say revoked, and valid): which holds is unknowable.
            raise bad(
                f"DNSKEY {keyTag(identity)}/{rdata.algorithm} is listed twice, revoked or "
                f"not (first on line {lines[identity]})"
            )
        lines[identity] = number
        if isRevoked(rdata) and state in (KeyState.VALID, KeyState.MISSING):
            raise bad(
                f"DNSKEY {keyTag(rdata)}/{rdata.algorithm} has the REVOKE bit but state "
                f"{state.name}: a revoked key is never a trust anchor (RFC 5011 section 2.1)"
            )
        if state in (KeyState.VALID, KeyState.MISSING):
            # A trusted key is an anchor: one without the ZONE flag, or of another protocol
            # than 3, is refused as a configured one is.
            reason = _refusedKeyReason(zone, rdata)
            if reason is not None:
                raise bad(reason)
        ttl = int(data.split()[1]) if re.fullmatch(r"[0-9]{1,10}", data.split()[1]) else 0
        keys.append(
            TrackedKey(
                rdata,
                state,
                _number(change.group(1), bad) if change else 0,
                _number(count.group(1), bad) if count else 0,
                ttl,
            )
        )
    if revokedFile:
        keys = [k if not k.trusted else k.moved(KeyState.REVOKED, k.lastChange) for k in keys]
        seedDS = []
    if zone is None or (not keys and not seedDS):
        raise TrustAnchorStateError(source, "no trust anchor in the file")
    if not revokedFile and not seedDS and not any(k.trusted for k in keys):
        # Nothing trusted, yet not marked as revoked (as the file is once every trusted key
        # revoked itself): a damaged file, not a state this module writes.
        states = ", ".join(dict.fromkeys(k.state.name for k in keys))
        raise TrustAnchorStateError(
            source,
            f"no key of the file is trusted (state {states}) and it is not marked ;;REVOKED: "
            "overwrite it with trust anchors to start again",
        )
    return AnchorState(
        zone,
        tuple(keys),
        tuple(seedDS),
        fields.get("last_queried", 0),
        fields.get("last_success", 0),
        fields.get("next_probe_time", 0),
        fields.get("query_failed", 0),
        fields.get("query_interval", _HOUR),
        fields.get("retry_time", _HOUR),
    )


def formatState(state: AnchorState) -> str:
    """
    The text of a state file: Unbound's C{auto-trust-anchor-file} format.
    """
    lines = ["; autotrust trust anchor file"]
    if state.allRevoked and state.keys:
        lines += [
            ";;REVOKED",
            "; The zone has all keys revoked, and is",
            "; considered as if it has no trust anchors.",
            "; the remainder of the file is the last probe.",
            "; to restart the trust anchor, overwrite this file.",
            "; with one containing valid DNSKEYs or DSes.",
        ]
    lines.append(f";;id: {state.zone.to_text()} {int(dns.rdataclass.IN)}")
    for name, value in (
        ("last_queried", state.lastQueried),
        ("last_success", state.lastSuccess),
        ("next_probe_time", state.nextProbe),
    ):
        lines.append(f";;{name}: {value} ;;{time.ctime(value)}")
    lines.append(f";;query_failed: {state.queryFailed}")
    lines.append(f";;query_interval: {state.queryInterval}")
    lines.append(f";;retry_time: {state.retryTime}")
    owner = state.zone.to_text()
    for ds in state.seedDS:
        lines.append(
            f"{owner}\t0\tIN\tDS\t{ds.to_text()} ;;state={int(KeyState.VALID)} "
            f"[{_STATE_TEXT[KeyState.VALID]}] ;;count=0 ;;lastchange=0 ;;{time.ctime(0)}"
        )
    for tracked in state.keys:
        key = tracked.dnskey
        kind = "ksk" if key.flags & _SEP else "zsk"
        lines.append(
            f"{owner}\t{tracked.ttl}\tIN\tDNSKEY\t{key.to_text()} "
            f";{{id = {keyTag(key)} ({kind}), size = {len(key.key) * 8}b}} "
            f";;state={int(tracked.state)} [{_STATE_TEXT[tracked.state]}] "
            f";;count={tracked.count} ;;lastchange={tracked.lastChange} "
            f";;{time.ctime(tracked.lastChange)}"
        )
    return "\n".join(lines) + "\n"


def writeState(path: Path, text: str) -> None:
    """
    Write the state file C{path} atomically: to a temporary file beside it, flushed to disk,
    then renamed over it.

    @raise TrustAnchorStateError: it cannot be written.
    """
    try:
        writeAtomically(path, text.encode("utf-8"))
    except (OSError, ValueError) as e:
        raise TrustAnchorStateError(str(path), f"cannot write: {_why(e)}") from e


def _why(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


def _zoneName(name: dns.name.Name, bad: Callable[[str], TrustAnchorStateError]) -> dns.name.Name:
    """
    C{name}, as the zone of a state file: one whose text holds no C{;}, which starts the
    file's annotations.
    """
    if ";" in name.to_text():
        raise bad(f"{name}: a zone name with a ';' cannot be kept in a state file")
    return name


def _number(text: str, bad: Callable[[str], TrustAnchorStateError]) -> int:
    """
    A number of the file: at most 32 bits, as Unbound writes them (times, counts, states).
    """
    value = int(text)
    if value > 0xFFFFFFFF:
        raise bad(f"{text} is out of range")
    return value


def _parseRecord(
    data: str, bad: Callable[[str], TrustAnchorStateError]
) -> tuple[dns.name.Name, DS | DNSKEY]:
    """
    The owner and record of a line C{OWNER [TTL] [IN] TYPE RDATA} of a state file.
    """
    tokens = data.split()
    if len(tokens) < 3:
        raise bad(f"not a DNSKEY or DS record: {data.strip()!r}")
    try:
        owner = nameFromText(tokens[0])
    except dns.exception.DNSException as e:
        raise bad(f"bad owner name: {e}") from e
    rest = tokens[1:]
    if rest and re.fullmatch(r"[0-9]{1,10}", rest[0]):
        rest = rest[1:]
    if rest and rest[0].upper() == "IN":
        rest = rest[1:]
    if not rest or rest[0].upper() not in ("DNSKEY", "DS"):
        raise bad(f"not a DNSKEY or DS record: {data.strip()!r}")
    rdtype = dns.rdatatype.from_text(rest[0])
    try:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, " ".join(rest[1:]))
    except (dns.exception.DNSException, ValueError) as e:
        raise bad(f"bad {rest[0].upper()} record: {e}") from e
    assert isinstance(rdata, DS | DNSKEY)
    return owner, rdata

"""
Trust anchors that follow a key rollover: RFC 5011 automated updates, kept in a state file.

A L{TrustAnchorTracker} keeps the key-signing keys of one zone (the root, or the zone of a
private anchor) and their RFC 5011 states. It learns only from the zone's DNSKEY RRset as a
trusted key proves it: a new key becomes trusted after it was seen, in every proven DNSKEY
RRset, for the add hold-down (30 days); a key published with the REVOKE bit (flags 0x0080,
its key tag then 128 more) and signed by itself is never trusted again; a revoked key that
is gone for the remove hold-down (30 days) is forgotten (marked removed). A trusted key that
disappears without being revoked stays trusted (missing): the set of trusted keys never falls
to zero through absence, only through revocations by the keys themselves, and then the
validator fails closed.

The state is written, atomically (a temporary file, C{fsync}, C{rename}), in the format of
Unbound's C{auto-trust-anchor-file}, which Unbound reads too::

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

(each key on one line, folded here; the fields are separated by tabs).

The first time, before any DNSKEY RRset was proven, the file holds the configured anchors (DS
or DNSKEY lines) it was seeded from. A file of plain DS or DNSKEY lines, without the
C{;;id:} header, is read as trusted anchors to start from, as Unbound does.

Tests: C{tests/validation/test_autotrust.py}.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import cast

import dns.dnssec
import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG

from txdane.errors import TrustAnchorStateError
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.anchors import TrustAnchor, TrustAnchors

__all__ = [
    "ADD_HOLD_DOWN",
    "MAX_TRACKED_KEYS",
    "REMOVE_HOLD_DOWN",
    "KeyState",
    "TrackedKey",
    "TrustAnchorTracker",
]

#: Seconds a new key must be seen before it is trusted (RFC 5011 section 2.4.1: 30 days).
ADD_HOLD_DOWN = 30 * 86400
#: Seconds a revoked key must be gone before it is marked removed (RFC 5011 section 2.4.2).
REMOVE_HOLD_DOWN = 30 * 86400
#: Keys tracked for the zone, in every state (a DNSKEY RRset, signed by a trusted key, may
#: list any number of new keys): a new key over the bound is not tracked.
MAX_TRACKED_KEYS = 16
#: Proven DNSKEY RRsets a new key must appear in before the add hold-down can make it
#: trusted (as Unbound checks), so that one old response cannot do it.
MIN_PENDING_FETCHES = 2

_REVOKE = 0x0080
_SEP = 0x0001
_ZONE = 0x0100
_HOUR = 3600
_DAY = 86400


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


def _isKSK(key: DNSKEY) -> bool:
    return bool(key.flags & _SEP) and bool(key.flags & _ZONE) and key.protocol == 3


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


class TrustAnchorTracker:
    """
    The RFC 5011 state of the trust anchors of one zone, kept in a state file.

    L{open} reads the file (or, when there is none yet, seeds it from the configured anchors
    and writes it). The validator takes the zone's trust anchor from L{anchor}, reports
    self-signed revocations it finds in the zone's DNSKEY RRset to L{revoke}, and every
    DNSKEY RRset a trusted key proved to L{observe}; each change is written to the file
    before it takes effect.

    @ivar zone: the zone whose keys are tracked.
    @ivar path: the state file.
    @ivar keys: the tracked keys.
    @ivar seedDS: the DS anchors the state was seeded with, trusted until a key they match
        has been seen.
    @ivar addHoldDown: seconds a new key must be seen before it is trusted.
    @ivar removeHoldDown: seconds a revoked key must be gone before it is removed.
    @ivar maxKeys: the most keys tracked.
    @ivar lastQueried: when the zone's DNSKEY RRset was last fetched (0: never).
    @ivar lastSuccess: when a fetched DNSKEY RRset was last proven (0: never).
    @ivar nextProbe: when the DNSKEY RRset should be fetched again (RFC 5011 section 2.3).
    @ivar queryFailed: fetches that failed since the last that succeeded.
    @ivar queryInterval: seconds between fetches when they succeed.
    @ivar retryTime: seconds until the next fetch after a failed one.
    """

    def __init__(
        self,
        zone: dns.name.Name,
        path: str | Path,
        keys: Iterable[TrackedKey] = (),
        seedDS: Sequence[DS] = (),
        *,
        addHoldDown: int = ADD_HOLD_DOWN,
        removeHoldDown: int = REMOVE_HOLD_DOWN,
        maxKeys: int = MAX_TRACKED_KEYS,
    ) -> None:
        self.zone = zone
        self.path = Path(path)
        self.keys: list[TrackedKey] = list(keys)
        self.seedDS: tuple[DS, ...] = tuple(seedDS)
        self.addHoldDown = addHoldDown
        self.removeHoldDown = removeHoldDown
        self.maxKeys = maxKeys
        self.lastQueried = 0
        self.lastSuccess = 0
        self.nextProbe = 0
        self.queryFailed = 0
        self.queryInterval = _HOUR
        self.retryTime = _HOUR

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        seed: TrustAnchors,
        *,
        addHoldDown: int = ADD_HOLD_DOWN,
        removeHoldDown: int = REMOVE_HOLD_DOWN,
        maxKeys: int = MAX_TRACKED_KEYS,
    ) -> TrustAnchorTracker:
        """
        The tracker of the state file C{path}: read from it when it exists (its keys are then
        the anchors, whatever C{seed} says), else seeded from C{seed} and written there.

        @param seed: the configured anchors (built-in or from a file); they must name one
            zone, the zone to track.
        @param addHoldDown: see L{ADD_HOLD_DOWN}; shorter only for tests.
        @param removeHoldDown: see L{REMOVE_HOLD_DOWN}; shorter only for tests.
        @param maxKeys: see L{MAX_TRACKED_KEYS}.
        @raise TrustAnchorStateError: the file cannot be read, parsed or written, or C{seed}
            names several zones.
        """
        path = Path(path)
        options = {
            "addHoldDown": addHoldDown,
            "removeHoldDown": removeHoldDown,
            "maxKeys": maxKeys,
        }
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = None
        except (OSError, ValueError) as e:
            raise TrustAnchorStateError(str(path), _why(e)) from e
        if data is not None:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as e:
                raise TrustAnchorStateError(str(path), "not UTF-8 text") from e
            tracker = cls.fromText(text, path, **options)
        else:
            zones = [anchor.zone for anchor in seed.anchors]
            if len(zones) != 1:
                raise TrustAnchorStateError(
                    str(path),
                    "a state file tracks the anchors of one zone, but the configured anchors "
                    "name " + ", ".join(str(z) for z in zones),
                )
            anchor = seed.anchors[0]
            tracker = cls(
                anchor.zone,
                path,
                (TrackedKey(k, KeyState.VALID) for k in anchor.dnskeys),
                anchor.ds,
                **options,
            )
        tracker.save()
        return tracker

    @classmethod
    def fromText(
        cls,
        text: str,
        path: str | Path,
        *,
        addHoldDown: int = ADD_HOLD_DOWN,
        removeHoldDown: int = REMOVE_HOLD_DOWN,
        maxKeys: int = MAX_TRACKED_KEYS,
    ) -> TrustAnchorTracker:
        """
        Parse the text of a state file (see the module's description).

        @param path: the file it came from, for errors and for writing it back.
        @raise TrustAnchorStateError: naming the line at fault.
        """
        source = str(path)
        zone: dns.name.Name | None = None
        header = False
        revokedFile = False
        fields: dict[str, int] = {}
        keys: list[TrackedKey] = []
        seedDS: list[DS] = []
        for number, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()

            def bad(reason: str, number: int = number) -> TrustAnchorStateError:
                return TrustAnchorStateError(source, f"line {number}: {reason}")

            if not stripped:
                continue
            if stripped.startswith(";;id: "):
                parts = stripped[6:].split()
                try:
                    zone = dns.name.from_text(parts[0])
                except (dns.exception.DNSException, IndexError) as e:
                    raise bad(f"bad ;;id: {e}") from e
                header = True
                continue
            if stripped.startswith(";;REVOKED"):
                revokedFile = True
                continue
            match = re.match(r";;([a-z_]+): *(\d+)", stripped)
            if match:
                fields[match.group(1)] = int(match.group(2))
                continue
            if stripped.startswith(";"):
                continue
            data, _, comments = stripped.partition(";")
            owner, rdata = _parseRecord(data, bad)
            if zone is None:
                zone = owner
            elif owner != zone:
                raise bad(f"{owner}: a state file holds the keys of one zone ({zone})")
            stateMatch = re.search(r";;state=(\d+)", ";" + comments)
            if stateMatch is None and header:
                raise bad("no ;;state= annotation")
            state = KeyState.VALID
            if stateMatch is not None:
                try:
                    state = KeyState(int(stateMatch.group(1)))
                except ValueError:
                    raise bad(f"unknown state {stateMatch.group(1)}") from None
            count = re.search(r";;count=(\d+)", ";" + comments)
            change = re.search(r";;lastchange=(\d+)", ";" + comments)
            if isinstance(rdata, DS):
                if state is KeyState.VALID:
                    seedDS.append(rdata)
                continue
            assert isinstance(rdata, DNSKEY)
            ttl = int(data.split()[1]) if data.split()[1:2] and data.split()[1].isdigit() else 0
            keys.append(
                TrackedKey(
                    rdata,
                    state,
                    int(change.group(1)) if change else 0,
                    int(count.group(1)) if count else 0,
                    ttl,
                )
            )
        if zone is None:
            raise TrustAnchorStateError(source, "no trust anchor in the file")
        if revokedFile:
            keys = [k if not k.trusted else k.moved(KeyState.REVOKED, k.lastChange) for k in keys]
            seedDS = []
        tracker = cls(
            zone,
            path,
            keys,
            seedDS,
            addHoldDown=addHoldDown,
            removeHoldDown=removeHoldDown,
            maxKeys=maxKeys,
        )
        tracker.lastQueried = fields.get("last_queried", 0)
        tracker.lastSuccess = fields.get("last_success", 0)
        tracker.nextProbe = fields.get("next_probe_time", 0)
        tracker.queryFailed = fields.get("query_failed", 0)
        tracker.queryInterval = fields.get("query_interval", _HOUR)
        tracker.retryTime = fields.get("retry_time", _HOUR)
        return tracker

    # -- what it trusts --------------------------------------------------------------------

    def trustedKeys(self) -> tuple[DNSKEY, ...]:
        """
        The keys trusted now: valid and missing ones.
        """
        return tuple(k.dnskey for k in self.keys if k.trusted)

    @property
    def allRevoked(self) -> bool:
        """
        Whether nothing is trusted any more: every key the zone had was revoked.
        """
        return not self.seedDS and not self.trustedKeys()

    def anchor(self) -> TrustAnchor:
        """
        The trust anchor of the zone now: its trusted keys, and the DS records it was seeded
        with until a key they match has been seen.
        """
        return TrustAnchor(self.zone, self.seedDS, self.trustedKeys())

    def find(self, key: DNSKEY) -> TrackedKey | None:
        """
        The tracked entry of C{key}, revoked or not.
        """
        identity = unrevoked(key)
        for tracked in self.keys:
            if tracked.identity == identity:
                return tracked
        return None

    # -- learning from the zone ------------------------------------------------------------

    def revoke(
        self,
        dnskeys: dns.rrset.RRset,
        selfSigned: Callable[[DNSKEY], bool],
        now: float,
    ) -> bool:
        """
        Revoke the tracked keys that C{dnskeys} (the zone's DNSKEY RRset, proven or not)
        publishes with the REVOKE bit and that signed it themselves: a revocation is proven
        by the revoked key alone (RFC 5011 section 2.1). Revoked keys that are not tracked,
        or not self-signed, change nothing.

        @param selfSigned: whether a revoked key verifies a signature over C{dnskeys}.
        @return: whether the state changed (it is then written).
        @raise TrustAnchorStateError: the state file cannot be written.
        """
        stamp = int(now)
        updated = list(self.keys)
        changed = False
        for key in dnskeys:
            if not isinstance(key, DNSKEY) or not isRevoked(key) or not _isKSK(key):
                continue
            tracked = self.find(key)
            if tracked is None or tracked.state in (KeyState.REVOKED, KeyState.REMOVED):
                continue
            if not selfSigned(key):
                continue
            index = updated.index(tracked)
            updated[index] = tracked.moved(KeyState.REVOKED, stamp, dnskey=key, count=0)
            changed = True
        if changed:
            self._commit(updated, self.seedDS)
        return changed

    def observe(
        self,
        dnskeys: dns.rrset.RRset,
        sigs: Sequence[RRSIG],
        now: float,
        policy: AlgorithmPolicy | None = None,
    ) -> bool:
        """
        Run the RFC 5011 state table for a DNSKEY RRset of the zone that a trusted key
        proved, and write the state.

        @param sigs: the RRset's signatures (their expiry sets the refresh interval).
        @param policy: keys of algorithms it does not support are not tracked.
        @return: whether the set of trusted keys changed.
        @raise TrustAnchorStateError: the state file cannot be written.
        """
        stamp = int(now)
        policy = policy if policy is not None else AlgorithmPolicy()
        before = self.anchor()
        seen: set[int] = set()  # indexes into updated
        updated = list(self.keys)
        seedDS = self.seedDS
        # Keys already tracked, then those the seed DS records match, then new ones: the
        # bound on tracked keys never keeps out a key that is trusted.
        ordered = sorted(
            (k for k in dnskeys if isinstance(k, DNSKEY) and _isKSK(k)),
            key=lambda k: (
                self._findIn(updated, k) is None,
                not any(_matchesDS(self.zone, k, ds) for ds in seedDS),
            ),
        )
        for key in ordered:
            if isRevoked(key):
                # A self-signed revocation was handled by revoke(); a revoked key that is
                # tracked still counts as seen (its hold-down restarts while it is published).
                tracked = self._findIn(updated, key)
                if tracked is not None and tracked.state is KeyState.REVOKED:
                    seen.add(updated.index(tracked))
                continue
            tracked = self._findIn(updated, key)
            if tracked is None:
                if not policy.supportsAlgorithm(key.algorithm):
                    continue
                if len(updated) >= self.maxKeys and not self._evictRemoved(updated):
                    continue
                matched = any(_matchesDS(self.zone, key, ds) for ds in seedDS)
                state = KeyState.VALID if matched else KeyState.ADDPEND
                updated.append(TrackedKey(key, state, stamp, 0, dnskeys.ttl))
                tracked = updated[-1]
            index = updated.index(tracked)
            seen.add(index)
            updated[index] = self._present(tracked, key, stamp, dnskeys.ttl)
        for index, tracked in enumerate(updated):
            if index not in seen:
                updated[index] = self._absent(tracked, stamp)
        updated = [k for k in updated if k.state is not KeyState.START]
        if seedDS and any(k.state is KeyState.VALID for k in updated):
            seedDS = ()
        self.lastQueried = self.lastSuccess = stamp
        self.queryFailed = 0
        self._setTimes(dnskeys.ttl, sigs, stamp)
        self._commit(updated, seedDS)
        return self.anchor() != before

    def failed(self, now: float) -> None:
        """
        Note a fetch of the DNSKEY RRset that failed: the next one is due after the retry
        time (RFC 5011 section 2.3).

        @raise TrustAnchorStateError: the state file cannot be written.
        """
        self.lastQueried = int(now)
        self.queryFailed += 1
        self.nextProbe = int(now) + self.retryTime
        self.save()

    def _present(self, tracked: TrackedKey, key: DNSKEY, now: int, ttl: int) -> TrackedKey:
        state = tracked.state
        if state is KeyState.ADDPEND:
            count = min(tracked.count + 1, 250)
            if now - tracked.lastChange >= self.addHoldDown and count >= MIN_PENDING_FETCHES:
                return tracked.moved(KeyState.VALID, now, count=0, ttl=ttl)
            return dataclasses.replace(tracked, count=count, ttl=ttl)
        if state is KeyState.MISSING:
            return tracked.moved(KeyState.VALID, now, ttl=ttl)
        if state is KeyState.VALID and tracked.lastChange == 0:
            return tracked.moved(KeyState.VALID, now, ttl=ttl)  # first seen
        if state is KeyState.REVOKED:
            return tracked.moved(KeyState.REVOKED, now)
        if state is KeyState.REMOVED:
            return tracked  # never trusted again
        return dataclasses.replace(tracked, ttl=ttl)

    def _absent(self, tracked: TrackedKey, now: int) -> TrackedKey:
        state = tracked.state
        if state is KeyState.ADDPEND:
            return tracked.moved(KeyState.START, now, count=0)  # forgotten
        if state is KeyState.VALID:
            return tracked.moved(KeyState.MISSING, now)
        if state is KeyState.REVOKED and now - tracked.lastChange >= self.removeHoldDown:
            return tracked.moved(KeyState.REMOVED, now)
        return tracked

    @staticmethod
    def _findIn(keys: Sequence[TrackedKey], key: DNSKEY) -> TrackedKey | None:
        identity = unrevoked(key)
        for tracked in keys:
            if tracked.identity == identity:
                return tracked
        return None

    @staticmethod
    def _evictRemoved(keys: list[TrackedKey]) -> bool:
        """
        Make room for a new key by forgetting the removed key removed longest ago, if any.
        """
        removed = [k for k in keys if k.state is KeyState.REMOVED]
        if not removed:
            return False
        keys.remove(min(removed, key=lambda k: k.lastChange))
        return True

    def _setTimes(self, ttl: int, sigs: Sequence[RRSIG], now: int) -> None:
        """
        The refresh interval and retry time of RFC 5011 section 2.3, from the RRset's TTL
        (its signatures' original TTL) and the time to its signatures' earliest expiry.
        """
        originalTTL = min((s.original_ttl for s in sigs), default=ttl)
        expiry = min((s.expiration for s in sigs), default=now + 2 * 15 * _DAY) - now
        self.queryInterval = max(_HOUR, min(15 * _DAY, originalTTL // 2, expiry // 2))
        self.retryTime = max(_HOUR, min(_DAY, originalTTL // 10, expiry // 10))
        self.nextProbe = now + self.queryInterval

    # -- the state file --------------------------------------------------------------------

    def _commit(self, keys: list[TrackedKey], seedDS: tuple[DS, ...]) -> None:
        """
        Write the state with C{keys} and C{seedDS}, and take them only once it is written.
        """
        old = self.keys, self.seedDS
        self.keys, self.seedDS = keys, seedDS
        try:
            self.save()
        except TrustAnchorStateError:
            self.keys, self.seedDS = old
            raise

    def toText(self) -> str:
        """
        The state file's text: Unbound's C{auto-trust-anchor-file} format.
        """
        lines = ["; autotrust trust anchor file"]
        if self.allRevoked and self.keys:
            lines += [
                ";;REVOKED",
                "; The zone has all keys revoked, and is",
                "; considered as if it has no trust anchors.",
                "; the remainder of the file is the last probe.",
                "; to restart the trust anchor, overwrite this file.",
                "; with one containing valid DNSKEYs or DSes.",
            ]
        lines.append(f";;id: {self.zone.to_text()} {int(dns.rdataclass.IN)}")
        for name, value in (
            ("last_queried", self.lastQueried),
            ("last_success", self.lastSuccess),
            ("next_probe_time", self.nextProbe),
        ):
            lines.append(f";;{name}: {value} ;;{time.ctime(value)}")
        lines.append(f";;query_failed: {self.queryFailed}")
        lines.append(f";;query_interval: {self.queryInterval}")
        lines.append(f";;retry_time: {self.retryTime}")
        owner = self.zone.to_text()
        for ds in self.seedDS:
            lines.append(
                f"{owner}\t0\tIN\tDS\t{ds.to_text()} ;;state={int(KeyState.VALID)} "
                f"[{_STATE_TEXT[KeyState.VALID]}] ;;count=0 ;;lastchange=0 ;;{time.ctime(0)}"
            )
        for tracked in self.keys:
            key = tracked.dnskey
            kind = "ksk" if key.flags & _SEP else "zsk"
            lines.append(
                f"{owner}\t{tracked.ttl}\tIN\tDNSKEY\t{key.to_text()} "
                f";{{id = {key.key_id()} ({kind}), size = {len(key.key) * 8}b}} "
                f";;state={int(tracked.state)} [{_STATE_TEXT[tracked.state]}] "
                f";;count={tracked.count} ;;lastchange={tracked.lastChange} "
                f";;{time.ctime(tracked.lastChange)}"
            )
        return "\n".join(lines) + "\n"

    def save(self) -> None:
        """
        Write the state file atomically: to a temporary file beside it, flushed to disk,
        then renamed over it.

        @raise TrustAnchorStateError: it cannot be written.
        """
        data = self.toText().encode("utf-8")
        temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(descriptor, view) :]
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            os.replace(temporary, self.path)
        except (OSError, ValueError) as e:
            try:
                os.unlink(temporary)
            except (OSError, ValueError):
                pass
            raise TrustAnchorStateError(str(self.path), f"cannot write: {_why(e)}") from e
        _syncDirectory(self.path.parent)


def _syncDirectory(directory: Path) -> None:
    """
    Flush the directory entry of a renamed file to disk, where the platform allows it.
    """
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _why(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


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
        owner = dns.name.from_text(tokens[0])
    except dns.exception.DNSException as e:
        raise bad(f"bad owner name: {e}") from e
    rest = tokens[1:]
    if rest and rest[0].isdigit():
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


def _matchesDS(zone: dns.name.Name, key: DNSKEY, ds: DS) -> bool:
    """
    Whether C{ds} (a configured anchor) points to C{key}.
    """
    if ds.key_tag != key.key_id() or ds.algorithm != key.algorithm:
        return False
    try:
        made = dns.dnssec.make_ds(
            zone, key, ds.digest_type, policy=dns.dnssec.allow_all_policy, validating=True
        )
    except (dns.dnssec.UnsupportedAlgorithm, ValueError):
        return False
    return made.digest == ds.digest

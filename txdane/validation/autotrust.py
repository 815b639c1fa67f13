"""
Trust anchors that follow a key rollover: RFC 5011 automated updates, kept in a state file.

A L{TrustAnchorTracker} keeps the key-signing keys of one zone (the root, or the zone of a
private anchor) and their RFC 5011 states. It learns only from the zone's DNSKEY RRset as a
trusted key proves it: a new key becomes trusted after it was seen, in every proven DNSKEY
RRset, for the add hold-down (30 days); a key published with the REVOKE bit (flags 0x0080,
its key tag then 128 more) and signed by itself is never trusted again; a revoked key that
is gone for the remove hold-down (30 days) is forgotten (marked removed). A trusted key that
disappears without being revoked stays trusted (missing), for a year while another key is
valid (L{KEEP_MISSING}): the set of trusted keys never falls to zero through absence, only
through revocations by the keys themselves, and then the validator fails closed.

The state is kept in a file, in the format of Unbound's C{auto-trust-anchor-file}
(L{anchorstate<txdane.validation.anchorstate>} reads and writes it), written atomically at
each change before the change takes effect; a fetch that changes nothing is not written, its
fetch times saved at most about once per query interval.

Tests: C{tests/validation/test_autotrust.py}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import dns.dnssec
import dns.name
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.RRSIG import RRSIG
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from txdane.errors import TrustAnchorStateError, TxdaneError
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.anchors import TrustAnchor, TrustAnchors
from txdane.validation.anchorstate import (
    AnchorState,
    KeyState,
    TrackedKey,
    formatState,
    isRevoked,
    parseState,
    readState,
    unrevoked,
    writeState,
)
from txdane.validation.rrsig import keyTag, secondsUntil

__all__ = [
    "ADD_HOLD_DOWN",
    "KEEP_MISSING",
    "MAX_TRACKED_KEYS",
    "REMOVE_HOLD_DOWN",
    "RefreshTimer",
    "TrustAnchorTracker",
]

#: Seconds a new key must be seen before it is trusted (RFC 5011 section 2.4.1: 30 days).
ADD_HOLD_DOWN = 30 * 86400
#: Seconds a revoked key must be gone before it is marked removed (RFC 5011 section 2.4.2).
REMOVE_HOLD_DOWN = 30 * 86400
#: Seconds a trusted key that disappeared without being revoked (missing) stays trusted while
#: another key is valid: then it is marked removed, never trusted again, so that a retired
#: key whose zone never revoked it is not trusted for ever (Unbound's C{keep-missing}, whose
#: default this is: 366 days).
KEEP_MISSING = 366 * 86400
#: Keys tracked for the zone, in every state (a DNSKEY RRset, signed by a trusted key, may
#: list any number of new keys): a new key over the bound is not tracked.
MAX_TRACKED_KEYS = 16
#: Proven DNSKEY RRsets a new key must appear in before the add hold-down can make it
#: trusted (as Unbound checks), so that one old response cannot do it.
MIN_PENDING_FETCHES = 2

_SEP = 0x0001
_log = Logger()
_ZONE = 0x0100
_HOUR = 3600
_DAY = 86400


def _isKSK(key: DNSKEY) -> bool:
    return bool(key.flags & _SEP) and bool(key.flags & _ZONE) and key.protocol == 3


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
    @ivar keepMissing: seconds a missing key stays trusted while another key is valid
        (C{None}: for ever).
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
        keepMissing: int | None = KEEP_MISSING,
        maxKeys: int = MAX_TRACKED_KEYS,
    ) -> None:
        self.zone = zone
        self.path = Path(path)
        self.keys: list[TrackedKey] = list(keys)
        self.seedDS: tuple[DS, ...] = tuple(seedDS)
        self.addHoldDown = addHoldDown
        self.removeHoldDown = removeHoldDown
        self.keepMissing = keepMissing
        self.maxKeys = maxKeys
        self.lastQueried = 0
        self.lastSuccess = 0
        self.nextProbe = 0
        self.queryFailed = 0
        self.queryInterval = _HOUR
        self.retryTime = _HOUR
        #: The state as the file holds it (last read or written), C{None} before either.
        self._saved: AnchorState | None = None

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        seed: TrustAnchors,
        *,
        addHoldDown: int = ADD_HOLD_DOWN,
        removeHoldDown: int = REMOVE_HOLD_DOWN,
        keepMissing: int | None = KEEP_MISSING,
        maxKeys: int = MAX_TRACKED_KEYS,
    ) -> TrustAnchorTracker:
        """
        The tracker of the state file C{path}: read from it when it exists (its keys are then
        the anchors, whatever C{seed} says), else seeded from C{seed} and written there.

        @param seed: the configured anchors (built-in or from a file); they must name one
            zone, the zone to track.
        @param addHoldDown: see L{ADD_HOLD_DOWN}; shorter only for tests.
        @param removeHoldDown: see L{REMOVE_HOLD_DOWN}; shorter only for tests.
        @param keepMissing: see L{KEEP_MISSING}; C{None} keeps a missing key trusted for
            ever, as RFC 5011 allows.
        @param maxKeys: see L{MAX_TRACKED_KEYS}.
        @raise TrustAnchorStateError: the file cannot be read, parsed or written, or C{seed}
            names several zones.
        """
        path = Path(path)
        state = readState(path)
        if state is None:
            zones = [anchor.zone for anchor in seed.anchors]
            if len(zones) != 1:
                raise TrustAnchorStateError(
                    str(path),
                    "a state file tracks the anchors of one zone, but the configured anchors "
                    "name " + ", ".join(str(z) for z in zones),
                )
            anchor = seed.anchors[0]
            keys = tuple(TrackedKey(k, KeyState.VALID) for k in anchor.dnskeys)
            state = AnchorState(anchor.zone, keys, anchor.ds)
        tracker = cls._fromState(state, path, addHoldDown, removeHoldDown, keepMissing, maxKeys)
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
        keepMissing: int | None = KEEP_MISSING,
        maxKeys: int = MAX_TRACKED_KEYS,
    ) -> TrustAnchorTracker:
        """
        Parse the text of a state file (see the module's description).

        @param path: the file it came from, for errors and for writing it back.
        @raise TrustAnchorStateError: naming the line at fault.
        """
        state = parseState(text, str(path))
        return cls._fromState(state, path, addHoldDown, removeHoldDown, keepMissing, maxKeys)

    @classmethod
    def _fromState(
        cls,
        state: AnchorState,
        path: str | Path,
        addHoldDown: int,
        removeHoldDown: int,
        keepMissing: int | None,
        maxKeys: int,
    ) -> TrustAnchorTracker:
        tracker = cls(
            state.zone,
            path,
            addHoldDown=addHoldDown,
            removeHoldDown=removeHoldDown,
            keepMissing=keepMissing,
            maxKeys=maxKeys,
        )
        tracker._load(state)
        return tracker

    def _load(self, state: AnchorState) -> None:
        self.zone = state.zone
        self.keys = list(state.keys)
        self.seedDS = state.seedDS
        self.lastQueried = state.lastQueried
        self.lastSuccess = state.lastSuccess
        self.nextProbe = state.nextProbe
        self.queryFailed = state.queryFailed
        self.queryInterval = state.queryInterval
        self.retryTime = state.retryTime
        self._saved = state

    def state(self) -> AnchorState:
        """
        The state as the file keeps it.
        """
        return AnchorState(
            self.zone,
            tuple(self.keys),
            self.seedDS,
            self.lastQueried,
            self.lastSuccess,
            self.nextProbe,
            self.queryFailed,
            self.queryInterval,
            self.retryTime,
        )

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
        proved, and write the state when it changed (see L{_mustSave}): not at every fetch,
        which an upstream that sets the RRset's TTL to 0 could make as often as lookups.

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
        updated = self._retireMissing(updated, stamp)
        if seedDS and any(k.state is KeyState.VALID for k in updated):
            seedDS = ()
        self.lastQueried = self.lastSuccess = stamp
        self.queryFailed = 0
        self._setTimes(dnskeys.ttl, sigs, stamp)
        if self._mustSave(updated, seedDS, stamp):
            self._commit(updated, seedDS)
        else:
            self.keys, self.seedDS = updated, seedDS
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

    def _retireMissing(self, keys: list[TrackedKey], now: int) -> list[TrackedKey]:
        """
        Mark removed each key missing for L{keepMissing}, while another key is valid.
        """
        if self.keepMissing is None or not any(k.state is KeyState.VALID for k in keys):
            return keys
        return [
            k.moved(KeyState.REMOVED, now)
            if k.state is KeyState.MISSING and now - k.lastChange >= self.keepMissing
            else k
            for k in keys
        ]

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
        expiry = min((secondsUntil(s.expiration, now) for s in sigs), default=2 * 15 * _DAY)
        self.queryInterval = max(_HOUR, min(15 * _DAY, originalTTL // 2, expiry // 2))
        self.retryTime = max(_HOUR, min(_DAY, originalTTL // 10, expiry // 10))
        self.nextProbe = now + self.queryInterval

    # -- the state file --------------------------------------------------------------------

    def _mustSave(self, keys: Sequence[TrackedKey], seedDS: tuple[DS, ...], now: int) -> bool:
        """
        Whether the state after a proven fetch at C{now}, with C{keys} and C{seedDS}, must be
        written: when what the file says is trusted or pending changes (a key, its state,
        whether it has been seen enough times, when its hold-down started, the seed DS
        records), when it counts failed fetches, or when its fetch times are due for saving:
        its next probe time has come (so they are written about once per query interval, RFC
        5011 section 2.3), or is later than the one now planned. Between those writes, the
        file's fetch times, TTLs and the restart of a revoked key's remove hold-down lag by
        at most a query interval.
        """
        saved = self._saved
        if saved is None or saved.seedDS != seedDS:
            return True
        if [_meaning(k) for k in saved.keys] != [_meaning(k) for k in keys]:
            return True
        if saved.queryFailed != self.queryFailed:
            return True
        return now >= saved.nextProbe or self.nextProbe < saved.nextProbe

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
        return formatState(self.state())

    def save(self) -> None:
        """
        Write the state file, atomically.

        @raise TrustAnchorStateError: it cannot be written.
        """
        state = self.state()
        writeState(self.path, formatState(state))
        self._saved = state


class RefreshTimer:
    """
    Fetches the tracked zone's DNSKEY RRset again when the tracker says it is due (RFC 5011
    section 2.3), and notes the fetches that fail, so that the next one comes after the
    retry time.

    @ivar clock: the timer's clock.
    @ivar tracker: the tracker whose C{nextProbe} says when.
    @ivar fetch: fetches the RRset and updates the tracker; it fires with C{True} once a
        trusted key proved the RRset (the tracker then sets its next probe, and L{schedule}
        is called again), and passes its failures to L{failed}.
    """

    def __init__(
        self,
        clock: IReactorTime,
        tracker: TrustAnchorTracker,
        fetch: Callable[[], Deferred[bool]],
    ) -> None:
        self.clock = clock
        self.tracker = tracker
        self.fetch = fetch
        self._call: IDelayedCall | None = None
        self._running = True

    def schedule(self) -> None:
        """
        Fetch the RRset at the tracker's C{nextProbe} (instead of any time set before).
        """
        if not self._running:
            return
        delay = max(0.0, self.tracker.nextProbe - self.clock.seconds())
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = self.clock.callLater(delay, self._due)

    def _due(self) -> None:
        self._call = None
        self.fetch()

    def failed(self, reason: Failure, now: float) -> bool:
        """
        Note a fetch that failed at C{now}: logged, counted in the state file, and tried
        again after the retry time (unless every key was revoked: nothing is left to follow).
        """
        if reason.check(TxdaneError):
            _log.warn(
                "trust anchor refresh of {zone} failed: {why}",
                zone=self.tracker.zone,
                why=reason.getErrorMessage(),
            )
        else:
            _log.failure("trust anchor refresh of {zone} failed", reason, zone=self.tracker.zone)
        if self.tracker.allRevoked:
            return False
        try:
            self.tracker.failed(now)
        except TrustAnchorStateError:
            _log.failure("trust anchor state of {zone}", zone=self.tracker.zone)
        self.schedule()
        return False

    def stop(self) -> None:
        """
        Cancel the timer, for good.
        """
        self._running = False
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None


def _meaning(tracked: TrackedKey) -> tuple[object, ...]:
    """
    What a tracked key's entry in the state file means, for L{TrustAnchorTracker._mustSave}:
    the key, its state, whether it has been seen enough to become trusted, and when its
    state last changed, except for a revoked key (whose remove hold-down restarts at every
    fetch while it is published). Its TTL is only a record of the last fetch.
    """
    lastChange = None if tracked.state is KeyState.REVOKED else tracked.lastChange
    return (
        tracked.dnskey,
        tracked.state,
        min(tracked.count, MIN_PENDING_FETCHES),
        lastChange,
    )


def _matchesDS(zone: dns.name.Name, key: DNSKEY, ds: DS) -> bool:
    """
    Whether C{ds} (a configured anchor) points to C{key}.
    """
    if ds.key_tag != keyTag(key) or ds.algorithm != key.algorithm:
        return False
    try:
        made = dns.dnssec.make_ds(
            zone, key, ds.digest_type, policy=dns.dnssec.allow_all_policy, validating=True
        )
    except (dns.dnssec.UnsupportedAlgorithm, ValueError):
        return False
    return made.digest == ds.digest

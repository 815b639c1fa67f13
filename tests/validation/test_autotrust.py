"""
RFC 5011 trust anchor tracking (L{txdane.validation.autotrust}) across a scripted KSK rollover
of the test hierarchy's private root: a validator with a state file keeps validating; one with
only its configured anchors fails at the switch, as the documentation says.
"""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rdata
import pytest
from twisted.internet.task import Clock

from tests.validation.fakes import EngineQuerier, resolve
from txdane.errors import TrustAnchorStateError
from txdane.server.responder import Responder
from txdane.server.service import responderForZones
from txdane.server.signing import KSK_FLAGS, SigningKey
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy, revokedKey
from txdane.validation import EDE, TrustAnchors, ValidatingResolver
from txdane.validation.anchorstate import KeyState
from txdane.validation.autotrust import (
    ADD_HOLD_DOWN,
    KEEP_MISSING,
    MAX_TRACKED_KEYS,
    REMOVE_HOLD_DOWN,
    TrustAnchorTracker,
)

_DAY = 86400
_ROOT = dns.name.root
_NAME = "www.example.test."


class Root:
    """
    The test hierarchy with its root's keys under the test's control, served to the
    validators through one querier, on one clock.
    """

    def __init__(self, tmp: Path) -> None:
        self.hierarchy = buildHierarchy(validity=400 * _DAY)
        self.old, self.zsk = self.hierarchy.keys[_ROOT]
        self.new = SigningKey.generate(flags=KSK_FLAGS)
        self.clock = Clock()
        self.clock.advance(self.hierarchy.now)
        self.querier = EngineQuerier.forHierarchy(self.hierarchy)
        self.anchors = TrustAnchors.fromRRsets([self.hierarchy.trustAnchor])
        self.statePath = tmp / "root.state"

    def publish(self, published: list[SigningKey], signers: list[SigningKey]) -> None:
        """
        Make the root publish C{published} (its ZSK added) signed by C{signers}.
        """
        hierarchy = self.hierarchy.withDNSKEYs(
            _ROOT, [*published, self.zsk], signers, validity=400 * _DAY
        )
        self.querier.responder = _responder(hierarchy)

    def tracker(self, **kw: int) -> TrustAnchorTracker:
        return TrustAnchorTracker.open(self.statePath, self.anchors, **kw)

    def resolver(self, tracker: TrustAnchorTracker | None = None) -> ValidatingResolver:
        return ValidatingResolver(
            self.querier, trustAnchors=self.anchors, clock=self.clock, trustAnchorTracker=tracker
        )

    def advance(self, days: float) -> None:
        self.clock.advance(days * _DAY)


def _responder(hierarchy: Hierarchy) -> Responder:
    return responderForZones(hierarchy.zones.values())


def _status(resolver: ValidatingResolver) -> Status:
    answer = resolve(resolver, _NAME, "A")
    return answer.status


def _state(tracker: TrustAnchorTracker, key: SigningKey) -> KeyState | None:
    tracked = tracker.find(key.dnskey)
    return None if tracked is None else tracked.state


def _keyLines(path: Path) -> list[str]:
    """
    The key lines of a state file (without the fetch times of its header).
    """
    return [line for line in path.read_text().splitlines() if not line.startswith(";")]


@pytest.fixture
def root(tmp_path: Path) -> Root:
    return Root(tmp_path)


def test_rollover(root: Root) -> None:
    """
    Across a whole KSK rollover (new key published, hold-down, signing switched, old key
    revoked, then removed), a validator with a state file validates every answer, and so
    does one restarted from the file mid-rollover; one with only the configured anchor
    fails at the switch, bogus with EDE 9 and a reason that names the anchor.
    """
    tracker = root.tracker()
    tracking = root.resolver(tracker)
    static = root.resolver()
    assert _status(tracking) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.VALID
    assert tracker.seedDS == ()

    # The new KSK is published, the DNSKEY RRset still signed by the old one.
    root.publish([root.old, root.new], [root.old])
    root.advance(1)
    assert _status(tracking) is Status.SECURE
    assert _status(static) is Status.SECURE
    assert _state(tracker, root.new) is KeyState.ADDPEND

    # Restarted mid-rollover, from the state file.
    tracker = root.tracker()
    tracking.stopRefreshing()
    tracking = root.resolver(tracker)
    assert _state(tracker, root.new) is KeyState.ADDPEND
    for _ in range(3):
        root.advance(11)
        assert _status(tracking) is Status.SECURE
    assert _state(tracker, root.new) is KeyState.VALID

    # Signing moves to the new KSK.
    root.publish([root.old, root.new], [root.new])
    root.advance(1)
    assert _status(tracking) is Status.SECURE
    answer = resolve(static, _NAME, "A")
    assert answer.status is Status.BOGUS
    assert answer.ede == EDE.DNSKEY_MISSING
    assert f"no key of the trust anchor of . (DS {root.old.keyTag}/13/2) signed its DNSKEY " in (
        answer.reason
    )

    # The old KSK is revoked, signing the RRset itself.
    revoked = revokedKey(root.old)
    root.publish([revoked, root.new], [root.new, revoked])
    root.advance(1)
    assert _status(tracking) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.REVOKED
    assert tracker.trustedKeys() == (root.new.dnskey,)
    answer = resolve(static, _NAME, "A")
    assert answer.status is Status.BOGUS
    assert answer.ede == EDE.DNSKEY_MISSING
    assert "no DNSKEY of . matches its trust anchor" in answer.reason

    # Restarted once more, then the revoked key is removed.
    tracking.stopRefreshing()
    tracker = root.tracker()
    tracking = root.resolver(tracker)
    root.publish([root.new], [root.new])
    for _ in range(4):
        root.advance(10)
        assert _status(tracking) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.REMOVED
    assert _status(static) is Status.BOGUS
    tracking.stopRefreshing()


def test_stateFileFormat(root: Root) -> None:
    """
    The state file is Unbound's C{auto-trust-anchor-file} format: a header, then each key
    with its state, pending count and last change; it reads back to the same state.
    """
    tracker = root.tracker()
    text = root.statePath.read_text()
    assert text.startswith("; autotrust trust anchor file\n;;id: . 1\n")
    assert "\tIN\tDS\t" in text and ";;state=2 [  VALID  ]" in text
    resolver = root.resolver(tracker)
    root.publish([root.old, root.new], [root.old])
    assert _status(resolver) is Status.SECURE
    resolver.stopRefreshing()
    text = root.statePath.read_text()
    assert "\tIN\tDS\t" not in text
    assert f";{{id = {root.old.keyTag} (ksk), size = 512b}} ;;state=2 [  VALID  ]" in text
    assert f";{{id = {root.new.keyTag} (ksk), size = 512b}} ;;state=1 [ ADDPEND ] ;;count=1" in (
        text
    )
    assert ";;query_interval: 3600\n" in text
    again = TrustAnchorTracker.open(root.statePath, TrustAnchors.builtin())
    assert again.zone == _ROOT
    assert again.keys == tracker.keys
    assert again.nextProbe == tracker.nextProbe
    assert not list(root.statePath.parent.glob("*.tmp"))


def test_seededFromDNSKEYLines(root: Root, tmp_path: Path) -> None:
    """
    A file of plain DNSKEY lines, without the header, is read as trusted anchors to start
    from (as Unbound reads one).
    """
    root.statePath.write_text(f". 3600 IN DNSKEY {root.old.dnskey.to_text()}\n")
    tracker = root.tracker()
    assert tracker.trustedKeys() == (root.old.dnskey,)
    resolver = root.resolver(tracker)
    assert _status(resolver) is Status.SECURE
    resolver.stopRefreshing()


def test_holdDownNotOver(root: Root) -> None:
    """
    A new key seen for less than the add hold-down is not trusted: when signing moves to it
    before then, answers are bogus.
    """
    tracker = root.tracker()
    resolver = root.resolver(tracker)
    root.publish([root.old, root.new], [root.old])
    for _ in range(3):
        root.advance(9)
        assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.new) is KeyState.ADDPEND
    assert root.new.dnskey not in tracker.trustedKeys()
    root.publish([root.old, root.new], [root.new])
    root.advance(2)  # 29 days after it was first seen
    answer = resolve(resolver, _NAME, "A")
    assert answer.status is Status.BOGUS
    assert answer.ede == EDE.DNSKEY_MISSING
    assert f"no key of the trust anchor of . (DNSKEY {root.old.keyTag}/13) signed" in answer.reason
    assert "state file" not in answer.reason
    resolver.stopRefreshing()


def test_holdDownNeedsTwoSightings(root: Root) -> None:
    """
    A key seen once, then again only after the hold-down, is trusted on that second sight;
    the hold-down alone, without a second proven RRset listing it, is not enough.
    """
    tracker = root.tracker(addHoldDown=10 * _DAY)
    resolver = root.resolver(tracker)
    resolver.stopRefreshing()
    root.publish([root.old, root.new], [root.old])
    root.advance(1)
    assert _status(resolver) is Status.SECURE
    assert tracker.find(root.new.dnskey) is not None
    root.advance(20)
    assert _state(tracker, root.new) is KeyState.ADDPEND
    assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.new) is KeyState.VALID


def test_disappearsDuringHoldDown(root: Root) -> None:
    """
    A key that disappears during its hold-down is forgotten: when it returns, the hold-down
    starts again.
    """
    tracker = root.tracker()
    resolver = root.resolver(tracker)
    root.publish([root.old, root.new], [root.old])
    root.advance(1)
    assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.new) is KeyState.ADDPEND
    root.publish([root.old], [root.old])
    root.advance(10)
    assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.new) is None
    assert str(root.new.keyTag) not in root.statePath.read_text()
    root.publish([root.old, root.new], [root.old])
    root.advance(10)
    assert _status(resolver) is Status.SECURE
    root.advance(25)  # 35 days after first seen, 25 after it came back
    assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.new) is KeyState.ADDPEND
    resolver.stopRefreshing()


def test_revokeNotSelfSigned(root: Root) -> None:
    """
    A key published with the REVOKE bit but not signing the RRset itself is not revoked.
    """
    tracker = root.tracker(addHoldDown=10 * _DAY)
    resolver = root.resolver(tracker)
    root.publish([root.old, root.new], [root.old])
    for _ in range(3):
        root.advance(6)
        assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.new) is KeyState.VALID
    root.publish([revokedKey(root.old), root.new], [root.new])
    root.advance(1)
    assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.MISSING
    assert root.old.dnskey in tracker.trustedKeys()
    resolver.stopRefreshing()


def test_missingKeyRetired(root: Root) -> None:
    """
    A key that disappeared without being revoked stays trusted for the keep-missing time
    while another key is valid, then is marked removed (in the state file too), and is never
    trusted again, even when it comes back; with C{keepMissing=None} it stays trusted.
    """
    tracker = root.tracker(addHoldDown=10 * _DAY, keepMissing=40 * _DAY)
    keeping = TrustAnchorTracker.fromText(
        root.statePath.read_text(),
        root.statePath.with_suffix(".keep"),
        addHoldDown=10 * _DAY,
        keepMissing=None,
    )
    resolver = root.resolver(tracker)
    kept = root.resolver(keeping)
    root.publish([root.old, root.new], [root.old])
    for _ in range(3):
        root.advance(6)
        assert _status(resolver) is _status(kept) is Status.SECURE
    assert _state(tracker, root.new) is _state(keeping, root.new) is KeyState.VALID
    root.publish([root.new], [root.new])
    root.advance(1)
    assert _status(resolver) is _status(kept) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.MISSING
    for _ in range(3):
        root.advance(13)
        assert _status(resolver) is _status(kept) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.MISSING  # 39 days
    root.advance(2)
    assert _status(resolver) is _status(kept) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.REMOVED
    assert root.old.dnskey not in tracker.trustedKeys()
    assert "state=5 [ REMOVED ]" in " ".join(_keyLines(root.statePath))
    assert _state(keeping, root.old) is KeyState.MISSING
    assert root.old.dnskey in keeping.trustedKeys()
    root.publish([root.old], [root.old])
    root.advance(2)
    assert _status(resolver) is Status.BOGUS
    assert _status(kept) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.REMOVED
    resolver.stopRefreshing()
    kept.stopRefreshing()


def test_revokedNeverTrustedAgain(root: Root) -> None:
    """
    Once revoked, a key is never trusted again, even when published without the REVOKE bit
    for longer than the hold-down, and it stays revoked while published.
    """
    tracker = root.tracker(addHoldDown=10 * _DAY)
    resolver = root.resolver(tracker)
    root.publish([root.old, root.new], [root.old])
    for _ in range(3):
        root.advance(6)
        assert _status(resolver) is Status.SECURE
    revoked = revokedKey(root.old)
    root.publish([revoked, root.new], [root.new, revoked])
    root.advance(1)
    assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.REVOKED
    # The old key comes back, unrevoked, listed in an RRset the new key proves...
    root.publish([root.old, root.new], [root.new])
    for _ in range(4):
        root.advance(10)
        assert _status(resolver) is Status.SECURE
    assert _state(tracker, root.old) is KeyState.REVOKED
    # ... then signing alone.
    root.publish([root.old, root.new], [root.old])
    for _ in range(4):
        root.advance(10)
        answer = resolve(resolver, _NAME, "A")
        assert answer.status is Status.BOGUS
    assert _state(tracker, root.old) is KeyState.REVOKED
    assert tracker.trustedKeys() == (root.new.dnskey,)
    resolver.stopRefreshing()


def test_everyKeyRevoked(root: Root) -> None:
    """
    When the only trusted key revokes itself, nothing is trusted any more: every answer is
    bogus, saying so, and the state file is marked as Unbound marks it.
    """
    tracker = root.tracker()
    resolver = root.resolver(tracker)
    assert _status(resolver) is Status.SECURE
    revoked = revokedKey(root.old)
    root.publish([revoked, root.new], [root.new, revoked])
    root.advance(1)
    answer = resolve(resolver, _NAME, "A")
    assert answer.status is Status.BOGUS
    assert "every trust anchor of . has been revoked" in answer.reason
    assert ";;REVOKED\n" in root.statePath.read_text()
    again = root.tracker()
    assert again.allRevoked
    resolver.stopRefreshing()


def test_unsignedByTrustedKeyChangesNothing(root: Root) -> None:
    """
    A DNSKEY RRset that no trusted key signed (an attacker's, listing its own keys and
    revoking the trusted one without its private key) changes nothing in the state.
    """
    tracker = root.tracker()
    resolver = root.resolver(tracker)
    assert _status(resolver) is Status.SECURE
    before = _keyLines(root.statePath)
    attacker = SigningKey.generate(flags=KSK_FLAGS)
    fakeRevoked = SigningKey(attacker.privateKey, revokedKey(root.old).dnskey)
    root.publish([fakeRevoked, attacker, root.new], [attacker, fakeRevoked])
    root.advance(1)
    answer = resolve(resolver, _NAME, "A")
    assert answer.status is Status.BOGUS
    assert _keyLines(root.statePath) == before
    assert tracker.trustedKeys() == (root.old.dnskey,)
    assert _state(tracker, attacker) is None
    resolver.stopRefreshing()


def test_keyCountBound(root: Root) -> None:
    """
    A proven DNSKEY RRset listing more new keys than L{MAX_TRACKED_KEYS} gets only as many
    tracked.
    """
    tracker = root.tracker()
    resolver = root.resolver(tracker)
    many = [SigningKey.generate(flags=KSK_FLAGS) for _ in range(MAX_TRACKED_KEYS + 4)]
    root.publish([root.old, *many], [root.old])
    assert _status(resolver) is Status.SECURE
    assert len(tracker.keys) == MAX_TRACKED_KEYS
    assert _state(tracker, root.old) is KeyState.VALID
    resolver.stopRefreshing()


def test_activeRefresh(root: Root) -> None:
    """
    A resolver with a tracker fetches the DNSKEY RRset again at the RFC 5011 refresh
    interval (here an hour: half the DNSKEY TTL, but at least an hour) without lookups, so
    an idle process follows a rollover too.
    """
    tracker = root.tracker(addHoldDown=2 * 3600)
    resolver = root.resolver(tracker)
    assert _status(resolver) is Status.SECURE
    assert tracker.queryInterval == 3600
    root.publish([root.old, root.new], [root.old])
    for _ in range(4):
        root.clock.advance(3600)
    assert _state(tracker, root.new) is KeyState.VALID
    asked = len(root.querier.queries)
    resolver.stopRefreshing()
    root.clock.advance(10 * 3600)
    assert len(root.querier.queries) == asked
    assert not root.clock.getDelayedCalls()


def test_refreshFailureRetries(root: Root) -> None:
    """
    A refresh whose RRset cannot be proven is counted in the state file, and retried after
    the retry time.
    """
    tracker = root.tracker()
    resolver = root.resolver(tracker)
    assert _status(resolver) is Status.SECURE
    attacker = SigningKey.generate(flags=KSK_FLAGS)
    root.publish([attacker], [attacker])
    root.clock.advance(tracker.queryInterval)
    assert tracker.queryFailed == 1
    assert ";;query_failed: 1\n" in root.statePath.read_text()
    [call] = root.clock.getDelayedCalls()
    assert call.getTime() == root.clock.seconds() + tracker.retryTime
    resolver.stopRefreshing()


def test_corruptStateFile(root: Root) -> None:
    """
    A state file that does not parse is a clear error naming the file and the line.
    """
    root.statePath.write_text(";;id: . 1\n. 3600 IN DNSKEY 257 3 13 !!!notbase64 ;;state=2\n")
    with pytest.raises(TrustAnchorStateError) as caught:
        root.tracker()
    assert str(caught.value).startswith(f"trust anchor state file {root.statePath}: line 2: ")
    root.statePath.write_text(f";;id: . 1\n. 3600 IN DNSKEY {root.old.dnskey.to_text()}\n")
    with pytest.raises(TrustAnchorStateError, match="line 2: no ;;state= annotation"):
        root.tracker()
    root.statePath.write_text(";;id: . 1\n;;id: example. 1\n")
    with pytest.raises(TrustAnchorStateError, match=r"line 2: ;;id: example\.: a state file holds"):
        root.tracker()
    root.statePath.write_text(";;id: . 1\n;;last_queried: 99999999999\n")
    with pytest.raises(TrustAnchorStateError, match="line 2: 99999999999 is out of range"):
        root.tracker()
    root.statePath.write_text("; nothing\n")
    with pytest.raises(TrustAnchorStateError, match="no trust anchor in the file"):
        root.tracker()
    root.statePath.write_bytes(b"\xff\xfe")
    with pytest.raises(TrustAnchorStateError, match="not UTF-8"):
        root.tracker()


def test_stateFileIsADirectory(root: Root) -> None:
    """
    A state file path naming a directory is a clear error.
    """
    root.statePath.mkdir()
    with pytest.raises(TrustAnchorStateError, match="Is a directory"):
        root.tracker()


def test_stateFileInMissingDirectory(root: Root, tmp_path: Path) -> None:
    """
    A state file whose directory does not exist cannot be written: a clear error.
    """
    with pytest.raises(TrustAnchorStateError, match="cannot write: No such file or directory"):
        TrustAnchorTracker.open(tmp_path / "absent" / "root.state", root.anchors)


def test_writeFailureKeepsState(root: Root) -> None:
    """
    When the state cannot be written, the change does not take effect and the lookup
    fails, naming the file.
    """
    tracker = root.tracker()
    resolver = root.resolver(tracker)
    resolver.stopRefreshing()
    root.publish([root.old, root.new], [root.old])
    tracker.path = root.statePath.parent / "absent" / "root.state"
    results: list[object] = []
    resolver.lookup(_NAME, "A").addBoth(results.append)
    failure = results[0]
    assert isinstance(getattr(failure, "value", None), TrustAnchorStateError)
    assert tracker.find(root.new.dnskey) is None


def test_seedNamesOneZone(tmp_path: Path) -> None:
    """
    A state file tracks one zone: seeding it from anchors of several zones is refused.
    """
    anchors = TrustAnchors.fromText(
        ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
        "example. IN DS 1 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
    )
    with pytest.raises(TrustAnchorStateError, match="one zone"):
        TrustAnchorTracker.open(tmp_path / "state", anchors)


def test_defaults() -> None:
    """
    The hold-downs are RFC 5011's 30 days; a missing key is kept a year, as Unbound's
    C{keep-missing}.
    """
    assert ADD_HOLD_DOWN == REMOVE_HOLD_DOWN == 30 * _DAY
    assert KEEP_MISSING == 366 * _DAY


def test_unusableSeedRefused(root: Root) -> None:
    """
    A state file whose anchors the resolver can never use (here a DS of digest type 3) is
    refused when a resolver is made with its tracker, naming the file: everything below the
    zone would be insecure.
    """
    ds = next(iter(root.hierarchy.trustAnchor))
    root.statePath.write_text(f". IN DS {ds.key_tag} {ds.algorithm} 3 {ds.digest.hex()}\n")
    tracker = root.tracker()
    with pytest.raises(TrustAnchorStateError) as caught:
        root.resolver(tracker)
    assert str(caught.value).startswith(
        f"trust anchor state file {root.statePath}: every trust anchor of . uses an "
        "unsupported digest type 3 ("
    )


def _writtenState(root: Root) -> tuple[str, str]:
    """
    The header and the key line of the state file of a tracker that has seen the root's
    key once.
    """
    tracker = root.tracker()
    resolver = root.resolver(tracker)
    assert _status(resolver) is Status.SECURE
    resolver.stopRefreshing()
    text = root.statePath.read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith(";"))
    [keyLine] = _keyLines(root.statePath)
    return header, keyLine + "\n"


def test_keyListedTwiceRefused(root: Root) -> None:
    """
    A state file listing one key twice (revoked and valid, say) is refused, naming the line:
    which state holds cannot be known.
    """
    header, keyLine = _writtenState(root)
    revokedLine = keyLine.replace(
        root.old.dnskey.to_text(), revokedKey(root.old).dnskey.to_text()
    ).replace(";;state=2 [  VALID  ]", ";;state=4 [ REVOKED ]")
    lines = len(header.splitlines())
    root.statePath.write_text(header + revokedLine + keyLine)
    with pytest.raises(TrustAnchorStateError) as caught:
        root.tracker()
    assert str(caught.value) == (
        f"trust anchor state file {root.statePath}: line {lines + 2}: DNSKEY "
        f"{root.old.keyTag}/13 is listed twice, revoked or not (first on line {lines + 1})"
    )


def test_revokedKeyTrustedRefused(root: Root) -> None:
    """
    A key with the REVOKE bit in a trusted state (or in a plain DNSKEY line, trusted) is
    refused, naming the line: a revoked key is never a trust anchor.
    """
    header, keyLine = _writtenState(root)
    revoked = revokedKey(root.old).dnskey
    root.statePath.write_text(
        header + keyLine.replace(root.old.dnskey.to_text(), revoked.to_text())
    )
    with pytest.raises(TrustAnchorStateError, match="REVOKE bit but state VALID"):
        root.tracker()
    root.statePath.write_text(f". 3600 IN DNSKEY {revoked.to_text()}\n")
    with pytest.raises(TrustAnchorStateError, match=r"line 1: DNSKEY .* has the REVOKE bit"):
        root.tracker()


def test_nothingTrustedRefused(root: Root) -> None:
    """
    A state file cut after its header, or left with keys none of which is trusted and not
    marked as revoked, is refused, and left as it is (not marked revoked): validating from
    it would make every answer bogus for a wrong reason.
    """
    header, keyLine = _writtenState(root)
    root.statePath.write_text(header)
    with pytest.raises(TrustAnchorStateError, match="no trust anchor in the file"):
        root.tracker()
    pending = header + keyLine.replace(";;state=2 [  VALID  ]", ";;state=1 [ ADDPEND ]")
    root.statePath.write_text(pending)
    with pytest.raises(TrustAnchorStateError) as caught:
        root.tracker()
    assert str(caught.value) == (
        f"trust anchor state file {root.statePath}: no key of the file is trusted (state "
        "ADDPEND) and it is not marked ;;REVOKED: overwrite it with trust anchors to start again"
    )
    assert root.statePath.read_text() == pending


def test_writtenOnlyWhenChanged(root: Root, monkeypatch: pytest.MonkeyPatch) -> None:
    """
    A fetch of the DNSKEY RRset that changes nothing (as every lookup does when an upstream
    sets its TTL to 0) does not rewrite the state file; a new key, a revocation, and fetch
    times due for saving (once the file's next probe time has come) do.
    """
    writes: list[str] = []
    monkeypatch.setattr(
        "txdane.validation.autotrust.writeState", lambda path, text: writes.append(text)
    )
    tracker = root.tracker(addHoldDown=2 * 3600)
    resolver = root.resolver(tracker)
    resolver.stopRefreshing()

    def fetches(count: int) -> None:
        for _ in range(count):
            resolver.clearCache()
            assert _status(resolver) is Status.SECURE

    fetches(1)
    del writes[:]
    fetches(20)
    assert writes == []
    root.publish([root.old, root.new], [root.old])
    fetches(20)
    assert len(writes) == 2  # the new key, then its second sighting
    assert _state(tracker, root.new) is KeyState.ADDPEND
    assert tracker.queryInterval == 3600
    root.clock.advance(3600)
    fetches(5)
    assert len(writes) == 3  # the fetch times, due
    assert f";;last_queried: {int(root.clock.seconds())} " in writes[-1]
    root.clock.advance(3600)
    fetches(5)
    assert len(writes) == 4  # the new key trusted
    assert _state(tracker, root.new) is KeyState.VALID
    revoked = revokedKey(root.old)
    root.publish([revoked, root.new], [root.new, revoked])
    fetches(20)
    assert len(writes) == 5  # the old key revoked (its hold-down restarts unwritten)
    assert _state(tracker, root.old) is KeyState.REVOKED
    assert ";;state=4 [ REVOKED ]" in writes[-1]


def test_refreshIntervalAcrossTheSerialWrap(root: Root) -> None:
    """
    The refresh interval counts the time to the signatures' expiry in serial number
    arithmetic (RFC 4034 section 3.1.5): after the 32-bit wrap of 2106, a signature expiring
    in 10 days still gives 5 days, not the hour a negative difference gave.
    """
    tracker = root.tracker()
    now = (1 << 32) - 2 * _DAY
    expiration = (now + 10 * _DAY) % (1 << 32)
    wrapped = dns.rdata.from_text(
        "IN", "RRSIG", f"DNSKEY 13 0 2592000 {expiration} {now - _DAY} 1 . AAAA"
    )
    tracker._setTimes(86400 * 30, [wrapped], now)  # type: ignore[list-item]
    assert tracker.queryInterval == 5 * _DAY
    assert tracker.nextProbe == now + 5 * _DAY

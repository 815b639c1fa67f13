"""
Tests for L{txdane.validation.anchors}.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import cast

import dns.dnssec
import dns.name
import dns.rrset
import pytest
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from twisted.internet.task import Clock

from tests.validation.fakes import EngineQuerier, FailingQuerier, resolve
from txdane.errors import TrustAnchorStateError
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy, revokedKey
from txdane.transport import DNSError
from txdane.validation import (
    BUILTIN_ROOT_ANCHORS,
    AlgorithmPolicy,
    TrustAnchor,
    TrustAnchorError,
    TrustAnchors,
    TrustAnchorTracker,
    ValidatingResolver,
)
from txdane.validation.anchorstate import KeyState

#: An RFC 7958 file as IANA publishes it (three KSKs, one expired).
XML = (Path(__file__).resolve().parent.parent / "data" / "root-anchors.xml").read_bytes()

KEY = "example. IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4="


def test_builtin() -> None:
    anchors = TrustAnchors.builtin()
    [root] = anchors.anchors
    assert root.zone == dns.name.root
    assert sorted(ds.key_tag for ds in root.ds) == [20326, 38696]
    assert all(ds.algorithm == 8 and ds.digest_type == 2 for ds in root.ds)
    assert "20326" in BUILTIN_ROOT_ANCHORS


def test_xmlKeepsOnlyCurrentDigests() -> None:
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    [root] = TrustAnchors.fromXML(XML, now=now).anchors
    assert sorted(ds.key_tag for ds in root.ds) == [20326, 38696]
    assert root.ds == TrustAnchors.builtin().anchors[0].ds or set(root.ds) == set(
        TrustAnchors.builtin().anchors[0].ds
    )


def test_xmlBefore2024RolloverPublication() -> None:
    now = datetime.datetime(2018, 1, 1, tzinfo=datetime.timezone.utc)
    [root] = TrustAnchors.fromXML(XML, now=now).anchors
    assert sorted(ds.key_tag for ds in root.ds) == [19036, 20326]


@pytest.mark.parametrize(
    "data",
    [
        b"<notxml",
        b"<Other><Zone>.</Zone></Other>",
        XML.replace(b"2017-02-02", b"2099-02-02").replace(b"2024-07-18", b"2099-01-01"),
    ],
)
def test_xmlErrors(data: bytes) -> None:
    with pytest.raises(TrustAnchorError) as e:
        TrustAnchors.fromXML(data, now=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc))
    assert "\n" not in str(e.value)


def test_textDSAndDNSKEY() -> None:
    anchors = TrustAnchors.fromText("; comment\n" + BUILTIN_ROOT_ANCHORS + KEY + "\n")
    assert {a.zone.to_text() for a in anchors.anchors} == {".", "example."}
    example = anchors.forZone(dns.name.from_text("example."))
    assert example is not None and len(example.dnskeys) == 1 and not example.ds
    assert anchors.closest(dns.name.from_text("www.example.")) is example
    assert anchors.closest(dns.name.from_text("www.other.")).zone == dns.name.root  # type: ignore[union-attr]


def test_textRejectsOtherTypes() -> None:
    with pytest.raises(TrustAnchorError, match="only DS and DNSKEY"):
        TrustAnchors.fromText(". IN A 192.0.2.1\n")


def test_textSyntaxError() -> None:
    with pytest.raises(TrustAnchorError, match="cannot parse"):
        TrustAnchors.fromText(". IN DS nonsense\n")


def test_syntaxErrorNamesFileAndLine(tmp_path) -> None:
    """
    A line that does not parse is named by the file's path and its own line number, counting
    the comment and blank lines before it.
    """
    path = tmp_path / "root.anchor"
    path.write_text("; the root\n\n" + BUILTIN_ROOT_ANCHORS + "# next\n. IN DS 20326 8 x\n")
    with pytest.raises(TrustAnchorError) as e:
        TrustAnchors.fromFile(path)
    assert str(e.value) == f"trust anchors from {path}: cannot parse line 6: expecting an integer"
    assert "<string>" not in str(e.value)


def test_emptyText() -> None:
    with pytest.raises(TrustAnchorError, match="no trust anchor"):
        TrustAnchors.fromText("; nothing\n")


def test_files(tmp_path) -> None:
    xml = tmp_path / "root-anchors.xml"
    xml.write_bytes(XML)
    assert TrustAnchors.fromFile(xml).anchors[0].zone == dns.name.root
    text = tmp_path / "anchors"
    text.write_text(KEY + "\n")
    assert TrustAnchors.fromFile(text).anchors[0].zone == dns.name.from_text("example.")
    with pytest.raises(TrustAnchorError) as e:
        TrustAnchors.fromFile(tmp_path / "missing")
    assert str(e.value).startswith(f"trust anchors from {tmp_path / 'missing'}: ")


#: The test hierarchy, and its root's DS.
_HIERARCHY = buildHierarchy()
_ROOT_DS = next(iter(_HIERARCHY.trustAnchor))


def _ds(algorithm: int = _ROOT_DS.algorithm, digestType: int = _ROOT_DS.digest_type) -> str:
    return f". IN DS {_ROOT_DS.key_tag} {algorithm} {digestType} {_ROOT_DS.digest.hex()}"


@pytest.mark.parametrize(
    "text, why",
    [
        (_ds(digestType=3), "digest type 3"),
        (_ds(algorithm=5), "algorithm 5"),
        (_ds(algorithm=7), "algorithm 7"),
        (_ds(algorithm=200), "algorithm 200"),
        (_ds(algorithm=5) + "\n" + _ds(algorithm=7, digestType=3), "algorithm 5, 7"),
        (". IN DNSKEY 257 3 5 AwEAAag=", "algorithm 5"),
        (_ds(digestType=3) + "\n. IN DNSKEY 257 3 7 AwEAAag=", "digest type 3 or algorithm 7"),
    ],
    ids=["digest3", "alg5", "alg7", "alg200", "alg5and7", "dnskeyAlg5", "digest3dnskeyAlg7"],
)
def test_unusableAnchorRefused(text: str, why: str) -> None:
    """
    A resolver is not made from anchors of a zone that it can never use, each with an
    algorithm or DS digest type its policy does not validate (everything under the zone
    would be insecure): a one-line error names the zone and what is unsupported.
    """
    anchors = TrustAnchors.fromText(text)
    with pytest.raises(TrustAnchorError) as caught:
        ValidatingResolver(FailingQuerier(DNSError("unused")), trustAnchors=anchors)
    assert str(caught.value).startswith(
        f"trust anchors from <anchors>: every trust anchor of . uses an unsupported {why} "
        "(supported: algorithms 8, 10, 13, 14, 15, 16; DS digest types 1, 2, 4)"
    )
    assert "\n" not in str(caught.value)


def test_oneUsableAnchorIsEnough() -> None:
    """
    A zone with one anchor the policy validates is used, whatever its other anchors; an
    anchor of algorithm 5 is usable by a policy that validates it.
    """
    hierarchy = _HIERARCHY
    anchors = TrustAnchors.fromText(_ds(digestType=3) + "\n" + _ds() + "\n" + _ds(algorithm=5))
    resolver = ValidatingResolver(
        EngineQuerier.forHierarchy(hierarchy), trustAnchors=anchors, clock=_clockAt(hierarchy)
    )
    assert resolve(resolver, "www.example.test.", "A").status is Status.SECURE
    sha1 = TrustAnchors.fromText(_ds(algorithm=5))
    ValidatingResolver(
        FailingQuerier(DNSError("unused")),
        trustAnchors=sha1,
        policy=AlgorithmPolicy.withSHA1Algorithms(),
    )
    sha1.checkUsable(AlgorithmPolicy.withSHA1Algorithms())
    with pytest.raises(TrustAnchorError, match=r"^trust anchors from f: every trust anchor of \."):
        sha1.checkUsable(AlgorithmPolicy(), "f")


def test_revokedDNSKEYRefused(tmp_path: Path) -> None:
    """
    A DNSKEY with the REVOKE bit is never a trust anchor (RFC 5011 section 2.1): given as
    one, from text, a file, RRsets or directly, it is refused, named.
    """
    old, _ = _HIERARCHY.keys[dns.name.root]
    revoked = revokedKey(old).dnskey
    line = f". IN DNSKEY {revoked.to_text()}"
    why = (
        f". DNSKEY {dns.dnssec.key_id(revoked)}/13 has the REVOKE bit (flags 385): a revoked key"
        " is never a trust anchor (RFC 5011 section 2.1)"
    )
    with pytest.raises(TrustAnchorError) as caught:
        TrustAnchors.fromText(f". IN DNSKEY {old.dnskey.to_text()}\n{line}\n")
    assert str(caught.value) == f"trust anchors from <text>: {why}"
    path = tmp_path / "anchor"
    path.write_text(line + "\n")
    with pytest.raises(TrustAnchorError, match=f"^trust anchors from {path}: "):
        TrustAnchors.fromFile(path)
    rrset = dns.rrset.from_rdata(dns.name.root, 3600, revoked)
    with pytest.raises(TrustAnchorError, match="has the REVOKE bit"):
        TrustAnchors.fromRRsets([rrset])
    with pytest.raises(TrustAnchorError, match="has the REVOKE bit"):
        TrustAnchor(dns.name.root, (), (revoked,))


#: The test hierarchy's root KSK.
_ROOT_KSK = _HIERARCHY.keys[dns.name.root][0].dnskey


def _stateLine(key: DNSKEY, state: KeyState = KeyState.VALID) -> str:
    """
    The line of C{key} in a state file, in C{state}.
    """
    return (
        f".\t3600\tIN\tDNSKEY\t{key.to_text()} ;;state={int(state)} [{state.name}] "
        ";;count=0 ;;lastchange=0"
    )


@pytest.mark.parametrize(
    "flags, protocol, why",
    [
        (
            0,
            3,
            "lacks the ZONE flag (flags 0; 257 for a KSK, 256 for a ZSK): a key without it "
            "verifies no signature, so it is never a trust anchor (RFC 4035 section 5.3.1)",
        ),
        (
            1,
            3,
            "lacks the ZONE flag (flags 1; 257 for a KSK, 256 for a ZSK): a key without it "
            "verifies no signature, so it is never a trust anchor (RFC 4035 section 5.3.1)",
        ),
        (
            257,
            2,
            "has protocol 2, not 3: a key of another protocol verifies no signature, so it is "
            "never a trust anchor (RFC 4035 section 5.3.1)",
        ),
    ],
    ids=["flags0", "sepWithoutZone", "protocol2"],
)
def test_dnskeyThatVerifiesNothingRefused(
    tmp_path: Path, flags: int, protocol: int, why: str
) -> None:
    """
    A DNSKEY without the ZONE flag, or of a protocol other than 3, verifies no signature
    (RFC 4035 section 5.3.1), so it is never a trust anchor: given as one, from text, a
    file, RRsets, directly, or as a trusted key of a state file, it is refused, named by its
    zone and key tag.
    """
    key = cast(DNSKEY, _ROOT_KSK.replace(flags=flags, protocol=protocol))
    line = f". IN DNSKEY {key.to_text()}"
    named = f". DNSKEY {dns.dnssec.key_id(key)}/13 {why}"
    with pytest.raises(TrustAnchorError) as caught:
        TrustAnchors.fromText(f". IN DNSKEY {_ROOT_KSK.to_text()}\n{line}\n")
    assert str(caught.value) == f"trust anchors from <text>: {named}"
    assert "\n" not in str(caught.value)
    path = tmp_path / "anchor"
    path.write_text(line + "\n")
    with pytest.raises(TrustAnchorError) as caught:
        TrustAnchors.fromFile(path)
    assert str(caught.value) == f"trust anchors from {path}: {named}"
    rrset = dns.rrset.from_rdata(dns.name.root, 3600, key)
    with pytest.raises(TrustAnchorError) as caught:
        TrustAnchors.fromRRsets([rrset])
    assert str(caught.value) == f"trust anchors from <rrsets>: {named}"
    with pytest.raises(TrustAnchorError) as caught:
        TrustAnchor(dns.name.root, (), (key,))
    assert str(caught.value) == f"trust anchors from <anchors>: {named}"
    state = tmp_path / "root.state"
    for text, number in [
        (f";;id: . 1\n{_stateLine(_ROOT_KSK)}\n{_stateLine(key)}\n", 3),
        (f";;id: . 1\n{_stateLine(_ROOT_KSK)}\n{_stateLine(key, KeyState.MISSING)}\n", 3),
        (f". 3600 IN DNSKEY {key.to_text()}\n", 1),
    ]:
        with pytest.raises(TrustAnchorStateError) as caught:
            TrustAnchorTracker.fromText(text, state)
        assert str(caught.value) == f"trust anchor state file {state}: line {number}: {named}"


@pytest.mark.parametrize("flags", [257, 256], ids=["ksk", "zsk"])
def test_zoneKeyAnchorsAccepted(tmp_path: Path, flags: int) -> None:
    """
    A DNSKEY with the ZONE flag and protocol 3 is an anchor, with the SEP flag (a KSK) or
    without it (a ZSK), from text, a file, RRsets, directly, or a state file.
    """
    key = cast(DNSKEY, _ROOT_KSK.replace(flags=flags))
    text = f". IN DNSKEY {key.to_text()}\n"
    path = tmp_path / "anchor"
    path.write_text(text)
    rrset = dns.rrset.from_rdata(dns.name.root, 3600, key)
    for anchors in [
        TrustAnchors.fromText(text),
        TrustAnchors.fromFile(path),
        TrustAnchors.fromRRsets([rrset]),
        TrustAnchors((TrustAnchor(dns.name.root, (), (key,)),)),
    ]:
        assert anchors.anchors == (TrustAnchor(dns.name.root, (), (key,)),)
    tracker = TrustAnchorTracker.fromText(f";;id: . 1\n{_stateLine(key)}\n", tmp_path / "state")
    assert tracker.trustedKeys() == (key,)
    assert tracker.anchor() == TrustAnchor(dns.name.root, (), (key,))


def test_untrustedStateKeyWithoutZoneFlagRead(tmp_path: Path) -> None:
    """
    Only the trusted keys of a state file are anchors: a pending or revoked key without the
    ZONE flag is read, and not trusted. A DNSKEY RRset the tracker observes may hold keys
    without the ZONE flag: they are not tracked, and refuse nothing.
    """
    zoneless = cast(DNSKEY, _ROOT_KSK.replace(flags=0))
    other = cast(DNSKEY, _HIERARCHY.keys[dns.name.root][1].dnskey.replace(flags=1))
    text = (
        f";;id: . 1\n{_stateLine(_ROOT_KSK)}\n{_stateLine(zoneless, KeyState.ADDPEND)}\n"
        f"{_stateLine(other, KeyState.REMOVED)}\n"
    )
    tracker = TrustAnchorTracker.fromText(text, tmp_path / "state")
    assert tracker.trustedKeys() == (_ROOT_KSK,)
    assert [k.state for k in tracker.keys] == [
        KeyState.VALID,
        KeyState.ADDPEND,
        KeyState.REMOVED,
    ]
    rrset = dns.rrset.from_rdata(
        dns.name.root, 3600, _ROOT_KSK, zoneless, _ROOT_KSK.replace(protocol=2)
    )
    tracker.observe(rrset, [], _HIERARCHY.now)
    assert tracker.anchor() == TrustAnchor(dns.name.root, (), (_ROOT_KSK,))
    assert [k.dnskey for k in tracker.keys] == [_ROOT_KSK, other]


def _clockAt(hierarchy: Hierarchy) -> Clock:
    clock = Clock()
    clock.advance(hierarchy.now)
    return clock

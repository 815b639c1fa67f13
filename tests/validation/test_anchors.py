"""
Tests for L{txdane.validation.anchors}.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import dns.name
import pytest

from txdane.validation import BUILTIN_ROOT_ANCHORS, TrustAnchorError, TrustAnchors

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

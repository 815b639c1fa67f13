"""
Fuzz trust-anchor files: DS and DNSKEY lines, and RFC 7958 XML. Either gives anchors or a
L{TrustAnchorError} (with a message), never another exception; and anchors round-trip:
written out as DS and DNSKEY lines and read again, they are the same anchors (the same
zones, each with the same DS and DNSKEY records).

    python fuzz/trust_anchors.py -runs=100000
"""

from __future__ import annotations

import datetime
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.validation import TrustAnchorError, TrustAnchors

_XML = (Path(__file__).resolve().parent.parent / "tests" / "data" / "root-anchors.xml").read_bytes()
_TEXT = (
    b". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
    b"; a comment\n# another\n"
    b"example. IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n"
)
_NOW = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
_PATH = Path(tempfile.mkdtemp(prefix="fuzz-anchors-"), "anchors")
_SEEDS = [
    _XML,
    _TEXT,
    b". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n",
    b"example.test. 300 IN DS 1 13 2 "
    + b"ab" * 32
    + b"\nexample.test. IN DS 2 13 4 "
    + b"cd" * 48
    + b"\nother.test. IN DNSKEY 256 3 13 "
    + b"A" * 88
    + b"\n",
    b"\\046.example. IN DNSKEY 257 3 8 AwEAAa==\n",
]


def render(anchors: TrustAnchors) -> str:
    """
    C{anchors} as DS and DNSKEY lines with absolute owners, the text L{TrustAnchors.fromText}
    reads.
    """
    lines = []
    for anchor in anchors.anchors:
        owner = anchor.zone.to_text()
        lines += [f"{owner} IN DS {ds.to_text()}" for ds in anchor.ds]
        lines += [f"{owner} IN DNSKEY {key.to_text()}" for key in anchor.dnskeys]
    return "\n".join(lines) + "\n"


def _value(anchors: TrustAnchors) -> dict[object, tuple[frozenset[object], frozenset[object]]]:
    """
    What two equal sets of anchors share: per zone, the DS and DNSKEY records as sets.
    """
    out: dict[object, tuple[frozenset[object], frozenset[object]]] = {}
    for anchor in anchors.anchors:
        assert anchor.zone not in out, f"two anchors for {anchor.zone}"
        out[anchor.zone] = (frozenset(anchor.ds), frozenset(anchor.dnskeys))
    return out


def testOneInput(data: bytes) -> str:
    try:
        if data[:1] == b"<":
            kind = "xml"
            anchors = TrustAnchors.fromXML(data, now=_NOW)
        else:
            kind = "text"
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                # Read from a file, as the options name them: an error, with its reason.
                kind = "bytes"
                _PATH.write_bytes(data)
                anchors = TrustAnchors.fromFile(_PATH)
            else:
                anchors = TrustAnchors.fromText(text)
    except TrustAnchorError as e:
        assert str(e).strip(), repr(e)
        return f"{kind}-error"
    assert anchors.anchors
    again = TrustAnchors.fromText(render(anchors))
    assert _value(again) == _value(anchors), (render(anchors), render(again))
    for anchor in anchors.anchors:
        assert anchors.closest(anchor.zone) == anchor
    return f"{kind}-anchors"


if __name__ == "__main__":
    main(testOneInput, _SEEDS)

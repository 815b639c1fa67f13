"""
Fuzz trust-anchor files: DS and DNSKEY lines, and RFC 7958 XML. Either gives anchors or a
L{TrustAnchorError}, never another exception.

    python fuzz/trust_anchors.py -runs=100000
"""

from __future__ import annotations

import datetime
import sys
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


def testOneInput(data: bytes) -> None:
    if data[:1] == b"<":
        try:
            TrustAnchors.fromXML(data, now=_NOW)
        except TrustAnchorError:
            pass
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        anchors = TrustAnchors.fromText(text)
    except TrustAnchorError:
        return
    for anchor in anchors.anchors:
        anchors.closest(anchor.zone)


if __name__ == "__main__":
    main(testOneInput, [_XML, _TEXT])

"""
Crashes the fuzz targets found, one test each.
"""

from __future__ import annotations

import pytest

from txdane.server.zones import ZoneError, loadZoneFile
from txdane.validation import TrustAnchorError, TrustAnchors


@pytest.mark.xfail(strict=True, reason="#14: LookupError escapes fromXML", raises=LookupError)
def test_xmlAnchorsUnknownEncoding() -> None:
    """
    An RFC 7958 document whose XML declaration names an encoding Python does not know is
    a L{TrustAnchorError}, not a C{LookupError} (found by C{fuzz/trust_anchors.py}).
    """
    with pytest.raises(TrustAnchorError, match="not an RFC 7958 document"):
        TrustAnchors.fromXML(b'<?xml version="1.0" encoding="UT0-8"?>\n<TrustAnchor/>')


def test_zoneFileNotUTF8(tmp_path) -> None:
    """
    A malformed zone file that is not UTF-8 is a L{ZoneError} naming the line, not a
    C{UnicodeDecodeError} from finding that line (found by C{fuzz/zone_file.py}).
    """
    path = tmp_path / "zone"
    path.write_bytes(b"@ IN S I\x10zN \xd3")
    with pytest.raises(ZoneError) as caught:
        loadZoneFile(path, "zone.test.")
    assert caught.value.line == 1

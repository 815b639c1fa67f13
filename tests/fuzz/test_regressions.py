"""
Crashes the fuzz targets found, one test each.
"""

from __future__ import annotations

import pytest

from txdane.server.zones import ZoneError, loadZoneFile
from txdane.validation import TrustAnchorError, TrustAnchors


@pytest.mark.parametrize("encoding", ["UT0-8", "UTF-7"])
def test_xmlAnchorsUnknownEncoding(encoding: str) -> None:
    """
    An RFC 7958 document whose XML declaration names an encoding Python does not know, or
    a multi-byte one expat cannot read, is a L{TrustAnchorError}, not a C{LookupError} or
    C{ValueError} (found by C{fuzz/trust_anchors.py}).
    """
    document = f'<?xml version="1.0" encoding="{encoding}"?>\n<TrustAnchor/>'.encode()
    with pytest.raises(TrustAnchorError, match="not an RFC 7958 document"):
        TrustAnchors.fromXML(document)


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

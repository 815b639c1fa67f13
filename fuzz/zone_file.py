"""
Fuzz zone files: any text read as a master file, indexed and signed as the server does,
ends in a zone or a L{ZoneError} (L{SigningError} when signing cannot proceed), never
another exception.

C{$INCLUDE} lines are skipped: they read other files, which only the operator names.

    python fuzz/zone_file.py -runs=100000
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.server.signing import SigningError, SigningKey, SigningOptions, signZone
    from txdane.server.zones import ZoneError, ZoneIndex, loadZoneFile

_KEY = SigningKey.generate("ED25519")
_NOW = 1_800_000_000
_DIRECTORY = tempfile.mkdtemp(prefix="fuzz-zone-")
_PATH = os.path.join(_DIRECTORY, "zone")

_ZONE = """$ORIGIN zone.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
www IN A 192.0.2.1
www IN AAAA 2001:db8::1
_443._tcp.www IN TLSA 3 1 1 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
*.wild IN TXT "wildcard"
alias IN CNAME www
sub IN NS ns.sub
ns.sub IN A 192.0.2.53
redirect IN DNAME example.test.
@ IN MX 10 mail
"""


def testOneInput(data: bytes) -> None:
    if b"$include" in data.lower():
        return
    Path(_PATH).write_bytes(data)
    try:
        zone = loadZoneFile(_PATH, "zone.test.")
        ZoneIndex.build(zone)
    except ZoneError:
        return
    if len(zone.nodes) <= 40:
        try:
            signed = signZone(zone, [_KEY], SigningOptions(_NOW - 3600, _NOW + 86400))
        except SigningError:
            return
        ZoneIndex.build(signed)


if __name__ == "__main__":
    lines = _ZONE.encode().splitlines(keepends=True)
    main(testOneInput, [_ZONE.encode(), b"".join(lines[:4]), b"".join(lines[2:])])

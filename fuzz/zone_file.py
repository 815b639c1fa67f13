"""
Fuzz zone files: any text read as a master file, indexed and signed as the server does,
ends in a zone or a L{ZoneError} (L{SigningError} when signing cannot proceed), never
another exception; and a zone read round-trips: written out as a master file and read
again, it is the same zone (the same records, TTLs included), signed or not.

The first byte picks the input's form: the whole file, or (odd) records added after a fixed
apex (C{$ORIGIN}, C{$TTL}, SOA and NS), so that a mutated record still meets a well-formed
zone around it. C{$INCLUDE} lines are skipped: they read other files, which only the operator names.

    python fuzz/zone_file.py -runs=100000
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import dns.zone

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.server.signing import SigningError, SigningKey, SigningOptions, signZone
    from txdane.server.zones import ZoneError, ZoneIndex, loadZoneFile

from fuzz._fixed import NOW, derivedKey

_KEY = SigningKey.fromPrivateKey(derivedKey("zone.test."), 15)
_NOW = NOW
_DIRECTORY = tempfile.mkdtemp(prefix="fuzz-zone-")
_PATH = os.path.join(_DIRECTORY, "zone")
_AGAIN = os.path.join(_DIRECTORY, "again")

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


def roundTrip(zone: dns.zone.Zone) -> None:
    """
    Assert that C{zone}, written out and read again, is the same zone.
    """
    text = zone.to_text(sorted=True, relativize=False)
    Path(_AGAIN).write_text(text)
    again = loadZoneFile(_AGAIN, "zone.test.")
    assert again == zone, text
    assert again.to_text(sorted=True, relativize=False) == text


def testOneInput(data: bytes) -> str:
    if not data:
        return "empty"
    data = (_APEX if data[0] & 1 else b"") + data[1:]
    if b"$include" in data.lower():
        return "skipped"
    Path(_PATH).write_bytes(data)
    try:
        zone = loadZoneFile(_PATH, "zone.test.")
    except ZoneError as e:
        assert e.reason and e.path == _PATH, repr(e)
        return "zone-error"
    try:
        ZoneIndex.build(zone)
    except ZoneError as e:
        assert e.reason, repr(e)
        return "index-error"
    roundTrip(zone)
    if len(zone.nodes) > 40:
        return "zone"
    try:
        signed = signZone(zone, [_KEY], SigningOptions(_NOW - 3600, _NOW + 86400))
    except SigningError as e:
        assert e.message, repr(e)
        return "signing-error"
    ZoneIndex.build(signed)
    roundTrip(signed)
    return "signed"


#: The apex added before the records of an odd input.
_APEX = "".join(_ZONE.splitlines(keepends=True)[:4]).encode()


def seeds() -> list[bytes]:
    """
    The whole zone, parts of it, and each of its records after the fixed apex.
    """
    lines = _ZONE.encode().splitlines(keepends=True)
    whole = [_ZONE.encode(), b"".join(lines[:4]), b"".join(lines[2:])]
    return [b"\x00" + text for text in whole] + [b"\x01" + line for line in lines[4:]]


if __name__ == "__main__":
    main(testOneInput, seeds())

"""
C{txdane keygen}: make a DNSSEC signing key for a zone and print the DS record its parent
must publish.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import dns.exception
import dns.name

from txdane.cli import CommandError, ExitStatus, UsageError
from txdane.cli._common import ttlValue
from txdane.server.keys import writeKeyFiles
from txdane.server.signing import KSK_FLAGS, SIGNING_ALGORITHMS, ZSK_FLAGS, SigningKey

#: How many keys to try when each one's tag is that of a key already in the directory.
_ATTEMPTS = 5


def addArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("zone", help="the zone the key signs, e.g. example.com")
    parser.add_argument(
        "-a",
        "--algorithm",
        default="ECDSAP256SHA256",
        type=str.upper,
        choices=list(SIGNING_ALGORITHMS),
        help="signing algorithm (default: ECDSAP256SHA256)",
    )
    parser.add_argument(
        "--zsk",
        action="store_true",
        help="make a zone-signing key (flags 256) instead of a key-signing key (257)",
    )
    parser.add_argument(
        "-d",
        "--directory",
        default=".",
        type=Path,
        help="where to write the .key and .private files, made if missing (default: here)",
    )
    parser.add_argument(
        "--ttl", type=ttlValue, default=3600, help="TTL printed with the DS record (default: 3600)"
    )


def run(options: argparse.Namespace) -> int:
    try:
        zone = dns.name.from_text(options.zone)
    except dns.exception.DNSException as e:
        raise UsageError(f"{options.zone!r} is not a zone name ({e})") from None
    if options.directory.exists() and not options.directory.is_dir():
        raise UsageError(f"{options.directory} is not a directory")
    flags = ZSK_FLAGS if options.zsk else KSK_FLAGS
    try:
        options.directory.mkdir(parents=True, exist_ok=True)
        for attempt in range(_ATTEMPTS):
            key = SigningKey.generate(options.algorithm, flags)
            try:
                files = writeKeyFiles(zone, key, options.directory)
                break
            except FileExistsError:  # the tag of a key already there: make another key
                if attempt == _ATTEMPTS - 1:
                    raise
    except OSError as e:
        raise CommandError(f"cannot write the key files: {e}", ExitStatus.FAILURE) from None
    print(f"; key {key.keyTag} ({options.algorithm}) in {files.public} and {files.private}")
    if key.isKeySigningKey:
        print(f"{zone} {options.ttl} IN DS {key.ds(zone).to_text()}")
    return ExitStatus.OK

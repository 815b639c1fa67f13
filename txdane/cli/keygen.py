"""
C{txdane keygen}: make a DNSSEC signing key for a zone and print the DS record its parent
must publish.
"""

from __future__ import annotations

import argparse
import ipaddress
from pathlib import Path

import dns.name

from txdane.cli import ExitStatus, UsageError
from txdane.cli._common import pathError, ttlValue
from txdane.cli._target import hostName, isDigits
from txdane.names import nameFromText
from txdane.server.keys import writeKeyFiles
from txdane.server.signing import KSK_FLAGS, SIGNING_ALGORITHMS, ZSK_FLAGS, SigningKey

#: How many keys to try when each one's tag is that of a key already in the directory.
_ATTEMPTS = 5


def _algorithmName(text: str) -> str:
    """
    The name of the signing algorithm C{text} names, by name (any case) or by number
    (C{dnssec-keygen -a 13}); a text that is neither is left for the choices to refuse.
    """
    if isDigits(text):
        for name, number in SIGNING_ALGORITHMS.items():
            if number == int(text):
                return name
    return text.upper()


def addArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "zone", help="the zone the key signs, e.g. example.com ('.' for the root zone)"
    )
    parser.add_argument(
        "-a",
        "--algorithm",
        default="ECDSAP256SHA256",
        type=_algorithmName,
        choices=list(SIGNING_ALGORITHMS),
        help="signing algorithm, by name or number as BIND takes it (13, 15, 8; default:"
        " ECDSAP256SHA256)",
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


def zoneName(text: str) -> dns.name.Name:
    """
    The zone named by C{text}: a domain name whose labels are those of a host name (as
    L{hostName<txdane.cli._target.hostName>} checks them), or C{.} for the root zone.

    @raise UsageError: for an empty name (an unset shell variable must not make a root key),
        an address, or anything else that is no zone name, such as a name with spaces, which
        would end up in the key files' names.
    """
    if text == ".":
        return dns.name.root
    if not text.strip():
        raise UsageError("the zone name is empty (for the root zone, give '.')")
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        raise UsageError(f"{text} is an address, not a zone name")
    try:
        return nameFromText(hostName(text))
    except UsageError:
        # hostName's own wording speaks of hosts, ports and TLSA records.
        raise UsageError(f"{text!r} is not a zone name, such as example.com") from None


def run(options: argparse.Namespace) -> int:
    zone = zoneName(options.zone)
    if options.directory.exists() and not options.directory.is_dir():
        raise UsageError(f"--directory {options.directory}: not a directory")
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
        raise pathError("--directory", options.directory, e, "cannot write the key files") from None
    print(f"; key {key.keyTag} ({options.algorithm}) in {files.public} and {files.private}")
    if key.isKeySigningKey:
        print(f"{zone} {options.ttl} IN DS {key.ds(zone).to_text()}")
    return ExitStatus.OK

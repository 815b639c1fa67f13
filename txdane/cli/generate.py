"""
C{txdane generate}: the TLSA record to publish for a server's certificate or key, as a zone
file line (or one JSON object with C{--json}); with C{--sshfp}, the SSHFP records of an SSH
public key.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from txdane.cli import ExitStatus, UsageError
from txdane.cli._common import protoLabel, refuseOwnerName, ttlValue
from txdane.cli._sshfp import generateSSHFP
from txdane.cli._target import addTargetArguments, hostName
from txdane.dane.tlsa import (
    MatchingType,
    Selector,
    Usage,
    parseField,
    recordFromFile,
)
from txdane.errors import TLSAFormatError
from txdane.names import tlsaName


def addArguments(parser: argparse.ArgumentParser) -> None:
    addTargetArguments(
        parser, "the server's port, e.g. 443 or 25 (not with --sshfp)", hostOptional=True
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--cert", type=Path, metavar="FILE", help="the server's certificate (or chain) file"
    )
    source.add_argument(
        "--key", type=Path, metavar="FILE", help="the server's public or private key file"
    )
    source.add_argument(
        "--sshfp",
        type=Path,
        metavar="KEY.pub",
        help="print the SSHFP records of an SSH public key instead, like ssh-keygen -r "
        "(host name: the SSH server's; default: this machine's)",
    )
    # The TLSA options default to None, so that --sshfp can tell that one was given.
    parser.add_argument("--usage", help="certificate usage, number or name (default: DANE-EE)")
    parser.add_argument("--selector", help="Cert or SPKI (default: SPKI)")
    parser.add_argument("--mtype", help="Full, SHA2-256 or SHA2-512 (default: SHA2-256)")
    parser.add_argument("--proto", type=protoLabel, help="transport protocol label (default: tcp)")
    parser.add_argument("--ttl", type=ttlValue, help="TTL to print (default: 3600)")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (its keys: docs/cli.md, under generate)",
    )


#: The options that only make sense for a TLSA record, and their defaults.
_TLSA_DEFAULTS = {
    "usage": "DANE-EE",
    "selector": "SPKI",
    "mtype": "SHA2-256",
    "proto": "tcp",
    "ttl": 3600,
}


def _commandLine(options: argparse.Namespace) -> str:
    """
    The command line of the options, up to HOST and without C{txdane} or C{--proto}, for the
    hint of L{refuseOwnerName}: C{"generate --cert c.pem --usage 2"}.
    """
    words = ["generate"]
    for option in ("cert", "key"):
        if getattr(options, option) is not None:
            words += [f"--{option}", shlex.quote(str(getattr(options, option)))]
    for name in ("usage", "selector", "mtype", "ttl"):
        if getattr(options, name) is not None:
            words += [f"--{name}", shlex.quote(str(getattr(options, name)))]
    if options.json:
        words.append("--json")
    return " ".join(words)


def run(options: argparse.Namespace) -> int:
    given = [f"--{name}" for name in _TLSA_DEFAULTS if getattr(options, name) is not None]
    commandLine = _commandLine(options)
    if options.sshfp is not None:
        # The SSHFP lines have none of these fields (nor a TTL, like those of ssh-keygen -r).
        if given:
            raise UsageError(f"--sshfp cannot be used with {', '.join(given)}")
        if options.host is not None:
            options.host = _sshfpName(options.host)
        return generateSSHFP(options)
    for name, default in _TLSA_DEFAULTS.items():
        if getattr(options, name) is None:
            setattr(options, name, default)
    # The host first: for HOST:PORT, hostName says to give the port as its own argument.
    host = hostName(options.host) if options.host is not None else None
    if host is not None:
        refuseOwnerName(commandLine, host)
    if host is None or options.port is None:
        raise UsageError("a TLSA record needs the host name and the port")
    try:
        usage = parseField(options.usage, 0)
        selector = parseField(options.selector, 1)
        mtype = parseField(options.mtype, 2)
        owner = tlsaName(host, options.port, options.proto)
    except (TLSAFormatError, ValueError) as e:
        raise UsageError(str(e)) from None
    unknown = [
        f"{kind} {value}"
        for kind, value, known in (
            ("usage", usage, Usage),
            ("selector", selector, Selector),
            ("matching type", mtype, MatchingType),
        )
        if value not in known._value2member_map_
    ]
    if unknown:
        raise UsageError(f"cannot generate a record with unknown {', '.join(unknown)}")
    path: Path = options.cert or options.key
    try:
        record = recordFromFile(path, usage, selector, mtype)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    except TLSAFormatError as e:
        raise UsageError(f"{path}: {e}") from None
    if options.json:
        print(
            json.dumps(
                {
                    "name": owner.to_text(),
                    "ttl": options.ttl,
                    "usage": record.usage,
                    "selector": record.selector,
                    "matching_type": record.matchingType,
                    "data": record.data.hex(),
                    "mnemonic": record.mnemonic,
                    "record": str(record),
                },
                indent=2,
            )
        )
        return ExitStatus.OK
    if sys.stdout.isatty():
        print(f"; {record.mnemonic} for {path}")
    print(f"{owner.to_text()} {options.ttl} IN TLSA {record}")
    return ExitStatus.OK


def _sshfpName(text: str) -> str:
    """
    The owner name to print the SSHFP records at: C{text} checked as the other commands
    check a host name (an empty one is refused, not taken for this machine's name), in
    ASCII, absolute when typed with a final dot as C{ssh-keygen -r} would print it.

    @raise UsageError: for anything but a host name.
    """
    return hostName(text) + ("." if text.endswith(".") else "")

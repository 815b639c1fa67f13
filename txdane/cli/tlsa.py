"""
C{txdane tlsa HOST [PORT]}: the TLSA records of a service with their RFC 7218 names, their
DNSSEC status, the base domain they were found at (after secure CNAMEs, RFC 7671 section 7),
which are unusable and why, and advice about what will break next.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from txdane.cli import ExitStatus
from txdane.cli._common import (
    addResolverArguments,
    protoLabel,
    refuseOwnerName,
    resolverSettings,
    runOnReactor,
)
from txdane.cli._target import addOutputArguments, addTargetArguments, hostName


def addArguments(parser: argparse.ArgumentParser) -> None:
    addTargetArguments(parser, "the service's port (default: 443)", defaultPort=443)
    parser.add_argument(
        "--proto",
        default="tcp",
        type=protoLabel,
        help="transport protocol label of the TLSA name, without its underscore (default: tcp)",
    )
    parser.add_argument(
        "--history",
        metavar="FILE",
        type=Path,
        help="the history file of txdane check --history: warn about a record that has "
        "matched nothing the server sent for three weeks (and add the records seen)",
    )
    addOutputArguments(parser)
    addResolverArguments(parser)


def report(found: Any, verbose: bool) -> str:
    """
    The report of a L{TLSALookup<txdane.cli._tlsalookup.TLSALookup>} for people.
    """
    from txdane.cli.lookup import _trustLines
    from txdane.validation.ede import edeText

    line = f"{found.owner} TLSA  {found.status}"
    if found.ede is not None and found.status != "secure":
        line += f" (EDE {found.ede}, {edeText(found.ede) or 'unknown code'})"
    if found.answer is not None and found.answer.securedBy != "validation":
        line += f" [{found.answer.securedBy}]"
    lines = [line, f"  {found.summary()}"]
    if found.reason and found.status != "secure":
        lines.append(f"  {found.reason}")
    lines.append(f"  base domain  {found.baseLine()}")
    if found.addressProblem:
        lines.append(f"  addresses    {found.addressProblem}")
    for text in found.recordLines():
        lines.append(f"  {text}")
    for warning in found.warnings:
        first, *rest = warning.lines()
        lines.append(f"  warning  {first}")
        lines.extend(f"           {more}" for more in rest)
    if verbose and found.answer is not None:
        lines.extend(_trustLines(found.answer.trustChain, found.answer.signatures))
    return "\n".join(lines)


async def execute(reactor: Any, resolver: Any, options: argparse.Namespace, out: TextIO) -> int:
    """
    Look up and report the TLSA records the options ask about.
    """
    from txdane.cli._tlsalookup import lookupTLSA

    host = hostName(options.host)
    history = None
    if getattr(options, "history", None) is not None:
        from txdane.cli._history import readHistory

        history = readHistory(options.history)
    found = await lookupTLSA(reactor, resolver, host, options.port, options.proto)
    now = reactor.seconds()
    found.addAdvice(now)
    if history is not None:
        from txdane.cli._history import observe, staleAdvice, writeHistory

        if found.daneApplies:
            owner = found.owner.to_text()
            observe(history, owner, found.records, now)
            found.warnings.extend(staleAdvice(history, owner, now))
        writeHistory(options.history, history)
    if options.json:
        print(json.dumps(found.toJSON(), indent=2), file=out)
    else:
        print(report(found, options.verbose), file=out)
    status: int = found.exitStatus()
    return status


def run(options: argparse.Namespace) -> int:
    refuseOwnerName("tlsa", hostName(options.host))
    if options.history is not None:
        from txdane.cli._history import readHistory

        readHistory(options.history)  # a file that cannot be used is refused before any lookup
    settings = resolverSettings(options)

    async def main(reactor: Any) -> int:
        return await execute(reactor, settings.build(reactor), options, sys.stdout)

    return runOnReactor(main)


__all__ = ["ExitStatus", "execute", "report", "run"]

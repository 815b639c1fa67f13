"""
C{txdane check HOST [PORT]}: connect to a server as a DANE client would, with txdane's own
endpoints, and show the verdict first, then the evidence: the addresses and their DNSSEC
status, the TLSA (or SSHFP) records and their status, what happened to each record, the
chain (or host key) the server presented, and advice about what will break next.

  - C{txdane check HOST [PORT]}: TLS (port 443 unless given);
  - C{txdane check --ssh HOST [PORT]}: the SSH host key against the SSHFP records (port 22).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from txdane.cli import UsageError
from txdane.cli._common import addResolverArguments, resolverSettings, runOnReactor
from txdane.cli._target import Progress, addOutputArguments, addTargetArguments, hostName, worst

#: The port each kind of check uses unless one is given.
DEFAULT_PORTS = {"tls": 443, "ssh": 22}


def addArguments(parser: argparse.ArgumentParser) -> None:
    addTargetArguments(parser, "the server's port (default: 443 for TLS, 22 with --ssh)")
    parser.add_argument(
        "--ssh",
        action="store_true",
        help="check an SSH server's host key against its SSHFP records (no login is tried)",
    )
    addOutputArguments(parser)
    addResolverArguments(parser)


def _kind(options: argparse.Namespace) -> str:
    return "ssh" if options.ssh else "tls"


async def execute(
    reactor: Any,
    resolver: Any,
    options: argparse.Namespace,
    out: TextIO,
    progress: Progress | None = None,
) -> int:
    """
    Run the check the options ask for with C{resolver} and report it.
    """
    from txdane.cli._verdict import summaryJSON

    progress = progress or Progress(enabled=False)
    kind = _kind(options)
    host = hostName(options.host)
    port = options.port or DEFAULT_PORTS[kind]
    progress.show(f"checking {host}:{port} ...")
    now = reactor.seconds()
    if kind == "ssh":
        from txdane.cli._checkssh import checkSSH

        verdict = await checkSSH(reactor, resolver, host, port, now, timeout=options.timeout)
    else:
        from txdane.cli._checktls import checkTLS

        verdict = await checkTLS(reactor, resolver, host, port, now, timeout=options.timeout)
    progress.clear()
    verdicts = [verdict]
    status = worst([v.exitStatus for v in verdicts])
    if options.json:
        print(json.dumps(summaryJSON(verdicts, status), indent=2), file=out)
    else:
        lines = verdict.lines()
        if options.verbose and verdict.tlsa is not None and verdict.tlsa.answer is not None:
            from txdane.cli.lookup import _trustLines

            answer = verdict.tlsa.answer
            lines.extend(_trustLines(answer.trustChain, answer.signatures))
        print("\n".join(lines), file=out)
    return status


def run(options: argparse.Namespace) -> int:
    hostName(options.host)
    if options.port is not None and not 0 < options.port < 65536:
        raise UsageError(f"port {options.port} is not in 1-65535")
    settings = resolverSettings(options)

    async def main(reactor: Any) -> int:
        return await execute(reactor, settings.build(reactor), options, sys.stdout, Progress())

    return runOnReactor(main)

"""
C{txdane lab}: the signed test hierarchy and servers to try clients against, on loopback, in
the foreground until interrupted (Ctrl-C, SIGTERM).

It prints the resolver's address, the trust anchor file and, for each case, a C{dane:}
endpoint string with the outcome a client should see; with C{--json}, all of it as one JSON
object on the first line. The servers are those of L{txdane.testing.startLab}.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from txdane.cli import CommandError, ExitStatus, UsageError
from txdane.cli._common import makeDirectory
from txdane.cli._target import wholeNumber

__all__ = ["addArguments", "run"]


def addArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the resolver, the trust anchor file and the services as one JSON object "
        "on the first line",
    )
    parser.add_argument(
        "--port",
        type=wholeNumber,
        default=0,
        metavar="N",
        help="the DNS server's port on 127.0.0.1, and the servers' on N+1 to N+10 "
        "(default: any free ones)",
    )
    parser.add_argument(
        "--directory",
        metavar="DIR",
        help="write the trust anchor and the lab CA in DIR (created if missing), as "
        "trust-anchor.txt and lab-ca.pem (default: a temporary directory)",
    )


def describe(lab: Any, out: TextIO) -> None:
    """
    Print what a user of the lab needs: where the resolver is, the files it wrote, and each
    service's endpoint string with its expected outcome.
    """
    print("txdane lab: a signed DNS hierarchy and servers on 127.0.0.1; Ctrl-C stops it.", file=out)
    print(file=out)
    print(f"resolver:     {lab.resolver}", file=out)
    print(f"trust anchor: {lab.trustAnchor}", file=out)
    print(f"lab CA:       {lab.labCA}  (removed on exit, with the trust anchor)", file=out)
    print(file=out)
    for service in lab.services:
        print(f"{service.name:<13} {service.expect:<9} {service.description}", file=out)
        print(f"    {service.endpoint}", file=out)
    print(file=out)
    print(
        f'Point txdane at it: LAB="--resolver {lab.resolver} --trust-anchor {lab.trustAnchor}"',
        file=out,
    )
    print(
        f"Try one: txdane check $LAB dane-ee.example.test {lab.service('dane-ee').port}", file=out
    )
    out.flush()


def run(options: argparse.Namespace) -> int:
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

    from txdane.testing import LAB_SERVERS, Lab, startLab

    if not 0 <= options.port < 65536 - len(LAB_SERVERS):
        raise UsageError(f"--port {options.port} is not in 0-{65535 - len(LAB_SERVERS)}")
    if options.directory is not None:
        makeDirectory("--directory", options.directory)
    running: list[Lab] = []
    failures: list[Failure] = []

    def started(lab: Lab) -> None:
        running.append(lab)
        if options.json:
            sys.stdout.write(json.dumps(lab.toJSON()) + "\n")
            sys.stdout.flush()
        else:
            describe(lab, sys.stdout)

    def failed(failure: Failure) -> None:
        failures.append(failure)
        reactor.stop()

    def start() -> None:
        d: Deferred[Lab] = startLab(
            reactor,
            dnsPort=options.port,
            directory=options.directory,
            servicePort=options.port + 1 if options.port else 0,
        )
        d.addCallbacks(started, failed)

    def stop() -> Any:
        if running:
            return running[0].stop()
        return None

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", stop)
    reactor.run()
    if failures:
        error = failures[0].value
        raise CommandError(f"lab: {error}")
    return ExitStatus.OK

"""
C{txdane publish HOST PORT --cert FILE ... --server ADDR --tsig-key FILE}: replace the TLSA
records of a service, on the primary server of its zone, with one C{3 1 1} record per
certificate or key given, by a dynamic update (RFC 2136) signed with TSIG (RFC 8945); with
C{--sshfp KEY.pub}, the SSHFP records of a host. See L{txdane.publish} for the update and its
prerequisite, and docs/cli.md for the exit statuses.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from txdane.cli import CommandError, ExitStatus, UsageError
from txdane.cli._common import (
    addResolverArguments,
    checkText,
    positiveSeconds,
    protoLabel,
    resolverSettings,
    runOnReactor,
    ttlValue,
)
from txdane.cli._target import hostName, portNumber

#: Seconds C{--wait} polls the resolver unless given another number.
DEFAULT_WAIT = 300.0

#: Seconds between two looks of C{--wait}.
POLL_INTERVAL = 1.0


def addArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("host", help="the service's host name, e.g. mail.example.com")
    parser.add_argument(
        "port", type=portNumber, nargs="?", help="the service's port (not with --sshfp)"
    )
    records = parser.add_argument_group("records (one or more, all of one kind)")
    records.add_argument(
        "--cert",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a certificate (or chain) file: publish its 3 1 1 record (repeatable: current "
        "and next)",
    )
    records.add_argument(
        "--key",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a public or private key file: publish its 3 1 1 record (repeatable)",
    )
    records.add_argument(
        "--sshfp",
        type=Path,
        action="append",
        default=[],
        metavar="KEY.pub",
        help="an SSH public key file: publish its SSHFP records at HOST (repeatable)",
    )
    update = parser.add_argument_group("update")
    update.add_argument(
        "--server",
        required=True,
        metavar="ADDR[#PORT]",
        help="the primary server that accepts updates for the zone",
    )
    update.add_argument(
        "--tsig-key",
        required=True,
        metavar="FILE",
        help="the TSIG key file (as tsig-keygen or keymgr -t write it)",
    )
    update.add_argument(
        "--tsig-key-name",
        metavar="NAME",
        help="which key of the file to sign with, when it holds several",
    )
    update.add_argument(
        "--zone", help="the zone to update (default: found by asking the server for the SOA)"
    )
    update.add_argument(
        "--ttl", type=ttlValue, default=300, help="TTL of the new records (default: 300)"
    )
    update.add_argument(
        "--proto",
        type=protoLabel,
        default="tcp",
        help="transport protocol label of the TLSA name (default: tcp)",
    )
    update.add_argument(
        "--wait",
        nargs="?",
        type=positiveSeconds,
        const=DEFAULT_WAIT,
        metavar="SECONDS",
        help="then ask the validating resolver until it sees the new records, secure "
        f"(for up to SECONDS, default {DEFAULT_WAIT:g})",
    )
    update.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="the state file of the rollover gate (check --ready --state): keep there the TTL "
        "of the TLSA records replaced, which the gate waits out (default: the gate's, "
        "$XDG_STATE_HOME/txdane/ready.json or ~/.local/state/txdane/ready.json)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (its keys: docs/cli.md)"
    )
    addResolverArguments(parser)


def tlsaRecords(options: argparse.Namespace) -> list[dns.rdata.Rdata]:
    """
    The C{3 1 1} records of the C{--cert} and C{--key} files, in their order, each once.

    @raise UsageError: for a file that cannot be read or holds no certificate or key.
    """
    from txdane.dane.tlsa import recordFromFile
    from txdane.errors import TLSAFormatError

    found: list[dns.rdata.Rdata] = []
    for path in [*options.cert, *options.key]:
        try:
            rdata = recordFromFile(path).toRdata()
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
        except TLSAFormatError as e:
            raise UsageError(f"{path}: {e}") from None
        if rdata not in found:
            found.append(rdata)
    return found


def sshfpRecords(paths: list[Path]) -> list[dns.rdata.Rdata]:
    """
    The SSHFP records (SHA-1 and SHA-256) of the keys of the OpenSSH public key files.

    @raise UsageError: for a file that cannot be read or holds no public key.
    """
    from txdane.cli._sshfp import keyFileRecords

    found: list[dns.rdata.Rdata] = []
    for path in paths:
        for record in keyFileRecords(path):
            rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.SSHFP, str(record))
            if rdata not in found:
                found.append(rdata)
    return found


def statusOf(error: Exception) -> int:
    """
    The exit status of a failed publication (see docs/cli.md).
    """
    from txdane.publish import (
        PrerequisiteFailedError,
        PublishTimeoutError,
        TSIGRejectedError,
        UpdateRejectedError,
    )

    if isinstance(error, PrerequisiteFailedError):
        return ExitStatus.PREREQUISITE_FAILED
    if isinstance(error, TSIGRejectedError):
        return ExitStatus.NOT_AUTHORIZED
    if isinstance(error, UpdateRejectedError):
        return ExitStatus.REFUSED
    if isinstance(error, PublishTimeoutError):
        return ExitStatus.FAILURE
    return ExitStatus.FAILURE


async def waitUntilSecure(
    reactor: Any,
    settings: Any,
    owner: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    records: list[dns.rdata.Rdata],
    limit: float,
) -> str | None:
    """
    Ask the validating resolver of C{settings} for C{owner}/C{rdtype} every
    L{POLL_INTERVAL} seconds until it answers exactly C{records}, secure.

    @return: C{None} once seen, else what was last seen, one line.
    """
    from twisted.internet.task import deferLater

    from txdane.errors import TxdaneError
    from txdane.status import Status

    deadline = reactor.seconds() + limit
    last = "nothing yet"
    while True:
        try:
            answer = await settings.build(reactor).lookup(owner, rdtype)
        except TxdaneError as e:
            last = str(e)
        else:
            seen = set(answer.rrset) if answer.rrset is not None else set()
            if seen == set(records) and answer.status is Status.SECURE:
                return None
            last = f"{answer.status.value}, {len(seen)} record(s), " + (
                "the new ones" if seen == set(records) else "not the new ones"
            )
            if answer.status is not Status.SECURE and answer.reason:
                last += f": {answer.reason}"
        if reactor.seconds() + POLL_INTERVAL > deadline:
            return last
        await deferLater(reactor, POLL_INTERVAL, lambda: None)


def keepTTL(path: Path, result: Any, now: float) -> None:
    """
    Keep the TTL of the RRset C{result} replaced at C{now} in the rollover gate's state file
    C{path}: caches may hold that RRset, without the next record, for that long after now, and
    the gate (which may never have seen it) waits it out. A TTL the gate found served before
    is replaced as of now too.

    @param result: a L{txdane.publish.PublishResult}.
    @raise CommandError: when the file cannot be written (the records were published).
    """
    from txdane.cli._gatestate import readState, writeState

    name = result.owner.to_text()
    try:
        state = readState(path)
        if result.previousTTL is None and name not in state.ttls:
            return
        state.replaced(name, result.previousTTL, now)
        writeState(path, state)
    except UsageError as e:
        what = (
            "that the records the gate saw were replaced"
            if result.previousTTL is None
            else f"the TTL of the records it replaced ({result.previousTTL} s)"
        )
        raise CommandError(
            f"{name} published, but {what} could not be kept for the gate: {e}",
            ExitStatus.USAGE,
        ) from None


@dataclass(frozen=True)
class Request:
    """
    What to publish, checked before the reactor starts.

    @ivar server: the primary.
    @ivar key: the TSIG key.
    @ivar owner: the owner name of the RRset.
    @ivar records: the new records.
    @ivar zone: the zone, or C{None} to find it.
    @ivar state: the rollover gate's state file, where the TTL of the TLSA RRset replaced is
        kept (see L{txdane.cli._gatestate}), or C{None} for SSHFP records.
    """

    server: Any
    key: Any
    owner: dns.name.Name
    records: list[dns.rdata.Rdata]
    zone: dns.name.Name | None
    state: Path | None = None


def prepare(options: argparse.Namespace) -> Request:
    """
    Read the key file and the certificate, key or SSH key files of the options.

    @raise UsageError: for anything that cannot be published as asked.
    """
    from txdane.names import asName, tlsaName
    from txdane.resolvconf import NameServer, NameServerError
    from txdane.tsig import TSIGKey, TSIGKeyError

    if options.wait is not None and not options.wait > 0:
        raise UsageError("--wait takes a positive number of seconds")
    try:
        server = NameServer.fromString(options.server)
    except NameServerError as e:
        raise UsageError(f"--server: {e}") from None
    host = hostName(options.host)
    if options.sshfp:
        if options.cert or options.key:
            raise UsageError("--sshfp cannot be mixed with --cert or --key")
        if options.port is not None:
            raise UsageError("--sshfp takes a host name, no port")
        owner = asName(host)
        records = sshfpRecords(options.sshfp)
    else:
        if not (options.cert or options.key):
            raise UsageError("give --cert, --key or --sshfp")
        if options.port is None:
            raise UsageError("TLSA records need the host name and the port")
        owner = tlsaName(host, options.port, options.proto)
        records = tlsaRecords(options)
    try:
        zone = asName(options.zone) if options.zone else None
    except (ValueError, dns.exception.DNSException) as e:
        raise UsageError(f"--zone: {e}") from None
    if zone is not None and not owner.is_subdomain(zone):
        raise UsageError(f"{owner} is not in zone {zone}")
    checkText("--tsig-key", options.tsig_key, options.tsig_key, "a TSIG key file")
    try:
        key = TSIGKey.fromFile(options.tsig_key, options.tsig_key_name)
    except TSIGKeyError as e:
        raise UsageError(str(e)) from None
    state = None
    if options.sshfp:
        if options.state is not None:
            raise UsageError("--state keeps the TTL of TLSA records for the gate, not --sshfp")
    else:
        from txdane.cli._gatestate import defaultStatePath, readState

        state = options.state or defaultStatePath()
        # A state file that cannot be used is refused before anything is changed.
        readState(state)
    return Request(server, key, owner, records, zone, state)


async def execute(reactor: Any, options: argparse.Namespace, out: TextIO) -> int:
    """
    Publish the records the options ask for, and with C{--wait}, wait for them.
    """
    from txdane.publish import PublishError, publishRecords

    request = prepare(options)
    server, key, owner, records, zone = (
        request.server,
        request.key,
        request.owner,
        request.records,
        request.zone,
    )
    settings = resolverSettings(options) if options.wait is not None else None
    try:
        result = await publishRecords(
            reactor, server, key, owner, records, zone, options.ttl, options.timeout
        )
    except PublishError as e:
        raise CommandError(str(e), statusOf(e)) from None
    if request.state is not None:
        keepTTL(request.state, result, reactor.seconds())
    report = result.toJSON()
    status = ExitStatus.OK
    problem = None
    if settings is not None:
        problem = await waitUntilSecure(
            reactor, settings, owner, result.rdtype, records, options.wait
        )
        report["seen_secure"] = problem is None
        if problem is not None:
            report["last_seen"] = problem
            status = ExitStatus.NOT_READY
    if options.json:
        print(json.dumps(report, indent=2), file=out)
    else:
        kind = dns.rdatatype.to_text(result.rdtype)
        verb = "replaced" if result.previous is not None else "published"
        if not result.changed:
            verb = "republished (unchanged)"
        print(
            f"{owner.to_text()} {kind} {verb} in zone {result.zone.to_text()} "
            f"at {report['server']}",
            file=out,
        )
        for rdata in result.previous or ():
            if rdata not in records:
                print(f"  - {owner.to_text()} {kind} {rdata.to_text()}", file=out)
        for rdata in records:
            print(f"  + {owner.to_text()} {options.ttl} IN {kind} {rdata.to_text()}", file=out)
        if settings is not None:
            if problem is None:
                print("  the validating resolver sees the new records, secure", file=out)
            else:
                print(
                    f"  the validating resolver did not see the new records secure within "
                    f"{options.wait:g} s: {problem}",
                    file=out,
                )
    return status


def run(options: argparse.Namespace) -> int:
    prepare(options)
    if options.wait is not None:
        resolverSettings(options)

    async def main(reactor: Any) -> int:
        return await execute(reactor, options, sys.stdout)

    return runOnReactor(main)


__all__ = [
    "Request",
    "execute",
    "keepTTL",
    "prepare",
    "run",
    "sshfpRecords",
    "statusOf",
    "tlsaRecords",
]

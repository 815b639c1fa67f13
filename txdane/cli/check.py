"""
C{txdane check HOST [PORT]}: connect to a server as a DANE client would, with txdane's own
endpoints, and show the verdict first, then the evidence: the addresses and their DNSSEC
status, the TLSA (or SSHFP) records and their status, what happened to each record, the
chain (or host key) the server presented, and advice about what will break next.

  - C{txdane check HOST [PORT]}: TLS (port 443 unless given);
  - C{txdane check --starttls PROTO HOST [PORT]}: cleartext first, then the protocol's
    STARTTLS, negotiated by the C{starttls=PROTO} endpoint (L{txdane.endpoints.starttls});
  - C{txdane check --mx DOMAIN [--port 25]}: every MX host of a domain, in the order of
    L{planMX<txdane.endpoints.mx.planMX>} (RFC 7672), each over SMTP STARTTLS;
  - C{txdane check --srv SERVICE DOMAIN}: every target of a service (RFC 7673, XEP-0368),
    in the order of the library's L{SRVEndpoint<txdane.endpoints.srv.SRVEndpoint>}, each
    connected to as that endpoint does;
  - C{txdane check --ssh HOST [PORT]}: the SSH host key against the SSHFP records (port 22);
  - C{txdane check HOST PORT --ready CERT}: the rollover gate, no connection: whether every
    authoritative server has served a signed TLSA record for the next certificate for long
    enough (L{txdane.cli._ready}).

The endpoints decide; this module only drives them and reports.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from txdane.cli import UsageError
from txdane.cli._common import (
    addResolution,
    addResolverArguments,
    refuseOwnerName,
    resolutionLines,
    resolverSettings,
    runOnReactor,
)
from txdane.cli._target import (
    Progress,
    addOutputArguments,
    addTargetArguments,
    hostName,
    isDigits,
    portNumber,
    wholeNumber,
    worst,
)

#: The port each kind of check uses unless one is given (STARTTLS: the protocol's own).
DEFAULT_PORTS = {"tls": 443, "ssh": 22, "mx": 25}


def _starttlsProtocol(text: str) -> str:
    from txdane.endpoints.starttls import UnknownProtocolError, negotiatorFor

    try:
        return negotiatorFor(text).protocolName
    except UnknownProtocolError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _starttlsNames() -> str:
    from txdane.endpoints.starttls import PROTOCOLS

    return ", ".join(PROTOCOLS)


def addArguments(parser: argparse.ArgumentParser) -> None:
    addTargetArguments(
        parser,
        "the server's port (default: 443 for TLS, the protocol's with --starttls, 22 with --ssh)",
        hostOptional=True,
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--starttls",
        metavar="PROTO",
        type=_starttlsProtocol,
        help="connect in cleartext and upgrade with the protocol's STARTTLS: " + _starttlsNames(),
    )
    kind.add_argument(
        "--mx",
        metavar="DOMAIN",
        help="check every MX host of DOMAIN (RFC 7672, SMTP STARTTLS), instead of HOST",
    )
    kind.add_argument(
        "--srv",
        metavar="SERVICE",
        help="check every target of SERVICE (xmpp-client, imap, submission ...) at the DOMAIN "
        "given as HOST, found by SRV records (RFC 7673)",
    )
    kind.add_argument(
        "--ssh",
        action="store_true",
        help="check an SSH server's host key against its SSHFP records (no login is tried)",
    )
    parser.add_argument(
        "--port",
        dest="portOption",
        metavar="N",
        type=portNumber,
        help="the port, as an option (e.g. with --mx; default 25 there)",
    )
    parser.add_argument(
        "--max-hosts",
        type=wholeNumber,
        metavar="N",
        help="with --mx or --srv, check at most N hosts, as a connection would try them "
        "(default 5); the others are listed as skipped",
    )
    rollover = parser.add_argument_group("rollover gate")
    rollover.add_argument(
        "--ready",
        metavar="CERT",
        type=Path,
        help="do not connect: exit 0 only when every authoritative server of the zone has "
        "served a signed TLSA record matching CERT for at least the RRset's TTL",
    )
    rollover.add_argument(
        "--state",
        metavar="FILE",
        type=Path,
        help="with --ready, where to keep when the record was first seen everywhere "
        "(default: $XDG_STATE_HOME/txdane/ready.json or ~/.local/state/txdane/ready.json)",
    )
    rollover.add_argument(
        "--history",
        metavar="FILE",
        type=Path,
        help="keep in FILE which TLSA records matched the server's certificates, and warn "
        "about a record that has matched nothing for three weeks (TLS checks of HOST PORT)",
    )
    rollover.add_argument(
        "--authority-port",
        metavar="N",
        type=portNumber,
        help="with --ready, the port to ask the authoritative servers on (default: 53)",
    )
    addOutputArguments(parser)
    addResolverArguments(parser)


def _kind(options: argparse.Namespace) -> str:
    if options.ssh:
        return "ssh"
    if getattr(options, "mx", None):
        return "mx"
    if getattr(options, "srv", None):
        return "srv"
    return "tls"


def _port(options: argparse.Namespace) -> int:
    """
    The port the options name, or the default of the kind of check.
    """
    from txdane.endpoints.starttls import defaultPort

    given = options.portOption or options.port
    if given:
        return int(given)
    if getattr(options, "starttls", None):
        return defaultPort(options.starttls)
    return DEFAULT_PORTS[_kind(options)]


def mailDomain(text: str) -> str:
    """
    The domain of C{--mx}, checked as L{hostName} checks a host, in words of mail domains.

    @raise UsageError: for an address (the MX records are found by the domain's name), a
        port (it is given with C{--port}), or anything else that is not a domain name.
    """
    host, colon, port = text.rpartition(":")
    withPort = bool(colon and host and isDigits(port))
    if _isAddress(text) or (withPort and _isAddress(host)):
        raise UsageError(
            f"--mx {text} is an address, not a mail domain: give the domain whose MX records "
            "name the hosts to check (for one server: --starttls smtp HOST)"
        )
    if withPort:
        raise UsageError(f"--mx {text}: give the domain alone and the port with --port {port}")
    return hostName(text)


def _isAddress(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def checkOptions(options: argparse.Namespace) -> None:
    """
    Refuse combinations of options that cannot be meant, before any lookup.

    @raise UsageError: saying what to type instead.
    """
    mx = getattr(options, "mx", None)
    if getattr(options, "ready", None) is not None:
        if _kind(options) != "tls" or getattr(options, "starttls", None):
            raise UsageError(
                "--ready checks the TLSA records of HOST PORT: give no --mx, "
                "--srv, --ssh or --starttls"
            )
    elif getattr(options, "state", None) is not None:
        raise UsageError("--state goes with --ready")
    if getattr(options, "history", None) is not None and (
        _kind(options) != "tls" or getattr(options, "ready", None) is not None
    ):
        raise UsageError(
            "--history records what the TLS check of HOST PORT finds: give no --mx, --srv, "
            "--ssh or --ready"
        )
    if options.port is not None and options.portOption is not None:
        raise UsageError("give the port once: as PORT or with --port, not both")
    # Options that only some kinds of check read are refused elsewhere, not ignored.
    if options.max_hosts is not None:
        if mx is None and getattr(options, "srv", None) is None:
            raise UsageError("--max-hosts goes with --mx or --srv, which check several hosts")
        if not 0 < options.max_hosts <= 1000:
            raise UsageError(f"--max-hosts {options.max_hosts}: not in 1-1000")
    if getattr(options, "authority_port", None) is not None and (
        getattr(options, "ready", None) is None
    ):
        raise UsageError("--authority-port goes with --ready")
    if getattr(options, "srv", None) is not None:
        from txdane.endpoints.errors import NoSuchServiceError
        from txdane.endpoints.srvplan import serviceByName

        try:
            serviceByName(options.srv)
        except NoSuchServiceError as e:
            raise UsageError(str(e)) from None
        if options.host is None:
            raise UsageError(f"give the DOMAIN whose {options.srv} service to check")
        if options.port is not None or options.portOption is not None:
            raise UsageError("--srv takes no port: the SRV records give each target's")
        hostName(options.host)
        return
    if mx is not None:
        if options.host is not None:
            what = f"{options.host} {options.port}" if options.port else options.host
            raise UsageError(
                f"--mx takes the domain and finds its hosts: give no HOST ({what!r}); "
                "for one MX host, use --starttls smtp HOST"
            )
        mailDomain(mx)
        return
    if options.host is None:
        raise UsageError("give the HOST to check (or --mx DOMAIN, or --srv SERVICE DOMAIN)")
    refuseOwnerName("check", hostName(options.host))


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

    checkOptions(options)
    progress = progress or Progress(enabled=False)
    kind = _kind(options)
    history = None
    if getattr(options, "history", None) is not None:
        from txdane.cli._history import readHistory

        history = readHistory(options.history)
    if kind in ("mx", "srv"):
        report: Any
        if kind == "mx":
            from txdane.cli._checkmx import checkMX

            report = await checkMX(
                reactor,
                resolver,
                mailDomain(options.mx),
                _port(options),
                reactor.seconds(),
                options,
                progress,
            )
        else:
            from txdane.cli._checksrv import checkSRV

            report = await checkSRV(
                reactor,
                resolver,
                options.srv,
                hostName(options.host),
                reactor.seconds(),
                options,
                progress,
            )
        progress.clear()
        if options.json:
            print(json.dumps(addResolution(report.toJSON(), resolver), indent=2), file=out)
        else:
            lines = report.lines(options.verbose)
            if options.verbose:
                lines = [*lines, *resolutionLines(resolver)]
            print("\n".join(lines), file=out)
        return int(report.exitStatus)
    port = _port(options)
    host = hostName(options.host)
    if getattr(options, "ready", None) is not None:
        from txdane.cli._gatestate import defaultStatePath
        from txdane.cli._ready import checkReady

        ready = await checkReady(
            reactor,
            resolver,
            host,
            port,
            options.ready,
            options.state or defaultStatePath(),
            reactor.seconds(),
            options.timeout,
            options.authority_port or 53,
        )
        if options.json:
            print(json.dumps(ready.toJSON(), indent=2), file=out)
        else:
            print("\n".join(ready.lines()), file=out)
        return ready.exitStatus()
    progress.show(f"checking {host}:{port} ...")
    now = reactor.seconds()
    if kind == "ssh":
        from txdane.cli._checkssh import checkSSH

        verdict = await checkSSH(reactor, resolver, host, port, now, timeout=options.timeout)
    else:
        from txdane.cli._checktls import checkTLS

        verdict = await checkTLS(
            reactor,
            resolver,
            host,
            port,
            now,
            timeout=options.timeout,
            starttls=getattr(options, "starttls", None),
        )
    progress.clear()
    if history is not None and verdict.tlsa is not None:
        from txdane.cli._history import observe, staleAdvice, writeHistory

        if verdict.tlsa.daneApplies:
            owner = verdict.tlsa.owner.to_text()
            observe(history, owner, verdict.tlsa.records, now, verdict.chain or None)
            verdict.warnings.extend(staleAdvice(history, owner, now))
        writeHistory(options.history, history)
    verdicts = [verdict]
    status = worst([v.exitStatus for v in verdicts])
    if options.json:
        data = addResolution(summaryJSON(verdicts, status), resolver)
        print(json.dumps(data, indent=2), file=out)
    else:
        lines = verdict.lines(verbose=options.verbose)
        if options.verbose:
            lines = [*lines, *resolutionLines(resolver)]
        print("\n".join(lines), file=out)
    return status


def run(options: argparse.Namespace) -> int:
    checkOptions(options)
    if getattr(options, "history", None) is not None:
        from txdane.cli._history import readHistory

        readHistory(options.history)  # a file that cannot be used is refused before any lookup
    settings = resolverSettings(options)

    async def main(reactor: Any) -> int:
        return await execute(reactor, settings.build(reactor), options, sys.stdout, Progress())

    return runOnReactor(main)

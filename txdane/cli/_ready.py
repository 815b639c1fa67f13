"""
C{txdane check HOST PORT --ready CERT}: the rollover gate (RFC 7671 section 8.1, "current +
next"). The gate is open, exit status 0, only when:

  1. the validating resolver sees the TLSA RRset of the service secure, with a DANE-EE record
     that matches CERT;
  2. every authoritative server of the zone (its NS records, each address asked directly,
     without recursion) serves the TLSA RRset with a record matching CERT and an RRSIG that
     verifies with the zone's DNSKEY RRset (itself secure to the validating resolver);
  3. that has been so for at least the largest TTL caches may still hold the RRset with: the
     TTL served now, and every larger one it had before (the largest any server gave in an
     earlier look, the record there or not, or that of the RRset C{txdane publish} replaced)
     until one such TTL has passed since it was found replaced. Resolvers that cached the
     RRset before it had the record have then dropped their copy. The TTL served now is not
     enough: an RRset of TTL 3600 replaced by one of TTL 60 stays in caches for up to 3600 s;
     a TTL lowered longer ago than itself no longer holds anything up.

When the record was first seen everywhere, and the TTLs the RRset has had, are kept in a state
file (C{--state}, L{txdane.cli._gatestate}); a look that finds the record missing anywhere
forgets when it was first seen, so the wait starts again.

The whole look takes at most the C{--timeout}: the authoritative servers are asked at once, and
when the validating resolver cannot be reached nothing more is asked of it (the zone, its keys
and its servers are all found through it), so that is said once.

A CNAME (or DNAME) at C{_PORT._tcp.HOST} is followed as DANE clients follow it (RFC 7671
section 7): the records are those at the end of the chain the validating resolver proves, so the
servers asked in step 2 are those of the target's zone, asked for the target name. (The alias
itself does not change in a rollover; it is proven by step 1.)
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.dnssec
import dns.exception
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from twisted.internet import defer

from txdane.cli import ExitStatus, UsageError
from txdane.cli._common import pathError
from txdane.cli._gatestate import readState, writeState
from txdane.errors import LookupFailedError, TxdaneError


@dataclass
class ReadyReport:
    """
    What the gate found.

    @ivar owner: the TLSA owner name.
    @ivar target: where a CNAME or DNAME chain at C{owner} ends, or C{None} without one.
    @ivar record: the record of the next certificate.
    @ivar missing: what keeps the gate closed, one line each.
    @ivar servers: per authoritative server address, what it serves.
    @ivar ttl: the largest TTL of the RRset seen in this look.
    @ivar wait: the seconds the record must have been seen everywhere: the largest TTL caches
        may still hold the RRset with (this look's, or one it had before, found replaced less
        than that TTL ago; see L{txdane.cli._gatestate.GateState.wait}).
    @ivar waited: seconds since the record was first seen everywhere, or C{None}.
    """

    owner: str
    record: str
    target: str | None = None
    missing: list[str] = field(default_factory=list)
    servers: dict[str, str] = field(default_factory=dict)
    ttl: int = 0
    wait: int = 0
    waited: float | None = None

    @property
    def ready(self) -> bool:
        return not self.missing

    def exitStatus(self) -> int:
        return ExitStatus.OK if self.ready else ExitStatus.NOT_READY

    def lines(self) -> list[str]:
        verdict = "ready: switch to the next certificate" if self.ready else "not ready"
        lines = [f"{self.owner} TLSA  {verdict}", f"  next record  {self.record}"]
        if self.target is not None:
            lines.append(f"  alias of    {self.target}")
        for server, seen in sorted(self.servers.items()):
            lines.append(f"  {server}  {seen}")
        if self.waited is not None:
            lines.append(f"  visible everywhere for {self.waited:.0f} s ({self._ttls()})")
        lines.extend(f"  missing  {line}" for line in self.missing)
        return lines

    def _ttls(self) -> str:
        """
        The TTL the wait covers, and where it comes from when it is not this look's.
        """
        if self.wait > self.ttl:
            return f"TTL {self.ttl}, {self.wait} before"
        return f"TTL {self.ttl}"

    def toJSON(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "record": self.record,
            "target": self.target,
            "ready": self.ready,
            "servers": self.servers,
            "ttl": self.ttl,
            "wait": self.wait,
            "visible_for": self.waited,
            "missing": self.missing,
        }


def _matches(rrset: dns.rrset.RRset, cert: Any) -> bool:
    from txdane.dane.tlsa import TLSARecord, recordForCertificate

    for rdata in rrset:
        record = TLSARecord.fromRdata(rdata)
        if record.usage != 3 or record.selector not in (0, 1):
            continue
        if record.matchingType not in (0, 1, 2):
            continue
        if recordForCertificate(cert, 3, record.selector, record.matchingType) == record:
            return True
    return False


class OutOfTimeError(TxdaneError):
    """
    The look as a whole took longer than its timeout.

    @ivar what: the question asked, e.g. C{"example.test. NS"}.
    @ivar timeout: the seconds the whole look may take.
    """

    what: str
    timeout: float
    template = "{what}: no answer within the --timeout of {timeout:g} s"


class _Deadline:
    """
    The time by which the whole look must end: each step gets what is left of it.
    """

    def __init__(self, reactor: Any, timeout: float) -> None:
        self.reactor = reactor
        self.timeout = timeout
        self.end = reactor.seconds() + timeout

    async def within(self, pending: Awaitable[Any], question: str) -> Any:
        """
        The result of C{pending}, or L{OutOfTimeError} when it does not come in time.
        """
        d: defer.Deferred[Any] = defer.ensureDeferred(pending)  # type: ignore[arg-type]
        left = self.end - self.reactor.seconds()
        if left <= 0 and not d.called:
            d.cancel()
            d.addErrback(lambda _: None)  # the cancellation is reported as out of time
            raise OutOfTimeError(question, self.timeout)
        d.addTimeout(max(left, 0), self.reactor)
        try:
            return await d
        except defer.TimeoutError:
            raise OutOfTimeError(question, self.timeout) from None


def _unreachable(error: TxdaneError) -> bool:
    """
    Whether C{error} says the resolver could not be reached at all (no answer in time, no
    route, nothing listening), rather than that it answered with a failure.
    """
    if isinstance(error, OutOfTimeError):
        return True
    if not isinstance(error, LookupFailedError):
        return False
    from txdane.transport import DNSConnectionError, DNSTimeoutError
    from txdane.validation.ede import EDE

    if isinstance(error.cause, (DNSTimeoutError, DNSConnectionError)):
        return True
    return error.cause is None and error.ede in (EDE.NO_REACHABLE_AUTHORITY, EDE.NETWORK_ERROR)


def _resolverName(resolver: Any) -> str:
    """
    The addresses of the recursive resolvers C{resolver} asks, when it says (C{" (ADDR, ...)"}).
    """
    servers = getattr(getattr(resolver, "querier", None), "servers", None) or ()
    names = ", ".join(str(server) for server in servers)
    return f" ({names})" if names else ""


def _reason(error: TxdaneError, question: str) -> str:
    """
    Why C{error} failed, without the question it repeats when it has one.
    """
    reason = error.reason if isinstance(error, LookupFailedError) else str(error)
    for prefix in (f"{question}: ", f"query {question}: "):
        if reason.startswith(prefix):
            return reason[len(prefix) :]
    return reason


async def _zoneOf(resolver: Any, owner: dns.name.Name, deadline: _Deadline) -> dns.name.Name:
    """
    The zone C{owner} is in: the closest enclosing name with an SOA record.

    @raise TxdaneError: when a lookup fails; guessing on (at worst the root) would blame a
        zone that has nothing to do with it.
    """
    name = owner
    while True:
        answer = await deadline.within(resolver.lookup(name, dns.rdatatype.SOA), f"{name} SOA")
        if answer.rrset is not None and answer.rrset.name == name:
            return name
        if name == dns.name.root:
            return name
        name = name.parent()


async def _addresses(
    resolver: Any, zone: dns.name.Name, deadline: _Deadline, missing: list[str]
) -> list[tuple[str, str]]:
    """
    The (name server, address) pairs of C{zone}.

    A name server whose address cannot be found (a lookup that fails, or no A and no AAAA
    records) is added to C{missing}: it may be the one that still serves the RRset without
    the record, so the gate stays closed until it is asked.
    """
    answer = await deadline.within(resolver.lookup(zone, dns.rdatatype.NS), f"{zone} NS")
    # Every address is asked for at once: one slow name server does not hold up the others.
    pending = [
        (ns.target, rdtype, defer.ensureDeferred(resolver.lookup(ns.target, rdtype)))
        for ns in answer.rrset or ()
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
    ]
    found: list[tuple[str, str]] = []
    failed: dict[str, str] = {}
    names: list[str] = []
    for target, rdtype, d in pending:
        name = target.to_text(omit_final_dot=True)
        if name not in names:
            names.append(name)
        question = f"{target} {dns.rdatatype.to_text(rdtype)}"
        try:
            addresses = await deadline.within(d, question)
        except TxdaneError as e:
            failed.setdefault(name, f"{question}: {_reason(e, question)}")
            continue
        for rdata in addresses.rrset or ():
            found.append((name, rdata.address))
    for name in names:
        if name in failed:
            missing.append(f"the address of NS {name} could not be found: {failed[name]}")
        elif not any(server == name for server, _ in found):
            missing.append(
                f"the address of NS {name} could not be found: it has no A or AAAA records"
            )
    return found


async def checkReady(
    reactor: Any,
    resolver: Any,
    host: str,
    port: int,
    certPath: Path,
    statePath: Path,
    now: float,
    timeout: float,
    authorityPort: int = 53,
) -> ReadyReport:
    """
    Look whether the service may switch to the certificate in C{certPath} (see the module
    docstring), and update the state file.

    @param timeout: the seconds the whole look may take.
    @raise UsageError: when the certificate or the state file cannot be used.
    """
    from txdane.dane.tlsa import loadCertificateOrKey, recordForCertificate
    from txdane.errors import TLSAFormatError
    from txdane.names import tlsaName

    try:
        cert = loadCertificateOrKey(certPath.read_bytes())
    except OSError as e:
        raise pathError("--ready", certPath, e) from None
    except TLSAFormatError as e:
        raise UsageError(f"--ready {certPath}: {e}") from None
    from cryptography import x509

    if not isinstance(cert, x509.Certificate):
        raise UsageError(f"--ready {certPath}: a key, not a certificate")
    # A state file that cannot be used is refused before the servers are asked.
    state = readState(statePath)
    owner = tlsaName(host, port)
    record = recordForCertificate(cert)
    report = ReadyReport(owner.to_text(), str(record))
    key = f"{owner.to_text()} TLSA {record}"
    deadline = _Deadline(reactor, timeout)
    everywhere = await _look(reactor, resolver, report, owner, cert, now, deadline, authorityPort)

    # The TTL is kept for the name the servers were asked for (the end of a CNAME chain):
    # that is the RRset caches hold, and the one txdane publish replaces.
    name = report.target or report.owner
    state.seen(name, report.ttl, now, everywhere)
    report.wait = state.wait(name, now)
    if report.missing:
        state.firstSeen.pop(key, None)
    else:
        first = state.firstSeen.setdefault(key, now)
        report.waited = now - first
        if report.waited < report.wait:
            before = "" if report.wait == report.ttl else " the RRset had before"
            report.missing.append(
                f"visible everywhere for {report.waited:.0f} s, less than the TTL{before} "
                f"{report.wait} s: caches may still hold the RRset without it"
            )
    writeState(statePath, state)
    return report


async def _look(
    reactor: Any,
    resolver: Any,
    report: ReadyReport,
    owner: dns.name.Name,
    cert: Any,
    now: float,
    deadline: _Deadline,
    authorityPort: int,
) -> bool:
    """
    Ask the validating resolver, then every authoritative server, filling C{report}.

    @return: whether every authoritative server of the zone answered, so that a TTL none of
        them gives (C{report.ttl} is the largest they give) is no longer served.
    """
    from txdane.status import Status
    from txdane.transport import DNSClient

    question = f"{owner} TLSA"
    try:
        seen = await deadline.within(resolver.lookup(owner, dns.rdatatype.TLSA), question)
    except TxdaneError as e:
        if _unreachable(e):
            report.missing.append(
                f"the validating resolver{_resolverName(resolver)} could not be reached, "
                f"asked for {question}: {_reason(e, question)}"
            )
            return False
        report.missing.append(f"the validating resolver: {e}")
        seen = None
    if seen is not None:
        if seen.status is not Status.SECURE:
            report.missing.append(f"the validating resolver sees the TLSA records {seen.status}")
        elif seen.rrset is None or not _matches(seen.rrset, cert):
            report.missing.append("the validating resolver sees no record for the certificate")
    # Where the records live: the end of a CNAME/DNAME chain at the owner name.
    target = seen.canonicalName if seen is not None else owner
    if target != owner:
        report.target = target.to_text()
    try:
        zone = await _zoneOf(resolver, target, deadline)
    except TxdaneError as e:
        report.missing.append(f"the zone of {target} (its SOA record): {e}")
        return False
    try:
        keys = await deadline.within(resolver.lookup(zone, dns.rdatatype.DNSKEY), f"{zone} DNSKEY")
    except TxdaneError as e:
        keys = None
        report.missing.append(f"the DNSKEY records of {zone}: {e}")
    if keys is not None and (keys.status is not Status.SECURE or keys.rrset is None):
        report.missing.append(f"the DNSKEY records of {zone} are not secure ({keys.status})")
        keys = None
    lacking = len(report.missing)
    try:
        servers = await _addresses(resolver, zone, deadline, report.missing)
    except TxdaneError as e:
        servers = []
        report.missing.append(f"the NS records of {zone}: {e}")
    if not servers:
        report.missing.append(f"no authoritative server address found for {zone}")
    # A name server whose address could not be found is one not heard from.
    everywhere = len(report.missing) == lacking
    # Every server is asked at once, so that the look takes one timeout, not one per server.
    timeout = max(deadline.end - reactor.seconds(), 0.001)
    pending = [
        (
            name,
            address,
            defer.ensureDeferred(
                DNSClient(
                    reactor, [(address, authorityPort)], timeout=timeout, attempts=1, rotate=False
                ).query(target, dns.rdatatype.TLSA, dnssecOK=True, recursionDesired=False)
            ),
        )
        for name, address in servers
    ]
    for name, address, d in pending:
        where = f"{name} ({address})"
        try:
            response: dns.message.Message = await deadline.within(d, f"{target} TLSA")
        except TxdaneError as e:
            report.servers[where] = f"no answer: {e}"
            report.missing.append(f"{where} did not answer: {e}")
            everywhere = False
            continue
        rrset = response.get_rrset(response.answer, target, dns.rdataclass.IN, dns.rdatatype.TLSA)
        sigs = response.get_rrset(
            response.answer, target, dns.rdataclass.IN, dns.rdatatype.RRSIG, dns.rdatatype.TLSA
        )
        if rrset is None:
            report.servers[where] = "no TLSA records"
            report.missing.append(f"{where} serves no TLSA records")
            continue
        report.ttl = max(report.ttl, rrset.ttl)
        if not _matches(rrset, cert):
            report.servers[where] = f"{len(rrset)} record(s), none for the certificate"
            report.missing.append(f"{where} does not serve the record yet")
            continue
        if keys is not None:
            try:
                if sigs is None:
                    raise dns.dnssec.ValidationFailure("no RRSIG")
                dns.dnssec.validate(rrset, sigs, {zone: keys.rrset}, now=now)
            except (dns.dnssec.ValidationFailure, dns.exception.DNSException) as e:
                report.servers[where] = f"the record, but its signature fails: {e}"
                report.missing.append(f"{where} serves the record without a valid RRSIG")
                continue
        report.servers[where] = f"the record, signed ({len(rrset)} record(s), TTL {rrset.ttl})"
    return everywhere

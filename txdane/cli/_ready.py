"""
C{txdane check HOST PORT --ready CERT}: the rollover gate (RFC 7671 section 8.1, "current +
next"). The gate is open, exit status 0, only when:

  1. the validating resolver sees the TLSA RRset of the service secure, with a DANE-EE record
     that matches CERT;
  2. every authoritative server of the zone (its NS records, each address asked directly,
     without recursion) serves the TLSA RRset with a record matching CERT and an RRSIG that
     verifies with the zone's DNSKEY RRset (itself secure to the validating resolver);
  3. that has been so for at least the TTL of the RRset (the largest any server gives):
     resolvers that cached the RRset before it had the record have dropped their copy.

When the record was first seen everywhere is kept in a state file (C{--state}), a JSON object
from C{"OWNER TLSA RECORD"} to a POSIX time; a look that finds it missing anywhere removes its
entry, so the wait starts again.

A CNAME (or DNAME) at C{_PORT._tcp.HOST} is followed as DANE clients follow it (RFC 7671
section 7): the records are those at the end of the chain the validating resolver proves, so the
servers asked in step 2 are those of the target's zone, asked for the target name. (The alias
itself does not change in a rollover; it is proven by step 1.)
"""

from __future__ import annotations

import json
import os
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

from txdane.cli import ExitStatus, UsageError
from txdane.errors import TxdaneError
from txdane.files import writeAtomically

#: The state file's default place.
DEFAULT_STATE = "~/.local/state/txdane/ready.json"


def defaultStatePath() -> Path:
    """
    The default state file: C{$XDG_STATE_HOME/txdane/ready.json}, else L{DEFAULT_STATE}.
    """
    base = os.environ.get("XDG_STATE_HOME")
    if base:
        return Path(base) / "txdane" / "ready.json"
    return Path(DEFAULT_STATE).expanduser()


@dataclass
class ReadyReport:
    """
    What the gate found.

    @ivar owner: the TLSA owner name.
    @ivar target: where a CNAME or DNAME chain at C{owner} ends, or C{None} without one.
    @ivar record: the record of the next certificate.
    @ivar missing: what keeps the gate closed, one line each.
    @ivar servers: per authoritative server address, what it serves.
    @ivar ttl: the largest TTL of the RRset seen.
    @ivar waited: seconds since the record was first seen everywhere, or C{None}.
    """

    owner: str
    record: str
    target: str | None = None
    missing: list[str] = field(default_factory=list)
    servers: dict[str, str] = field(default_factory=dict)
    ttl: int = 0
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
            lines.append(f"  visible everywhere for {self.waited:.0f} s (TTL {self.ttl})")
        lines.extend(f"  missing  {line}" for line in self.missing)
        return lines

    def toJSON(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "record": self.record,
            "target": self.target,
            "ready": self.ready,
            "servers": self.servers,
            "ttl": self.ttl,
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


async def _zoneOf(resolver: Any, owner: dns.name.Name) -> dns.name.Name:
    name = owner
    while True:
        try:
            answer = await resolver.lookup(name, dns.rdatatype.SOA)
        except TxdaneError:
            answer = None
        if answer is not None and answer.rrset is not None and answer.rrset.name == name:
            return name
        if name == dns.name.root:
            return name
        name = name.parent()


async def _addresses(resolver: Any, zone: dns.name.Name) -> list[tuple[str, str]]:
    """
    The (name server, address) pairs of C{zone}.
    """
    answer = await resolver.lookup(zone, dns.rdatatype.NS)
    found: list[tuple[str, str]] = []
    for ns in answer.rrset or ():
        target = ns.target
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                addresses = await resolver.lookup(target, rdtype)
            except TxdaneError:
                continue
            for rdata in addresses.rrset or ():
                found.append((target.to_text(omit_final_dot=True), rdata.address))
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
    """
    from txdane.dane.tlsa import loadCertificateOrKey, recordForCertificate
    from txdane.errors import TLSAFormatError
    from txdane.names import tlsaName
    from txdane.status import Status
    from txdane.transport import DNSClient

    try:
        cert = loadCertificateOrKey(certPath.read_bytes())
    except OSError as e:
        raise UsageError(f"cannot read {certPath}: {e.strerror or e}") from None
    except TLSAFormatError as e:
        raise UsageError(f"{certPath}: {e}") from None
    from cryptography import x509

    if not isinstance(cert, x509.Certificate):
        raise UsageError(f"{certPath}: --ready takes a certificate, not a key")
    owner = tlsaName(host, port)
    record = recordForCertificate(cert)
    report = ReadyReport(owner.to_text(), str(record))
    key = f"{owner.to_text()} TLSA {record}"

    try:
        seen = await resolver.lookup(owner, dns.rdatatype.TLSA)
    except TxdaneError as e:
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
    zone = await _zoneOf(resolver, target)
    try:
        keys = await resolver.lookup(zone, dns.rdatatype.DNSKEY)
    except TxdaneError as e:
        keys = None
        report.missing.append(f"the DNSKEY records of {zone}: {e}")
    if keys is not None and (keys.status is not Status.SECURE or keys.rrset is None):
        report.missing.append(f"the DNSKEY records of {zone} are not secure ({keys.status})")
        keys = None
    try:
        servers = await _addresses(resolver, zone)
    except TxdaneError as e:
        servers = []
        report.missing.append(f"the NS records of {zone}: {e}")
    if not servers:
        report.missing.append(f"no authoritative server address found for {zone}")
    for name, address in servers:
        where = f"{name} ({address})"
        client = DNSClient(
            reactor, [(address, authorityPort)], timeout=timeout, attempts=1, rotate=False
        )
        try:
            response: dns.message.Message = await client.query(
                target, dns.rdatatype.TLSA, dnssecOK=True, recursionDesired=False
            )
        except TxdaneError as e:
            report.servers[where] = f"no answer: {e}"
            report.missing.append(f"{where} did not answer: {e}")
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

    state = _readState(statePath)
    if report.missing:
        state.pop(key, None)
    else:
        first = state.setdefault(key, now)
        report.waited = now - first
        if report.waited < report.ttl:
            report.missing.append(
                f"visible everywhere for {report.waited:.0f} s, less than the TTL "
                f"{report.ttl} s: caches may still hold the RRset without it"
            )
    _writeState(statePath, state)
    return report


def _readState(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise UsageError(f"--state {path}: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"--state {path}: not a JSON object")
    return {str(k): float(v) for k, v in data.items() if isinstance(v, (int, float))}


def _writeState(path: Path, state: dict[str, float]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writeAtomically(path, (json.dumps(state, indent=1, sort_keys=True) + "\n").encode())
    except OSError as e:
        raise UsageError(f"--state {path}: {e.strerror or e}") from None

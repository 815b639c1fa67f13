"""
The verdict on one server (or one certificate file), as C{verify} and C{check} report it: one
line first, then the evidence (addresses, TLSA or SSHFP records, chain or host key, TLS),
the warnings and the fix; or the same facts as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from txdane.cli import ExitStatus
from txdane.cli._advice import Advice
from txdane.cli._evidence import certificateJSON, certificateLines
from txdane.cli._tlsalookup import TLSALookup
from txdane.dane.matching import CheckOutcome, DANEResult, RecordCheck
from txdane.validation.answer import Answer


def checkText(check: RecordCheck) -> str:
    """
    What happened to one record, for people: C{matched at depth 0}, C{no match (...)}.
    """
    if check.outcome is CheckOutcome.MATCHED:
        text = f"matched at depth {check.depth}"
        return f"{text}, but {check.reason}" if check.reason else text
    if check.reason:
        return f"{check.outcome.value} ({check.reason})"
    return check.outcome.value


@dataclass
class HostVerdict:
    """
    The verdict on one server.

    @ivar host: the host name (or, for C{verify}, the name the certificate is checked for).
    @ivar port: the port.
    @ivar verified: whether DANE (or SSHFP) authenticated the server.
    @ivar exitStatus: the exit status this verdict alone gives.
    @ivar headline: the verdict in a few words: C{verified by DANE}, C{refused: ...}.
    @ivar reason: why, one line.
    @ivar tlsa: the TLSA lookup (or given records), if there was one.
    @ivar result: the matcher's verdict, when matching ran.
    @ivar chain: the certificates presented (or read from the file), leaf first.
    @ivar addresses: the addresses connected to or found, as text.
    @ivar addressStatus: their DNSSEC status.
    @ivar tls: the TLS version and server name sent, e.g. C{TLSv1.3, SNI www.example.com}.
    @ivar fix: lines saying what to do about a refusal.
    @ivar extra: further evidence lines: C{(label, [lines])}, e.g. the SSH host key.
    @ivar extraJSON: further JSON keys.
    @ivar warnings: the advice.
    @ivar answer: the answer whose chain of trust C{-v} shows where there is no TLSA lookup
        (C{check --ssh}: the SSHFP answer).
    """

    host: str
    port: int
    verified: bool
    exitStatus: int
    headline: str
    reason: str = ""
    tlsa: TLSALookup | None = None
    result: DANEResult | None = None
    chain: tuple[x509.Certificate, ...] = ()
    addresses: list[str] = field(default_factory=list)
    addressStatus: str = ""
    tls: str = ""
    fix: list[str] = field(default_factory=list)
    extra: list[tuple[str, list[str]]] = field(default_factory=list)
    extraJSON: dict[str, Any] = field(default_factory=dict)
    warnings: list[Advice] = field(default_factory=list)
    status: str | None = None
    matched: dict[str, Any] | None = None
    answer: Answer | None = None

    def __post_init__(self) -> None:
        if self.status is None:
            self.status = self.tlsa.status if self.tlsa is not None else "failed"
        if self.matched is None and self.result is not None and self.result.verified:
            record = self.result.record
            assert record is not None
            self.matched = {
                "record": str(record),
                "mnemonic": record.mnemonic,
                "depth": self.result.depth,
            }
        if self.tlsa is not None:
            self.warnings = list(self.tlsa.warnings) + [
                w for w in self.warnings if w not in self.tlsa.warnings
            ]

    def lines(self, label: str | None = None, *, verbose: bool = False) -> list[str]:
        """
        The report for people; when C{verbose}, with the chain of trust of the TLSA records
        (or of L{answer}).
        """
        lines = [f"{label or f'{self.host}:{self.port}'}  {self.headline}"]
        if self.reason:
            lines.append(f"  {self.reason}")

        def section(name: str, rows: list[str]) -> None:
            for index, row in enumerate(rows):
                lines.append(f"  {name if index == 0 else '':<10} {row}".rstrip())

        if self.addresses or self.addressStatus:
            section("addresses", [f"{', '.join(self.addresses) or '-'}  {self.addressStatus}"])
        if self.tlsa is not None:
            where = "given" if self.tlsa.given is not None else self.tlsa.owner.to_text()
            rows = [f"{where}  {self.tlsa.status}" if self.tlsa.given is None else where]
            if self.tlsa.baseDomain.to_text(omit_final_dot=True) != self.host:
                rows.append(f"base domain {self.tlsa.baseLine()}")
            checks = None
            if self.result is not None:
                checks = {c.record: checkText(c) for c in self.result.checks}
            rows += self.tlsa.recordLines(checks)
            section("TLSA", rows)
        for name, rows in self.extra:
            section(name, rows)
        if self.chain:
            section("chain", certificateLines(self.chain))
        if self.tls:
            section("TLS", [self.tls])
        for warning in self.warnings:
            section("warning", warning.lines())
        if self.fix:
            section("fix", self.fix)
        answer = self.tlsa.answer if self.tlsa is not None else self.answer
        if verbose and answer is not None:
            from txdane.cli.lookup import _trustLines

            lines.extend(_trustLines(answer.trustChain, answer.signatures))
        return lines

    def toJSON(self) -> dict[str, Any]:
        """
        The JSON form: C{host}, C{port}, C{verified}, C{matched}, C{status}, C{reason},
        C{warnings}, C{exit_status}, and the evidence (C{tlsa_name}, C{base_domain},
        C{records}, C{chain}, C{addresses}, C{address_status}, C{tls}).
        """
        records: list[dict[str, Any]] = []
        if self.tlsa is not None:
            checks = {c.record: c for c in self.result.checks} if self.result else {}
            for record in self.tlsa.records:
                entry = self.tlsa.recordJSON(record)
                check = checks.get(record)
                entry["outcome"] = check.outcome.value if check else None
                entry["depth"] = check.depth if check else None
                entry["outcome_reason"] = check.reason if check else ""
                records.append(entry)
        data: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "verified": self.verified,
            "matched": self.matched,
            "status": self.status,
            "reason": self.reason or self.headline,
            "warnings": [w.toJSON() for w in self.warnings],
            "exit_status": self.exitStatus,
            "tlsa_name": self.tlsa.owner.to_text() if self.tlsa is not None else None,
            "base_domain": self.tlsa.baseDomain.to_text() if self.tlsa is not None else None,
            "ede": self.tlsa.ede if self.tlsa is not None else None,
            "records": records,
            "chain": certificateJSON(self.chain),
            "addresses": list(self.addresses),
            "address_status": self.addressStatus or None,
            "tls": self.tls or None,
        }
        data.update(self.extraJSON)
        return data


def summaryJSON(verdicts: list[HostVerdict], exitStatus: int, **extra: Any) -> dict[str, Any]:
    """
    The JSON object of a command: for one host, its keys; for several, the overall verdict
    (C{verified} only when every host is). C{hosts} lists every host either way.
    """
    hosts = [v.toJSON() for v in verdicts]
    if len(verdicts) == 1 and not extra:
        data = dict(hosts[0])
    else:
        warnings = [w for v in verdicts for w in v.toJSON()["warnings"]]
        data = {
            "verified": bool(verdicts) and all(v.verified for v in verdicts),
            "matched": None,
            "status": extra.pop("status", None),
            "reason": extra.pop("reason", ""),
            "warnings": warnings,
            "exit_status": exitStatus,
        }
        data.update(extra)
    data["exit_status"] = exitStatus
    data["hosts"] = hosts
    return data


#: The exit status of a verdict that is neither verified nor a lookup problem.
REFUSED = ExitStatus.NOT_VERIFIED

"""
C{txdane check --mx DOMAIN}: the MX hosts of a domain as the library's MX planner
(L{planMX<txdane.endpoints.mx.planMX>}, RFC 7672) finds and orders them, each checked over
SMTP STARTTLS with the endpoint a C{dane:mx=} connection would use for it; like Postfix's
C{posttls-finger DOMAIN}, but every host, not only the first that answers.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from txdane.cli import ExitStatus
from txdane.cli._evidence import RecordingResolver
from txdane.cli._target import Progress, worst
from txdane.cli._verdict import HostVerdict, summaryJSON
from txdane.status import Status


@dataclass
class PlanReport:
    """
    The verdict on every host of a plan (the MX hosts of a domain, the SRV targets of a
    service): the lookup that found them, then one L{HostVerdict} per host.

    @ivar service: what was planned for, e.g. C{MX of example.com}.
    @ivar label: the row label of the lookup (C{MX}, C{SRV}).
    @ivar owner: the name looked up.
    @ivar status: the lookup's status (C{secure}, C{insecure}, C{bogus}, C{indeterminate},
        C{failed}).
    @ivar records: the records found, as text.
    @ivar headline: the verdict in a few words.
    @ivar reason: why, when no host was checked.
    @ivar verdicts: one per host, in the planner's order.
    @ivar exitStatus: the worst of the hosts', or that of the lookup when it failed.
    @ivar extraJSON: further JSON keys (C{domain}, C{port}, C{mx} ...).
    """

    service: str
    label: str
    owner: str
    status: str
    records: list[str]
    headline: str
    exitStatus: int
    reason: str = ""
    verdicts: list[HostVerdict] = field(default_factory=list)
    extraJSON: dict[str, Any] = field(default_factory=dict)

    def lines(self, verbose: bool = False) -> list[str]:
        lines = [f"{self.service}  {self.headline}"]
        if self.reason:
            lines.append(f"  {self.reason}")
        rows = [f"{self.owner}  {self.status}", *self.records]
        for index, row in enumerate(rows):
            lines.append(f"  {self.label if index == 0 else '':<10} {row}".rstrip())
        skipped = self.extraJSON.get("skipped", [])
        if skipped:
            lines.append(f"  {'skipped':<10} {', '.join(skipped)} (beyond --max-hosts)")
        for verdict in self.verdicts:
            lines.append("")
            lines.extend(verdict.lines(verbose=verbose))
        return lines

    def toJSON(self) -> dict[str, Any]:
        return summaryJSON(
            self.verdicts,
            self.exitStatus,
            status=self.status,
            reason=self.reason or self.headline,
            **self.extraJSON,
        )


def capped(candidates: list[Any], options: argparse.Namespace, extra: dict[str, Any]) -> list[Any]:
    """
    The first C{--max-hosts} candidates, as the connection would try them; the others are
    listed under C{skipped} in C{extra}.
    """
    from txdane.endpoints.planner import DEFAULT_MAX_HOSTS

    limit = options.max_hosts or DEFAULT_MAX_HOSTS
    extra["skipped"] = [f"{c.host}:{c.port}" for c in candidates[limit:]]
    return candidates[:limit]


def planHeadline(verdicts: list[HostVerdict], what: str) -> tuple[str, int]:
    """
    The verdict on every host of a plan: verified only when every host is.
    """
    status = worst([v.exitStatus for v in verdicts])
    count = len(verdicts)
    verified = sum(v.verified for v in verdicts)
    if verdicts and verified == count:
        return f"verified: every {what} ({count}) verified by DANE", status
    return f"not verified: {verified} of {count} {what}s verified by DANE", status


async def checkPlan(
    reactor: Any,
    resolver: Any,
    candidates: list[Any],
    now: float,
    options: argparse.Namespace,
    progress: Progress,
) -> list[HostVerdict]:
    """
    Check each candidate in turn, showing which on a terminal.
    """
    from txdane.cli._checktls import checkCandidate

    verdicts = []
    for index, candidate in enumerate(candidates, 1):
        progress.show(f"[{index}/{len(candidates)}] checking {candidate.host}:{candidate.port} ...")
        verdicts.append(await checkCandidate(reactor, resolver, candidate, now, options.timeout))
    return verdicts


#: The exit status of an MX or SRV lookup that stops the check, by its status (else 4).
LOOKUP_EXIT = {
    Status.BOGUS: ExitStatus.BOGUS,
    Status.INDETERMINATE: ExitStatus.INDETERMINATE,
}


async def checkMX(
    reactor: Any,
    resolver: Any,
    domain: str,
    port: int,
    now: float,
    options: argparse.Namespace,
    progress: Progress,
) -> PlanReport:
    """
    Plan the MX hosts of C{domain} with L{planMX<txdane.endpoints.mx.planMX>} and check each.
    """
    from txdane.endpoints.errors import MXLookupError, NoSuchDomainError, NullMXError
    from txdane.endpoints.mx import planMX
    from txdane.validation.answer import Answer

    recorder = RecordingResolver(resolver)
    progress.show(f"looking up the MX records of {domain} ...")
    service = f"MX of {domain}"
    extra: dict[str, Any] = {"domain": domain, "port": port, "mx": [], "null_mx": False}

    def lookup() -> tuple[str, list[str]]:
        answer = recorder.outcome(domain, "MX")
        if not isinstance(answer, Answer):
            return "failed", []
        records: list[Any] = sorted(answer.records, key=lambda r: (r.preference, r.exchange))
        extra["mx"] = [
            {"preference": r.preference, "host": r.exchange.to_text(omit_final_dot=True)}
            for r in records
        ]
        return answer.status.value, [r.to_text() for r in records] or [_absent(answer)]

    def report(headline: str, exitStatus: int, **kw: Any) -> PlanReport:
        status, records = lookup()
        if status != "failed" and not extra["mx"] and not kw.get("reason"):
            records = [f"no MX records: the domain itself is the mail host ({domain})"]
        return PlanReport(
            service,
            "MX",
            f"{domain}.",
            status,
            records,
            headline,
            exitStatus,
            extraJSON=extra,
            **kw,
        )

    try:
        # The report lists hosts of equal preference by name, not at random.
        candidates = await planMX(recorder, domain, port, shuffle=lambda group: group.sort())
    except NullMXError as e:
        extra["null_mx"] = True
        return report("no mail service: null MX (RFC 7505)", ExitStatus.INSECURE, reason=e.reason)
    except NoSuchDomainError as e:
        # The check is complete: the domain provably has no mail service (as for a null MX).
        status, _ = lookup()
        proof = "proven by DNSSEC" if status == Status.SECURE.value else f"{status}: not proven"
        return report(f"no such domain ({proof})", ExitStatus.INSECURE, reason=e.reason)
    except MXLookupError as e:
        exitStatus = LOOKUP_EXIT.get(e.status, ExitStatus.FAILURE)  # type: ignore[arg-type]
        headline = "not checked: the MX lookup cannot be used (mail would be deferred)"
        return report(headline, exitStatus, reason=e.reason)
    candidates = capped(candidates, options, extra)
    verdicts = await checkPlan(reactor, recorder, candidates, now, options, progress)
    return report(*planHeadline(verdicts, "MX host"), verdicts=verdicts)


def _absent(answer: Any) -> str:
    return "no such domain (NXDOMAIN)" if not answer.exists and answer.rcode else "no MX records"

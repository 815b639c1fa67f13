"""
C{txdane check --srv SERVICE DOMAIN}: the targets of a service as the library's SRV endpoint
(L{SRVEndpoint<txdane.endpoints.srv.SRVEndpoint>}, RFC 7673, XEP-0368) finds and orders
them, each connected to the way that endpoint connects to it (direct TLS or the service's
STARTTLS, DANE where RFC 7673 allows it, else PKIX for the service domain), and the verdict
on each.
"""

from __future__ import annotations

import argparse
from typing import Any

from twisted.internet.protocol import Factory

from txdane.cli import ExitStatus
from txdane.cli._checkmx import LOOKUP_EXIT, PlanReport, capped, planHeadline
from txdane.cli._checktls import (
    Quiet,
    addressFailure,
    connectedVerdict,
    connectionFacts,
    connectionFailure,
    foundTLSA,
    pkixFailed,
    refusedByDANE,
    unfinishedSTARTTLS,
)
from txdane.cli._evidence import RecordingResolver
from txdane.cli._target import Progress
from txdane.cli._verdict import HostVerdict
from txdane.names import nameFromText
from txdane.status import Status


class _InOrder:
    """
    A random source that always picks the first candidate: the report lists targets of equal
    priority in a fixed order (weight 0 first, direct TLS first, then by name), not at random.
    """

    def randint(self, a: int, b: int) -> int:
        return a


async def checkSRV(
    reactor: Any,
    resolver: Any,
    serviceName: str,
    domain: str,
    now: float,
    options: argparse.Namespace,
    progress: Progress,
) -> PlanReport:
    """
    Plan the targets of C{serviceName} at C{domain} with L{SRVEndpoint
    <txdane.endpoints.srv.SRVEndpoint>} and check each.
    """

    from txdane.dane.matching import DANEResult
    from txdane.endpoints.errors import ServiceNotOfferedError, SRVLookupError
    from txdane.endpoints.srv import SRVEndpoint
    from txdane.endpoints.srvplan import lookupNames
    from txdane.validation.answer import Answer

    recorder = RecordingResolver(resolver)
    results: list[DANEResult] = []
    endpoint = SRVEndpoint(
        reactor,
        recorder,
        serviceName,
        domain,
        timeout=options.timeout,
        observer=results.append,
        random=_InOrder(),
    )
    service = f"{endpoint.srv.name} of {endpoint.domain}"
    names = list(lookupNames(endpoint.srv, nameFromText(endpoint.domain)))
    extra: dict[str, Any] = {"domain": endpoint.domain, "service": endpoint.srv.name, "srv": []}

    def lookup() -> tuple[str, str, list[str]]:
        statuses, rows = [], []
        for index, name in enumerate(names):
            answer = recorder.outcome(name, "SRV")
            status = answer.status.value if isinstance(answer, Answer) else "failed"
            statuses.append(status)
            if index:
                rows.append(f"{name}  {status}")
            if not isinstance(answer, Answer):
                continue
            records: list[Any] = sorted(answer.records, key=lambda r: (r.priority, -r.weight))
            rows += [r.to_text() for r in records] or ["no SRV records"]
            extra["srv"] += [
                {
                    "name": name.to_text(),
                    "priority": r.priority,
                    "weight": r.weight,
                    "port": r.port,
                    "target": r.target.to_text(omit_final_dot=True),
                    "status": status,
                }
                for r in records
            ]
        weakest = ("failed", "bogus", "indeterminate", "insecure")
        worst = next((s for s in weakest if s in statuses), "secure")
        return names[0].to_text(), worst, rows

    def report(headline: str, exitStatus: int, **kw: Any) -> PlanReport:
        owner, status, rows = lookup()
        return PlanReport(
            service, "SRV", owner, status, rows, headline, exitStatus, extraJSON=extra, **kw
        )

    progress.show(f"looking up the SRV records of {endpoint.domain} ...")
    try:
        candidates = list(await endpoint.planner())
    except SRVLookupError as e:
        exitStatus = LOOKUP_EXIT.get(e.status, ExitStatus.FAILURE)  # type: ignore[arg-type]
        return report("not checked: the SRV lookup cannot be used", exitStatus, reason=str(e))
    except ServiceNotOfferedError as e:
        return report("service not offered", ExitStatus.INSECURE, reason=str(e))
    candidates = capped(candidates, options, extra)
    verdicts = []
    for index, candidate in enumerate(candidates, 1):
        progress.show(f"[{index}/{len(candidates)}] checking {candidate.host}:{candidate.port} ...")
        results.clear()
        verdicts.append(await _checkTarget(endpoint, recorder, candidate, results, now))
    return report(*planHeadline(verdicts, "target"), verdicts=verdicts)


def _addresses(recorder: RecordingResolver, host: str) -> tuple[list[str], str]:
    """
    The addresses of C{host} the connection used, and their status (the weaker of A and
    AAAA).
    """
    from txdane.validation.answer import Answer

    found: list[str] = []
    statuses = []
    for rdtype in ("A", "AAAA"):
        answer = recorder.outcome(host, rdtype)
        if isinstance(answer, Answer):
            statuses.append(answer.status)
            found += [r.to_text() for r in answer.records if r.rdtype in (1, 28)]
    order = (Status.BOGUS, Status.INDETERMINATE, Status.INSECURE, Status.SECURE)
    status = next((s.value for s in order if s in statuses), "failed")
    return sorted(found), status


async def _checkTarget(
    endpoint: Any, recorder: RecordingResolver, candidate: Any, results: list[Any], now: float
) -> HostVerdict:
    """
    Connect to one target with the SRV endpoint's own per-target step and describe it.
    """
    from twisted.internet.error import ConnectError

    from txdane.adapters import AddressLookupError
    from txdane.dane.errors import (
        DANEPolicyError,
        DANEVerificationError,
        PKIXVerificationError,
    )
    from txdane.endpoints.connection import IDANEConnection
    from txdane.endpoints.errors import StartTLSError
    from txdane.endpoints.planner import HostFailed

    host, port, target = candidate.host, candidate.port, candidate.target
    how = {
        "starttls": target.service.starttls,
        "protection": None,
        "srv_service": target.service.name,
        "srv_secure": target.secure,
    }

    def evidence() -> dict[str, Any]:
        found = foundTLSA(recorder, host, port, "tcp")
        addresses, addressStatus = _addresses(recorder, host)
        kept: dict[str, Any] = dict(
            addresses=addresses, addressStatus=addressStatus, extraJSON=dict(how)
        )
        if found is not None:
            kept["tlsa"] = found
        else:
            kept["status"] = "not consulted"
        return kept

    def described(verdict: HostVerdict, protection: str | None) -> HostVerdict:
        verdict.extraJSON = {**how, "protection": protection}
        via = f"STARTTLS {target.service.starttls}" if target.service.starttls else "direct TLS"
        source = f"from _{target.service.name}._tcp" if not target.implicit else "no SRV records"
        verdict.extra.append(("protection", [f"{protection or 'none'} ({via}, {source})"]))
        return verdict

    try:
        try:
            protocol: Any = await endpoint.connectCandidate(
                candidate, Factory.forProtocol(Quiet), lambda reason: None
            )
        except HostFailed as failed:
            raise failed.error from None
    except DANEPolicyError as e:
        kept = evidence()
        status = kept["tlsa"].exitStatus() if "tlsa" in kept else ExitStatus.NOT_VERIFIED
        return described(
            HostVerdict(host, port, False, status, f"refused: {e.reason}", **kept), None
        )
    except AddressLookupError as e:
        verdict = addressFailure(host, port, e, foundTLSA(recorder, host, port, "tcp"))
        return described(verdict, None)
    except PKIXVerificationError as e:
        return described(pkixFailed(host, port, e.__cause__ or e, "", **evidence()), None)
    except DANEVerificationError as e:
        kept = evidence()
        if "tlsa" in kept:
            kept["tlsa"].addAdvice(now, e.certificates)
        return described(refusedByDANE(host, port, e, **kept), None)
    except StartTLSError as e:
        unfinished = unfinishedSTARTTLS(host, port, e, **evidence())
        if unfinished is not None:
            return described(unfinished, None)
        return described(
            HostVerdict(
                host,
                port,
                False,
                ExitStatus.NOT_VERIFIED,
                "refused: no TLS (an SRV target never continues in cleartext)",
                reason=str(e),
                **evidence(),
            ),
            None,
        )
    except (ConnectError, OSError) as e:
        return described(connectionFailure(host, port, e, **evidence()), None)
    except Exception as e:
        if results:
            return described(connectionFailure(host, port, e, **evidence()), None)
        return described(pkixFailed(host, port, e, "", **evidence()), None)
    info = IDANEConnection(protocol.transport).connectionInfo
    chain, tls = connectionFacts(protocol, info.plan.serverName)
    protocol.transport.loseConnection()
    kept = evidence()
    if "tlsa" in kept:
        kept["tlsa"].addAdvice(now, chain)
    verdict = connectedVerdict(host, port, info.plan, results, chain, tls, False, **kept)
    return described(verdict, str(info.protection))

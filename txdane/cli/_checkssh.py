"""
C{txdane check --ssh HOST [PORT]}: connect with txdane's SSH endpoint, take the host key the
server proves, compare it with the host's SSHFP records, and hang up before logging in.

Where the secure records cover more than one key type, the server's key of each of those
types is judged too, one connection per type with only that type offered: a client that asks
for another type than txdane's endpoint does (OpenSSH asks for Ed25519 first) is judged by
that type's records, so a stale record of any covered type refuses the check. The keys are
fetched in L{txdane.cli._sshkeys}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from txdane.cli import ExitStatus
from txdane.cli._advice import signatureAdvice
from txdane.cli._checktls import addressFailure, connectionFailure
from txdane.cli._peek import PEEK_SECONDS, greetingProtocol, peek
from txdane.cli._sshkeys import KeyCheck, conchAlgorithms, errorText, hostKey, otherKey
from txdane.cli._tlsalookup import STATUS_EXIT
from txdane.cli._verdict import HostVerdict
from txdane.status import Status

if TYPE_CHECKING:
    from txdane.ssh.fingerprints import SSHFPRecord
    from txdane.ssh.verifier import HostKeyVerdict

#: A record's outcome when no key of its type was compared with it.
_NOT_COMPARED = "not compared (another key type or a weaker digest)"


async def checkSSH(
    reactor: Any, resolver: Any, host: str, port: int, now: float, *, timeout: float = 10
) -> HostVerdict:
    """
    Connect to C{host}:C{port} over SSH and judge its host key by the SSHFP records; where
    the secure records cover several key types, judge the server's key of each (one more
    connection per type, each within C{timeout}).
    """
    from twisted.internet.defer import Deferred, gatherResults

    from txdane.adapters import AddressLookupError
    from txdane.cli._evidence import RecordingResolver
    from txdane.ssh import SSHFPLookupError, SSHFPNoCoveredKeyError, checkHostKey
    from txdane.ssh.verifier import coveredAlgorithms
    from txdane.validation.answer import Answer

    recorder = RecordingResolver(resolver)
    try:
        key, answer, ip = await hostKey(reactor, recorder, host, port, timeout)
    except SSHFPLookupError as e:
        status = e.status
        exitStatus = STATUS_EXIT.get(status, ExitStatus.FAILURE) if status else ExitStatus.FAILURE
        recorded = recorder.outcome(host, "SSHFP")
        return HostVerdict(
            host,
            port,
            False,
            exitStatus,
            f"refused: the SSHFP lookup is {status.value if status else 'failed'}",
            reason=e.reason,
            status=status.value if status else "failed",
            answer=recorded if isinstance(recorded, Answer) else None,
        )
    except AddressLookupError as e:
        return addressFailure(host, port, e, None)
    except SSHFPNoCoveredKeyError as e:
        return await _noCoveredKey(resolver, host, port, e, recorder.outcome(host, "SSHFP"))
    except Exception as e:
        sshfp = recorder.outcome(host, "SSHFP")
        return await _noHostKey(reactor, resolver, host, port, e, sshfp, timeout)
    verdict = checkHostKey(answer, key.blob()) if answer is not None else None
    checks: list[KeyCheck] = []
    covered = coveredAlgorithms(answer)
    if verdict is not None and verdict.algorithm in covered:
        # The endpoint asked for the covered types only: judge the server's key of each.
        conch = conchAlgorithms()
        others = [a for a in conch if a in covered and a != verdict.algorithm]
        found: list[KeyCheck] = await gatherResults(
            [
                Deferred.fromCoroutine(otherKey(reactor, recorder, host, port, timeout, a, answer))
                for a in others
            ]
        )
        checks = [KeyCheck(verdict.algorithm, key, verdict), *found]
        checks += [KeyCheck(a) for a in sorted(covered) if a not in conch]
    return await _judged(resolver, host, port, now, key, answer, ip, verdict, checks)


async def _judged(
    resolver: Any,
    host: str,
    port: int,
    now: float,
    key: Any,
    answer: Any,
    ip: bytes,
    verdict: HostKeyVerdict | None,
    checks: list[KeyCheck],
) -> HostVerdict:
    """
    The verdict on the key the endpoint got (C{verdict}), and, when the secure records
    cover its type, on the server's key of every type they cover (C{checks}, the endpoint's
    first): refused when any of them mismatches.
    """
    from txdane.adapters import ValidatingHostnameResolver
    from txdane.ssh import Outcome
    from txdane.ssh.fingerprints import sha256Fingerprint
    from txdane.ssh.verifier import answerRecords

    addresses = await ValidatingHostnameResolver(resolver, allowInsecure=True).resolveAddresses(
        host
    )
    blob = key.blob()
    records: list[Any] = []
    rows: list[str] = []
    warnings = []
    sshfpStatus = "insecure"
    byAlgorithm = {int(c.algorithm): c for c in checks}
    if answer is None:
        rows.append("(an address has no SSHFP records)")
    else:
        sshfpStatus = answer.status.value
        rows.append(f"{host}.  {sshfpStatus}")
        assert verdict is not None
        for record in answerRecords(answer):
            state = _recordState(record, byAlgorithm.get(record.algorithm), verdict)
            rows.append(f"{record.short()}  {record.mnemonic}  {state}")
            records.append(_recordJSON(record, state))
        if answer.status is Status.SECURE:
            warnings = signatureAdvice(answer, now)
    keyRows = [c.row() for c in checks] or [f"{key.sshType().decode()} {sha256Fingerprint(blob)}"]
    common: dict[str, Any] = dict(
        addresses=[a.host for a in addresses.addresses],
        addressStatus=addresses.status.value,
        extra=[("SSHFP", rows), ("host key", keyRows)],
        extraJSON={
            "records": records,
            "host_key": {"type": key.sshType().decode(), "sha256": sha256Fingerprint(blob)},
            "host_keys": [c.toJSON() for c in checks],
            "sshfp_name": f"{host}.",
        },
        warnings=warnings,
        status=sshfpStatus,
        tls=f"SSH to {ip.decode() if isinstance(ip, bytes) else ip}",
        answer=answer,
    )
    if checks:
        return _coveredVerdict(host, port, checks, common)
    if verdict is not None and verdict.outcome is Outcome.FAILED:
        return HostVerdict(
            host,
            port,
            False,
            STATUS_EXIT.get(answer.status, ExitStatus.FAILURE),
            f"refused: the SSHFP records are {sshfpStatus}",
            reason=verdict.reason,
            **common,
        )
    reason = verdict.reason if verdict is not None else "an address has no SSHFP records"
    return HostVerdict(
        host, port, False, ExitStatus.INSECURE, "no SSHFP verification", reason=reason, **common
    )


def _recordState(record: SSHFPRecord, check: KeyCheck | None, verdict: HostKeyVerdict) -> str:
    """
    What happened to one SSHFP record: the key of its type compared with it (C{check}), or
    the endpoint's key alone (C{verdict}) where the records cover no type the check asked for.
    """
    if check is None:
        return "matched the server's key" if verdict.matched == record else _NOT_COMPARED
    name = check.algorithm.mnemonic
    if check.verdict is None:
        if check.absent:
            return f"not compared (the server has no {name} key)"
        if check.error is not None:
            return f"not compared (the server's {name} key was not fetched)"
        return f"not compared (txdane cannot ask for {name} keys)"
    if check.verdict.matched == record:
        return "matched the server's key"
    if record in check.verdict.compared:
        return "no match"
    return "not compared (a weaker digest)"


def _coveredVerdict(
    host: str, port: int, checks: list[KeyCheck], common: dict[str, Any]
) -> HostVerdict:
    """
    The verdict when the secure records cover the key types of C{checks}: refused when the
    records of any type the server has do not match its key of that type; not complete when
    a key could not be fetched; verified when every key the server has of those types matched.
    """
    checked = ", ".join(c.summary() for c in checks)
    mismatched = [c for c in checks if c.outcome == "no match"]
    if mismatched:
        names = [c.algorithm.mnemonic for c in mismatched]
        keys = f"{_andList(names)} key{'s' if len(names) > 1 else ''}"
        fix = [
            "if the key was changed on purpose, publish its records "
            "(txdane generate --sshfp /etc/ssh/ssh_host_KEY.pub HOST):",
            *(
                f"{host}. IN SSHFP {r}"
                for c in mismatched
                if c.verdict is not None
                for r in c.verdict.expected
            ),
        ]
        reason = f"checked every key type the secure SSHFP records cover: {checked}"
        if len(mismatched) < len([c for c in checks if c.key is not None]):
            reason += f"; a client that asks for the {keys} refuses the server"
        return HostVerdict(
            host,
            port,
            False,
            ExitStatus.NOT_VERIFIED,
            f"refused: no SSHFP record matched the server's {keys}",
            reason=reason,
            fix=fix,
            **common,
        )
    failed = [c for c in checks if c.error is not None]
    if failed:
        unfetched = _andList([c.algorithm.mnemonic for c in failed])
        return HostVerdict(
            host,
            port,
            False,
            ExitStatus.FAILURE,
            f"connection failed: the server's {unfetched} key could not be fetched",
            reason=f"{errorText(failed[0].error)}; checked: {checked}",
            **common,
        )
    first = checks[0].verdict
    assert first is not None and first.matched is not None
    return HostVerdict(
        host,
        port,
        True,
        ExitStatus.OK,
        "verified by SSHFP",
        reason=f"checked every key type the secure SSHFP records cover: {checked}",
        matched={"record": str(first.matched), "mnemonic": first.matched.mnemonic},
        **common,
    )


def _recordJSON(record: SSHFPRecord, outcome: str) -> dict[str, Any]:
    return {
        "record": str(record),
        "algorithm": record.algorithm,
        "fingerprint_type": record.fingerprintType,
        "mnemonic": record.mnemonic,
        "outcome": outcome,
    }


def _andList(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


async def _evidence(
    resolver: Any, host: str, sshfp: Any, state: Any = None
) -> tuple[dict[str, Any], Any]:
    """
    The addresses and SSHFP records looked up, for a verdict on a server that proved no
    host key, with each record's outcome (C{state(record)}, default C{not compared}); and
    the addresses (C{None} when they could not be looked up again).
    """
    from txdane.adapters import ValidatingHostnameResolver
    from txdane.ssh.verifier import answerRecords
    from txdane.validation.answer import Answer

    records = list(answerRecords(sshfp)) if isinstance(sshfp, Answer) else []
    states = [state(r) if state is not None else "not compared" for r in records]
    evidence: dict[str, Any] = {
        "status": _statusOf(sshfp),
        "extraJSON": {
            "records": [_recordJSON(r, s) for r, s in zip(records, states)],
            "host_key": None,
            "host_keys": [],
            "sshfp_name": f"{host}.",
        },
    }
    if isinstance(sshfp, Answer):
        rows = [f"{host}.  {sshfp.status.value}"]
        rows += [f"{r.short()}  {r.mnemonic}  {s}" for r, s in zip(records, states)]
        evidence["extra"] = [("SSHFP", rows)]
        evidence["answer"] = sshfp
    try:
        addresses = await ValidatingHostnameResolver(resolver, allowInsecure=True).resolveAddresses(
            host
        )
    except Exception:
        addresses = None  # the connection's own failure says enough
    if addresses is not None:
        evidence["addresses"] = [a.host for a in addresses.addresses]
        evidence["addressStatus"] = addresses.status.value
    return evidence, addresses


async def _noCoveredKey(resolver: Any, host: str, port: int, error: Any, sshfp: Any) -> HostVerdict:
    """
    The verdict when the server has no host key of the types the secure SSHFP records cover
    (L{SSHFPNoCoveredKeyError<txdane.ssh.refusals.SSHFPNoCoveredKeyError>}): the endpoint
    offered only those, so the key exchange failed. A refusal: the records vouch for keys
    the server does not have.
    """
    from txdane.ssh.fingerprints import SSHFPAlgorithm
    from txdane.ssh.refusals import keyTypeNames

    covered = {int(a) for a in error.covered}

    def state(record: SSHFPRecord) -> str:
        if record.algorithm in covered:
            name = SSHFPAlgorithm(record.algorithm).mnemonic
            return f"not compared (the server has no {name} key)"
        return _NOT_COMPARED

    evidence, _ = await _evidence(resolver, host, sshfp, state)
    evidence["extraJSON"]["host_keys"] = [
        KeyCheck(SSHFPAlgorithm(a), absent=True).toJSON() for a in error.covered
    ]
    names = _andList([SSHFPAlgorithm(a).mnemonic for a in error.covered])
    offers = keyTypeNames(error.serverKeyTypes)
    evidence["extra"] = [
        *evidence.get("extra", []),
        ("host key", [f"no {names} key (the server offers {offers})"]),
    ]
    return HostVerdict(
        host,
        port,
        False,
        ExitStatus.NOT_VERIFIED,
        "refused: the server has no host key of the types its SSHFP records cover",
        reason=(
            f"the secure SSHFP records cover {names}; the server offers {offers}, so the key "
            "exchange failed"
        ),
        fix=[
            "publish the SSHFP records of the server's host keys "
            "(txdane generate --sshfp /etc/ssh/ssh_host_KEY.pub HOST)"
        ],
        **evidence,
    )


async def _noHostKey(
    reactor: Any,
    resolver: Any,
    host: str,
    port: int,
    error: BaseException,
    sshfp: Any,
    timeout: float,
) -> HostVerdict:
    """
    The verdict when the server proved no host key: the connection failed, the server did
    not complete the key exchange in time, or the server is no SSH server, which its first
    line (an SSH server sends its identification string first, RFC 4253 section 4.2) tells,
    seen on a connection of L{peek}'s own. The addresses and SSHFP records that were looked
    up are shown all the same.
    """
    from twisted.internet.error import ConnectError

    from txdane.endpoints.starttls.negotiator import quoted
    from txdane.ssh import SSHSessionTimeoutError

    evidence, addresses = await _evidence(resolver, host, sshfp)
    if addresses is None or not addresses.addresses or isinstance(error, ConnectError):
        return connectionFailure(host, port, error, **evidence)
    wait = min(PEEK_SECONDS, timeout)
    line = (await peek(reactor, addresses.addresses[0].host, port, wait)).line
    if isinstance(error, SSHSessionTimeoutError):
        headline = (
            "connection failed: the server did not complete the SSH key exchange within "
            f"{error.timeout:g} s"
        )
        if line is None:
            reason = "it accepted the connection but sent no SSH identification string"
        elif line.startswith("SSH-"):
            reason = f"it sent {quoted(line)} and then stalled"
        else:
            reason = _notSSH(line)
    elif line is None:
        headline = "connection failed: the server sent no SSH identification string"
        reason = str(error).strip() or type(error).__name__
    elif line.startswith("SSH-"):
        return connectionFailure(host, port, error, **evidence)
    else:
        headline = "connection failed: not an SSH server"
        reason = _notSSH(line)
    return HostVerdict(host, port, False, ExitStatus.FAILURE, headline, reason=reason, **evidence)


def _notSSH(line: str) -> str:
    """
    What a server that sent C{line} first, which is no SSH identification string, speaks.
    """
    from txdane.endpoints.starttls.negotiator import quoted

    reason = f"it sent {quoted(line)} instead of an SSH identification string"
    protocol = greetingProtocol(line)
    if protocol is not None and protocol[1] is not None:
        reason += f"; it speaks {protocol[0]}: try --starttls {protocol[1]}"
    return reason


def _statusOf(outcome: Any) -> str:
    from txdane.validation.answer import Answer

    return outcome.status.value if isinstance(outcome, Answer) else "failed"

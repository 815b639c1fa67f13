"""
C{txdane check --ssh HOST [PORT]}: connect with txdane's SSH endpoint, take the host key the
server proves, compare it with the host's SSHFP records, and hang up before logging in.
"""

from __future__ import annotations

import os
from typing import Any

from twisted.internet.protocol import Factory, Protocol

from txdane.cli import ExitStatus
from txdane.cli._advice import signatureAdvice
from txdane.cli._checktls import addressFailure, connectionFailure
from txdane.cli._peek import greetingProtocol, peek
from txdane.cli._tlsalookup import STATUS_EXIT
from txdane.cli._verdict import HostVerdict
from txdane.status import Status


class _HostKeySeen(Exception):
    """
    The server proved its host key: the check ends here, before any authentication.
    """


def _verifier(resolver: Any, seen: list[Any]) -> Any:
    from twisted.conch.client.knownhosts import KnownHostsFile
    from twisted.internet.defer import fail
    from twisted.python.filepath import FilePath

    from txdane.ssh import SSHFPKnownHosts

    class RecordingVerifier(SSHFPKnownHosts):
        """
        Keeps the host key and the SSHFP answer it is judged by, and stops the connection.
        """

        def verifyHostKey(self, ui: Any, hostname: bytes, ip: bytes, key: Any) -> Any:
            answer = self._bound[1] if self._bound is not None else None
            seen.append((key, answer, ip))
            return fail(_HostKeySeen())

    # A fallback that is never consulted: it only makes the lookup go ahead for names
    # whose records cannot vouch for any key, so that their key is still shown.
    return RecordingVerifier(resolver, KnownHostsFile(FilePath(os.devnull)))


class _Silent(Protocol):
    pass


async def checkSSH(
    reactor: Any, resolver: Any, host: str, port: int, now: float, *, timeout: float = 10
) -> HostVerdict:
    """
    Connect to C{host}:C{port} over SSH and judge its host key by the SSHFP records.
    """
    from txdane.adapters import AddressLookupError, ValidatingHostnameResolver
    from txdane.cli._evidence import RecordingResolver
    from txdane.ssh import Outcome, SSHFPLookupError, checkHostKey, sshCommandEndpoint
    from txdane.ssh.fingerprints import sha256Fingerprint

    recorder = RecordingResolver(resolver)
    seen: list[Any] = []
    endpoint = sshCommandEndpoint(
        reactor,
        recorder,
        host,
        b"true",
        b"txdane-check",
        port,
        knownHosts=_verifier(recorder, seen),
        allowInsecureAddresses=True,
        timeout=timeout,
    )
    sshfp = recorder.outcome
    error: BaseException | None = None
    try:
        protocol: Any = await endpoint.connect(Factory.forProtocol(_Silent))
        protocol.transport.loseConnection()
    except SSHFPLookupError as e:
        status = e.status
        exitStatus = STATUS_EXIT.get(status, ExitStatus.FAILURE) if status else ExitStatus.FAILURE
        return HostVerdict(
            host,
            port,
            False,
            exitStatus,
            f"refused: the SSHFP lookup is {status.value if status else 'failed'}",
            reason=e.reason,
            status=status.value if status else "failed",
        )
    except AddressLookupError as e:
        return addressFailure(host, port, e, None)
    except Exception as e:
        error = e
    if not seen:
        assert error is not None
        return await _noHostKey(reactor, resolver, host, port, error, sshfp(host, "SSHFP"))
    key, answer, ip = seen[-1]
    addresses = await ValidatingHostnameResolver(resolver, allowInsecure=True).resolveAddresses(
        host
    )
    blob = key.blob()
    records: list[Any] = []
    rows: list[str] = []
    warnings = []
    sshfpStatus = "insecure"
    if answer is None:
        rows.append("(an address has no SSHFP records)")
        verdict = None
    else:
        verdict = checkHostKey(answer, blob)
        sshfpStatus = answer.status.value
        rows.append(f"{host}.  {sshfpStatus}")
        for record in verdict.records:
            if verdict.matched == record:
                state = "matched the server's key"
            elif record in verdict.compared:
                state = "no match"
            else:
                state = "not compared (another key type or a weaker digest)"
            rows.append(f"{record.short()}  {record.mnemonic}  {state}")
            records.append(
                {
                    "record": str(record),
                    "algorithm": record.algorithm,
                    "fingerprint_type": record.fingerprintType,
                    "mnemonic": record.mnemonic,
                    "outcome": state,
                }
            )
        if answer.status is Status.SECURE:
            warnings = signatureAdvice(answer, now)
    keyRow = f"{key.sshType().decode()} {sha256Fingerprint(blob)}"
    common: dict[str, Any] = dict(
        addresses=[a.host for a in addresses.addresses],
        addressStatus=addresses.status.value,
        extra=[("SSHFP", rows), ("host key", [keyRow])],
        extraJSON={
            "records": records,
            "host_key": {"type": key.sshType().decode(), "sha256": sha256Fingerprint(blob)},
            "sshfp_name": f"{host}.",
        },
        warnings=warnings,
        status=sshfpStatus,
        tls=f"SSH to {ip.decode() if isinstance(ip, bytes) else ip}",
    )
    if verdict is not None and verdict.outcome is Outcome.MATCHED:
        assert verdict.matched is not None
        return HostVerdict(
            host,
            port,
            True,
            ExitStatus.OK,
            "verified by SSHFP",
            matched={"record": str(verdict.matched), "mnemonic": verdict.matched.mnemonic},
            **common,
        )
    if verdict is not None and verdict.outcome is Outcome.MISMATCHED:
        fix = [
            "if the key was changed on purpose, publish its records "
            "(txdane generate --sshfp /etc/ssh/ssh_host_KEY.pub HOST):",
            *(f"{host}. IN SSHFP {r}" for r in verdict.expected),
        ]
        return HostVerdict(
            host,
            port,
            False,
            ExitStatus.NOT_VERIFIED,
            "refused: no SSHFP record matched the server's host key",
            reason=verdict.reason,
            fix=fix,
            **common,
        )
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


async def _noHostKey(
    reactor: Any, resolver: Any, host: str, port: int, error: BaseException, sshfp: Any
) -> HostVerdict:
    """
    The verdict when the server proved no host key: the connection failed, or the server is
    no SSH server, which its first line (an SSH server sends its identification string
    first, RFC 4253 section 4.2) tells, seen on a connection of L{peek}'s own. The addresses
    and SSHFP records that were looked up are shown all the same.
    """
    from twisted.internet.error import ConnectError

    from txdane.adapters import ValidatingHostnameResolver
    from txdane.endpoints.starttls.negotiator import quoted
    from txdane.ssh.verifier import answerRecords
    from txdane.validation.answer import Answer

    records = list(answerRecords(sshfp)) if isinstance(sshfp, Answer) else []
    evidence: dict[str, Any] = {
        "status": _statusOf(sshfp),
        "extraJSON": {
            "records": [
                {
                    "record": str(r),
                    "algorithm": r.algorithm,
                    "fingerprint_type": r.fingerprintType,
                    "mnemonic": r.mnemonic,
                    "outcome": "not compared",
                }
                for r in records
            ],
            "host_key": None,
            "sshfp_name": f"{host}.",
        },
    }
    if isinstance(sshfp, Answer):
        rows = [f"{host}.  {sshfp.status.value}"]
        rows += [f"{r.short()}  {r.mnemonic}  not compared" for r in records]
        evidence["extra"] = [("SSHFP", rows)]
    try:
        addresses = await ValidatingHostnameResolver(resolver, allowInsecure=True).resolveAddresses(
            host
        )
    except Exception:
        addresses = None  # the connection's own failure says enough
    if addresses is not None:
        evidence["addresses"] = [a.host for a in addresses.addresses]
        evidence["addressStatus"] = addresses.status.value
    if addresses is None or not addresses.addresses or isinstance(error, ConnectError):
        return connectionFailure(host, port, error, **evidence)
    line = (await peek(reactor, addresses.addresses[0].host, port)).line
    if line is None:
        headline = "connection failed: the server sent no SSH identification string"
        reason = str(error).strip() or type(error).__name__
    elif line.startswith("SSH-"):
        return connectionFailure(host, port, error, **evidence)
    else:
        headline = "connection failed: not an SSH server"
        reason = f"it sent {quoted(line)} instead of an SSH identification string"
        protocol = greetingProtocol(line)
        if protocol is not None and protocol[1] is not None:
            reason += f"; it speaks {protocol[0]}: try --starttls {protocol[1]}"
    return HostVerdict(host, port, False, ExitStatus.FAILURE, headline, reason=reason, **evidence)


def _statusOf(outcome: Any) -> str:
    from txdane.validation.answer import Answer

    return outcome.status.value if isinstance(outcome, Answer) else "failed"

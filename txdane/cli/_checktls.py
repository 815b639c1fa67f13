"""
C{txdane check HOST [PORT]} over TLS: connect with the C{dane:} endpoint itself, and report
what it looked up, what the server presented and what it decided. A server with which no TLS
session came about is diagnosed in L{txdane.cli._peek}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.protocol import Factory, Protocol

from txdane.cli import ExitStatus
from txdane.cli._evidence import RecordingResolver
from txdane.cli._peek import errorText, handshakeFailure, unfinishedSTARTTLS
from txdane.cli._tlsalookup import STATUS_EXIT, TLSALookup
from txdane.cli._verdict import HostVerdict
from txdane.names import nameFromText
from txdane.status import Status

# The names imported above with "as" are those other modules import from here.


class Quiet(Protocol):
    """
    The application side of a checked connection: it says nothing and hangs up.
    """


def foundTLSA(
    recorder: RecordingResolver, host: str, port: int, proto: str, *, smtp: bool = False
) -> TLSALookup | None:
    """
    The TLSA lookup the connection to C{host}:C{port} made, as C{recorder} kept it, or
    C{None} when it never completed; C{smtp} for the records of a host checked under the
    SMTP rules (RFC 7672), whose PKIX usages are unusable.
    """
    from twisted.internet.defer import CancelledError

    from txdane.validation.answer import Answer

    base, outcome = recorder.tlsaOutcome(host, port, proto)
    found = TLSALookup(host, port, proto, base if base else nameFromText(host), smtp=smtp)
    if isinstance(outcome, Answer):
        found.answer = outcome
    elif outcome is not None and not isinstance(outcome, CancelledError):
        found.failure = outcome
    else:
        return None  # never completed: the address lookup failed first
    return found


def addressFailure(host: str, port: int, error: Any, found: TLSALookup | None) -> HostVerdict:
    """
    The verdict when the host's addresses cannot be used; for a name that provably has none
    (NXDOMAIN or NODATA), L{noAddresses}.
    """
    from txdane.adapters import AddressValidationError, NoAddressesError

    if isinstance(error, NoAddressesError):
        return noAddresses(host, port, error, found)
    status = getattr(error, "status", None)
    if isinstance(error, AddressValidationError) and status in STATUS_EXIT:
        exitStatus = STATUS_EXIT[status]
        if status is Status.INSECURE:
            exitStatus = ExitStatus.INSECURE
        addressStatus = status.value
    else:
        exitStatus = ExitStatus.FAILURE
        addressStatus = "failed"
    return HostVerdict(
        host,
        port,
        False,
        exitStatus,
        "not checked: its addresses cannot be used",
        reason=str(error),
        tlsa=found,
        addressStatus=addressStatus,
    )


def noAddresses(host: str, port: int, error: Any, found: TLSALookup | None) -> HostVerdict:
    """
    The verdict on a host whose address lookup answered that it has no address (a
    L{NoAddressesError<txdane.adapters.NoAddressesError>}): the check is complete, there is
    no server to connect to, so DANE does not apply (exit status 1), as for a null MX.
    """
    import dns.rcode

    answers = list(error.answers)
    nx = any(a.rcode == dns.rcode.NXDOMAIN for a in answers)
    status = Status.weakest(*(a.status for a in answers)) if answers else Status.INSECURE
    what = "no such host" if nx else "no addresses"
    proof = "proven by DNSSEC" if status is Status.SECURE else f"{status.value}: not proven"
    return HostVerdict(
        host,
        port,
        False,
        ExitStatus.INSECURE,
        f"{what} ({proof})",
        reason=str(error),
        tlsa=found,
        addressStatus=status.value,
    )


def connectionFailure(host: str, port: int, error: BaseException, **kw: Any) -> HostVerdict:
    """
    The verdict when no connection could be made.
    """
    from txdane.cli._common import connectErrorText

    text = connectErrorText(error) or str(error).strip() or type(error).__name__
    return HostVerdict(
        host, port, False, ExitStatus.FAILURE, "connection failed", reason=text, **kw
    )


async def checkTLS(
    reactor: Any,
    resolver: Any,
    host: str,
    port: int,
    now: float,
    *,
    timeout: float = 10,
    starttls: str | None = None,
) -> HostVerdict:
    """
    Connect to C{host}:C{port} with L{DANEEndpoint<txdane.endpoints.dane.DANEEndpoint>}
    (C{starttls=PROTO} for a protocol that upgrades, under the RFC 7672 policy for SMTP and
    LMTP) and describe what happened.
    """
    from txdane.dane.decision import Policy
    from txdane.endpoints.planner import Candidate

    policy = Policy.SMTP if starttls in ("smtp", "lmtp") else Policy.DEFAULT
    return await checkCandidate(
        reactor,
        resolver,
        Candidate(host, port, policy=policy, starttls=starttls),
        now,
        timeout,
    )


async def checkCandidate(
    reactor: Any, resolver: Any, candidate: Any, now: float, timeout: float
) -> HostVerdict:
    """
    Connect to one L{Candidate<txdane.endpoints.planner.Candidate>} (the host of a
    C{check}, or an MX host from the library's planner) with the endpoint the planned
    endpoints use for it (L{hostEndpoint<txdane.endpoints.planner.hostEndpoint>}), its
    STARTTLS negotiated by the endpoint, and describe what happened.
    """
    from twisted.internet.error import ConnectError

    from txdane.adapters import AddressLookupError, NoAddressesError
    from txdane.dane.decision import Action
    from txdane.dane.errors import (
        DANEPolicyError,
        DANEVerificationError,
        PKIXVerificationError,
    )
    from txdane.dane.matching import DANEResult
    from txdane.endpoints.connection import IDANEConnection, Protection
    from txdane.endpoints.errors import StartTLSError
    from txdane.endpoints.options import DANEOptions
    from txdane.endpoints.planner import (
        HostSettings,
        UnusableHostError,
        candidateInfo,
        hostEndpoint,
        unusableReason,
    )

    host, port, starttls = candidate.host, candidate.port, candidate.starttls
    unusable = unusableReason(candidate)
    if unusable is not None:
        # An MX host whose name is an IP address: never dialled, nor looked up.
        return addressFailure(host, port, UnusableHostError(host, unusable), None)
    smtp = candidate.policy.smtp
    recorder = RecordingResolver(resolver)
    results: list[DANEResult] = []
    settings = HostSettings(
        timeout=timeout,
        handshakeTimeout=timeout,
        options=DANEOptions(observer=results.append),
    )
    endpoint = hostEndpoint(reactor, recorder, candidate, settings)
    protocolJSON = {"starttls": starttls, "protection": None} if starttls else {}
    try:
        addresses, plan = await endpoint.plan(withoutTLSA=candidate.withoutTLSA)
    except DANEPolicyError as e:
        found = foundTLSA(recorder, host, port, "tcp", smtp=smtp)
        assert found is not None
        found.addAdvice(now)
        return HostVerdict(
            host,
            port,
            False,
            found.exitStatus(),
            f"refused: {e.reason}",
            tlsa=found,
            extraJSON=protocolJSON,
        )
    except AddressLookupError as e:
        found = foundTLSA(recorder, host, port, "tcp", smtp=smtp)
        if found is None and isinstance(e, NoAddressesError):
            # The check is complete (the host has no address): the TLSA records the
            # connection would have used are part of the verdict's evidence.
            found = await _lookedUpTLSA(recorder, host, port, smtp)
        verdict = addressFailure(host, port, e, found)
        verdict.extraJSON.update(protocolJSON)
        return verdict
    found = foundTLSA(recorder, host, port, "tcp", smtp=smtp)
    if found is None:
        # The connection does not consult the TLSA records of a host whose addresses are
        # insecure (RFC 7672 section 2.2.2); the evidence shows them all the same.
        found = await _lookedUpTLSA(recorder, host, port, smtp)
    evidence: dict[str, Any] = dict(
        tlsa=found,
        addresses=[a.host for a in addresses.addresses],
        addressStatus=addresses.status.value,
        extraJSON=protocolJSON,
    )
    info = candidateInfo(candidate, plan)
    try:
        protocol: Any = await endpoint.connectWithPlan(
            addresses, plan, Factory.forProtocol(Quiet), info=info
        )
    except PKIXVerificationError as e:
        found.addAdvice(now)
        cause = e.__cause__ or e
        return _withProtection(
            pkixFailed(host, port, cause, plan.reason, **evidence), starttls, None
        )
    except DANEVerificationError as e:
        found.addAdvice(now, e.certificates)
        return _withProtection(refusedByDANE(host, port, e, **evidence), starttls, None)
    except StartTLSError as e:
        found.addAdvice(now)
        unfinished = unfinishedSTARTTLS(host, port, e, **evidence)
        if unfinished is not None:
            return _withProtection(unfinished, starttls, None)
        headline = (
            "refused: no TLS, but its TLSA records require it"
            if plan.tlsRequired
            else "refused: no TLS"
        )
        verdict = HostVerdict(
            host,
            port,
            False,
            ExitStatus.NOT_VERIFIED,
            headline,
            reason=f"{e}; {plan.reason}" if plan.tlsRequired else str(e),
            **evidence,
        )
        return _withProtection(verdict, starttls, "cleartext")
    except Exception as e:
        if info.address is None or isinstance(e, ConnectError):
            # No TCP connection: a closed port, an unreachable host.
            verdict = connectionFailure(host, port, e, **evidence)
        elif plan.action is Action.PKIX and _certificateError(e):
            found.addAdvice(now)
            verdict = pkixFailed(host, port, e, plan.reason, **evidence)
        else:
            # Connected, but no TLS session came of it: the check could not complete.
            verdict = await handshakeFailure(
                reactor, candidate, info.address.host, e, timeout, **evidence
            )
        return _withProtection(verdict, starttls, None)
    info = IDANEConnection(protocol.transport).connectionInfo
    protection = str(info.protection) if starttls is not None else None
    if info.protection is Protection.CLEARTEXT:
        # SMTP's opportunistic TLS: the server offers no STARTTLS, and nothing requires it.
        protocol.transport.loseConnection()
        found.addAdvice(now)
        verdict = HostVerdict(
            host,
            port,
            False,
            ExitStatus.INSECURE,
            "no DANE, and no TLS: cleartext",
            reason=f"the server does not offer STARTTLS; {plan.reason}",
            **evidence,
        )
        return _withProtection(verdict, starttls, protection)
    chain, tls = connectionFacts(protocol, plan.serverName)
    protocol.transport.loseConnection()
    found.addAdvice(now, chain)
    verdict = connectedVerdict(
        host, port, plan, results, chain, tls, protection == "trusted", **evidence
    )
    return _withProtection(verdict, starttls, protection)


async def _lookedUpTLSA(
    recorder: RecordingResolver, host: str, port: int, smtp: bool
) -> TLSALookup:
    """
    The TLSA records of C{host}:C{port} where the connection did not look them up.
    """
    try:
        await recorder.lookupTLSA(host, port, "tcp")
    except Exception:
        pass  # the failure is recorded, and shown
    found = foundTLSA(recorder, host, port, "tcp", smtp=smtp)
    assert found is not None
    return found


def _certificateError(error: BaseException) -> bool:
    """
    Whether C{error} is OpenSSL refusing the server's certificate (as opposed to a handshake
    that broke down before any certificate was judged).
    """
    from OpenSSL import SSL

    return isinstance(error, SSL.Error) and "certificate" in errorText(error)


def refusedByDANE(host: str, port: int, error: Any, **evidence: Any) -> HostVerdict:
    """
    The verdict on a server the DANE check refused in the handshake (a
    L{DANEVerificationError<txdane.dane.errors.DANEVerificationError>}), with the fix when no
    record matched.
    """
    from txdane.dane.matching import FailureKind

    fix = []
    if error.result is not None and error.result.failure is FailureKind.NO_MATCH:
        fix = [
            "publish a record for the key the server now uses:",
            f"txdane generate --cert server.pem {host} {port}",
        ]
    return HostVerdict(
        host,
        port,
        False,
        ExitStatus.NOT_VERIFIED,
        f"refused: {error.result.summary() if error.result else error.reason}",
        result=error.result,
        chain=error.certificates,
        fix=fix,
        **evidence,
    )


def pkixFailed(host: str, port: int, error: Any, reason: str, **evidence: Any) -> HostVerdict:
    """
    The verdict on a server without DANE whose PKIX check failed.
    """
    return HostVerdict(
        host,
        port,
        False,
        ExitStatus.INSECURE,
        f"no DANE, and PKIX verification failed ({errorText(error)})",
        reason=reason,
        **evidence,
    )


def connectedVerdict(
    host: str,
    port: int,
    plan: Any,
    results: list[Any],
    chain: Any,
    tls: str,
    trusted: bool,
    **evidence: Any,
) -> HostVerdict:
    """
    The verdict on a server whose handshake passed: verified (or, when C{trusted}, only
    trusted) by DANE, else the authentication that replaced it.
    """
    from txdane.dane.decision import Action

    if plan.action is Action.DANE and results and results[-1].verified:
        result = results[-1]
        if trusted:
            headline, verified, status = "trusted by DANE", False, ExitStatus.INSECURE
            reason = "its name came from an insecure MX lookup: it could have been forged"
        else:
            headline, verified, status, reason = "verified by DANE", True, ExitStatus.OK, ""
        return HostVerdict(
            host,
            port,
            verified,
            status,
            headline,
            reason=reason,
            result=result,
            chain=result.chain or chain,
            tls=tls,
            **evidence,
        )
    how = "PKIX verified" if plan.action is Action.PKIX else "TLS without authentication"
    return HostVerdict(
        host,
        port,
        False,
        ExitStatus.INSECURE,
        f"no DANE ({how})",
        reason=plan.reason,
        chain=chain,
        tls=tls,
        **evidence,
    )


def _withProtection(
    verdict: HostVerdict, starttls: str | None, protection: str | None
) -> HostVerdict:
    """
    Add the STARTTLS protocol and the connection's protection to a verdict's evidence.
    """
    if starttls is not None:
        verdict.extraJSON = {"starttls": starttls, "protection": protection}
        verdict.extra.append(("protection", [f"{protection or 'none'} (STARTTLS {starttls})"]))
    return verdict


def connectionFacts(protocol: Any, serverName: str) -> tuple[tuple[Any, ...], str]:
    """
    The chain the server presented and the TLS version, from an open connection.
    """
    handle = protocol.transport.getHandle()
    chain = tuple(c.to_cryptography() for c in handle.get_peer_cert_chain() or [])
    peer = protocol.transport.getPeer()
    tls = f"{handle.get_protocol_version_name()}, SNI {serverName}, to {peer.host}"
    return chain, tls

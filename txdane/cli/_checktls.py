"""
C{txdane check HOST [PORT]} over TLS: connect with the C{dane:} endpoint itself, and report
what it looked up, what the server presented and what it decided.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.protocol import Factory, Protocol

from txdane.cli import ExitStatus
from txdane.cli._evidence import RecordingResolver
from txdane.cli._tlsalookup import STATUS_EXIT, TLSALookup
from txdane.cli._verdict import HostVerdict
from txdane.status import Status


class _Quiet(Protocol):
    """
    The application side of a checked connection: it says nothing and hangs up.
    """


def _found(recorder: RecordingResolver, host: str, port: int, proto: str) -> TLSALookup | None:
    import dns.name
    from twisted.internet.defer import CancelledError

    from txdane.validation.answer import Answer

    base, outcome = recorder.tlsaOutcome(host, port, proto)
    found = TLSALookup(host, port, proto, base if base else dns.name.from_text(host))
    if isinstance(outcome, Answer):
        found.answer = outcome
    elif outcome is not None and not isinstance(outcome, CancelledError):
        found.failure = outcome
    else:
        return None  # never completed: the address lookup failed first
    return found


def addressFailure(host: str, port: int, error: Any, found: TLSALookup | None) -> HostVerdict:
    """
    The verdict when the host's addresses cannot be used.
    """
    from txdane.adapters import AddressValidationError

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


def connectionFailure(host: str, port: int, error: BaseException, **kw: Any) -> HostVerdict:
    """
    The verdict when no connection could be made.
    """
    text = str(error).strip() or type(error).__name__
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
) -> HostVerdict:
    """
    Connect to C{host}:C{port} with L{DANEEndpoint<txdane.endpoints.dane.DANEEndpoint>} and
    describe what happened.
    """
    from twisted.internet.error import ConnectError

    from txdane.adapters import AddressLookupError
    from txdane.dane.decision import Action
    from txdane.dane.matching import DANEResult, FailureKind
    from txdane.endpoints.dane import DANEEndpoint
    from txdane.errors import DANEPolicyError, DANEVerificationError

    recorder = RecordingResolver(resolver)
    results: list[DANEResult] = []
    endpoint = DANEEndpoint(reactor, recorder, host, port, observer=results.append, timeout=timeout)
    try:
        addresses, plan = await endpoint.plan()
    except DANEPolicyError as e:
        found = _found(recorder, host, port, "tcp")
        assert found is not None
        found.addAdvice(now)
        return HostVerdict(
            host, port, False, found.exitStatus(), f"refused: {e.reason}", tlsa=found
        )
    except AddressLookupError as e:
        return addressFailure(host, port, e, _found(recorder, host, port, "tcp"))
    found = _found(recorder, host, port, "tcp")
    if found is None:
        # The connection does not consult the TLSA records of a host whose addresses are
        # insecure (RFC 7672 section 2.2.2); the evidence shows them all the same.
        try:
            await recorder.lookupTLSA(host, port, "tcp")
        except Exception:
            pass
        found = _found(recorder, host, port, "tcp")
    assert found is not None
    evidence: dict[str, Any] = dict(
        tlsa=found,
        addresses=[a.host for a in addresses.addresses],
        addressStatus=addresses.status.value,
    )
    try:
        protocol: Any = await endpoint.connect(Factory.forProtocol(_Quiet))
    except DANEVerificationError as e:
        found.addAdvice(now, e.certificates)
        fix = []
        if e.result is not None and e.result.failure is FailureKind.NO_MATCH:
            fix = [
                "publish a record for the key the server now uses:",
                f"txdane generate --cert server.pem {host} {port}",
            ]
        return HostVerdict(
            host,
            port,
            False,
            ExitStatus.NOT_VERIFIED,
            f"refused: {e.result.summary() if e.result else e.reason}",
            result=e.result,
            chain=e.certificates,
            fix=fix,
            **evidence,
        )
    except (ConnectError, OSError) as e:
        return connectionFailure(host, port, e, **evidence)
    except Exception as e:
        if plan.action is not Action.PKIX:
            return connectionFailure(host, port, e, **evidence)
        found.addAdvice(now)
        return HostVerdict(
            host,
            port,
            False,
            ExitStatus.INSECURE,
            f"no DANE, and PKIX verification failed ({_errorText(e)})",
            reason=plan.reason,
            **evidence,
        )
    chain, tls = _connectionFacts(protocol, plan.serverName)
    protocol.transport.loseConnection()
    found.addAdvice(now, chain)
    if plan.action is Action.DANE and results and results[-1].verified:
        result = results[-1]
        return HostVerdict(
            host,
            port,
            True,
            ExitStatus.OK,
            "verified by DANE",
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


def _errorText(error: Any) -> str:
    from OpenSSL import SSL

    if isinstance(error, SSL.Error):
        try:
            return "; ".join(str(part[2]) for part in error.args[0]) or str(error)
        except (IndexError, TypeError):
            pass
    errors = getattr(error, "errors", None)
    if errors:  # service_identity's VerificationError
        return "the certificate is not valid for the host name"
    return str(error) or type(error).__name__


def _connectionFacts(protocol: Any, serverName: str) -> tuple[tuple[Any, ...], str]:
    """
    The chain the server presented and the TLS version, from an open connection.
    """
    handle = protocol.transport.getHandle()
    chain = tuple(c.to_cryptography() for c in handle.get_peer_cert_chain() or [])
    peer = protocol.transport.getPeer()
    tls = f"{handle.get_protocol_version_name()}, SNI {serverName}, to {peer.host}"
    return chain, tls

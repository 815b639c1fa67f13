"""
Which policy protects mail to a domain, host by host (RFC 8461 section 2: DANE where it
applies, MTA-STS otherwise, else opportunistic TLS), and what each SMTP session's outcome
is in the words of SMTP TLS reporting (RFC 8460).

L{txdane.mail} delivers with these rules; the policies themselves come from
L{txdane.mtasts} (MTA-STS) and the DNS (DANE), the reports go to L{txdane.tlsrpt}. Nothing
here does I/O.

Tests: C{tests/mail/test_policy.py}.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from OpenSSL import SSL

from txdane.dane.decision import Action, ConnectionPlan, Policy
from txdane.dane.errors import DANEPolicyError, DANEVerificationError, PKIXVerificationError
from txdane.endpoints.errors import StartTLSError
from txdane.endpoints.planner import Candidate
from txdane.status import Status

__all__ = [
    "MailPolicy",
    "PolicyOutcomeLike",
    "PolicySource",
    "TLSSession",
    "failureType",
    "planPolicy",
    "policyCandidates",
    "sessionPolicy",
]


class MailPolicy(enum.Enum):
    """
    What protected (or was to protect) a delivery, as C{txdane send} reports it.

    @cvar DANE: the MX host's TLSA records (RFC 7672).
    @cvar MTA_STS: the domain's MTA-STS policy in C{enforce} mode (RFC 8461).
    @cvar MTA_STS_TESTING: an MTA-STS policy in C{testing} mode: failures are reported,
        delivery goes on.
    @cvar NONE: opportunistic TLS.
    """

    DANE = "dane"
    MTA_STS = "mta-sts"
    MTA_STS_TESTING = "mta-sts-testing"
    NONE = "none"

    def __str__(self) -> str:
        return self.value


class PolicyOutcomeLike(Protocol):
    """
    What delivery reads of an MTA-STS lookup (L{txdane.mtasts.PolicyOutcome}).
    """

    policy: Any
    failure: Any
    reason: str


class PolicySource(Protocol):
    """
    Where delivery gets a domain's MTA-STS policy (L{txdane.mtasts.PolicyResolver}).
    """

    def policyFor(self, domain: str) -> Any:
        """
        A Deferred firing with the domain's policy outcome (L{PolicyOutcomeLike}).
        """


def _mode(policy: Any) -> str:
    mode = getattr(policy, "mode", None)
    return str(getattr(mode, "value", mode)) if mode is not None else "none"


def sessionPolicy(outcome: PolicyOutcomeLike | None) -> MailPolicy:
    """
    The MTA-STS part of a domain's protection: L{MailPolicy.MTA_STS} for an C{enforce}
    policy, L{MailPolicy.MTA_STS_TESTING} for C{testing}, L{MailPolicy.NONE} without a
    policy or in mode C{none}.
    """
    if outcome is None or outcome.policy is None:
        return MailPolicy.NONE
    mode = _mode(outcome.policy)
    if mode == "enforce":
        return MailPolicy.MTA_STS
    if mode == "testing":
        return MailPolicy.MTA_STS_TESTING
    return MailPolicy.NONE


def policyCandidates(
    candidates: Sequence[Candidate], outcome: PolicyOutcomeLike | None
) -> tuple[list[Candidate], list[Candidate]]:
    """
    The MX hosts to try under a domain's MTA-STS policy, and those it excludes.

    In C{enforce} mode an MX host the policy does not list is not tried at all (RFC 8461
    section 4.1), and the others are connected to under L{Policy.SMTP_STS}: DANE where their
    TLSA records apply, else TLS verified by PKIX for the host name. In C{testing} mode, and
    without a policy, every host is tried as before (opportunistic TLS where DANE does not
    apply); the testing policy's findings are only reported.
    """
    if sessionPolicy(outcome) is not MailPolicy.MTA_STS:
        return list(candidates), []
    assert outcome is not None
    policy = outcome.policy
    listed = [c for c in candidates if policy.matches(c.host)]
    excluded = [c for c in candidates if not policy.matches(c.host)]
    return [dataclasses.replace(c, policy=Policy.SMTP_STS) for c in listed], excluded


@dataclass(frozen=True)
class TLSSession:
    """
    One SMTP session's TLS outcome, as SMTP TLS reporting counts it (RFC 8460 section 4).

    @ivar policyDomain: the recipients' domain.
    @ivar policyType: C{"tlsa"}, C{"sts"} or C{"no-policy-found"}.
    @ivar policyStrings: the TLSA records as text, or the MTA-STS policy's lines.
    @ivar mxHost: the MX host.
    @ivar sendingIP: this side's address, when connected.
    @ivar receivingIP: the server's address, when connected.
    @ivar resultType: C{None} for a successful TLS session, else an RFC 8460 result type
        (C{"starttls-not-supported"}, C{"validation-failure"} ...).
    @ivar failureReason: what went wrong, in words.
    @ivar when: the session's time, in seconds since the epoch.
    """

    policyDomain: str
    policyType: str
    policyStrings: tuple[str, ...]
    mxHost: str | None
    sendingIP: str | None
    receivingIP: str | None
    resultType: str | None
    failureReason: str = ""
    when: float = 0.0


def failureType(error: BaseException) -> str | None:
    """
    The RFC 8460 result type of a failed session, or C{None} when the failure is no TLS
    failure (no connection at all, a 4xx reply), which TLS reports do not count.
    """
    if isinstance(error, StartTLSError):
        if "does not offer" in error.reason:
            return "starttls-not-supported"
        cause = error.__cause__
        if cause is not None:
            return failureType(cause) or "validation-failure"
        if "handshake" in error.reason:
            return "validation-failure"
        return None
    if isinstance(error, DANEPolicyError):
        if error.status in (Status.BOGUS, Status.INDETERMINATE) or error.status is None:
            return "dnssec-invalid"
        return "dane-required"
    if isinstance(error, PKIXVerificationError) and error.__cause__ is not None:
        return failureType(error.__cause__) or "validation-failure"
    if isinstance(error, DANEVerificationError):
        return "validation-failure"
    if type(error).__name__ == "VerificationError":  # service_identity: the name
        return "certificate-host-mismatch"
    if isinstance(error, SSL.Error):
        text = str(error).lower()
        if "expired" in text:
            return "certificate-expired"
        if "certificate verify failed" in text or "self-signed" in text or "issuer" in text:
            return "certificate-not-trusted"
        return "validation-failure"
    return None


def planPolicy(plan: ConnectionPlan | None, outcome: PolicyOutcomeLike | None) -> MailPolicy:
    """
    What protected a session under C{plan}: DANE when the plan authenticates by TLSA
    records, else the domain's MTA-STS policy, else none.
    """
    if plan is not None and plan.action is Action.DANE:
        return MailPolicy.DANE
    return sessionPolicy(outcome)

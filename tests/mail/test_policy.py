"""
Tests for L{txdane.mailpolicy} and its use by L{txdane.mail.sendMail}: DANE where it applies,
MTA-STS otherwise (enforced or testing), opportunistic TLS without either, and each
session's outcome for SMTP TLS reporting. In memory, with a stand-in MTA-STS source.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import pytest
from OpenSSL import SSL
from twisted.internet.defer import succeed
from twisted.internet.error import ConnectionRefusedError as Refused
from twisted.python.failure import Failure

from txdane.dane.decision import Policy
from txdane.dane.errors import DANEPolicyError, DANEVerificationError
from txdane.endpoints.errors import StartTLSError
from txdane.endpoints.planner import Candidate
from txdane.mail import NotInPolicyError, TemporaryDeliveryError
from txdane.mailpolicy import (
    MailPolicy,
    TLSSession,
    failureType,
    policyCandidates,
    sessionPolicy,
)
from txdane.status import Status
from txdane.tlsrpt import aggregate, sessionResult

from .test_hostile import MemoryMail, hosts


class _Mode(enum.Enum):
    ENFORCE = "enforce"
    TESTING = "testing"
    NONE = "none"


@dataclass
class _Policy:
    mode: _Mode
    mx: tuple[str, ...]

    def matches(self, host: str) -> bool:
        return host.rstrip(".").lower() in self.mx

    def lines(self) -> tuple[str, ...]:
        return ("version: STSv1", f"mode: {self.mode.value}", *(f"mx: {m}" for m in self.mx))


@dataclass
class _Outcome:
    policy: _Policy | None
    failure: Any = None
    reason: str = ""


@dataclass
class _Source:
    outcome: _Outcome
    asked: list[str] = field(default_factory=list)

    def policyFor(self, domain: str) -> Any:
        self.asked.append(domain)
        return succeed(self.outcome)


def stsEnforce(*mx: str) -> _Source:
    return _Source(_Outcome(_Policy(_Mode.ENFORCE, mx)))


def stsTesting(*mx: str) -> _Source:
    return _Source(_Outcome(_Policy(_Mode.TESTING, mx)))


@pytest.mark.parametrize(
    "error, kind",
    [
        (StartTLSError("mx", 25, "smtp", "the server does not offer STARTTLS"), None),
        (DANEPolicyError("mx", 25, "bogus", Status.BOGUS), "dnssec-invalid"),
        (DANEPolicyError("mx", 25, "DANE is required", Status.INSECURE), "dane-required"),
        (DANEVerificationError("mx", 25, "no match"), "validation-failure"),
        (SSL.Error([("SSL routines", "", "certificate verify failed")]), None),
        (SSL.Error([("SSL routines", "", "certificate has expired")]), "certificate-expired"),
        (Refused(), None),
        (TemporaryDeliveryError("x", "451"), None),
    ],
)
def test_failureType(error: BaseException, kind: str | None) -> None:
    if isinstance(error, StartTLSError):
        kind = "starttls-not-supported"
    if isinstance(error, SSL.Error) and "verify failed" in str(error):
        kind = "certificate-not-trusted"
    assert failureType(error) == kind


def test_handshakeCauseKept() -> None:
    """
    A handshake that failed after STARTTLS is reported by its cause, which the endpoint
    keeps.
    """
    error = StartTLSError("mx", 25, "smtp", "the TLS handshake failed (certificate has expired)")
    error.__cause__ = SSL.Error([("SSL routines", "", "certificate has expired")])
    assert failureType(error) == "certificate-expired"


def test_policyCandidates() -> None:
    """
    An enforced policy keeps the MX hosts it lists, under L{Policy.SMTP_STS}, and names the
    others; testing and no policy leave the hosts as they are.
    """
    hosts_ = [Candidate("mx1.example.org", 25, policy=Policy.SMTP), Candidate("evil.test", 25)]
    kept, excluded = policyCandidates(hosts_, stsEnforce("mx1.example.org").outcome)
    assert [(c.host, c.policy) for c in kept] == [("mx1.example.org", Policy.SMTP_STS)]
    assert [c.host for c in excluded] == ["evil.test"]
    for outcome in (stsTesting("mx1.example.org").outcome, _Outcome(None), None):
        assert policyCandidates(hosts_, outcome) == (hosts_, [])
    assert sessionPolicy(_Outcome(_Policy(_Mode.NONE, ()))) is MailPolicy.NONE


class DeliveryPolicyTests(MemoryMail):
    def sendWith(self, source: _Source, count: int = 2) -> tuple[Any, list[TLSSession]]:
        sessions: list[TLSSession] = []
        sending = self.send(
            hosts(count), heloName="client.example.net", mtaSTS=source, reporter=sessions.append
        )
        return sending, sessions

    def test_enforcedExcludesUnlistedHosts(self) -> None:
        """
        The first MX is not in the enforced policy: it is never dialled, and the error says
        why.
        """
        sending, _ = self.sendWith(stsEnforce("mx1.example.org"))
        host, _, _, _, _ = self.reactor.tcpClients[0]
        self.assertEqual(host, "192.0.2.2")  # mx1, not mx0
        self.refuseAll()
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertIsInstance(error.tries[0].error, NotInPolicyError)
        self.assertIn("not an MX host of the MTA-STS policy of example.org", str(error))

    def test_enforcedRequiresTLS(self) -> None:
        """
        Under an enforced policy a host that offers no STARTTLS is refused (without one the
        message would go in cleartext), and the report names the failure and the policy.
        """
        sending, sessions = self.sendWith(stsEnforce("mx0.example.org"), count=1)
        client, transport = self.connect()
        client.dataReceived(b"220 mx ESMTP\r\n")
        client.dataReceived(b"250-mx\r\n250 PIPELINING\r\n")
        self.assertTrue(transport.disconnecting)
        self.assertNotIn(b"MAIL", transport.value())
        self.end(client)
        self.failureResultOf(sending, TemporaryDeliveryError)
        (session,) = sessions
        self.assertEqual(
            (session.policyType, session.resultType, session.mxHost, session.receivingIP),
            ("sts", "starttls-not-supported", "mx0.example.org", "192.0.2.1"),
        )
        self.assertIn("mode: enforce", session.policyStrings)

    def test_withoutPolicyOpportunistic(self) -> None:
        """
        Without a policy, a host that offers no STARTTLS takes the message in cleartext: the
        session is reported as a failure, C{starttls-not-supported}, never counted among the
        successfully negotiated TLS sessions (RFC 8460 section 4.4), with both addresses.
        """
        sending, sessions = self.sendWith(_Source(_Outcome(None)))
        result = self.deliverOnNextHost(sending)
        self.assertEqual(result.policy, MailPolicy.NONE)
        (session,) = sessions
        self.assertEqual(
            (session.policyType, session.resultType, session.sendingIP, session.receivingIP),
            ("no-policy-found", "starttls-not-supported", "10.0.0.1", "192.0.2.1"),
        )
        self.assertEqual(session.failureReason, "the server does not offer STARTTLS")
        (report,) = aggregate([sessionResult(session)], "sender.example", "tls@sender.example")
        (policy,) = report["policies"]
        self.assertEqual(
            policy["summary"],
            {"total-successful-session-count": 0, "total-failure-session-count": 1},
        )
        (detail,) = policy["failure-details"]
        self.assertEqual(
            (detail["result-type"], detail["sending-mta-ip"], detail["receiving-ip"]),
            ("starttls-not-supported", "10.0.0.1", "192.0.2.1"),
        )

    def test_failureBeforeTheClientNamesBothAddresses(self) -> None:
        """
        A session that failed inside the endpoint, before twisted.mail's client had the
        connection (STARTTLS owed under an enforced policy and not offered), is reported
        with this side's address as well as the server's.
        """
        sending, sessions = self.sendWith(stsEnforce("mx0.example.org"), count=1)
        client, _ = self.connect()
        client.dataReceived(b"220 mx ESMTP\r\n")
        client.dataReceived(b"250-mx\r\n250 PIPELINING\r\n")
        self.end(client)
        self.failureResultOf(sending, TemporaryDeliveryError)
        (session,) = sessions
        self.assertEqual(
            (session.resultType, session.sendingIP, session.receivingIP),
            ("starttls-not-supported", "10.0.0.1", "192.0.2.1"),
        )

    def test_testingReportsAndDelivers(self) -> None:
        """
        A testing policy: the host is first tried as the policy would have it; its failure
        is reported, and the message is delivered as without the policy.
        """
        sending, sessions = self.sendWith(stsTesting("mx0.example.org"), count=1)
        client, _ = self.connect()
        client.dataReceived(b"220 mx ESMTP\r\n")
        client.dataReceived(b"250-mx\r\n250 PIPELINING\r\n")
        self.end(client)
        result = self.deliverOnNextHost(sending)
        self.assertEqual(result.policy, MailPolicy.MTA_STS_TESTING)
        # Delivered in cleartext, the second session is no TLS session either.
        self.assertEqual(
            [(s.policyType, s.resultType) for s in sessions],
            [("sts", "starttls-not-supported"), ("no-policy-found", "starttls-not-supported")],
        )

    def test_fetchFailureReported(self) -> None:
        """
        A policy that could not be fetched: delivery goes on without it (RFC 8461 section
        5.1), and the failure is reported.
        """
        source = _Source(_Outcome(None, _Failure.FETCH, "connection refused"))
        sending, sessions = self.sendWith(source)
        self.deliverOnNextHost(sending)
        self.assertEqual(
            (sessions[0].policyType, sessions[0].resultType, sessions[0].failureReason),
            ("sts", "sts-policy-fetch-error", "connection refused"),
        )
        self.assertEqual(source.asked, ["example.org"])

    def test_brokenSourceIsNoPolicy(self) -> None:
        class Broken:
            def policyFor(self, domain: str) -> Any:
                from twisted.internet.defer import fail

                return fail(Failure(RuntimeError("broken")))

        sending = self.send(hosts(1), heloName="client.example.net", mtaSTS=Broken())
        result = self.deliverOnNextHost(sending)
        self.assertEqual(result.policy, MailPolicy.NONE)


class _Failure(enum.Enum):
    FETCH = "sts-policy-fetch-error"


class FailingReporterTests(MemoryMail):
    def test_reporterFailureNeverStopsDelivery(self) -> None:
        """
        A reporter that fails (a full disk) is logged; the delivery goes on.
        """

        def broken(session: TLSSession) -> None:
            raise OSError("no space left on device")

        sending = self.send(hosts(1), heloName="client.example.net", reporter=broken)
        self.deliverOnNextHost(sending)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)

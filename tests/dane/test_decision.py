"""
Tests for L{txdane.dane.decision}: the table of what a client does with each TLSA outcome,
including every failure that must never downgrade to "no TLSA".
"""

from __future__ import annotations

import dns.exception
import dns.name
import pytest
from twisted.internet import defer, error
from twisted.python.failure import Failure

from txdane.dane.decision import Action, Policy, TLSAResult, planConnection, planWithoutTLSA
from txdane.dane.errors import DANEPolicyError
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import TLSARecord
from txdane.errors import TxdaneError
from txdane.status import Status

HOST = "www.example.com"
BASE = dns.name.from_text(HOST)
EE = TLSARecord(3, 1, 1, bytes(range(32)))
TA = TLSARecord(2, 0, 1, bytes(range(1, 33)))
PKIX_EE = TLSARecord(1, 1, 1, bytes(range(2, 34)))
UNUSABLE = TLSARecord(4, 1, 1, bytes(32))


def answer(status: Status, *records: TLSARecord, base: dns.name.Name = BASE, **kw) -> TLSAResult:
    return TLSAResult(status, records, base, **kw)


class ServerFailure(Exception):
    """
    Stands for the validator's SERVFAIL error, carrying an EDE code.
    """

    ede = 22


def _failures() -> list[object]:
    return [
        answer(Status.BOGUS, EE, reason="RRSIG expired", ede=7),
        answer(Status.BOGUS),
        answer(Status.INDETERMINATE, EE),
        answer(Status.INDETERMINATE),
        ServerFailure("SERVFAIL from 192.0.2.53"),
        error.TimeoutError("no answer in 5 s"),
        defer.TimeoutError(),
        dns.exception.FormError("malformed reply"),
        Failure(ServerFailure("SERVFAIL")),
    ]


FAILURES = _failures()


@pytest.mark.parametrize("policy", list(Policy))
@pytest.mark.parametrize("outcome", FAILURES, ids=[f"failure{i}" for i in range(len(FAILURES))])
def test_failuresNeverDowngrade(policy: Policy, outcome: object) -> None:
    """
    Bogus, indeterminate, SERVFAIL, timeout and malformed lookups refuse under every policy,
    SMTP included: never "no TLSA", never unauthenticated TLS.
    """
    with pytest.raises(DANEPolicyError) as info:
        planConnection(outcome, HOST, 443, policy)  # type: ignore[arg-type]
    e = info.value
    assert isinstance(e, TxdaneError)
    assert str(e).startswith(f"{HOST}:443 refused: TLSA lookup for _443._tcp.{HOST} ")


def test_failureMessages() -> None:
    with pytest.raises(DANEPolicyError) as info:
        planConnection(answer(Status.BOGUS, EE, reason="RRSIG expired", ede=7), HOST, 443)
    assert str(info.value) == (
        f"{HOST}:443 refused: TLSA lookup for _443._tcp.{HOST} is bogus (EDE 7): RRSIG expired"
    )
    assert (info.value.status, info.value.ede) == (Status.BOGUS, 7)
    with pytest.raises(DANEPolicyError) as info:
        planConnection(Failure(ServerFailure("SERVFAIL")), HOST, 25, Policy.SMTP)
    assert str(info.value) == f"{HOST}:25 refused: TLSA lookup for _25._tcp.{HOST} failed: SERVFAIL"
    assert info.value.status is None and info.value.ede == 22
    with pytest.raises(DANEPolicyError, match="failed: TimeoutError"):
        planConnection(defer.TimeoutError(), HOST, 443)


def test_messagesNameTheRecordsLookedUp() -> None:
    """
    Where the TLSA records were looked up at another name than the host's (a TLSA host
    given, a secure alias's target), the reasons name that name's records: those of a
    L{TLSAResult} by its base domain, those of a failed lookup by C{baseDomain}.
    """
    with pytest.raises(DANEPolicyError, match=r"TLSA lookup for _443\._tcp\.tlsa\.test failed"):
        planConnection(defer.TimeoutError(), HOST, 443, baseDomain="tlsa.test")
    other = answer(Status.SECURE, base=dns.name.from_text("tlsa.test"))
    with pytest.raises(
        DANEPolicyError, match=r"DANE is required but _443\._tcp\.tlsa\.test has no TLSA"
    ):
        planConnection(other, HOST, 443, Policy.DANE_ONLY, baseDomain="ignored.test")
    plan = planConnection(other, HOST, 443)
    assert plan.reason == "_443._tcp.tlsa.test has no TLSA records (proven by DNSSEC)"


def test_messagesNameTheProtocolLabel() -> None:
    """
    Records looked up with another transport protocol label (C{proto}) are named by their
    own owner name, C{_PORT._udp.HOST}, in failures and in plans.
    """
    with pytest.raises(DANEPolicyError, match=r"TLSA lookup for _853\._udp\.www\.example\.com"):
        planConnection(defer.TimeoutError(), HOST, 853, proto="udp")
    plan = planConnection(answer(Status.SECURE), HOST, 853, proto="udp")
    assert plan.reason == "_853._udp.www.example.com has no TLSA records (proven by DNSSEC)"
    plan = planConnection(answer(Status.SECURE, EE), HOST, 853, proto="udp")
    assert plan.action is Action.DANE
    assert plan.reason.startswith("_853._udp.www.example.com has 1 usable TLSA record(s)")


@pytest.mark.parametrize(
    "policy, action", [(Policy.DEFAULT, Action.DANE), (Policy.DANE_ONLY, Action.DANE)]
)
def test_secureUsable(policy: Policy, action: Action) -> None:
    plan = planConnection(answer(Status.SECURE, EE, UNUSABLE), HOST, 443, policy)
    assert plan.action is action
    assert plan.records == (EE, UNUSABLE)
    assert plan.serverName == HOST
    assert plan.matchOptions.referenceNames == (HOST,)
    assert not plan.matchOptions.smtp


@pytest.mark.parametrize(
    "outcome",
    [answer(Status.SECURE), answer(Status.INSECURE), answer(Status.INSECURE, EE)],
    ids=["proven-absent", "insecure", "insecure-with-records"],
)
def test_noDANE(outcome: TLSAResult) -> None:
    """
    Proven absence or an insecure zone: PKIX by default (insecure records are never used),
    unauthenticated TLS for SMTP, refusal for DANE-only.
    """
    roots = PKIXTrust(())
    plan = planConnection(outcome, HOST, 443, trust=roots)
    assert (plan.action, plan.serverName, plan.records, plan.trust) == (
        Action.PKIX,
        HOST,
        (),
        roots,
    )
    assert not plan.tlsRequired
    plan = planConnection(outcome, HOST, 25, Policy.SMTP)
    assert (plan.action, plan.records, plan.tlsRequired) == (Action.UNAUTHENTICATED, (), False)
    with pytest.raises(DANEPolicyError, match="DANE is required but"):
        planConnection(outcome, HOST, 443, Policy.DANE_ONLY)


def test_withoutTLSA() -> None:
    """
    A host whose addresses are insecure gets no TLSA lookup: the caller's normal policy.
    """
    plan = planWithoutTLSA(HOST, 443, "the addresses are insecure")
    assert (plan.action, plan.tlsRequired, plan.reason) == (
        Action.PKIX,
        False,
        "the addresses are insecure",
    )
    assert planWithoutTLSA(HOST, 25, "x", Policy.SMTP).action is Action.UNAUTHENTICATED
    with pytest.raises(DANEPolicyError, match="DANE is required but x"):
        planWithoutTLSA(HOST, 443, "x", Policy.DANE_ONLY)


def test_allUnusable() -> None:
    """
    Secure but all unusable: TLS is owed (mandatory, unauthenticated for SMTP: "encrypt").
    """
    outcome = answer(Status.SECURE, UNUSABLE)
    plan = planConnection(outcome, HOST, 443)
    assert (plan.action, plan.tlsRequired) == (Action.PKIX, True)
    plan = planConnection(outcome, HOST, 25, Policy.SMTP)
    assert (plan.action, plan.tlsRequired) == (Action.ENCRYPT, True)
    with pytest.raises(DANEPolicyError, match=r"every TLSA record of _443\._tcp\.www"):
        planConnection(outcome, HOST, 443, Policy.DANE_ONLY)


def test_malformedFullRecordsUnusable() -> None:
    """
    Records published in full that hold no certificate or key are unusable (Postfix's
    verdict too): with nothing else, SMTP encrypts without authentication and other
    services fall back to PKIX, as for any unusable RRset.
    """
    outcome = answer(Status.SECURE, TLSARecord(2, 0, 0, bytes(5)), TLSARecord(3, 1, 0, bytes(5)))
    assert planConnection(outcome, HOST, 25, Policy.SMTP).action is Action.ENCRYPT
    assert planConnection(outcome, HOST, 443).action is Action.PKIX
    outcome = answer(Status.SECURE, TLSARecord(2, 0, 0, bytes(5)), EE)
    assert planConnection(outcome, HOST, 25, Policy.SMTP).action is Action.DANE


def test_smtpProfile() -> None:
    """
    SMTP: PKIX usages are unusable (so PKIX-only RRsets mean unauthenticated TLS), DANE-EE
    names are never checked, and the next-hop domain is a reference identifier.
    """
    plan = planConnection(answer(Status.SECURE, PKIX_EE), "mx.example.net", 25, Policy.SMTP)
    assert plan.action is Action.ENCRYPT
    plan = planConnection(
        answer(Status.SECURE, PKIX_EE, TA, base=dns.name.from_text("mx.example.net")),
        "mx.example.net",
        25,
        Policy.SMTP,
        extraNames=("example.org",),
        checkDANEEENames=True,
    )
    assert plan.action is Action.DANE
    assert plan.matchOptions.smtp
    assert not plan.matchOptions.checkDANEEENames
    assert plan.matchOptions.referenceNames == ("mx.example.net", "example.org")


@pytest.mark.parametrize(
    "outcome",
    [
        answer(Status.SECURE),
        answer(Status.INSECURE, EE),
        answer(Status.SECURE, PKIX_EE),
        answer(Status.SECURE, UNUSABLE),
    ],
    ids=["absent", "insecure", "pkix-only", "unusable"],
)
def test_mtaSTSWithoutDANE(outcome: TLSAResult) -> None:
    """
    An MX host of a domain with an enforced MTA-STS policy, where DANE does not apply: TLS is
    required and checked by PKIX for the MX host name (RFC 8461 section 4.2), never
    unauthenticated, never cleartext.
    """
    plan = planConnection(outcome, "mx.example.net", 25, Policy.SMTP_STS)
    assert (plan.action, plan.tlsRequired, plan.serverName) == (
        Action.PKIX,
        True,
        "mx.example.net",
    )
    assert "MTA-STS" in plan.reason
    plan = planWithoutTLSA("mx.example.net", 25, "insecure addresses", Policy.SMTP_STS)
    assert (plan.action, plan.tlsRequired) == (Action.PKIX, True)


def test_mtaSTSDANEFirst() -> None:
    """
    Where DANE applies it takes precedence over MTA-STS (RFC 8461 section 2), with the SMTP
    rules of RFC 7672.
    """
    plan = planConnection(answer(Status.SECURE, EE), "mx.example.net", 25, Policy.SMTP_STS)
    assert plan.action is Action.DANE and plan.matchOptions.smtp
    assert Policy.SMTP_STS.smtp and Policy.SMTP.smtp and not Policy.DEFAULT.smtp


def test_cnameBaseDomain() -> None:
    """
    After a secure CNAME expansion, the base domain is the SNI value and the first reference
    identifier; the original name stays acceptable.
    """
    plan = planConnection(
        answer(Status.SECURE, TA, base=dns.name.from_text("cdn.example.net.")),
        HOST,
        443,
        extraNames=("Example.COM.",),
        checkDANEEENames=True,
    )
    assert plan.serverName == "cdn.example.net"
    assert plan.matchOptions.referenceNames == ("cdn.example.net", HOST, "example.com")
    assert plan.matchOptions.checkDANEEENames

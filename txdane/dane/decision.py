"""
What a client does with the outcome of a TLSA lookup (RFC 6698 section 4, RFC 7671 sections
4-7, RFC 7672 section 2.2): authenticate by DANE, fall back to PKIX, use unauthenticated TLS
(SMTP only), or refuse to connect.

The lookup itself belongs to the validator; its outcome comes in as a L{TLSAResult} (a
validated answer or proven absence, with its DNSSEC status) or as an exception for a lookup
that did not complete. A failed, bogus or indeterminate lookup is never read as "no TLSA":
it always refuses.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import dns.exception
import dns.name
from twisted.python.failure import Failure

from txdane.dane.errors import DANEPolicyError
from txdane.dane.matching import MatchOptions
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import TLSARecord, Usage
from txdane.names import nameFromText, tlsaName
from txdane.status import Status


@dataclass(frozen=True)
class TLSAResult:
    """
    The validated outcome of a TLSA lookup.

    @ivar status: the DNSSEC status of the TLSA RRset, or of the proof that it does not exist.
    @ivar records: the records; empty when proven absent.
    @ivar baseDomain: the TLSA base domain: the host name after CNAME expansion when every
        hop was secure, else the original name (RFC 7671 section 7).
    @ivar reason: why the status is what it is (for bogus and indeterminate answers).
    @ivar ede: the RFC 8914 extended DNS error code, when there is one.
    """

    status: Status
    records: tuple[TLSARecord, ...]
    baseDomain: dns.name.Name
    reason: str = ""
    ede: int | None = None


class Policy(enum.Enum):
    """
    How much a connection insists on DANE.

    @cvar DEFAULT: DANE when secure TLSA records exist, else ordinary PKIX verification
        (as Twisted's C{optionsForClientTLS}); a failed or bogus lookup refuses.
    @cvar DANE_ONLY: secure, usable TLSA records are required.
    @cvar SMTP: RFC 7672: PKIX usages are unusable; no DANE means unauthenticated
        (opportunistic) TLS; DANE-EE names are not checked.
    @cvar SMTP_STS: SMTP to an MX host of a domain with an enforced MTA-STS policy (RFC 8461):
        as L{SMTP} where DANE applies (DANE takes precedence, section 2); otherwise TLS is
        required and the certificate is checked by PKIX for the MX host name.
    """

    DEFAULT = "default"
    DANE_ONLY = "dane-only"
    SMTP = "smtp"
    SMTP_STS = "smtp-sts"

    @property
    def smtp(self) -> bool:
        """
        Whether this is one of the SMTP policies (RFC 7672's rules for TLSA records).
        """
        return self in (Policy.SMTP, Policy.SMTP_STS)


class Action(enum.Enum):
    """
    What a connection does once the TLSA lookup is in.
    """

    #: Authenticate the server by its TLSA records; no match aborts, no fallback.
    DANE = "dane"
    #: No DANE: verify the server by PKIX and the host name, as without txdane.
    PKIX = "pkix"
    #: TLS without authentication, and optional: SMTP's opportunistic TLS when the host
    #: publishes no TLSA records or its zone is unsigned (RFC 7672 section 2.2). A client
    #: that upgrades with STARTTLS may stay in cleartext when the server offers no TLS.
    UNAUTHENTICATED = "unauthenticated"
    #: TLS without authentication, but mandatory: the host publishes secure TLSA records
    #: that are all unusable (RFC 7672 section 2.2, Postfix's "encrypt"), so cleartext is
    #: not allowed.
    ENCRYPT = "encrypt"


@dataclass(frozen=True)
class ConnectionPlan:
    """
    The decision for one connection.

    @ivar action: what to do.
    @ivar host: the host name asked for.
    @ivar port: the port.
    @ivar serverName: the TLS server name (SNI) to send: the TLSA base domain under DANE
        (RFC 7671 section 7), else C{host}.
    @ivar records: the TLSA records to authenticate by (for L{Action.DANE}).
    @ivar matchOptions: how to match them (for L{Action.DANE}).
    @ivar trust: the PKIX roots (for L{Action.PKIX}).
    @ivar reason: why this action, for people.
    @ivar tlsRequired: whether the connection must be encrypted: under L{Action.DANE} and
        L{Action.ENCRYPT}, when secure TLSA records exist but are all unusable, and when the
        policy is L{Policy.DANE_ONLY}. A protocol that upgrades with STARTTLS must not send
        anything but its upgrade commands in cleartext when this is set.
    """

    action: Action
    host: str
    port: int
    serverName: str
    records: tuple[TLSARecord, ...] = ()
    matchOptions: MatchOptions = field(default_factory=MatchOptions)
    trust: PKIXTrust = field(default_factory=PKIXTrust)
    reason: str = ""
    tlsRequired: bool = False


def _nameText(name: dns.name.Name | str) -> str:
    text = name.to_text(omit_final_dot=True) if isinstance(name, dns.name.Name) else name
    return text.rstrip(".").lower()


def _serverName(host: str) -> str:
    """
    C{host} as sent in SNI and checked against certificates without DANE: in ASCII (an
    internationalized name as its A-labels, the form its addresses were looked up under),
    without an absolute name's final dot.
    """
    try:
        return nameFromText(host).to_text(omit_final_dot=True)
    except dns.exception.DNSException:
        return host.rstrip(".") or host


def planWithoutTLSA(
    host: str,
    port: int,
    why: str,
    policy: Policy = Policy.DEFAULT,
    *,
    trust: PKIXTrust | None = None,
) -> ConnectionPlan:
    """
    The plan for a host whose TLSA records are not consulted at all: its address records
    are insecure, so its TLSA records cannot be secure either and must not be looked up
    (RFC 7672 section 2.2.2, RFC 7673 section 3.2). As for a zone without TLSA records:
    PKIX by default, opportunistic TLS for SMTP, refusal for L{Policy.DANE_ONLY}.

    @param why: the reason, for people (names the insecure addresses).
    @raise DANEPolicyError: under L{Policy.DANE_ONLY}.
    """
    if policy is Policy.DANE_ONLY:
        raise DANEPolicyError(host, port, f"DANE is required but {why}", Status.INSECURE)
    action = Action.UNAUTHENTICATED if policy is Policy.SMTP else Action.PKIX
    return ConnectionPlan(
        action,
        host,
        port,
        _serverName(host),
        trust=trust or PKIXTrust(),
        reason=_stsReason(why) if policy is Policy.SMTP_STS else why,
        tlsRequired=policy is Policy.SMTP_STS,
    )


def _stsReason(why: str) -> str:
    return f"{why}: the MTA-STS policy requires TLS, verified by PKIX"


def planConnection(
    tlsa: TLSAResult | BaseException | Failure,
    host: str,
    port: int,
    policy: Policy = Policy.DEFAULT,
    *,
    extraNames: tuple[str, ...] = (),
    checkDANEEENames: bool = False,
    trust: PKIXTrust | None = None,
    baseDomain: dns.name.Name | str | None = None,
    proto: str = "tcp",
) -> ConnectionPlan:
    """
    Decide how to connect to C{host}:C{port} given the outcome of its TLSA lookup.

    @param tlsa: the validated answer, or the exception (or C{Failure}) of a lookup that did
        not complete (timeout, SERVFAIL, malformed reply).
    @param extraNames: further reference identifiers for DANE-TA and PKIX (the MX or SRV
        domain, the SMTP next-hop domain).
    @param checkDANEEENames: check names for DANE-EE too (web clients); ignored for SMTP.
    @param trust: PKIX roots for the PKIX usages and the PKIX fallback (default: the system's).
    @param baseDomain: the name whose TLSA records were looked up, when not C{host} (a TLSA
        host given, a secure alias's target): the reasons name its records. A L{TLSAResult}
        carries its own.
    @param proto: the transport protocol label the TLSA records were looked up with
        (C{_PORT._PROTO.HOST}): the reasons name the records by that owner name.

    @raise DANEPolicyError: when the connection must not be made at all.
    """
    trust = trust or PKIXTrust()
    if isinstance(tlsa, TLSAResult):
        baseDomain = tlsa.baseDomain
    base = host if baseDomain is None else baseDomain
    owner = tlsaName(base, port, proto).to_text(omit_final_dot=True)
    if isinstance(tlsa, Failure):
        failure: BaseException | TLSAResult = tlsa.value  # type: ignore[assignment]
    else:
        failure = tlsa
    if isinstance(failure, BaseException):
        raise DANEPolicyError(
            host,
            port,
            f"TLSA lookup for {owner} failed: {str(failure) or type(failure).__name__}",
            None,
            getattr(failure, "ede", None),
        ) from failure
    tlsa = failure
    status = tlsa.status
    if status in (Status.BOGUS, Status.INDETERMINATE):
        detail = f"TLSA lookup for {owner} is {status}"
        if tlsa.ede is not None:
            detail += f" (EDE {tlsa.ede})"
        if tlsa.reason:
            detail += f": {tlsa.reason}"
        raise DANEPolicyError(host, port, detail, status, tlsa.ede)

    def withoutDANE(why: str, tlsRequired: bool = False) -> ConnectionPlan:
        if policy is Policy.DANE_ONLY:
            raise DANEPolicyError(host, port, f"DANE is required but {why}", status, tlsa.ede)
        serverName = _serverName(host)
        if policy is Policy.SMTP:
            action = Action.ENCRYPT if tlsRequired else Action.UNAUTHENTICATED
        else:
            action = Action.PKIX
        if policy is Policy.SMTP_STS:
            why, tlsRequired = _stsReason(why), True
        return ConnectionPlan(
            action, host, port, serverName, trust=trust, reason=why, tlsRequired=tlsRequired
        )

    if status is Status.INSECURE:
        return withoutDANE(f"the TLSA lookup for {owner} is insecure (no DNSSEC proof)")
    if not tlsa.records:
        return withoutDANE(f"{owner} has no TLSA records (proven by DNSSEC)")
    smtp = policy.smtp
    usable = [
        r
        for r in tlsa.records
        if r.usable and not (smtp and r.usage in (Usage.PKIX_TA, Usage.PKIX_EE))
    ]
    if not usable:
        # A secure but unusable RRset is the zone owner's choice, not an attack: as without
        # DANE (RFC 6698 section 4.1), except that DANE-only refuses and SMTP uses
        # unauthenticated TLS (RFC 7672 section 2.2). Either way the published records
        # say the server does TLS: a client upgrading with STARTTLS must not stay in
        # cleartext.
        return withoutDANE(f"every TLSA record of {owner} is unusable", tlsRequired=True)
    base = _nameText(tlsa.baseDomain)
    names = [base]
    for extra in (host, *extraNames):
        text = _nameText(extra)
        if text and text not in names:
            names.append(text)
    options = MatchOptions(
        referenceNames=tuple(names),
        checkDANEEENames=checkDANEEENames and not smtp,
        smtp=smtp,
        trust=trust,
    )
    return ConnectionPlan(
        Action.DANE,
        host,
        port,
        base,
        tlsa.records,
        options,
        trust,
        reason=f"{owner} has {len(usable)} usable TLSA record(s), secure",
        tlsRequired=True,
    )

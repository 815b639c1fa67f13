"""
Advice: warnings about a DANE deployment that works today but is about to break, or will break
at the next key or certificate change. Each names the record (or signature) and the fix.

  - C{signature-expires-soon}: an RRSIG over the TLSA records, or over a DNSKEY or DS RRset of
    the chain of trust above them, expires within L{SOON} seconds;
  - C{ttl-outlives-signature}: the TLSA records' TTL is longer than the time left on their
    signature, so caches may keep them after it expired;
  - C{pins-certificate}: every usable record pins the current certificate itself (selector
    Cert), which breaks at the next renewal even when the key is kept;
  - C{no-rollover-record}: every DANE-EE record matches the current key, so there is no record
    for the next one (RFC 7671 section 8.1: publish "current + next");
  - C{single-record}: without the server's chain (C{tlsa}, or a connection that failed), the
    service has a single usable TLSA record, DANE-EE: no record for a next key;
  - C{ta-not-sent}: a DANE-TA record names a CA certificate the server does not send (RFC 7671
    section 5.2.2: servers must send it);
  - C{stale-record} (L{txdane.cli._history}, with C{--history}): a record has matched nothing
    the server sent for three weeks of checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dns.rdatatype
from cryptography import x509

from txdane.dane.tlsa import Selector, TLSARecord, Usage, recordForCertificate
from txdane.validation.answer import Answer, SignatureUse

#: How close to its expiry a signature must be to be warned about: 7 days.
SOON = 7 * 86400


@dataclass(frozen=True)
class Advice:
    """
    One warning.

    @ivar code: a stable identifier, e.g. C{"signature-expires-soon"}.
    @ivar subject: what it is about: a record or a signature, in presentation form.
    @ivar message: what is wrong, one line.
    @ivar fix: what to do about it, one line.
    """

    code: str
    subject: str
    message: str
    fix: str

    def toJSON(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "subject": self.subject,
            "message": self.message,
            "fix": self.fix,
        }

    def lines(self) -> list[str]:
        """
        The warning for people: the message, then the fix.
        """
        return [f"{self.message} ({self.subject})", f"  fix: {self.fix}"]


def _left(seconds: int) -> str:
    if seconds <= 0:
        return "has expired"
    days, rest = divmod(seconds, 86400)
    if days:
        return f"expires in {days} day{'s' if days != 1 else ''}"
    return f"expires in {max(rest // 3600, 0)} h {rest % 3600 // 60} min"


def _signatureText(signature: SignatureUse) -> str:
    return (
        f"RRSIG {dns.rdatatype.to_text(signature.covered)} {signature.owner} by "
        f"{signature.signer} key {signature.keyTag}"
    )


def signatureAdvice(answer: Answer, now: float) -> list[Advice]:
    """
    Warnings about the signatures a (secure) TLSA answer depends on.
    """
    advice: list[Advice] = []
    seen: set[tuple[str, int, int]] = set()
    signatures = list(answer.signatures)
    for zone in answer.trustChain:
        signatures.extend(zone.signatures)
    for signature in signatures:
        key = (str(signature.owner), int(signature.covered), signature.expiration)
        if key in seen:
            continue
        seen.add(key)
        left = int(signature.expiration - now)
        if left < SOON:
            zoneKey = signature.covered in (dns.rdatatype.DNSKEY, dns.rdatatype.DS)
            what = "a zone key of the chain of trust" if zoneKey else "the records"
            advice.append(
                Advice(
                    "signature-expires-soon",
                    _signatureText(signature),
                    f"the signature over {what} {_left(left)}",
                    f"re-sign zone {signature.signer} (and check that its signer runs)",
                )
            )
    tlsaSignatures = [s for s in answer.signatures if s.covered == dns.rdatatype.TLSA]
    if answer.rrset is not None and tlsaSignatures:
        left = int(min(s.expiration for s in tlsaSignatures) - now)
        if answer.rrset.ttl > left:
            advice.append(
                Advice(
                    "ttl-outlives-signature",
                    f"{answer.rrset.name} {answer.rrset.ttl} IN TLSA",
                    f"the TLSA TTL ({answer.rrset.ttl} s) is longer than the time left on "
                    f"its signature ({max(left, 0)} s): caches may keep the records after "
                    "the signature expired",
                    "lower the TTL of the TLSA records, or re-sign the zone well before the "
                    "signatures expire",
                )
            )
    return advice


def matchesCertificate(record: TLSARecord, certificate: x509.Certificate) -> bool:
    """
    Whether C{record} is the record of C{certificate} (with its own usage, selector and
    matching type).
    """
    try:
        found = recordForCertificate(
            certificate, record.usage, record.selector, record.matchingType
        )
    except Exception:  # a key of a type the matcher cannot select
        return False
    return found == record


#: The fix for a service without a record for its next key.
_ROLLOVER_FIX = (
    "make the next key now and publish its record beside the current one (RFC 7671 section "
    "8.1): txdane publish HOST PORT --cert CURRENT.pem --key NEXT-KEY.pem --server PRIMARY "
    "--tsig-key KEY (docs/rollover.md)"
)


def recordAdvice(
    records: Sequence[TLSARecord], chain: Sequence[x509.Certificate] = ()
) -> list[Advice]:
    """
    Warnings about a TLSA RRset and, when known, the chain the server presents.
    """
    usable = [r for r in records if r.usable]
    advice: list[Advice] = []
    if not usable:
        return advice
    endEntity = [r for r in usable if r.usage in (Usage.DANE_EE, Usage.PKIX_EE)]
    pinsCertificate = (
        len(endEntity) == len(usable)
        and all(r.selector == Selector.CERT for r in usable)
        and (not chain or all(matchesCertificate(r, chain[0]) for r in usable))
    )
    if pinsCertificate:
        advice.append(
            Advice(
                "pins-certificate",
                ", ".join(f"{r.shortText()} {r.mnemonic}" for r in usable),
                "the records pin only the current certificate (selector Cert): its next "
                "renewal breaks DANE even if the key is kept",
                "publish a record of the key (selector SPKI) instead: "
                "txdane generate --cert CERT.pem HOST PORT",
            )
        )
    if not chain and len(usable) == 1 and usable[0].usage == Usage.DANE_EE:
        advice.append(
            Advice(
                "single-record",
                f"{usable[0].shortText()} {usable[0].mnemonic}",
                "the service has a single TLSA record and no record for a next key: a key "
                "change breaks DANE until a new record is published and cached everywhere",
                _ROLLOVER_FIX,
            )
        )
    if chain:
        leaf = chain[0]
        daneEE = [r for r in usable if r.usage == Usage.DANE_EE]
        others = [r for r in usable if r.usage != Usage.DANE_EE]
        if daneEE and not others and all(matchesCertificate(r, leaf) for r in daneEE):
            what = (
                "the service has a single TLSA record, for the current key"
                if len(daneEE) == 1
                else "every DANE-EE record matches the current key"
            )
            advice.append(
                Advice(
                    "no-rollover-record",
                    ", ".join(f"{r.shortText()} {r.mnemonic}" for r in daneEE),
                    f"{what}: there is no record for the next key, so a key change would "
                    "break DANE",
                    _ROLLOVER_FIX,
                )
            )
        for record in usable:
            if record.usage != Usage.DANE_TA:
                continue
            if not any(matchesCertificate(record, c) for c in chain):
                advice.append(
                    Advice(
                        "ta-not-sent",
                        f"{record.shortText()} {record.mnemonic}",
                        "the server does not send the CA certificate this DANE-TA record names",
                        "configure the server to send its full chain, including the CA "
                        "certificate the record names (RFC 7671 section 5.2.2)",
                    )
                )
    return advice

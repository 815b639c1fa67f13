"""
Evidence the reporting subcommands show: the answers the endpoints looked up (recorded on the
way), the TLSA answer a connection used, and certificates described for people and JSON.

The subcommands never decide anything here: the endpoints decide, and L{RecordingResolver}
keeps the answers they were given so that the report can show them.
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

import dns.name
import dns.rdatatype
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from twisted.internet.defer import Deferred
from zope.interface import implementer

from txdane.dane.tlsa import TLSARecord
from txdane.names import nameFromText
from txdane.status import Status
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver


@implementer(IDNSSECResolver)
class RecordingResolver:
    """
    A validating resolver that keeps every answer (or failure) it hands out, by question.

    @ivar resolver: the resolver asked.
    @ivar outcomes: C{(name, type)} -> the L{Answer} or the exception of its latest lookup.
    """

    def __init__(self, resolver: IDNSSECResolver) -> None:
        self.resolver = resolver
        self.outcomes: dict[tuple[dns.name.Name, int], Answer | BaseException] = {}

    def _keep(self, name: Any, rdtype: Any, d: Deferred[Any]) -> Deferred[Any]:
        key = (_name(name), int(dns.rdatatype.RdataType.make(rdtype)))

        def kept(result: Any) -> Any:
            if isinstance(result, Answer):
                self.outcomes[key] = result
            elif hasattr(result, "value") and isinstance(result.value, Exception):
                self.outcomes[key] = result.value
            return result

        d.addBoth(kept)
        return d

    def lookup(self, name: Any, rdtype: Any) -> Deferred[Answer]:
        return self._keep(name, rdtype, self.resolver.lookup(name, rdtype))

    def lookupAddress(self, name: Any) -> Deferred[tuple[Answer, Answer]]:
        d: Deferred[Any] = self.resolver.lookupAddress(name)

        def kept(answers: Any) -> Any:
            for answer in answers:
                self.outcomes[(_name(name), int(answer.rdtype))] = answer
            return answers

        d.addCallback(kept)
        return d

    def lookupTLSA(self, host: Any, port: int, proto: str = "tcp") -> Deferred[Answer]:
        from txdane.names import tlsaName

        owner = tlsaName(host, port, proto)
        return self._keep(owner, "TLSA", self.resolver.lookupTLSA(host, port, proto))

    def lookupMX(self, name: Any) -> Deferred[Answer]:
        return self._keep(name, "MX", self.resolver.lookupMX(name))

    def lookupSRV(self, name: Any) -> Deferred[Answer]:
        return self._keep(name, "SRV", self.resolver.lookupSRV(name))

    def lookupSSHFP(self, name: Any) -> Deferred[Answer]:
        return self._keep(name, "SSHFP", self.resolver.lookupSSHFP(name))

    def lookupDS(self, name: Any) -> Deferred[Answer]:
        return self._keep(name, "DS", self.resolver.lookupDS(name))

    def lookupDNSKEY(self, name: Any) -> Deferred[Answer]:
        return self._keep(name, "DNSKEY", self.resolver.lookupDNSKEY(name))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.resolver, name)

    def outcome(self, name: Any, rdtype: str) -> Answer | BaseException | None:
        """
        The recorded outcome of a lookup, or C{None} if it was not asked.
        """
        return self.outcomes.get((_name(name), int(dns.rdatatype.from_text(rdtype))))

    def tlsaOutcome(
        self, host: str, port: int, proto: str = "tcp"
    ) -> tuple[dns.name.Name, Answer | BaseException | None]:
        """
        The TLSA answer a connection to C{host}:C{port} used, and its base domain: that of
        the CNAME-expanded name where it was asked and settled the matter (secure records,
        or a failure), else that of C{host} (RFC 7671 section 7, as the endpoint decides).
        """
        from txdane.names import tlsaName

        original = _name(host)
        for (owner, rdtype), outcome in self.outcomes.items():
            if rdtype != dns.rdatatype.TLSA or owner == tlsaName(original, port, proto):
                continue
            base = dns.name.Name(owner.labels[2:])
            if owner != tlsaName(base, port, proto):
                continue
            if isinstance(outcome, BaseException) or (
                outcome.status in (Status.BOGUS, Status.INDETERMINATE)
                or (outcome.status is Status.SECURE and outcome.exists)
            ):
                return base, outcome
        return original, self.outcome(tlsaName(original, port, proto), "TLSA")


def _name(name: Any) -> dns.name.Name:
    if isinstance(name, dns.name.Name):
        return name
    if isinstance(name, bytes):
        name = name.decode("ascii")
    return nameFromText(name)


def tlsaRecords(answer: Answer) -> tuple[TLSARecord, ...]:
    """
    The TLSA records of an answer.
    """
    return tuple(
        TLSARecord.fromRdata(r)  # type: ignore[arg-type]
        for r in answer.records
        if r.rdtype == dns.rdatatype.TLSA
    )


def dateText(moment: datetime.datetime) -> str:
    """
    A date for people: C{2027-02-01}.
    """
    return moment.strftime("%Y-%m-%d")


def notAfter(certificate: x509.Certificate) -> datetime.datetime:
    """
    The end of a certificate's validity, in UTC.
    """
    return certificate.not_valid_after_utc


def certificateLines(chain: tuple[x509.Certificate, ...] | list[x509.Certificate]) -> list[str]:
    """
    One line per certificate: depth, subject, issuer (or self-signed) and expiry.
    """
    lines = []
    for depth, certificate in enumerate(chain):
        subject = certificate.subject.rfc4514_string() or "(no subject)"
        if certificate.issuer == certificate.subject:
            issuer = "self-signed"
        else:
            issuer = f"issued by {certificate.issuer.rfc4514_string() or '(no name)'}"
        lines.append(f"{depth}  {subject}  {issuer}, expires {dateText(notAfter(certificate))}")
    return lines


def certificateJSON(chain: tuple[x509.Certificate, ...] | list[x509.Certificate]) -> list[Any]:
    """
    The JSON form of a chain: per certificate C{depth}, C{subject}, C{issuer}, C{not_after}
    (ISO 8601) and C{sha256} (of the DER certificate, hex).
    """
    return [
        {
            "depth": depth,
            "subject": c.subject.rfc4514_string(),
            "issuer": c.issuer.rfc4514_string(),
            "not_after": notAfter(c).isoformat(),
            "sha256": hashlib.sha256(c.public_bytes(Encoding.DER)).hexdigest(),
        }
        for depth, c in enumerate(chain)
    ]


def recordJSON(record: TLSARecord, unusableReason: str | None = None) -> dict[str, Any]:
    """
    The JSON form of a TLSA record: its fields, RFC 7218 names and usability.

    @param unusableReason: why the record is unusable where it is used (PKIX usages for
        SMTP), when the record alone does not say.
    """
    reason = record.unusableReason or unusableReason
    return {
        "record": str(record),
        "usage": record.usage,
        "selector": record.selector,
        "matching_type": record.matchingType,
        "data": record.data.hex(),
        "mnemonic": record.mnemonic,
        "usable": reason is None,
        "unusable_reason": reason,
    }

"""
The TLSA records of a service as a connection would use them, shared by C{tlsa}, C{verify}
and C{check}: looked up by the C{dane:} endpoint's own planning (addresses and TLSA in
parallel, CNAME base domain), and shown with their mnemonics, usability and advice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dns.name

from txdane.cli import ExitStatus
from txdane.cli._advice import Advice, recordAdvice, signatureAdvice
from txdane.cli._evidence import RecordingResolver, recordJSON, tlsaRecords
from txdane.dane.matching import smtpUnusableReason
from txdane.dane.tlsa import TLSARecord
from txdane.errors import LookupFailedError
from txdane.names import tlsaName
from txdane.status import Status
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver

#: Exit status for the status of a TLSA lookup whose records do not (yet) decide anything.
STATUS_EXIT = {
    Status.SECURE: ExitStatus.OK,
    Status.INSECURE: ExitStatus.INSECURE,
    Status.BOGUS: ExitStatus.BOGUS,
    Status.INDETERMINATE: ExitStatus.INDETERMINATE,
}


@dataclass
class TLSALookup:
    """
    The TLSA records of C{host}:C{port} and what they mean.

    @ivar host: the host name asked for.
    @ivar port: the port.
    @ivar proto: the protocol label.
    @ivar baseDomain: the TLSA base domain used (RFC 7671 section 7).
    @ivar answer: the validated answer, or C{None} when the lookup failed.
    @ivar failure: why the lookup failed, or C{None}.
    @ivar given: records given by the user instead of DNS (C{verify --tlsa}).
    @ivar addressProblem: why the host's addresses cannot be used, when they cannot.
    @ivar smtp: whether the records are used under the SMTP rules (RFC 7672), which make
        PKIX-TA and PKIX-EE records unusable.
    """

    host: str
    port: int
    proto: str
    baseDomain: dns.name.Name
    answer: Answer | None = None
    failure: LookupFailedError | BaseException | None = None
    given: tuple[TLSARecord, ...] | None = None
    addressProblem: str = ""
    warnings: list[Advice] = field(default_factory=list)
    smtp: bool = False

    @property
    def owner(self) -> dns.name.Name:
        return tlsaName(self.baseDomain, self.port, self.proto)

    @property
    def status(self) -> str:
        """
        C{secure}, C{insecure}, C{bogus}, C{indeterminate}, C{failed}, or C{given}.
        """
        if self.given is not None:
            return "given"
        if self.answer is None:
            return "failed"
        return self.answer.status.value

    @property
    def records(self) -> tuple[TLSARecord, ...]:
        if self.given is not None:
            return self.given
        return tlsaRecords(self.answer) if self.answer is not None else ()

    @property
    def reason(self) -> str:
        if self.failure is not None:
            return str(getattr(self.failure, "reason", "") or self.failure)
        return self.answer.reason if self.answer is not None else ""

    @property
    def ede(self) -> int | None:
        if self.failure is not None:
            return getattr(self.failure, "ede", None)
        return self.answer.ede if self.answer is not None else None

    def unusableReason(self, record: TLSARecord) -> str | None:
        """
        Why C{record} cannot be used here, or C{None} when it can: the record's own reason,
        or under L{smtp} that of a PKIX usage (the matcher's words).
        """
        if record.unusableReason is not None:
            return record.unusableReason
        return smtpUnusableReason(record) if self.smtp else None

    @property
    def daneApplies(self) -> bool:
        """
        Whether the records are secure (or given) and at least one is usable.
        """
        secure = self.given is not None or (
            self.answer is not None and self.answer.status is Status.SECURE
        )
        return secure and any(self.unusableReason(r) is None for r in self.records)

    def recordJSON(self, record: TLSARecord) -> dict[str, Any]:
        """
        The JSON form of one of the records (L{recordJSON
        <txdane.cli._evidence.recordJSON>}), usable or not as it is used here.
        """
        return recordJSON(record, self.unusableReason(record))

    def exitStatus(self) -> int:
        """
        The exit status of the lookup alone: 0 when DANE applies; 1 when it does not
        (insecure, no records, every record unusable); 3, 4, 5 for bogus, failed,
        indeterminate.
        """
        if self.given is None and self.answer is None:
            return ExitStatus.FAILURE
        if self.given is None and self.answer is not None:
            if self.answer.status is not Status.SECURE:
                return STATUS_EXIT[self.answer.status]
        return ExitStatus.OK if self.daneApplies else ExitStatus.INSECURE

    def summary(self) -> str:
        """
        Whether DANE applies, in a few words.
        """
        records = self.records
        usable = sum(1 for r in records if self.unusableReason(r) is None)
        status = self.status
        if status == "failed":
            return "the lookup failed: DANE cannot be decided (never read as no TLSA)"
        if status in ("bogus", "indeterminate"):
            return f"the records are {status}: a client must not connect"
        if status == "insecure":
            return "not signed (insecure): DANE does not apply"
        if not records:
            return "no TLSA records (proven absent): DANE does not apply"
        if not usable:
            return f"none of the {len(records)} records is usable: DANE does not apply"
        return f"DANE applies: {usable} of {len(records)} record(s) usable"

    def addAdvice(self, now: float, chain: Any = ()) -> None:
        """
        Work out the warnings for these records (and the chain the server presents).
        """
        if self.answer is not None and self.answer.status is Status.SECURE:
            self.warnings.extend(signatureAdvice(self.answer, now))
        if self.daneApplies:
            usable = [r for r in self.records if self.unusableReason(r) is None]
            self.warnings.extend(recordAdvice(usable, tuple(chain)))

    def recordLines(self, checks: dict[TLSARecord, str] | None = None) -> list[str]:
        """
        One line per record: the record, its mnemonics, and its usability (or what
        happened to it in a verification, from C{checks}).
        """
        lines = []
        for record in self.records:
            if checks is not None and record in checks:
                state = checks[record]
            elif (why := self.unusableReason(record)) is None:
                state = "usable"
            else:
                state = f"unusable: {why}"
            lines.append(f"{record.shortText()}  {record.mnemonic}  {state}")
        return lines

    def baseLine(self) -> str:
        """
        The TLSA base domain and how it was reached.
        """
        base = self.baseDomain.to_text(omit_final_dot=True)
        if base.lower() != self.host.rstrip(".").lower():
            return f"{base} (the secure CNAME target of {self.host})"
        return base

    def toJSON(self) -> dict[str, Any]:
        """
        The keys of C{lookup --json} for the TLSA question, with C{records} as objects
        (L{recordJSON}), and C{host}, C{port}, C{proto}, C{base_domain}, C{dane} and
        C{warnings}.
        """
        from txdane.cli.lookup import answerToJSON
        from txdane.validation.ede import edeText

        if self.answer is not None and self.given is None:
            data = answerToJSON(self.answer)
        else:
            data = {
                "name": self.owner.to_text(),
                "type": "TLSA",
                "status": self.status,
                "reason": self.reason,
                "ede": self.ede,
                "ede_text": edeText(self.ede) if self.ede is not None else None,
            }
        data.update(
            host=self.host,
            port=self.port,
            proto=self.proto,
            base_domain=self.baseDomain.to_text(),
            records=[self.recordJSON(r) for r in self.records],
            dane=self.daneApplies,
            warnings=[w.toJSON() for w in self.warnings],
        )
        if self.addressProblem:
            data["address_problem"] = self.addressProblem
        return data


async def lookupTLSA(
    reactor: Any,
    resolver: IDNSSECResolver,
    host: str,
    port: int,
    proto: str = "tcp",
) -> TLSALookup:
    """
    Look up the TLSA records of C{host}:C{port} as the C{dane:} endpoint does (its own
    planning step), and keep the answer it used. For another C{proto} than C{tcp}, which
    the endpoint does not connect over, the planning is the same with the records of
    C{_PORT._PROTO.HOST}.
    """
    from twisted.internet.defer import CancelledError

    from txdane.adapters import AddressLookupError
    from txdane.dane.errors import DANEPolicyError
    from txdane.endpoints.dane import DANEEndpoint

    recorder = RecordingResolver(resolver)
    endpoint = DANEEndpoint(reactor, recorder, host, port)
    addressProblem = ""
    try:
        await endpoint.plan(proto=proto)
    except DANEPolicyError:
        pass  # the answer (or failure) is recorded
    except AddressLookupError as e:
        addressProblem = str(e)
    base, outcome = recorder.tlsaOutcome(host, port, proto)
    if outcome is None or isinstance(outcome, CancelledError):
        # The address lookup failed first and the TLSA lookup was dropped: ask again.
        try:
            outcome = await resolver.lookupTLSA(base, port, proto)
        except LookupFailedError as e:
            outcome = e
    result = TLSALookup(host, port, proto, base, addressProblem=addressProblem)
    if isinstance(outcome, Answer):
        result.answer = outcome
    else:
        result.failure = outcome
    return result

"""
C{txdane lookup NAME [TYPE]}: a validated lookup, like BIND's C{delv}.

Prints the verdict first (name, type, status, and the EDE code and reason when not secure),
then the records; with C{-v} the chain of trust. C{--json} prints one JSON object instead
(see L{answerToJSON}). The exit status says the verdict: see L{txdane.cli.ExitStatus}.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from typing import Any, TextIO

import dns.dnssec
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype

from txdane.cli import CommandError, ExitStatus, UsageError
from txdane.cli._common import (
    addResolution,
    addResolverArguments,
    resolutionLines,
    resolverSettings,
    runOnReactor,
)
from txdane.dane.tlsa import TLSARecord
from txdane.names import nameFromText
from txdane.status import Status
from txdane.validation import Answer, LookupFailedError
from txdane.validation.answer import SignatureUse, ZoneTrust
from txdane.validation.ede import EDE, edeText
from txdane.validation.interfaces import IDNSSECResolver

#: Exit status for each verdict.
EXIT_STATUS = {
    Status.SECURE: ExitStatus.OK,
    Status.INSECURE: ExitStatus.INSECURE,
    Status.BOGUS: ExitStatus.BOGUS,
    Status.INDETERMINATE: ExitStatus.INDETERMINATE,
}


def addArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the domain name to look up")
    parser.add_argument(
        "type", metavar="TYPE", nargs="?", default="A", help="record type (default: A)"
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also print the chain of trust"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (its keys: docs/cli.md, under lookup)",
    )
    addResolverArguments(parser)


def parseQuestion(name: str, rdtype: str) -> tuple[dns.name.Name, dns.rdatatype.RdataType]:
    """
    @raise UsageError: for a malformed name or an unknown type.
    """
    if not name.strip():
        # dnspython reads empty text as the root; an unset variable must not ask for it.
        raise UsageError(f"{name!r} is not a valid domain name: it is empty (the root is .)")
    try:
        qname = nameFromText(name)
    except dns.exception.DNSException as e:
        raise UsageError(f"{name!r} is not a valid domain name: {e}") from None
    try:
        qtype = dns.rdatatype.from_text(rdtype)
    except (dns.exception.DNSException, ValueError):  # ValueError: TYPEn above 65535
        raise UsageError(f"unknown record type {rdtype!r}") from None
    if qtype == 0:
        raise UsageError("record type 0 is reserved (RFC 6895 section 3.1)")
    if dns.rdatatype.is_metatype(qtype) or qtype in (dns.rdatatype.RRSIG, dns.rdatatype.OPT):
        raise UsageError(f"cannot look up type {rdtype.upper()} on its own")
    return qname, qtype


def _time(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M:%SZ"
    )


def _algorithm(number: int) -> str:
    try:
        return dns.dnssec.algorithm_to_text(number)
    except Exception:
        return str(number)


def verdictLine(answer: Answer) -> str:
    """
    The first line: what was asked and the verdict, e.g. C{www.example.test. A} followed by
    C{bogus (EDE 9, DNSKEY missing)}.
    """
    line = f"{answer.name} {dns.rdatatype.to_text(answer.rdtype)}  {answer.status}"
    if answer.status is not Status.SECURE and answer.ede is not None:
        line += f" (EDE {answer.ede}, {edeText(answer.ede) or 'unknown code'})"
    if answer.securedBy != "validation":
        line += f" [{answer.securedBy}]"
    return line


def _recordText(rdata: dns.rdata.Rdata) -> str:
    """
    A record's data; TLSA records also with their RFC 7218 mnemonics (and why a record is
    unusable), SSHFP records with their algorithm and fingerprint type.
    """
    if rdata.rdtype == dns.rdatatype.TLSA:
        record = TLSARecord.fromRdata(rdata)  # type: ignore[arg-type]
        if record.unusableReason is not None:
            return f"{rdata.to_text()}  {record.mnemonic}  unusable: {record.unusableReason}"
        return f"{rdata.to_text()}  {record.mnemonic}"
    if rdata.rdtype == dns.rdatatype.SSHFP:
        from txdane.ssh import SSHFPRecord

        return f"{rdata.to_text()}  {SSHFPRecord.fromRdata(rdata).mnemonic}"
    return rdata.to_text()


def formatAnswer(answer: Answer, verbose: bool = False) -> str:
    """
    The human-readable report of an answer.
    """
    lines = [verdictLine(answer)]
    if answer.status is not Status.SECURE and answer.reason:
        lines.append(f"  {answer.reason}")
    for link in answer.chain:
        for rdata in link.rrset:
            lines.append(
                f"  {link.rrset.name} {dns.rdatatype.to_text(link.rrset.rdtype)} "
                f"{rdata.to_text()}  ({link.status})"
            )
    if answer.rrset is not None:
        indent = "  "
        if answer.status is Status.BOGUS:
            lines.append("  data that failed validation (do not use it):")
            indent = "    "
        for rdata in answer.rrset:
            lines.append(f"{indent}{_recordText(rdata)}")
    else:
        what = "NXDOMAIN" if answer.rcode == dns.rcode.NXDOMAIN else "NODATA"
        lines.append(f"  no such {'name' if what == 'NXDOMAIN' else 'record'} ({what})")
    if verbose:
        lines.extend(_trustLines(answer.trustChain, answer.signatures))
    return "\n".join(lines)


def _trustLines(zones: tuple[ZoneTrust, ...], signatures: tuple[SignatureUse, ...]) -> list[str]:
    lines = ["  chain of trust"]
    if not zones:
        lines.append("    (none)")
    width = max([len(str(z.zone)) for z in zones] + [6])
    for zone in zones:
        source = "trust anchor" if zone.anchored else "DS"
        tags = ", ".join(str(t) for t in zone.dsKeyTags) or "-"
        keys = []
        if zone.dnskey is not None:
            for key in zone.dnskey:
                role = "KSK" if key.flags & 0x0001 else "ZSK"
                keys.append(f"{role} {dns.dnssec.key_id(key)} ({_algorithm(key.algorithm)})")
        signedBy = {s.signer for s in zone.signatures if s.covered == dns.rdatatype.DS}
        by = f" signed by {', '.join(str(s) for s in sorted(signedBy))}" if signedBy else ""
        line = f"    {zone.zone!s:<{width}}  {zone.status}  {source} {tags}{by}"
        if keys:
            line += f" -> DNSKEY {', '.join(keys)}"
        lines.append(line)
        if zone.reason and zone.status is not Status.SECURE:
            lines.append(f"    {'':<{width}}  {zone.reason}")
    for signature in signatures:
        lines.append(
            f"    {'answer':<{width}}  RRSIG {dns.rdatatype.to_text(signature.covered)} by "
            f"{signature.signer} key {signature.keyTag} ({_algorithm(signature.algorithm)}), "
            f"valid {_time(signature.inception)} to {_time(signature.expiration)}"
        )
    return lines


def answerToJSON(answer: Answer) -> dict[str, Any]:
    """
    The JSON form of an answer. Keys (stable):

      - C{name}, C{type}: the question;
      - C{status}: C{"secure"}, C{"insecure"}, C{"bogus"} or C{"indeterminate"};
      - C{reason}: one line: why the status is what it is (for a secure answer, the
        signature that verified it);
      - C{ede}: the RFC 8914 code or null; C{ede_text}: its name or null;
      - C{rcode}: C{"NOERROR"} or C{"NXDOMAIN"};
      - C{records}: the records in presentation form (the RDATA only);
      - C{owner}: the owner of the records (differs from C{name} after a CNAME), or null;
      - C{ttl}: seconds the answer may be kept;
      - C{chain}: the CNAME/DNAME records followed, each C{{"record", "status"}};
      - C{secured_by}: C{"validation"}, or which resolver's AD bit was trusted;
      - C{trust_chain}: per zone C{{"zone", "status", "anchored", "ds_key_tags",
        "dnskey_key_tags", "reason"}};
      - C{signatures}: C{{"owner", "type", "signer", "key_tag", "algorithm", "inception",
        "expiration"}} (times in seconds since the epoch).
    """
    return {
        "name": str(answer.name),
        "type": dns.rdatatype.to_text(answer.rdtype),
        "status": answer.status.value,
        "reason": answer.reason,
        "ede": answer.ede,
        "ede_text": edeText(answer.ede) if answer.ede is not None else None,
        "rcode": dns.rcode.to_text(answer.rcode),
        "records": [r.to_text() for r in answer.records],
        "owner": str(answer.rrset.name) if answer.rrset is not None else None,
        "ttl": answer.ttl,
        "chain": [
            {"record": link.rrset.to_text(), "status": link.status.value} for link in answer.chain
        ],
        "secured_by": answer.securedBy,
        "trust_chain": [
            {
                "zone": str(z.zone),
                "status": z.status.value,
                "anchored": z.anchored,
                "ds_key_tags": list(z.dsKeyTags),
                "dnskey_key_tags": [dns.dnssec.key_id(k) for k in z.dnskey]
                if z.dnskey is not None
                else [],
                "reason": z.reason,
            }
            for z in answer.trustChain
        ],
        "signatures": [
            {
                "owner": str(s.owner),
                "type": dns.rdatatype.to_text(s.covered),
                "signer": str(s.signer),
                "key_tag": s.keyTag,
                "algorithm": s.algorithm,
                "inception": s.inception,
                "expiration": s.expiration,
            }
            for s in answer.signatures
        ],
    }


def failureToJSON(error: LookupFailedError) -> dict[str, Any]:
    """
    The JSON form of a lookup that could not complete: C{status} is C{"failed"}.
    """
    return {
        "name": str(error.name),
        "type": dns.rdatatype.to_text(error.rdtype),
        "status": "failed",
        "reason": error.reason,
        "ede": error.ede,
        "ede_text": edeText(error.ede) if error.ede is not None else None,
        "records": [],
    }


async def execute(
    resolver: IDNSSECResolver, options: argparse.Namespace, out: TextIO, err: TextIO
) -> int:
    """
    Do the lookup the options ask for with C{resolver} and report it.
    """
    qname, qtype = parseQuestion(options.name, options.type)
    try:
        answer: Answer = await resolver.lookup(qname, qtype)
    except LookupFailedError as e:
        if options.json:
            data = addResolution(failureToJSON(e), resolver)
            print(json.dumps(data, indent=2), file=out)
            return ExitStatus.FAILURE
        raise CommandError(str(e), ExitStatus.FAILURE) from None
    if options.json:
        print(json.dumps(addResolution(answerToJSON(answer), resolver), indent=2), file=out)
    else:
        text = formatAnswer(answer, options.verbose)
        if options.verbose:
            text = "\n".join([text, *resolutionLines(resolver)])
        print(text, file=out)
    return EXIT_STATUS[answer.status]


def run(options: argparse.Namespace) -> int:
    parseQuestion(options.name, options.type)
    settings = resolverSettings(options)

    async def main(reactor: Any) -> int:
        return await execute(settings.build(reactor), options, sys.stdout, sys.stderr)

    return runOnReactor(main)


__all__ = ["EDE", "answerToJSON", "execute", "formatAnswer", "run"]

"""
C{txdane verify --cert FILE HOST [PORT]}: would a client accept this certificate (or chain)
for HOST:PORT? Checks the file against the TLSA records from DNS, or, offline, against
records given with C{--tlsa} or C{--tlsa-file}; says which record matched at which depth, or
for each record why not. Useful before deploying a renewed certificate.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from txdane.cli import ExitStatus, UsageError
from txdane.cli._common import (
    addResolverArguments,
    pathError,
    protoLabel,
    refuseOwnerName,
    resolverSettings,
    runOnReactor,
)
from txdane.cli._target import addOutputArguments, addTargetArguments, hostName, isDigits
from txdane.names import nameFromText, tlsaName


def addArguments(parser: argparse.ArgumentParser) -> None:
    addTargetArguments(parser, "the service's port (default: 443)", defaultPort=443)
    parser.add_argument(
        "--cert",
        metavar="FILE",
        type=Path,
        required=True,
        help="the certificate or chain to check (PEM, leaf first; or one DER certificate)",
    )
    parser.add_argument(
        "--tlsa",
        metavar="RECORD",
        action="append",
        default=[],
        help='a TLSA record to check against instead of DNS, e.g. "3 1 1 8cb0..." or '
        '"DANE-EE SPKI SHA2-256 8cb0..." (repeatable; no lookup is made)',
    )
    parser.add_argument(
        "--tlsa-file",
        metavar="FILE",
        type=Path,
        help="TLSA records to check against instead of DNS: one per line, as rdata or as "
        "zone-file lines (parentheses may span lines; no lookup is made)",
    )
    parser.add_argument(
        "--proto",
        default="tcp",
        type=protoLabel,
        help="transport protocol label of the TLSA name, without its underscore (default: tcp)",
    )
    parser.add_argument(
        "--smtp",
        action="store_true",
        help="apply the SMTP rules (RFC 7672): PKIX-TA and PKIX-EE records are unusable",
    )
    addOutputArguments(parser)
    addResolverArguments(parser)


def readChain(path: Path) -> tuple[Any, ...]:
    """
    The certificates in C{path}, leaf first.

    @raise UsageError: when the file cannot be read or holds no certificate.
    """
    from cryptography import x509

    try:
        data = path.read_bytes()
    except OSError as e:
        raise pathError("--cert", path, e) from None
    try:
        if b"-----BEGIN" in data:
            chain = tuple(x509.load_pem_x509_certificates(data))
        else:
            chain = (x509.load_der_x509_certificate(data),)
    except ValueError:
        raise UsageError(f"--cert {path}: not a certificate in PEM or DER form") from None
    return chain


#: A TTL in a zone file: seconds, or BIND's units (C{1h30m}).
_TTL = re.compile(r"^([0-9]+|([0-9]+[SMHDW])+)$", re.IGNORECASE)
#: A class in a zone file.
_CLASS = re.compile(r"^(IN|CH|CS|HS|ANY|NONE|CLASS[0-9]+)$", re.IGNORECASE)


def _zoneFileType(words: list[str], indented: bool) -> int | None:
    """
    Where the type is in the C{words} of a zone-file line, or C{None} when they are not one
    (TLSA rdata alone, such as C{3 1 1 8cb0...}, has no type).

    @param indented: whether the line starts with white space, so has no owner name.
    """
    import dns.rdatatype

    start = 0 if indented else 1
    # Before the type: the owner (unless indented), then a TTL and a class, in either order.
    for index in range(start, min(len(words), start + 3)):
        word = words[index]
        try:
            dns.rdatatype.from_text(word)
        except dns.rdatatype.UnknownRdatatype:
            pass
        else:
            return index
        if not (_TTL.match(word) or _CLASS.match(word)):
            return None
    return None


def _logicalLines(text: str, path: Path) -> Iterator[tuple[int, list[str], bool]]:
    """
    The records of a file of TLSA records as zone files write them: C{(line number, words,
    indented)}, comments (C{;} anywhere, C{#} at the start of a line) removed and the lines
    of a record in parentheses joined.

    @raise UsageError: for parentheses that do not pair.
    """
    words: list[str] = []
    depth = 0
    first = 0
    indented = False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("#"):
            continue
        line = line.split(";", 1)[0]
        if depth == 0:
            if not line.strip():
                continue
            first, indented, words = number, line[:1].isspace(), []
        for word in line.replace("(", " ( ").replace(")", " ) ").split():
            if word == "(":
                depth += 1
            elif word == ")":
                if depth == 0:
                    raise UsageError(f"--tlsa-file {path}, line {number}: ')' without '('")
                depth -= 1
            else:
                words.append(word)
        if depth == 0 and words:
            yield first, words, indented
    if depth:
        raise UsageError(f"--tlsa-file {path}, line {first}: '(' is not closed")


def _looksLikeZoneFileLine(text: str) -> bool:
    """
    Whether C{text}, given as one record, is a zone-file line rather than the four fields.
    """
    words = text.replace("(", " ").replace(")", " ").split()
    return _zoneFileType(words, False) is not None or "TLSA" in (w.upper() for w in words)


def readRecords(texts: list[str], path: Path | None, owner: Any = None) -> tuple[Any, ...] | None:
    """
    The records of C{--tlsa} and C{--tlsa-file}, or C{None} when neither was given.

    C{--tlsa} takes the four fields of a record; C{--tlsa-file} takes one record a line, as
    those fields or as a zone-file line (owner, TTL and class optional, parentheses spanning
    lines; the data in the generic form C{\\# LENGTH HEX} too). A zone-file line of another
    type than TLSA, or class than IN, is refused: the file would be the wrong one, or a whole
    zone whose records are not all this service's; so is one whose owner, written in full
    (with its final dot), is not C{owner}, the service's TLSA owner name.

    @raise UsageError: for a malformed record (naming the file and line).
    """
    from txdane.dane.tlsa import TLSARecord
    from txdane.errors import TLSAFormatError

    if not texts and path is None:
        return None
    records = []
    for text in texts:
        try:
            records.append(TLSARecord.fromText(text))
        except TLSAFormatError as e:
            if _looksLikeZoneFileLine(text):
                raise UsageError(
                    f"--tlsa {text!r} is a zone-file line: give only the four fields "
                    '("3 1 1 8cb0..."), or put the line in a file for --tlsa-file'
                ) from None
            raise UsageError(f"--tlsa {text!r}: {e}") from None
    if path is not None:
        try:
            text = path.read_text()
        except OSError as e:
            raise pathError("--tlsa-file", path, e) from None
        except UnicodeDecodeError:
            raise UsageError(f"--tlsa-file {path}: not a text file of TLSA records") from None
        for number, words, indented in _logicalLines(text, path):
            where = f"--tlsa-file {path}, line {number}"
            if words[0] in ("$TTL", "$ORIGIN"):
                continue  # they change no TLSA rdata
            if words[0].startswith("$"):
                raise UsageError(f"{where}: {words[0]} is not supported here")
            typeIndex = _zoneFileType(words, indented)
            if typeIndex is None and words[0].upper() == "TLSA":
                typeIndex = 0
            if typeIndex is not None:
                _checkZoneFileLine(words[:typeIndex], words[typeIndex], indented, owner, where)
                words = words[typeIndex + 1 :]
            try:
                records.append(_recordFromWords(words))
            except TLSAFormatError as e:
                raise UsageError(f"{where}: {e}") from None
        if not records:
            raise UsageError(f"--tlsa-file {path}: no TLSA record in the file")
    return tuple(records)


def judge(found: Any, chain: tuple[Any, ...], smtp: bool, certFile: str) -> Any:
    """
    Decide as a client would (L{planConnection<txdane.dane.decision.planConnection>} then
    L{verifyChain<txdane.dane.matching.verifyChain>}) and describe the verdict.
    """
    from txdane.cli._verdict import HostVerdict
    from txdane.dane.decision import Action, Policy, TLSAResult, planConnection
    from txdane.dane.errors import DANEPolicyError
    from txdane.dane.matching import FailureKind, verifyChain
    from txdane.status import Status

    policy = Policy.SMTP if smtp else Policy.DEFAULT
    if found.given is not None:
        outcome: Any = TLSAResult(Status.SECURE, found.given, found.baseDomain)
    elif found.answer is not None:
        from txdane.endpoints.dane import tlsaResult

        outcome = tlsaResult(found.answer, found.baseDomain)
    else:
        outcome = found.failure
    host, port = found.host, found.port
    try:
        plan = planConnection(outcome, host, port, policy, proto=found.proto)
    except DANEPolicyError as e:
        return HostVerdict(
            host,
            port,
            False,
            found.exitStatus(),
            f"cannot verify: {e.reason}",
            tlsa=found,
        )
    if plan.action is not Action.DANE:
        return HostVerdict(
            host,
            port,
            False,
            ExitStatus.INSECURE,
            f"no DANE: {plan.reason}",
            tlsa=found,
        )
    result = verifyChain(plan.records, chain, plan.matchOptions)
    if result.verified:
        assert result.record is not None
        return HostVerdict(
            host,
            port,
            True,
            ExitStatus.OK,
            f"verified by {result.record.shortText()} {result.record.mnemonic} "
            f"at depth {result.depth}",
            tlsa=found,
            result=result,
            chain=chain,
        )
    fix = []
    if result.failure is FailureKind.NO_MATCH:
        fix = [
            "publish a record for this certificate's key before deploying it:",
            f"txdane generate --cert {certFile} {host} {port}",
        ]
    return HostVerdict(
        host,
        port,
        False,
        ExitStatus.NOT_VERIFIED,
        f"not verified: {result.summary()}",
        tlsa=found,
        result=result,
        chain=chain,
        fix=fix,
    )


async def execute(reactor: Any, resolver: Any, options: argparse.Namespace, out: TextIO) -> int:
    """
    Check the certificate file against the records the options give (or DNS) and report.
    """

    from txdane.cli._tlsalookup import TLSALookup, lookupTLSA

    host = hostName(options.host)
    chain = readChain(options.cert)
    given = readRecords(
        options.tlsa, options.tlsa_file, tlsaName(host, options.port, options.proto)
    )
    if given is not None:
        found = TLSALookup(host, options.port, options.proto, nameFromText(host), given=given)
    else:
        found = await lookupTLSA(reactor, resolver, host, options.port, options.proto)
    found.smtp = options.smtp
    found.addAdvice(reactor.seconds() if reactor is not None else _now(), chain)
    verdict = judge(found, chain, options.smtp, str(options.cert))
    if options.json:
        from txdane.cli._verdict import summaryJSON

        print(json.dumps(summaryJSON([verdict], verdict.exitStatus), indent=2), file=out)
    else:
        print("\n".join(verdict.lines()), file=out)
    status: int = verdict.exitStatus
    return status


def _checkZoneFileLine(
    before: list[str], kind: str, indented: bool, owner: Any, where: str
) -> None:
    """
    Refuse a zone-file line of C{--tlsa-file} that is not a TLSA record of class IN for
    C{owner}: C{before} are its words before the type C{kind} (its owner unless
    C{indented}, its TTL and class).

    @raise UsageError: naming what is wrong.
    """
    import dns.exception
    import dns.rdatatype

    if dns.rdatatype.from_text(kind) != dns.rdatatype.TLSA:
        raise UsageError(
            f"{where}: a record of type {kind.upper()}, not TLSA (the file holds TLSA records only)"
        )
    classes = [w.upper() for w in before if _CLASS.match(w)]
    if any(c != "IN" for c in classes):
        raise UsageError(f"{where}: a record of class {classes[-1]}, not IN")
    if indented or not before or owner is None:
        return
    written = before[0]
    if not written.endswith(".") or written.endswith("\\."):
        return  # relative to an origin the file does not say: not checked
    try:
        name = nameFromText(written)
    except dns.exception.DNSException as e:
        raise UsageError(f"{where}: {written!r} is not a name ({e})") from None
    if name != owner:
        raise UsageError(
            f"{where}: a record of {name.to_text(omit_final_dot=True)}, not of "
            f"{owner.to_text(omit_final_dot=True)} (the owner of the service's TLSA records)"
        )


def _recordFromWords(words: list[str]) -> Any:
    """
    The TLSA record of the rdata C{words}: its four fields, or the generic form of RFC 3597
    (C{\\# LENGTH HEX}, as zone files write types a tool does not know).

    @raise TLSAFormatError: for what is not a TLSA record.
    """
    from txdane.dane.tlsa import TLSARecord
    from txdane.errors import TLSAFormatError

    if not words or words[0] != "\\#":
        return TLSARecord.fromText(" ".join(words))
    try:
        length = int(words[1]) if isDigits(words[1]) else -1
        data = bytes.fromhex("".join(words[2:]))
    except (IndexError, ValueError):
        raise TLSAFormatError("generic data (\\# LENGTH HEX) that is not hexadecimal") from None
    if length != len(data):
        raise TLSAFormatError(f"generic data of {len(data)} bytes, not the {words[1]} it says")
    if len(data) < 4:
        raise TLSAFormatError("generic data too short for a TLSA record")
    return TLSARecord(data[0], data[1], data[2], data[3:])


def _now() -> float:
    import time

    return time.time()


def run(options: argparse.Namespace) -> int:
    refuseOwnerName(f"verify --cert {shlex.quote(str(options.cert))}", hostName(options.host))
    readChain(options.cert)
    if readRecords(options.tlsa, options.tlsa_file) is not None:
        # Offline: no resolver, no reactor.
        from twisted.internet.defer import Deferred

        box: list[Any] = []
        Deferred.fromCoroutine(execute(None, None, options, sys.stdout)).addBoth(box.append)
        result = box[0]
        if hasattr(result, "raiseException"):
            result.raiseException()
        return int(result)
    settings = resolverSettings(options)

    async def main(reactor: Any) -> int:
        return await execute(reactor, settings.build(reactor), options, sys.stdout)

    return runOnReactor(main)

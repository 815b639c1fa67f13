"""
Reading master files (RFC 1035 section 5) into zones, with errors that name the file and
the line.

dnspython reads the file; a reader of ours around its own (L{_ZoneFileReader}) notes where
each record was written and enforces, record by record, what dnspython lets through: a
record outside the zone is an error, not dropped; a second SOA record at the apex is an
error, not a silent replacement; a TTL of 2**31 or more is served as 0 (RFC 2181 section
8), as an UPDATE's is; a DNSKEY whose key does not decode is refused. Once the file is read,
the rules of L{txdane.server.zonerules} that need the whole zone (a DS only at a delegation,
nothing below a DNAME, no RRset too large for a message) are checked, and a record breaking
one is reported at its line.
"""

from __future__ import annotations

import os
import re
from types import FrameType
from typing import Any

import dns.dnssectypes
import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.tokenizer
import dns.transaction
import dns.ttl
import dns.zone
import dns.zonefile

from txdane.errors import TxdaneError
from txdane.server.zonerules import (
    MAX_MESSAGE,
    dnskeyProblem,
    rrsetTooLarge,
    servedTTL,
    structureProblems,
)


class ZoneError(TxdaneError):
    """
    A zone cannot be served: missing SOA, a duplicate origin, an unreadable or malformed file.

    @ivar path: the file, when the zone came from one.
    @ivar line: the line number in C{path}, when known.
    @ivar reason: what is wrong, in a few words.
    """

    reason: str
    path: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or ""
        if self.path is not None and self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.reason}" if where else self.reason


#: Where a record was written: the file (the zone file or one it includes) and the line.
_Place = tuple[str, int]


class _RecordError(dns.exception.DNSException):
    """
    A record the zone cannot hold, raised while reading it: dnspython's reader passes it on
    (it rewrites only syntax errors), and L{loadZoneFile} says it at C{place}.
    """

    def __init__(self, reason: str, place: _Place) -> None:
        super().__init__(reason)
        self.reason = reason
        self.place = place


class _ZoneFileReader(dns.zonefile.Reader):
    """
    dnspython's master file reader, noting where each RRset's first record was written
    (L{places}), and refusing records as they are read (L{added}).

    @ivar places: the place of the first record of each (owner, type).
    """

    def __init__(self, tok: dns.tokenizer.Tokenizer, txn: dns.transaction.Transaction) -> None:
        super().__init__(tok, dns.rdataclass.IN, txn, allow_include=True)
        self.places: dict[tuple[dns.name.Name, int], _Place] = {}
        self._start = tok.where()
        self._zoneTxn = txn
        self.txn = _CheckedTransaction(txn, self)  # type: ignore[assignment]

    def _rr_line(self) -> None:
        # The tokenizer is at the record's first token: its line, whatever the record spans.
        self._start = self.tok.where()
        super()._rr_line()

    def _generate_line(self) -> None:
        self._start = self.tok.where()
        super()._generate_line()

    def _eat_line(self) -> None:
        # dnspython skips the rest of a record whose owner is outside the zone (in
        # _rr_line and _generate_line, its only callers), dropping it without a word.
        raise _RecordError(f"{self.last_name} is outside the zone {self.zone_origin}", self._start)

    def added(self, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> int:
        """
        Check a record about to be added, note where it was written, and return the TTL it
        is served with.

        @raise _RecordError: the zone cannot hold it.
        """
        place = self._start
        rdtype = rdata.rdtype
        if rdtype == dns.rdatatype.SOA:
            current = self._zoneTxn.get(name, dns.rdatatype.SOA)
            if current is not None and rdata not in current:
                raise _RecordError(f"more than one SOA record at {name}", place)
        if isinstance(rdata, dns.rdtypes.ANY.DNSKEY.DNSKEY):
            problem = dnskeyProblem(rdata)
            if problem is not None:
                algorithm = dns.dnssectypes.Algorithm.to_text(rdata.algorithm)
                reason = f"DNSKEY record: the key is not a key of algorithm {algorithm}"
                raise _RecordError(f"{reason} ({problem})", place)
        self.places.setdefault((name, rdtype), place)
        return servedTTL(ttl)


class _CheckedTransaction:
    """
    The zone's transaction as the reader sees it: every record added goes through
    L{_ZoneFileReader.added} first.
    """

    def __init__(self, txn: dns.transaction.Transaction, reader: _ZoneFileReader) -> None:
        self._txn = txn
        self._reader = reader

    def __getattr__(self, name: str) -> Any:
        return getattr(self._txn, name)

    def add(self, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> None:
        self._txn.add(name, self._reader.added(name, ttl, rdata), rdata)


#: The TTL dnspython could not read as one, taken for the record's type.
_TTL_AS_TYPE = re.compile(r"^unknown rdatatype '(?P<number>\d+)'$")


def loadZoneFile(path: str | os.PathLike[str], origin: dns.name.Name | str) -> dns.zone.Zone:
    """
    Read a master file (RFC 1035 section 5) for zone C{origin}, with absolute names.

    @raise ZoneError: the file is unreadable or malformed (with its path, line and reason:
        the record's type when its data is wrong, the name that has a CNAME and other
        records), it lacks the SOA or NS records at the apex, or it holds a record the zone
        cannot hold (outside the zone, a second SOA, a DNSKEY that is no key, a DS record
        not at a delegation, a name below a DNAME, an RRset too large for a DNS message).
    """
    text = os.fspath(path)
    if isinstance(origin, str):
        origin = dns.name.from_text(origin)
    zone = dns.zone.Zone(origin, dns.rdataclass.IN, relativize=False)
    reader = None
    try:
        with open(text, encoding="utf-8") as f:
            with zone.writer(True) as txn:
                reader = _ZoneFileReader(dns.tokenizer.Tokenizer(f, text), txn)
                reader.read()
        zone.check_origin()
    except OSError as e:
        raise _fileError(e, text, reader) from None
    except _RecordError as e:
        raise _located(e.reason, text, *e.place) from None
    except dns.zone.NoSOA:
        raise ZoneError(f"no SOA record at the zone's apex {origin}", text) from None
    except dns.zone.NoNS:
        raise ZoneError(f"no NS records at the zone's apex {origin}", text) from None
    except dns.exception.SyntaxError as e:
        raise _syntaxError(e, text, origin) from None
    except dns.zonefile.CNAMEAndOtherData as e:
        raise _cnameError(e, text) from None
    except (dns.exception.DNSException, ValueError) as e:
        raise ZoneError(str(e), text) from None
    assert reader is not None
    _checkZone(zone, text, reader.places)
    return zone


def _fileError(error: OSError, path: str, reader: _ZoneFileReader | None) -> ZoneError:
    """
    The zone error for a file that cannot be read: the zone file itself, or an
    C{$INCLUDE}d one, named with the line of the C{$INCLUDE}.
    """
    reason = error.strerror or str(error)
    if reader is None or error.filename is None or os.fsdecode(error.filename) == path:
        return ZoneError(reason, path)
    included = os.fsdecode(error.filename)
    where, line = reader.tok.where()  # the file holding the $INCLUDE, past its line's end
    if not reader.tok.eof:
        line -= 1
    return _located(f"{reason}: {included} (included)", path, where, line)


def _checkZone(
    zone: dns.zone.Zone, path: str, places: dict[tuple[dns.name.Name, int], _Place]
) -> None:
    """
    The rules that need the whole zone: a DS only at a delegation, no name below a DNAME,
    no RRset too large for a DNS message; the first broken is said at its record's line.
    """
    problems = []
    for problem in structureProblems(zone):
        problems.append((places.get((problem.name, problem.rdtype)), problem.reason))
    for name, node in zone.nodes.items():
        for rdataset in node.rdatasets:
            size = rrsetTooLarge(name, rdataset)
            if size is not None:
                kind = dns.rdatatype.to_text(rdataset.rdtype)
                reason = (
                    f"the {kind} RRset at {name} takes {size} bytes in an answer, and a DNS"
                    f" message holds at most {MAX_MESSAGE}: it could never be served"
                )
                problems.append((places.get((name, rdataset.rdtype)), reason))
    if not problems:
        return
    # The first in the file (a record of an included file after those of the zone file).
    place, reason = min(problems, key=lambda problem: _order(problem[0], path))
    if place is None:
        raise ZoneError(reason, path)
    raise _located(reason, path, *place)


def _order(place: _Place | None, path: str) -> tuple[int, int]:
    """
    Where C{place} comes in the zone file at C{path}, for choosing the first error.
    """
    if place is None:
        return (2, 0)
    where, line = place
    return (0 if where == path else 1, line)


_WHERE = re.compile(r"^(?P<path>.*):(?P<line>\d+): (?P<reason>.*)$", re.S)
#: dnspython's message for record data it cannot read, whatever is wrong with it.
_MALFORMED = "Text input is malformed"
#: What the data of these types must be, said instead of L{_MALFORMED}.
_EXPECTED_DATA = {dns.rdatatype.A: "an IPv4 address", dns.rdatatype.AAAA: "an IPv6 address"}


def _syntaxError(error: dns.exception.SyntaxError, path: str, origin: dns.name.Name) -> ZoneError:
    """
    The zone error for dnspython's C{FILE:LINE: reason}: the line corrected (see
    L{_errorLine}), and the reason given the type of the record whose data it is about,
    in words of ours where dnspython's say only that the text is malformed.
    """
    match = _WHERE.match(str(error))
    if match is None:
        return ZoneError(str(error), path)
    where = match["path"]
    line = _errorLine(where, int(match["line"]), origin)
    reason = match["reason"].rstrip(".")
    number = _TTL_AS_TYPE.match(reason)
    if number is not None and int(number["number"]) > dns.ttl.MAX_TTL:
        # dnspython reads a TTL it cannot take as the record's class or type.
        reason = (
            f"TTL {number['number']} is out of range: a TTL is at most {dns.ttl.MAX_TTL}"
            " (and one above 2147483647 is served as 0, RFC 2181 section 8)"
        )
    frame = _readerFrame(error)
    found = None if frame is None else frame.f_locals.get("rdtype")
    if isinstance(found, int):
        rdtype = dns.rdatatype.RdataType.make(found)
        if reason == _MALFORMED:
            data = _recordData(where, line, rdtype)
            expected = _EXPECTED_DATA.get(rdtype)
            if data is not None and expected is not None:
                reason = f"{data} is not {expected}"
            else:
                reason = "malformed data" if data is None else f"malformed data: {data}"
        reason = f"{dns.rdatatype.to_text(rdtype)} record: {reason}"
    return _located(reason, path, where, line)


def _cnameError(error: dns.zonefile.CNAMEAndOtherData, path: str) -> ZoneError:
    """
    The zone error for a CNAME beside other records, with the name and line: dnspython's
    error has neither (only "rdataset type is not compatible with a CNAME node"), but the
    zone file reader that was adding the record when it was raised knows both.
    """
    rule = "a CNAME must be the only record at its name, DNSSEC records aside"
    frame = _readerFrame(error)
    if frame is None:
        return ZoneError(f"a CNAME and other records at one name: {rule}", path)
    reader = frame.f_locals["self"]
    name = frame.f_locals.get("name")
    if not isinstance(name, dns.name.Name):
        name = getattr(reader, "last_name", None)
    tokenizer = getattr(reader, "tok", None)
    try:
        where, line = tokenizer.where()  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        # The reader's inner workings are dnspython's: without them, say it without a place.
        return ZoneError(f"{name or 'a name'} has a CNAME and other records: {rule}", path)
    if not getattr(tokenizer, "eof", False):
        line -= 1  # the record's end of line has been read
    return _located(f"{name} has a CNAME and other records: {rule}", path, where, line)


def _readerFrame(error: BaseException) -> FrameType | None:
    """
    The innermost frame, among those C{error} went through, of a method of dnspython's zone
    file reader (C{dns.zonefile.Reader}): its C{self} is the reader, whose tokenizer is at the
    record being read, and its locals hold that record's owner (C{name}) and type
    (C{rdtype}) once read. C{None} if there is none (then the error is said as it is).
    """
    found = None
    traceback = error.__traceback__
    while traceback is not None:
        frame = traceback.tb_frame
        if isinstance(frame.f_locals.get("self"), dns.zonefile.Reader):
            found = frame
        traceback = traceback.tb_next
    return found


def _located(reason: str, path: str, where: str, line: int) -> ZoneError:
    """
    The zone error of zone file C{path} for C{reason} at C{line} of file C{where}: C{path}
    itself, or a file it includes.
    """
    if where == path:
        return ZoneError(reason, path, line)
    return ZoneError(f"{reason} (included by {path})", where, line)


def _recordData(path: str, line: int, rdtype: dns.rdatatype.RdataType) -> str | None:
    """
    The data of the C{rdtype} record on line C{line} of C{path}, as written (without its
    comment), if that line holds the whole record.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    if '"' not in text:
        text = text.partition(";")[0]
    if "(" in text or ")" in text:
        return None
    words = text.split()
    if text[:1] not in (" ", "\t"):
        words = words[1:]  # the owner
    mnemonic = dns.rdatatype.to_text(rdtype)
    for index, word in enumerate(words):
        if word.upper() == mnemonic:
            return " ".join(words[index + 1 :]) or None
    return None


def _errorLine(path: str, reported: int, origin: dns.name.Name) -> int:
    """
    dnspython reports a malformed record's line after reading its end of line, so one too far;
    check whether the line before is the culprit on its own.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return reported
    if reported < 2 or reported - 2 >= len(lines):
        return reported
    previous = lines[reported - 2]
    if not previous.strip() or previous.lstrip().startswith((";", "$")) or "(" in previous:
        return reported
    probe = f"$ORIGIN {origin}\n$TTL 300\n{previous}\n"
    try:
        dns.zone.from_text(probe, origin, relativize=False, check_origin=False)
    except dns.exception.SyntaxError:
        return reported - 1
    except dns.exception.DNSException:
        pass
    return reported

"""
A query's wire form (L{renderQuery}) and the query as sent (L{SentQuery}), which decides whether
a response answers it.

Tests: C{tests/transport/test_client.py}.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

#: EDNS(0) payload size advertised by default (the DNS Flag Day 2020 value).
DEFAULT_PAYLOAD = 1232


def _rcodeOf(message: dns.message.Message) -> int:
    """
    The RCODE of C{message}, extended by its OPT record, as a number: what C{message.rcode()}
    gives, without making flag and RCODE enumeration members on the way.
    """
    opt = message.opt
    extended = ((opt.ttl >> 20) & 0xFF0) if opt else 0
    return (int(message.flags) & 0x000F) | extended


_QR = int(dns.flags.QR)

_HEADER = struct.Struct("!HHHHHH")
_QUESTION_TAIL = struct.Struct("!HH")
#: The OPT record of a query: root owner, type OPT, the payload as its class, extended RCODE
#: and version 0, the DO bit or not, no options.
_OPT = struct.Struct("!BHHBBHH")
_OPT_TYPE = 41
_DO = 0x8000
#: RCODEs with which a server may answer without a question section (as dnspython's
#: C{is_response} allows).
_BARE_RCODES = frozenset(
    {dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED}
)


def renderQuery(
    queryID: int,
    name: dns.name.Name,
    rdtype: int,
    rdclass: int,
    *,
    edns: bool,
    payload: int = DEFAULT_PAYLOAD,
    dnssecOK: bool = False,
    checkingDisabled: bool = False,
    recursionDesired: bool = True,
) -> bytes:
    """
    The wire form of a standard query for one question, byte for byte what dnspython's
    C{make_query(...).to_wire()} gives for the same settings, without building a message.

    @param name: an absolute name; its labels are written as they are spelt.
    @param edns: whether to add an OPT record (EDNS version 0) advertising C{payload}.
    @param dnssecOK: set the DO bit (needs C{edns}).
    @raise dns.name.NeedAbsoluteNameOrOrigin: for a relative name, as dnspython raises.
    """
    if not name.is_absolute():
        raise dns.name.NeedAbsoluteNameOrOrigin
    flags = (dns.flags.RD if recursionDesired else 0) | (dns.flags.CD if checkingDisabled else 0)
    header = _HEADER.pack(queryID, flags, 1, 0, 0, 1 if edns else 0)
    question = b"".join([bytes((len(label),)) + label for label in name.labels])
    wire = header + question + _QUESTION_TAIL.pack(rdtype, rdclass)
    if edns:
        wire += _OPT.pack(0, _OPT_TYPE, payload, 0, 0, _DO if dnssecOK else 0, 0)
    return wire


@dataclass(frozen=True)
class SentQuery:
    """
    A query as sent: its ID, its question and its wire form (L{renderQuery}).
    """

    id: int
    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    rdclass: dns.rdataclass.RdataClass
    wire: bytes

    def answeredBy(self, response: dns.message.Message) -> bool:
        """
        Whether C{response} answers this query, as dnspython's C{Message.is_response} decides
        it: QR set, the same ID, opcode QUERY, and a question section that holds this question
        and nothing else (names compared without regard to case); a response refusing or
        failing the query may leave the question section empty.
        """
        flags = int(response.flags)
        if not flags & _QR or response.id != self.id:
            return False
        if flags & _OPCODE_MASK:
            return False
        question = response.question
        if not question:
            return _rcodeOf(response) in _BARE_RCODES
        return all(
            asked.rdtype == self.rdtype
            and asked.rdclass == self.rdclass
            and asked.covers == dns.rdatatype.NONE
            and not asked
            and asked.name == self.name
            for asked in question
        )


_OPCODE_MASK = 0x7800

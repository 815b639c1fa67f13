"""
The transport's lenient message parser (L{parseMessage}): dnspython's, but for a TLSA record
whose data has the wrong length for its matching type, kept as received (L{MalformedTLSA}).

Tests: C{tests/transport/test_wireread.py}, C{tests/transport/test_parse_property.py},
C{tests/transport/test_client.py}, C{tests/transport/test_namebound.py}.
"""

from __future__ import annotations

import struct

import dns.exception
import dns.immutable
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TLSA
import dns.wire

from txdane.wireread import TLSA_DIGEST_LENGTHS, Declined, boundNames, readMessage


@dns.immutable.immutable
class MalformedTLSA(dns.rdtypes.ANY.TLSA.TLSA):
    """
    A TLSA record whose certificate association data has the wrong length for its matching
    type (a SHA2-256 digest that is not 32 bytes, a SHA2-512 one that is not 64), which
    dnspython refuses to represent. RFC 7671 section 4 calls such a record unusable, not the
    RRset malformed: it is kept exactly as received, so that the RRSIG over the RRset verifies
    over the same bytes, and the DANE layer ignores it (as OpenSSL and Postfix do).
    """

    def __init__(
        self,
        rdclass: dns.rdataclass.RdataClass,
        rdtype: dns.rdatatype.RdataType,
        usage: int,
        selector: int,
        mtype: int,
        cert: bytes,
    ) -> None:
        # The checks of TLSABase.__init__ but the one on the data's length.
        dns.rdata.Rdata.__init__(self, rdclass, rdtype)
        self.usage = self._as_uint8(usage)
        self.selector = self._as_uint8(selector)
        self.mtype = self._as_uint8(mtype)
        self.cert = self._as_bytes(cert)


def malformedTLSA(rdclass: int, data: bytes) -> MalformedTLSA | None:
    """
    The TLSA rdata C{data} as a L{MalformedTLSA}, when the length of its certificate
    association data is the only thing wrong with it; C{None} otherwise (well formed, or
    too short to hold the three fields).
    """
    if len(data) < 3:
        return None
    usage, selector, mtype = data[0], data[1], data[2]
    expected = TLSA_DIGEST_LENGTHS.get(mtype)
    if expected is None or len(data) - 3 == expected:
        return None
    return MalformedTLSA(
        dns.rdataclass.RdataClass.make(rdclass),
        dns.rdatatype.TLSA,
        usage,
        selector,
        mtype,
        data[3:],
    )


def _refusesMalformedTLSA() -> bool:
    try:
        dns.rdtypes.ANY.TLSA.TLSA(dns.rdataclass.IN, dns.rdatatype.TLSA, 3, 1, 1, bytes(31))
    except ValueError:
        return True
    return False


#: Whether dnspython refuses a TLSA record whose data has the wrong length for its matching
#: type, failing the message (2.9 does); 2.8, the newest release for Python 3.10, keeps it
#: as a plain TLSA record, which L{parseMessage} then marks as a L{MalformedTLSA}.
_DNSPYTHON_REFUSES_MALFORMED_TLSA = _refusesMalformedTLSA()


def _markMalformedTLSA(message: dns.message.Message) -> None:
    """
    Make each TLSA record of C{message} whose data has the wrong length for its matching
    type (kept by a dnspython that does not refuse them) a L{MalformedTLSA}, in its place.
    """
    for section in (message.answer, message.authority, message.additional):
        for rrset in section:
            if rrset.rdtype != dns.rdatatype.TLSA:
                continue
            marked = [malformedTLSA(r.rdclass, r.to_digestable()) for r in rrset]
            if any(marked):
                rrset.items = {(m or r): None for m, r in zip(marked, rrset)}


def parseMessage(wire: bytes, *, questionOnly: bool = False) -> dns.message.Message:
    """
    Parse a DNS message as C{dns.message.from_wire} does, except that a TLSA record whose
    data has the wrong length for its matching type is kept as a L{MalformedTLSA} instead of
    failing the whole message. Anything else malformed still fails.

    Ordinary responses are read by L{txdane.wireread.readMessage}, which gives the same
    message faster; whatever it declines (anything malformed or unusual) is parsed here by
    dnspython, so errors are dnspython's.

    A message whose names would make either build more labels than
    L{txdane.wireread.MAX_MESSAGE_LABELS} is refused (L{txdane.wireread.TooManyLabels}), as a
    malformed one is: a few octets of compressed names can otherwise cost seconds to parse.
    Before dnspython parses a message, L{txdane.wireread.boundNames} counts its names, since
    a sender can make the fast reader decline any message it wants parsed by dnspython.

    @param questionOnly: read the header and the question only (a truncated answer).
    @raise dns.exception.DNSException: (or C{ValueError}, C{struct.error}) for a message
        that cannot be parsed.
    """
    if not questionOnly:
        try:
            return readMessage(wire)
        except Declined:
            pass
    boundNames(wire, questionOnly=questionOnly)
    message = dns.message.from_wire(wire, question_only=questionOnly, continue_on_error=True)
    if not _DNSPYTHON_REFUSES_MALFORMED_TLSA:
        if message.errors:
            raise message.errors[0].exception
        _markMalformedTLSA(message)
        return message
    if not message.errors:
        return message
    first = message.errors[0].exception
    if questionOnly:
        raise first
    try:
        recovered = _recoverMalformedTLSA(message, wire)
    except (dns.exception.DNSException, ValueError, struct.error):
        raise first from None
    # Each error must be dnspython's refusal of one of the TLSA records recovered, after
    # which it skipped that record and read on. Any other error (one that stopped the
    # reading, as a misplaced OPT record or trailing data does, or another record refused)
    # fails the message, whatever was recovered.
    offsets = [e.offset for e in message.errors if _refusedRdata(e.exception)]
    if len(offsets) != len(message.errors) or sorted(offsets) != recovered:
        raise first
    message.errors = []
    return message


def _refusedRdata(error: Exception) -> bool:
    """
    Whether C{error} is how dnspython refuses the data of one record, a C{ValueError} from
    the rdata's class (the wrong length of a TLSA record's data is one), after which it
    skips the record and reads on.
    """
    return type(error) is dns.exception.FormError and type(error.__cause__) is ValueError


def _recoverMalformedTLSA(message: dns.message.Message, wire: bytes) -> list[int]:
    """
    Walk the records of C{wire} and add each TLSA record that L{malformedTLSA} accepts (the
    ones dnspython skipped) to its RRset in C{message}; return where the data of each ends,
    in order: where dnspython's parser was when it refused them.

    @raise dns.exception.DNSException: (or C{struct.error}) if the records of C{wire} cannot
        be walked, or do not end where C{wire} does.
    """
    parser = dns.wire.Parser(wire)
    counts = parser.get_struct("!HHHHHH")[2:]
    for _ in range(counts[0]):
        dns.name.from_wire_parser(parser)
        parser.get_struct("!HH")
    recovered = []
    sections = (message.answer, message.authority, message.additional)
    for section, count in zip(sections, counts[1:]):
        for _ in range(count):
            name = dns.name.from_wire_parser(parser)
            rdtype, rdclass, ttl, rdlen = parser.get_struct("!HHIH")
            data = parser.get_bytes(rdlen)
            if rdtype != dns.rdatatype.TLSA:
                continue
            rdata = malformedTLSA(rdclass, data)
            if rdata is None:
                continue
            rrset = message.find_rrset(
                section, name, dns.rdataclass.RdataClass.make(rdclass), rdata.rdtype, create=True
            )
            rrset.add(rdata, ttl if ttl <= 0x7FFFFFFF else 0)
            recovered.append(parser.current)
    if parser.remaining():
        raise dns.message.TrailingJunk
    return recovered

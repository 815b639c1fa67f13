"""
A fast reader of ordinary DNS responses, giving the same message C{dns.message.from_wire} gives.

L{readMessage} builds the C{dns.message.QueryMessage} directly: the header, the question, the
RRsets of each section grouped as dnspython groups them (same owner, class, type and covered
type merged within a section, the first owner's spelling kept, the smallest TTL, duplicates
dropped, the message's C{index} filled the same way) and the OPT record. What is saved is
dnspython's checking, again and again, of what is already known to be right:

  - names are read once per offset: a compression pointer to a name already read reuses it,
    and a C{dns.name.Name} is made from labels the reader has checked itself (each label at
    most 63 octets, the name at most 255, pointers only backwards and into no part of the name
    that points, at most C{dns.name.MAX_COMPRESSION_POINTER_CHAIN} of them, every byte inside
    the message), the rules of C{dns.name.from_wire_parser};
  - types and classes are looked up in a dictionary of dnspython's enumeration members;
  - the records' fixed fields are unpacked with one C{struct} call each;
  - the rdata of the types every signed answer holds (A, AAAA, RRSIG, DNSKEY, DS, NSEC, and
    an OPT record without options) is made without running the class's C{__init__}, whose
    checks the reader makes itself where the wire format leaves anything to check (the
    length of an address, a DS digest's length for its type; an NSEC type bitmap is read by
    dnspython's own code). Those records are of subclasses of dnspython's classes that keep
    their canonical wire form, cut from the message (L{KnownWire}): putting them in an RRset
    (which hashes them) and checking their signatures (which needs that form) cost no more
    encoding. Every other rdata is read by its dnspython class's C{from_wire_parser}, which
    reads the names inside it through the reader's cache.

What the names of a message cost to read is bounded (L{MAX_MESSAGE_LABELS}): past it the message
is refused (L{TooManyLabels}), not declined; L{boundNames} counts the same before dnspython
parses a message this reader declines.

Anything it is not sure of it declines, raising L{Declined}: a malformed message, trailing
bytes, an opcode other than QUERY, a TSIG, SIG or TKEY record, an OPT record that is not the
only one nor in the additional section, an rdata dnspython refuses (such as a TLSA record whose
data has the wrong length). The caller then parses the message with dnspython, so that every
error, and its message, stays dnspython's.

The reader is in modules of its own, whose public names are all imported from here: the
reading of names and the count of what they cost (C{_names}: L{Declined}, L{TooManyLabels}),
the records built without their classes' C{__init__} (C{_records}: L{KnownWire}), and the
reading of a whole message (C{_message}: L{readMessage}, L{boundNames} and the bounds they
apply).

Tests: tests/transport/test_wireread.py, tests/transport/test_namebound.py;
fuzz/parse_message.py.
"""

from __future__ import annotations

from txdane.wireread._message import (
    MAX_DECLINED_MESSAGE_LABELS,
    MAX_MESSAGE_LABELS,
    TLSA_DIGEST_LENGTHS,
    UNEXPECTED,
    boundNames,
    readMessage,
)
from txdane.wireread._names import Declined, TooManyLabels
from txdane.wireread._records import KnownWire

__all__ = [
    "MAX_DECLINED_MESSAGE_LABELS",
    "MAX_MESSAGE_LABELS",
    "TLSA_DIGEST_LENGTHS",
    "UNEXPECTED",
    "Declined",
    "KnownWire",
    "TooManyLabels",
    "boundNames",
    "readMessage",
]

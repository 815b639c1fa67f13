"""
The name reader of L{txdane.wireread}: L{_Reader}, a C{dns.wire.Parser} over one message that
reads each name once per offset, by the rules of C{dns.name.from_wire_parser}, and counts what
the message's names cost against a bound (L{TooManyLabels} past it); and L{Declined}, which
every part of the reader raises for a message it leaves to dnspython.

Tests: tests/transport/test_wireread.py, tests/transport/test_namebound.py.
"""

from __future__ import annotations

import inspect

import dns.exception
import dns.name
import dns.wire

#: dnspython's limit on the pointers one name may follow (2.9 names it; 2.8, the newest release
#: for Python 3.10, sets none): 16, as 2.9 has it.
_MAX_HOPS: int = getattr(dns.name, "MAX_COMPRESSION_POINTER_CHAIN", 16)


class Declined(Exception):
    """
    L{readMessage} leaves this message to dnspython; the argument says why.
    """


class TooManyLabels(dns.exception.FormError):
    """
    The names of a message cost more to parse than L{MAX_MESSAGE_LABELS} (or
    L{MAX_DECLINED_MESSAGE_LABELS}) allows, or one of them is one whose cost the count cannot
    bound (L{boundNames}): the message is refused as malformed, as dnspython refuses one it
    cannot parse.

    @ivar limit: the bound that applied.
    """

    def __init__(self, limit: int, reason: str = "") -> None:
        super().__init__(
            reason or f"the names of the message count more than {limit} labels to parse"
        )
        self.limit = limit


def _newName(labels: tuple[bytes, ...]) -> dns.name.Name:
    """
    A C{dns.name.Name} of C{labels}, which the caller has checked as C{Name.__init__} would.
    """
    name = object.__new__(dns.name.Name)
    object.__setattr__(name, "labels", labels)
    return name


class _Suffix:
    """
    The name that starts at one offset of a message (a compression pointer's target).

    @ivar name: the whole name, pointers followed.
    @ivar segmentEnd: the offset just past the name's own bytes at that offset (its last label
        and the zero octet, or the pointer that ends them); a pointer may reach this name only
        from an offset at or after it.
    @ivar hops: how many pointers are followed after those bytes.
    @ivar length: the name's length in uncompressed wire form.
    """

    __slots__ = ("hops", "length", "name", "segmentEnd")

    def __init__(self, name: dns.name.Name, segmentEnd: int, hops: int, length: int) -> None:
        self.name = name
        self.segmentEnd = segmentEnd
        self.hops = hops
        self.length = length


#: Whether a name inside rdata may be compressed when the rdata class does not say: dnspython
#: 2.9's rdata classes say (C{decompress=True} for the types RFC 3597 lets compress), 2.8's
#: (the newest release for Python 3.10) never do, and its parser follows pointers in any name.
_DECOMPRESS_BY_DEFAULT = "decompress" not in inspect.signature(dns.wire.Parser.get_name).parameters


class _Reader(dns.wire.Parser):
    """
    A C{dns.wire.Parser} over one message whose C{get_name} reads names through a cache by
    offset, so that dnspython's rdata classes read the names inside rdata the fast way too.
    """

    def __init__(self, wire: bytes, limit: int) -> None:
        """
        @param limit: the most labels the message's names may count (L{MAX_MESSAGE_LABELS}).
        """
        super().__init__(wire)
        self.suffixes: dict[int, _Suffix] = {}
        #: The labels counted so far against C{limit}.
        self.labels = 0
        self.limit = limit

    def charge(self, labels: int) -> None:
        """
        Count C{labels} against the limit, before they are built.

        @raise TooManyLabels: past it.
        """
        self.labels += labels
        if self.labels > self.limit:
            raise TooManyLabels(self.limit)

    def get_name(
        self, origin: dns.name.Name | None = None, decompress: bool = _DECOMPRESS_BY_DEFAULT
    ) -> dns.name.Name:
        # Only rdata classes read names with this method.
        name, after = self.readName(self.current, self.end, decompress, True)
        self.current = after
        if after > self.furthest:
            self.furthest = after
        if origin:
            name = name.relativize(origin)
        return name

    def _segment(self, start: int, end: int) -> tuple[list[bytes], int, int]:
        """
        Read the labels at C{start}, up to a zero octet or a pointer, none past C{end}.

        @return: the labels, the offset just past them (and past the zero octet or the pointer),
            and the pointer's target (-1 after a zero octet).
        """
        wire = self.wire
        labels: list[bytes] = []
        pos = start
        while True:
            if pos >= end:
                raise Declined("name past the end")
            count = wire[pos]
            if count == 0:
                return labels, pos + 1, -1
            if count < 64:
                pos += 1
                following = pos + count
                if following > end:
                    raise Declined("label past the end")
                labels.append(wire[pos:following])
                pos = following
            elif count >= 192:
                if pos + 2 > end:
                    raise Declined("pointer past the end")
                return labels, pos + 2, ((count & 0x3F) << 8) | wire[pos + 1]
            else:
                raise Declined("bad label type")

    def _suffix(self, offset: int) -> _Suffix:
        """
        The name at C{offset}, a pointer's target, read once per message.
        """
        suffix = self.suffixes.get(offset)
        if suffix is not None:
            return suffix
        labels, segmentEnd, target = self._segment(offset, len(self.wire))
        if target < 0:
            labels.append(b"")
            hops = 0
            length = 0
            tail: tuple[bytes, ...] = ()
        else:
            if target >= offset:
                raise Declined("pointer not backwards")
            following = self._suffix(target)
            if following.segmentEnd > offset:
                raise Declined("pointer into the name")
            hops = following.hops + 1
            # A name that reaches this one takes one pointer more: at most _MAX_HOPS in all.
            if hops >= _MAX_HOPS:
                raise Declined("pointer chain too long")
            length = following.length
            tail = following.name.labels
        for label in labels:
            length += len(label) + 1
        if length > 255:
            raise Declined("name too long")
        self.charge(len(labels) + len(tail))
        if tail:
            name = _newName((*labels, *tail))
        else:
            name = _newName(tuple(labels))
        suffix = _Suffix(name, segmentEnd, hops, length)
        self.suffixes[offset] = suffix
        return suffix

    def readName(
        self, start: int, end: int, decompress: bool, inRdata: bool = False
    ) -> tuple[dns.name.Name, int]:
        """
        Read the name at C{start}, none of its own bytes past C{end}, as
        C{dns.name.from_wire_parser} does, and count its labels (L{MAX_MESSAGE_LABELS}).

        @param decompress: whether the name may hold a compression pointer.
        @param inRdata: whether the name is inside rdata, counting the labels of each of its
            suffixes too.
        @return: the name and the offset just past its own bytes.
        @raise TooManyLabels: if the message's names pass L{MAX_MESSAGE_LABELS} with this one.
        """
        labels, after, target = self._segment(start, end)
        if target < 0:
            labels.append(b"")
            length = 0
            for label in labels:
                length += len(label) + 1
            if length > 255:
                raise Declined("name too long")
            self._chargeName(len(labels), inRdata)
            return _newName(tuple(labels)), after
        if not decompress:
            raise Declined("pointer where dnspython forbids one")
        if target >= start:
            raise Declined("pointer not backwards")
        suffix = self._suffix(target)
        if suffix.segmentEnd > start:
            raise Declined("pointer into the name")
        if not labels:
            self._chargeName(len(suffix.name.labels), inRdata)
            return suffix.name, after
        length = suffix.length
        for label in labels:
            length += len(label) + 1
        if length > 255:
            raise Declined("name too long")
        self._chargeName(len(labels) + len(suffix.name.labels), inRdata)
        return _newName((*labels, *suffix.name.labels)), after

    def _chargeName(self, labels: int, inRdata: bool) -> None:
        if inRdata:
            # The name, then one of each suffix when the record's canonical form is written.
            self.charge(2 * labels + labels * (labels + 1) // 2)
        else:
            self.charge(2 * labels)

"""
A bounded cache whose entries expire, for validated data.

Entries live for the TTL the validator gives them (already capped by the records' TTLs and
their signatures' expiry, and at most L{ValidationLimits.maxCacheTTL}); bogus results get a
short TTL so that an attacker cannot make the same work happen again at once. When full (in
entries, or in bytes, as Unbound bounds its C{msg-cache-size} and C{rrset-cache-size}), the
least recently used entries go.

A count alone does not bound the memory: one signed wildcard answer of 3,000 A records (a
48 KB response over TCP) costs about half a megabyte of Python objects, so each entry is
charged its estimated size (L{rrsetCost}: wire bytes plus the objects holding them).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Generic, TypeVar

import dns.name
import dns.rrset
from twisted.internet.interfaces import IReactorTime

V = TypeVar("V")
A = TypeVar("A")

#: Estimated bytes of Python objects per RRset and per record, beyond the record's wire
#: form: measured with tracemalloc on parsed answers (an A record costs about 190 bytes).
RRSET_OVERHEAD = 600
RECORD_OVERHEAD = 240
#: Estimated bytes of an entry beyond its RRsets (the cache slot, the value object).
ENTRY_OVERHEAD = 1000
#: Estimated bytes of each label of a name, and of each piece of a record held apart (a TXT
#: string, an NSEC type bitmap window), beyond its octets: the object holding it and its
#: place in a tuple. A name of 85 two-letter labels costs some 4 KB, sixteen times its wire
#: form, and one response can carry thousands of such names (compressed to a few octets each).
PIECE_OVERHEAD = 56


def nameKey(name: dns.name.Name) -> tuple[bytes, ...]:
    """
    A key for C{name} that is equal for equal names (labels compared without regard to ASCII
    case, as C{dns.name.Name} compares them) and cheap to hash and compare.
    """
    return tuple(map(bytes.lower, name.labels))


def sameName(a: dns.name.Name, b: dns.name.Name) -> bool:
    """
    Whether C{a} and C{b} are equal names (C{a == b}), cheaply: most names compared are equal
    byte for byte, or differ in their label count.
    """
    if a.labels == b.labels:
        return True
    return len(a.labels) == len(b.labels) and nameKey(a) == nameKey(b)


def within(name: dns.name.Name, zone: dns.name.Name) -> bool:
    """
    Whether C{name} is C{zone} or a name below it (C{name.is_subdomain(zone)}), cheaply: the
    labels compared from the end, as they are and, only if they differ, in lower case.
    """
    inner, outer = name.labels, zone.labels
    if len(outer) > len(inner):
        return False
    tail = inner[len(inner) - len(outer) :]
    return tail == outer or tuple(map(bytes.lower, tail)) == tuple(map(bytes.lower, outer))


_Name = dns.name.Name


#: Texts of names (by their labels), for the reasons validation gives: a name's text costs
#: more than the rest of a reason, and the same few names come up again and again. Forgotten
#: all at once when full.
_nameTexts: dict[tuple[bytes, ...], str] = {}
NAME_TEXTS = 256


def nameText(name: dns.name.Name | None) -> str:
    """
    C{str(name)}, kept for the last names asked (at most L{NAME_TEXTS}).
    """
    if name is None:
        return str(name)
    labels = name.labels
    text = _nameTexts.get(labels)
    if text is None:
        if len(_nameTexts) >= NAME_TEXTS:
            _nameTexts.clear()
        text = _nameTexts[labels] = str(name)
    return text


def parentName(name: dns.name.Name) -> dns.name.Name:
    """
    C{name.parent()} for an absolute name other than the root, without checking again the
    labels of a name already made (its parent's are a part of them).
    """
    labels = name.labels
    if len(labels) < 2:
        raise dns.name.NoParent
    parent = object.__new__(_Name)
    object.__setattr__(parent, "labels", labels[1:])
    return parent


class RememberLast(Generic[A, V]):
    """
    C{compute}, remembering its result for the last tuple it was given, found again by
    identity (a tuple cannot change; anything else is computed every time): work on a
    zone's keys, asked again for each RRset of a response, is done once, however many
    RRsets a response carries.
    """

    def __init__(self, compute: Callable[[A], V]) -> None:
        self._compute = compute
        self._last: tuple[A, V] | None = None

    def __call__(self, argument: A) -> V:
        last = self._last
        if last is not None and last[0] is argument:
            return last[1]
        result = self._compute(argument)
        if isinstance(argument, tuple):
            self._last = (argument, result)
        return result


def nameCost(name: dns.name.Name) -> int:
    """
    An upper estimate of the memory a name made apart (as each name parsed from a response
    is) holds, beyond the object itself: its labels.
    """
    labels = name.labels
    return PIECE_OVERHEAD * len(labels) + sum(map(len, labels))


#: The attributes of each class of record data (and of the objects records hold, such as
#: SVCB parameters) that hold its fields.
_FIELDS: dict[type, tuple[str, ...]] = {}


def _fields(cls: type) -> tuple[str, ...]:
    fields = _FIELDS.get(cls)
    if fields is None:
        found = [f for c in cls.__mro__ for f in getattr(c, "__slots__", ())]
        fields = _FIELDS[cls] = tuple(f for f in dict.fromkeys(found) if not f.startswith("rd"))
    return fields


def _fieldCost(value: object, depth: int = 0) -> int:
    """
    An upper estimate of the memory a field of a record holds beyond the record's own
    overhead: its octets, and the names and pieces held apart.
    """
    kind = value.__class__
    if kind is int or value is None:  # most fields of most records: nothing held apart
        return 0
    if kind is bytes or kind is str:
        return len(value)  # type: ignore[arg-type]
    if isinstance(value, dns.name.Name):
        return nameCost(value) + len(value.labels)  # (and the wire form's length octets)
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, (int, float)) or depth > 3:
        return 0
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (tuple, list, frozenset, set)):
        return sum(PIECE_OVERHEAD + _fieldCost(item, depth + 1) for item in value)
    # An object of dnspython's (an SVCB parameter, an APL item): its own fields.
    fields = _fields(value.__class__) or tuple(getattr(value, "__dict__", ()))
    return sum(_fieldCost(getattr(value, f, None), depth + 1) for f in fields)


def rrsetCost(rrsets: Iterable[dns.rrset.RRset | None]) -> int:
    """
    An upper estimate of the memory the RRsets C{rrsets} hold (C{None}s are skipped): the
    objects holding the records, their octets, and the names and pieces held apart.

    Worked out from the records' fields, not their wire form: dnspython writes each name
    within a record in time quadratic in its labels (some 0.6 ms for a name of 85 labels,
    1.7 s for a response of 3,000 such records).
    """
    total = 0
    for rrset in rrsets:
        if rrset is None:
            continue
        total += RRSET_OVERHEAD + nameCost(rrset.name)
        for rdata in rrset:
            total += RECORD_OVERHEAD
            for field in _fields(rdata.__class__):
                value = getattr(rdata, field, None)
                kind = value.__class__
                if kind is bytes:
                    total += len(value)  # type: ignore[arg-type]
                elif kind is not int and value is not None:
                    total += _fieldCost(value)
    return total


class ExpiringCache(Generic[V]):
    """
    A least-recently-used cache of at most C{size} entries and C{maxBytes} estimated bytes,
    with per-entry expiry. A name as a key stands for its L{nameKey} (names are slow to hash
    and compare).

    @param clock: the source of time.
    @param size: the most entries kept.
    @param maxTTL: the longest any entry lives, in seconds.
    @param maxBytes: the most estimated bytes kept (C{None}: no bound in bytes).
    @param costOf: estimates the bytes of a value (without it, each entry costs
        L{ENTRY_OVERHEAD}).
    @ivar bytes: the estimated bytes held now.
    """

    def __init__(
        self,
        clock: IReactorTime,
        size: int,
        maxTTL: float,
        maxBytes: int | None = None,
        costOf: Callable[[V], int] | None = None,
    ) -> None:
        self.clock = clock
        self.size = size
        self.maxTTL = maxTTL
        self.maxBytes = maxBytes
        self.costOf = costOf
        self.bytes = 0
        self._entries: OrderedDict[Hashable, tuple[float, V, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        """
        The live entry for C{key}, or C{None}.
        """
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            # A name is kept by its nameKey (not looked for first: the hot callers, the
            # lookups by text and the chain of trust, give keys that are not names).
            if key.__class__ is not _Name:
                return None
            key = nameKey(key)
            entry = entries.get(key)
            if entry is None:
                return None
        expiry, value, cost = entry
        if expiry <= self.clock.seconds():
            del entries[key]
            self.bytes -= cost
            return None
        entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V, ttl: float) -> None:
        """
        Keep C{value} for C{ttl} seconds (capped by C{maxTTL}); a TTL of zero keeps nothing.
        """
        ttl = min(ttl, self.maxTTL)
        if ttl <= 0 or self.size <= 0:
            return
        if key.__class__ is _Name:
            key = nameKey(key)
        cost = ENTRY_OVERHEAD + (self.costOf(value) if self.costOf is not None else 0)
        if self.maxBytes is not None and cost > self.maxBytes:
            return  # larger than the whole cache: never kept
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        self._entries[key] = (self.clock.seconds() + ttl, value, cost)
        self.bytes += cost
        while len(self._entries) > self.size or (
            self.maxBytes is not None and self.bytes > self.maxBytes
        ):
            _, (_, _, gone) = self._entries.popitem(last=False)
            self.bytes -= gone

    def clear(self) -> None:
        """
        Forget everything.
        """
        self._entries.clear()
        self.bytes = 0

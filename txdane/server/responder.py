"""
The answer engine: a query message in, the authoritative response out.

Pure and synchronous, with no network in sight, so every rule can be tested directly. It
follows RFC 1034 section 4.3.2 with the DNSSEC additions of RFC 4035 section 3 and RFC 5155
section 7.2: authoritative answers with their RRSIGs (only when DO is set), CNAME chasing in
the zone, DNAME synthesis, referrals with NS, glue and DS (or the proof that no DS exists),
NXDOMAIN and NODATA with the SOA and the full NSEC or NSEC3 proofs, wildcard answers with the
proof that no closer name exists, and REFUSED outside every zone.

L{Responder.respondWire} adds the wire-level rules (FORMERR, NOTIMP, BADVERS, truncation) and a
cache of finished answers in wire form, so a repeated question costs a dictionary lookup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tsig
from twisted.internet.defer import Deferred

from txdane.server.fastpath import answerFast
from txdane.server.tsigcheck import TSIGRefusal, checkTSIG, requestTSIG
from txdane.server.wirescan import bareError
from txdane.server.zones import ZoneIndex, ZoneStore

#: The UDP payload size this server advertises and never exceeds (the DNS flag day 2020 value).
DEFAULT_MAX_UDP_PAYLOAD = 1232
#: How many CNAME/DNAME links one answer follows inside the zone before stopping.
DEFAULT_MAX_CHAIN = 12
#: How many finished answers the wire cache keeps before it starts over (names are chosen by
#: whoever queries, so the cache must be bounded).
DEFAULT_CACHE_SIZE = 20000
#: How many bytes (queries and answers) each wire cache holds before it starts over: a client
#: can pad a query to 64 KB, so a count alone does not bound the memory.
DEFAULT_CACHE_BYTES = 32 * 1024 * 1024

_TCP_LIMIT = 65535
_META_REFUSED = frozenset({dns.rdatatype.AXFR, dns.rdatatype.IXFR})
#: Meta types that only ever appear in a message's additional section, never in a question
#: (RFC 6895 section 3.1: OPT, TSIG, TKEY).
_META_FORMERR = frozenset({dns.rdatatype.OPT, dns.rdatatype.TSIG, dns.rdatatype.TKEY})
#: The obsolete mail query types (RFC 1035 section 3.2.3), which this server does not implement.
_META_NOTIMP = frozenset({dns.rdatatype.MAILA, dns.rdatatype.MAILB})


class UpdateHandler(Protocol):
    """
    What answers UPDATE messages (RFC 2136) for a L{Responder}, and knows the TSIG keys it
    takes them from: see L{txdane.server.update.ZoneUpdater}.
    """

    def tsigKey(self, name: dns.name.Name, algorithm: dns.name.Name) -> dns.tsig.Key | None:
        """
        The TSIG key called C{name} with C{algorithm}, if there is one.
        """

    def respondUpdate(self, data: bytes, *, tcp: bool = False) -> bytes | None:
        """
        The response to the UPDATE message in C{data}, or C{None} for none at all.
        """

    def respondUpdateLater(self, data: bytes, *, tcp: bool = False) -> Deferred[bytes | None]:
        """
        The same, when the work may take a while: the network protocols use this one.
        """


@dataclass
class _Answer:
    """
    A response being built, and the query facts that shape it.
    """

    response: dns.message.Message
    dnssec: bool


class Responder:
    """
    Answers queries from the zones of a L{ZoneStore}.

    @ivar store: the zones answered from.
    @ivar maxUDPPayload: the EDNS payload size advertised, and the most sent over UDP.
    @ivar maxChain: the most CNAME/DNAME links followed in one answer.
    @ivar cacheSize: the most wire answers kept in the cache.
    @ivar cacheBytes: the most bytes (queries and answers) kept in each of the UDP and TCP
        caches.
    @ivar updater: what answers UPDATE messages; without one they get NOTIMP.
    @ivar fastPath: whether ordinary queries are answered from pre-rendered wire pieces
        (L{txdane.server.fastpath}) rather than through messages; the answers are the same.
    @ivar fastAnswers: how many answers the fast path gave (cache hits not counted).
    """

    def __init__(
        self,
        store: ZoneStore,
        *,
        maxUDPPayload: int = DEFAULT_MAX_UDP_PAYLOAD,
        maxChain: int = DEFAULT_MAX_CHAIN,
        cacheSize: int = DEFAULT_CACHE_SIZE,
        cacheBytes: int = DEFAULT_CACHE_BYTES,
        updater: UpdateHandler | None = None,
        fastPath: bool = True,
    ) -> None:
        self.store = store
        self.maxUDPPayload = maxUDPPayload
        self.maxChain = maxChain
        self.cacheSize = cacheSize
        self.cacheBytes = cacheBytes
        self.updater = updater
        self.fastPath = fastPath
        self.fastAnswers = 0
        self._cache: dict[bytes, bytes] = {}
        self._tcpCache: dict[bytes, bytes] = {}
        self._cacheUsed = {False: 0, True: 0}  # bytes held, by transport (tcp or not)

    # -- wire level ---------------------------------------------------------------------------

    def respondWire(self, data: bytes, *, tcp: bool = False) -> bytes | None:
        """
        Answer the query in C{data} (wire form), or return C{None} when it deserves no answer
        (too short to carry an ID, or itself a response).

        Over UDP (C{tcp=False}) the answer fits the client's EDNS payload (512 bytes without
        EDNS, never more than L{maxUDPPayload}); one that does not is sent empty with TC=1.
        """
        if len(data) < 12:
            return None
        if data[2] & 0x80:  # QR: a response, never answered (no reflection loops)
            return None
        if self.updater is not None and isUpdate(data):
            return self.updater.respondUpdate(data, tcp=tcp)
        # The answer depends on nothing but the bytes after the ID (and the transport), so
        # those are the key: one slice and one lookup for a repeated question.
        cache = self._tcpCache if tcp else self._cache
        key = data[2:]
        cached = cache.get(key)
        if cached is not None:
            return data[:2] + cached[2:]
        wire, cacheable = self._respondWireUncached(data, tcp)
        if cacheable:
            cost = len(key) + len(wire)
            used = self._cacheUsed[tcp]
            if len(cache) >= self.cacheSize or used + cost > self.cacheBytes:
                cache.clear()
                used = 0
            if cost <= self.cacheBytes:
                cache[key] = wire
                used += cost
            self._cacheUsed[tcp] = used
        return wire

    def _respondWireUncached(self, data: bytes, tcp: bool) -> tuple[bytes, bool]:
        """
        The answer to C{data}, and whether it is worth caching (answers to garbage are not:
        whoever sends it chooses the bytes, and would only push real answers out).
        """
        if self.fastPath:
            wire = answerFast(self.store.wireZones, data, tcp, self.maxUDPPayload)
            if wire is not None:
                self.fastAnswers += 1
                return wire, True
        try:
            query = dns.message.from_wire(data, ignore_trailing=False, keyring=False)
        except dns.exception.DNSException:
            wire = bareError(data, dns.rcode.FORMERR, self.maxUDPPayload)
            assert wire is not None
            return wire, False
        if query.had_tsig:
            # Signed: answered signed with the key, or refused; never cached (each request
            # has its own MAC, and its answer its own signature).
            checked = self._checkTSIG(data, query)
            if isinstance(checked, bytes):
                return checked, False
            return self._render(checked, tcp)[0], False
        return self._render(query, tcp)

    def _checkTSIG(self, data: bytes, query: dns.message.Message) -> dns.message.Message | bytes:
        """
        The query in C{data} (parsed as C{query}, its TSIG record unchecked), its signature
        checked with the key the server has of that name and algorithm (those it takes
        updates from): a response made from it is signed. Or the response refusing it:
        NOTAUTH with BADKEY for a key the server does not have, and the other refusals of
        RFC 8945 section 5.2.
        """
        tsig = requestTSIG(query)
        assert tsig is not None and query.tsig is not None
        key = None
        if self.updater is not None:
            key = self.updater.tsigKey(query.tsig.name, tsig.algorithm)
        checked = checkTSIG(data, query, key, time.time)
        if isinstance(checked, TSIGRefusal):
            return checked.response
        return checked

    def _render(self, query: dns.message.Message, tcp: bool) -> tuple[bytes, bool]:
        """
        The answer to C{query} in wire form, truncated to fit over UDP, and whether it is
        worth caching.
        """
        limit = _TCP_LIMIT
        if not tcp:
            limit = 512 if query.edns < 0 else max(512, min(query.payload, self.maxUDPPayload))
        if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
            # BADVERS, NOTIMP or FORMERR, with an OPT record when the query has one (RFC 6891
            # section 7); a FORMERR without it would say this server does not know EDNS.
            response = self.respond(query)
            if len(response.question) > 1:
                response.question = []
            return response.to_wire(max_size=limit), False
        response = self.respond(query)
        try:
            return response.to_wire(max_size=limit), True
        except dns.exception.TooBig:
            truncated = _makeResponse(query, self.maxUDPPayload)
            truncated.set_rcode(response.rcode())
            truncated.flags = response.flags | dns.flags.TC
            return truncated.to_wire(max_size=limit), True

    def truncatedWire(self, data: bytes) -> bytes | None:
        """
        An empty response to the query in C{data} with TC=1 (its question, no records): what
        response rate limiting sends in place of an answer, so that a real client retries
        over TCP. C{None} for data that gets no answer at all.
        """
        if len(data) < 12 or data[2] & 0x80:
            return None
        try:
            query = dns.message.from_wire(data, ignore_trailing=False)
        except dns.exception.DNSException:
            return None
        if len(query.question) != 1:
            return None
        response = _makeResponse(query, self.maxUDPPayload)
        response.flags |= dns.flags.TC
        return response.to_wire(max_size=512)

    def clearCache(self) -> None:
        """
        Forget every cached answer and every pre-rendered RRset (after the zones change).
        """
        for zone in self.store:
            zone.wire.forget()
        self._cache.clear()
        self._tcpCache.clear()
        self._cacheUsed = {False: 0, True: 0}

    # -- message level ------------------------------------------------------------------------

    def respond(self, query: dns.message.Message) -> dns.message.Message:
        """
        The response to C{query}, which must hold one question.
        """
        response = _makeResponse(query, self.maxUDPPayload)
        if query.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)
            return response
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        qtype = question.rdtype
        if question.rdclass != dns.rdataclass.IN or qtype in _META_REFUSED:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        if qtype in _META_FORMERR:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        if qtype in _META_NOTIMP:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        qname = question.name
        zone = self.store.zoneFor(qname, qtype)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        answer = _Answer(response, bool(query.ednsflags & dns.flags.DO))
        seen = {qname}
        for _ in range(self.maxChain + 1):
            following = _lookup(answer, zone, qname, qtype)
            if following is None or following in seen:
                break
            seen.add(following)
            nextZone = self.store.zoneFor(following, qtype)
            if nextZone is not zone:
                break
            qname = following
        return response


def isUpdate(data: bytes) -> bool:
    """
    Whether C{data} is an UPDATE request (RFC 2136): opcode 5, QR clear.
    """
    return len(data) >= 12 and not data[2] & 0x80 and (data[2] >> 3) & 0xF == dns.opcode.UPDATE


def _makeResponse(
    query: dns.message.Message, payload: int = DEFAULT_MAX_UDP_PAYLOAD
) -> dns.message.Message:
    response = dns.message.make_response(query, our_payload=payload)
    response.flags |= query.flags & dns.flags.CD
    if query.edns >= 0:
        response.use_edns(0, query.ednsflags & dns.flags.DO, payload)
    return response


# -- the lookup algorithm ---------------------------------------------------------------------


def _add(
    answer: _Answer,
    section: list[dns.rrset.RRset],
    zone: ZoneIndex,
    name: dns.name.Name,
    rdataset: dns.rdataset.Rdataset,
    owner: dns.name.Name | None = None,
    signed: bool = True,
) -> None:
    """
    Put C{rdataset} (and its RRSIGs, when DO is set) in C{section}, under C{owner} if given
    (wildcard synthesis) or C{name}.
    """
    owner = owner or name
    _merge(answer.response, section, owner, rdataset)
    if answer.dnssec and signed:
        sigs = zone.rdataset(name, dns.rdatatype.RRSIG, rdataset.rdtype)
        if sigs is not None:
            _merge(answer.response, section, owner, sigs)


def _merge(
    response: dns.message.Message,
    section: list[dns.rrset.RRset],
    owner: dns.name.Name,
    rdataset: dns.rdataset.Rdataset,
) -> None:
    rrset = response.find_rrset(
        section, owner, rdataset.rdclass, rdataset.rdtype, rdataset.covers, create=True
    )
    rrset.update(rdataset)


def _lookup(
    answer: _Answer, zone: ZoneIndex, qname: dns.name.Name, qtype: int
) -> dns.name.Name | None:
    """
    Answer C{qname}/C{qtype} from C{zone} into the response; return the name a CNAME or DNAME
    leads to, for the caller to follow, or C{None}.
    """
    origin = zone.origin
    # From the apex down: the apex is never a cut, but it may own a DNAME (RFC 6672 s2.3).
    for depth in range(len(origin), len(qname) + 1):
        _, name = qname.split(depth)
        if name in zone.cuts and not (name == qname and qtype == dns.rdatatype.DS):
            _referral(answer, zone, name)
            return None
        if name != qname and name in zone.dnames:
            return _dname(answer, zone, qname, name)

    if qname in zone.existing:
        node = zone.node(qname)
        if node is not None:
            if qtype == dns.rdatatype.RRSIG:
                # RRSIGs asked for as such: all of them, as data (RFC 4035 s3.1.5 leaves it
                # open; answering beats a NODATA that the NSEC bitmap contradicts).
                sigs = [r for r in node.rdatasets if r.rdtype == dns.rdatatype.RRSIG]
                for rdataset in sigs:
                    _merge(answer.response, answer.response.answer, qname, rdataset)
                if sigs:
                    return None
            if qtype == dns.rdatatype.ANY:
                found = False
                for rdataset in node.rdatasets:
                    if rdataset.rdtype != dns.rdatatype.RRSIG:
                        _add(answer, answer.response.answer, zone, qname, rdataset)
                        found = True
                if found:
                    return None
            rdataset = zone.rdataset(qname, qtype)
            if rdataset is not None:
                _add(answer, answer.response.answer, zone, qname, rdataset)
                return None
            cname = zone.rdataset(qname, dns.rdatatype.CNAME)
            if cname is not None:
                _add(answer, answer.response.answer, zone, qname, cname)
                return cname[0].target
        _noData(answer, zone, qname)
        return None

    closest = qname
    while closest not in zone.existing:
        closest = closest.parent()
    wildcard = dns.name.Name((b"*", *closest.labels))
    if wildcard in zone.existing and zone.node(wildcard) is not None:
        rdataset = zone.rdataset(wildcard, qtype)
        cname = zone.rdataset(wildcard, dns.rdatatype.CNAME)
        if rdataset is not None or cname is not None:
            chosen = rdataset if rdataset is not None else cname
            assert chosen is not None
            _add(answer, answer.response.answer, zone, wildcard, chosen, owner=qname)
            if answer.dnssec:
                _proveNoCloser(answer, zone, qname, closest)
            if rdataset is None and cname is not None:
                return cname[0].target
            return None
        _addSOA(answer, zone)
        if answer.dnssec:
            _proveNoCloser(answer, zone, qname, closest)
            _proveNoType(answer, zone, wildcard)
        return None

    answer.response.set_rcode(dns.rcode.NXDOMAIN)
    _addSOA(answer, zone)
    if answer.dnssec:
        _proveNoCloser(answer, zone, qname, closest)
        if zone.nsec3 is not None:
            _addNSEC3(answer, zone, zone.nsec3.covering(wildcard))
        else:
            _addNSEC(answer, zone, zone.coveringNSEC(wildcard))
    return None


def _addSOA(answer: _Answer, zone: ZoneIndex) -> None:
    soa = zone.rdataset(zone.origin, dns.rdatatype.SOA)
    assert soa is not None
    negative = soa.copy()
    negative.ttl = min(soa.ttl, soa[0].minimum)
    _add(answer, answer.response.authority, zone, zone.origin, negative)


def _addNSEC(answer: _Answer, zone: ZoneIndex, owner: dns.name.Name | None) -> None:
    if owner is None:
        return
    nsec = zone.rdataset(owner, dns.rdatatype.NSEC)
    if nsec is not None:
        _add(answer, answer.response.authority, zone, owner, nsec)


def _addNSEC3(answer: _Answer, zone: ZoneIndex, owner: dns.name.Name | None) -> None:
    if owner is None:
        return
    nsec3 = zone.rdataset(owner, dns.rdatatype.NSEC3)
    if nsec3 is not None:
        _add(answer, answer.response.authority, zone, owner, nsec3)


def _proveNoCloser(
    answer: _Answer, zone: ZoneIndex, qname: dns.name.Name, closest: dns.name.Name
) -> None:
    """
    Prove C{qname} does not exist below its closest encloser C{closest}: the NSEC covering
    it, or the NSEC3 matching the closest encloser plus the one covering the next closer name
    (RFC 5155 section 7.2.1). For a wildcard answer the matching NSEC3 is not needed, but it
    does no harm and keeps one code path.
    """
    if zone.nsec3 is not None:
        nextCloser = qname.split(len(closest) + 1)[1]
        _addNSEC3(answer, zone, zone.nsec3.matching(closest))
        _addNSEC3(answer, zone, zone.nsec3.covering(nextCloser))
    else:
        _addNSEC(answer, zone, zone.coveringNSEC(qname))


def _proveNoType(answer: _Answer, zone: ZoneIndex, name: dns.name.Name) -> None:
    """
    Prove that existing name C{name} has no record of the asked type: its own NSEC or NSEC3
    (or, for an empty non-terminal signed with NSEC, the NSEC covering it).
    """
    if zone.nsec3 is not None:
        matching = zone.nsec3.matching(name)
        if matching is not None:
            _addNSEC3(answer, zone, matching)
            return
        # Not in the chain: an opt-out delegation; prove the closest provable encloser.
        closest = name.parent()
        while zone.nsec3.matching(closest) is None and closest != zone.origin:
            closest = closest.parent()
        _proveNoCloser(answer, zone, name, closest)
    else:
        _addNSEC(answer, zone, zone.coveringNSEC(name))


def _noData(answer: _Answer, zone: ZoneIndex, qname: dns.name.Name) -> None:
    _addSOA(answer, zone)
    if answer.dnssec:
        _proveNoType(answer, zone, qname)


def _referral(answer: _Answer, zone: ZoneIndex, cut: dns.name.Name) -> None:
    response = answer.response
    if not response.answer:
        response.flags &= ~dns.flags.AA
    ns = zone.rdataset(cut, dns.rdatatype.NS)
    assert ns is not None
    _add(answer, response.authority, zone, cut, ns, signed=False)
    ds = zone.rdataset(cut, dns.rdatatype.DS)
    if ds is not None:
        _add(answer, response.authority, zone, cut, ds)
    elif answer.dnssec:
        _proveNoType(answer, zone, cut)
    for rdata in ns:
        target = rdata.target
        if not target.is_subdomain(zone.origin):
            continue
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            glue = zone.rdataset(target, rdtype)
            if glue is not None:
                _add(answer, response.additional, zone, target, glue, signed=False)


def _dname(
    answer: _Answer, zone: ZoneIndex, qname: dns.name.Name, owner: dns.name.Name
) -> dns.name.Name | None:
    dname = zone.rdataset(owner, dns.rdatatype.DNAME)
    assert dname is not None
    _add(answer, answer.response.answer, zone, owner, dname)
    try:
        target = qname.relativize(owner).concatenate(dname[0].target)
    except dns.name.NameTooLong:
        answer.response.set_rcode(dns.rcode.YXDOMAIN)
        return None
    synthesized = dns.rrset.from_text(
        qname, dname.ttl, dns.rdataclass.IN, "CNAME", target.to_text()
    )
    _merge(answer.response, answer.response.answer, qname, synthesized)
    return target

"""
Tests for L{txdane.server.responder}: the answers an authoritative server gives, from the zones of
the test hierarchy, message in, message out.
"""

from __future__ import annotations

import struct

import dns.dnssec
import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.node
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest

from txdane.server.responder import DEFAULT_CACHE_BYTES, DEFAULT_MAX_UDP_PAYLOAD, Responder
from txdane.server.zones import ZoneStore
from txdane.testing import Hierarchy, buildHierarchy

N = dns.name.from_text


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return buildHierarchy(
        extraRecords={"example.test.": ["loop1 300 IN CNAME loop2", "loop2 300 IN CNAME loop1"]}
    )


@pytest.fixture
def responder(hierarchy: Hierarchy) -> Responder:
    return Responder(ZoneStore(hierarchy.zones.values()))


def ask(
    responder: Responder, name: str, rdtype: str, dnssec: bool = True, **kw: object
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, want_dnssec=dnssec, **kw)  # type: ignore[arg-type]
    return responder.respond(query)


def types(section: list[dns.rrset.RRset]) -> set[tuple[str, str]]:
    """
    (owner, type) of each RRset, RRSIGs as "RRSIG(covered)".
    """
    out = set()
    for rrset in section:
        text = dns.rdatatype.to_text(rrset.rdtype)
        if rrset.rdtype == dns.rdatatype.RRSIG:
            text += f"({dns.rdatatype.to_text(rrset.covers)})"
        out.add((rrset.name.to_text(), text))
    return out


KeyMap = dict[dns.name.Name, dns.node.Node | dns.rdataset.Rdataset]


def keysOf(hierarchy: Hierarchy, zone: str) -> KeyMap:
    origin = N(zone)
    dnskey = hierarchy.zones[origin].get_rrset(origin, dns.rdatatype.DNSKEY)
    assert dnskey is not None
    return {origin: dnskey}


def validateSection(
    hierarchy: Hierarchy, zone: str, section: list[dns.rrset.RRset], now: int
) -> int:
    """
    Check every RRSIG in C{section} against its RRset with C{zone}'s keys; return how many.
    """
    keys = keysOf(hierarchy, zone)
    count = 0
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.RRSIG:
            continue
        sigs = [
            s
            for s in section
            if s.rdtype == dns.rdatatype.RRSIG and s.covers == rrset.rdtype and s.name == rrset.name
        ]
        for sig in sigs:
            dns.dnssec.validate(rrset, sig, keys, now=now)
            count += 1
    return count


class TestPositive:
    def test_signedAnswer(self, hierarchy: Hierarchy, responder: Responder) -> None:
        """
        With DO, the answer carries the RRset and its RRSIG, which validates with the zone's key;
        AA is set, DO is echoed.
        """
        response = ask(responder, "_443._tcp.www.example.test.", "TLSA")
        assert response.rcode() == dns.rcode.NOERROR
        assert response.flags & dns.flags.AA
        assert response.ednsflags & dns.flags.DO
        assert types(response.answer) == {
            ("_443._tcp.www.example.test.", "TLSA"),
            ("_443._tcp.www.example.test.", "RRSIG(TLSA)"),
        }
        assert validateSection(hierarchy, "example.test.", response.answer, hierarchy.now) == 1

    def test_noSignaturesWithoutDO(self, responder: Responder) -> None:
        """
        Without DO there are no RRSIGs (RFC 4035 s3.1.1), with or without EDNS.
        """
        for kw in ({"use_edns": 0}, {"use_edns": False}):
            response = ask(responder, "www.example.test.", "A", dnssec=False, **kw)
            assert types(response.answer) == {("www.example.test.", "A")}
            assert not response.ednsflags & dns.flags.DO

    def test_checkingDisabledEchoed(self, responder: Responder) -> None:
        """
        CD is copied from the query (RFC 4035 s3.2.2), RD too.
        """
        query = dns.message.make_query("www.example.test.", "A", want_dnssec=True)
        query.flags |= dns.flags.CD
        response = responder.respond(query)
        assert response.flags & dns.flags.CD
        assert response.flags & dns.flags.RD
        plain = ask(responder, "www.example.test.", "A")
        assert not plain.flags & dns.flags.CD

    def test_payloadAdvertised(self, responder: Responder) -> None:
        """
        The response advertises 1232 bytes, not dnspython's default.
        """
        response = ask(responder, "www.example.test.", "A")
        assert response.payload == DEFAULT_MAX_UDP_PAYLOAD == 1232

    def test_cnameChased(self, hierarchy: Hierarchy, responder: Responder) -> None:
        """
        A CNAME chain inside the zone is followed to the data, each link signed.
        """
        response = ask(responder, "alias2.example.test.", "A")
        assert types(response.answer) == {
            ("alias2.example.test.", "CNAME"),
            ("alias2.example.test.", "RRSIG(CNAME)"),
            ("alias.example.test.", "CNAME"),
            ("alias.example.test.", "RRSIG(CNAME)"),
            ("www.example.test.", "A"),
            ("www.example.test.", "RRSIG(A)"),
        }
        assert validateSection(hierarchy, "example.test.", response.answer, hierarchy.now) == 3

    def test_cnameLoopStops(self, responder: Responder) -> None:
        """
        A CNAME loop ends the answer instead of looping.
        """
        response = ask(responder, "loop1.example.test.", "A", dnssec=False)
        assert response.rcode() == dns.rcode.NOERROR
        assert types(response.answer) == {
            ("loop1.example.test.", "CNAME"),
            ("loop2.example.test.", "CNAME"),
        }

    def test_cnameChainLimit(self, hierarchy: Hierarchy) -> None:
        """
        No more than C{maxChain} links are followed.
        """
        responder = Responder(ZoneStore(hierarchy.zones.values()), maxChain=1)
        response = ask(responder, "alias2.example.test.", "A", dnssec=False)
        assert types(response.answer) == {
            ("alias2.example.test.", "CNAME"),
            ("alias.example.test.", "CNAME"),
        }

    def test_cnameToOtherZoneNotChased(self, responder: Responder) -> None:
        """
        A CNAME leaving the zone is given alone; the resolver follows it.
        """
        response = ask(responder, "tounsigned.example.test.", "A")
        assert types(response.answer) == {
            ("tounsigned.example.test.", "CNAME"),
            ("tounsigned.example.test.", "RRSIG(CNAME)"),
        }

    def test_cnameQueriedDirectly(self, responder: Responder) -> None:
        response = ask(responder, "alias.example.test.", "CNAME", dnssec=False)
        assert types(response.answer) == {("alias.example.test.", "CNAME")}

    def test_dnameAtApex(self) -> None:
        """
        A DNAME may own the zone apex (RFC 6672 section 2.3): every name below it is
        redirected, rather than answered NXDOMAIN; the apex itself is answered as usual.
        """
        zone = dns.zone.from_text(
            "@ 300 IN SOA ns1.other.test. host.other.test. 1 3600 600 86400 300\n"
            "@ 300 IN NS ns1.other.test.\n"
            "@ 300 IN DNAME target.test.\n",
            "moved.test.",
            relativize=False,
        )
        responder = Responder(ZoneStore([zone]))
        response = ask(responder, "www.moved.test.", "A", dnssec=False)
        assert response.rcode() == dns.rcode.NOERROR
        assert types(response.answer) == {
            ("moved.test.", "DNAME"),
            ("www.moved.test.", "CNAME"),
        }
        cname = response.find_rrset(
            response.answer, N("www.moved.test."), dns.rdataclass.IN, dns.rdatatype.CNAME
        )
        assert cname[0].target == N("www.target.test.")
        apex = ask(responder, "moved.test.", "DNAME", dnssec=False)
        assert types(apex.answer) == {("moved.test.", "DNAME")}

    def test_dname(self, responder: Responder) -> None:
        """
        Below a DNAME, the signed DNAME and an unsigned synthesized CNAME are given.
        """
        response = ask(responder, "www.redirect.example.test.", "A")
        assert types(response.answer) == {
            ("redirect.example.test.", "DNAME"),
            ("redirect.example.test.", "RRSIG(DNAME)"),
            ("www.redirect.example.test.", "CNAME"),
        }
        cname = response.find_rrset(
            response.answer, N("www.redirect.example.test."), dns.rdataclass.IN, dns.rdatatype.CNAME
        )
        assert cname[0].target == N("www.nsec3.test.")

    def test_wildcardNSEC(self, hierarchy: Hierarchy, responder: Responder) -> None:
        """
        A wildcard answer is synthesized with the wildcard's RRSIG (labels 3) and the NSEC
        proving no closer name exists.
        """
        response = ask(responder, "host.wild.example.test.", "A")
        assert ("host.wild.example.test.", "A") in types(response.answer)
        sig = response.find_rrset(
            response.answer,
            N("host.wild.example.test."),
            dns.rdataclass.IN,
            dns.rdatatype.RRSIG,
            dns.rdatatype.A,
        )
        assert sig[0].labels == 3
        assert {t for _, t in types(response.authority)} == {"NSEC", "RRSIG(NSEC)"}
        (nsec,) = [r for r in response.authority if r.rdtype == dns.rdatatype.NSEC]
        assert nsec.name < N("host.wild.example.test.") < nsec[0].next
        assert validateSection(hierarchy, "example.test.", response.answer, hierarchy.now) == 1

    def test_wildcardNSEC3(self, responder: Responder) -> None:
        """
        In an NSEC3 zone, the wildcard answer carries the NSEC3 covering the next closer name.
        """
        response = ask(responder, "a.b.wild.nsec3.test.", "A")
        assert ("a.b.wild.nsec3.test.", "A") in types(response.answer)
        chain = responder.store.get(N("nsec3.test."))
        assert chain is not None and chain.nsec3 is not None
        covering = chain.nsec3.covering(N("b.wild.nsec3.test."))
        assert (covering.to_text(), "NSEC3") in types(response.authority)

    def test_rrsigQuery(self, responder: Responder) -> None:
        """
        Asked for RRSIG, the server gives every signature at the name.
        """
        response = ask(responder, "www.example.test.", "RRSIG", dnssec=False)
        covered = {r.covers for r in response.answer if r.rdtype == dns.rdatatype.RRSIG}
        assert covered == {dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.NSEC}

    def test_any(self, responder: Responder) -> None:
        response = ask(responder, "www.example.test.", "ANY", dnssec=False)
        assert {t for _, t in types(response.answer)} == {"A", "AAAA", "NSEC"}


class TestNegative:
    def test_nxdomainNSEC(self, hierarchy: Hierarchy, responder: Responder) -> None:
        """
        NXDOMAIN: SOA with the negative TTL, NSECs covering the name and the wildcard, signed.
        """
        response = ask(responder, "nx.example.test.", "A")
        assert response.rcode() == dns.rcode.NXDOMAIN
        assert response.flags & dns.flags.AA
        soa = response.find_rrset(
            response.authority, N("example.test."), dns.rdataclass.IN, dns.rdatatype.SOA
        )
        assert soa.ttl == 300
        nsecs = [r for r in response.authority if r.rdtype == dns.rdatatype.NSEC]
        qname, wildcard = N("nx.example.test."), N("*.example.test.")
        for name in (qname, wildcard):
            assert any(n.name < name < n[0].next or n[0].next == N("example.test.") for n in nsecs)
        assert validateSection(hierarchy, "example.test.", response.authority, hierarchy.now) >= 2

    def test_nxdomainNSEC3(self, hierarchy: Hierarchy, responder: Responder) -> None:
        """
        NXDOMAIN in an NSEC3 zone: the closest encloser proof (matching NSEC3 of the closest
        encloser, covering NSEC3 of the next closer name) and the NSEC3 covering the wildcard.
        """
        response = ask(responder, "a.nx.nsec3.test.", "A")
        assert response.rcode() == dns.rcode.NXDOMAIN
        index = responder.store.get(N("nsec3.test."))
        assert index is not None and index.nsec3 is not None
        owners = {r.name for r in response.authority if r.rdtype == dns.rdatatype.NSEC3}
        assert index.nsec3.matching(N("nsec3.test.")) in owners
        assert index.nsec3.covering(N("nx.nsec3.test.")) in owners
        assert index.nsec3.covering(N("*.nsec3.test.")) in owners
        assert validateSection(hierarchy, "nsec3.test.", response.authority, hierarchy.now) >= 2

    def test_noDataNSEC(self, responder: Responder) -> None:
        """
        NODATA: NOERROR, empty answer, SOA and the NSEC of the name, whose bitmap lacks the type.
        """
        response = ask(responder, "nodata.example.test.", "TXT")
        assert response.rcode() == dns.rcode.NOERROR and not response.answer
        (nsec,) = [r for r in response.authority if r.rdtype == dns.rdatatype.NSEC]
        assert nsec.name == N("nodata.example.test.")
        assert "A" in nsec[0].to_text() and "TXT" not in nsec[0].to_text()

    def test_noDataNSEC3(self, responder: Responder) -> None:
        response = ask(responder, "nodata.nsec3.test.", "TXT")
        index = responder.store.get(N("nsec3.test."))
        assert index is not None and index.nsec3 is not None
        owners = {r.name for r in response.authority if r.rdtype == dns.rdatatype.NSEC3}
        assert owners == {index.nsec3.matching(N("nodata.nsec3.test."))}

    def test_emptyNonTerminal(self, responder: Responder) -> None:
        """
        A name that only exists because names below it do (_tcp.www) is NODATA, not NXDOMAIN.
        """
        for zone in ("example.test.", "nsec3.test."):
            response = ask(responder, f"_tcp.www.{zone}", "A")
            assert response.rcode() == dns.rcode.NOERROR
            proofs = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
            assert any(r.rdtype in proofs for r in response.authority)

    def test_wildcardNoData(self, responder: Responder) -> None:
        """
        A wildcard without the type: NODATA with the proof of no closer name and the
        wildcard's own NSEC.
        """
        response = ask(responder, "host.wild.example.test.", "MX")
        assert response.rcode() == dns.rcode.NOERROR and not response.answer
        owners = {r.name for r in response.authority if r.rdtype == dns.rdatatype.NSEC}
        assert N("*.wild.example.test.") in owners

    def test_negativeWithoutDO(self, responder: Responder) -> None:
        response = ask(responder, "nx.example.test.", "A", dnssec=False)
        assert response.rcode() == dns.rcode.NXDOMAIN
        assert types(response.authority) == {("example.test.", "SOA")}


class TestDelegation:
    def test_referralWithDS(self, hierarchy: Hierarchy) -> None:
        """
        A server holding only test. refers example.test.: no AA, NS, signed DS, glue.
        """
        responder = Responder(ZoneStore([hierarchy.zones[N("test.")]]))
        response = ask(responder, "www.example.test.", "A")
        assert not response.flags & dns.flags.AA
        assert not response.answer
        assert types(response.authority) == {
            ("example.test.", "NS"),
            ("example.test.", "DS"),
            ("example.test.", "RRSIG(DS)"),
        }
        assert types(response.additional) == {("ns1.test.", "A"), ("ns1.test.", "AAAA")}

    def test_referralGlueFromRoot(self, hierarchy: Hierarchy) -> None:
        responder = Responder(ZoneStore([hierarchy.zones[dns.name.root]]))
        response = ask(responder, "www.example.test.", "A")
        assert ("test.", "NS") in types(response.authority)
        assert ("test.", "DS") in types(response.authority)
        assert types(response.additional) == {("ns1.test.", "A"), ("ns1.test.", "AAAA")}

    def test_referralInsecureNSEC(self, hierarchy: Hierarchy) -> None:
        """
        An unsigned delegation: NS and the NSEC at the cut showing NS without DS.
        """
        responder = Responder(ZoneStore([hierarchy.zones[N("test.")]]))
        response = ask(responder, "www.unsigned.test.", "A")
        assert types(response.authority) == {
            ("unsigned.test.", "NS"),
            ("unsigned.test.", "NSEC"),
            ("unsigned.test.", "RRSIG(NSEC)"),
        }

    def test_referralOptOut(self, hierarchy: Hierarchy) -> None:
        """
        An unsigned delegation in an opt-out zone: the closest provable encloser's NSEC3 and the
        opt-out NSEC3 covering the delegation.
        """
        responder = Responder(ZoneStore([hierarchy.zones[N("optout.test.")]]))
        response = ask(responder, "www.insecure.optout.test.", "A")
        index = responder.store.get(N("optout.test."))
        assert index is not None and index.nsec3 is not None
        assert index.nsec3.matching(N("insecure.optout.test.")) is None
        nsec3s = [r for r in response.authority if r.rdtype == dns.rdatatype.NSEC3]
        owners = {r.name for r in nsec3s}
        assert owners == {
            index.nsec3.matching(N("optout.test.")),
            index.nsec3.covering(N("insecure.optout.test.")),
        }
        assert all(r[0].flags & 1 for r in nsec3s)

    def test_dsFromParent(self, hierarchy: Hierarchy, responder: Responder) -> None:
        """
        With parent and child both held, DS comes from the parent, signed by the parent.
        """
        response = ask(responder, "example.test.", "DS")
        assert response.flags & dns.flags.AA
        sig = response.find_rrset(
            response.answer,
            N("example.test."),
            dns.rdataclass.IN,
            dns.rdatatype.RRSIG,
            dns.rdatatype.DS,
        )
        assert sig[0].signer == N("test.")
        assert validateSection(hierarchy, "test.", response.answer, hierarchy.now) == 1

    def test_noDSFromParent(self, responder: Responder) -> None:
        """
        The denial of DS for an unsigned child comes from the parent: test.'s SOA and NSEC.
        """
        response = ask(responder, "unsigned.test.", "DS")
        assert response.rcode() == dns.rcode.NOERROR and not response.answer
        assert types(response.authority) == {
            ("test.", "SOA"),
            ("test.", "RRSIG(SOA)"),
            ("unsigned.test.", "NSEC"),
            ("unsigned.test.", "RRSIG(NSEC)"),
        }

    def test_otherTypesFromChild(self, responder: Responder) -> None:
        response = ask(responder, "example.test.", "SOA")
        assert response.answer[0].name == N("example.test.")
        assert response.flags & dns.flags.AA

    def test_rootDS(self, responder: Responder) -> None:
        """
        DS at the top of the hierarchy: no parent held, so the root answers NODATA.
        """
        response = ask(responder, ".", "DS")
        assert response.rcode() == dns.rcode.NOERROR and not response.answer


class TestRefusalsAndErrors:
    def test_refusedOutsideZones(self, hierarchy: Hierarchy) -> None:
        responder = Responder(ZoneStore([hierarchy.zones[N("example.test.")]]))
        response = ask(responder, "www.example.com.", "A")
        assert response.rcode() == dns.rcode.REFUSED
        assert not response.flags & dns.flags.AA

    def test_refusedClassAndTransfer(self, responder: Responder) -> None:
        query = dns.message.make_query("www.example.test.", "A", rdclass="CH")
        assert responder.respond(query).rcode() == dns.rcode.REFUSED
        assert ask(responder, "example.test.", "AXFR").rcode() == dns.rcode.REFUSED

    def test_badVersion(self, responder: Responder) -> None:
        """
        EDNS version 1: BADVERS, answered with version 0.
        """
        query = dns.message.make_query("www.example.test.", "A", use_edns=1)
        wire = responder.respondWire(query.to_wire())
        assert wire is not None
        response = dns.message.from_wire(wire)
        assert response.rcode() == dns.rcode.BADVERS
        assert response.edns == 0
        assert not response.answer

    def test_notImplemented(self, responder: Responder) -> None:
        query = dns.message.make_query("www.example.test.", "A")
        query.set_opcode(dns.opcode.NOTIFY)
        wire = responder.respondWire(query.to_wire())
        assert wire is not None
        response = dns.message.from_wire(wire)
        assert response.rcode() == dns.rcode.NOTIMP
        assert response.id == query.id

    def test_formErr(self, responder: Responder) -> None:
        """
        Garbage and questionless queries get FORMERR with the query's ID.
        """
        garbage = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x05ab"
        for data in (garbage, struct.pack("!HHHHHH", 0x1234, 0x0100, 0, 0, 0, 0)):
            wire = responder.respondWire(data)
            assert wire is not None
            response = dns.message.from_wire(wire)
            assert response.rcode() == dns.rcode.FORMERR
            assert response.id == 0x1234
            assert response.flags & dns.flags.QR

    @pytest.mark.parametrize("count", [0, 2])
    def test_formErrKeepsEDNS(self, responder: Responder, count: int) -> None:
        """
        A well-formed EDNS query with no question or two (a COOKIE-only query has none) gets
        FORMERR with an OPT record (RFC 6891 section 7: a responder MUST include one); a
        FORMERR without OPT would tell the client this server does not know EDNS at all.
        With EDNS version 1 it gets BADVERS, as with one question.
        """
        query = dns.message.make_query("www.example.test.", "A", use_edns=0, want_dnssec=True)
        query.question = query.question * count
        response = dns.message.from_wire(responder.respondWire(query.to_wire()) or b"")
        assert response.rcode() == dns.rcode.FORMERR
        assert response.edns == 0 and response.ednsflags & dns.flags.DO
        assert response.id == query.id and len(response.question) <= 1
        query.use_edns(1)
        response = dns.message.from_wire(responder.respondWire(query.to_wire()) or b"")
        assert response.rcode() == dns.rcode.BADVERS and response.edns == 0

    def test_ignored(self, responder: Responder) -> None:
        """
        Responses and runts are not answered (no reflection loops).
        """
        query = dns.message.make_query("www.example.test.", "A")
        query.flags |= dns.flags.QR
        assert responder.respondWire(query.to_wire()) is None
        assert responder.respondWire(b"\x00" * 11) is None


class TestWire:
    def test_truncation(self, responder: Responder) -> None:
        """
        An answer larger than the client's payload (512 without EDNS) comes back empty with
        TC=1; over TCP, or with a larger payload, in full.
        """
        query = dns.message.make_query("nx.nsec3.test.", "A", want_dnssec=True, payload=512)
        small = dns.message.from_wire(responder.respondWire(query.to_wire()) or b"")
        assert small.flags & dns.flags.TC
        assert not small.answer and not small.authority
        assert small.rcode() == dns.rcode.NXDOMAIN
        full = dns.message.from_wire(responder.respondWire(query.to_wire(), tcp=True) or b"")
        assert not full.flags & dns.flags.TC
        assert len(full.authority) > 2
        query = dns.message.make_query("nx.nsec3.test.", "A", want_dnssec=True, payload=4096)
        big = responder.respondWire(query.to_wire())
        assert big is not None
        assert 512 < len(big) <= DEFAULT_MAX_UDP_PAYLOAD
        assert not dns.message.from_wire(big).flags & dns.flags.TC

    def test_truncationWithoutEDNS(self, hierarchy: Hierarchy) -> None:
        many = [f"big 300 IN TXT {'x' * 200}{i}" for i in range(5)]
        hierarchy2 = buildHierarchy(extraRecords={"example.test.": many})
        responder = Responder(ZoneStore(hierarchy2.zones.values()))
        query = dns.message.make_query("big.example.test.", "TXT")
        response = dns.message.from_wire(responder.respondWire(query.to_wire()) or b"")
        assert response.flags & dns.flags.TC

    def test_cacheReusesAnswerWithNewId(self, responder: Responder) -> None:
        """
        A repeated question is served from the cache with the new query's ID and case.
        """
        first = dns.message.make_query("www.example.test.", "A", want_dnssec=True)
        second = dns.message.make_query("www.example.test.", "A", want_dnssec=True)
        second.id = (first.id + 1) % 65536
        one = responder.respondWire(first.to_wire())
        two = responder.respondWire(second.to_wire())
        assert one is not None and two is not None
        assert one[2:] == two[2:]
        assert dns.message.from_wire(two).id == second.id
        assert len(responder._cache) == 1

    def test_garbageNotCached(self, responder: Responder) -> None:
        garbage = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x05ab"
        assert responder.respondWire(garbage) is not None
        assert len(responder._cache) == 0

    def test_cacheSeparatesTransports(self, responder: Responder) -> None:
        """
        An answer truncated for UDP is not what TCP gets from the cache.
        """
        query = dns.message.make_query("nx.nsec3.test.", "A", want_dnssec=True, payload=512)
        for _ in range(2):
            udp = dns.message.from_wire(responder.respondWire(query.to_wire()) or b"")
            tcp = dns.message.from_wire(responder.respondWire(query.to_wire(), tcp=True) or b"")
            assert udp.flags & dns.flags.TC and not tcp.flags & dns.flags.TC

    def test_cacheKeySeparatesDO(self, responder: Responder) -> None:
        plain = dns.message.make_query("www.example.test.", "A", use_edns=0)
        signed = dns.message.make_query("www.example.test.", "A", want_dnssec=True)
        a = dns.message.from_wire(responder.respondWire(plain.to_wire()) or b"")
        b = dns.message.from_wire(responder.respondWire(signed.to_wire()) or b"")
        assert len(a.answer) == 1 and len(b.answer) == 2

    @pytest.mark.parametrize("tcp", [False, True])
    def test_cacheBytesBounded(self, hierarchy: Hierarchy, tcp: bool) -> None:
        """
        The cache is bounded in bytes too: the key is the query, which a client can pad to
        64 KB with an EDNS option, so C{cacheSize} large queries alone could take gigabytes.
        The default budget is L{DEFAULT_CACHE_BYTES}.
        """
        assert DEFAULT_CACHE_BYTES == 32 * 1024 * 1024  # as docs/limits.md says
        assert Responder(ZoneStore(hierarchy.zones.values())).cacheBytes == DEFAULT_CACHE_BYTES
        responder = Responder(ZoneStore(hierarchy.zones.values()), cacheBytes=20_000)
        cache = responder._tcpCache if tcp else responder._cache
        for i in range(40):
            padding = dns.edns.GenericOption(dns.edns.OptionType.PADDING, bytes([i]) * 5_000)
            query = dns.message.make_query("www.example.test.", "A", options=[padding])
            assert responder.respondWire(query.to_wire(max_size=65535), tcp=tcp) is not None
            assert sum(len(k) + len(v) for k, v in cache.items()) <= 20_000
        small = dns.message.make_query("www.example.test.", "A").to_wire()
        responder.respondWire(small, tcp=tcp)
        assert small[2:] in cache

    def test_cacheBounded(self, hierarchy: Hierarchy) -> None:
        """
        The cache never holds more than C{cacheSize} answers, however many names are asked.
        """
        responder = Responder(ZoneStore(hierarchy.zones.values()), cacheSize=10)
        for i in range(35):
            query = dns.message.make_query(f"n{i}.example.test.", "A")
            assert responder.respondWire(query.to_wire()) is not None
            assert len(responder._cache) <= 10

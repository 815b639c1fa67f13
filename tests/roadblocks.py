"""
DNSSEC roadblocks (RFC 8027) for the tests: recursive resolvers in front of the test hierarchy
that break DNSSEC the ways real networks do.

L{startRoadblock} listens on a loopback address and answers like a recursive resolver from
every zone of a hierarchy, then spoils the answer as its C{kind} says:

  - C{"strip"}: removes every RRSIG, NSEC and NSEC3 record;
  - C{"dropDS"}: never answers a DS query;
  - C{"refuseDS"}: answers DS queries REFUSED;
  - C{"refuseDNSKEY"}: answers DNSKEY queries REFUSED;
  - C{"formerr"}: answers FORMERR, without an OPT record, to every query that has one;
  - C{"noEDNS"}: answers without an OPT record (and so without DNSSEC records);
  - C{"truncate"}: answers every query over UDP with an empty truncated response (whether
    TCP then fails by silence, a roadblock, or by a refused connection, a network failure,
    is the test's to arrange);
  - C{"fine"}: nothing (a resolver that passes the probes).
"""

from __future__ import annotations

from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import DatagramProtocol

from txdane.server.service import responderForZones
from txdane.testing import Hierarchy

KINDS = ("strip", "dropDS", "refuseDS", "refuseDNSKEY", "formerr", "noEDNS", "truncate", "fine")

_STRIPPED = (dns.rdatatype.RRSIG, dns.rdatatype.NSEC, dns.rdatatype.NSEC3)


class Roadblock(DatagramProtocol):
    """
    A recursive resolver of the hierarchy's data over UDP, spoiling its answers as C{kind}
    says (see the module docstring).

    @ivar queries: how many queries it received.
    """

    def __init__(self, hierarchy: Hierarchy, kind: str) -> None:
        assert kind in KINDS, kind
        self.responder = responderForZones(hierarchy.zones.values())
        self.kind = kind
        self.queries = 0

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.queries += 1
        query = dns.message.from_wire(data)
        qtype = query.question[0].rdtype
        response: dns.message.Message | None
        if self.kind == "dropDS" and qtype == dns.rdatatype.DS:
            return
        refused = {"refuseDS": dns.rdatatype.DS, "refuseDNSKEY": dns.rdatatype.DNSKEY}
        if refused.get(self.kind) == qtype:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.REFUSED)
        elif self.kind == "formerr" and query.edns >= 0:
            response = dns.message.make_response(query)
            response.use_edns(False)
            response.set_rcode(dns.rcode.FORMERR)
        elif self.kind == "truncate":
            response = dns.message.make_response(query)
            response.flags |= dns.flags.TC
        else:
            wire = self.responder.respondWire(data, tcp=True)
            if wire is None:
                return
            response = dns.message.from_wire(wire)
            response.flags |= dns.flags.RA
            if self.kind in ("strip", "noEDNS"):
                for section in (response.answer, response.authority, response.additional):
                    section[:] = [r for r in section if r.rdtype not in _STRIPPED]
            if self.kind == "noEDNS":
                response.use_edns(False)
        assert self.transport is not None
        self.transport.write(response.to_wire(max_size=65535), addr)


def startRoadblock(
    reactor: Any, hierarchy: Hierarchy, kind: str, interface: str = "127.0.0.1"
) -> tuple[Roadblock, IListeningPort]:
    """
    A L{Roadblock} of C{kind} listening over UDP on C{interface}, on a free port.
    """
    roadblock = Roadblock(hierarchy, kind)
    port = reactor.listenUDP(0, roadblock, interface=interface)
    return roadblock, port

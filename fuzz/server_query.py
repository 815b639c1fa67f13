"""
Fuzz the authoritative server's query handling: any bytes, over UDP or TCP, get no answer
or a well-formed one with the query's ID that fits the transport, and never an exception.

    python fuzz/server_query.py -runs=100000
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import dns.message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.server.service import responderForZones

from fuzz._fixed import fixedHierarchy

_HIERARCHY = fixedHierarchy()
_RESPONDER = responderForZones(_HIERARCHY.zones.values())


def seeds() -> list[bytes]:
    """
    Queries the server answers in every way: data, referral, NXDOMAIN, DNAME, meta-types.
    """
    out: list[bytes] = []
    for name, rdtype in [
        ("_443._tcp.www.example.test.", "TLSA"),
        ("nx.nsec3.test.", "A"),
        ("www.redirect.example.test.", "A"),
        ("www.unsigned.test.", "A"),
        ("host.wild.example.test.", "TXT"),
        ("example.test.", "ANY"),
        ("example.test.", "AXFR"),
        ("test.", "DS"),
    ]:
        for dnssec in (False, True):
            query = dns.message.make_query(name, rdtype, want_dnssec=dnssec, id=len(out))
            out.append(query.to_wire())
    return out


def testOneInput(data: bytes) -> str:
    tcp = bool(data[:1]) and data[0] & 1 == 1
    query = data[1:]
    answer = _RESPONDER.respondWire(query, tcp=tcp)
    if answer is None:
        assert len(query) < 12 or query[2] & 0x80, "an answerable query went unanswered"
        return "unanswered"
    assert answer[:2] == query[:2], "the answer's ID differs from the query's"
    assert len(answer) <= (65535 if tcp else 1232), len(answer)
    # A header at least; whatever follows parses (the server's own output).
    struct.unpack_from("!HHHHHH", answer)
    if len(answer) > 12:
        dns.message.from_wire(answer)
    return f"rcode-{answer[3] & 0xF}"


if __name__ == "__main__":
    main(testOneInput, [bytes([t]) + q for q in seeds() for t in (0, 1)])

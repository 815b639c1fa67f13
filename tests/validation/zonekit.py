"""
Small tools to build and sign RRsets for the validator's unit tests, and a querier that
answers from a fixed table of responses.
"""

from __future__ import annotations

import os
import struct

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from cryptography.hazmat.primitives.asymmetric import ed25519
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.RRSIG import RRSIG
from twisted.internet.defer import Deferred, fail, succeed

NOW = 1_800_000_000
DAY = 86400


def n(text: str) -> dns.name.Name:
    return dns.name.from_text(text)


class Key:
    """
    An Ed25519 zone key and what it signs with.
    """

    def __init__(self, flags: int = 257) -> None:
        self.private = ed25519.Ed25519PrivateKey.generate()
        self.dnskey: DNSKEY = dns.dnssec.make_dnskey(
            self.private.public_key(), dns.dnssec.Algorithm.ED25519, flags=flags
        )

    @property
    def tag(self) -> int:
        return dns.dnssec.key_id(self.dnskey)

    def sign(
        self,
        rrset: dns.rrset.RRset,
        signer: str | dns.name.Name,
        *,
        inception: int = NOW - DAY,
        expiration: int = NOW + 30 * DAY,
        labels: int | None = None,
    ) -> RRSIG:
        signerName = n(signer) if isinstance(signer, str) else signer
        rrsig = dns.dnssec.sign(
            rrset,
            self.private,
            signerName,
            self.dnskey,
            inception=inception,
            expiration=expiration,
        )
        if labels is not None:
            rrsig = rrsig.replace(labels=labels)  # type: ignore[assignment]
        return rrsig


def rrset(text: str) -> dns.rrset.RRset:
    """
    One RRset from master-file lines with absolute names.
    """
    lines = [line.split(None, 4) for line in text.strip().splitlines()]
    name, ttl, _, rdtype, _ = lines[0]
    return dns.rrset.from_text(name, int(ttl), "IN", rdtype, *[line[4] for line in lines])


def sigset(owner: dns.name.Name, sigs: list[RRSIG], ttl: int = 300) -> dns.rrset.RRset:
    out = dns.rrset.RRset(owner, dns.rdataclass.IN, dns.rdatatype.RRSIG, sigs[0].type_covered)
    for sig in sigs:
        out.add(sig, ttl)
    return out


def keyset(zone: str, keys: list[DNSKEY], ttl: int = 3600) -> dns.rrset.RRset:
    out = dns.rrset.RRset(n(zone), dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    for key in keys:
        out.add(key, ttl)
    return out


def collidingKey(tag: int, algorithm: int = 15, flags: int = 256) -> DNSKEY:
    """
    A DNSKEY whose key tag is C{tag}, with random key material: what a KeyTrap zone publishes.
    """
    # The end-around carry of the tag skips one value where the sum crosses 2^16: for some
    # random material the tag wanted is that value, and fresh material finds it.
    for _ in range(16):
        found = _withTag(tag, algorithm, flags, bytearray(os.urandom(32)))
        if found is not None:
            return found
    raise AssertionError("no collision found")


def _withTag(tag: int, algorithm: int, flags: int, material: bytearray) -> DNSKEY | None:
    """
    C{material} with its last two octets set so that the key's tag is C{tag}, or C{None}.
    """
    material[30:32] = b"\0\0"
    base = DNSKEY(dns.rdataclass.IN, dns.rdatatype.DNSKEY, flags, 3, algorithm, bytes(material))
    wire = base.to_digestable()
    total = 0
    for i, byte in enumerate(wire):
        total += byte if i & 1 else byte << 8
    # The last two octets sit at an even then an odd offset: they add x = hi << 8 | lo.
    for x in range(65536):
        value = total + x
        if (value + ((value >> 16) & 0xFFFF)) & 0xFFFF == tag:
            material[30:32] = struct.pack("!H", x)
            key = DNSKEY(
                dns.rdataclass.IN, dns.rdatatype.DNSKEY, flags, 3, algorithm, bytes(material)
            )
            assert dns.dnssec.key_id(key) == tag
            return key
    return None


class TableQuerier:
    """
    A querier answering from a table: (name, type) -> (rcode, answer RRsets, authority
    RRsets), or an exception to fail with. Anything else is answered REFUSED.
    """

    def __init__(self) -> None:
        self.table: dict[tuple[dns.name.Name, int], object] = {}
        self.queries: list[tuple[dns.name.Name, int, dict[str, bool]]] = []
        self.ad = False

    def add(
        self,
        name: str,
        rdtype: str,
        answer: tuple[dns.rrset.RRset, ...] = (),
        authority: tuple[dns.rrset.RRset, ...] = (),
        rcode: int = dns.rcode.NOERROR,
    ) -> None:
        self.table[(n(name), dns.rdatatype.from_text(rdtype))] = (rcode, answer, authority)

    def fail(self, name: str, rdtype: str, error: Exception) -> None:
        self.table[(n(name), dns.rdatatype.from_text(rdtype))] = error

    def query(self, name, rdtype, rdclass=dns.rdataclass.IN, **flags) -> Deferred:
        qname = name if isinstance(name, dns.name.Name) else n(name)
        qtype = dns.rdatatype.RdataType.make(rdtype)
        self.queries.append((qname, qtype, flags))
        entry = self.table.get((qname, qtype))
        query = dns.message.make_query(qname, qtype, want_dnssec=True)
        response = dns.message.make_response(query)
        if isinstance(entry, Exception):
            return fail(entry)
        if entry is None:
            response.set_rcode(dns.rcode.REFUSED)
            return succeed(response)
        assert isinstance(entry, tuple)
        rcode, answer, authority = entry
        response.set_rcode(rcode)
        response.answer.extend(answer)
        response.authority.extend(authority)
        if self.ad:
            response.flags |= dns.flags.AD
        return succeed(response)

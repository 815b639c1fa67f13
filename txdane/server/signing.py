"""
Signing a zone at load time: DNSKEY, RRSIGs and an NSEC or NSEC3 chain.

dnspython signs single RRsets and can build an NSEC chain, but it cannot build NSEC3 (RFC 5155)
and does not treat zone cuts the way an authoritative server must (no signatures on delegation
NS sets or glue, DS signed on the parent side). This module builds both chains itself (with
L{txdane.server.nsecchain}) and uses dnspython only for the signatures.

The input zone is never modified: L{signZone} returns a new zone, with absolute owner names,
holding the original data plus the DNSSEC records.
"""

from __future__ import annotations

import functools
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dns.dnssec
import dns.name
import dns.rdata
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rdtypes.ANY.DS
import dns.rdtypes.ANY.RRSIG
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from txdane.errors import TxdaneError
from txdane.server.nsecchain import (
    NSEC3Options,
    _addMade,
    _addNSEC3Chain,
    _addNSECChain,
    _zoneShape,
    canonicalKey,
    nsec3BytesToLabel,
    nsec3Label,
    nsec3LabelToBytes,
    zoneShape,
)
from txdane.wireread import KnownWire

__all__ = [
    "KSK_FLAGS",
    "SIGNING_ALGORITHMS",
    "ZSK_FLAGS",
    "NSEC3Options",
    "SigningError",
    "SigningKey",
    "SigningOptions",
    "absoluteZone",
    "canonicalKey",
    "makeRRSIG",
    "nsec3BytesToLabel",
    "nsec3Label",
    "nsec3LabelToBytes",
    "signZone",
    "zoneShape",
]

#: Algorithms L{SigningKey.generate} can make keys for (RFC 8624: sign with these, never SHA-1).
SIGNING_ALGORITHMS: dict[str, int] = {
    "ECDSAP256SHA256": 13,
    "ED25519": 15,
    "RSASHA256": 8,
}

#: DNSKEY flags of a key-signing (or combined) key: ZONE + SEP.
KSK_FLAGS = 257
#: DNSKEY flags of a zone-signing key: ZONE only.
ZSK_FLAGS = 256

#: Types that signing removes from an input zone before building its own.
_DNSSEC_TYPES = frozenset(
    {
        dns.rdatatype.RRSIG,
        dns.rdatatype.NSEC,
        dns.rdatatype.NSEC3,
        dns.rdatatype.NSEC3PARAM,
    }
)


class SigningError(TxdaneError):
    """
    A zone could not be signed (no SOA, a key of an unsupported algorithm ...).

    @ivar message: why, one line.
    """

    message: str
    template = "{message}"


@dataclass(frozen=True)
class SigningKey:
    """
    A private key and its DNSKEY record.

    @ivar privateKey: a C{cryptography} private key (EC P-256, Ed25519 or RSA).
    @ivar dnskey: the matching DNSKEY rdata (flags 257 for a KSK or combined key, 256 for a ZSK).
    """

    privateKey: Any
    dnskey: dns.rdtypes.ANY.DNSKEY.DNSKEY

    @classmethod
    def generate(
        cls, algorithm: str | int = "ECDSAP256SHA256", flags: int = KSK_FLAGS
    ) -> SigningKey:
        """
        Make a new key of C{algorithm} (a name or number of L{SIGNING_ALGORITHMS}).
        """
        number = _algorithmNumber(algorithm)
        key: Any
        if number == 13:
            key = ec.generate_private_key(ec.SECP256R1())
        elif number == 15:
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return cls.fromPrivateKey(key, number, flags)

    @classmethod
    def fromPrivateKey(cls, privateKey: Any, algorithm: int, flags: int = KSK_FLAGS) -> SigningKey:
        """
        Wrap an existing C{cryptography} private key.
        """
        dnskey = dns.dnssec.make_dnskey(privateKey.public_key(), algorithm, flags)
        return cls(privateKey, dnskey)

    @functools.cached_property
    def keyTag(self) -> int:
        """
        The key tag (RFC 4034 appendix B).
        """
        return dns.dnssec.key_id(self.dnskey)

    @property
    def isKeySigningKey(self) -> bool:
        """
        Whether the key has the SEP flag (signs the DNSKEY RRset, is pointed to by the DS).
        """
        return bool(self.dnskey.flags & 1)

    def ds(self, owner: dns.name.Name | str, digest: str = "SHA256") -> dns.rdtypes.ANY.DS.DS:
        """
        The DS record the parent of zone C{owner} publishes for this key.
        """
        return dns.dnssec.make_ds(owner, self.dnskey, digest)


def _algorithmNumber(algorithm: str | int) -> int:
    if isinstance(algorithm, int):
        number = algorithm
    else:
        text = algorithm.upper().replace("-", "")
        number = SIGNING_ALGORITHMS.get(text, -1)
        if number < 0 and text.isdigit():
            number = int(text)
    if number not in SIGNING_ALGORITHMS.values():
        names = ", ".join(SIGNING_ALGORITHMS)
        raise SigningError(f"cannot sign with algorithm {algorithm!r}: use one of {names}")
    return number


@dataclass(frozen=True)
class SigningOptions:
    """
    Everything about signing a zone apart from its keys.

    @ivar inception: signature inception, seconds since the epoch.
    @ivar expiration: signature expiration, seconds since the epoch.
    @ivar nsec3: build NSEC3 with these options instead of NSEC.
    @ivar dnskeyTTL: TTL of the DNSKEY RRset (default: the SOA's TTL).
    """

    inception: int
    expiration: int
    nsec3: NSEC3Options | None = None
    dnskeyTTL: int | None = None


def _absoluteRdata(rdata: dns.rdata.Rdata, origin: dns.name.Name) -> dns.rdata.Rdata:
    # Round trip through text with an origin: every embedded name comes out absolute.
    return dns.rdata.from_text(
        rdata.rdclass,
        rdata.rdtype,
        rdata.to_text(origin=origin, relativize=False),
        origin=origin,
        relativize=False,
    )


def absoluteZone(zone: dns.zone.Zone, *, stripDNSSEC: bool = False) -> dns.zone.Zone:
    """
    A copy of C{zone} with absolute owner and target names; with C{stripDNSSEC}, without the
    signatures and NSEC/NSEC3 records it may hold (what re-signing starts from).
    """
    origin = zone.origin
    assert origin is not None
    out = dns.zone.Zone(origin, zone.rdclass, relativize=False)
    nodes = out.nodes
    for name, node in zone.nodes.items():
        copies = []
        for rdataset in node.rdatasets:
            if stripDNSSEC and (
                rdataset.rdtype in _DNSSEC_TYPES or rdataset.covers in _DNSSEC_TYPES
            ):
                continue
            if zone.relativize:
                copy = dns.rdataset.Rdataset(rdataset.rdclass, rdataset.rdtype, rdataset.covers)
                copy.update_ttl(rdataset.ttl)
                for rdata in rdataset:
                    copy.add(_absoluteRdata(rdata, origin))
            else:
                # Names inside the rdata of a zone read without relativizing are absolute.
                copy = rdataset.copy()
            copies.append(copy)
        if not copies:
            continue
        # The names are the zone's own (below its origin, which the copy shares): the node
        # is made here rather than by find_node, which checks each name again.
        fresh = out.node_factory()
        if len(copies) == 1:
            fresh.rdatasets.append(copies[0])
        else:
            for copy in copies:
                fresh.replace_rdataset(copy)  # dnspython's rules for CNAME and other data
        nodes[name.derelativize(origin)] = fresh
    return out


def _minimumTTL(zone: dns.zone.Zone) -> int:
    soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)  # type: ignore[arg-type]
    if soa is None:
        raise SigningError(f"zone {zone.origin} has no SOA record at its apex")
    return int(min(soa.ttl, soa[0].minimum))


class _SignedRRSIG(KnownWire, dns.rdtypes.ANY.RRSIG.RRSIG):
    __slots__ = ("_wire",)

    @classmethod
    def made(cls, fields: tuple[Any, ...], wire: bytes) -> _SignedRRSIG:
        """
        An RRSIG of C{fields} (in the order of L{_RRSIG_FIELDS}, each already of the type
        dnspython's constructor would make of it: the signer only ever passes values it built
        itself), without the constructor's checks, which cost as much as the signing around
        them.
        """
        rrsig = object.__new__(cls)
        for setter, value in zip(_RRSIG_SETTERS, fields):
            setter(rrsig, value)
        _setWire(rrsig, wire)
        return rrsig


#: The slots of an RRSIG, in the order L{_SignedRRSIG.made} takes them.
_RRSIG_FIELDS = (
    "rdclass",
    "rdtype",
    "rdcomment",
    "type_covered",
    "algorithm",
    "labels",
    "original_ttl",
    "expiration",
    "inception",
    "key_tag",
    "signer",
    "signature",
)
#: Each slot's own setter, in that order: what C{object.__setattr__} finds by name, found once.
_RRSIG_SETTERS = tuple(getattr(_SignedRRSIG, slot).__set__ for slot in _RRSIG_FIELDS)
_setWire = _SignedRRSIG._wire.__set__  # type: ignore[attr-defined]


def signZone(
    zone: dns.zone.Zone,
    keys: Sequence[SigningKey],
    options: SigningOptions,
    previous: dns.zone.Zone | None = None,
    reuseAfter: int = 0,
) -> dns.zone.Zone:
    """
    Return a signed copy of C{zone}: its DNSKEY RRset, RRSIGs over every authoritative RRset,
    and an NSEC chain (or NSEC3 chain plus NSEC3PARAM when C{options.nsec3} is set).

    When both key-signing and zone-signing keys are given, the key-signing keys sign only the
    DNSKEY RRset; otherwise every key signs everything.

    @param previous: an earlier signed version of the zone (absolute names). An RRset that
        it holds unchanged (same records, same TTL), NSEC and NSEC3 records included, keeps
        its signatures from there when each key has one expiring after C{reuseAfter}: after
        a small change only the RRsets that changed are signed anew.
    """
    if not keys:
        raise SigningError(f"no keys to sign zone {zone.origin}")
    origin = zone.origin
    assert origin is not None
    out = absoluteZone(zone, stripDNSSEC=True)
    negativeTTL = _minimumTTL(out)
    soaTTL = out.get_rdataset(origin, dns.rdatatype.SOA).ttl  # type: ignore[union-attr]
    dnskeys = out.find_rdataset(origin, dns.rdatatype.DNSKEY, create=True)
    dnskeys.update_ttl(options.dnskeyTTL if options.dnskeyTTL is not None else soaTTL)
    for key in keys:
        dnskeys.add(key.dnskey)

    authoritative, nodes, cuts = _zoneShape(out)
    toSign = list(zip(authoritative, nodes))
    if options.nsec3 is None:
        _addNSECChain(out, authoritative, nodes, cuts, negativeTTL)
    else:
        owners = _addNSEC3Chain(out, authoritative, cuts, negativeTTL, options.nsec3)
        toSign += [(owner, out.nodes[owner]) for owner in owners]

    ksks = [k for k in keys if k.isKeySigningKey]
    zsks = [k for k in keys if not k.isKeySigningKey]
    if not ksks or not zsks:
        ksks = zsks = list(keys)
    signerWire = _canonicalWire(origin)
    for name, node in toSign:
        ownerWire: bytes | None = None
        isCut = bool(cuts) and name in cuts
        for rdataset in list(node.rdatasets):
            if rdataset.rdtype == dns.rdatatype.RRSIG:
                continue
            if isCut and rdataset.rdtype not in (dns.rdatatype.DS, dns.rdatatype.NSEC):
                continue
            signers = ksks if rdataset.rdtype == dns.rdatatype.DNSKEY else zsks
            if previous is not None and _reuseSignatures(
                out, previous, name, rdataset, signers, origin, reuseAfter
            ):
                continue
            if ownerWire is None:
                ownerWire = _canonicalWire(name)
            # A new RRSIG rdataset of the node (the copy holds none, and each type is signed
            # once): appended as such, without find_rdataset's search and checks.
            sigs = dns.rdataset.Rdataset(out.rdclass, dns.rdatatype.RRSIG, rdataset.rdtype)
            sigs.ttl = rdataset.ttl
            for key in signers:
                _addMade(
                    sigs,
                    makeRRSIG(
                        name,
                        rdataset,
                        key,
                        origin,
                        options.inception,
                        options.expiration,
                        ownerWire=ownerWire,
                        signerWire=signerWire,
                    ),
                )
            node.rdatasets.append(sigs)
    return out


def _sameRecords(old: dns.rdataset.Rdataset, new: dns.rdataset.Rdataset) -> bool:
    """
    Whether two rdatasets of one type hold the same records. Copies share their (immutable)
    rdata objects, so identity answers most cases without the cost of comparing wire forms.
    """
    held = {id(rdata) for rdata in old}
    if all(id(rdata) in held for rdata in new):
        return True
    if new.rdtype == dns.rdatatype.NSEC:
        # Rebuilt on every signing: compare the fields rather than the canonical wire form.
        return sorted((r.next.to_text(), r.windows) for r in old) == sorted(
            (r.next.to_text(), r.windows) for r in new
        )
    return old == new


def _reuseSignatures(
    zone: dns.zone.Zone,
    previous: dns.zone.Zone,
    name: dns.name.Name,
    rdataset: dns.rdataset.Rdataset,
    keys: Sequence[SigningKey],
    signer: dns.name.Name,
    reuseAfter: int,
) -> bool:
    """
    Copy the signatures of C{rdataset} from C{previous} into C{zone} if it holds the same
    RRset signed by each of C{keys} until after C{reuseAfter}; return whether it did.
    """
    old = previous.get_rdataset(name, rdataset.rdtype)
    if old is None or old.ttl != rdataset.ttl or len(old) != len(rdataset):
        return False
    if not _sameRecords(old, rdataset):
        return False
    sigs = previous.get_rdataset(name, dns.rdatatype.RRSIG, rdataset.rdtype)
    if sigs is None:
        return False
    kept = []
    for key in keys:
        algorithm, tag = key.dnskey.algorithm, key.keyTag
        found = [
            sig
            for sig in sigs
            if sig.key_tag == tag
            and sig.algorithm == algorithm
            and sig.signer == signer
            and sig.original_ttl == rdataset.ttl
            and sig.expiration > reuseAfter
        ]
        if not found:
            return False
        kept.append(found[0])
    target = zone.find_rdataset(name, dns.rdatatype.RRSIG, rdataset.rdtype, create=True)
    target.update_ttl(rdataset.ttl)
    for sig in kept:
        target.add(sig)
    return True


def makeRRSIG(
    owner: dns.name.Name,
    rdataset: dns.rdataset.Rdataset,
    key: SigningKey,
    signer: dns.name.Name,
    inception: int,
    expiration: int,
    *,
    ownerWire: bytes | None = None,
    signerWire: bytes | None = None,
) -> dns.rdtypes.ANY.RRSIG.RRSIG:
    """
    Sign the RRset C{owner}/C{rdataset} (absolute names) with C{key} for zone C{signer}.

    Builds the signed data of RFC 4034 section 3.1.8.1 directly: what C{dns.dnssec.sign}
    does, at a third of the cost, which matters when signing large zones.

    @param ownerWire: the canonical wire form of C{owner}, when the caller has it.
    @param signerWire: the canonical wire form of C{signer}, when the caller has it.
    """
    labels = len(owner) - 1 - (1 if owner.is_wild() else 0)
    algorithm = int(key.dnskey.algorithm)
    keyTag = key.keyTag
    ttl = rdataset.ttl
    rdtype = int(rdataset.rdtype)
    head = _RRSIG_HEAD.pack(rdtype, algorithm, labels, ttl, expiration, inception, keyTag)
    head += signerWire if signerWire is not None else _canonicalWire(signer)
    prefix = (ownerWire if ownerWire is not None else _canonicalWire(owner)) + _RR_HEAD.pack(
        rdtype, rdataset.rdclass, ttl
    )
    if len(rdataset) == 1:
        (rdata,) = rdataset
        wire = _digestable(rdata)
        data = head + prefix + _LENGTH.pack(len(wire)) + wire
    else:
        signed = bytearray(head)
        for wire in sorted([_digestable(rdata) for rdata in rdataset]):
            signed += prefix + _LENGTH.pack(len(wire)) + wire
        data = bytes(signed)
    signature = _rawSignature(key.privateKey, data)
    fields = (
        rdataset.rdclass,
        dns.rdatatype.RRSIG,
        None,
        rdataset.rdtype,
        key.dnskey.algorithm,
        labels,
        ttl,
        expiration,
        inception,
        keyTag,
        signer,
        signature,
    )
    return _SignedRRSIG.made(fields, head + signature)


def _digestable(rdata: dns.rdata.Rdata) -> bytes:
    """
    The canonical wire form of C{rdata}; for addresses, without dnspython's general
    machinery (the form is the address itself).
    """
    rdtype = rdata.rdtype
    if rdtype == dns.rdatatype.A:
        return socket.inet_pton(socket.AF_INET, rdata.address)  # type: ignore[attr-defined]
    if rdtype == dns.rdatatype.AAAA:
        return socket.inet_pton(socket.AF_INET6, rdata.address)  # type: ignore[attr-defined]
    return rdata.to_digestable()


def _canonicalWire(name: dns.name.Name) -> bytes:
    """
    The wire form of absolute C{name} in lower case (uncompressed, as signed data holds it).
    """
    return b"".join([bytes((len(label),)) + label.lower() for label in name.labels])


_RRSIG_HEAD = struct.Struct("!HBBIIIH")
_RR_HEAD = struct.Struct("!HHI")
_LENGTH = struct.Struct("!H")


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _rawSignature(privateKey: Any, data: bytes) -> bytes:
    """
    The signature field's content for C{data} (RFC 6605 r||s for ECDSA, RFC 8080, RFC 5702).
    """
    if isinstance(privateKey, ec.EllipticCurvePrivateKey):
        der = privateKey.sign(data, _ECDSA_SHA256)
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    if isinstance(privateKey, ed25519.Ed25519PrivateKey):
        return privateKey.sign(data)
    if isinstance(privateKey, rsa.RSAPrivateKey):
        return privateKey.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise SigningError(f"cannot sign with a {type(privateKey).__name__}")

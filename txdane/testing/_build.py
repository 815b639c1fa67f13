"""
Building the hierarchy: its zones from their specifications, with fresh keys, signed,
delegated and broken as each wants.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable, Mapping

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

from txdane.names import nameFromText
from txdane.server.signing import (
    KSK_FLAGS,
    ZSK_FLAGS,
    SigningKey,
    SigningOptions,
    signZone,
)
from txdane.testing._hierarchy import Hierarchy
from txdane.testing._zones import (
    _DAY,
    _NS,
    _SPECS,
    _SSHFP,
    TLSA_RDATA,
    UNKNOWN_ALGORITHM,
    UNKNOWN_DIGEST,
    _soa,
)
from txdane.transport import MalformedTLSA, malformedTLSA


def separateNameServers(network: str = "127.53.1.0/24") -> dict[str, list[tuple[str, str]]]:
    """
    A name server of its own for every zone of the hierarchy, for L{buildHierarchy}'s
    C{nameServers}: C{a.root-servers.} for the root, C{ns1.}I{zone} for the others, each on
    the next address of C{network} (the first host address for the root). Their addresses
    are glue in the parent zones (inside the parent's bailiwick).
    """
    hosts = ipaddress.ip_network(network).hosts()
    plan: dict[str, list[tuple[str, str]]] = {}
    for spec in _SPECS:
        name = "a.root-servers." if spec.origin == "." else f"ns1.{spec.origin}"
        plan[spec.origin] = [(name, str(next(hosts)))]
    return plan


def buildHierarchy(
    *,
    now: int | None = None,
    extraRecords: Mapping[str, Iterable[str]] = {},
    validity: int = 30 * _DAY,
    nameServers: Mapping[str, Iterable[tuple[str, str]]] | None = None,
) -> Hierarchy:
    """
    Create the hierarchy with fresh keys.

    @param now: the time signatures are valid around (seconds since the epoch; default: now).
        Valid zones are signed from an hour before to C{validity} seconds after it.
    @param extraRecords: zone origin (text) -> master-file lines (relative or absolute owners)
        added to that zone before signing, e.g.
        C{{"example.test.": ["_25._tcp.mx 300 IN TLSA 3 1 1 ab..."]}}. A TLSA record whose
        data has the wrong length for its matching type is written in the generic form
        (C{_443._tcp.www 300 IN TLSA \\# 34 030101ab...}, 31 bytes of digest).
    @param validity: how long after C{now} the signatures of valid zones expire (default 30
        days; shorter for tests of expiry warnings).
    @param nameServers: zone origin (text) -> its name servers as (name, address) pairs, for
        every zone of the hierarchy (L{separateNameServers} makes such a plan), instead of
        C{ns1.test.} serving everything. Each zone's apex and its parent's delegation list
        those names; each address is a record of the zone holding its name, and glue in the
        delegating zone when the name lies inside that zone's bailiwick. Serve it with
        L{Hierarchy.serveEach}.
    """
    if now is None:
        now = int(time.time())
    extra = {nameFromText(k): list(v) for k, v in extraRecords.items()}
    unknown = set(extra) - {nameFromText(s.origin) for s in _SPECS}
    if unknown:
        raise ValueError(f"extraRecords for zones the hierarchy lacks: {sorted(map(str, unknown))}")
    servers = _parseNameServers(nameServers)
    keys: dict[dns.name.Name, tuple[SigningKey, ...]] = {}
    for spec in _SPECS:
        if spec.signed:
            origin = nameFromText(spec.origin)
            if spec.splitKeys:
                keys[origin] = (
                    SigningKey.generate(flags=KSK_FLAGS),
                    SigningKey.generate(flags=ZSK_FLAGS),
                )
            else:
                keys[origin] = (SigningKey.generate(flags=KSK_FLAGS),)

    zones: dict[dns.name.Name, dns.zone.Zone] = {}
    for spec in _SPECS:
        origin = nameFromText(spec.origin)
        lines = [f"$ORIGIN {origin}", "$TTL 300", _soa(spec.origin)]
        lines.append(spec.body.format(ns=_NS, tlsa=TLSA_RDATA, sshfp=_SSHFP))
        lines += _delegationRecords(origin, keys)
        zoneLines, malformed = _splitMalformedTLSA(extra.get(origin, []))
        lines += zoneLines
        zone = dns.zone.from_text("\n".join(lines) + "\n", origin, relativize=False)
        if servers:
            _placeNameServers(zone, servers)
        for owner, ttl, rdata in malformed:
            name = nameFromText(owner, origin)
            zone.find_rdataset(name, dns.rdatatype.TLSA, create=True).add(rdata, ttl)
        if spec.signed:
            inception, expiration = {
                "valid": (now - 3600, now + validity),
                "expired": (now - 37 * _DAY, now - 7 * _DAY),
                "future": (now + 7 * _DAY, now + 37 * _DAY),
            }[spec.timing]
            zone = signZone(
                zone, keys[origin], SigningOptions(inception, expiration, nsec3=spec.nsec3)
            )
        zones[origin] = zone

    _breakExampleZone(zones, keys, now)
    rootKSK = keys[dns.name.root][0]
    anchor = dns.rrset.from_rdata(dns.name.root, 3600, rootKSK.ds(dns.name.root))
    return Hierarchy(zones=zones, trustAnchor=anchor, keys=keys, now=now, nameServers=servers)


def _parseNameServers(
    nameServers: Mapping[str, Iterable[tuple[str, str]]] | None,
) -> dict[dns.name.Name, tuple[tuple[dns.name.Name, str], ...]]:
    if nameServers is None:
        return {}
    parsed = {
        nameFromText(origin): tuple(
            (nameFromText(name), str(ipaddress.ip_address(address))) for name, address in servers
        )
        for origin, servers in nameServers.items()
    }
    origins = {nameFromText(s.origin) for s in _SPECS}
    if set(parsed) != origins or not all(parsed.values()):
        raise ValueError("nameServers must give servers for every zone of the hierarchy")
    return parsed


def _placeNameServers(
    zone: dns.zone.Zone, servers: Mapping[dns.name.Name, tuple[tuple[dns.name.Name, str], ...]]
) -> None:
    """
    Replace the C{ns1.test.} name server of C{zone} and of its children's delegations by the
    name servers of C{servers}, with their addresses where C{zone} holds or glues them.
    """
    origin = zone.origin
    assert origin is not None
    default = nameFromText(_NS)
    if default.is_subdomain(origin):
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            zone.delete_rdataset(default, rdtype)
    for owner, nameServers in servers.items():
        if owner != origin and (owner == dns.name.root or owner.parent() != origin):
            continue
        ns = zone.find_rdataset(owner, dns.rdatatype.NS, create=True)
        ttl = ns.ttl
        ns.clear()
        for name, _ in nameServers:
            ns.add(dns.rdata.from_text("IN", "NS", name.to_text()), ttl)
    # Every address under the zone: its data, or glue where the name lies below a cut.
    for nameServers in servers.values():
        for name, address in nameServers:
            if not name.is_subdomain(origin):
                continue
            rdtype = dns.rdatatype.AAAA if ":" in address else dns.rdatatype.A
            rdata = dns.rdata.from_text("IN", rdtype, address)
            zone.find_rdataset(name, rdtype, create=True).add(rdata, 3600)


def _splitMalformedTLSA(
    lines: Iterable[str],
) -> tuple[list[str], list[tuple[str, int, MalformedTLSA]]]:
    """
    Separate the TLSA lines written in the generic form (C{OWNER TTL IN TLSA \\# LEN HEX})
    whose data has the wrong length for its matching type, which a zone file cannot hold:
    they are added to the zone as L{MalformedTLSA} records, and signed like the others.
    """
    kept: list[str] = []
    malformed: list[tuple[str, int, MalformedTLSA]] = []
    for line in lines:
        words = line.split()
        at = words.index("TLSA") if "TLSA" in words else -1
        if at > 0 and words[at + 1 : at + 2] == ["\\#"]:
            rdata = malformedTLSA(dns.rdataclass.IN, bytes.fromhex("".join(words[at + 3 :])))
            if rdata is not None:
                ttl = int(words[1]) if words[1].isdigit() else 300
                malformed.append((words[0], ttl, rdata))
                continue
        kept.append(line)
    return kept, malformed


def _delegationRecords(
    parent: dns.name.Name, keys: Mapping[dns.name.Name, tuple[SigningKey, ...]]
) -> list[str]:
    """
    NS (and DS, as each child's spec wants it) records for the children of C{parent}.
    """
    lines = []
    for spec in _SPECS:
        child = nameFromText(spec.origin)
        if child == dns.name.root or child.parent() != parent:
            continue
        lines.append(f"{child} 3600 IN NS {_NS}")
        if not spec.signed or spec.ds == "none":
            continue
        ksk = keys[child][0]
        good = ksk.ds(child)
        if spec.ds == "good":
            lines.append(f"{child} 3600 IN DS {good.to_text()}")
        elif spec.ds == "bad":
            wrong = bytes(b ^ 0xFF for b in good.digest).hex()
            lines.append(f"{child} 3600 IN DS {(good.key_tag + 1) % 65536} 13 2 {wrong}")
        elif spec.ds == "unknownalg":
            digest = good.digest.hex()
            lines.append(f"{child} 3600 IN DS {good.key_tag} {UNKNOWN_ALGORITHM} 2 {digest}")
        elif spec.ds == "unknowndigest":
            digest = good.digest.hex()
            lines.append(f"{child} 3600 IN DS {good.key_tag} 13 {UNKNOWN_DIGEST} {digest}")
    return lines


def _breakExampleZone(
    zones: dict[dns.name.Name, dns.zone.Zone],
    keys: Mapping[dns.name.Name, tuple[SigningKey, ...]],
    now: int,
) -> None:
    """
    Strip the signature of C{nosig.example.test.} and re-sign C{wrongsigner.example.test.} with
    the key of C{test.} (signer C{test.}).
    """
    import dns.dnssec

    zone = zones[nameFromText("example.test.")]
    nosig = nameFromText("nosig.example.test.")
    zone.delete_rdataset(nosig, dns.rdatatype.RRSIG, dns.rdatatype.A)
    wrong = nameFromText("wrongsigner.example.test.")
    rdataset = zone.get_rdataset(wrong, dns.rdatatype.A)
    assert rdataset is not None
    testKey = keys[nameFromText("test.")][0]
    rrsig = dns.dnssec.sign(
        (wrong, rdataset),
        testKey.privateKey,
        nameFromText("test."),
        testKey.dnskey,
        inception=now - 3600,
        expiration=now + 30 * _DAY,
    )
    sigs = zone.find_rdataset(wrong, dns.rdatatype.RRSIG, dns.rdatatype.A, create=True)
    sigs.clear()
    sigs.add(rrsig, rdataset.ttl)


def _resign(
    hierarchy: Hierarchy, owner: str, rdtypes: Iterable[str], inception: int, expiration: int
) -> None:
    """
    Sign again, for another validity period, the RRsets C{rdtypes} of C{owner} (absolute), with
    the key its zone signs data with.
    """
    import dns.dnssec

    name = nameFromText(owner)
    origin = max((o for o in hierarchy.zones if name.is_subdomain(o)), key=len)
    zone = hierarchy.zones[origin]
    key = hierarchy.keys[origin][-1]
    for text in rdtypes:
        rdtype = dns.rdatatype.from_text(text)
        rdataset = zone.get_rdataset(name, rdtype)
        assert rdataset is not None, (owner, text)
        rrsig = dns.dnssec.sign(
            (name, rdataset),
            key.privateKey,
            origin,
            key.dnskey,
            inception=inception,
            expiration=expiration,
        )
        sigs = zone.find_rdataset(name, dns.rdatatype.RRSIG, rdtype, create=True)
        sigs.clear()
        sigs.add(rrsig, rdataset.ttl)

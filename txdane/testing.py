"""
A signed DNS hierarchy on loopback, for tests and demonstrations.

L{buildHierarchy} creates, in memory and in well under a second, a private root zone, the TLD
C{test.} and leaf zones below it: correctly signed ones (NSEC and NSEC3) holding TLSA, SRV,
SSHFP, MX, wildcard, CNAME and DNAME records, and deliberately broken ones (expired and
not-yet-valid signatures, a DS matching no key, an unsigned child, DS records of an unknown
algorithm or digest, too many NSEC3 iterations). The private root's DS is the trust anchor.
L{Hierarchy.serve} starts an authoritative server for all of it on a loopback port.

L{issue} makes certificates (self-signed, CAs, leaves, client certificates) for TLS servers
and clients in tests and demonstrations.

L{CASES} (and its short form L{EXPECTED}) lists the names a validator should be asked about
and the verdict it must reach, so the validator's tests and the cross-checks against Unbound
and delv share one table.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dns.name
import dns.node
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.DS
import dns.rrset
import dns.zone
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet.ssl import PrivateCertificate
from twisted.python.failure import Failure

from txdane.names import nameFromText
from txdane.resolvconf import NameServer
from txdane.server.signing import (
    KSK_FLAGS,
    ZSK_FLAGS,
    NSEC3Options,
    SigningKey,
    SigningOptions,
    makeRRSIG,
    signZone,
)
from txdane.status import Status
from txdane.transport import MalformedTLSA, malformedTLSA

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorTCP, IReactorUDP

    from txdane.server.service import RunningServer

__all__ = [
    "CASES",
    "EXPECTED",
    "LAB_SERVERS",
    "NSEC3_HIGH_ITERATIONS",
    "REFUSED",
    "VERIFIED",
    "Case",
    "Hierarchy",
    "Issued",
    "Lab",
    "LabService",
    "buildHierarchy",
    "issue",
    "revokedKey",
    "selfSignedCertificate",
    "separateNameServers",
    "startLab",
]

#: The NSEC3 iteration count of C{iterations.test.}: above every validator's limit
#: (Unbound 150, BIND 50, Knot and PowerDNS 50).
NSEC3_HIGH_ITERATIONS = 200
#: An algorithm number no validator implements (unassigned in the IANA registry).
UNKNOWN_ALGORITHM = 200
#: A DS digest type no validator implements (unassigned).
UNKNOWN_DIGEST = 200

_DAY = 86400
_REVOKE = 0x0080

#: A fixed TLSA record (DANE-EE, SPKI, SHA2-256) served at C{_443._tcp.www} of the leaf zones.
TLSA_RDATA = "3 1 1 8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1"


@dataclass(frozen=True)
class Case:
    """
    One question to ask a validator about the hierarchy, and the answer it must reach.

    @ivar name: the query name (absolute, text).
    @ivar rdtype: the query type (text, e.g. C{"TLSA"}).
    @ivar status: the verdict a correct validator reaches.
    @ivar rcode: the response code the server gives (C{"NOERROR"} or C{"NXDOMAIN"}).
    @ivar why: what the case exercises.
    @ivar peerStatus: where Unbound and delv knowingly disagree with C{status}, their verdict.
    """

    name: str
    rdtype: str
    status: Status
    rcode: str = "NOERROR"
    why: str = ""
    peerStatus: Status | None = None


_S, _I, _B = Status.SECURE, Status.INSECURE, Status.BOGUS

#: Every case, in the order of the documentation's table.
CASES: tuple[Case, ...] = (
    Case("www.example.test.", "A", _S, why="signed A (NSEC zone)"),
    Case("www.example.test.", "AAAA", _S, why="signed AAAA"),
    Case("_443._tcp.www.example.test.", "TLSA", _S, why="signed TLSA"),
    Case("example.test.", "MX", _S, why="signed MX"),
    Case("_xmpp-client._tcp.example.test.", "SRV", _S, why="signed SRV"),
    Case("ssh.example.test.", "SSHFP", _S, why="signed SSHFP"),
    Case("host.wild.example.test.", "A", _S, why="wildcard answer with NSEC proof"),
    Case("alias.example.test.", "A", _S, why="CNAME chain alias -> www"),
    Case("www.redirect.example.test.", "A", _S, why="DNAME redirect.example.test. -> nsec3.test."),
    Case("nx.example.test.", "A", _S, "NXDOMAIN", "NXDOMAIN with NSEC proofs"),
    Case("nodata.example.test.", "TXT", _S, why="NODATA with NSEC proof"),
    Case("nosig.example.test.", "A", _B, why="RRSIG stripped"),
    # RFC 4035 s5.3.1: the signer must be the zone holding the RRset. Unbound 1.17 and delv
    # 9.18 accept any ancestor whose chain validates, so they call this secure.
    Case(
        "wrongsigner.example.test.",
        "A",
        _B,
        why="signed by test.'s key, signer test. (RFC 4035 s5.3.1)",
        peerStatus=_S,
    ),
    Case("tounsigned.example.test.", "A", _I, why="CNAME into the unsigned zone"),
    Case("www.nsec3.test.", "A", _S, why="signed A (NSEC3 zone)"),
    Case("_443._tcp.www.nsec3.test.", "TLSA", _S, why="signed TLSA (NSEC3 zone)"),
    Case("host.wild.nsec3.test.", "A", _S, why="wildcard answer with NSEC3 proof"),
    Case("alias.nsec3.test.", "A", _S, why="CNAME in an NSEC3 zone"),
    Case("nx.nsec3.test.", "A", _S, "NXDOMAIN", "NXDOMAIN with the closest encloser proof"),
    Case("nodata.nsec3.test.", "TXT", _S, why="NODATA with NSEC3 proof"),
    Case("www.optout.test.", "A", _S, why="signed A (NSEC3 opt-out zone)"),
    Case("www.insecure.optout.test.", "A", _I, why="unsigned delegation covered by opt-out"),
    Case("www.unsigned.test.", "A", _I, why="no DS in the parent"),
    Case("www.expired.test.", "A", _B, why="signatures expired a week ago"),
    Case("www.future.test.", "A", _B, why="signatures valid only from next week"),
    Case("www.badds.test.", "A", _B, why="the parent's DS matches no DNSKEY"),
    Case("www.unknownalg.test.", "A", _I, why="the only DS has an unknown algorithm"),
    Case("www.unknowndigest.test.", "A", _I, why="the only DS has an unknown digest type"),
    Case("www.iterations.test.", "A", _S, why="positive answer: no NSEC3 needed"),
    Case(
        "nx.iterations.test.",
        "A",
        _I,
        "NXDOMAIN",
        f"NSEC3 with {NSEC3_HIGH_ITERATIONS} iterations: over the limit",
    ),
)

#: Short form of L{CASES}: query name -> (query type, verdict); where a name appears twice in
#: L{CASES}, the first case wins.
EXPECTED: dict[str, tuple[str, Status]] = {}
for _case in CASES:
    EXPECTED.setdefault(_case.name, (_case.rdtype, _case.status))
del _case


_NS = "ns1.test."

_LEAF = """
@ 3600 IN NS {ns}
www 300 IN A 127.0.0.1
www 300 IN AAAA ::1
_443._tcp.www 300 IN TLSA {tlsa}
@ 300 IN MX 10 mx
mx 300 IN A 127.0.0.2
_xmpp-client._tcp 300 IN SRV 5 0 5222 www
ssh 300 IN A 127.0.0.3
ssh 300 IN SSHFP 4 2 {sshfp}
*.wild 300 IN A 127.0.0.5
*.wild 300 IN TXT "wildcard"
alias 300 IN CNAME www
alias2 300 IN CNAME alias
nodata 300 IN A 127.0.0.4
"""

_SSHFP = "0" * 64


def _soa(origin: str) -> str:
    contact = "hostmaster." + (origin if origin != "." else "")
    return f"@ 3600 IN SOA {_NS} {contact} 1 7200 3600 1209600 300"


@dataclass(frozen=True)
class _Spec:
    origin: str
    body: str
    nsec3: NSEC3Options | None = None
    signed: bool = True
    timing: str = "valid"  # "valid", "expired", "future"
    ds: str = "good"  # how the parent's DS looks: good, none, bad, unknownalg, unknowndigest
    splitKeys: bool = False


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        ".",
        f"@ 3600 IN NS {_NS}\nns1.test. 3600 IN A 127.0.0.1\nns1.test. 3600 IN AAAA ::1\n",
        splitKeys=True,
    ),
    _Spec("test.", "@ 3600 IN NS ns1\nns1 3600 IN A 127.0.0.1\nns1 3600 IN AAAA ::1\n"),
    _Spec(
        "example.test.",
        _LEAF
        + "redirect 300 IN DNAME nsec3.test.\n"
        + "nosig 300 IN A 127.0.0.6\n"
        + "wrongsigner 300 IN A 127.0.0.7\n"
        + "tounsigned 300 IN CNAME www.unsigned.test.\n",
    ),
    _Spec("nsec3.test.", _LEAF, nsec3=NSEC3Options()),
    _Spec(
        "optout.test.",
        "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n_443._tcp.www 300 IN TLSA {tlsa}\n"
        "insecure 3600 IN NS {ns}\n",
        nsec3=NSEC3Options(optOut=True),
    ),
    _Spec("insecure.optout.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", signed=False),
    _Spec("unsigned.test.", _LEAF, signed=False, ds="none"),
    _Spec("expired.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", timing="expired"),
    _Spec("future.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", timing="future"),
    _Spec("badds.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", ds="bad"),
    _Spec("unknownalg.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", ds="unknownalg"),
    _Spec("unknowndigest.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", ds="unknowndigest"),
    _Spec(
        "iterations.test.",
        "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n",
        nsec3=NSEC3Options(iterations=NSEC3_HIGH_ITERATIONS),
    ),
)


@dataclass(frozen=True)
class Hierarchy:
    """
    A signed DNS hierarchy under a private root.

    @ivar zones: every zone, as served (signed where applicable), by origin.
    @ivar trustAnchor: the DS RRset of the private root's key-signing key.
    @ivar keys: the signing keys of each signed zone, by origin.
    @ivar now: the time the signatures' validity is centred on.
    @ivar nameServers: when the hierarchy was built with C{nameServers}, each zone's name
        servers (name, address) by origin; empty when one server answers for every zone.
    """

    zones: dict[dns.name.Name, dns.zone.Zone]
    trustAnchor: dns.rrset.RRset
    keys: dict[dns.name.Name, tuple[SigningKey, ...]] = field(default_factory=dict)
    now: int = 0
    nameServers: dict[dns.name.Name, tuple[tuple[dns.name.Name, str], ...]] = field(
        default_factory=dict
    )

    def trustAnchorText(self) -> str:
        """
        The trust anchor as master-file DS lines (what C{unbound-host -f} and Unbound's
        C{trust-anchor-file} read).
        """
        return "".join(
            f". {self.trustAnchor.ttl} IN DS {rdata.to_text()}\n" for rdata in self.trustAnchor
        )

    def delvAnchorText(self) -> str:
        """
        The trust anchor as a BIND C{trust-anchors} statement (for C{delv -a FILE}).
        """
        lines = []
        for rdata in self.trustAnchor:
            assert isinstance(rdata, dns.rdtypes.ANY.DS.DS)
            lines.append(
                f"    . static-ds {rdata.key_tag} {rdata.algorithm} {rdata.digest_type} "
                f'"{rdata.digest.hex().upper()}";\n'
            )
        return "trust-anchors {\n" + "".join(lines) + "};\n"

    def withDNSKEYs(
        self,
        zone: dns.name.Name | str,
        published: Iterable[SigningKey],
        signers: Iterable[SigningKey],
        *,
        validity: int = 30 * _DAY,
        ttl: int | None = None,
    ) -> Hierarchy:
        """
        A copy of the hierarchy whose C{zone} publishes exactly the keys C{published} as its
        DNSKEY RRset, signed by C{signers} only, for scripted key rollovers: a new KSK
        published, signing moved to it, the old one revoked (a L{SigningKey} whose DNSKEY has
        flags 0x0080; see L{revokedKey}), then removed. The zone's other records keep their
        signatures, so its ZSK must stay among C{published}.

        @param validity: how long after L{now} the new DNSKEY signatures expire.
        @param ttl: the TTL of the DNSKEY RRset; the zone's SOA TTL by default.
        """
        origin = nameFromText(zone) if isinstance(zone, str) else zone
        old = self.zones[origin]
        copy = dns.zone.Zone(origin, relativize=False)
        for name, node in old.nodes.items():
            copy.nodes[name] = node
        apex = dns.node.Node()
        for rdataset in old.nodes[origin].rdatasets:
            if rdataset.rdtype == dns.rdatatype.DNSKEY or (
                rdataset.rdtype == dns.rdatatype.RRSIG and rdataset.covers == dns.rdatatype.DNSKEY
            ):
                continue
            apex.rdatasets.append(rdataset)
        copy.nodes[origin] = apex
        if ttl is None:
            ttl = old.get_rdataset(origin, dns.rdatatype.SOA).ttl  # type: ignore[union-attr]
        dnskeys = copy.find_rdataset(origin, dns.rdatatype.DNSKEY, create=True)
        for key in published:
            dnskeys.add(key.dnskey, ttl)
        sigs = copy.find_rdataset(origin, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY, create=True)
        for key in signers:
            sigs.add(
                makeRRSIG(origin, dnskeys, key, origin, self.now - 3600, self.now + validity),
                ttl,
            )
        zones = dict(self.zones)
        zones[origin] = copy
        return replace(self, zones=zones)

    def serve(
        self, reactor: IReactorUDP | IReactorTCP, interface: str = "127.0.0.1", port: int = 0
    ) -> Deferred[RunningServer]:
        """
        Serve every zone over UDP and TCP on C{interface}, on one port for both (C{port} 0
        picks a free one).
        """
        from txdane.server.service import listenDNS, responderForZones

        return listenDNS(reactor, responderForZones(self.zones.values()), interface, port)

    def serveEach(
        self, reactor: IReactorUDP | IReactorTCP, port: int = 53
    ) -> Deferred[list[RunningServer]]:
        """
        Serve each zone from the addresses of its own name servers (the hierarchy must have
        been built with C{nameServers}), all on C{port} (0: one port free on every address):
        a server answers only for the zones it is a name server of, with referrals and glue
        for the rest, the way the DNS is served, so that a resolver can start from
        L{rootHints} and follow referrals.
        """
        from twisted.internet.defer import fail, succeed
        from twisted.internet.error import CannotListenError

        from txdane.server.service import listenDNS, responderForZones

        if not self.nameServers:
            raise ValueError("the hierarchy was built without nameServers")
        byAddress: dict[str, list[dns.zone.Zone]] = {}
        for origin, servers in self.nameServers.items():
            for _, address in servers:
                zones = byAddress.setdefault(address, [])
                if self.zones[origin] not in zones:
                    zones.append(self.zones[origin])
        error: Exception | None = None
        for _ in range(20 if port == 0 else 1):
            running: list[RunningServer] = []
            chosen = port
            try:
                for address, zones in byAddress.items():
                    outcome: list[RunningServer | Failure] = []
                    listenDNS(reactor, responderForZones(zones), address, chosen).addBoth(
                        outcome.append
                    )  # listenDNS fires at once
                    server = outcome[0]
                    if isinstance(server, Failure):
                        server.raiseException()
                    assert not isinstance(server, Failure)
                    running.append(server)
                    chosen = server.port
            except CannotListenError as e:
                error = e
                for server in running:
                    server.stop()
                continue
            return succeed(running)
        assert error is not None
        return fail(error)

    def rootHints(self, port: int = 53) -> tuple[NameServer, ...]:
        """
        The addresses of the root's name servers, on C{port}: where a resolver resolving
        from the root of this hierarchy starts (the hierarchy must have been built with
        C{nameServers}).
        """
        if not self.nameServers:
            raise ValueError("the hierarchy was built without nameServers")
        return tuple(NameServer(address, port) for _, address in self.nameServers[dns.name.root])


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


def revokedKey(key: SigningKey) -> SigningKey:
    """
    C{key} with the REVOKE bit (flags 0x0080) set, as a zone publishes a key it revokes
    (RFC 5011): its key tag is 128 more, and it signs the DNSKEY RRset to prove the
    revocation.
    """
    return SigningKey.fromPrivateKey(
        key.privateKey, key.dnskey.algorithm, key.dnskey.flags | _REVOKE
    )


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


@dataclass(frozen=True)
class Issued:
    """
    A certificate with its private key.

    @ivar cert: the certificate.
    @ivar key: its private key.
    """

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def keyPEM(self) -> bytes:
        """
        The private key, PEM (PKCS #8, unencrypted).
        """
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certPEM(self) -> bytes:
        """
        The certificate, PEM.
        """
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def privateCertificate(self) -> PrivateCertificate:
        """
        The certificate with its key as Twisted's C{PrivateCertificate}.
        """
        return PrivateCertificate.loadPEM(self.certPEM() + self.keyPEM())


def _subjectAltName(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def issue(
    commonName: str,
    issuer: Issued | None = None,
    *,
    ca: bool = False,
    names: tuple[str, ...] | None = None,
    notBefore: datetime.datetime | None = None,
    notAfter: datetime.datetime | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
    issuerName: x509.Name | None = None,
    clientAuth: bool = False,
    pathLength: int | None = None,
    certSign: bool = True,
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> Issued:
    """
    Make a certificate for C{commonName} (EC P-256: cheap), signed by C{issuer} (self-signed
    when C{None}), valid from a day ago for 30 days unless told otherwise.

    @param commonName: the subject's common name.
    @param issuer: the issuing certificate and key; C{None} for a self-signed certificate.
    @param ca: make a CA certificate (basic constraints and key usage for signing).
    @param names: the subject alternative names of a leaf (DNS names or IP addresses;
        default: the common name).
    @param notBefore: the start of validity.
    @param notAfter: the end of validity.
    @param key: the subject's key (default: a new one).
    @param issuerName: the issuer name to write (default: the issuer's subject).
    @param clientAuth: a client certificate (extended key usage clientAuth, not serverAuth).
    @param pathLength: a CA's path length constraint (default: none).
    @param certSign: whether a CA's key usage allows signing certificates.
    @param extensions: further extensions, with their criticality.
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commonName)])
    signer = issuer.key if issuer is not None else key
    if issuerName is None:
        issuerName = issuer.cert.subject if issuer is not None else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuerName)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(notBefore or now - datetime.timedelta(days=1))
        .not_valid_after(notAfter or now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=pathLength), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=certSign,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        altNames = names if names is not None else (commonName,)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_subjectAltName(n) for n in altNames]), critical=False
        )
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if clientAuth else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def selfSignedCertificate(name: str) -> tuple[x509.Certificate, PrivateCertificate]:
    """
    A fresh self-signed certificate for C{name} (see L{issue}), and the same as a Twisted
    C{PrivateCertificate} with its key: for TLS servers in tests and demonstrations.
    """
    issued = issue(name)
    return issued.cert, issued.privateCertificate()


#: What a lab service's client should see: C{connect()} fires (the server passed DANE or
#: PKIX), or fails with a L{TxdaneError<txdane.errors.TxdaneError>}.
VERIFIED = "verified"
REFUSED = "refused"


@dataclass(frozen=True)
class LabService:
    """
    One server of the lab (L{startLab}), under a name that shows one case.

    @ivar name: the case (C{"dane-ee"}, C{"dane-ta"}, C{"mismatch"} ...).
    @ivar host: the DNS name to connect to (for the C{mx} cases, the mail domain; for
        C{srv}, the domain whose SRV records name the server).
    @ivar port: the TCP port on 127.0.0.1.
    @ivar starttls: the STARTTLS protocol the server speaks (C{"smtp"}, C{"xmpp-client"}), or
        C{None} for TLS from the first byte.
    @ivar endpoint: a C{dane:} endpoint string that reaches it through the lab's resolver
        and trust anchor.
    @ivar expect: L{VERIFIED} (C{connect()} fires) or L{REFUSED} (C{connect()} fails with a
        L{TxdaneError<txdane.errors.TxdaneError>}).
    @ivar description: what the case shows, in one line.
    """

    name: str
    host: str
    port: int
    starttls: str | None
    endpoint: str
    expect: str
    description: str

    def toJSON(self) -> dict[str, object]:
        """
        The service as a JSON object (what C{txdane lab --json} prints).
        """
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "starttls": self.starttls,
            "endpoint": self.endpoint,
            "expect": self.expect,
            "description": self.description,
        }


@dataclass
class Lab:
    """
    A running lab: the signed hierarchy served on loopback and servers to try clients
    against (see L{startLab}).

    @ivar hierarchy: the hierarchy served.
    @ivar resolver: the DNS server's address, C{ADDR#PORT} (the C{resolver=} of the
        endpoint strings).
    @ivar trustAnchor: the path of the file holding the trust anchor (DS lines).
    @ivar labCA: the path of the PEM file of the lab's certificate authority, which issued
        the certificates of the PKIX cases (give it as C{trustRoots=} to trust them).
    @ivar directory: the directory holding those files: a temporary one, removed by L{stop},
        unless L{startLab} was given one.
    @ivar services: the servers, one per case.
    """

    hierarchy: Hierarchy
    resolver: str
    trustAnchor: str
    labCA: str
    directory: str
    services: tuple[LabService, ...]
    _stoppers: list[Callable[[], object]] = field(default_factory=list, repr=False)

    def service(self, name: str) -> LabService:
        """
        The service of case C{name}.

        @raise KeyError: for a name no service has.
        """
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def toJSON(self) -> dict[str, object]:
        """
        The lab as a JSON object: C{resolver}, C{trustAnchor}, C{labCA} and C{services}.
        """
        return {
            "resolver": self.resolver,
            "trustAnchor": self.trustAnchor,
            "labCA": self.labCA,
            "services": [s.toJSON() for s in self.services],
        }

    def stop(self) -> Deferred[None]:
        """
        Stop every server and remove the files the lab wrote (and the temporary directory it
        made for them); the C{Deferred} fires when all are stopped. Calling it again does
        nothing.
        """
        from twisted.internet.defer import DeferredList, maybeDeferred

        stoppers, self._stoppers = self._stoppers, []
        waits = [maybeDeferred(stop) for stop in stoppers]
        return DeferredList(waits, consumeErrors=True).addCallback(lambda _: None)


def _escape(value: str) -> str:
    """
    C{value} as an endpoint string's value: backslashes and colons escaped.
    """
    return value.replace("\\", "\\\\").replace(":", "\\:")


def startLab(
    reactor: object,
    *,
    dnsPort: int = 0,
    directory: str | None = None,
    servicePort: int = 0,
) -> Deferred[Lab]:
    """
    Start the lab on 127.0.0.1: the signed hierarchy (L{buildHierarchy}) served by txdane's
    DNS server, and one server per case, each under a name whose records show it:

      - C{dane-ee}: a DANE-EE (3 1 1) record matches the server's key: verified;
      - C{dane-ta}: a DANE-TA (2 0 1) record names the lab CA that issued the server's
        certificate (sent in the chain): verified;
      - C{mismatch}: the TLSA record names another key: refused;
      - C{expired-cert}: the certificate expired a month ago, and DANE-EE ignores validity
        dates (RFC 7671 section 5.1): verified;
      - C{pkix}: no TLSA record, so PKIX applies, and the certificate is issued by the lab
        CA, which no client trusts by default: refused;
      - C{pkix-trusted}: the same server, with the lab CA given as C{trustRoots}: verified;
      - C{unsigned}: a name in the unsigned zone C{unsigned.test.}, whose (wrong) TLSA
        record is therefore not used: PKIX with the lab CA as C{trustRoots}: verified;
      - C{bogus}: a name in C{badds.test.}, whose DS matches no key: refused;
      - C{expiring}: the C{dane-ee} server under C{expiring.example.test}, whose A and TLSA
        records are signed for only three more days: verified, and C{txdane check} warns
        (C{signature-expires-soon});
      - C{mx}: the MX host of C{mail.example.test}, an SMTP server (twisted.mail's ESMTP)
        with STARTTLS, matched by DANE-EE: verified;
      - C{mx-fallback}: the mail domain C{fallback.example.test}, whose first MX host
        (C{mxbad.example.test}, the same server) fails DANE (its TLSA record names another
        key) and whose second (C{smtp.example.test}) is verified: verified, by the second;
      - C{srv}: the C{xmpp-client} service of C{chat.example.test}, found by SRV records: an
        XMPP-style server that offers STARTTLS (RFC 6120 section 5.4), matched by DANE-EE:
        verified;
      - C{https}: a twisted.web server, C{web.example.test}, matched by DANE-EE, which answers
        C{GET /} with a line of text and XML-RPC calls of C{add} at C{/RPC2}: verified;
      - C{no-starttls}: an SMTP server, C{mxplain.example.test}, that does not offer
        STARTTLS, though a secure TLSA record requires TLS: refused.

    The trust anchor and the lab CA are written to files in a new temporary directory, which
    L{Lab.stop} removes, or in C{directory}, from which it removes only those files.

    @param reactor: a reactor providing TCP, UDP and time.
    @param dnsPort: the DNS server's port (0: any free one).
    @param directory: where to write the files (default: a new temporary directory).
    @param servicePort: the first of the servers' ports, which then use the L{LAB_SERVERS}
        ports from it on, in that order (C{dane-ee} on C{servicePort}, C{dane-ta} on the next
        ...); 0: any free ones.
    """
    from twisted.internet.defer import Deferred as _Deferred

    return _Deferred.fromCoroutine(_startLab(reactor, dnsPort, directory, servicePort))


#: The lab's servers, in the order of their ports when L{startLab} is given a C{servicePort}
#: (C{txdane lab --port N} puts the DNS server on N and these on N+1, N+2 ...). The cases not
#: named here share a server: C{pkix-trusted} C{pkix}'s, C{expiring} and C{bogus}
#: C{dane-ee}'s, C{mx-fallback} C{mx}'s.
LAB_SERVERS = (
    "dane-ee",
    "dane-ta",
    "mismatch",
    "expired-cert",
    "pkix",
    "unsigned",
    "mx",
    "srv",
    "https",
    "no-starttls",
)

_XMPP_STREAM = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='lab' from='chat.example.test' "
    b"version='1.0'>"
)
_XMPP_STARTTLS_FEATURE = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"

#: How long the signatures of the C{expiring} case have left when the lab starts.
_EXPIRING = 3 * _DAY + 3600


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


async def _startLab(reactor: Any, dnsPort: int, directory: str | None, servicePort: int) -> Lab:
    from twisted.internet.interfaces import IHandshakeListener
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.ssl import CertificateOptions
    from twisted.mail import smtp
    from twisted.protocols.tls import TLSMemoryBIOFactory
    from zope.interface import implementer

    from txdane.dane.tlsa import recordForCertificate

    @implementer(IHandshakeListener)
    class Greeter(Protocol):
        def handshakeCompleted(self) -> None:
            assert self.transport is not None
            self.transport.write(b"hello from the txdane lab\r\n")
            self.transport.loseConnection()

    @implementer(smtp.IMessage)
    class Discarded:
        def lineReceived(self, line: bytes) -> None:
            pass

        def eomReceived(self) -> Any:
            from twisted.internet.defer import succeed

            return succeed(b"accepted and discarded")

        def connectionLost(self) -> None:
            pass

    @implementer(smtp.IMessageDelivery)
    class Delivery:
        def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
            return b"Received: by the txdane lab"

        def validateFrom(self, helo: Any, origin: Any) -> Any:
            return origin

        def validateTo(self, user: Any) -> Any:
            return Discarded

    def serverOptions(leaf: Issued, *chain: Issued) -> CertificateOptions:
        return CertificateOptions(
            privateKey=leaf.key,  # type: ignore[arg-type]
            certificate=leaf.cert,  # type: ignore[arg-type]
            extraCertChain=[c.cert for c in chain],  # type: ignore[misc]
        )

    class XMPPServer(Protocol):
        """
        Enough of an XMPP server (RFC 6120) for STARTTLS: it answers each stream opening with
        its own and its features (STARTTLS, required, before TLS; none after), and
        C{<starttls/>} with C{<proceed/>} and the TLS handshake.
        """

        context: CertificateOptions
        secure = False

        def dataReceived(self, data: bytes) -> None:
            assert self.transport is not None
            if b"<stream:stream" in data:
                features = b"" if self.secure else _XMPP_STARTTLS_FEATURE
                self.transport.write(_XMPP_STREAM + b"<stream:features>" + features)
                self.transport.write(b"</stream:features>")
            elif b"<starttls" in data and not self.secure:
                self.secure = True
                self.transport.write(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
                self.transport.startTLS(self.context)  # type: ignore[attr-defined]

    ports: list[Any] = []

    def listen(factory: Any) -> int:
        number = servicePort + len(ports) if servicePort else 0
        port = reactor.listenTCP(number, factory, interface="127.0.0.1")
        ports.append(port)
        return int(port.getHost().port)

    def listenTLS(leaf: Issued, *chain: Issued) -> int:
        factory = TLSMemoryBIOFactory(
            serverOptions(leaf, *chain), False, Factory.forProtocol(Greeter)
        )
        return listen(factory)

    def listenHTTPS(leaf: Issued) -> int:
        from twisted.web import resource, server, xmlrpc

        class Page(resource.Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                request.setHeader(b"content-type", b"text/plain; charset=utf-8")
                return b"hello from the txdane lab\n"

        class Calculator(xmlrpc.XMLRPC):
            def xmlrpc_add(self, a: Any, b: Any) -> Any:
                return a + b

        root = resource.Resource()
        root.putChild(b"", Page())
        root.putChild(b"RPC2", Calculator())
        site = server.Site(root)
        site.noisy = False
        site.log = lambda request: None  # type: ignore[method-assign]  # no access log
        return listen(TLSMemoryBIOFactory(serverOptions(leaf), False, site))

    def listenXMPP(leaf: Issued) -> int:
        factory = Factory.forProtocol(XMPPServer)
        XMPPServer.context = serverOptions(leaf)
        return listen(factory)

    def listenSMTP(leaf: Issued | None, domain: bytes) -> int:
        """
        An SMTP server that offers STARTTLS with C{leaf}'s certificate, or none without one.
        """
        context = serverOptions(leaf) if leaf is not None else None

        class SMTPFactory(smtp.SMTPFactory):
            protocol = smtp.ESMTP

            def buildProtocol(self, addr: Any) -> Any:
                protocol = super().buildProtocol(addr)
                protocol.delivery = Delivery()
                protocol.ctx = context
                return protocol

        factory = SMTPFactory()
        factory.domain = domain
        return listen(factory)

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    labCA = issue("txdane lab CA", ca=True)
    eeLeaf = issue("dane-ee.example.test")
    taLeaf = issue("dane-ta.example.test", labCA)
    mismatchLeaf = issue("mismatch.example.test")
    expiredLeaf = issue(
        "expired-cert.example.test",
        notBefore=now - datetime.timedelta(days=60),
        notAfter=now - datetime.timedelta(days=30),
    )
    pkixLeaf = issue("pkix.example.test", labCA)
    unsignedLeaf = issue("lab.unsigned.test", labCA)
    smtpLeaf = issue("smtp.example.test")
    xmppLeaf = issue("xmpp.example.test")
    webLeaf = issue("web.example.test")
    try:
        eePort = listenTLS(eeLeaf)
        taPort = listenTLS(taLeaf, labCA)
        mismatchPort = listenTLS(mismatchLeaf)
        expiredPort = listenTLS(expiredLeaf)
        pkixPort = listenTLS(pkixLeaf)
        unsignedPort = listenTLS(unsignedLeaf)
        smtpPort = listenSMTP(smtpLeaf, b"smtp.example.test")
        xmppPort = listenXMPP(xmppLeaf)
        webPort = listenHTTPS(webLeaf)
        plainPort = listenSMTP(None, b"mxplain.example.test")
    except BaseException:
        for port in ports:
            port.stopListening()
        raise

    other = recordForCertificate(issue("someone-else.example.test").cert, 3, 1, 1)
    hierarchy = buildHierarchy(
        extraRecords={
            "example.test.": [
                "dane-ee 300 IN A 127.0.0.1",
                f"_{eePort}._tcp.dane-ee 300 IN TLSA {recordForCertificate(eeLeaf.cert, 3, 1, 1)}",
                "dane-ta 300 IN A 127.0.0.1",
                f"_{taPort}._tcp.dane-ta 300 IN TLSA {recordForCertificate(labCA.cert, 2, 0, 1)}",
                "mismatch 300 IN A 127.0.0.1",
                f"_{mismatchPort}._tcp.mismatch 300 IN TLSA {other}",
                "expired-cert 300 IN A 127.0.0.1",
                f"_{expiredPort}._tcp.expired-cert 300 IN TLSA "
                f"{recordForCertificate(expiredLeaf.cert, 3, 1, 1)}",
                "pkix 300 IN A 127.0.0.1",
                "mail 300 IN MX 10 smtp.example.test.",
                "smtp 300 IN A 127.0.0.1",
                f"_{smtpPort}._tcp.smtp 300 IN TLSA {recordForCertificate(smtpLeaf.cert, 3, 1, 1)}",
                "expiring 300 IN A 127.0.0.1",
                f"_{eePort}._tcp.expiring 300 IN TLSA {recordForCertificate(eeLeaf.cert, 3, 1, 1)}",
                "fallback 300 IN MX 10 mxbad.example.test.",
                "fallback 300 IN MX 20 smtp.example.test.",
                "mxbad 300 IN A 127.0.0.1",
                f"_{smtpPort}._tcp.mxbad 300 IN TLSA {other}",
                f"_xmpp-client._tcp.chat 300 IN SRV 10 0 {xmppPort} xmpp.example.test.",
                "xmpp 300 IN A 127.0.0.1",
                f"_{xmppPort}._tcp.xmpp 300 IN TLSA {recordForCertificate(xmppLeaf.cert, 3, 1, 1)}",
                "mxplain 300 IN A 127.0.0.1",
                f"_{plainPort}._tcp.mxplain 300 IN TLSA "
                f"{recordForCertificate(smtpLeaf.cert, 3, 1, 1)}",
                "web 300 IN A 127.0.0.1",
                f"_{webPort}._tcp.web 300 IN TLSA {recordForCertificate(webLeaf.cert, 3, 1, 1)}",
            ],
            "unsigned.test.": [
                "lab 300 IN A 127.0.0.1",
                f"_{unsignedPort}._tcp.lab 300 IN TLSA {other}",
            ],
            "badds.test.": [
                "lab 300 IN A 127.0.0.1",
                f"_{eePort}._tcp.lab 300 IN TLSA {recordForCertificate(eeLeaf.cert, 3, 1, 1)}",
            ],
        }
    )
    signedAt = int(time.time())
    _resign(hierarchy, "expiring.example.test.", ["A"], signedAt - 3600, signedAt + _EXPIRING)
    _resign(
        hierarchy,
        f"_{eePort}._tcp.expiring.example.test.",
        ["TLSA"],
        signedAt - 3600,
        signedAt + _EXPIRING,
    )
    try:
        dnsServer = await hierarchy.serve(reactor, "127.0.0.1", dnsPort)
    except BaseException:
        for port in ports:
            port.stopListening()
        raise

    folder = (
        Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="txdane-lab-"))
    )
    anchorFile = folder / "trust-anchor.txt"
    caFile = folder / "lab-ca.pem"

    def removeFiles() -> None:
        if directory is None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            anchorFile.unlink(missing_ok=True)
            caFile.unlink(missing_ok=True)

    try:
        anchorFile.write_text(hierarchy.trustAnchorText())
        caFile.write_bytes(labCA.certPEM())
    except BaseException:
        removeFiles()
        await dnsServer.stop()
        for port in ports:
            port.stopListening()
        raise
    resolver = f"127.0.0.1#{dnsServer.port}"
    common = f"resolver={_escape(resolver)}:trustAnchor={_escape(str(anchorFile))}"
    trusting = f"{common}:trustRoots={_escape(str(caFile))}"

    def tls(
        name: str, host: str, port: int, expect: str, description: str, extra: str = ""
    ) -> LabService:
        endpoint = f"dane:host={host}:port={port}:{extra or common}"
        return LabService(name, host, port, None, endpoint, expect, description)

    services = (
        tls(
            "dane-ee",
            "dane-ee.example.test",
            eePort,
            VERIFIED,
            "a DANE-EE (3 1 1) record matches the server's key",
        ),
        tls(
            "dane-ta",
            "dane-ta.example.test",
            taPort,
            VERIFIED,
            "a DANE-TA (2 0 1) record names the lab CA, which issued the server's certificate",
        ),
        tls(
            "mismatch",
            "mismatch.example.test",
            mismatchPort,
            REFUSED,
            "the TLSA record names another key",
        ),
        tls(
            "expired-cert",
            "expired-cert.example.test",
            expiredPort,
            VERIFIED,
            "the certificate expired a month ago; DANE-EE ignores validity dates",
        ),
        tls(
            "pkix",
            "pkix.example.test",
            pkixPort,
            REFUSED,
            "no TLSA record: PKIX, and the client does not trust the lab CA",
        ),
        tls(
            "pkix-trusted",
            "pkix.example.test",
            pkixPort,
            VERIFIED,
            "no TLSA record: PKIX, with the lab CA as trustRoots",
            trusting,
        ),
        tls(
            "unsigned",
            "lab.unsigned.test",
            unsignedPort,
            VERIFIED,
            "an unsigned zone: its TLSA record is not used; PKIX with the lab CA as trustRoots",
            trusting,
        ),
        tls(
            "bogus",
            "lab.badds.test",
            eePort,
            REFUSED,
            "a bogus zone (its DS matches no key): nothing from it is used",
        ),
        LabService(
            "mx",
            "mail.example.test",
            smtpPort,
            "smtp",
            f"dane:mx=mail.example.test:port={smtpPort}:{common}",
            VERIFIED,
            "an SMTP server with STARTTLS, the MX host of mail.example.test, matched by DANE-EE",
        ),
        tls(
            "expiring",
            "expiring.example.test",
            eePort,
            VERIFIED,
            "the dane-ee server; its records' signatures expire in 3 days, and txdane check warns",
        ),
        LabService(
            "mx-fallback",
            "fallback.example.test",
            smtpPort,
            "smtp",
            f"dane:mx=fallback.example.test:port={smtpPort}:{common}",
            VERIFIED,
            "the first MX host (mxbad.example.test) fails DANE; the second "
            "(smtp.example.test) takes the connection",
        ),
        LabService(
            "srv",
            "chat.example.test",
            xmppPort,
            "xmpp-client",
            f"dane:srv=xmpp-client:domain=chat.example.test:{common}",
            VERIFIED,
            "the xmpp-client service of chat.example.test (SRV): an XMPP server "
            "with STARTTLS, matched by DANE-EE",
        ),
        tls(
            "https",
            "web.example.test",
            webPort,
            VERIFIED,
            "a web server (twisted.web) matched by DANE-EE: GET / and XML-RPC at /RPC2 (add)",
        ),
        LabService(
            "no-starttls",
            "mxplain.example.test",
            plainPort,
            "smtp",
            f"dane:host=mxplain.example.test:port={plainPort}:starttls=smtp:{common}",
            REFUSED,
            "an SMTP server that does not offer STARTTLS, though its TLSA records require TLS",
        ),
    )
    lab = Lab(hierarchy, resolver, str(anchorFile), str(caFile), str(folder), services)
    lab._stoppers.append(dnsServer.stop)
    lab._stoppers.extend(port.stopListening for port in ports)
    lab._stoppers.append(removeFiles)
    return lab

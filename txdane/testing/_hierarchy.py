"""
A built hierarchy: its zones, keys and trust anchor, copies of it for key rollovers, and
the servers that serve it on loopback.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import dns.name
import dns.node
import dns.rdatatype
import dns.rdtypes.ANY.DS
import dns.rrset
import dns.zone
from twisted.python.failure import Failure

from txdane.names import nameFromText
from txdane.resolvconf import NameServer
from txdane.server.signing import SigningKey, makeRRSIG
from txdane.testing._zones import _DAY

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorTCP, IReactorUDP

    from txdane.server.service import RunningServer


_REVOKE = 0x0080


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


def revokedKey(key: SigningKey) -> SigningKey:
    """
    C{key} with the REVOKE bit (flags 0x0080) set, as a zone publishes a key it revokes
    (RFC 5011): its key tag is 128 more, and it signs the DNSKEY RRset to prove the
    revocation.
    """
    return SigningKey.fromPrivateKey(
        key.privateKey, key.dnskey.algorithm, key.dnskey.flags | _REVOKE
    )

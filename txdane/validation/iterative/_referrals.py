"""
What a referral teaches (L{_Delegation}), and what the servers it names may be trusted with:
which addresses are no place to send queries, in which order they are asked, and which
records of an authoritative answer lie inside the answering zone.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence

import dns.message
import dns.name


@dataclasses.dataclass(frozen=True)
class _Delegation:
    """
    What a referral taught about a zone: its name servers and the glue addresses that were
    inside the bailiwick of the zone that referred.
    """

    zone: dns.name.Name
    names: tuple[dns.name.Name, ...]
    glue: tuple[tuple[dns.name.Name, tuple[str, ...]], ...]


def _delegationCost(delegation: _Delegation) -> int:
    cost = 100 + 8 * len(delegation.zone)
    cost += sum(100 + 8 * len(name) for name in delegation.names)
    cost += sum(60 * len(addresses) for _, addresses in delegation.glue)
    return cost


def _specialKind(address: str) -> str | None:
    """
    What makes C{address} no place to send a referral's queries: C{"unspecified"},
    C{"loopback"}, C{"multicast"} or C{"link-local"} (an IPv4-mapped IPv6 address as its
    IPv4 one); C{None} for any other address.
    """
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_multicast:
        return "multicast"
    if ip.is_link_local:
        return "link-local"
    return None


def _ordered(addresses: Sequence[str]) -> list[str]:
    """
    IPv4 addresses before IPv6 ones (a host without IPv6 fails those at once).
    """
    return sorted(addresses, key=lambda a: ":" in a)


def _keepBailiwick(response: dns.message.Message, zone: dns.name.Name) -> None:
    """
    Drop from C{zone}'s authoritative C{response} every record whose owner lies outside the
    zone (RFC 2181 section 5.4.1): a server speaks for its own zone only. The records a
    server adds after a CNAME into another zone, signed or not, are not its to give: kept,
    they would stand for the target's without the target's own servers being asked (for an
    unsigned zone, anything; for a signed one, an old RRset or denial replayed within its
    signatures' validity). Without them, the validator asks for the target itself.
    """
    for section in (response.answer, response.authority, response.additional):
        kept = [rrset for rrset in section if rrset.name.is_subdomain(zone)]
        if len(kept) != len(section):
            section[:] = kept

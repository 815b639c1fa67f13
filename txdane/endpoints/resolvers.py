"""
Shared resolvers for endpoints made from strings.

Endpoints parsed from strings with the same resolver settings share one resolver, and so one
cache: the second C{dane:} connection to a host needs no DNS query at all.
"""

from __future__ import annotations

from typing import Any

from txdane.resolvconf import NameServer
from txdane.transport import DNSClient
from txdane.validation import ADTrustingResolver, TrustAnchors, ValidatingResolver
from txdane.validation.interfaces import IDNSSECResolver

_shared: dict[tuple[int, tuple[NameServer, ...] | None, str | None, bool], IDNSSECResolver] = {}


def sharedResolver(
    reactor: Any,
    servers: tuple[NameServer, ...] | None = None,
    trustAnchorFile: str | None = None,
    trustAD: bool = False,
) -> IDNSSECResolver:
    """
    The resolver for these settings, made on first use and shared afterwards.

    @param servers: the recursive resolvers to ask (default: C{/etc/resolv.conf}'s).
    @param trustAnchorFile: a trust anchor file (default: the built-in root anchors).
    @param trustAD: trust the AD bit of C{servers} instead of validating.
    @raise TrustAnchorError: if the trust anchor file cannot be used.
    @raise ValueError: for C{trustAD} with a trust anchor file.
    """
    key = (id(reactor), servers, trustAnchorFile, trustAD)
    resolver = _shared.get(key)
    if resolver is None:
        if trustAD and trustAnchorFile:
            raise ValueError("trustAD and trustAnchor exclude each other")
        client = DNSClient(reactor, servers)
        if trustAD:
            name = ", ".join(str(s) for s in client.servers)
            resolver = ADTrustingResolver(client, name, clock=reactor)
        else:
            anchors = TrustAnchors.fromFile(trustAnchorFile) if trustAnchorFile else None
            resolver = ValidatingResolver(client, trustAnchors=anchors, clock=reactor)
        _shared[key] = resolver
    return resolver

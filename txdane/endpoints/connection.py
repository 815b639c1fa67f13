"""
What the application's protocol can learn of the connection a C{dane:} endpoint made: where it
went and how well it is protected (L{IDANEConnection}, L{ConnectionInfo}, L{Protection}).

Tests: C{tests/mail/test_delivery.py}, C{tests/endpoints/test_srv.py}.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from zope.interface import Attribute, Interface

from txdane.dane.decision import Action, ConnectionPlan
from txdane.endpoints._plumbing import provide

__all__ = ["ConnectionInfo", "IDANEConnection", "Protection", "connected"]


class Protection(enum.Enum):
    """
    How well a connection is protected, in the words of RFC 7672 and Postfix.

    @cvar VERIFIED: TLS, the server authenticated by DANE (or PKIX), and its name came from
        DNSSEC-validated data (a secure MX record, or the name the caller gave).
    @cvar TRUSTED: TLS authenticated by DANE, but the host name came from an insecure MX
        lookup, so it could have been forged.
    @cvar ENCRYPTED: TLS without authentication of the server.
    @cvar CLEARTEXT: no TLS: only SMTP's opportunistic policy (RFC 7672 section 2.2, a host
        without usable TLSA records) accepts a server that does not offer STARTTLS.
    """

    VERIFIED = "verified"
    TRUSTED = "trusted"
    ENCRYPTED = "encrypted"
    CLEARTEXT = "cleartext"

    def __str__(self) -> str:
        return self.value


@dataclass
class ConnectionInfo:
    """
    Where a connection went and what protects it.

    @ivar host: the host name dialled (an MX host, an SRV target, or the endpoint's host).
    @ivar port: the port.
    @ivar plan: the DANE decision for the host.
    @ivar nameSecure: whether the host name itself came from validated data (C{False} for
        the hosts of an insecure MX RRset).
    @ivar domain: the domain the host serves (the next-hop domain of an MX host, the service
        domain of an SRV target), else C{None}.
    @ivar starttls: the protocol whose STARTTLS the endpoint negotiated, or C{None} for TLS
        from the first byte.
    @ivar address: the address connected to (set once connected).
    @ivar tls: whether the TLS handshake has completed and passed verification.
    @ivar localAddress: this side's address of the connection (set once connected): a TLS
        report's C{sending-mta-ip}.
    """

    host: str
    port: int
    plan: ConnectionPlan
    nameSecure: bool = True
    domain: str | None = None
    starttls: str | None = None
    address: IPv4Address | IPv6Address | None = None
    tls: bool = field(default=False)
    localAddress: IPv4Address | IPv6Address | None = None

    @property
    def protection(self) -> Protection:
        """
        The connection's protection: L{Protection.CLEARTEXT} unless the handshake passed.
        """
        if not self.tls:
            return Protection.CLEARTEXT
        if self.plan.action is Action.DANE:
            return Protection.VERIFIED if self.nameSecure else Protection.TRUSTED
        if self.plan.action is Action.PKIX:
            return Protection.VERIFIED if self.nameSecure else Protection.ENCRYPTED
        return Protection.ENCRYPTED


class IDANEConnection(Interface):
    """
    Provided by the transport of a connection made by a C{dane:} endpoint (C{host=},
    C{mx=}, C{srv=}; with C{starttls=} or TLS from the first byte): what the protocol can
    learn about it, C{IDANEConnection(protocol.transport).connectionInfo.protection}.
    """

    connectionInfo = Attribute("The L{ConnectionInfo} of this connection.")


def connected(transport: Any, info: ConnectionInfo) -> None:
    """
    Let C{transport}, of a connection the endpoint hands to the application, tell its
    protocol where it went and what protects it (L{IDANEConnection}).
    """
    peer = transport.getPeer()
    if isinstance(peer, (IPv4Address, IPv6Address)):
        info.address = peer
    transport.connectionInfo = info
    provide(transport, IDANEConnection)

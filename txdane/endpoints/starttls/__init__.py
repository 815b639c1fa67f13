"""
STARTTLS, negotiated by the endpoint: the one registry of the protocols that upgrade a
cleartext connection to TLS, and their negotiators.

Every C{dane:} path that upgrades (C{starttls=PROTO}, C{mx=}, the STARTTLS targets of
C{srv=}, C{txdane check --starttls}) looks its protocol up here, by name: L{PROTOCOLS} maps
it to the negotiator class, which carries the protocol's default port and the greeting the
application receives (L{Negotiator<txdane.endpoints.starttls.negotiator.Negotiator>}).

A connection that STARTTLS did not bring to a verified TLS session fails with
L{StartTLSError}; two of its subclasses say that the server gave no answer about TLS at all:
L{StartTLSConnectionLostError} (the connection was closed or broke before the TLS handshake
completed) and L{StartTLSWrongProtocolError} (the server speaks another protocol, which
L{greetingProtocol} guesses from its first words).

Tests: C{tests/endpoints/test_starttls.py}.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from txdane.endpoints.errors import (
    StartTLSConnectionLostError,
    StartTLSError,
    StartTLSWrongProtocolError,
    UnknownProtocolError,
)
from txdane.endpoints.starttls.binary import LDAPStartTLS, PostgresStartTLS
from txdane.endpoints.starttls.lines import (
    FTPStartTLS,
    IMAPStartTLS,
    LMTPStartTLS,
    POP3StartTLS,
    SMTPStartTLS,
)
from txdane.endpoints.starttls.negotiator import Negotiator, NegotiatorFactory, greetingProtocol
from txdane.endpoints.starttls.xmpp import XMPPServerStartTLS, XMPPStartTLS

__all__ = [
    "PROTOCOLS",
    "Negotiator",
    "NegotiatorFactory",
    "StartTLSConnectionLostError",
    "StartTLSError",
    "StartTLSWrongProtocolError",
    "UnknownProtocolError",
    "defaultPort",
    "greetingProtocol",
    "negotiatorFor",
]

#: The protocols whose STARTTLS the endpoints negotiate, by name, in the order the
#: documentation lists them.
PROTOCOLS: Mapping[str, type[Negotiator]] = MappingProxyType(
    {
        negotiator.protocolName: negotiator
        for negotiator in (
            SMTPStartTLS,
            LMTPStartTLS,
            IMAPStartTLS,
            POP3StartTLS,
            XMPPStartTLS,
            XMPPServerStartTLS,
            LDAPStartTLS,
            FTPStartTLS,
            PostgresStartTLS,
        )
    }
)


def negotiatorFor(name: str) -> type[Negotiator]:
    """
    The negotiator of the protocol called C{name} (case-insensitive).

    @raise UnknownProtocolError: for a name L{PROTOCOLS} does not list.
    """
    try:
        return PROTOCOLS[name.lower()]
    except KeyError:
        raise UnknownProtocolError(name, tuple(PROTOCOLS)) from None


def defaultPort(name: str) -> int:
    """
    The port the servers of the protocol called C{name} listen on unless told otherwise.

    @raise UnknownProtocolError: for a name L{PROTOCOLS} does not list.
    """
    return negotiatorFor(name).defaultPort

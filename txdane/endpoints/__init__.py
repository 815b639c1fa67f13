"""
Endpoints: C{dane:} (TLS authenticated by DANE, from the first byte or after a STARTTLS the
endpoint negotiates; C{dane:mx=} and C{dane:srv=} over the hosts of MX and SRV records) and
C{dnssec:} (TCP to validated addresses)::

    from twisted.internet.endpoints import clientFromString
    endpoint = clientFromString(reactor, "dane:host=www.example.com:port=443")

In code: L{DANEEndpoint} and L{DNSSECEndpoint}, with L{DANEOptions} saying how the server is
authenticated; L{SRVEndpoint} for services found by SRV records (XMPP, IMAP, POP3,
submission); L{mxEndpoint} for a mail domain; L{daneAgent} (and the L{DANEEndpointFactory}
behind it) for HTTPS; L{creatorForStartTLS} for a protocol that upgrades by itself.

The modules, by concept: L{options<txdane.endpoints.options>} (how to authenticate),
L{dnssec<txdane.endpoints.dnssec>} and L{dane<txdane.endpoints.dane>} (one host),
L{starttls<txdane.endpoints.starttls>} (the registry of STARTTLS protocols and their
negotiators), L{planner<txdane.endpoints.planner>} (many hosts, one walk),
L{mx<txdane.endpoints.mx>} and L{srv<txdane.endpoints.srv>} with its rules
L{srvplan<txdane.endpoints.srvplan>}, L{web<txdane.endpoints.web>},
L{connection<txdane.endpoints.connection>} (what the application learns of its connection),
L{connector<txdane.endpoints.connector>} (C{ClientFactory} notifications),
L{parsers<txdane.endpoints.parsers>} (endpoint strings) and L{errors
<txdane.endpoints.errors>}.
"""

from txdane.endpoints.connection import ConnectionInfo, IDANEConnection, Protection
from txdane.endpoints.dane import DANEEndpoint, creatorForStartTLS
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.errors import (
    AllHostsFailedError,
    EndpointStringError,
    MXError,
    MXLookupError,
    NoSuchDomainError,
    NoSuchServiceError,
    NullMXError,
    ResponseTooLargeError,
    ServiceNotOfferedError,
    SRVConnectError,
    SRVLookupError,
    StartTLSConnectionLostError,
    StartTLSError,
    StartTLSWrongProtocolError,
    TLSHandshakeError,
    UnknownProtocolError,
    UnsupportedSchemeError,
)
from txdane.endpoints.mx import mxEndpoint
from txdane.endpoints.options import DANEOptions
from txdane.endpoints.srv import SRVEndpoint
from txdane.endpoints.starttls import PROTOCOLS
from txdane.endpoints.web import DANEEndpointFactory, daneAgent

__all__ = [
    "PROTOCOLS",
    "AllHostsFailedError",
    "ConnectionInfo",
    "DANEEndpoint",
    "DANEEndpointFactory",
    "DANEOptions",
    "DNSSECEndpoint",
    "EndpointStringError",
    "IDANEConnection",
    "MXError",
    "MXLookupError",
    "NoSuchDomainError",
    "NoSuchServiceError",
    "NullMXError",
    "Protection",
    "ResponseTooLargeError",
    "SRVConnectError",
    "SRVEndpoint",
    "SRVLookupError",
    "ServiceNotOfferedError",
    "StartTLSConnectionLostError",
    "StartTLSError",
    "StartTLSWrongProtocolError",
    "TLSHandshakeError",
    "UnknownProtocolError",
    "UnsupportedSchemeError",
    "creatorForStartTLS",
    "daneAgent",
    "mxEndpoint",
]

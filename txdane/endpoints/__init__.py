"""
Endpoints: C{dane:} (TLS authenticated by DANE; C{dane:mx=} and C{dane:srv=} over the hosts
of MX and SRV records) and C{dnssec:} (TCP to validated addresses)::

    from twisted.internet.endpoints import clientFromString
    endpoint = clientFromString(reactor, "dane:host=www.example.com:port=443")

In code: L{DANEEndpoint} and L{DNSSECEndpoint}, with L{DANEOptions} saying how the server is
authenticated; L{SRVEndpoint} for services found by SRV records (XMPP, IMAP, POP3,
submission); L{creatorForStartTLS} for protocols that upgrade to TLS; L{daneAgent} (and the
L{DANEEndpointFactory} behind it) for HTTPS.
"""

from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.options import DANEOptions
from txdane.endpoints.parsers import EndpointStringError
from txdane.endpoints.srv import SRVConnectError, SRVEndpoint
from txdane.endpoints.srvplan import ServiceNotOfferedError, SRVLookupError
from txdane.endpoints.starttls import creatorForStartTLS
from txdane.endpoints.web import DANEEndpointFactory, UnsupportedSchemeError, daneAgent

__all__ = [
    "DANEEndpoint",
    "DANEEndpointFactory",
    "DANEOptions",
    "DNSSECEndpoint",
    "EndpointStringError",
    "SRVConnectError",
    "SRVEndpoint",
    "SRVLookupError",
    "ServiceNotOfferedError",
    "UnsupportedSchemeError",
    "creatorForStartTLS",
    "daneAgent",
]

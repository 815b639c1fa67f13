"""
Endpoints: C{dane:} (TLS authenticated by DANE; C{dane:srv=} for SRV services) and C{dnssec:}
(TCP to validated addresses).

    from twisted.internet.endpoints import clientFromString
    endpoint = clientFromString(reactor, "dane:host=www.example.com:port=443")
"""

from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.parsers import DANEEndpointParser, DNSSECEndpointParser, EndpointStringError
from txdane.endpoints.resolvers import sharedResolver
from txdane.endpoints.srv import SRVConnectError, SRVEndpoint
from txdane.endpoints.srvplan import ServiceNotOfferedError, SRVLookupError
from txdane.endpoints.starttls import creatorForStartTLS
from txdane.endpoints.web import DANEEndpointFactory, UnsupportedSchemeError, daneAgent

__all__ = [
    "DANEEndpoint",
    "DANEEndpointFactory",
    "DANEEndpointParser",
    "DNSSECEndpoint",
    "DNSSECEndpointParser",
    "EndpointStringError",
    "SRVConnectError",
    "SRVEndpoint",
    "SRVLookupError",
    "ServiceNotOfferedError",
    "UnsupportedSchemeError",
    "creatorForStartTLS",
    "daneAgent",
    "sharedResolver",
]

"""
Endpoints: C{dane:} (TLS authenticated by DANE) and C{dnssec:} (TCP to validated addresses)::

    from twisted.internet.endpoints import clientFromString
    endpoint = clientFromString(reactor, "dane:host=www.example.com:port=443")

In code: L{DANEEndpoint} and L{DNSSECEndpoint}, with L{DANEOptions} saying how the server is
authenticated; L{creatorForStartTLS} for protocols that upgrade to TLS; L{daneAgent} (and the
L{DANEEndpointFactory} behind it) for HTTPS.
"""

from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.options import DANEOptions
from txdane.endpoints.parsers import EndpointStringError
from txdane.endpoints.starttls import creatorForStartTLS
from txdane.endpoints.web import DANEEndpointFactory, UnsupportedSchemeError, daneAgent

__all__ = [
    "DANEEndpoint",
    "DANEEndpointFactory",
    "DANEOptions",
    "DNSSECEndpoint",
    "EndpointStringError",
    "UnsupportedSchemeError",
    "creatorForStartTLS",
    "daneAgent",
]

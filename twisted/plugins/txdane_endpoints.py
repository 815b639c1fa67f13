"""
Registers the C{dane:} and C{dnssec:} client endpoint strings with Twisted.
"""

from txdane.endpoints.parsers import DANEEndpointParser, DNSSECEndpointParser

daneEndpointParser = DANEEndpointParser()
dnssecEndpointParser = DNSSECEndpointParser()

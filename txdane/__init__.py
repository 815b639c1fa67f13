"""
txdane: DANE-verified TLS and DNSSEC-validated name resolution for Twisted.

Layers, bottom up: L{txdane.transport} (EDNS(0) DNS client), L{txdane.validation} (DNSSEC
validating stub resolver), L{txdane.dane} (TLSA matching and the TLS connection creator),
L{txdane.endpoints}, L{txdane.server} (an authoritative DNSSEC server) and L{txdane.cli}.
"""

__version__ = "0.1.0.dev0"

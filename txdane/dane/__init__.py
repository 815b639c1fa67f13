"""
DANE: TLSA records, the matching rules of RFC 6698, RFC 7671 and RFC 7672, connection
policies, and a TLS connection creator that enforces them in the handshake.
"""

from txdane.dane.records import (
    MatchingType,
    Selector,
    TLSAFormatError,
    TLSARecord,
    Usage,
    recordForCertificate,
    recordForKey,
    recordFromFile,
    tlsaName,
)

__all__ = [
    "MatchingType",
    "Selector",
    "TLSAFormatError",
    "TLSARecord",
    "Usage",
    "recordForCertificate",
    "recordForKey",
    "recordFromFile",
    "tlsaName",
]

"""
DANE: TLSA records, the matching rules of RFC 6698, RFC 7671 and RFC 7672, connection
policies, and a TLS connection creator that enforces them in the handshake.
"""

from txdane.dane.decision import (
    Action,
    ConnectionPlan,
    Policy,
    TLSAResult,
    planConnection,
    planWithoutTLSA,
)
from txdane.dane.matching import (
    CheckOutcome,
    DANEResult,
    FailureKind,
    MatchOptions,
    RecordCheck,
    verifyChain,
)
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tapath import MAX_CHAIN_LENGTH, MAX_SIGNATURE_CHECKS
from txdane.dane.tls import DANEClientTLSOptions
from txdane.dane.tlsa import (
    MatchingType,
    Selector,
    TLSARecord,
    Usage,
    parseField,
    recordForCertificate,
    recordForKey,
    recordFromFile,
)
from txdane.errors import DANEError, DANEPolicyError, DANEVerificationError, TLSAFormatError
from txdane.names import tlsaName

__all__ = [
    "MAX_CHAIN_LENGTH",
    "MAX_SIGNATURE_CHECKS",
    "Action",
    "CheckOutcome",
    "ConnectionPlan",
    "DANEClientTLSOptions",
    "DANEError",
    "DANEPolicyError",
    "DANEResult",
    "DANEVerificationError",
    "FailureKind",
    "MatchOptions",
    "MatchingType",
    "PKIXTrust",
    "Policy",
    "RecordCheck",
    "Selector",
    "TLSAFormatError",
    "TLSARecord",
    "TLSAResult",
    "Usage",
    "parseField",
    "planConnection",
    "planWithoutTLSA",
    "recordForCertificate",
    "recordForKey",
    "recordFromFile",
    "tlsaName",
    "verifyChain",
]

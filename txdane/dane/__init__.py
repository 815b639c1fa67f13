"""
DANE: TLSA records, the matching rules of RFC 6698, RFC 7671 and RFC 7672, connection
policies, and a TLS connection creator that enforces them in the handshake.
"""

from txdane.dane.chain import MAX_CHAIN_LENGTH, MAX_SIGNATURE_CHECKS
from txdane.dane.errors import DANEError, DANEPolicyError, DANEVerificationError
from txdane.dane.matching import (
    CheckOutcome,
    DANEResult,
    FailureKind,
    MatchOptions,
    RecordCheck,
    verifyChain,
)
from txdane.dane.pkix import PKIXTrust
from txdane.dane.policy import Action, ConnectionPlan, Policy, TLSAResult, planConnection
from txdane.dane.records import (
    MatchingType,
    Selector,
    TLSAFormatError,
    TLSARecord,
    Usage,
    parseField,
    recordForCertificate,
    recordForKey,
    recordFromFile,
    tlsaName,
)
from txdane.dane.tls import DANEClientTLSOptions

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
    "recordForCertificate",
    "recordForKey",
    "recordFromFile",
    "tlsaName",
    "verifyChain",
]

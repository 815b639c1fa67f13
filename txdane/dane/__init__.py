"""
DANE: TLSA records, the matching rules of RFC 6698, RFC 7671 and RFC 7672, connection
policies, and a TLS connection creator that enforces them in the handshake.

Each name is loaded from its module on first use, so that C{import txdane.dane.tlsa} (TLSA
records and their names) loads neither the matcher nor TLS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from txdane.dane._tapath import MAX_CHAIN_LENGTH, MAX_SIGNATURE_CHECKS
    from txdane.dane.decision import (
        Action,
        ConnectionPlan,
        Policy,
        TLSAResult,
        planConnection,
        planWithoutTLSA,
    )
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
    from txdane.errors import TLSAFormatError
    from txdane.names import tlsaName

#: Where each public name lives.
_MODULES = {
    "txdane.dane.decision": (
        "Action",
        "ConnectionPlan",
        "Policy",
        "TLSAResult",
        "planConnection",
        "planWithoutTLSA",
    ),
    "txdane.dane.matching": (
        "CheckOutcome",
        "DANEResult",
        "FailureKind",
        "MatchOptions",
        "RecordCheck",
        "verifyChain",
    ),
    "txdane.dane.pkix": ("PKIXTrust",),
    "txdane.dane._tapath": ("MAX_CHAIN_LENGTH", "MAX_SIGNATURE_CHECKS"),
    "txdane.dane.tls": ("DANEClientTLSOptions",),
    "txdane.dane.tlsa": (
        "MatchingType",
        "Selector",
        "TLSARecord",
        "Usage",
        "parseField",
        "recordForCertificate",
        "recordForKey",
        "recordFromFile",
    ),
    "txdane.dane.errors": ("DANEError", "DANEPolicyError", "DANEVerificationError"),
    "txdane.errors": ("TLSAFormatError",),
    "txdane.names": ("tlsaName",),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


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

"""
DNSSEC validation: a stub resolver that proves (or disproves) every answer itself.

    from txdane.validation import ValidatingResolver
    resolver = ValidatingResolver(client)          # client: a txdane.transport.DNSQuerier
    answer = await resolver.lookupTLSA("www.example.com", 443)
    if answer.secure and answer.exists: ...

See L{ValidatingResolver}, L{Answer}, L{ValidationLimits}, L{TrustAnchors}.
"""

from txdane.errors import (
    InsecureAnswerError,
    LookupFailedError,
    TrustAnchorError,
    ValidationError,
    WorkLimitExceededError,
)
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.anchors import BUILTIN_ROOT_ANCHORS, TrustAnchor, TrustAnchors
from txdane.validation.answer import Answer, ChainLink, SignatureUse, ZoneTrust
from txdane.validation.ede import EDE, edeText
from txdane.validation.interfaces import IDNSSECResolver
from txdane.validation.limits import ValidationLimits
from txdane.validation.resolver import ValidatingResolver
from txdane.validation.trustad import ADTrustingResolver

__all__ = [
    "BUILTIN_ROOT_ANCHORS",
    "EDE",
    "ADTrustingResolver",
    "AlgorithmPolicy",
    "Answer",
    "ChainLink",
    "IDNSSECResolver",
    "InsecureAnswerError",
    "LookupFailedError",
    "SignatureUse",
    "TrustAnchor",
    "TrustAnchorError",
    "TrustAnchors",
    "ValidatingResolver",
    "ValidationError",
    "ValidationLimits",
    "WorkLimitExceededError",
    "ZoneTrust",
    "edeText",
]

"""
txdane: DANE-verified TLS and DNSSEC-validated name resolution for Twisted::

    from twisted.internet.endpoints import clientFromString
    endpoint = clientFromString(reactor, "dane:host=www.example.com:port=443")

What users import is listed in C{__all__}, and can be imported from here: the endpoints, building
a validating resolver from settings, the DANE check of a certificate chain, the statuses, the
validator, and the errors. Each name is loaded from its module on first use, so that importing
one layer (C{import txdane.dane}) does not load the others (the DNS client, the validator, the
reactor).

Layers, bottom up: L{txdane.transport} (EDNS(0) DNS client), L{txdane.validation} (DNSSEC
validating stub resolver), L{txdane.adapters} (Twisted's resolver interfaces),
L{txdane.dane} (TLSA matching and the TLS connection creator), L{txdane.settings} (a resolver
from settings), L{txdane.endpoints}; L{txdane.mail}, L{txdane.xmpp}, L{txdane.xmlrpc} and
L{txdane.ssh} (protocols over the endpoints); L{txdane.server} (an authoritative DNSSEC server)
and L{txdane.cli}.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

if TYPE_CHECKING:
    from txdane.adapters import (
        AddressLookupError,
        AddressValidationError,
        NoAddressesError,
        ValidationFailedError,
    )
    from txdane.dane.decision import Policy
    from txdane.dane.matching import DANEResult, MatchOptions, verifyChain
    from txdane.dane.pkix import PKIXTrust
    from txdane.dane.tlsa import TLSARecord
    from txdane.endpoints.dane import DANEEndpoint
    from txdane.endpoints.dnssec import DNSSECEndpoint
    from txdane.endpoints.guard import CleartextRefusedError
    from txdane.endpoints.mx import MXError, MXLookupError, NoSuchDomainError, NullMXError
    from txdane.endpoints.options import DANEOptions
    from txdane.endpoints.parsers import EndpointStringError
    from txdane.endpoints.planner import AllHostsFailedError
    from txdane.endpoints.srv import SRVConnectError, SRVEndpoint
    from txdane.endpoints.srvplan import ServiceNotOfferedError, SRVLookupError
    from txdane.endpoints.starttls import creatorForStartTLS
    from txdane.endpoints.upgrade import ConnectionInfo, IDANEConnection, Protection
    from txdane.endpoints.web import DANEEndpointFactory, UnsupportedSchemeError, daneAgent
    from txdane.errors import (
        DANEError,
        DANEPolicyError,
        DANEVerificationError,
        HandshakeTimeoutError,
        InsecureAnswerError,
        LookupFailedError,
        TLSAFormatError,
        TrustAnchorError,
        TxdaneError,
        ValidationError,
        WorkLimitExceededError,
    )
    from txdane.mail import (
        DeliveryResult,
        PermanentDeliveryError,
        TemporaryDeliveryError,
        sendMail,
    )
    from txdane.names import tlsaName
    from txdane.settings import ResolverSettings, ResolverSettingsError, sharedResolver
    from txdane.ssh import SSHFPKnownHosts, SSHHostKeyError, sshCommandEndpoint
    from txdane.status import Status
    from txdane.validation.anchors import TrustAnchors
    from txdane.validation.answer import Answer
    from txdane.validation.interfaces import IDNSSECResolver
    from txdane.validation.limits import ValidationLimits
    from txdane.validation.resolver import ValidatingResolver
    from txdane.validation.trustad import ADTrustingResolver
    from txdane.xmlrpc import daneXMLRPCProxy
    from txdane.xmpp import xmppClientFactory

# In the order of a table of contents, not sorted. Annotated, so that pydoctor documents each
# name where it is defined (the subpackages re-export them already, and pydoctor can move an
# object to one re-exporting module only).
__all__: list[str] = [  # noqa: RUF022
    # The endpoints.
    "DANEEndpoint",
    "DNSSECEndpoint",
    "DANEOptions",
    "creatorForStartTLS",
    "daneAgent",
    "DANEEndpointFactory",
    "SRVEndpoint",
    # What a protocol can learn of the connection it got (host, address, protection).
    "IDANEConnection",
    "ConnectionInfo",
    "Protection",
    # Mail delivery with DANE.
    "sendMail",
    "DeliveryResult",
    # XMPP clients of twisted.words over those endpoints.
    "xmppClientFactory",
    # XML-RPC calls over DANE-verified HTTPS.
    "daneXMLRPCProxy",
    # SSH host keys from SSHFP records, for Conch.
    "sshCommandEndpoint",
    "SSHFPKnownHosts",
    # A validating resolver from settings.
    "ResolverSettings",
    "sharedResolver",
    # The DANE check of a certificate chain.
    "verifyChain",
    "TLSARecord",
    "tlsaName",
    "MatchOptions",
    "DANEResult",
    "Policy",
    "PKIXTrust",
    # The statuses of validated answers.
    "Status",
    # The validator.
    "IDNSSECResolver",
    "ValidatingResolver",
    "ADTrustingResolver",
    "TrustAnchors",
    "Answer",
    "ValidationLimits",
    # The errors.
    "TxdaneError",
    "ValidationError",
    "LookupFailedError",
    "WorkLimitExceededError",
    "TrustAnchorError",
    "InsecureAnswerError",
    "TLSAFormatError",
    "DANEError",
    "DANEVerificationError",
    "DANEPolicyError",
    "AddressLookupError",
    "AddressValidationError",
    "NoAddressesError",
    "ValidationFailedError",
    "ResolverSettingsError",
    "EndpointStringError",
    "UnsupportedSchemeError",
    "SRVLookupError",
    "ServiceNotOfferedError",
    "SRVConnectError",
    "HandshakeTimeoutError",
    "CleartextRefusedError",
    "AllHostsFailedError",
    "MXError",
    "MXLookupError",
    "NullMXError",
    "NoSuchDomainError",
    "TemporaryDeliveryError",
    "PermanentDeliveryError",
    "SSHHostKeyError",
]

#: The module each name of C{__all__} is loaded from.
_WHERE: dict[str, str] = {
    name: module
    for module, names in {
        "txdane.adapters": (
            "AddressLookupError",
            "AddressValidationError",
            "NoAddressesError",
            "ValidationFailedError",
        ),
        "txdane.dane.decision": ("Policy",),
        "txdane.dane.matching": ("DANEResult", "MatchOptions", "verifyChain"),
        "txdane.dane.pkix": ("PKIXTrust",),
        "txdane.dane.tlsa": ("TLSARecord",),
        "txdane.endpoints.dane": ("DANEEndpoint",),
        "txdane.endpoints.dnssec": ("DNSSECEndpoint",),
        "txdane.endpoints.guard": ("CleartextRefusedError",),
        "txdane.endpoints.mx": ("MXError", "MXLookupError", "NoSuchDomainError", "NullMXError"),
        "txdane.endpoints.planner": ("AllHostsFailedError",),
        "txdane.endpoints.upgrade": ("ConnectionInfo", "IDANEConnection", "Protection"),
        "txdane.endpoints.options": ("DANEOptions",),
        "txdane.endpoints.parsers": ("EndpointStringError",),
        "txdane.endpoints.srv": ("SRVConnectError", "SRVEndpoint"),
        "txdane.endpoints.srvplan": ("SRVLookupError", "ServiceNotOfferedError"),
        "txdane.endpoints.starttls": ("creatorForStartTLS",),
        "txdane.endpoints.web": ("DANEEndpointFactory", "UnsupportedSchemeError", "daneAgent"),
        "txdane.errors": (
            "DANEError",
            "DANEPolicyError",
            "DANEVerificationError",
            "HandshakeTimeoutError",
            "InsecureAnswerError",
            "LookupFailedError",
            "TLSAFormatError",
            "TrustAnchorError",
            "TxdaneError",
            "ValidationError",
            "WorkLimitExceededError",
        ),
        "txdane.mail": (
            "DeliveryResult",
            "PermanentDeliveryError",
            "TemporaryDeliveryError",
            "sendMail",
        ),
        "txdane.names": ("tlsaName",),
        "txdane.ssh": ("SSHFPKnownHosts", "SSHHostKeyError", "sshCommandEndpoint"),
        "txdane.settings": ("ResolverSettings", "ResolverSettingsError", "sharedResolver"),
        "txdane.status": ("Status",),
        "txdane.validation.anchors": ("TrustAnchors",),
        "txdane.validation.answer": ("Answer",),
        "txdane.validation.interfaces": ("IDNSSECResolver",),
        "txdane.validation.limits": ("ValidationLimits",),
        "txdane.validation.resolver": ("ValidatingResolver",),
        "txdane.validation.trustad": ("ADTrustingResolver",),
        "txdane.xmlrpc": ("daneXMLRPCProxy",),
        "txdane.xmpp": ("xmppClientFactory",),
    }.items()
    for name in names
}


def __getattr__(name: str) -> Any:
    """
    Load a public name from its module on first use (PEP 562), and keep it here.
    """
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'txdane' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""
txdane: DANE-verified TLS and DNSSEC-validated name resolution for Twisted::

    from twisted.internet.endpoints import clientFromString
    endpoint = clientFromString(reactor, "dane:host=www.example.com:port=443")

What users import is listed, once, in C{__all__}, and can be imported from here: the
endpoints, building a validating resolver from settings, the DANE check of a certificate
chain, the statuses, the validator, and the errors. Each name is loaded from its module on
first use, so that importing one layer (C{import txdane.dane}) does not load the others (the
DNS client, the validator, the reactor).

Layers, bottom up: L{txdane.transport} (EDNS(0) DNS client), L{txdane.validation} (DNSSEC
validating stub resolver), L{txdane.adapters} (Twisted's resolver interfaces),
L{txdane.dane} (TLSA matching and the TLS connection creator), L{txdane.dot} (DNS over TLS to
the recursive resolvers) and L{txdane.dotauth} (their authentication), L{txdane.settings} (a
resolver from settings), L{txdane.endpoints}; L{txdane.mail}, L{txdane.xmpp}, L{txdane.xmlrpc} and
L{txdane.ssh} (protocols over the endpoints); L{txdane.server} (an authoritative DNSSEC server)
and L{txdane.cli}.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

# The table of contents: each public name once, in reading order, not sorted. Annotated, so
# that pydoctor documents each name where it is defined.
__all__: list[str] = [  # noqa: RUF022
    # The endpoints.
    "DANEEndpoint",
    "creatorForStartTLS",
    "DNSSECEndpoint",
    "DANEOptions",
    "daneAgent",
    "DANEEndpointFactory",
    "SRVEndpoint",
    "mxEndpoint",
    # What a protocol can learn of the connection it got (host, address, protection).
    "IDANEConnection",
    "ConnectionInfo",
    "Protection",
    # Mail delivery with DANE.
    "sendMail",
    "DeliveryResult",
    "TemporaryDeliveryError",
    "PermanentDeliveryError",
    # XMPP clients of twisted.words over those endpoints.
    "xmppClientFactory",
    # XML-RPC calls over DANE-verified HTTPS.
    "daneXMLRPCProxy",
    # SSH host keys from SSHFP records, for Conch.
    "sshCommandEndpoint",
    "SSHFPKnownHosts",
    "SSHHostKeyError",
    # A validating resolver from settings.
    "ResolverSettings",
    "sharedResolver",
    "ResolverSettingsError",
    "DoTAuthenticationError",
    # The DANE check of a certificate chain.
    "verifyChain",
    "MatchOptions",
    "DANEResult",
    "TLSARecord",
    "tlsaName",
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
    # The errors (those of mail and SSH are listed with them above).
    "TxdaneError",
    "ValidationError",
    "LookupFailedError",
    "WorkLimitExceededError",
    "TrustAnchorError",
    "TrustAnchorStateError",
    "InsecureAnswerError",
    "TLSAFormatError",
    "DANEError",
    "DANEVerificationError",
    "PKIXVerificationError",
    "DANEPolicyError",
    "HandshakeTimeoutError",
    "AddressLookupError",
    "AddressValidationError",
    "NoAddressesError",
    "ValidationFailedError",
    "EndpointStringError",
    "UnsupportedSchemeError",
    "ResponseTooLargeError",
    "StartTLSError",
    "StartTLSConnectionLostError",
    "StartTLSWrongProtocolError",
    "TLSHandshakeError",
    "AllHostsFailedError",
    "SRVLookupError",
    "ServiceNotOfferedError",
    "SRVConnectError",
    "MXError",
    "MXLookupError",
    "NullMXError",
    "NoSuchDomainError",
]

#: Where the names of C{__all__} are defined, lightest first: a name is loaded from the first
#: of these modules that defines it or exports it in its own C{__all__} (not one that merely
#: imports it), so that a name of a low layer never loads a higher one.
_MODULES: tuple[str, ...] = (
    "txdane.status",
    "txdane.names",
    "txdane.errors",
    "txdane.dane.errors",
    "txdane.dane.tlsa",
    "txdane.dane.pkix",
    "txdane.dane.matching",
    "txdane.dane.decision",
    "txdane.dot",
    "txdane.validation.answer",
    "txdane.validation.limits",
    "txdane.validation.interfaces",
    "txdane.validation.anchors",
    "txdane.validation.resolver",
    "txdane.validation.trustad",
    "txdane.adapters",
    "txdane.settings",
    "txdane.endpoints.errors",
    "txdane.endpoints.connection",
    "txdane.endpoints.options",
    "txdane.endpoints.dnssec",
    "txdane.endpoints.dane",
    "txdane.endpoints.web",
    "txdane.endpoints.mx",
    "txdane.endpoints.srv",
    "txdane.mail",
    "txdane.xmpp",
    "txdane.xmlrpc",
    "txdane.ssh",
)


_MISSING = object()


def __getattr__(name: str) -> Any:
    """
    Load a public name from its module on first use (PEP 562), and keep it here.
    """
    if name in __all__:
        for where in _MODULES:
            module = importlib.import_module(where)
            value = getattr(module, name, _MISSING)
            if value is _MISSING:
                continue
            if name in getattr(module, "__all__", ()) or getattr(value, "__module__", "") == where:
                globals()[name] = value
                return value
    raise AttributeError(f"module 'txdane' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

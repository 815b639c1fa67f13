"""
L{DANEOptions}: how a DANE-verified connection authenticates its server, in one value shared
by L{DANEEndpoint<txdane.endpoints.dane.DANEEndpoint>}, L{creatorForStartTLS
<txdane.endpoints.dane.creatorForStartTLS>}, L{DANEEndpointFactory
<txdane.endpoints.web.DANEEndpointFactory>} and the C{dane:} endpoint string.

Adding an option means adding a field here. A field that endpoint strings can set names its
string options and how to read them with C{_fromStrings}; the C{dane:} parser accepts exactly
the options the fields name.

Tests: C{tests/endpoints/test_options.py}.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography import x509
from twisted.internet.ssl import PrivateCertificate

from txdane.dane.decision import Policy
from txdane.dane.matching import DANEResult
from txdane.dane.pkix import PKIXTrust
from txdane.endpoints._arguments import (
    checkedCallable,
    checkedFlag,
    checkedHost,
    checkedInstance,
    checkedSequence,
)
from txdane.endpoints._strings import OptionReader
from txdane.endpoints.errors import UnknownProtocolError
from txdane.endpoints.starttls import negotiatorFor
from txdane.names import heloDomain

__all__ = ["DEFAULT_HANDSHAKE_TIMEOUT", "DANEOptions", "optionsFromStrings", "stringOptions"]

#: The STARTTLS protocols whose client greets the server with its name (C{EHLO}, C{LHLO}):
#: those L{DANEOptions.heloName} is for.
HELO_PROTOCOLS = ("SMTP", "LMTP")

#: Seconds a connection may take, once the TCP connection is made, to reach a verified TLS
#: session (the STARTTLS prelude included) before it is aborted.
DEFAULT_HANDSHAKE_TIMEOUT = 30.0


def _fromStrings(*names: str, read: Callable[[OptionReader], Any]) -> dict[str, Any]:
    """
    The metadata of a field that endpoint strings set: the string options C{names} feed it,
    and C{read} turns them into the field's value (called only when one of them is given).
    """
    return {"strings": names, "read": read}


def _readProto(options: OptionReader) -> str:
    proto = options.required("proto")
    if proto.lower() != "tcp":
        raise options.error(f"proto={proto!r}: only tcp is supported")
    return "tcp"


def _readStartTLS(options: OptionReader) -> str:
    starttls = options.required("starttls")
    try:
        return negotiatorFor(starttls).protocolName
    except UnknownProtocolError as e:
        raise options.error(f"starttls={starttls!r}: not one of {', '.join(e.known)}") from None


def _readHeloName(options: OptionReader) -> str:
    try:
        return heloDomain(options.required("heloName"))
    except ValueError as e:
        raise options.error(str(e)) from None


def _readPolicy(options: OptionReader) -> Policy:
    """
    The policy of C{policy=NAME} (a value of L{Policy}), or of C{require=yes} (the same as
    C{policy=dane-only}); the two exclude each other.
    """
    if not options.given("policy"):
        return Policy.DANE_ONLY if options.flag("require") else Policy.DEFAULT
    if options.given("require"):
        raise options.error(
            "policy and require exclude each other (require=yes is policy=dane-only)"
        )
    name = options.required("policy")
    try:
        return Policy(name.lower())
    except ValueError:
        known = ", ".join(policy.value for policy in Policy)
        raise options.error(f"policy={name!r}: not one of {known}") from None


def _readClientCertificate(options: OptionReader) -> PrivateCertificate:
    certificatePEM = options.readFile("certificate", options.required("certificate"))
    key = options.get("privateKey")
    # One PEM file may hold both.
    keyPEM = options.readFile("privateKey", key) if key else certificatePEM
    try:
        return PrivateCertificate.loadPEM(certificatePEM + b"\n" + keyPEM)
    except Exception as e:
        raise options.error(
            f"certificate/privateKey: not a PEM certificate and key ({e})"
        ) from None


def _readTrustRoots(options: OptionReader) -> PKIXTrust:
    path = options.required("trustRoots")
    files = sorted(Path(path).glob("*.pem")) if Path(path).is_dir() else [Path(path)]
    roots: list[x509.Certificate] = []
    for file in files:
        data = options.readFile("trustRoots", str(file))
        try:
            roots.extend(x509.load_pem_x509_certificates(data))
        except ValueError as e:
            raise options.error(f"trustRoots={str(file)!r}: {e}") from None
    if not roots:
        raise options.error(f"trustRoots={path!r} holds no certificate")
    return PKIXTrust(tuple(roots))


@dataclasses.dataclass(frozen=True)
class DANEOptions:
    """
    How a connection authenticates its server by DANE: everything but where to connect.

    Every field has a default; the endpoints also take the fields as keyword arguments
    (C{DANEEndpoint(reactor, resolver, host, 443, policy=Policy.DANE_ONLY)}).

    @ivar proto: the TLSA protocol label (C{_port._proto.host}); endpoint string C{proto}.
    @ivar tlsaHost: look up TLSA records (and send SNI) for this name instead of the host
        connected to; endpoint string C{tlsaHost}.
    @ivar policy: L{Policy.DEFAULT<txdane.dane.decision.Policy.DEFAULT>} (DANE where
        published, else PKIX), L{Policy.DANE_ONLY<txdane.dane.decision.Policy.DANE_ONLY>}
        (refuse without secure, usable TLSA records; endpoint string C{require=yes}),
        L{Policy.SMTP<txdane.dane.decision.Policy.SMTP>} (RFC 7672) or
        L{Policy.SMTP_STS<txdane.dane.decision.Policy.SMTP_STS>} (RFC 7672 with an enforced
        MTA-STS policy); endpoint string C{policy=} with the policy's value (C{default},
        C{dane-only}, C{smtp}, C{smtp-sts}), which excludes C{require}. Such a value in
        words is also taken here, and made the L{Policy}.
    @ivar clientCertificate: a client certificate with its key, sent when the server asks;
        endpoint strings C{certificate} and C{privateKey} (PEM files; one may hold both).
    @ivar trustRoots: PKIX roots for the PKIX usages and the fallback (default: the
        system's); endpoint string C{trustRoots} (a PEM file or a directory of C{.pem}
        files).
    @ivar checkDANEEENames: also check the host name for DANE-EE (usage 3) records (RFC 7671
        section 5.1 leaves it to the application; web clients should).
    @ivar extraNames: further reference identifiers for DANE-TA and PKIX (an MX or SRV
        domain).
    @ivar acceptableProtocols: ALPN protocols to offer.
    @ivar observer: called with the L{DANEResult} of each handshake verified by DANE (which
        record matched, at which depth of the chain).
    @ivar starttls: connect in cleartext and upgrade with the protocol's STARTTLS, which
        the endpoint negotiates itself: a name of L{PROTOCOLS
        <txdane.endpoints.starttls.PROTOCOLS>} (C{"smtp"}, C{"imap"} ...); endpoint string
        C{starttls}. C{connect()} fires, as without it, only once the upgraded connection
        passed verification; the application never sees the cleartext part, and receives
        a greeting made by the endpoint where the server speaks first (see
        L{txdane.endpoints.starttls}).
    @ivar heloName: the name the endpoint greets an SMTP or LMTP server with before
        STARTTLS (C{EHLO}, C{LHLO}): a domain (an internationalized one is sent in A-labels)
        or an address literal, as L{txdane.names.heloDomain} checks; by default the
        connection's local address as a literal (C{[192.0.2.1]}). Give the name the
        application greets with once TLS is up, so that the server hears one name. For
        C{starttls} C{smtp} and C{lmtp}, and the hosts of an MX plan; endpoint string
        C{heloName}.
    """

    proto: str = dataclasses.field(default="tcp", metadata=_fromStrings("proto", read=_readProto))
    tlsaHost: str | None = dataclasses.field(
        default=None,
        metadata=_fromStrings("tlsaHost", read=lambda options: options.hostName("tlsaHost")),
    )
    policy: Policy = dataclasses.field(
        default=Policy.DEFAULT, metadata=_fromStrings("require", "policy", read=_readPolicy)
    )
    clientCertificate: PrivateCertificate | None = dataclasses.field(
        default=None,
        metadata=_fromStrings("certificate", "privateKey", read=_readClientCertificate),
    )
    trustRoots: PKIXTrust | None = dataclasses.field(
        default=None, metadata=_fromStrings("trustRoots", read=_readTrustRoots)
    )
    checkDANEEENames: bool = False
    extraNames: Sequence[str] = ()
    acceptableProtocols: Sequence[bytes] | None = None
    observer: Callable[[DANEResult], object] | None = None
    starttls: str | None = dataclasses.field(
        default=None, metadata=_fromStrings("starttls", read=_readStartTLS)
    )
    heloName: str | None = dataclasses.field(
        default=None, metadata=_fromStrings("heloName", read=_readHeloName)
    )

    def __post_init__(self) -> None:
        """
        Check every field, so that a wrong value fails here, naming the field, and is never
        read as something else (a policy given as a string used to be ignored).

        @raise TypeError: for a value of the wrong type.
        @raise ValueError: for a value of the right type that cannot be used.
        """
        assign = object.__setattr__
        if not isinstance(self.proto, str) or self.proto.lower() != "tcp":
            raise ValueError(f"proto={self.proto!r}: only tcp is supported")
        assign(self, "proto", "tcp")
        if self.tlsaHost is not None:
            # A name, as the endpoint string's: TLSA records are found by name.
            checkedHost(self.tlsaHost, "tlsaHost", address=False)
        assign(self, "policy", _policy(self.policy))
        if self.clientCertificate is not None:
            checkedInstance(
                self.clientCertificate,
                "clientCertificate",
                PrivateCertificate,
                "PrivateCertificate.loadPEM(certificate and key PEM)",
            )
        if self.trustRoots is not None:
            checkedInstance(
                self.trustRoots, "trustRoots", PKIXTrust, "PKIXTrust(tuple of x509 certificates)"
            )
        checkedFlag(self.checkDANEEENames, "checkDANEEENames")
        # Stored as tuples: the value stays immutable whatever sequence it was given.
        assign(self, "extraNames", checkedSequence(self.extraNames, "extraNames", str, "names"))
        for name in self.extraNames:
            checkedHost(name, "extraNames")
        if self.acceptableProtocols is not None:
            assign(
                self,
                "acceptableProtocols",
                checkedSequence(
                    self.acceptableProtocols,
                    "acceptableProtocols",
                    bytes,
                    "ALPN protocol names as bytes (b'h2')",
                ),
            )
            for protocol in self.acceptableProtocols:
                if not 0 < len(protocol) < 256:
                    # RFC 7301 section 3.1: OpenSSL would refuse the list at each connection.
                    raise ValueError(
                        f"acceptableProtocols: {protocol[:20]!r} is not an ALPN protocol name "
                        "(1 to 255 bytes)"
                    )
        if self.observer is not None:
            checkedCallable(self.observer, "observer")
        if self.starttls is not None:
            if not isinstance(self.starttls, str):
                raise TypeError(f"starttls must be a protocol name, not {self.starttls!r}")
            # Raises UnknownProtocolError, a ValueError, for a name the registry lacks.
            assign(self, "starttls", negotiatorFor(self.starttls).protocolName)
        if self.heloName is not None:
            assign(self, "heloName", heloDomain(self.heloName))
            if self.starttls is not None and self.starttls.upper() not in HELO_PROTOCOLS:
                raise ValueError(
                    f"heloName is the greeting of {' and '.join(HELO_PROTOCOLS)}, "
                    f"not of starttls={self.starttls}"
                )

    @classmethod
    def given(cls, options: DANEOptions | None, overrides: dict[str, Any]) -> DANEOptions:
        """
        C{options} (or the defaults) with the fields named in C{overrides} replaced: what an
        endpoint makes of its C{options} and keyword arguments.

        @raise TypeError: for a name that is not a field.
        """
        base = cls() if options is None else options
        return dataclasses.replace(base, **overrides) if overrides else base


def _policy(value: object) -> Policy:
    """
    C{value} as a L{Policy}: one, or its value in words (C{"dane-only"}), as in endpoint
    strings.

    @raise ValueError: for anything else.
    """
    if isinstance(value, Policy):
        return value
    if isinstance(value, str):
        try:
            return Policy(value.lower())
        except ValueError:
            pass
    known = ", ".join(policy.value for policy in Policy)
    raise ValueError(f"policy={value!r}: not a Policy, nor one of {known}")


def stringOptions() -> frozenset[str]:
    """
    The endpoint-string options the fields of L{DANEOptions} read.
    """
    return frozenset(
        name
        for field in dataclasses.fields(DANEOptions)
        for name in field.metadata.get("strings", ())
    )


def optionsFromStrings(options: OptionReader) -> DANEOptions:
    """
    The L{DANEOptions} an endpoint string gives: each field whose string options are given
    read from them, the others left at their defaults.
    """
    values = {
        field.name: field.metadata["read"](options)
        for field in dataclasses.fields(DANEOptions)
        if "strings" in field.metadata and options.given(*field.metadata["strings"])
    }
    try:
        return DANEOptions(**values)
    except ValueError as e:  # fields that go together, each read well on its own
        raise options.error(str(e)) from None

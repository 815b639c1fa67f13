"""
DANE for protocols that upgrade a plain connection to TLS (SMTP, XMPP, IMAP, LDAP ...).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.ssl import PrivateCertificate

from txdane.dane.decision import Policy
from txdane.dane.matching import DANEResult
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tls import DANEClientTLSOptions
from txdane.endpoints.dane import DANEEndpoint
from txdane.validation.interfaces import IDNSSECResolver


def creatorForStartTLS(
    reactor: Any,
    resolver: IDNSSECResolver,
    host: str,
    port: int,
    *,
    proto: str = "tcp",
    tlsaHost: str | None = None,
    policy: Policy = Policy.DEFAULT,
    clientCertificate: PrivateCertificate | None = None,
    trustRoots: PKIXTrust | None = None,
    extraNames: Sequence[str] = (),
    observer: Callable[[DANEResult], object] | None = None,
) -> Deferred[DANEClientTLSOptions]:
    """
    Look up the TLSA records of C{host}:C{port} and decide, as L{DANEEndpoint} does; return a
    Deferred firing with the TLS connection creator to pass to C{transport.startTLS}. The
    creator checks the server's certificates inside the handshake: a refused server never
    gets application data, and the protocol's C{connectionLost} receives a
    L{DANEVerificationError<txdane.errors.DANEVerificationError>}.

    Fails with L{DANEPolicyError<txdane.errors.DANEPolicyError>} when the lookup forbids
    TLS to this server (bogus or failed lookup; no TLSA with C{Policy.DANE_ONLY}). Use
    C{Policy.SMTP} for RFC 7672 (opportunistic TLS when the zone publishes no usable TLSA).

    Call it before (or while) connecting, e.g. in parallel with a L{DNSSECEndpoint}.
    """

    async def plan() -> DANEClientTLSOptions:
        endpoint = DANEEndpoint(
            reactor,
            resolver,
            host,
            port,
            proto=proto,
            tlsaHost=tlsaHost,
            policy=policy,
            clientCertificate=clientCertificate,
            trustRoots=trustRoots,
            extraNames=extraNames,
            observer=observer,
        )
        _, connectionPlan = await endpoint.plan()
        return DANEClientTLSOptions(connectionPlan, clientCertificate, observer=observer)

    return Deferred.fromCoroutine(plan())

"""
DANE for protocols that upgrade a plain connection to TLS (SMTP, XMPP, IMAP, LDAP ...).
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred

from txdane.dane.tls import DANEClientTLSOptions
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.options import DANEOptions
from txdane.validation.interfaces import IDNSSECResolver


def creatorForStartTLS(
    reactor: Any,
    resolver: IDNSSECResolver,
    host: str,
    port: int,
    *,
    options: DANEOptions | None = None,
    **optionFields: Any,
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

    Call it before (or while) connecting, e.g. in parallel with a L{DNSSECEndpoint
    <txdane.endpoints.dnssec.DNSSECEndpoint>}.

    The creator sets no deadline on the handshake: schedule one yourself when you call
    C{startTLS} (C{reactor.callLater(30, transport.abortConnection)}, cancelled when the
    handshake completes), or use L{DANEEndpoint} with C{starttls}, which does.

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param host: the server's host name.
    @param port: the TCP port.
    @param options: how to authenticate the server (the defaults when omitted).
    @param optionFields: fields of L{DANEOptions} to set, as for L{DANEEndpoint}.
    """
    endpoint = DANEEndpoint(reactor, resolver, host, port, options=options, **optionFields)

    async def plan() -> DANEClientTLSOptions:
        _, connectionPlan = await endpoint.plan()
        return endpoint.creatorFor(connectionPlan)

    return Deferred.fromCoroutine(plan())

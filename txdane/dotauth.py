"""
Authenticating DNS-over-TLS upstreams for a name (RFC 8310 section 8): by DANE where the
name publishes secure TLSA records for the port, else by PKIX.

Which of the two applies is a DNS question (the TLSA RRset at C{_853._tcp.NAME}) asked before
any upstream is trusted. L{UpstreamAuthenticator} asks it through the upstream itself, over a
TLS connection that is encrypted but not yet authenticated, with a validating resolver of its
own: DNSSEC makes the answer trustworthy whoever gives it, and only the queries of that one
lookup (the TLSA RRset and the DS and DNSKEY RRsets of the zones above it) may go over that
connection; any other query is refused before it is written (L{BootstrapQueryError}). Then:

  - secure, usable TLSA records: the server must match them (DANE-EE, DANE-TA, and the PKIX
    usages with PKIX too), checked in the handshake by the DANE layer;
  - TLSA records proven absent, or an insecure zone: PKIX for the name, with the roots given
    (default: the trust store OpenSSL finds, C{SSL_CERT_FILE} included);
  - a bogus, indeterminate or failed lookup: the server is refused, never checked by PKIX
    instead.

The decision is that of the C{dane:} endpoint (L{planConnection}), so the same DANE rules apply
to upstreams and to every other connection. A name that is an IP address has no TLSA records:
PKIX checks the address in the certificate.

Tests: C{tests/transport/test_dotauth.py}, C{tests/peers/test_dot.py}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dns.name
import dns.rdataclass
import dns.rdatatype
from OpenSSL import SSL
from twisted.internet.defer import Deferred, fail

from txdane.dane.decision import (
    Action,
    ConnectionPlan,
    Policy,
    TLSAResult,
    planConnection,
    planWithoutTLSA,
)
from txdane.dane.errors import DANEPolicyError, DANEVerificationError
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tls import DANEClientTLSOptions
from txdane.dane.tlsa import TLSARecord
from txdane.dot import DoTAuthenticationError, DoTClient, UpstreamTLS
from txdane.names import isAddress, nameFromText, tlsaName
from txdane.resolvconf import NameServer
from txdane.transport import DNSError
from txdane.validation.anchors import TrustAnchor, TrustAnchors
from txdane.validation.autotrust import TrustAnchorTracker
from txdane.validation.limits import ValidationLimits
from txdane.validation.resolver import ValidatingResolver

__all__ = ["BootstrapQueryError", "UpstreamAuthenticator"]


class BootstrapQueryError(DNSError):
    """
    A query was not sent to a DNS-over-TLS server that is not authenticated yet: only the
    queries of the TLSA lookup that decides how to authenticate it may be.

    @ivar name: the name of the query refused.
    @ivar owner: the TLSA owner name whose lookup may use the connection.
    """

    name: dns.name.Name
    owner: dns.name.Name
    template = (
        "{name}: not sent to a DNS-over-TLS server before it is authenticated "
        "(only the lookup of {owner} TLSA may be)"
    )


class _ChainOnly:
    """
    A querier that passes on only the queries for C{owner} and the names above it (the
    TLSA RRset, and the DS and DNSKEY RRsets of its chain of trust).
    """

    def __init__(self, querier: DoTClient, owner: dns.name.Name) -> None:
        self._querier = querier
        self._owner = owner

    def query(
        self,
        name: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str | int,
        rdclass: dns.rdataclass.RdataClass | str | int = dns.rdataclass.IN,
        **kw: Any,
    ) -> Deferred[Any]:
        qname = nameFromText(name) if isinstance(name, str) else name
        if not self._owner.is_subdomain(qname):
            return fail(BootstrapQueryError(qname, self._owner))
        return self._querier.query(qname, rdtype, rdclass, **kw)


class UpstreamAuthenticator:
    """
    The C{authenticate} callable of a L{DoTClient}: decides, for each server, how its
    certificate must prove L{serverName}, as the module docstring says.

    @ivar serverName: the name the servers must prove.
    @ivar trust: the PKIX roots (for PKIX, and for the PKIX-TA and PKIX-EE usages).
    """

    def __init__(
        self,
        reactor: Any,
        serverName: str,
        *,
        trustAnchors: TrustAnchors | None = None,
        limits: ValidationLimits | None = None,
        trust: PKIXTrust | None = None,
        timeout: float | None = None,
        deadline: float | None = None,
        trustAnchorTracker: TrustAnchorTracker | None = None,
    ) -> None:
        """
        @param reactor: the reactor to connect and time with.
        @param serverName: the name to authenticate the servers for (a host name, or an IP
            address for PKIX only).
        @param trustAnchors: the trust anchors the TLSA lookup is validated from (default:
            the IANA root's).
        @param trustAnchorTracker: the RFC 5011 tracker of the anchor of one zone (a trust
            anchor state file's), whose keys then replace C{trustAnchors}' anchor of that
            zone, as for the validating resolver the upstreams serve: after the zone rolled
            its key, the configured anchor alone matches nothing. The lookup only reads the
            keys the tracker trusts when it starts; the resolver keeps them up to date.
        @param limits: the validator's limits for that lookup.
        @param trust: the PKIX roots (default: the system's).
        @param timeout: per query of the TLSA lookup (and per TLS handshake).
        @param deadline: total seconds per query of the TLSA lookup.
        """
        self._reactor = reactor
        self.serverName = serverName.rstrip(".") or serverName
        self.trust = trust if trust is not None else PKIXTrust()
        self._trustAnchors = trustAnchors
        self._tracker = trustAnchorTracker
        self._limits = limits
        self._timeout = timeout
        self._deadline = deadline
        self._resolvers: dict[
            NameServer, tuple[ValidatingResolver, DoTClient, TrustAnchor | None]
        ] = {}
        #: The decisions in progress on each bootstrap client (a decision the DoT client
        #: stopped waiting for may still be, when the next one starts).
        self._deciding: dict[DoTClient, int] = {}

    def __call__(self, server: NameServer) -> Deferred[UpstreamTLS]:
        """
        How to speak TLS to C{server}: a Deferred firing with the L{UpstreamTLS} whose
        creator enforces the decision, or failing with L{DoTAuthenticationError}.
        """
        return Deferred.fromCoroutine(self._authenticate(server))

    async def _authenticate(self, server: NameServer) -> UpstreamTLS:
        if isAddress(self.serverName):
            why = "an IP address has no TLSA records"
            plan = planWithoutTLSA(self.serverName, server.port, why, trust=self.trust)
        else:
            plan = await self._plan(server)
        return UpstreamTLS(DANEClientTLSOptions(plan), self._explainer(plan))

    async def _plan(self, server: NameServer) -> ConnectionPlan:
        owner = tlsaName(self.serverName, server.port)
        resolver, client = self._bootstrap(server, owner)
        self._deciding[client] = self._deciding.get(client, 0) + 1
        try:
            answer = await resolver.lookupTLSA(self.serverName, server.port)
            records = tuple(TLSARecord.fromRdata(r) for r in answer.records)  # type: ignore[arg-type]
            outcome: TLSAResult | BaseException = TLSAResult(
                answer.status,
                records,
                nameFromText(self.serverName),
                answer.reason,
                answer.ede,
            )
        except Exception as e:
            outcome = e
        finally:
            # The bootstrap connection carries nothing else: do not keep it open, once no
            # other decision is using it (closing fails the queries in progress). Closing
            # takes the DoT client's grace at most (CLOSE_GRACE, or its timeout if shorter),
            # even with a server that ignores TLS's close_notify.
            left = self._deciding.pop(client) - 1
            if left:
                self._deciding[client] = left
            else:
                await client.close()
        try:
            return planConnection(
                outcome, self.serverName, server.port, Policy.DEFAULT, trust=self.trust
            )
        except DANEPolicyError as e:
            raise DoTAuthenticationError(server, self.serverName, e.reason) from e

    def _bootstrap(
        self, server: NameServer, owner: dns.name.Name
    ) -> tuple[ValidatingResolver, DoTClient]:
        """
        The validating resolver (one per server, so its cache keeps the TLSA answer for its
        TTL) that looks up C{owner} over an encrypted but unauthenticated connection to
        C{server}; a new one once the tracker, if any, trusts other keys.
        """
        tracked = self._tracker.anchor() if self._tracker is not None else None
        found = self._resolvers.get(server)
        if found is not None and found[2] == tracked:
            return found[0], found[1]
        anchors = self._trustAnchors
        if tracked is not None:
            configured = anchors.anchors if anchors is not None else TrustAnchors.builtin().anchors
            anchors = TrustAnchors((*(a for a in configured if a.zone != tracked.zone), tracked))
        unauthenticated = ConnectionPlan(
            Action.ENCRYPT,
            self.serverName,
            server.port,
            self.serverName,
            reason="looking up how to authenticate the server",
        )
        creator = DANEClientTLSOptions(unauthenticated)
        client = DoTClient(
            self._reactor,
            [server],
            self.serverName,
            lambda _server: creator,
            timeout=self._timeout,
            deadline=self._deadline,
        )
        resolver = ValidatingResolver(
            _ChainOnly(client, owner),
            trustAnchors=anchors,
            limits=self._limits,
            clock=self._reactor,
        )
        self._resolvers[server] = (resolver, client, tracked)
        return resolver, client

    def _explainer(self, plan: ConnectionPlan) -> Callable[[BaseException], str | None]:
        def explain(error: BaseException) -> str | None:
            if isinstance(error, DANEVerificationError):
                return error.reason
            if plan.action is not Action.PKIX:
                return None
            if isinstance(error, SSL.Error):
                try:
                    parts = [str(p[2]) for p in error.args[0] if len(p) > 2]
                except (IndexError, TypeError):
                    parts = []
                why = f"the certificate chain is not valid ({'; '.join(parts) or error})"
            elif type(error).__name__ == "VerificationError":  # service_identity's
                why = f"the certificate is not valid for {plan.serverName}"
            else:
                return None
            return f"no DANE ({plan.reason}), and PKIX verification failed: {why}"

        return explain

"""
HTTPS with DANE: an endpoint factory for Twisted's C{Agent}.

    from twisted.web.client import Agent, HTTPConnectionPool
    agent = daneAgent(reactor, resolver, pool=HTTPConnectionPool(reactor))
    response = await agent.request(b"GET", b"https://www.example.com/")

C{treq} takes the same agent: C{treq.get(url, agent=agent)}, or
C{treq.client.HTTPClient(agent)}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.iweb import IAgent, IAgentEndpointFactory
from zope.interface import implementer

from txdane.dane.decision import Policy
from txdane.dane.pkix import PKIXTrust
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.errors import TxdaneError
from txdane.validation.interfaces import IDNSSECResolver


class UnsupportedSchemeError(TxdaneError, ValueError):
    """
    A URL's scheme is neither http nor https.
    """


@implementer(IAgentEndpointFactory)
class DANEEndpointFactory:
    """
    Makes a L{DANEEndpoint} for each C{https} URL and, unless C{httpsOnly}, a L{DNSSECEndpoint} for
    C{http} URLs (addresses from signed or unsigned zones, never bogus ones).

    @param policy: L{Policy.DEFAULT} (DANE where published, else PKIX) or
        L{Policy.DANE_ONLY}.
    @param trustRoots: PKIX roots (default: the system's).
    @param httpsOnly: refuse plain C{http} URLs.
    @param checkDANEEENames: check the host name for DANE-EE records too (on by default: a
        web client should not accept a certificate made for another name, RFC 7671 section
        5.1; turn it off for servers whose DANE-EE certificates carry no name).
    @param timeout: seconds per TCP connection attempt.
    """

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        *,
        policy: Policy = Policy.DEFAULT,
        trustRoots: PKIXTrust | None = None,
        httpsOnly: bool = False,
        checkDANEEENames: bool = True,
        timeout: float = 30,
    ) -> None:
        self.checkDANEEENames = checkDANEEENames
        self._reactor = reactor
        self.resolver = resolver
        self.policy = policy
        self.trustRoots = trustRoots
        self.httpsOnly = httpsOnly
        self.timeout = timeout

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        # The host as the URL spells it: an IDNA (xn--) label stays ASCII, so the DNS name
        # is exactly the URL's (Python's IDNA 2003 codec cannot decode every such label).
        host = uri.host.decode("utf-8") if isinstance(uri.host, bytes) else uri.host
        scheme = uri.scheme.decode("ascii") if isinstance(uri.scheme, bytes) else uri.scheme
        if scheme == "https":
            return DANEEndpoint(
                self._reactor,
                self.resolver,
                host,
                uri.port,
                policy=self.policy,
                trustRoots=self.trustRoots,
                checkDANEEENames=self.checkDANEEENames,
                acceptableProtocols=[b"http/1.1"],
                timeout=self.timeout,
            )
        if scheme == "http" and not self.httpsOnly:
            return DNSSECEndpoint(
                self._reactor,
                self.resolver,
                host,
                uri.port,
                allowInsecure=True,
                timeout=self.timeout,
            )
        raise UnsupportedSchemeError(f"cannot fetch {scheme}: URLs with DANE")


def daneAgent(
    reactor: Any,
    resolver: IDNSSECResolver,
    *,
    pool: HTTPConnectionPool | None = None,
    **factoryOptions: Any,
) -> IAgent:
    """
    An C{IAgent} whose HTTPS connections are authenticated by DANE (see
    L{DANEEndpointFactory} for C{factoryOptions}). Pass an C{HTTPConnectionPool} to keep
    connections alive between requests.
    """
    return Agent.usingEndpointFactory(
        reactor, DANEEndpointFactory(reactor, resolver, **factoryOptions), pool=pool
    )

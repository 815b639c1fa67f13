"""
A small world on loopback for the endpoint tests: TLS servers, the signed hierarchy (with TLSA
records for the servers' ports) served by txdane's DNS server, and a validating resolver that
asks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory
from twisted.protocols.tls import TLSMemoryBIOFactory

from txdane.dane.tlsa import recordForCertificate
from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import DNSClient, DNSError
from txdane.validation import TrustAnchors, ValidatingResolver

from ..dane.certs import Issued, issue
from ..dane.tlsserver import GreetingServer, serverOptions

reactor: Any = _reactor


@dataclass
class TLSServer:
    """
    A greeting TLS server listening on one port of 127.0.0.1 and ::1.
    """

    certificate: Issued
    ports: list[IListeningPort] = field(default_factory=list)
    factory: Any = None
    connections: int = 0

    @property
    def port(self) -> int:
        return self.ports[0].getHost().port  # type: ignore[attr-defined]

    def record(self, usage: int = 3, selector: int = 1, matchingType: int = 1) -> str:
        return str(recordForCertificate(self.certificate.cert, usage, selector, matchingType))


def startTLSServer(
    certificate: Issued,
    *chain: Issued,
    interfaces: Iterable[str] = ("127.0.0.1", "::1"),
    **options: Any,
) -> TLSServer:
    """
    Start a greeting TLS server on C{interfaces}; C{options} are those of L{serverOptions}
    (C{requireClientCertificate}, C{maximumVersion}).
    """
    server = TLSServer(certificate)
    factory: Any = Factory.forProtocol(GreetingServer)
    factory.serverNames = []
    factory.clientCertificates = []
    server.factory = factory
    original = factory.buildProtocol

    def counting(addr: Any) -> Any:
        server.connections += 1
        return original(addr)

    factory.buildProtocol = counting
    tls = TLSMemoryBIOFactory(serverOptions(certificate, *chain, **options), False, factory)
    port = 0
    for interface in interfaces:
        listening = reactor.listenTCP(port, tls, interface=interface)
        port = listening.getHost().port
        server.ports.append(listening)
    return server


@dataclass
class World:
    hierarchy: Hierarchy
    dnsServer: Any
    resolver: ValidatingResolver
    client: DNSClient

    @property
    def resolverAddress(self) -> str:
        return f"127.0.0.1#{self.dnsServer.port}"


async def makeWorld(
    extraRecords: dict[str, list[str]], querier: Callable[[DNSClient], Any] | None = None
) -> World:
    hierarchy = buildHierarchy(extraRecords=extraRecords)
    server = await hierarchy.serve(reactor)
    client = DNSClient(reactor, [f"127.0.0.1#{server.port}"], timeout=2, attempts=1)
    resolver = ValidatingResolver(
        querier(client) if querier else client,
        trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]),
        clock=reactor,
    )
    return World(hierarchy, server, resolver, client)


class FailingQuerier:
    """
    Passes queries to a real client, except those for one type, which fail with C{error}
    (a SERVFAIL, a timeout): how a network failure looks to the validator.
    """

    def __init__(self, client: DNSClient, rdtype: str, error: DNSError) -> None:
        self.client = client
        self.rdtype = rdtype
        self.error = error

    def query(self, name: Any, rdtype: Any, *args: Any, **kw: Any) -> Deferred[Any]:
        import dns.rdatatype

        if dns.rdatatype.RdataType.make(rdtype) == dns.rdatatype.from_text(self.rdtype):
            return fail(self.error)
        return self.client.query(name, rdtype, *args, **kw)


def selfSigned(name: str = "www.example.test") -> Issued:
    return issue(name)

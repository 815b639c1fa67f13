"""
A small world for the fetch tests: an HTTPS policy server on loopback (twisted.web behind
TLS, its certificate issued by a private CA made here), and the signed test hierarchy with
the policy hosts' addresses and C{_mta-sts} records:

| domain        | TXT                    | mta-sts host           | exercises                 |
|---------------|------------------------|------------------------|---------------------------|
| example.test  | id=2024a (secure)      | 127.0.0.1, in the cert | the usual fetch           |
| unsigned.test | id=u1 (insecure)       | 127.0.0.1, in the cert | an unsigned domain        |
| nsec3.test    | id=n1 (secure)         | 127.0.0.1, not in it   | a certificate name wrong  |
| badds.test    | id=b1 (bogus)          | 127.0.0.1              | a bogus TXT answer        |
| optout.test   | none                   | none                   | a domain without a policy |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dns.name
import dns.rdatatype
from twisted.internet.defer import Deferred, DeferredList, fail, succeed
from twisted.internet.interfaces import IListeningPort
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site
from zope.interface import implementer

from txdane.dane.pkix import PKIXTrust
from txdane.mtasts import PolicyResolver
from txdane.validation import Answer, IDNSSECResolver
from txdane.validation.lookups import TypedLookups

from ..dane.certs import Issued, issue
from ..dane.tlsserver import serverOptions
from ..endpoints.world import World, makeWorld, reactor
from ..fakeresolver import answer

POLICY = (
    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.test\r\nmx: *.mx.example.test\r\n"
    "max_age: 86400\r\n"
)

RECORDS = {
    "example.test.": ["mta-sts 300 IN A 127.0.0.1", '_mta-sts 300 IN TXT "v=STSv1; id=2024a"'],
    "unsigned.test.": ["mta-sts 300 IN A 127.0.0.1", '_mta-sts 300 IN TXT "v=STSv1; id=u1"'],
    "nsec3.test.": ["mta-sts 300 IN A 127.0.0.1", '_mta-sts 300 IN TXT "v=STSv1; id=n1"'],
    "badds.test.": ["mta-sts 300 IN A 127.0.0.1", '_mta-sts 300 IN TXT "v=STSv1; id=b1"'],
}


class PolicyResource(Resource):
    """
    Serves whatever the test says at C{/.well-known/mta-sts.txt}, and counts the requests.

    @ivar status: the HTTP status.
    @ivar contentType: the Content-Type, or C{None} for none.
    @ivar body: the body.
    @ivar location: a Location header, for redirects.
    @ivar chunks: when set, the body is sent in these pieces, chunked, without a length.
    @ivar stall: send the headers (and C{body}, if any) and never finish.
    @ivar extraHeaders: more header lines to send, as C{(name, value)} pairs.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.status = 200
        self.contentType: bytes | None = b"text/plain; charset=utf-8"
        self.body = POLICY.encode()
        self.location: bytes | None = None
        self.chunks: list[bytes] | None = None
        self.stall = False
        self.extraHeaders: list[tuple[bytes, bytes]] = []
        self.requests: list[tuple[bytes, bytes, bytes | None]] = []

    def render_GET(self, request: Any) -> Any:
        self.requests.append(
            (request.path, request.getHeader(b"host"), request.getHeader(b"accept"))
        )
        request.setResponseCode(self.status)
        if self.contentType is not None:
            request.setHeader(b"content-type", self.contentType)
        if self.location is not None:
            request.setHeader(b"location", self.location)
        for name, value in self.extraHeaders:
            request.responseHeaders.addRawHeader(name, value)
        if self.stall:
            request.write(self.body)
            return NOT_DONE_YET
        if self.chunks is not None:
            for chunk in self.chunks:
                request.write(chunk)
            request.finish()
            return NOT_DONE_YET
        return self.body


@dataclass
class PolicyServer:
    """
    The HTTPS policy server on 127.0.0.1.
    """

    ca: Issued
    certificate: Issued
    resource: PolicyResource
    port: IListeningPort
    lost: list[Deferred[None]] = field(default_factory=list)

    @property
    def portNumber(self) -> int:
        return self.port.getHost().port  # type: ignore[attr-defined]

    @property
    def trust(self) -> PKIXTrust:
        return PKIXTrust((self.ca.cert,))

    def stop(self) -> Deferred[Any]:
        """
        Stop listening, once every connection the server accepted is closed.
        """
        closed = DeferredList(list(self.lost))
        closed.addCallback(lambda _: self.port.stopListening())
        return closed


def startPolicyServer(
    names: tuple[str, ...] = ("mta-sts.example.test", "mta-sts.unsigned.test"),
) -> PolicyServer:
    """
    Start a policy server whose certificate, for C{names}, is issued by a private CA.
    """
    ca = issue("MTA-STS Test CA", ca=True)
    certificate = issue(names[0], ca, names=names)
    resource = PolicyResource()
    site = Site(resource)
    site.displayTracebacks = False
    lost: list[Deferred[None]] = []
    original = site.buildProtocol

    def build(addr: Any) -> Any:
        protocol = original(addr)
        closed: Deferred[None] = Deferred()
        lost.append(closed)
        connectionLost = protocol.connectionLost

        def noted(reason: Any) -> None:
            connectionLost(reason)
            closed.callback(None)

        protocol.connectionLost = noted
        return protocol

    site.buildProtocol = build  # type: ignore[method-assign]
    factory = TLSMemoryBIOFactory(serverOptions(certificate, ca), False, site)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    return PolicyServer(ca, certificate, resource, port, lost)


@implementer(IDNSSECResolver)
class OverridingResolver(TypedLookups):
    """
    Asks the world's resolver, except for the TXT records the test set in C{txt} (an answer,
    or an exception to fail with); counts the TXT lookups.
    """

    def __init__(self, resolver: Any) -> None:
        self.resolver = resolver
        self.txt: dict[str, Answer | Exception] = {}
        self.txtLookups: list[str] = []

    def setTXT(self, name: str, *texts: str, **kw: Any) -> None:
        """
        Answer TXT lookups of C{name} with these records (C{status} and the rest as for
        L{answer}).
        """
        quoted = [f'"{t}"' for t in texts]
        self.txt[name] = answer("TXT", *quoted, name=name, **kw)

    def lookup(self, name: Any, rdtype: Any) -> Deferred[Answer]:
        key = str(dns.name.from_text(str(name)))
        if dns.rdatatype.RdataType.make(rdtype) == dns.rdatatype.TXT:
            self.txtLookups.append(key)
            if key in self.txt:
                given = self.txt[key]
                return fail(given) if isinstance(given, Exception) else succeed(given)
        result: Deferred[Answer] = self.resolver.lookup(name, rdtype)
        return result


@dataclass
class PolicyWorld:
    world: World
    server: PolicyServer
    resolver: OverridingResolver

    def policyResolver(self, **kw: Any) -> PolicyResolver:
        """
        A L{PolicyResolver} for the world, trusting the server's CA unless told otherwise.
        """
        kw.setdefault("trustRoots", self.server.trust)
        kw.setdefault("httpsPort", self.server.portNumber)
        kw.setdefault("timeout", 5)
        return PolicyResolver(reactor, self.resolver, **kw)


async def makePolicyWorld(addCleanup: Callable[..., object]) -> PolicyWorld:
    server = startPolicyServer()
    addCleanup(server.stop)
    world = await makeWorld(RECORDS)
    addCleanup(world.dnsServer.stop)
    return PolicyWorld(world, server, OverridingResolver(world.resolver))

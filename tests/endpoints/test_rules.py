"""
The rules every C{dane:} connection follows before it uses TLSA records (RFC 7672 section
2.2.2, RFC 7673 section 3.2): no TLSA records for a host whose addresses are insecure, except
behind a secure CNAME; and what secure but unusable records require.
"""

from __future__ import annotations

from typing import Any

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from txdane.dane.decision import Action, Policy
from txdane.dane.errors import DANEPolicyError, DANEVerificationError
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints import DANEEndpoint
from txdane.resolvconf import NameServer
from txdane.status import Status
from txdane.testing import buildHierarchy
from txdane.transport import DNSClient, DNSServerError, DNSTimeoutError
from txdane.validation import TrustAnchors, ValidatingResolver

from ..dane.certs import issue
from .test_dane import recordingFactory
from .world import FailingQuerier, World, makeWorld, reactor, startTLSServer

UNSIGNED = "www.unsigned.test"


class SilentOnTLSA:
    """
    Passes queries on, except TLSA queries, which are never answered (a server that drops
    them): the lookup only ends when it is cancelled.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pending: list[Deferred[Any]] = []

    def query(self, name: Any, rdtype: Any, *args: Any, **kw: Any) -> Deferred[Any]:
        if dns.rdatatype.RdataType.make(rdtype) == dns.rdatatype.TLSA:
            self.pending.append(Deferred())
            return self.pending[-1]
        return self.client.query(name, rdtype, *args, **kw)


def servfail() -> DNSServerError:
    response = dns.message.make_response(dns.message.make_query("x.", "TLSA"))
    response.set_rcode(dns.rcode.SERVFAIL)
    return DNSServerError(response, NameServer("127.0.0.1"))


class InsecureAddressesTests(TestCase):
    async def world(self, records: dict[str, list[str]], **kw: Any) -> World:
        world = await makeWorld(records, **kw)
        self.addCleanup(world.dnsServer.stop)
        return world

    def server(self, certificate: Any) -> Any:
        server = startTLSServer(certificate)
        for port in server.ports:
            self.addCleanup(port.stopListening)
        return server

    async def connectsLikeTLS(self, world: World, server: Any, root: Any) -> None:
        factory, _ = recordingFactory()
        endpoint = DANEEndpoint(
            reactor, world.resolver, UNSIGNED, server.port, trustRoots=PKIXTrust((root.cert,))
        )
        _, plan = await endpoint.plan()
        self.assertIs(plan.action, Action.PKIX)
        self.assertIn("not consulted", plan.reason)
        protocol: Any = await endpoint.connect(factory)
        await protocol.greeted
        protocol.transport.abortConnection()
        await protocol.lost

    async def test_servfailOnTLSAInUnsignedZone(self) -> None:
        """
        An unsigned domain whose servers answer TLSA queries with SERVFAIL connects exactly
        as C{tls:} would: the TLSA outcome is not used, nor logged as an unhandled error.
        """
        root = issue("Test Root", ca=True)
        server = self.server(issue(UNSIGNED, root))
        world = await self.world(
            {}, querier=lambda client: FailingQuerier(client, "TLSA", servfail())
        )
        await self.connectsLikeTLS(world, server, root)

    async def test_timeoutOnTLSAInUnsignedZone(self) -> None:
        """
        The same when the TLSA queries time out (fail late) or are never answered: the
        connection does not wait for them, and the lookup left behind is stopped.
        """
        root = issue("Test Root", ca=True)
        server = self.server(issue(UNSIGNED, root))
        timeout = DNSTimeoutError(
            dns.name.from_text("x."), dns.rdatatype.TLSA, [NameServer("127.0.0.1")], 3
        )
        world = await self.world({}, querier=lambda client: FailingQuerier(client, "TLSA", timeout))
        await self.connectsLikeTLS(world, server, root)
        silent: list[SilentOnTLSA] = []

        def querier(client: Any) -> SilentOnTLSA:
            silent.append(SilentOnTLSA(client))
            return silent[-1]

        world = await self.world({}, querier=querier)
        await self.connectsLikeTLS(world, server, root)
        self.assertTrue(silent[0].pending)
        self.assertTrue(all(d.called for d in silent[0].pending))

    async def test_requireRefusesInsecureAddresses(self) -> None:
        world = await self.world({})
        endpoint = DANEEndpoint(reactor, world.resolver, UNSIGNED, 443, policy=Policy.DANE_ONLY)
        error: Any = await self.assertFailure(
            Deferred.fromCoroutine(endpoint.plan()), DANEPolicyError
        )
        self.assertIn("DANE is required but the addresses of www.unsigned.test", str(error))

    async def test_secureCNAMEIntoUnsignedZone(self) -> None:
        """
        C{tounsigned.example.test} is a secure CNAME to C{www.unsigned.test}: the addresses
        are insecure, but the TLSA records at the original name are secure and used (SNI
        and the reference identifier stay the original name).
        """
        certificate = issue("tounsigned.example.test")
        server = self.server(certificate)
        record = recordForCertificate(certificate.cert, 3, 1, 1)
        world = await self.world(
            {"example.test.": [f"_{server.port}._tcp.tounsigned 300 IN TLSA {record}"]}
        )
        endpoint = DANEEndpoint(reactor, world.resolver, "tounsigned.example.test", server.port)
        _, plan = await endpoint.plan()
        self.assertIs(plan.action, Action.DANE)
        self.assertEqual(plan.serverName, "tounsigned.example.test")
        factory, _ = recordingFactory()
        protocol: Any = await endpoint.connect(factory)
        await protocol.greeted
        protocol.transport.abortConnection()
        await protocol.lost
        self.assertEqual(server.factory.serverNames, [b"tounsigned.example.test"])
        # A record for another key refuses: the records were not ignored.
        other = recordForCertificate(issue("x").cert, 3, 1, 1)
        world = await self.world(
            {"example.test.": [f"_{server.port}._tcp.tounsigned 300 IN TLSA {other}"]}
        )
        await self.assertFailure(
            DANEEndpoint(reactor, world.resolver, "tounsigned.example.test", server.port).connect(
                recordingFactory()[0]
            ),
            DANEVerificationError,
        )


class BogusAtAliasTargetTests(TestCase):
    async def test_bogusTLSAAtTargetRefused(self) -> None:
        """
        C{alias.example.test} is a secure CNAME to C{www.example.test}, whose TLSA RRset has
        lost its signature: the endpoint refuses with the bogus status, without C{tlsaHost};
        a bogus answer at the target is never read as "no TLSA" (which would fall back to
        the original name's records, here none, and to a PKIX connection).
        """
        server = startTLSServer(issue("www.example.test"))
        for port in server.ports:
            self.addCleanup(port.stopListening)
        owner = f"_{server.port}._tcp.www.example.test."
        hierarchy = buildHierarchy(
            extraRecords={"example.test.": [f"{owner} 300 IN TLSA {server.record()}"]}
        )
        zone = hierarchy.zones[dns.name.from_text("example.test.")]
        zone.delete_rdataset(dns.name.from_text(owner), dns.rdatatype.RRSIG, dns.rdatatype.TLSA)
        dnsServer = await hierarchy.serve(reactor)
        self.addCleanup(dnsServer.stop)
        resolver = ValidatingResolver(
            DNSClient(reactor, [f"127.0.0.1#{dnsServer.port}"], timeout=2, attempts=1),
            trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]),
            clock=reactor,
        )
        endpoint = DANEEndpoint(reactor, resolver, "alias.example.test", server.port)
        error: Any = await self.assertFailure(
            Deferred.fromCoroutine(endpoint.plan()), DANEPolicyError
        )
        self.assertIs(error.status, Status.BOGUS)
        await self.assertFailure(endpoint.connect(recordingFactory()[0]), DANEPolicyError)
        self.assertEqual(server.connections, 0)


class AllUnusableTests(TestCase):
    async def test_encryptWithoutAuthenticating(self) -> None:
        """
        Secure TLSA records that are all unusable (an unknown usage; PKIX usages under SMTP)
        make TLS mandatory but unauthenticated for SMTP: any certificate is accepted.
        """
        server = startTLSServer(issue("some.other.name"))
        for port in server.ports:
            self.addCleanup(port.stopListening)
        world = await makeWorld(
            {
                "example.test.": [
                    f"_{server.port}._tcp.www 300 IN TLSA 4 1 1 {'ab' * 32}",
                    f"_{server.port}._tcp.www 300 IN TLSA 1 1 1 {'cd' * 32}",
                ]
            }
        )
        self.addCleanup(world.dnsServer.stop)
        endpoint = DANEEndpoint(
            reactor, world.resolver, "www.example.test", server.port, policy=Policy.SMTP
        )
        _, plan = await endpoint.plan()
        self.assertEqual((plan.action, plan.tlsRequired), (Action.ENCRYPT, True))
        factory, _ = recordingFactory()
        protocol: Any = await endpoint.connect(factory)
        await protocol.greeted
        protocol.transport.abortConnection()
        await protocol.lost
        _, plan = await DANEEndpoint(
            reactor, world.resolver, "www.example.test", server.port
        ).plan()
        self.assertEqual((plan.action, plan.tlsRequired), (Action.DANE, True))

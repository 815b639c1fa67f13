"""
Tests for L{txdane.publish.findZone}: the zone a name is published in, as the primary server
says, and what it says when the server does not hold the name.
"""

from __future__ import annotations

import dns.name
from twisted.internet import reactor
from twisted.trial.unittest import TestCase

from txdane.publish import PublishError, findZone
from txdane.resolvconf import NameServer
from txdane.server.service import listenDNS, responderForZones
from txdane.testing import buildHierarchy


class FindZoneTests(TestCase):
    """
    A server holding only C{test.} is asked for the zones of names in it and below it.
    """

    async def serve(self) -> NameServer:
        hierarchy = buildHierarchy()
        responder = responderForZones([hierarchy.zones[dns.name.from_text("test.")]])
        running = await listenDNS(reactor, responder, "127.0.0.1", 0)
        self.addCleanup(running.stop)
        return NameServer("127.0.0.1", running.port)

    async def test_heldName(self) -> None:
        """
        A name the server holds is in the zone whose SOA it gives.
        """
        name = dns.name.from_text("nx.test.")
        server = await self.serve()
        self.assertEqual(await findZone(reactor, server, name), dns.name.from_text("test."))

    async def test_delegatedName(self) -> None:
        """
        A name below one of the server's delegations is refused naming the delegated zone,
        whose own primary holds its records, not as a server that gave no SOA.
        """
        server = await self.serve()
        name = dns.name.from_text("_443._tcp.www.example.test.")
        with self.assertRaises(PublishError) as caught:
            await findZone(reactor, server, name)
        self.assertIn(
            "the server refers the name to the delegated zone example.test (its NS records):"
            " the records of example.test are published on its own primary server",
            str(caught.exception),
        )

    async def test_nameElsewhere(self) -> None:
        """
        A name of another tree altogether: the server gives no SOA and is not
        authoritative, which the error says.
        """
        server = await self.serve()
        with self.assertRaises(PublishError) as caught:
            await findZone(reactor, server, dns.name.from_text("www.example.org."))
        self.assertIn("it is not authoritative for it", str(caught.exception))

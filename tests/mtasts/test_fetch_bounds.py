"""
The bound on a policy fetch's whole response (L{HEADER_ALLOWANCE} beyond C{maxSize}),
against HTTPS servers on loopback with certificates of the world's private CA: one that
answers C{200 OK} and then sends header lines without end, and twisted.web with many
headers that stay within the allowance.
"""

from __future__ import annotations

from twisted.trial.unittest import TestCase

from txdane.mtasts import HEADER_ALLOWANCE, PolicyFailure

from ..dane.tlsserver import serverOptions
from ..endpoints.headerflood import FLOOD_CAP, TLS_RECORD, Flood, countReceived
from ..endpoints.world import reactor
from .policyworld import POLICY, PolicyWorld, makePolicyWorld


class ResponseBoundTests(TestCase):
    async def world(self) -> PolicyWorld:
        return await makePolicyWorld(self.addCleanup)

    async def test_headerFlood(self) -> None:
        """
        A policy host that answers C{200 OK} and then sends header lines without end: the
        connection is aborted once C{maxSize} plus L{HEADER_ALLOWANCE} bytes arrived, and
        the fetch fails at once (not at its deadline) saying the response is too large.
        """
        world = await self.world()
        flood = Flood()
        server = world.server
        port = flood.listen(serverOptions(server.certificate, server.ca), self.addCleanup)
        received = countReceived(self)
        policies = world.policyResolver(httpsPort=port, maxSize=1000, timeout=5)
        started = reactor.seconds()
        outcome = await policies.policyFor("example.test")
        await flood.lost
        limit = 1000 + HEADER_ALLOWANCE
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
        self.assertIn(f"the response is larger than {limit} bytes", outcome.reason)
        self.assertLess(reactor.seconds() - started, 4)
        # What reached the HTTP client: the bound, plus at most the last piece TLS handed
        # over (a TLS record's plaintext, 16 KiB).
        (count,) = received
        self.assertGreater(count, limit)
        self.assertLessEqual(count, limit + TLS_RECORD)
        self.assertLess(flood.sent, FLOOD_CAP)

    async def test_headersWithinAllowance(self) -> None:
        """
        A response whose header lines take nearly all of L{HEADER_ALLOWANCE}, with a policy
        of nearly C{maxSize}: the policy is fetched.
        """
        world = await self.world()
        resource = world.server.resource
        resource.extraHeaders = [(b"x-pad-%d" % i, b"a" * 8000) for i in range(7)]
        resource.body = POLICY.encode() + b"note: " + b"n" * (1990 - len(POLICY)) + b"\n"
        outcome = await world.policyResolver(maxSize=2000).policyFor("example.test")
        assert outcome.policy is not None, outcome.reason
        self.assertEqual(outcome.policy.text.encode(), resource.body)

"""
Discovery and fetch over real HTTPS on loopback: the TXT record from the signed test
hierarchy, the policy from twisted.web behind TLS with a certificate of a private CA.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.name
import dns.rdatatype
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

from txdane.dane.pkix import PKIXTrust
from txdane.errors import LookupFailedError
from txdane.mtasts import (
    POLICY_PATH,
    Mode,
    MTASTSError,
    PolicyFailure,
    PolicyOutcome,
    PolicyResolver,
    fetchPolicy,
    policyURL,
)
from txdane.status import Status

from ..dane.certs import issue
from ..endpoints.world import reactor
from .policyworld import POLICY, PolicyWorld, makePolicyWorld


class FetchTests(TestCase):
    async def world(self) -> PolicyWorld:
        return await makePolicyWorld(self.addCleanup)

    def directory(self) -> Path:
        """
        A new, empty directory, removed after the test.
        """
        path = Path(tempfile.mkdtemp(prefix="mtasts-"))
        self.addCleanup(shutil.rmtree, path, ignore_errors=True)
        return path

    async def test_fresh(self) -> None:
        """
        A domain's policy is fetched from its policy host, with SNI and Host
        C{mta-sts.DOMAIN}, and parsed.
        """
        world = await self.world()
        before = reactor.seconds()
        outcome = await world.policyResolver().policyFor("Example.Test.")
        self.assertEqual(outcome.domain, "example.test")
        self.assertIsNone(outcome.failure)
        self.assertFalse(outcome.fromCache)
        policy = outcome.policy
        assert policy is not None
        self.assertEqual(policy.mode, Mode.ENFORCE)
        self.assertEqual(policy.mx, ("mx1.example.test", "*.mx.example.test"))
        self.assertEqual(policy.maxAge, 86400)
        self.assertEqual(policy.id, "2024a")
        self.assertEqual(policy.text, POLICY)
        self.assertGreaterEqual(policy.fetched, before)
        self.assertTrue(policy.matches("a.mx.example.test"))
        port = world.server.portNumber
        self.assertEqual(
            world.server.resource.requests,
            [(POLICY_PATH.encode(), f"mta-sts.example.test:{port}".encode(), b"text/plain")],
        )
        self.assertIn("fetched the policy id 2024a", outcome.reason)

    async def test_insecureRecord(self) -> None:
        """
        An unsigned domain's TXT record and policy host are used: MTA-STS does not need
        DNSSEC.
        """
        world = await self.world()
        outcome = await world.policyResolver().policyFor("unsigned.test")
        assert outcome.policy is not None
        self.assertEqual(outcome.policy.id, "u1")

    async def test_idUnchangedNoRefetch(self) -> None:
        world = await self.world()
        resolver = world.policyResolver()
        first = await resolver.policyFor("example.test")
        second = await resolver.policyFor("example.test")
        self.assertEqual(len(world.server.resource.requests), 1)
        self.assertTrue(second.fromCache)
        self.assertIsNone(second.failure)
        self.assertEqual(second.policy, first.policy)
        self.assertEqual(len(world.resolver.txtLookups), 2)

    async def test_idChangedRefetch(self) -> None:
        """
        A new id while a valid policy is cached: the cached policy applies at once, the new
        one is fetched in the background and replaces it.
        """
        world = await self.world()
        resolver = world.policyResolver()
        cached = (await resolver.policyFor("example.test")).policy
        world.resolver.setTXT("_mta-sts.example.test.", "v=STSv1; id=2024b")
        world.server.resource.body = (
            b"version: STSv1\nmode: testing\nmx: other.example\nmax_age: 60\n"
        )
        outcome = await resolver.policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.fromCache), (cached, True))
        self.assertIn("fetching it in the background", outcome.reason)
        await resolver.whenRefreshed()
        self.assertEqual(len(world.server.resource.requests), 2)
        outcome = await resolver.policyFor("example.test")
        assert outcome.policy is not None
        self.assertTrue(outcome.fromCache)
        self.assertEqual((outcome.policy.id, outcome.policy.mode), ("2024b", Mode.TESTING))
        self.assertEqual(resolver.cache.get("example.test"), outcome.policy)
        self.assertEqual(len(world.server.resource.requests), 2)

    async def test_concurrentLookupsShareOneFetch(self) -> None:
        world = await self.world()
        resolver = world.policyResolver()
        first, second = resolver.policyFor("example.test"), resolver.policyFor("example.test")
        self.assertEqual(await first, await second)
        self.assertEqual(len(world.server.resource.requests), 1)

    async def test_fetchFailsWithoutCache(self) -> None:
        """
        A policy that cannot be fetched, and none cached: no policy (opportunistic
        delivery), and the failure for TLS reports.
        """
        world = await self.world()
        world.server.resource.status = 404
        outcome = await world.policyResolver().policyFor("example.test")
        self.assertIsNone(outcome.policy)
        self.assertEqual(outcome.failure, PolicyFailure.FETCH_ERROR)
        self.assertFalse(outcome.fromCache)
        self.assertIn("404", outcome.reason)
        self.assertIn("no policy cached", outcome.reason)

    async def test_fetchFailsWithCache(self) -> None:
        """
        A new id whose policy cannot be fetched: the cached policy applies, and the failure
        is reported.
        """
        world = await self.world()
        resolver = world.policyResolver()
        cached = (await resolver.policyFor("example.test")).policy
        world.resolver.setTXT("_mta-sts.example.test.", "v=STSv1; id=2024b")
        world.server.resource.status = 500
        await resolver.policyFor("example.test")
        await resolver.whenRefreshed()
        outcome = await resolver.policyFor("example.test")
        self.assertEqual(outcome.policy, cached)
        self.assertTrue(outcome.fromCache)
        self.assertEqual(outcome.failure, PolicyFailure.FETCH_ERROR)
        self.assertIn("the cached policy id 2024a applies", outcome.reason)

    async def test_invalidPolicyWithCache(self) -> None:
        world = await self.world()
        resolver = world.policyResolver()
        cached = (await resolver.policyFor("example.test")).policy
        world.resolver.setTXT("_mta-sts.example.test.", "v=STSv1; id=2024b")
        world.server.resource.body = b"version: STSv1\nmode: enforce\nmax_age: 60\n"
        await resolver.policyFor("example.test")
        await resolver.whenRefreshed()
        outcome = await resolver.policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (cached, PolicyFailure.INVALID))

    async def test_invalidPolicy(self) -> None:
        world = await self.world()
        world.server.resource.body = b"version: STSv1\nmode: enforce\nmax_age: 60\n"
        outcome = await world.policyResolver().policyFor("example.test")
        self.assertIsNone(outcome.policy)
        self.assertEqual(outcome.failure, PolicyFailure.INVALID)
        self.assertIn("has no mx", outcome.reason)

    async def test_notUTF8(self) -> None:
        world = await self.world()
        world.server.resource.body = POLICY.encode() + b"x: \xff\n"
        outcome = await world.policyResolver().policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.INVALID))

    async def test_redirectRefused(self) -> None:
        """
        A redirect is a fetch error, and is not followed.
        """
        world = await self.world()
        world.server.resource.status = 301
        world.server.resource.location = b"https://www.example.test/policy.txt"
        outcome = await world.policyResolver().policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
        self.assertIn("redirects are not followed", outcome.reason)
        self.assertEqual(len(world.server.resource.requests), 1)

    async def test_wrongContentType(self) -> None:
        world = await self.world()
        for contentType in (b"text/html", b"application/octet-stream", None):
            world.server.resource.contentType = contentType
            outcome = await world.policyResolver().policyFor("example.test")
            self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
            self.assertIn("not text/plain", outcome.reason)

    async def test_contentTypeParameters(self) -> None:
        world = await self.world()
        world.server.resource.contentType = b"Text/Plain ; charset=us-ascii"
        outcome = await world.policyResolver().policyFor("example.test")
        self.assertIsNotNone(outcome.policy)

    async def test_tooLargeByLength(self) -> None:
        """
        A body announced larger than C{maxSize} is refused before it is read.
        """
        world = await self.world()
        world.server.resource.body = POLICY.encode() + b"x: " + b"y" * 2000 + b"\n"
        outcome = await world.policyResolver(maxSize=1000).policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
        self.assertIn("larger than 1000 bytes", outcome.reason)

    async def test_tooLargeChunked(self) -> None:
        """
        A body without a length is read only up to C{maxSize}, then the connection is
        closed.
        """
        world = await self.world()
        world.server.resource.chunks = [POLICY.encode()] + [b"x: " + b"y" * 300 + b"\n"] * 50
        outcome = await world.policyResolver(maxSize=1000).policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
        self.assertIn("larger than 1000 bytes", outcome.reason)

    async def test_chunkedWithinLimit(self) -> None:
        world = await self.world()
        world.server.resource.chunks = [POLICY[:20].encode(), POLICY[20:].encode()]
        outcome = await world.policyResolver().policyFor("example.test")
        assert outcome.policy is not None
        self.assertEqual(outcome.policy.text, POLICY)

    async def test_wrongCertificateName(self) -> None:
        """
        A certificate that does not name C{mta-sts.DOMAIN}: C{sts-webpki-invalid}, and no
        request sent.
        """
        world = await self.world()
        outcome = await world.policyResolver().policyFor("nsec3.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.WEBPKI_INVALID))
        self.assertIn("not valid for mta-sts.nsec3.test", outcome.reason)
        self.assertEqual(world.server.resource.requests, [])

    async def test_untrustedCA(self) -> None:
        world = await self.world()
        other = PKIXTrust((issue("Another CA", ca=True).cert,))
        outcome = await world.policyResolver(trustRoots=other).policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.WEBPKI_INVALID))
        self.assertIn("not trusted", outcome.reason)
        self.assertEqual(world.server.resource.requests, [])

    async def test_systemTrustStore(self) -> None:
        """
        Without C{trustRoots}, the system's trust store decides, and the private CA is not in
        it.
        """
        world = await self.world()
        resolver = PolicyResolver(reactor, world.resolver, httpsPort=world.server.portNumber)
        outcome = await resolver.policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.WEBPKI_INVALID))

    async def test_untrustedWithCache(self) -> None:
        world = await self.world()
        resolver = world.policyResolver()
        cached = (await resolver.policyFor("example.test")).policy
        world.resolver.setTXT("_mta-sts.example.test.", "v=STSv1; id=2024b")
        resolver.trustRoots = PKIXTrust((issue("Another CA", ca=True).cert,))
        await resolver.policyFor("example.test")
        await resolver.whenRefreshed()
        outcome = await resolver.policyFor("example.test")
        self.assertEqual(
            (outcome.policy, outcome.failure, outcome.fromCache),
            (cached, PolicyFailure.WEBPKI_INVALID, True),
        )

    async def test_noRecord(self) -> None:
        world = await self.world()
        outcome = await world.policyResolver().policyFor("optout.test")
        self.assertEqual(outcome, PolicyOutcome("optout.test", None, reason=outcome.reason))
        self.assertIn("no MTA-STS record at _mta-sts.optout.test", outcome.reason)

    async def test_otherTXTRecordsIgnored(self) -> None:
        world = await self.world()
        world.resolver.setTXT("_mta-sts.example.test.", "v=spf1 -all", "v=STSv1; id=2024a", "hello")
        outcome = await world.policyResolver().policyFor("example.test")
        self.assertIsNotNone(outcome.policy)

    async def test_twoRecords(self) -> None:
        """
        Two MTA-STS records: as if there were none, and nothing is fetched.
        """
        world = await self.world()
        world.resolver.setTXT("_mta-sts.example.test.", "v=STSv1; id=a", "v=STSv1; id=b")
        outcome = await world.policyResolver().policyFor("example.test")
        self.assertIsNone(outcome.policy)
        self.assertIsNone(outcome.failure)
        self.assertIn("2 MTA-STS records", outcome.reason)
        self.assertEqual(world.server.resource.requests, [])

    async def test_invalidRecord(self) -> None:
        world = await self.world()
        world.resolver.setTXT("_mta-sts.example.test.", "v=STSv1; id=no-hyphens")
        outcome = await world.policyResolver().policyFor("example.test")
        self.assertIsNone(outcome.policy)
        self.assertEqual(world.server.resource.requests, [])

    async def test_bogusRecord(self) -> None:
        """
        A bogus TXT answer (the parent's DS matches no key): no policy, and nothing fetched.
        """
        world = await self.world()
        outcome = await world.policyResolver().policyFor("badds.test")
        self.assertIsNone(outcome.policy)
        self.assertIsNone(outcome.failure)
        self.assertIn("is bogus", outcome.reason)
        self.assertEqual(world.server.resource.requests, [])

    async def test_bogusRecordWithCache(self) -> None:
        """
        A bogus TXT answer where a policy is cached: the cached policy applies.
        """
        world = await self.world()
        resolver = world.policyResolver()
        cached = (await resolver.policyFor("example.test")).policy
        world.resolver.setTXT(
            "_mta-sts.example.test.", "v=STSv1; id=evil", status=Status.BOGUS, reason="RRSIG bad"
        )
        outcome = await resolver.policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.fromCache), (cached, True))
        self.assertIn("is bogus: RRSIG bad", outcome.reason)
        self.assertEqual(len(world.server.resource.requests), 1)

    async def test_lookupFailsWithCache(self) -> None:
        world = await self.world()
        resolver = world.policyResolver()
        cached = (await resolver.policyFor("example.test")).policy
        world.resolver.txt["_mta-sts.example.test."] = LookupFailedError(
            dns.name.from_text("_mta-sts.example.test."), dns.rdatatype.TXT, "SERVFAIL"
        )
        outcome = await resolver.policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.fromCache), (cached, True))
        self.assertIn("the TXT lookup failed", outcome.reason)

    async def test_recordRemovedWithCache(self) -> None:
        """
        The record is gone but a policy is cached: it applies until it expires (RFC 8461
        section 3.3; how a domain removes its policy, section 8.3).
        """
        world = await self.world()
        resolver = world.policyResolver()
        cached = (await resolver.policyFor("example.test")).policy
        world.resolver.setTXT("_mta-sts.example.test.")
        outcome = await resolver.policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.fromCache), (cached, True))

    async def test_expiredCacheRefetched(self) -> None:
        """
        A cached policy past its max_age is fetched again even under the same id, and is not
        used when the fetch fails.
        """
        world = await self.world()
        world.server.resource.body = b"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 0\n"
        resolver = world.policyResolver()
        await resolver.policyFor("example.test")
        await resolver.policyFor("example.test")
        self.assertEqual(len(world.server.resource.requests), 2)
        world.server.resource.status = 503
        outcome = await resolver.policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))

    async def test_modeNone(self) -> None:
        """
        A policy of mode none is returned and cached like the others.
        """
        world = await self.world()
        world.server.resource.body = b"version: STSv1\nmode: none\nmax_age: 86400\n"
        resolver = world.policyResolver()
        outcome = await resolver.policyFor("example.test")
        assert outcome.policy is not None
        self.assertEqual((outcome.policy.mode, outcome.policy.mx), (Mode.NONE, ()))
        self.assertTrue((await resolver.policyFor("example.test")).fromCache)

    async def test_noPolicyHost(self) -> None:
        """
        A record but no address for its policy host: a fetch error.
        """
        world = await self.world()
        world.resolver.setTXT("_mta-sts.www.example.test.", "v=STSv1; id=x")
        outcome = await world.policyResolver().policyFor("www.example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))

    async def test_connectionRefused(self) -> None:
        world = await self.world()
        port = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        number = port.getHost().port
        await port.stopListening()
        outcome = await world.policyResolver(httpsPort=number).policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
        self.assertIn("refused", outcome.reason.lower())

    async def test_silentServer(self) -> None:
        """
        A server that accepts and never answers: the fetch gives up after C{timeout}, and
        closes the connection.
        """
        world = await self.world()
        connections: list[Protocol] = []

        class Silent(Protocol):
            def connectionMade(self) -> None:
                connections.append(self)

        port = reactor.listenTCP(0, Factory.forProtocol(Silent), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        outcome = await world.policyResolver(httpsPort=number, timeout=0.3).policyFor(
            "example.test"
        )
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
        self.assertIn("no policy within 0.3 s", outcome.reason)
        self.assertEqual(len(connections), 1)

    async def test_stalledBody(self) -> None:
        """
        A body that never ends: the fetch gives up after C{timeout}.
        """
        world = await self.world()
        world.server.resource.stall = True
        world.server.resource.body = b"version: STSv1\n"
        outcome = await world.policyResolver(timeout=0.3).policyFor("example.test")
        self.assertEqual((outcome.policy, outcome.failure), (None, PolicyFailure.FETCH_ERROR))
        self.assertIn("no policy within 0.3 s", outcome.reason)

    async def test_fetchPolicy(self) -> None:
        """
        L{fetchPolicy} on its own: the policy, or an L{MTASTSError}.
        """
        world = await self.world()
        policy = await fetchPolicy(
            reactor,
            world.resolver,
            "example.test",
            "x1",
            trust=world.server.trust,
            port=world.server.portNumber,
        )
        self.assertEqual(policy.id, "x1")
        world.server.resource.status = 404
        error: Any = await self.assertFailure(
            fetchPolicy(
                reactor,
                world.resolver,
                "example.test",
                "x1",
                trust=world.server.trust,
                port=world.server.portNumber,
            ),
            MTASTSError,
        )
        self.assertEqual(error.domain, "example.test")
        self.assertEqual(error.failure, PolicyFailure.FETCH_ERROR)
        await self.assertFailure(fetchPolicy(reactor, world.resolver, "a..b", "x"), MTASTSError)

    async def test_notADomain(self) -> None:
        world = await self.world()
        outcome = await world.policyResolver().policyFor("[192.0.2.1]")
        self.assertIsNone(outcome.policy)
        self.assertIn("not a domain name", outcome.reason)
        self.assertEqual(world.resolver.txtLookups, [])

    async def test_cacheDirectorySurvivesRestart(self) -> None:
        """
        A new resolver over the same directory uses the policy cached by the first, without
        fetching it.
        """
        world = await self.world()
        directory = self.directory() / "cache"
        first = await world.policyResolver(cacheDirectory=directory).policyFor("example.test")
        self.assertTrue((directory / "example.test.json").exists())
        outcome = await world.policyResolver(cacheDirectory=directory).policyFor("example.test")
        self.assertTrue(outcome.fromCache)
        self.assertEqual(outcome.policy, first.policy)
        self.assertEqual(len(world.server.resource.requests), 1)

    async def test_corruptCacheFileIgnored(self) -> None:
        world = await self.world()
        directory = self.directory()
        path = directory / "example.test.json"
        path.write_bytes(b'{"format": 1, "domain": "example.test", "id": "2024a", "fetch')
        outcome = await world.policyResolver(cacheDirectory=directory).policyFor("example.test")
        self.assertFalse(outcome.fromCache)
        self.assertIsNotNone(outcome.policy)
        self.assertEqual(len(world.server.resource.requests), 1)
        self.assertEqual(json.loads(path.read_bytes())["id"], "2024a")

    async def test_bogusRecordWithCacheFile(self) -> None:
        """
        A bogus TXT answer, and a policy cached on disk by an earlier run: it applies.
        """
        world = await self.world()
        directory = self.directory()
        text = "version: STSv1\nmode: enforce\nmx: mx.badds.test\nmax_age: 86400\n"
        cached = {
            "format": 1,
            "domain": "badds.test",
            "id": "b0",
            "fetched": time.time(),
            "policy": text,
        }
        (directory / "badds.test.json").write_text(json.dumps(cached))
        outcome = await world.policyResolver(cacheDirectory=directory).policyFor("badds.test")
        assert outcome.policy is not None
        self.assertEqual((outcome.policy.id, outcome.fromCache), ("b0", True))
        self.assertIn("is bogus", outcome.reason)

    async def test_expiredCacheFileUnused(self) -> None:
        world = await self.world()
        directory = self.directory()
        text = "version: STSv1\nmode: enforce\nmx: mx.badds.test\nmax_age: 60\n"
        cached = {
            "format": 1,
            "domain": "badds.test",
            "id": "b0",
            "fetched": time.time() - 61,
            "policy": text,
        }
        (directory / "badds.test.json").write_text(json.dumps(cached))
        outcome = await world.policyResolver(cacheDirectory=directory).policyFor("badds.test")
        self.assertIsNone(outcome.policy)


def test_policyURL() -> None:
    assert policyURL("example.com") == "https://mta-sts.example.com/.well-known/mta-sts.txt"
    assert policyURL("example.com", 8443) == (
        "https://mta-sts.example.com:8443/.well-known/mta-sts.txt"
    )

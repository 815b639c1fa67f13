"""
RFC 5011 tracking against Unbound's: the same scripted KSK rollover of the test hierarchy's
private root, served by txdane's DNS server, followed by Unbound (C{auto-trust-anchor-file},
hold-downs of seconds) and by txdane (a L{TrustAnchorTracker} with the same hold-downs),
reaching the same states at each step; and Unbound reads txdane's state file.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import dns.dnssec
import dns.flags
import dns.name
import pytest
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.unbound import Unbound, startUnbound
from txdane.server.service import RunningServer, responderForZones
from txdane.server.signing import KSK_FLAGS, SigningKey
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy, revokedKey
from txdane.transport import DNSClient
from txdane.validation import KeyState, TrustAnchors, TrustAnchorTracker, ValidatingResolver

pytestmark = pytest.mark.interop

_ROOT = dns.name.root
_NAME = "www.example.test."
#: Seconds of both hold-downs, for both validators.
_HOLD_DOWN = 2
#: The TTL of the root's DNSKEY RRset: Unbound fetches it again once it expires.
_TTL = 1
#: The most steps (of a little over a second each) one rollover step may take to settle.
_STEPS = 12

States = dict[int, KeyState]


class UnboundRolloverTests(TestCase):
    """
    txdane's state file and Unbound's C{auto-trust-anchor-file} follow one rollover alike.
    """

    async def setUpWorld(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="txdane-autotrust-"))
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.hierarchy = buildHierarchy()
        self.old, self.zsk = self.hierarchy.keys[_ROOT]
        self.new = SigningKey.generate(flags=KSK_FLAGS)
        self.server: RunningServer = await self.publish([self.old], [self.old], serve=True)
        anchors = TrustAnchors.fromRRsets([self.hierarchy.trustAnchor])
        self.unboundFile = self.directory / "unbound.state"
        self.unboundFile.write_text(self.hierarchy.trustAnchorText())
        self.unbound = self.startUnbound(self.unboundFile)
        self.tracker = TrustAnchorTracker.open(
            self.directory / "txdane.state",
            anchors,
            addHoldDown=_HOLD_DOWN,
            removeHoldDown=_HOLD_DOWN,
        )
        client = DNSClient(reactor, servers=[("127.0.0.1", self.server.port)], timeout=2)
        self.resolver = ValidatingResolver(
            client, trustAnchors=anchors, trustAnchorTracker=self.tracker
        )
        self.resolver.stopRefreshing()  # this test fetches the RRset itself, at each step

    def startUnbound(self, stateFile: Path) -> Unbound:
        return startUnbound(
            self,
            self.hierarchy,
            self.server.port,
            autoTrustAnchorFile=stateFile,
            extra=[
                f"add-holddown: {_HOLD_DOWN}",
                f"del-holddown: {_HOLD_DOWN}",
                "keep-missing: 0",
                "permit-small-holddown: yes",
            ],
        )

    async def publish(
        self, published: list[SigningKey], signers: list[SigningKey], serve: bool = False
    ) -> RunningServer:
        hierarchy: Hierarchy = self.hierarchy.withDNSKEYs(
            _ROOT, [*published, self.zsk], signers, ttl=_TTL
        )
        if serve:
            server = await hierarchy.serve(reactor)
            self.addCleanup(server.stop)
            return server
        self.server.reload(responderForZones(hierarchy.zones.values()))
        return self.server

    async def step(self) -> tuple[Status, Status]:
        """
        Wait for the DNSKEY RRset's TTL to pass, have txdane fetch it, and ask both
        validators about a name under the root: their verdicts.
        """
        await deferLater(reactor, _TTL + 0.2, lambda: None)
        await self.resolver.refreshTrustAnchor()
        self.resolver.clearCache()
        answer = await self.resolver.lookup(_NAME, "A")
        response = await deferToThread(self.unbound.ask, _NAME, "A")
        unboundStatus = Status.SECURE if response.flags & dns.flags.AD else Status.BOGUS
        return answer.status, unboundStatus

    def unboundStates(self) -> States:
        tracker = TrustAnchorTracker.fromText(self.unboundFile.read_text(), self.unboundFile)
        return {dns.dnssec.key_id(k.identity): k.state for k in tracker.keys}

    def txdaneStates(self) -> States:
        return {
            dns.dnssec.key_id(k.identity): k.state
            for k in self.tracker.keys
            if k.state is not KeyState.REMOVED  # Unbound does not write removed keys
        }

    async def settle(self, expected: States) -> None:
        """
        Step until both validators reach the C{expected} states (key tags without the
        REVOKE bit), validating secure answers all along.
        """
        for _ in range(_STEPS):
            verdicts = await self.step()
            assert verdicts == (Status.SECURE, Status.SECURE), verdicts
            if self.unboundStates() == expected and self.txdaneStates() == expected:
                break
        assert self.unboundStates() == expected
        assert self.txdaneStates() == expected

    async def test_rollover(self) -> None:
        await self.setUpWorld()
        old, new = self.old.keyTag, self.new.keyTag
        await self.settle({old: KeyState.VALID})

        await self.publish([self.old, self.new], [self.old])
        await self.settle({old: KeyState.VALID, new: KeyState.ADDPEND})
        await self.settle({old: KeyState.VALID, new: KeyState.VALID})

        await self.publish([self.old, self.new], [self.new])
        await self.settle({old: KeyState.VALID, new: KeyState.VALID})

        revoked = revokedKey(self.old)
        await self.publish([revoked, self.new], [self.new, revoked])
        await self.settle({old: KeyState.REVOKED, new: KeyState.VALID})

        await self.publish([self.new], [self.new])
        await self.settle({new: KeyState.VALID})
        removed = self.tracker.find(self.old.dnskey)
        assert removed is not None and removed.state is KeyState.REMOVED

        # Unbound starts from txdane's state file, and validates from it.
        copy = self.directory / "from-txdane.state"
        copy.write_bytes(self.tracker.path.read_bytes())
        second = self.startUnbound(copy)
        response = await deferToThread(second.ask, _NAME, "A")
        assert response.flags & dns.flags.AD
        assert f"id = {new} (ksk)" in copy.read_text()

"""
Cross-check against a real validator: every case of the test hierarchy gets the same verdict
from txdane - asking through a non-validating Unbound, validating itself - as from a
validating Unbound given the same data and the same trust anchor.
"""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.unbound import Unbound, startUnbound, unboundVerdict
from txdane.status import Status
from txdane.testing import CASES, Case, buildHierarchy
from txdane.transport import DNSClient
from txdane.validation import LookupFailedError, TrustAnchors, ValidatingResolver

pytestmark = pytest.mark.interop


MORE = [
    ("host.wild.example.test.", "AAAA"),
    ("host.wild.nsec3.test.", "AAAA"),
    ("a.b.wild.example.test.", "TXT"),
    ("alias2.example.test.", "A"),
    ("alias2.nsec3.test.", "AAAA"),
    ("example.test.", "DNSKEY"),
    ("example.test.", "DS"),
    ("nsec3.test.", "DS"),
    ("unsigned.test.", "DS"),
    ("insecure.optout.test.", "DS"),
    ("nx.optout.test.", "A"),
    ("nx.unsigned.test.", "A"),
    ("a.b.nx.nsec3.test.", "A"),
    ("www.example.test.", "TXT"),
    ("www.nsec3.test.", "TXT"),
    ("_tcp.www.example.test.", "A"),
    ("_tcp.www.nsec3.test.", "A"),
    ("nx.redirect.example.test.", "A"),
    ("_443._tcp.www.unsigned.test.", "TLSA"),
    ("mx.example.test.", "A"),
    ("test.", "SOA"),
    (".", "DS"),
    ("nx.test.", "A"),
    ("www.badds.test.", "DS"),
    ("badds.test.", "DS"),
    ("www.expired.test.", "AAAA"),
]


class UnboundAgreesTests(TestCase):
    """
    txdane through a plain Unbound reaches the verdict of a validating Unbound, case by case.
    """

    def ask(self, unbound: Unbound, case: Case) -> dns.message.Message:
        return unbound.ask(case.name, case.rdtype)

    async def setUpUnbounds(self) -> tuple[ValidatingResolver, Unbound]:
        hierarchy = buildHierarchy()
        server = await hierarchy.serve(reactor)
        self.addCleanup(server.stop)
        reference = startUnbound(self, hierarchy, server.port, validating=True)
        plain = startUnbound(self, hierarchy, server.port, validating=False)
        # Wait until both answer.
        await deferToThread(self.ask, reference, CASES[0])
        await deferToThread(self.ask, plain, CASES[0])
        client = DNSClient(reactor, servers=[("127.0.0.1", plain.port)], timeout=2)
        resolver = ValidatingResolver(
            client, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor])
        )
        return resolver, reference

    async def test_moreQuestions(self) -> None:
        """
        Questions beyond the table (wildcard NODATA, DS and DNSKEY lookups, names below
        unsigned or missing names, chains into NXDOMAIN) get Unbound's verdict and RCODE.
        """
        resolver, reference = await self.setUpUnbounds()
        disagreements = []
        for name, rdtype in MORE:
            case = Case(name, rdtype, Status.INDETERMINATE)
            response = await deferToThread(self.ask, reference, case)
            theirs = unboundVerdict(response)
            try:
                answer = await resolver.lookup(name, rdtype)
            except LookupFailedError as e:
                disagreements.append((name, rdtype, str(e), str(theirs)))
                continue
            same = answer.status == theirs and (
                theirs is Status.BOGUS or answer.rcode == response.rcode()
            )
            if not same:
                disagreements.append((name, rdtype, str(answer), str(theirs)))
        self.assertEqual(disagreements, [])

    async def test_everyCase(self) -> None:
        resolver, reference = await self.setUpUnbounds()
        disagreements = []
        for case in CASES:
            try:
                answer = await resolver.lookup(case.name, case.rdtype)
                ours = answer.status
                rcode = dns.rcode.to_text(answer.rcode)
            except LookupFailedError as e:
                ours, rcode = Status.INDETERMINATE, str(e)
            theirs = unboundVerdict(await deferToThread(self.ask, reference, case))
            # Where the reference knowingly accepts what RFC 4035 forbids (the table records
            # it), txdane must keep to the RFC and the reference to its recorded verdict.
            expectedTheirs = case.peerStatus or ours
            if ours != case.status or theirs != expectedTheirs or rcode != case.rcode:
                disagreements.append((case.name, case.rdtype, str(ours), str(theirs), rcode))
        self.assertEqual(disagreements, [])

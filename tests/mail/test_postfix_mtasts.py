"""
MTA-STS and TLS reports against a real Postfix: its certificate issued by a private CA for
its MX name, the domain's policy served over HTTPS by a certificate of the same CA. A message
to the domain goes out verified under the enforced policy; the day's TLS report then goes to
the reporting address the domain publishes, at the same Postfix under another name that DANE
protects, and arrives as RFC 8460 section 5.3 says.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints.options import DANEOptions
from txdane.endpoints.planner import HostSettings
from txdane.mail import sendMail
from txdane.mailpolicy import MailPolicy
from txdane.mtasts import PolicyResolver
from txdane.tlsrpt import ReportStore, aggregate, sendReports

from ..dane.certs import issue
from ..dane.tlsserver import serverOptions
from ..endpoints.world import makeWorld, reactor
from ..peers.common import Credentials, requireRoot
from .test_postfix import _portFreeOnAll, _PostfixAt

pytestmark = pytest.mark.interop

POSTFIX = "127.0.0.2"
POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n"


class _Policy(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        request.setHeader(b"content-type", b"text/plain")
        return POLICY


class PostfixMTASTSTests(TestCase):
    async def test_enforcedPolicyAndReport(self) -> None:
        requireRoot("a private Postfix instance")
        ca = issue("Mail Test CA", ca=True)
        leaf = issue("mx.example.test", ca, names=("mx.example.test", "rua.example.test"))
        directory = Path(tempfile.mkdtemp(prefix="txdane-mtasts-"))
        port = _portFreeOnAll([POSTFIX])
        postfix = _PostfixAt(
            Credentials.write(directory / "mx", leaf, [ca.cert]),
            POSTFIX,
            domains=["sts.example.test", "reports.example.test"],
            hostname="mx.example.test",
            starttls=True,
            port=port,
        )
        self.addCleanup(postfix.cleanUp)
        postfix.start()
        web = issue("mta-sts.sts.example.test", ca)
        listening = reactor.listenTCP(
            0,
            TLSMemoryBIOFactory(serverOptions(web, ca), False, Site(_Policy())),
            interface="127.0.0.1",
        )
        self.addCleanup(listening.stopListening)
        tlsa = recordForCertificate(leaf.cert, 3, 1, 1)
        world = await makeWorld(
            {
                "example.test.": [
                    f"mx 300 IN A {POSTFIX}",
                    # The same server under a name DANE protects, for the reports.
                    f"rua 300 IN A {POSTFIX}",
                    f"_{port}._tcp.rua 300 IN TLSA {tlsa}",
                    "sts 300 IN MX 10 mx",
                    "mta-sts.sts 300 IN A 127.0.0.1",
                    '_mta-sts.sts 300 IN TXT "v=STSv1; id=20261206"',
                    '_smtp._tls.sts 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@reports.example.test"',
                    "reports 300 IN MX 10 rua",
                ]
            }
        )
        self.addCleanup(world.dnsServer.stop)
        trust = PKIXTrust((ca.cert,))
        store = ReportStore(directory / "tlsrpt")
        result = await sendMail(
            reactor,
            world.resolver,
            "alice@client.test",
            ["bob@sts.example.test"],
            b"Subject: under MTA-STS\r\n\r\nhello\r\n",
            port=port,
            timeout=10,
            settings=HostSettings(timeout=5, options=DANEOptions(trustRoots=trust)),
            mtaSTS=PolicyResolver(
                reactor,
                world.resolver,
                trustRoots=trust,
                httpsPort=listening.getHost().port,
                timeout=5,
            ),
            reporter=store.recordSession,
        )
        self.assertEqual(
            (result.mx, str(result.protection), result.policy),
            ("mx.example.test", "verified", MailPolicy.MTA_STS),
        )
        [message] = postfix.waitForMessages(1)
        self.assertIn("with ESMTPS", message["Received"])

        # The day's report, sent to the rua the domain publishes, over DANE.
        reports = aggregate(store.results(), "Client Org", "postmaster@client.test")
        [report] = reports
        [policy] = report["policies"]
        self.assertEqual(policy["policy"]["policy-type"], "sts")
        self.assertEqual(policy["policy"]["policy-domain"], "sts.example.test")
        self.assertEqual(policy["summary"]["total-successful-session-count"], 1)

        outcomes = await sendReports(
            reactor,
            world.resolver,
            reports,
            submitter="client.test",
            sender="tlsrpt@client.test",
            port=port,
        )
        self.assertTrue(all(o.sent for o in outcomes), outcomes)
        delivered = postfix.waitForMessages(2)[1]
        self.assertIn("with ESMTPS", delivered["Received"])
        self.assertEqual(delivered["TLS-Report-Domain"], "sts.example.test")
        self.assertEqual(delivered.get_content_type(), "multipart/report")
        self.assertEqual(delivered.get_param("report-type"), "tlsrpt")
        [attached] = [
            part
            for part in delivered.walk()
            if part.get_content_type() == "application/tlsrpt+gzip"
        ]
        payload: Any = attached.get_payload(decode=True)
        received = json.loads(gzip.decompress(payload))
        self.assertEqual(received["report-id"], report["report-id"])

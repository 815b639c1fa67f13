"""
The loopback world of the sending tests: the mail world of L{tests.mail.mxworld} (SMTP
servers with STARTTLS on their own loopback addresses), an HTTPS server that takes reports,
and TLSRPT records for the mail domains in the signed test hierarchy.

| domain                | TLSRPT record                                                    |
|-----------------------|------------------------------------------------------------------|
| verified.example.test | mailto: (its MX, verified), https: (DANE-EE matches)             |
| mismatch.example.test | mailto: (MX refused by DANE), https: refused by DANE, https: 500 |
| fallback.example.test | none                                                             |
| tata.example.test     | two records: none is used                                        |
| bogus.expired.test    | the lookup is bogus                                              |
| flood.example.test    | https: answering 200 with a 4 MiB body                           |
| stall.example.test    | https: never answering                                           |
| trickle.example.test  | https: answering 200 and a body that never ends                  |
| headers.example.test  | https: answering 200 and header lines that never end             |
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from txdane.dane.tlsa import recordForCertificate

from ..dane.certs import issue
from ..dane.tlsserver import serverOptions
from ..endpoints.headerflood import Flood
from ..endpoints.world import World, makeWorld, reactor
from ..mail.mxworld import ADDRESSES, MailCertificates, mailRecords
from ..mail.smtpserver import SMTPServer, listenSMTP


class Collector(Resource):
    """
    Takes POSTed reports: C{/tlsrpt} answers 200, C{/fail} 500.

    @ivar posts: each POST's path, C{Content-Type} and body.
    """

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[tuple[bytes, bytes | None, bytes]] = []

    def render_POST(self, request: Any) -> Any:
        self.posts.append(
            (request.path, request.getHeader(b"content-type"), request.content.read())
        )
        if request.path == b"/fail":
            request.setResponseCode(500)
            return b"try again later"
        if request.path == b"/flood":
            return b"x" * (4 * 1024 * 1024)
        if request.path == b"/stall":
            return NOT_DONE_YET  # never answers
        if request.path == b"/trickle":
            request.write(b"thank")  # the status and the start of a body that never ends
            return NOT_DONE_YET
        return b"thank you"


class ReportWorld(TestCase):
    """
    The world, set up for each test.
    """

    servers: dict[str, SMTPServer]
    world: World

    async def setUp(self) -> None:  # type: ignore[override]
        self.certs = certs = MailCertificates.make()
        contexts = {
            "mxa": serverOptions(certs.a),
            "mxbad": serverOptions(certs.bad),
            "mxta": serverOptions(certs.taLeaf, certs.ca),
            "mxplain": None,
        }
        self.servers = {}
        port = 0
        for host, context in contexts.items():
            server = listenSMTP(context, (ADDRESSES[host],), port)
            port = server.port
            self.servers[host] = server
            for p in server.ports:
                self.addCleanup(p.stopListening)
        self.port = port
        self.collector = Collector()
        webCertificate = issue("reports.example.test")
        web = reactor.listenTCP(
            0,
            TLSMemoryBIOFactory(serverOptions(webCertificate), False, Site(self.collector)),
            interface="127.0.0.1",
        )
        self.addCleanup(web.stopListening)
        self.webPort = number = web.getHost().port
        # Another server with the same certificate, flooding header lines.
        self.flood = Flood()
        flooding = self.flood.listen(serverOptions(webCertificate), self.addCleanup)
        self.floodURL = f"https://reports.example.test:{flooding}/tlsrpt"
        good = recordForCertificate(webCertificate.cert, 3, 1, 1)
        wrong = recordForCertificate(issue("reports.example.test").cert, 3, 1, 1)
        self.reportsURL = f"https://reports.example.test:{number}/tlsrpt"
        self.failURL = f"https://reports.example.test:{number}/fail"
        self.evilURL = f"https://evil.example.test:{number}/tlsrpt"
        records = mailRecords(port, certs)
        records["example.test."] += [
            "reports 300 IN A 127.0.0.1",
            f"_{number}._tcp.reports 300 IN TLSA {good}",
            "evil 300 IN A 127.0.0.1",
            f"_{number}._tcp.evil 300 IN TLSA {wrong}",
            f"_{flooding}._tcp.reports 300 IN TLSA {good}",
            f'_smtp._tls.headers 300 IN TXT "v=TLSRPTv1; rua={self.floodURL}"',
            "_smtp._tls.verified 300 IN TXT "
            f'"v=TLSRPTv1; rua=mailto:tlsrpt@verified.example.test,{self.reportsURL}"',
            "_smtp._tls.mismatch 300 IN TXT "
            f'"v=TLSRPTv1; rua=mailto:tlsrpt@mismatch.example.test,{self.evilURL},"'
            f' "{self.failURL}"',
            '_smtp._tls.tata 300 IN TXT "v=TLSRPTv1; rua=mailto:a@tata.example.test"',
            *(
                f'_smtp._tls.{path} 300 IN TXT "v=TLSRPTv1; rua={self.reportsURL[:-6]}{path}"'
                for path in ("flood", "stall", "trickle")
            ),
            '_smtp._tls.tata 300 IN TXT "v=TLSRPTv1; rua=mailto:b@tata.example.test"',
        ]
        self.world = await makeWorld(records)
        self.addCleanup(self.world.dnsServer.stop)
        directory = tempfile.mkdtemp(prefix="txdane-tlsrpt-test-")
        self.addCleanup(shutil.rmtree, directory, True)
        self.directory = Path(directory)
        self.anchorFile = self.directory / "anchor"
        self.anchorFile.write_text(self.world.hierarchy.trustAnchorText())

"""
Mail under MTA-STS end to end on loopback: twisted.mail SMTP servers whose certificates come
from a private CA (one self-signed), an HTTPS server publishing each domain's policy with a
certificate from the same CA, and the signed hierarchy with the MX, TXT and address records.
L{sendMail} with a L{PolicyResolver} trusting that CA, and the TLS report of each session.

| domain                   | MX      | policy                 | outcome                          |
|--------------------------|---------|------------------------|----------------------------------|
| sts.example.test         | mxsts   | enforce, lists it      | delivered, policy mta-sts        |
| notlisted.example.test   | mxsts   | enforce, lists another | not dialled, deferred            |
| badcert.example.test     | mxself  | enforce, lists it      | refused (not PKIX-valid)         |
| testing.example.test     | mxself  | testing, lists it      | delivered, failure reported      |
| dane.example.test        | mxa     | enforce, lists it      | DANE decides: policy dane        |
| nofetch.example.test     | mxsts   | TXT, but fetch fails   | opportunistic, failure reported  |
"""

from __future__ import annotations

from typing import Any

from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints.options import DANEOptions
from txdane.endpoints.planner import HostSettings
from txdane.mail import NotInPolicyError, TemporaryDeliveryError, sendMail
from txdane.mailpolicy import MailPolicy, TLSSession
from txdane.mtasts import PolicyResolver

from ..dane.certs import issue
from ..dane.tlsserver import serverOptions
from ..endpoints.world import makeWorld, reactor
from .smtpserver import SMTPServer, listenSMTP

MESSAGE = b"Subject: sts\r\n\r\nhello\r\n"
ADDRESSES = {"mxsts": "127.0.0.2", "mxself": "127.0.0.3", "mxa": "127.0.0.4"}
POLICIES = {
    "sts": "enforce", "notlisted": "enforce", "badcert": "enforce", "testing": "testing",
    "dane": "enforce",
}  # fmt: skip
LISTED = {
    "sts": "mxsts.example.test", "notlisted": "elsewhere.example.test",
    "badcert": "mxself.example.test", "testing": "mxself.example.test",
    "dane": "mxa.example.test",
}  # fmt: skip
MX = {
    "sts": "mxsts", "notlisted": "mxsts", "badcert": "mxself", "testing": "mxself",
    "dane": "mxa", "nofetch": "mxsts",
}  # fmt: skip


class _Policies(Resource):
    """
    Each domain's policy, by the Host the client asked for; C{nofetch} gets a 404.
    """

    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        host = (request.getHeader(b"host") or b"").decode().split(":")[0]
        label = host.removeprefix("mta-sts.").removesuffix(".example.test")
        if label not in POLICIES:
            request.setResponseCode(404)
            return b"no policy here"
        request.setHeader(b"content-type", b"text/plain")
        return (
            f"version: STSv1\nmode: {POLICIES[label]}\nmx: {LISTED[label]}\nmax_age: 86400\n"
        ).encode()


class MTASTSDeliveryTests(TestCase):
    async def setUp(self) -> None:  # type: ignore[override]
        ca = issue("Mail Test CA", ca=True)
        self.ca = ca
        certificates = {
            "mxsts": (issue("mxsts.example.test", ca), ca),
            "mxself": (issue("mxself.example.test"), None),
            "mxa": (issue("mxa.example.test"), None),
        }
        self.servers: dict[str, SMTPServer] = {}
        port = 0
        for host, (certificate, issuer) in certificates.items():
            options = serverOptions(certificate, issuer) if issuer else serverOptions(certificate)
            server = listenSMTP(options, (ADDRESSES[host],), port)
            port = server.port
            self.servers[host] = server
            for listening in server.ports:
                self.addCleanup(listening.stopListening)
        self.port = port
        names = tuple(f"mta-sts.{label}.example.test" for label in MX)
        web = issue(names[0], ca, names=names)
        site = Site(_Policies())
        listening = reactor.listenTCP(
            0, TLSMemoryBIOFactory(serverOptions(web, ca), False, site), interface="127.0.0.1"
        )
        self.addCleanup(listening.stopListening)
        self.httpsPort = listening.getHost().port
        tlsa = recordForCertificate(certificates["mxa"][0].cert, 3, 1, 1)
        records = [
            *(f"{host} 300 IN A {address}" for host, address in ADDRESSES.items()),
            f"_{port}._tcp.mxa 300 IN TLSA {tlsa}",
        ]
        for label, host in MX.items():
            records += [
                f"{label} 300 IN MX 10 {host}",
                f"mta-sts.{label} 300 IN A 127.0.0.1",
                f'_mta-sts.{label} 300 IN TXT "v=STSv1; id=1{label}"',
            ]
        self.world = await makeWorld({"example.test.": records})
        self.addCleanup(self.world.dnsServer.stop)

    async def send(self, label: str) -> tuple[Any, list[TLSSession]]:
        sessions: list[TLSSession] = []
        policies = PolicyResolver(
            reactor,
            self.world.resolver,
            trustRoots=self.trust(),
            httpsPort=self.httpsPort,
            timeout=5,
        )
        sending = sendMail(
            reactor,
            self.world.resolver,
            "alice@example.org",
            [f"bob@{label}.example.test"],
            MESSAGE,
            port=self.port,
            heloName="client.example.org",
            timeout=10,
            settings=HostSettings(timeout=5, options=DANEOptions(trustRoots=self.trust())),
            mtaSTS=policies,
            reporter=sessions.append,
        )
        try:
            return await sending, sessions
        except Exception as e:
            return e, sessions

    def trust(self) -> PKIXTrust:
        return PKIXTrust((self.ca.cert,))

    async def test_enforcedDelivered(self) -> None:
        result, sessions = await self.send("sts")
        self.assertEqual(
            (result.mx, str(result.protection), result.policy),
            ("mxsts.example.test", "verified", MailPolicy.MTA_STS),
        )
        self.assertEqual(len(self.servers["mxsts"].messages), 1)
        (session,) = sessions
        self.assertEqual((session.policyType, session.resultType), ("sts", None))
        self.assertIn("mx: mxsts.example.test", session.policyStrings)

    async def test_notListedNotDialled(self) -> None:
        error, _ = await self.send("notlisted")
        self.assertIsInstance(error, TemporaryDeliveryError)
        self.assertIsInstance(error.tries[0].error, NotInPolicyError)
        self.assertEqual(self.servers["mxsts"].cleartext, [])

    async def test_badCertificateRefused(self) -> None:
        error, sessions = await self.send("badcert")
        self.assertIsInstance(error, TemporaryDeliveryError)
        self.assertIn("PKIX verification failed", str(error))
        self.assertEqual(self.servers["mxself"].messages, [])
        (session,) = sessions
        self.assertEqual(
            (session.policyType, session.resultType), ("sts", "certificate-not-trusted")
        )

    async def test_testingReportsAndDelivers(self) -> None:
        result, sessions = await self.send("testing")
        self.assertEqual(result.policy, MailPolicy.MTA_STS_TESTING)
        self.assertEqual(str(result.protection), "encrypted")
        self.assertEqual(len(self.servers["mxself"].messages), 1)
        self.assertEqual(
            [(s.policyType, s.resultType) for s in sessions],
            [("sts", "certificate-not-trusted"), ("no-policy-found", None)],
        )

    async def test_daneFirst(self) -> None:
        result, sessions = await self.send("dane")
        self.assertEqual((result.policy, str(result.protection)), (MailPolicy.DANE, "verified"))
        self.assertEqual([s.policyType for s in sessions], ["tlsa"])

    async def test_fetchFailureOpportunistic(self) -> None:
        result, sessions = await self.send("nofetch")
        self.assertEqual(result.policy, MailPolicy.NONE)
        self.assertEqual(
            [(s.policyType, s.resultType) for s in sessions],
            [("sts", "sts-policy-fetch-error"), ("no-policy-found", None)],
        )

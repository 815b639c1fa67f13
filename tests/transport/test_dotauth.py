"""
Tests for L{txdane.dotauth}: how DNS-over-TLS upstreams are authenticated, and what may be sent
to one before it is. The DANE paths, which need a signed hierarchy behind a real resolver, are
tested against Unbound in C{tests/peers/test_dot.py}.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import dns.name
from twisted.internet import reactor
from twisted.internet.defer import succeed
from twisted.trial.unittest import TestCase

from txdane.dot import DoTAuthenticationError, DoTClient
from txdane.dotauth import BootstrapQueryError, UpstreamAuthenticator, _ChainOnly
from txdane.testing import issue

from .dotserver import DoTServer


class _Recorder:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, name: dns.name.Name, rdtype: Any, rdclass: Any = 1, **kw: Any) -> Any:
        self.asked.append(f"{name} {rdtype}")
        return succeed(None)


class ChainOnlyTests(TestCase):
    """
    Before a server is authenticated, only the lookup of its TLSA records may use it.
    """

    def test_chainPasses(self) -> None:
        """
        The TLSA owner and the names above it (their DS and DNSKEY RRsets) are asked.
        """
        recorder = _Recorder()
        guard = _ChainOnly(recorder, dns.name.from_text("_853._tcp.dns.example.net."))  # type: ignore[arg-type]
        for name, rdtype in [
            ("_853._tcp.dns.example.net.", "TLSA"),
            ("example.net.", "DNSKEY"),
            ("dns.example.net.", "DS"),
            (".", "DNSKEY"),
        ]:
            self.successResultOf(guard.query(name, rdtype))
        self.assertEqual(len(recorder.asked), 4)

    def test_otherNamesRefused(self) -> None:
        """
        Any other name (a user's query, a CNAME's target, a sibling) is refused before it is
        written, with L{BootstrapQueryError}.
        """
        recorder = _Recorder()
        owner = dns.name.from_text("_853._tcp.dns.example.net.")
        guard = _ChainOnly(recorder, owner)  # type: ignore[arg-type]
        for name in (
            "www.example.net.",
            "_443._tcp.dns.example.net.",
            "x._853._tcp.dns.example.net.",
        ):
            failure = self.failureResultOf(guard.query(name, "A"), BootstrapQueryError)
            self.assertEqual(failure.value.owner, owner)
            self.assertIn(
                "not sent to a DNS-over-TLS server before it is authenticated", str(failure.value)
            )
        self.assertEqual(recorder.asked, [])


class AddressNameTests(TestCase):
    """
    A server authenticated for an IP address: PKIX only (an address has no TLSA records), with
    the trust store OpenSSL finds, C{SSL_CERT_FILE} included.
    """

    def setUp(self) -> None:
        self.server = DoTServer(name="127.0.0.1")
        self.server.start()
        self.addCleanup(self.server.stop)
        saved = os.environ.get("SSL_CERT_FILE")

        def restore() -> None:
            if saved is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = saved

        self.addCleanup(restore)

    def client(self) -> DoTClient:
        client = DoTClient(
            reactor,
            [self.server.address],
            "127.0.0.1",
            UpstreamAuthenticator(reactor, "127.0.0.1"),
            timeout=5,
            attempts=1,
        )
        self.addCleanup(client.close)
        return client

    def caFile(self) -> str:
        """
        A path for a CA file in a temporary directory removed after the test (not below the
        working directory, where trial's C{mktemp} would leave it).
        """
        directory = tempfile.TemporaryDirectory(prefix="txdane-dotauth-")
        self.addCleanup(directory.cleanup)
        return os.path.join(directory.name, "ca.pem")

    async def test_sslCertFile(self) -> None:
        """
        With the server's CA in C{SSL_CERT_FILE}, it is authenticated; the only query it
        receives is the user's (no TLSA lookup for an address).
        """
        caFile = self.caFile()
        with open(caFile, "wb") as f:
            f.write(self.server.ca.certPEM())
        os.environ["SSL_CERT_FILE"] = caFile
        response = await self.client().query("www.example.test", "A")
        self.assertEqual(str(response.answer[0].name), "www.example.test.")
        self.assertEqual(
            [str(q.question[0].name) for q in self.server.queries], ["www.example.test."]
        )

    async def test_untrusted(self) -> None:
        """
        Without the CA in the trust store, the server is refused by PKIX, and sent nothing.
        """
        caFile = self.caFile()
        with open(caFile, "wb") as f:
            f.write(issue("Someone else's CA", ca=True).certPEM())
        os.environ["SSL_CERT_FILE"] = caFile
        with self.assertRaises(DoTAuthenticationError) as raised:
            await self.client().query("www.example.test", "A")
        text = str(raised.exception)
        self.assertIn("refused as DNS-over-TLS server 127.0.0.1", text)
        self.assertIn("PKIX verification failed", text)
        self.assertEqual(self.server.bytesReceived, 0)

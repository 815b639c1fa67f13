"""
DNS over TLS against a real Unbound's TLS listener (C{tls-port}, C{tls-service-pem}), in front
of the private hierarchy: upstreams authenticated by PKIX with a private CA, by DANE with TLSA
records at C{_853._tcp.NAME} in the hierarchy, refused for a name they cannot prove (with no
query of the user's in clear, and none reaching the server), and a C{dane:} endpoint resolving
over it.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.name
import pytest
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol, ServerFactory
from twisted.internet.ssl import CertificateOptions
from twisted.internet.threads import deferToThread
from twisted.protocols.portforward import ProxyFactory, ProxyServer
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase

from tests.support import requireProgram
from tests.unbound import freePort, unboundConfig
from txdane.dane.tlsa import recordForCertificate
from txdane.dot import DoTAuthenticationError
from txdane.settings import ResolverSettings
from txdane.status import Status
from txdane.testing import Hierarchy, Issued, buildHierarchy, issue
from txdane.validation import LookupFailedError

pytestmark = pytest.mark.interop

#: Our loopback addresses: Unbound's DoT listener, a recorder of cleartext on port 53 of the
#: same address, a TLS service for the endpoint test, and a proxy to Unbound's DoT port that
#: records the bytes the client sends.
RESOLVER = "127.53.2.2"
SERVICE = "127.53.2.3"
SERVICE_PORT = 4433
WIRETAP = "127.53.2.4"

#: The first byte of a TLS handshake record (RFC 8446 section 5.1).
_TLS_HANDSHAKE = 0x16


class _DatagramRecorder(DatagramProtocol):
    """
    Records every datagram that reaches port 53 of the resolver's address.
    """

    def __init__(self, seen: list[bytes]) -> None:
        self.seen = seen

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.seen.append(data)


class _StreamRecorder(Protocol):
    """
    Records every TCP connection to port 53 of the resolver's address, and what it carries.
    """

    def __init__(self, seen: list[bytes]) -> None:
        self.seen = seen

    def connectionMade(self) -> None:
        self.seen.append(b"<tcp connection>")

    def dataReceived(self, data: bytes) -> None:
        self.seen.append(data)


class _TappedProxy(ProxyServer):
    """
    Forwards a connection to Unbound's DoT port, keeping what the client sent.
    """

    def dataReceived(self, data: bytes) -> None:
        self.factory.sent.append(data)  # type: ignore[attr-defined]
        super().dataReceived(data)


class _Greeter(Protocol):
    def connectionMade(self) -> None:
        assert self.transport is not None
        self.transport.write(b"hello over DANE\n")


class _Reader(Protocol):
    def __init__(self) -> None:
        self.received: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        if not self.received.called:
            self.received.callback(data)


def _waitForTLS(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection((RESOLVER, 853), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(f"Unbound did not start: {log.read_text()}") from None
            time.sleep(0.05)


class DoTAgainstUnboundTests(TestCase):
    """
    txdane validating over DNS over TLS to Unbound, which resolves from the private hierarchy.
    """

    async def setUpWorld(self) -> None:
        self.ca = issue("txdane test DoT CA", ca=True)
        # One certificate for both names: from the private CA, which PKIX clients are given;
        # DANE clients are not given it, so for them no CA vouches for it.
        self.leaf = issue(
            "pkix.example.test",
            self.ca,
            names=(
                "pkix.example.test",
                "dane.example.test",
                "mismatch.example.test",
                "dot.badds.test",
                "alias.example.test",
            ),
        )
        tlsa = recordForCertificate(self.leaf.cert).toRdata().to_text()
        other = recordForCertificate(issue("someone else").cert).toRdata().to_text()
        service = issue("svc.example.test")
        self.service = service
        serviceTLSA = recordForCertificate(service.cert).toRdata().to_text()
        self.hierarchy = buildHierarchy(
            extraRecords={
                "example.test.": [
                    f"_853._tcp.dane 300 IN TLSA {tlsa}",
                    f"_853._tcp.mismatch 300 IN TLSA {other}",
                    "_853._tcp.alias 300 IN CNAME _853._tcp.dane.example.test.",
                    f"svc 300 IN A {SERVICE}",
                    f"_{SERVICE_PORT}._tcp.svc 300 IN TLSA {serviceTLSA}",
                ]
            }
        )
        server = await self.hierarchy.serve(reactor)
        self.addCleanup(server.stop)
        self.directory = Path(tempfile.mkdtemp(prefix="txdane-dot-"))
        self.caFile = self.directory / "ca.pem"
        self.caFile.write_bytes(self.ca.certPEM())
        self.anchorFile = self.directory / "anchor.txt"
        self.anchorFile.write_text(self.hierarchy.trustAnchorText())
        self.log = self.startUnbound(self.hierarchy, server.port, self.leaf)
        self.cleartext: list[bytes] = []
        recorder = _DatagramRecorder(self.cleartext)
        udp = reactor.listenUDP(53, recorder, interface=RESOLVER)  # type: ignore[attr-defined]
        self.addCleanup(udp.stopListening)
        recorders: Any = Factory.forProtocol(lambda: _StreamRecorder(self.cleartext))
        tcp = reactor.listenTCP(53, recorders, interface=RESOLVER)
        self.addCleanup(tcp.stopListening)
        tap = ProxyFactory(RESOLVER, 853)
        tap.protocol = _TappedProxy
        self.wire: list[bytes] = []
        tap.sent = self.wire  # type: ignore[attr-defined]
        tapPort = reactor.listenTCP(853, tap, interface=WIRETAP)  # type: ignore[arg-type]
        self.addCleanup(tapPort.stopListening)

    def startUnbound(self, hierarchy: Hierarchy, serverPort: int, leaf: Issued) -> Path:
        program = requireProgram("unbound")
        key, pem = self.directory / "key.pem", self.directory / "cert.pem"
        key.write_bytes(leaf.keyPEM())
        pem.write_bytes(leaf.certPEM() + self.ca.certPEM())
        extra = [
            f"interface: {RESOLVER}@853",
            "tls-port: 853",
            f'tls-service-key: "{key}"',
            f'tls-service-pem: "{pem}"',
            "log-queries: yes",
        ]
        config = unboundConfig(
            self.directory,
            hierarchy,
            serverPort,
            freePort(),
            validating=False,
            interface=RESOLVER,
            extra=extra,
        )
        log = self.directory / "unbound.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [program, "-d", "-c", str(config)], stdout=output, stderr=subprocess.STDOUT
            )

        def stop() -> None:
            process.terminate()
            process.wait(10)

        self.addCleanup(stop)
        _waitForTLS(process, log)
        return log

    def resolver(self, name: str, caFile: bool = True, address: str = RESOLVER) -> Any:
        """
        A validating resolver speaking DNS over TLS to Unbound (at C{address}: through the
        wiretap, for L{WIRETAP}), authenticated for C{name}, with the private CA as PKIX roots
        when C{caFile}.
        """
        settings = ResolverSettings.fromStrings(
            [address],
            str(self.anchorFile),
            timeout=10,
            resolverTLS=name,
            resolverTrustRootsFile=str(self.caFile) if caFile else None,
        )
        resolver: Any = settings.build(reactor)
        self.addCleanup(resolver.querier.close)
        return resolver

    def assertEncrypted(self, *secrets: bytes) -> None:
        """
        What the client sent through the wiretap is TLS records only, and none of
        C{secrets} appears in it.
        """
        self.assertTrue(self.wire)
        sent = b"".join(self.wire)
        offset = 0
        while offset < len(sent):
            self.assertIn(sent[offset], (_TLS_HANDSHAKE, 0x14, 0x15, 0x17), offset)
            (length,) = struct.unpack("!H", sent[offset + 3 : offset + 5])
            offset += 5 + length
        for secret in secrets:
            self.assertNotIn(secret, sent)

    def queriesSeen(self) -> list[str]:
        """
        The names Unbound logged queries for (C{log-queries}).
        """
        return [
            line.split()[-3]
            for line in self.log.read_text().splitlines()
            if " info: " in line and line.split()[-1] == "IN"
        ]

    async def test_pkix(self) -> None:
        """
        With the private CA as roots and no TLSA records at C{_853._tcp.pkix.example.test}
        (proven absent), the server is authenticated by PKIX: lookups work, validate, and
        reuse one connection; nothing goes to port 53.
        """
        await self.setUpWorld()
        resolver = self.resolver("pkix.example.test", address=WIRETAP)
        client = resolver.querier
        answer = await resolver.lookup("www.example.test", "A")
        self.assertIs(answer.status, Status.SECURE)
        self.assertEqual([r.to_text() for r in answer.records], ["127.0.0.1"])
        bogus = await resolver.lookup("www.badds.test", "A")
        self.assertIs(bogus.status, Status.BOGUS)
        insecure = await resolver.lookup("www.unsigned.test", "A")
        self.assertIs(insecure.status, Status.INSECURE)
        self.assertEqual(client.stats.connections, 1)
        self.assertEqual(self.cleartext, [])
        self.assertIn("www.example.test.", self.queriesSeen())
        self.assertEncrypted(b"\x03www\x07example", b"\x05badds\x04test", b"unsigned")

    async def test_dane(self) -> None:
        """
        Without the CA (no PKIX path), the server is authenticated by its TLSA record at
        C{_853._tcp.dane.example.test}, DANE-EE 3 1 1, looked up and validated over the
        not-yet-authenticated connection.
        """
        await self.setUpWorld()
        resolver = self.resolver("dane.example.test", caFile=False)
        answer = await resolver.lookup("www.nsec3.test", "A")
        self.assertIs(answer.status, Status.SECURE)
        self.assertEqual(self.cleartext, [])

    async def test_daneMismatch(self) -> None:
        """
        Secure TLSA records that the server's certificate does not match refuse the server,
        even though PKIX (with the CA given) would accept it: DANE is not bypassed.
        """
        await self.setUpWorld()
        resolver = self.resolver("mismatch.example.test")
        with self.assertRaises(LookupFailedError) as raised:
            await resolver.lookup("secret.example.test", "A")
        text = str(raised.exception)
        self.assertIn("mismatch.example.test", text)
        self.assertIn("no TLSA record matched", text)
        self.assertNotIn("secret.example.test.", self.queriesSeen())

    async def test_bogusTLSARefused(self) -> None:
        """
        A TLSA lookup that is bogus (a zone whose DS matches no key) refuses the server, though
        its certificate is valid for the name by PKIX with the CA given: never a fallback.
        """
        await self.setUpWorld()
        resolver = self.resolver("dot.badds.test")
        with self.assertRaises(LookupFailedError) as raised:
            await resolver.lookup("secret.example.test", "A")
        text = str(raised.exception)
        self.assertIn("refused as DNS-over-TLS server dot.badds.test", text)
        self.assertIn("TLSA lookup for _853._tcp.dot.badds.test is bogus", text)
        self.assertNotIn("secret.example.test.", self.queriesSeen())

    async def test_tlsaAlias(self) -> None:
        """
        TLSA records behind a CNAME at C{_853._tcp.NAME} refuse the server: validating the
        target would need queries outside the chain of C{_853._tcp.NAME}, which are not sent
        before the server is authenticated.
        """
        await self.setUpWorld()
        resolver = self.resolver("alias.example.test", caFile=False)
        with self.assertRaises(LookupFailedError) as raised:
            await resolver.lookup("www.example.test", "A")
        text = str(raised.exception)
        self.assertIn("refused as DNS-over-TLS server alias.example.test", text)
        self.assertIn("not sent to a DNS-over-TLS server before it is authenticated", text)
        seen = self.queriesSeen()
        self.assertNotIn("_853._tcp.dane.example.test.", seen)
        self.assertNotIn("www.example.test.", seen)

    async def test_wrongNameRefused(self) -> None:
        """
        A name the certificate does not prove (no TLSA records, so PKIX) refuses the
        server: the lookup fails naming the server, the name and why; the user's query
        reaches neither the TLS server nor port 53 in clear. Only the TLSA lookup of
        C{_853._tcp.wrong.example.test} went over the encrypted connection before the
        certificate was checked.
        """
        await self.setUpWorld()
        resolver = self.resolver("wrong.example.test", address=WIRETAP)
        client = resolver.querier
        with self.assertRaises(LookupFailedError) as raised:
            await resolver.lookup("secret.example.test", "A")
        text = str(raised.exception)
        self.assertIn(f"{WIRETAP}#853 refused as DNS-over-TLS server wrong.example.test", text)
        self.assertIn("PKIX verification failed", text)
        # The direct error, as a DoT client user sees it:
        with self.assertRaises(DoTAuthenticationError) as direct:
            await client.query("secret.example.test", "A")
        self.assertEqual(direct.exception.serverName, "wrong.example.test")
        self.assertEqual(self.cleartext, [])
        self.assertEncrypted(b"\x06secret\x07example", b"_853")
        seen = self.queriesSeen()
        self.assertNotIn("secret.example.test.", seen)
        owner = dns.name.from_text("_853._tcp.wrong.example.test.")
        self.assertTrue(seen)
        for name in seen:
            self.assertTrue(owner.is_subdomain(dns.name.from_text(name)), name)

    async def test_daneEndpoint(self) -> None:
        """
        A C{dane:} endpoint whose resolver is reached over DNS over TLS (C{resolverTLS=} in
        the string) looks up the service's addresses and TLSA records over it and connects.
        """
        await self.setUpWorld()
        options = CertificateOptions(
            privateKey=self.service.key,  # type: ignore[arg-type]
            certificate=self.service.cert,  # type: ignore[arg-type]
        )
        factory = TLSMemoryBIOFactory(options, False, ServerFactory.forProtocol(_Greeter))
        port = reactor.listenTCP(SERVICE_PORT, factory, interface=SERVICE)  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        endpoint = clientFromString(
            reactor,
            f"dane:host=svc.example.test:port={SERVICE_PORT}:resolver={RESOLVER}"
            f":resolverTLS=dane.example.test:trustAnchor={self.anchorFile}",
        )
        protocol: Any = await endpoint.connect(Factory.forProtocol(_Reader))
        self.addCleanup(protocol.transport.loseConnection)
        self.assertEqual(await protocol.received, b"hello over DANE\n")
        self.assertEqual(self.cleartext, [])
        self.assertIn("svc.example.test.", self.queriesSeen())
        resolver = endpoint.resolver
        self.addCleanup(resolver.querier.close)

    async def test_commandLine(self) -> None:
        """
        C{txdane lookup --resolver-tls NAME --resolver-ca-file FILE} validates over DNS over
        TLS; for a name the server cannot prove it fails (exit status 4, the lookup could not
        complete) with the refusal.
        """
        await self.setUpWorld()
        environ = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))

        def lookup(name: str) -> subprocess.CompletedProcess[str]:
            command = [
                sys.executable,
                "-m",
                "txdane",
                "lookup",
                "--resolver",
                RESOLVER,
                "--resolver-tls",
                name,
                "--resolver-ca-file",
                str(self.caFile),
                "--trust-anchor",
                str(self.anchorFile),
                "www.example.test",
                "A",
            ]
            return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60)

        good = await deferToThread(lookup, "pkix.example.test")
        self.assertEqual(good.returncode, 0, good.stderr)
        self.assertIn("www.example.test. A  secure", good.stdout)
        bad = await deferToThread(lookup, "wrong.example.test")
        self.assertEqual(bad.returncode, 4, bad.stdout)
        self.assertIn(
            f"{RESOLVER}#853 refused as DNS-over-TLS server wrong.example.test", bad.stderr
        )
        self.assertNotIn("Traceback", bad.stderr)
        self.assertEqual(self.cleartext, [])

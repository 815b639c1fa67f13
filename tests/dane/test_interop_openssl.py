"""
Cross-check with OpenSSL's own DANE implementation: for a set of certificate chains and TLSA
records, our verdict equals that of C{openssl s_client -dane_tlsa_domain ...
-dane_tlsa_rrdata ...} against C{openssl s_server} on loopback.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.name
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL
from twisted.internet import reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, wrapClientTLS
from twisted.internet.protocol import Factory
from twisted.trial.unittest import TestCase

from tests.support import requireProgram
from txdane.dane.decision import TLSAResult, planConnection
from txdane.dane.errors import DANEVerificationError
from txdane.dane.matching import MatchOptions, verifyChain
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tls import DANEClientTLSOptions
from txdane.dane.tlsa import TLSARecord, recordForCertificate
from txdane.status import Status

from . import tlsserver
from .certs import DAY, NOW, Hierarchy, hierarchy, issue

pytestmark = pytest.mark.interop

NAME = "service.example"


@dataclass
class Server:
    """
    A running C{openssl s_server} and what it serves.
    """

    kind: str
    port: int
    hierarchy: Hierarchy
    rootFile: Path
    chain: list[x509.Certificate]


def _startServer(
    openssl: str, directory: Path, h: Hierarchy
) -> tuple[subprocess.Popen[bytes], int]:
    leaf, key, chain = directory / "leaf.pem", directory / "key.pem", directory / "chain.pem"
    leaf.write_bytes(h.leaf.certPEM())
    key.write_bytes(h.leaf.keyPEM())
    chain.write_bytes(h.intermediate.certPEM())
    process = subprocess.Popen(
        [
            openssl,
            "s_server",
            "-accept",
            "127.0.0.1:0",
            "-cert",
            str(leaf),
            "-key",
            str(key),
            "-cert_chain",
            str(chain),
            "-www",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    # Wait for the line announcing the port (a real process: no fake clock applies, but no
    # polling either: each wait ends when the server writes or exits).
    seen: list[bytes] = []
    for line in iter(process.stdout.readline, b""):
        seen.append(line)
        found = re.search(rb"ACCEPT 127\.0\.0\.1:(\d+)", line)
        if found:
            # Keep reading what the server writes, so that it never blocks on a full pipe.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, int(found.group(1))
    process.wait()
    raise AssertionError(
        f"openssl s_server did not start: {b''.join(seen).decode(errors='replace')}"
    )


def _presentedChain(port: int) -> list[x509.Certificate]:
    """
    The certificates the server presents, as a TLS client sees them.
    """
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(None)  # OpenSSL needs a blocking socket
        connection = SSL.Connection(context, sock)
        connection.set_tlsext_host_name(NAME.encode())
        connection.set_connect_state()
        connection.do_handshake()
        chain = connection.get_peer_cert_chain(as_cryptography=True) or []
    return list(chain)


def _hierarchy(kind: str) -> Hierarchy:
    if kind == "valid":
        return hierarchy(NAME)
    if kind == "expired":
        return hierarchy(NAME, notBefore=NOW - 10 * DAY, notAfter=NOW - DAY)
    root = issue("Expired Root", ca=True, notBefore=NOW - 10 * DAY, notAfter=NOW - DAY)
    intermediate = issue("Issuer CA", root, ca=True)
    return Hierarchy(root, intermediate, issue(NAME, intermediate))


@pytest.fixture(scope="module", params=["valid", "expired", "expired-root"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    openssl = requireProgram("openssl")
    directory = tmp_path_factory.mktemp(f"s_server-{request.param}")
    h = _hierarchy(request.param)
    rootFile = directory / "root.pem"
    rootFile.write_bytes(h.root.certPEM())
    process, port = _startServer(openssl, directory, h)
    try:
        yield Server(request.param, port, h, rootFile, _presentedChain(port))
    finally:
        process.kill()
        process.wait()


def _openssl(server: Server, records: list[TLSARecord], name: str) -> bool:
    command = [
        requireProgram("openssl"),
        "s_client",
        "-connect",
        f"127.0.0.1:{server.port}",
        "-servername",
        name,
        "-dane_tlsa_domain",
        name,
        "-dane_ee_no_namechecks",
        "-verify_return_error",
        "-CAfile",
        str(server.rootFile),
        "-no-CApath",
        "-no-CAstore",
    ]
    for record in records:
        command += ["-dane_tlsa_rrdata", str(record)]
    done = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30
    )
    verified = "Verify return code: 0 (ok)" in done.stdout
    assert verified == (done.returncode == 0), done.stdout + done.stderr
    return verified


def _ours(server: Server, records: list[TLSARecord], name: str) -> bool:
    options = MatchOptions(referenceNames=(name,), trust=PKIXTrust((server.hierarchy.root.cert,)))
    return verifyChain(records, server.chain, options).verified


def _wrong(record: TLSARecord) -> TLSARecord:
    return TLSARecord(
        record.usage, record.selector, record.matchingType, bytes(b ^ 0x55 for b in record.data)
    )


def _der(h: Hierarchy) -> bytes:
    return h.root.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


Records = Callable[[Hierarchy], list[TLSARecord]]


def _ee(h: Hierarchy) -> TLSARecord:
    return recordForCertificate(h.leaf.cert)


def _ta(h: Hierarchy) -> TLSARecord:
    return recordForCertificate(h.intermediate.cert, 2, 1, 1)


#: case id -> (records, name to check, verdict for the valid chain, for the expired chain,
#: and for a valid chain under an expired root)
CASES: dict[str, tuple[Records, str, bool, bool, bool]] = {
    "3-1-1": (lambda h: [_ee(h)], NAME, True, True, True),
    "3-0-2": (lambda h: [recordForCertificate(h.leaf.cert, 3, 0, 2)], NAME, True, True, True),
    "3-1-1-wrong": (lambda h: [_wrong(_ee(h))], NAME, False, False, False),
    "3-1-1-other-name": (lambda h: [_ee(h)], "other.example", True, True, True),
    "2-1-1-intermediate": (lambda h: [_ta(h)], NAME, True, False, True),
    "2-0-1-root-not-sent": (
        lambda h: [recordForCertificate(h.root.cert, 2, 0, 1)],
        NAME,
        False,
        False,
        False,
    ),
    "2-0-0-root-from-dns": (
        lambda h: [recordForCertificate(h.root.cert, 2, 0, 0)],
        NAME,
        True,
        False,
        False,
    ),
    "2-1-0-root-key": (lambda h: [TLSARecord(2, 1, 0, _der(h))], NAME, True, False, True),
    "2-1-1-wrong-name": (lambda h: [_ta(h)], "other.example", False, False, False),
    "2-1-1-leaf": (
        lambda h: [recordForCertificate(h.leaf.cert, 2, 1, 1)],
        NAME,
        False,
        False,
        False,
    ),
    "1-1-1": (lambda h: [recordForCertificate(h.leaf.cert, 1, 1, 1)], NAME, True, False, False),
    "1-1-1-wrong-name": (
        lambda h: [recordForCertificate(h.leaf.cert, 1, 1, 1)],
        "other.example",
        False,
        False,
        False,
    ),
    "0-0-1-root": (
        lambda h: [recordForCertificate(h.root.cert, 0, 0, 1)],
        NAME,
        True,
        False,
        False,
    ),
    "0-1-2-intermediate": (
        lambda h: [recordForCertificate(h.intermediate.cert, 0, 1, 2)],
        NAME,
        True,
        False,
        False,
    ),
    "0-0-1-wrong": (
        lambda h: [_wrong(recordForCertificate(h.root.cert, 0, 0, 1))],
        NAME,
        False,
        False,
        False,
    ),
    "agility-512-wrong": (
        lambda h: [_ee(h), _wrong(recordForCertificate(h.leaf.cert, 3, 1, 2))],
        NAME,
        False,
        False,
        False,
    ),
    "agility-other-selector": (
        lambda h: [_ee(h), _wrong(recordForCertificate(h.leaf.cert, 3, 0, 2))],
        NAME,
        True,
        True,
        True,
    ),
    "mixed-wrong-ee-good-ta": (
        lambda h: [_wrong(_ee(h)), recordForCertificate(h.intermediate.cert, 2, 0, 1)],
        NAME,
        True,
        False,
        True,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_sameVerdictAsOpenSSL(server: Server, case: str) -> None:
    records, name, valid, expired, expiredRoot = CASES[case]
    chosen = records(server.hierarchy)
    expected = {"valid": valid, "expired": expired, "expired-root": expiredRoot}[server.kind]
    assert _openssl(server, chosen, name) is expected
    assert _ours(server, chosen, name) is expected


class CreatorAgainstOpenSSLServer(TestCase):
    """
    Our connection creator, through Twisted, against C{openssl s_server}: a matching record
    connects, a mismatching one is refused with no application data delivered.
    """

    def startServer(self) -> tuple[int, Hierarchy]:
        openssl = requireProgram("openssl")
        directory = Path(tempfile.mkdtemp(prefix="txdane-s_server-"))
        self.addCleanup(shutil.rmtree, directory, True)
        h = hierarchy(NAME)
        process, port = _startServer(openssl, directory, h)

        def stop() -> None:
            process.kill()
            process.wait()

        self.addCleanup(stop)
        return port, h

    async def connect(self, port: int, record: TLSARecord) -> tlsserver.RecordingClient:
        creator = DANEClientTLSOptions(
            planConnection(
                TLSAResult(Status.SECURE, (record,), dns.name.from_text(NAME)), NAME, 443
            )
        )
        endpoint = wrapClientTLS(creator, TCP4ClientEndpoint(reactor, "127.0.0.1", port))
        client = tlsserver.RecordingClient()
        await endpoint.connect(Factory.forProtocol(lambda: client))
        return client

    async def test_matchAndMismatch(self) -> None:
        port, h = self.startServer()
        client = await self.connect(port, recordForCertificate(h.intermediate.cert, 2, 0, 1))
        transport: Any = client.transport
        transport.write(b"GET / HTTP/1.0\r\n\r\n")
        await client.lost
        client.greeted.addErrback(lambda f: None)  # s_server sends a page, not the greeting
        self.assertTrue(client.handshakeDone)
        self.assertIn(b"HTTP/1.0 200 ok", b"".join(client.received))
        client = await self.connect(port, _wrong(recordForCertificate(h.leaf.cert)))
        transport = client.transport
        transport.write(b"GET / HTTP/1.0\r\n\r\n")
        await client.lost
        client.greeted.addErrback(lambda f: None)
        assert client.reason is not None
        self.assertIsInstance(client.reason.value, DANEVerificationError)
        self.assertEqual(client.received, [])
        self.assertFalse(client.handshakeDone)

"""
Smoke tests of the Prosody harness: what the XMPP (RFC 7673, XEP-0368) tests build on.
"""

from __future__ import annotations

import base64
import socket
import ssl
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from twisted.trial.unittest import TestCase

from .common import Credentials
from .prosody import Prosody

pytestmark = pytest.mark.interop

DOMAIN = "xmpp.example.test"

STREAM = (
    f"<?xml version='1.0'?><stream:stream to='{DOMAIN}' xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
).encode()


def readUntil(connection: socket.socket, marker: bytes) -> bytes:
    """
    Read from C{connection} until C{marker} arrived or the peer closed it.
    """
    received = b""
    while marker not in received:
        chunk = connection.recv(4096)
        if not chunk:
            break
        received += chunk
    return received


class ProsodyHarnessTests(TestCase):
    """
    The private Prosody offers STARTTLS on its c2s port, TLS on its direct TLS port, and
    logs in the users registered with it.
    """

    def startProsody(self, certificateName: str = DOMAIN) -> Prosody:
        directory = Path(tempfile.mkdtemp(prefix="txdane-credentials-"))
        credentials = Credentials.selfSigned(directory, certificateName)
        prosody = Prosody(credentials, domain=DOMAIN)
        self.addCleanup(prosody.cleanUp)
        prosody.register("alice", "secret")
        prosody.start()
        return prosody

    def test_starttlsOffered(self) -> None:
        prosody = self.startProsody()
        with socket.create_connection((prosody.host, prosody.starttlsPort), timeout=10) as c:
            c.sendall(STREAM)
            features = readUntil(c, b"</stream:features>")
        self.assertIn(f"from='{DOMAIN}'".encode(), features)
        self.assertIn(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>", features)

    def test_directTLSAndLogin(self) -> None:
        """
        The direct TLS port presents the configured certificate, even one for another name
        and to a client without SNI, and a registered user logs in (SASL PLAIN): the log says
        C{Authenticated as alice@xmpp.example.test}.
        """
        prosody = self.startProsody(certificateName="unrelated.example")
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        for serverName in (DOMAIN, None):
            with socket.create_connection((prosody.host, prosody.directTLSPort), timeout=10) as c:
                with context.wrap_socket(c, server_hostname=serverName) as tls:
                    der = tls.getpeercert(binary_form=True)
                    assert der is not None
                    self.assertEqual(x509.load_der_x509_certificate(der), prosody.credentials.leaf)
                    if serverName is None:
                        continue
                    tls.sendall(STREAM)
                    features = readUntil(tls, b"</stream:features>")
                    self.assertIn(b"<mechanism>PLAIN</mechanism>", features)
                    self.assertNotIn(b"<starttls", features)
                    plain = base64.b64encode(b"\0alice\0secret")
                    tls.sendall(
                        b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
                        + plain
                        + b"</auth>"
                    )
                    self.assertIn(b"<success", readUntil(tls, b"success"))
        prosody.waitForLog(r"Authenticated as alice@xmpp\.example\.test")

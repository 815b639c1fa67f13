"""
A loopback TLS server for the connection-creator tests, and a client protocol that records
everything that reaches it.
"""

from __future__ import annotations

from typing import Any

from OpenSSL import crypto
from twisted.internet import defer, interfaces, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint, wrapClientTLS
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import CertificateOptions, TLSVersion
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from .certs import Issued

_reactor: Any = reactor

GREETING = b"hello from the server\r\n"


def serverOptions(
    leaf: Issued,
    *chain: Issued,
    requireClientCertificate: Issued | None = None,
    maximumVersion: TLSVersion | None = None,
) -> CertificateOptions:
    # cryptography objects, which pyOpenSSL prefers to its own (Twisted's hints predate that).
    kw: dict[str, object] = {
        "privateKey": leaf.key,
        "certificate": leaf.cert,
        "extraCertChain": [c.cert for c in chain],
    }
    if maximumVersion is not None:
        kw["lowerMaximumSecurityTo"] = maximumVersion
    if requireClientCertificate is not None:
        kw.update(
            verify=True,
            requireCertificate=True,
            caCerts=[crypto.X509.from_cryptography(requireClientCertificate.cert)],
        )
    return CertificateOptions(**kw)  # type: ignore[arg-type]


@implementer(interfaces.IHandshakeListener)
class GreetingServer(Protocol):
    """
    Greets the client as soon as the handshake completes, and notes the SNI it received and
    the client's certificate.
    """

    def handshakeCompleted(self) -> None:
        transport: Any = self.transport
        factory: Any = self.factory
        handle = transport.getHandle()
        factory.serverNames.append(handle.get_servername())
        peer = handle.get_peer_certificate()
        factory.clientCertificates.append(peer and peer.to_cryptography())
        transport.write(GREETING)


class StartTLSServer(Protocol):
    """
    A plain-text server that answers C{STARTTLS} with C{GO} and then speaks TLS, greeting the
    client once the handshake completes.
    """

    def dataReceived(self, data: bytes) -> None:
        if data == b"STARTTLS\r\n":
            transport: Any = self.transport
            factory: Any = self.factory
            transport.write(b"GO\r\n")
            transport.startTLS(factory.options)
            transport.write(GREETING)


def listen(options: CertificateOptions) -> tuple[interfaces.IListeningPort, Any]:
    factory: Any = Factory.forProtocol(GreetingServer)
    factory.serverNames = []
    factory.clientCertificates = []
    port = _reactor.listenTCP(
        0, TLSMemoryBIOFactory(options, False, factory), interface="127.0.0.1"
    )
    return port, factory


def listenStartTLS(options: CertificateOptions) -> interfaces.IListeningPort:
    factory: Any = Factory.forProtocol(StartTLSServer)
    factory.options = options
    return _reactor.listenTCP(0, factory, interface="127.0.0.1")


@implementer(interfaces.IHandshakeListener)
class RecordingClient(Protocol):
    """
    Records application data, handshake completion and the reason of connection loss.
    """

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.handshakeDone = False
        self.greeted: defer.Deferred[None] = defer.Deferred()
        self.lost: defer.Deferred[None] = defer.Deferred()
        self.reason: Failure | None = None

    def handshakeCompleted(self) -> None:
        self.handshakeDone = True

    def dataReceived(self, data: bytes) -> None:
        self.received.append(data)
        if b"".join(self.received).endswith(GREETING) and not self.greeted.called:
            self.greeted.callback(None)

    def connectionLost(self, reason: Failure = Failure(Exception())) -> None:  # noqa: B008
        self.reason = reason
        if not self.greeted.called:
            self.greeted.errback(reason)
        self.lost.callback(None)


class StartTLSClient(RecordingClient):
    """
    Asks for STARTTLS in plain text, then switches to TLS with C{creator}.
    """

    def __init__(self, creator: interfaces.IOpenSSLClientConnectionCreator) -> None:
        super().__init__()
        self.creator = creator
        self.tls = False

    def connectionMade(self) -> None:
        self.transport.write(b"STARTTLS\r\n")  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if not self.tls:
            assert data == b"GO\r\n", data
            self.tls = True
            self.transport.startTLS(self.creator)  # type: ignore[union-attr]
            return
        super().dataReceived(data)


async def connect(
    port: interfaces.IListeningPort, creator: interfaces.IOpenSSLClientConnectionCreator
) -> RecordingClient:
    endpoint = wrapClientTLS(
        creator,
        TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port),  # type: ignore[attr-defined]
    )
    client = RecordingClient()
    await endpoint.connect(Factory.forProtocol(lambda: client))
    return client


async def connectStartTLS(
    port: interfaces.IListeningPort, creator: interfaces.IOpenSSLClientConnectionCreator
) -> StartTLSClient:
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)  # type: ignore[attr-defined]
    client = StartTLSClient(creator)
    await endpoint.connect(Factory.forProtocol(lambda: client))
    return client

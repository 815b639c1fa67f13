"""
A DNS-over-TLS server on loopback for the DoT client's tests: a real TLS listener whose
queries are handed to a Python function, which answers at once, later, out of order, or never.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dns.message
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.internet.ssl import Certificate, CertificateOptions, optionsForClientTLS
from twisted.protocols.tls import TLSMemoryBIOFactory

from txdane.testing import Issued, issue

from .scriptserver import answer

A_RECORD = "{name} 300 IN A 192.0.2.1"


def answerAtOnce(query: dns.message.Message, connection: DoTServerConnection) -> None:
    """
    The default handler: an A record for the name asked.
    """
    name = query.question[0].name.to_text()
    connection.reply(answer(query, A_RECORD.format(name=name)).to_wire())


class DoTServerConnection(Protocol):
    """
    One client connection: length-prefixed messages over TLS.

    @ivar received: the raw queries, in order.
    """

    def __init__(self, server: DoTServer) -> None:
        self.server = server
        self.buffer = b""
        self.received: list[bytes] = []
        self.lost: Deferred[None] = Deferred()

    def connectionMade(self) -> None:
        self.server.connections.append(self)

    def dataReceived(self, data: bytes) -> None:
        self.server.bytesReceived += len(data)
        self.buffer += data
        while len(self.buffer) >= 2:
            (length,) = struct.unpack("!H", self.buffer[:2])
            if len(self.buffer) < 2 + length:
                return
            wire, self.buffer = self.buffer[2 : 2 + length], self.buffer[2 + length :]
            self.received.append(wire)
            query = dns.message.from_wire(wire)
            self.server.queries.append(query)
            self.server.events.append(f"query {query.question[0].name}")
            self.server.handler(query, self)

    def reply(self, wire: bytes) -> None:
        """
        Send one message (framed).
        """
        assert self.transport is not None
        self.transport.write(struct.pack("!H", len(wire)) + wire)

    def connectionLost(self, reason: Any = None) -> None:
        self.lost.callback(None)


Handler = Callable[[dns.message.Message, DoTServerConnection], None]


@dataclass
class DoTServer:
    """
    A DoT server on C{host} with a certificate for C{name} issued by its own CA.

    @ivar queries: every query received, on any connection.
    @ivar events: what happened, in order (C{"query NAME"} lines, and what tests add).
    @ivar bytesReceived: application bytes received (after the TLS handshake).
    """

    handler: Handler = answerAtOnce
    name: str = "dot.example.test"
    host: str = "127.0.0.1"
    ca: Issued = field(default_factory=lambda: issue("Test DoT CA", ca=True))
    queries: list[dns.message.Message] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    connections: list[DoTServerConnection] = field(default_factory=list)
    bytesReceived: int = 0

    def start(self) -> None:
        leaf = issue(self.name, self.ca)
        options = CertificateOptions(privateKey=leaf.key, certificate=leaf.cert)  # type: ignore[arg-type]
        factory = TLSMemoryBIOFactory(
            options, False, ServerFactory.forProtocol(lambda: DoTServerConnection(self))
        )
        self.port: Any = _reactor.listenTCP(0, factory, interface=self.host)  # type: ignore[arg-type]

    @property
    def address(self) -> str:
        return f"{self.host}#{self.port.getHost().port}"

    def creator(self, name: str | None = None) -> Any:
        """
        A client creator that checks the certificate by PKIX with this server's CA, for
        C{name} (default: the server's name).
        """
        root = Certificate.loadPEM(self.ca.certPEM())
        return optionsForClientTLS(name or self.name, trustRoot=root)

    def stop(self) -> Any:
        from twisted.internet.defer import gatherResults, maybeDeferred

        waits: list[Deferred[Any]] = [maybeDeferred(self.port.stopListening)]
        for connection in self.connections:
            if not connection.lost.called:
                waits.append(connection.lost)
                connection.transport.abortConnection()  # type: ignore[union-attr]
        return gatherResults(waits)

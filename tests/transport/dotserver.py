"""
A DNS-over-TLS server on loopback for the DoT client's tests: a real TLS listener whose
queries are handed to a Python function, which answers at once, later, out of order, or never;
on request, it ignores the client's TLS close_notify (neither answers it nor closes).
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
from twisted.internet.task import deferLater
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
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


async def within(d: Deferred[Any], seconds: float) -> bool:
    """
    Whether C{d} fires within C{seconds} (it is not cancelled either way).
    """
    for _ in range(int(seconds / 0.02) + 1):
        if d.called:
            return True
        await deferLater(_reactor, 0.02, lambda: None)
    return d.called


class DeafToCloseNotify(ProtocolWrapper):
    """
    Between TCP and the server's TLS layer: what the TLS layer writes while it reads the
    client's bytes goes out once it has read them, unless it then closed the connection (it
    does on the client's close_notify, after writing its own): then nothing goes out, and the
    TCP connection stays open, as a server that ignores close_notify would leave it.
    """

    def __init__(self, factory: Any, wrappedProtocol: Any) -> None:
        super().__init__(factory, wrappedProtocol)
        self.held: list[bytes] | None = None
        self.deaf = False

    def write(self, data: bytes) -> None:
        if self.deaf:
            return
        if self.held is not None:
            self.held.append(data)
        else:
            super().write(data)

    def writeSequence(self, data: Any) -> None:
        for chunk in data:
            self.write(chunk)

    def loseConnection(self) -> None:
        self.deaf = True
        self.held = None

    def dataReceived(self, data: bytes) -> None:
        if self.deaf:
            return
        self.held = []
        try:
            super().dataReceived(data)
        finally:
            held, self.held = self.held, None
            if held and not self.deaf:
                super().write(b"".join(held))


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
    #: Ignore the client's close_notify: neither answer it nor close the TCP connection.
    ignoreCloseNotify: bool = False

    def start(self) -> None:
        leaf = issue(self.name, self.ca)
        options = CertificateOptions(privateKey=leaf.key, certificate=leaf.cert)  # type: ignore[arg-type]
        factory: Any = TLSMemoryBIOFactory(
            options, False, ServerFactory.forProtocol(lambda: DoTServerConnection(self))
        )
        if self.ignoreCloseNotify:
            factory = WrappingFactory(factory)
            factory.protocol = DeafToCloseNotify
        self.port: Any = _reactor.listenTCP(0, factory, interface=self.host)

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

    def abortConnections(self) -> None:
        """
        Abort the connections still open (a test's cleanup, before a client's close, when
        the server ignores close_notify: so that a client that would wait for it does not).
        """
        for connection in self.connections:
            if not connection.lost.called:
                connection.transport.abortConnection()  # type: ignore[union-attr]

    def stop(self) -> Any:
        from twisted.internet.defer import gatherResults, maybeDeferred

        waits: list[Deferred[Any]] = [maybeDeferred(self.port.stopListening)]
        for connection in self.connections:
            if not connection.lost.called:
                waits.append(connection.lost)
                connection.transport.abortConnection()  # type: ignore[union-attr]
        return gatherResults(waits)

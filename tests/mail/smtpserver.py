"""
An in-process SMTP server with STARTTLS (twisted.mail's ESMTP), for tests and the bench: it
listens on one port of several loopback addresses, records every command line a client sent
in cleartext and every message it accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Factory
from twisted.mail import smtp
from zope.interface import implementer

reactor: Any = _reactor


@implementer(smtp.IMessage)
class _Message:
    def __init__(self, server: SMTPServer, recipient: Any) -> None:
        self.server = server
        self.lines: list[bytes] = []

    def lineReceived(self, line: bytes) -> None:
        self.lines.append(line)

    def eomReceived(self) -> Any:
        self.server.messages.append(b"\n".join(self.lines))
        if self.server.holdEOM:
            held: Deferred[bytes] = Deferred()
            self.server.held.append(held)
            return held
        return succeed(b"queued")

    def connectionLost(self) -> None:
        pass


@implementer(smtp.IMessageDelivery)
class _Delivery:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
        return b"Received: by test"

    def validateFrom(self, helo: Any, origin: Any) -> Any:
        if self.server.tempfail:
            raise smtp.SMTPBadSender(origin, 451, "try again later")
        return origin

    def validateTo(self, user: Any) -> Any:
        return lambda: _Message(self.server, user)


#: What a forging server sends in the segment of its STARTTLS go-ahead: the replies to the
#: whole transaction the client would send next, as if it had been accepted.
FORGED_REPLIES = (
    b"220 2.0.0 go ahead\r\n"
    b"250-forged.example.test\r\n250 8BITMIME\r\n"
    b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
    b"250 2.0.0 Ok: queued as FORGED\r\n221 2.0.0 Bye\r\n"
)


class _Server(smtp.ESMTP):
    def lineReceived(self, line: bytes) -> Any:
        server: SMTPServer = self.factory.server
        if not getattr(self.transport, "TLS", False):
            server.cleartext.append(line)
        return super().lineReceived(line)

    def ext_STARTTLS(self, rest: bytes) -> None:
        server: SMTPServer = self.factory.server
        if not server.forge:
            return super().ext_STARTTLS(rest)
        # A hostile server (or one on the path): the go-ahead and forged replies to the
        # rest of the transaction in one segment, then no handshake at all.
        assert self.transport is not None
        self.transport.write(FORGED_REPLIES)
        self.transport.loseConnection()
        return None


@dataclass
class SMTPServer:
    """
    The server: C{context} offers STARTTLS (C{None}: no STARTTLS at all).
    """

    context: Any
    ports: list[IListeningPort] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    cleartext: list[bytes] = field(default_factory=list)
    tempfail: bool = False
    #: Answer STARTTLS with forged replies (L{FORGED_REPLIES}) and drop the handshake.
    forge: bool = False
    #: Keep the reply to each message's final dot waiting (in C{held}).
    holdEOM: bool = False
    held: list[Deferred[bytes]] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.ports[0].getHost().port  # type: ignore[attr-defined]

    def factory(self) -> Factory:
        server = self

        class ServerFactory(smtp.SMTPFactory):
            protocol = _Server

            def buildProtocol(self, addr: Any) -> Any:
                p = super().buildProtocol(addr)
                p.delivery = _Delivery(server)
                p.ctx = server.context
                return p

        factory = ServerFactory()
        factory.server = server  # type: ignore[attr-defined]
        return factory

    def stop(self) -> Any:
        from twisted.internet.defer import maybeDeferred

        return [maybeDeferred(p.stopListening) for p in self.ports]


def listenSMTP(context: Any, interfaces: tuple[str, ...], port: int = 0) -> SMTPServer:
    """
    Listen on one port of each of C{interfaces}; C{port} 0 finds one free on all of them.
    """
    server = SMTPServer(context)
    factory = server.factory()
    for _ in range(20):
        ports: list[IListeningPort] = []
        try:
            number = port
            for interface in interfaces:
                listening = reactor.listenTCP(number, factory, interface=interface)
                number = listening.getHost().port
                ports.append(listening)
        except CannotListenError:
            for p in ports:
                p.stopListening()
            if port:
                raise
            continue
        server.ports = ports
        return server
    raise RuntimeError("no port free on every interface")

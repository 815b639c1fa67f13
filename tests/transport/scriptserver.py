"""
A scriptable DNS server on loopback for the transport tests: real UDP and TCP sockets on the
same port, each query handed to a Python function that decides what goes back on the wire.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from twisted.internet import reactor as _reactor
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import DatagramProtocol, Protocol, ServerFactory


@dataclass
class Reply:
    """
    One datagram (or TCP message) to send back.

    @ivar wire: the bytes.
    @ivar fromOther: send the datagram from another socket, so from the wrong address or port.
    """

    wire: bytes
    fromOther: bool = False


Handler = Callable[[dns.message.Message, str], list[Reply]]


def answer(query: dns.message.Message, *records: str, **kw: Any) -> dns.message.Message:
    """
    A response to C{query} holding C{records} (master-file lines) in the answer section.
    """
    response = dns.message.make_response(query, **kw)
    for text in records:
        name, ttl, rdclass, rdtype, rdata = text.split(None, 4)
        rrset = response.find_rrset(
            response.answer,
            dns.name.from_text(name),
            dns.rdataclass.from_text(rdclass),
            dns.rdatatype.from_text(rdtype),
            create=True,
        )
        rrset.add(dns.rdata.from_text(rdclass, rdtype, rdata), int(ttl))
    return response


@dataclass
class ScriptServer:
    """
    Listens on 127.0.0.1 (or C{otherHost} for spoofed replies) on one port for UDP and TCP.

    @ivar queries: every query received, with the transport it came over.
    @ivar stalledTCP: listen for TCP with a L{StalledListener}: no TCP connection completes.
    """

    handler: Handler
    host: str = "127.0.0.1"
    otherHost: str = "127.0.0.1"
    stalledTCP: bool = False
    queries: list[tuple[dns.message.Message, str]] = field(default_factory=list)
    rawQueries: list[bytes] = field(default_factory=list)

    def start(self) -> None:
        self._other = DatagramProtocol()
        factory = ServerFactory.forProtocol(lambda: _TCP(self))
        # The UDP port's number may be taken for TCP by another process: try another one.
        for attempt in range(20):
            self._udp = _UDP(self)
            self.udpPort: IListeningPort = _reactor.listenUDP(0, self._udp, interface=self.host)  # type: ignore[attr-defined]
            self.port = self.udpPort.getHost().port
            try:
                self.tcpPort: Any
                if self.stalledTCP:
                    self.tcpPort = StalledListener(self.host, self.port)
                else:
                    self.tcpPort = _reactor.listenTCP(self.port, factory, interface=self.host)  # type: ignore[arg-type]
                break
            except CannotListenError:
                self.udpPort.stopListening()
                if attempt == 19:
                    raise
        self.otherPort = _reactor.listenUDP(0, self._other, interface=self.otherHost)  # type: ignore[attr-defined]

    @property
    def address(self) -> str:
        return f"{self.host}#{self.port}"

    def stop(self) -> Any:
        from twisted.internet.defer import gatherResults, maybeDeferred

        return gatherResults(
            [maybeDeferred(p.stopListening) for p in (self.udpPort, self.otherPort, self.tcpPort)]
        )

    def handle(self, wire: bytes, transport: str) -> list[Reply]:
        self.rawQueries.append(wire)
        query = dns.message.from_wire(wire)
        self.queries.append((query, transport))
        return self.handler(query, transport)


class _UDP(DatagramProtocol):
    def __init__(self, server: ScriptServer) -> None:
        self.server = server

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        for reply in self.server.handle(data, "udp"):
            sender = self.server._other if reply.fromOther else self
            sender.transport.write(reply.wire, addr)  # type: ignore[union-attr]


class _TCP(Protocol):
    def __init__(self, server: ScriptServer) -> None:
        self.server = server
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 2:
            (length,) = struct.unpack("!H", self.buffer[:2])
            if len(self.buffer) < 2 + length:
                return
            wire, self.buffer = self.buffer[2 : 2 + length], self.buffer[2 + length :]
            for reply in self.server.handle(wire, "tcp"):
                self.transport.write(struct.pack("!H", len(reply.wire)) + reply.wire)  # type: ignore[union-attr]


class StalledListener:
    """
    A TCP socket listening on C{host} and C{port} that never accepts a connection, its accept
    queue (of one) full: the kernel drops the SYN of any other connection to it, which stays
    being made until the client gives up, as when a firewall drops TCP to the port.
    """

    def __init__(self, host: str, port: int) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._listener.bind((host, port))
            self._listener.listen(0)
        except OSError as e:
            self._listener.close()
            raise CannotListenError(host, port, e) from e
        # The one connection the queue holds, completed before any other connection is tried.
        self._filler = socket.create_connection((host, port), timeout=5)

    def stopListening(self) -> None:
        self._filler.close()
        self._listener.close()

"""
DNS over UDP and TCP on Twisted, in front of a L{Responder}.

Both protocols hold a L{ResponderHolder} rather than the responder itself, so a reload swaps
the zones between two queries without closing a socket or dropping a connection.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.internet.interfaces import IAddress
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.basic import Int16StringReceiver

from txdane.server.answer import Responder

#: How many bytes a TCP client may leave unanswered in our receive buffer (a few queries'
#: worth); beyond that the connection is closed.
DEFAULT_MAX_TCP_BUFFER = 65536 * 4

_log = Logger()


@dataclass
class ResponderHolder:
    """
    The responder currently in use; replace C{responder} to swap zones atomically.
    """

    responder: Responder


class DNSDatagramProtocol(DatagramProtocol):
    """
    Answers DNS queries arriving as UDP datagrams.
    """

    def __init__(self, holder: ResponderHolder) -> None:
        self.holder = holder

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        try:
            answer = self.holder.responder.respondWire(datagram)
        except Exception:
            _log.failure("answering a UDP query from {addr}", addr=addr)
            return
        if answer is not None and self.transport is not None:
            self.transport.write(answer, addr)


class DNSStreamProtocol(Int16StringReceiver):
    """
    Answers DNS queries arriving over TCP (RFC 1035 section 4.2.2, RFC 7766: several queries
    per connection, each answered in full).
    """

    def __init__(self, holder: ResponderHolder) -> None:
        self.holder = holder

    def stringReceived(self, string: bytes) -> None:
        try:
            answer = self.holder.responder.respondWire(string, tcp=True)
        except Exception:
            _log.failure("answering a TCP query")
            assert self.transport is not None
            self.transport.loseConnection()
            return
        if answer is not None:
            self.sendString(answer)


class DNSStreamFactory(Factory):
    """
    Makes a L{DNSStreamProtocol} per TCP connection, all sharing one L{ResponderHolder}.
    """

    def __init__(self, holder: ResponderHolder) -> None:
        self.holder = holder

    def buildProtocol(self, addr: IAddress | None) -> Protocol:
        protocol = DNSStreamProtocol(self.holder)
        protocol.factory = self
        return protocol

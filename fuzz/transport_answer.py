"""
Fuzz the DNS client's answer handling: arbitrary datagrams (with the query's ID, from the
server's address unless the first byte of their part, which the ID replaces, has bit 0x10
set: then from another address, which the client must ignore), then, if the client retries
over TCP, arbitrary stream data. The query ends in a response matching the question or a
L{DNSError}, never another exception, and never stays pending past its deadline.

    python fuzz/transport_answer.py -runs=100000
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rrset
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.transport import DNSClient, DNSError

_SERVER = ("192.0.2.53", 53)
_QNAME = "_443._tcp.www.example.test."


class _Port:
    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.sent: list[bytes] = []
        self.open = True

    def connect(self, host: str, port: int) -> None:
        pass

    def write(self, data: bytes, addr: object = None) -> None:
        self.sent.append(data)

    def stopListening(self) -> None:
        self.open = False


class _Connector:
    def __init__(self, factory: Any) -> None:
        self.factory = factory

    def disconnect(self) -> None:
        pass


class _Reactor(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.ports: list[_Port] = []
        self.connectors: list[_Connector] = []

    def listenUDP(self, port: int, protocol: Any, interface: str = "", **kw: Any) -> _Port:
        fake = _Port(protocol)
        self.ports.append(fake)
        protocol.makeConnection(fake)
        return fake

    def connectTCP(self, host: str, port: int, factory: Any, **kw: Any) -> _Connector:
        connector = _Connector(factory)
        self.connectors.append(connector)
        return connector


def _chunks(data: bytes) -> list[bytes]:
    """
    Split fuzz input into parts: a 2-byte length before each.
    """
    parts = []
    while len(data) >= 2:
        (length,) = struct.unpack_from("!H", data)
        parts.append(data[2 : 2 + length])
        data = data[2 + length :]
    return parts


def testOneInput(data: bytes) -> str:
    reactor = _Reactor()
    client = DNSClient(reactor, [f"{_SERVER[0]}#{_SERVER[1]}"], timeout=1, attempts=1)
    results: list[object] = []
    d = client.query(_QNAME, "TLSA", dnssecOK=True, checkingDisabled=True)
    d.addBoth(results.append)
    parts = _chunks(data)
    delivered = 0
    for part in parts:
        if results:
            break
        open_ = [p for p in reactor.ports if p.open]
        if open_:
            port = open_[-1]
            query = dns.message.from_wire(port.sent[-1])
            datagram = struct.pack("!H", query.id) + part[2:] if len(part) >= 2 else part
            source = _SERVER if not part[:1] or part[0] & 0x10 == 0 else ("192.0.2.9", 53)
            port.protocol.datagramReceived(datagram, source)
            delivered += 1
        elif reactor.connectors and delivered < len(parts):
            connector = reactor.connectors.pop()
            protocol = connector.factory.buildProtocol(None)
            transport = StringTransport()
            protocol.makeConnection(transport)
            sent = transport.value()
            query = dns.message.from_wire(sent[2:])
            wire = struct.pack("!H", query.id) + part[2:] if len(part) >= 2 else part
            framed = struct.pack("!H", len(wire)) + wire
            for offset in range(0, len(framed), 7):
                protocol.dataReceived(framed[offset : offset + 7])
            protocol.connectionLost(None)
            delivered += 1
        else:
            break
    reactor.advance(client.deadline + 1)
    while reactor.connectors:
        connector = reactor.connectors.pop()
        protocol = connector.factory.buildProtocol(None)
        factory = connector.factory
        factory.clientConnectionFailed(connector, _failure())
    reactor.advance(client.deadline + 1)
    assert results, "the query is still pending after its deadline"
    result = results[0]
    if isinstance(result, dns.message.Message):
        # Names compare without regard to case, as the client matches a response to its query.
        assert result.question and result.question[0].name == dns.name.from_text(_QNAME)
        return f"answer-rcode-{result.rcode()}"
    error = getattr(result, "value", result)
    if not isinstance(error, DNSError):
        raise error  # type: ignore[misc]
    return type(error).__name__


def _failure() -> Any:
    from twisted.internet.error import ConnectionRefusedError
    from twisted.python.failure import Failure

    return Failure(ConnectionRefusedError())


def seeds() -> list[bytes]:
    """
    A good answer, a truncated one then a good one over TCP, a good one from the wrong address
    then from the right one, and a few broken ones. The seeds' ID (replaced by the query's
    when delivered) leaves bit 0x10 of its first byte clear, so that they come from the
    server's address unless said otherwise.
    """
    query = dns.message.make_query(_QNAME, "TLSA", want_dnssec=True, id=0x4EED)
    good = dns.message.make_response(query)
    good.answer.append(dns.rrset.from_text(_QNAME, 300, "IN", "TLSA", "3 1 1 " + "ab" * 32))
    goodWire = good.to_wire()
    truncated = dns.message.make_response(query)
    truncated.flags |= dns.flags.TC
    servfail = dns.message.make_response(query)
    servfail.set_rcode(dns.rcode.SERVFAIL)

    def framed(*parts: bytes) -> bytes:
        return b"".join(struct.pack("!H", len(p)) + p for p in parts)

    return [
        framed(goodWire),
        framed(truncated.to_wire(), goodWire),
        framed(servfail.to_wire()),
        framed(goodWire[:20], goodWire),
        framed(b"\x10" + goodWire[1:], goodWire),
        framed(b"\x00" * 5),
    ]


if __name__ == "__main__":
    main(testOneInput, seeds())

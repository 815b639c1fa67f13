"""
A fake reactor for the transport's timing tests: a L{Clock} with UDP and TCP that record what
the client sends, so timeouts and retries run on fake time and no test sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dns.message
from twisted.internet.task import Clock


@dataclass
class FakeUDPPort:
    reactor: FakeReactor
    protocol: Any
    interface: str
    open: bool = True

    def write(self, data: bytes, addr: tuple[str, int]) -> None:
        self.reactor.sent.append((self, dns.message.from_wire(data), addr))

    def stopListening(self) -> None:
        self.open = False

    def deliver(self, message: dns.message.Message | bytes, addr: tuple[str, int]) -> None:
        wire = message if isinstance(message, bytes) else message.to_wire()
        self.protocol.datagramReceived(wire, addr)


@dataclass
class FakeConnector:
    host: str
    port: int
    factory: Any
    timeout: float
    disconnected: bool = False

    def disconnect(self) -> None:
        self.disconnected = True


class FakeReactor(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.ports: list[FakeUDPPort] = []
        self.sent: list[tuple[FakeUDPPort, dns.message.Message, tuple[str, int]]] = []
        self.connectors: list[FakeConnector] = []

    def listenUDP(self, port: int, protocol: Any, interface: str = "", **kw: Any) -> FakeUDPPort:
        fake = FakeUDPPort(self, protocol, interface)
        self.ports.append(fake)
        protocol.makeConnection(fake)
        return fake

    def connectTCP(
        self, host: str, port: int, factory: Any, timeout: float = 30, **kw: Any
    ) -> FakeConnector:
        connector = FakeConnector(host, port, factory, timeout)
        self.connectors.append(connector)
        return connector

    def openPorts(self) -> list[FakeUDPPort]:
        return [p for p in self.ports if p.open]

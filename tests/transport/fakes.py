"""
Fakes for the transport's tests: L{FakeReactor}, a L{Clock} with UDP and TCP that record what
the client sends, so timeouts and retries run on fake time and no test sleeps; and
L{WatchedReactor}, which lets tests on real loopback sockets wait for them to be closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dns.message
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.error import UserError
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure


@dataclass
class FakeUDPPort:
    reactor: FakeReactor
    protocol: Any
    interface: str
    open: bool = True
    connected: tuple[str, int] | None = None

    def connect(self, host: str, port: int) -> None:
        self.connected = (host, port)

    def write(self, data: bytes, addr: tuple[str, int] | None = None) -> None:
        destination = addr or self.connected
        assert destination is not None
        self.reactor.sent.append((self, dns.message.from_wire(data), destination))

    def stopListening(self) -> None:
        self.open = False

    def deliver(self, message: dns.message.Message | bytes, addr: tuple[str, int]) -> None:
        wire = message if isinstance(message, bytes) else message.to_wire()
        self.protocol.datagramReceived(wire, addr)


@dataclass
class FakeConnector:
    """
    A TCP connection being made, which stays being made until the test says how it ends.
    Like Twisted's connectors, L{disconnect} while connecting fails the connection at once,
    from inside the call: the factory's C{clientConnectionFailed} with a C{UserError}.

    @ivar state: C{"connecting"}, C{"connected"} or C{"disconnected"}, as Twisted's
        connectors have it.
    @ivar disconnected: whether L{disconnect} was called.
    @ivar transport: once L{connect}ed, the transport, which records what is written.
    """

    host: str
    port: int
    factory: Any
    timeout: float
    state: str = "connecting"
    disconnected: bool = False
    transport: StringTransport | None = None

    def disconnect(self) -> None:
        self.disconnected = True
        if self.state == "connecting":
            self.connectionFailed(Failure(UserError()))
        elif self.transport is not None:
            self.transport.loseConnection()

    def connect(self) -> StringTransport:
        """
        The connection is made: the factory's protocol gets a transport, returned.
        """
        self.state = "connected"
        self.transport = StringTransport()
        self.factory.buildProtocol(None).makeConnection(self.transport)
        return self.transport

    def connectionFailed(self, reason: Failure) -> None:
        """
        The connection could not be made: the factory is told, as Twisted tells it.
        """
        self.state = "disconnected"
        self.factory.clientConnectionFailed(self, reason)


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


class WatchedReactor:
    """
    A real reactor, for tests on loopback sockets, that tells when the UDP ports and TCP
    connections opened through it are closed: L{allClosed} is a Deferred on that event, so a
    test waits for it instead of for a turn of the reactor or a moment of real time.

    @ivar closings: one Deferred per port or connection opened, fired once it is closed.
    @ivar endings: how each TCP connection ended: the name of the factory's method called
        (C{"clientConnectionFailed"} for a connection never made) and its reason.
    """

    def __init__(self, reactor: Any) -> None:
        self._reactor = reactor
        self.closings: list[Deferred[None]] = []
        self.endings: list[tuple[str, Failure]] = []
        self._connecting: list[Deferred[Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)

    def _closing(self) -> Deferred[None]:
        closed: Deferred[None] = Deferred()
        self.closings.append(closed)
        return closed

    def listenUDP(self, port: int, protocol: Any, interface: str = "", **kw: Any) -> Any:
        closed = self._closing()
        doStop = protocol.doStop

        def stopped() -> None:
            # The port calls it once its socket is out of the reactor, just before closing it.
            doStop()
            self._reactor.callLater(0, closed.callback, None)

        protocol.doStop = stopped
        return self._reactor.listenUDP(port, protocol, interface=interface, **kw)

    def connectTCP(self, host: str, port: int, factory: Any, *args: Any, **kw: Any) -> Any:
        closed = self._closing()
        for name in ("clientConnectionLost", "clientConnectionFailed"):
            original = getattr(factory, name)

            def ended(
                connector: Any, reason: Any, original: Any = original, name: str = name
            ) -> None:
                self.endings.append((name, reason))
                original(connector, reason)
                if not closed.called:
                    closed.callback(None)

            setattr(factory, name, ended)
        connector = self._reactor.connectTCP(host, port, factory, *args, **kw)
        waiting, self._connecting = self._connecting, []
        for d in waiting:
            self._reactor.callLater(0, d.callback, connector)
        return connector

    def nextConnection(self) -> Deferred[Any]:
        """
        Fires with the connector of the next TCP connection begun through this reactor, on
        the reactor's next turn (once the caller of C{connectTCP} has gone on).
        """
        d: Deferred[Any] = Deferred()
        self._connecting.append(d)
        return d

    def allClosed(self) -> Deferred[list[None]]:
        """
        Fires once every port and connection opened so far is closed.
        """
        return gatherResults(list(self.closings))

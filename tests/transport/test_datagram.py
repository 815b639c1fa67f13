"""
Tests for the UDP socket a query reads through (C{txdane.transport._DatagramPort}), on real
loopback sockets, its reading driven by hand as the reactor would drive it.
"""

from __future__ import annotations

import errno
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet import error as twistedError
from twisted.internet import reactor
from twisted.internet.protocol import DatagramProtocol
from twisted.python.failure import Failure

from txdane.transport import UDP_READS_PER_TURN, _DatagramPort, _listenUDP


class Recorder(DatagramProtocol):
    """
    Records what its port passes on; closes the port on a datagram if C{closeOn} says so.
    """

    noisy = False

    def __init__(self, closeOn: bytes | None = None) -> None:
        self.datagrams: list[tuple[bytes, Any]] = []
        self.refused = 0
        self.stopped: list[int] = []  # the socket's pending error when stopProtocol ran
        self.closeOn = closeOn

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.datagrams.append((data, addr))
        if data == self.closeOn:
            assert self.transport is not None
            self.transport.stopListening()

    def connectionRefused(self) -> None:
        self.refused += 1

    def startProtocol(self) -> None:
        self.port: Any = self.transport  # doStop clears the transport before stopProtocol

    def stopProtocol(self) -> None:
        self.stopped.append(self.port.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))


@pytest.fixture
def server() -> Iterator[socket.socket]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    yield s
    s.close()


def closedPort() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def opened(protocol: DatagramProtocol, interface: str = "") -> Any:
    port = _listenUDP(reactor, protocol, interface)
    assert isinstance(port, _DatagramPort)  # the global reactor is a POSIX one
    return port


def waitReadable(port: Any) -> None:
    """
    Wait until the socket has something to read, or an error to report.
    """
    import select

    select.select([port.socket], [], [port.socket], 5)
    time.sleep(0.01)  # let the rest of a burst arrive


def test_connectedExchange(server: socket.socket) -> None:
    """
    A connected port sends to its server and passes on the server's answer with its source;
    closing it runs C{stopProtocol} once and takes the socket out of the reactor.
    """
    protocol = Recorder()
    port = opened(protocol)
    assert port in reactor.getReaders()
    port.connect(*server.getsockname())
    port.write(b"question")
    data, source = server.recvfrom(100)
    assert data == b"question"
    server.sendto(b"answer", source)
    waitReadable(port)
    port.doRead()
    assert protocol.datagrams == [(b"answer", server.getsockname())]
    port.stopListening()
    assert protocol.stopped == [0] and port.socket is None and port.fileno() == -1
    assert port not in reactor.getReaders()
    port.stopListening()  # a second close does nothing
    assert protocol.stopped == [0]


def test_unconnectedExchange(server: socket.socket) -> None:
    """
    An unconnected port (a scoped IPv6 server cannot be connected to) sends to the address
    given with each datagram.
    """
    protocol = Recorder()
    port = opened(protocol)
    try:
        port.write(b"question", server.getsockname())
        data, source = server.recvfrom(100)
        server.sendto(b"answer", source)
        waitReadable(port)
        port.doRead()
        assert data == b"question" and protocol.datagrams == [(b"answer", server.getsockname())]
    finally:
        port.stopListening()


def test_refusedByClosedPort() -> None:
    """
    The ICMP port unreachable that answers a datagram to a closed port reaches the protocol's
    C{connectionRefused} when the socket is read, and no datagram does.
    """
    protocol = Recorder()
    port = opened(protocol)
    try:
        port.connect("127.0.0.1", closedPort())
        port.write(b"question")
        waitReadable(port)
        port.doRead()
        assert (protocol.refused, protocol.datagrams) == (1, [])
    finally:
        port.stopListening()


def test_droppedByReactorKeepsErrorReadable() -> None:
    """
    When the reactor drops the socket on an error instead of letting it be read (as the epoll
    reactor does with a pending ICMP error), C{stopProtocol} runs before the socket closes,
    so the protocol can still read that error.
    """
    protocol = Recorder()
    port = opened(protocol)
    port.connect("127.0.0.1", closedPort())
    port.write(b"question")
    waitReadable(port)
    reactor.removeReader(port)  # what the reactor does before calling connectionLost
    port.connectionLost(Failure(twistedError.ConnectionLost()))
    assert protocol.stopped == [errno.ECONNREFUSED] and port.socket is None


def test_readsBoundedPerTurn(server: socket.socket) -> None:
    """
    One read passes on at most L{UDP_READS_PER_TURN} datagrams, so a flood from the server's
    address cannot keep the reactor from its other work; the rest wait for the next turn.
    """
    protocol = Recorder()
    port = opened(protocol)
    try:
        port.connect(*server.getsockname())
        port.write(b"question")
        _, source = server.recvfrom(100)
        count = UDP_READS_PER_TURN + 8
        for i in range(count):
            server.sendto(b"%d" % i, source)
        waitReadable(port)
        port.doRead()
        assert len(protocol.datagrams) == UDP_READS_PER_TURN
        port.doRead()
        assert [d for d, _ in protocol.datagrams] == [b"%d" % i for i in range(count)]
        port.doRead()  # nothing left: the read would block, and is not an error
        assert len(protocol.datagrams) == count
    finally:
        port.stopListening()


def test_closedWhileReading(server: socket.socket) -> None:
    """
    A protocol that closes the port on a datagram (the answer it waited for) gets no more
    datagrams from that read, and the socket is closed.
    """
    protocol = Recorder(closeOn=b"1")
    port = opened(protocol)
    port.connect(*server.getsockname())
    port.write(b"question")
    _, source = server.recvfrom(100)
    for i in range(3):
        server.sendto(b"%d" % i, source)
    waitReadable(port)
    port.doRead()
    assert [d for d, _ in protocol.datagrams] == [b"0", b"1"]
    assert protocol.stopped == [0] and port.socket is None
    assert port not in reactor.getReaders()


def test_ipv6SourceIsHostAndPort() -> None:
    """
    On IPv6 the source passed on is C{(host, port)}, without flow information and scope.
    """
    try:
        server = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        server.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    server.settimeout(5)
    protocol = Recorder()
    port = opened(protocol, "::")
    try:
        port.connect("::1", server.getsockname()[1])
        port.write(b"question")
        _, source = server.recvfrom(100)
        server.sendto(b"answer", source)
        waitReadable(port)
        port.doRead()
        assert protocol.datagrams == [(b"answer", ("::1", server.getsockname()[1]))]
    finally:
        port.stopListening()
        server.close()


def test_cannotBind() -> None:
    """
    An address the socket cannot be bound to is C{CannotListenError}, as Twisted's port gives
    it (the query then fails for that server), and the protocol is never started.
    """
    protocol = Recorder()
    with pytest.raises(twistedError.CannotListenError):
        opened(protocol, "192.0.2.77")
    assert protocol.transport is None and protocol.numPorts == 0

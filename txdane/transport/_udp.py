"""
One query over UDP: a fresh socket, connected to the server, read by the reactor directly
(L{_DatagramPort}), and the exchange that waits on it for the answer that matches the query
(L{_UDPExchange}).

Tests: C{tests/transport/test_datagram.py}, C{tests/transport/test_client.py},
C{tests/transport/test_timing.py}.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import struct
from typing import Any

import dns.exception
import dns.message
from twisted.internet import error as twistedError
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.posixbase import PosixReactorBase
from twisted.internet.protocol import DatagramProtocol
from twisted.python.failure import Failure

from txdane.resolvconf import NameServer
from txdane.transport._parse import parseMessage
from txdane.transport._query import SentQuery
from txdane.transport._stats import TransportStats
from txdane.transport.errors import (
    DNSConnectionError,
    DNSUnreachableError,
    _AttemptTimeout,
    networkFailure,
)

#: Datagrams a query's UDP socket reads per turn of the reactor: a flood of them (which only
#: the server's address, or one forged as it, can send to a connected socket) leaves the rest
#: of the program its turn; the rest are read on the next.
UDP_READS_PER_TURN = 32


def _ipKey(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class _DatagramPort:
    """
    The UDP socket of one query, read by the reactor directly: the part of Twisted's UDP port
    a query uses (a socket bound to a free port, optionally connected, written to, read until
    closed), without its per-socket log lines (C{"... starting on N"}, C{"(UDP Port N
    Closed)"}, logged whatever C{noisy} says) and without the address checks and the closing
    on the reactor's next turn, which made each query's socket cost about half as much again.

    Reading follows Twisted's port: datagrams are passed to the protocol's C{datagramReceived}
    (an IPv6 source reduced to C{(host, port)}), an ICMP error reported on a connected socket
    to its C{connectionRefused}; the protocol's C{stopProtocol} runs when the socket closes,
    whether by L{stopListening} or because the reactor dropped it after an error, and can
    still read the socket's pending error then.
    """

    #: A UDP datagram is never longer than this, whatever payload size a query advertised.
    _MAX_DATAGRAM = 65535
    _IGNORED = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})
    _REFUSED = frozenset({errno.ECONNREFUSED})

    def __init__(self, reactor: Any, protocol: DatagramProtocol, interface: str) -> None:
        self._reactor = reactor
        self.protocol = protocol
        family = socket.AF_INET6 if ":" in interface else socket.AF_INET
        self._ipv6 = family == socket.AF_INET6
        self._connected = False
        try:
            skt = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as e:
            raise twistedError.CannotListenError(interface, 0, e) from e
        try:
            skt.setblocking(False)
            skt.bind((interface, 0))
        except OSError as e:
            skt.close()
            raise twistedError.CannotListenError(interface, 0, e) from e
        self.socket: socket.socket | None = skt
        self._fileno = skt.fileno()
        protocol.makeConnection(self)  # type: ignore[arg-type]
        reactor.addReader(self)

    def fileno(self) -> int:
        return self._fileno if self.socket is not None else -1

    def logPrefix(self) -> str:
        return "txdane.transport"

    def connect(self, host: str, port: int) -> None:
        """
        Connect the socket to C{(host, port)}, an IP address: only its datagrams are read.
        """
        assert self.socket is not None
        self.socket.connect((host, port))
        self._connected = True

    def write(self, datagram: bytes, addr: tuple[str, int] | None = None) -> None:
        """
        Send C{datagram}: to the connected address, or to C{addr} on an unconnected socket.
        """
        assert self.socket is not None
        try:
            if self._connected:
                self.socket.send(datagram)
            else:
                assert addr is not None
                self.socket.sendto(datagram, addr)
        except OSError as e:
            if e.errno != errno.ECONNREFUSED:
                raise
            if self._connected:
                self.protocol.connectionRefused()

    def doRead(self) -> None:
        """
        Pass on the datagrams waiting on the socket, until it has none or is closed.
        """
        for _ in range(UDP_READS_PER_TURN):
            if self.socket is None:
                return
            try:
                data, addr = self.socket.recvfrom(self._MAX_DATAGRAM)
            except OSError as e:
                if e.errno in self._IGNORED:
                    return
                if e.errno in self._REFUSED:
                    if self._connected:
                        self.protocol.connectionRefused()
                    return
                raise
            self.protocol.datagramReceived(data, addr[:2] if self._ipv6 else addr)

    def stopListening(self) -> None:
        """
        Stop reading and close the socket; the protocol's C{stopProtocol} runs first.
        """
        if self.socket is None:
            return
        self._reactor.removeReader(self)
        self._close()

    def connectionLost(self, reason: Failure) -> None:
        """
        The reactor dropped the socket (an error it reported, or one L{doRead} raised).
        """
        if self.socket is not None:
            self._close()

    def _close(self) -> None:
        try:
            self.protocol.doStop()
        finally:
            skt, self.socket = self.socket, None
            assert skt is not None
            skt.close()


def _listenUDP(reactor: Any, protocol: DatagramProtocol, interface: str) -> Any:
    """
    A UDP port on any free port of C{interface} for C{protocol}: a L{_DatagramPort} where the
    reactor's own would be a C{twisted.internet.udp.Port} (the POSIX reactors), else the
    reactor's.
    """
    if getattr(type(reactor), "listenUDP", None) is PosixReactorBase.listenUDP:
        return _DatagramPort(reactor, protocol, interface)
    return reactor.listenUDP(0, protocol, interface=interface)


class _UDPExchange(DatagramProtocol):
    """
    One query over a new UDP socket, waiting for the answer that matches it.
    """

    noisy = False

    def __init__(
        self,
        reactor: Any,
        query: SentQuery,
        server: NameServer,
        timeout: float,
        stats: TransportStats,
    ) -> None:
        self._reactor = reactor
        self._query = query
        self._server = server
        self._stats = stats
        self._malformed: str | None = None
        self.deferred: Deferred[dns.message.Message] = Deferred(self._cancel)
        self._timer: IDelayedCall | None = None
        try:
            self._port = _listenUDP(reactor, self, "::" if server.isIPv6 else "")
        except twistedError.CannotListenError as e:
            # No socket for this address family (e.g. no IPv6 here): this server cannot be
            # asked, which is a connection error for it, not a crash of the whole query.
            self._port = None
            self.deferred.errback(DNSConnectionError(f"no UDP socket: {e.socketError}", server))
            return
        self._timer = reactor.callLater(timeout, self._timedOut)
        assert self.transport is not None
        try:
            # A connected socket: the kernel passes on only datagrams from the server, and an
            # ICMP port unreachable from it reaches connectionRefused() at once, so a closed
            # port fails this attempt now rather than at its timeout.
            self._port.connect(server.host, server.port)
            connected = True
        except (twistedError.InvalidAddressError, OSError):
            connected = False  # an address the socket cannot connect to (a scoped IPv6 one)
        wire = query.wire
        try:
            if connected:
                self.transport.write(wire)  # type: ignore[call-arg]  # to the connected address
            else:
                self.transport.write(wire, (server.host, server.port))
        except OSError as e:
            self._finish()
            self.deferred.errback(DNSConnectionError(e.strerror or str(e), server))

    def connectionRefused(self) -> None:
        """
        The server's host answered with ICMP port unreachable: fail this attempt now.
        """
        if self._timer is None:
            return
        self._unreachable(errno.ECONNREFUSED)

    def stopProtocol(self) -> None:
        """
        The socket closed while the answer was awaited, so the reactor saw an error on it:
        the epoll reactor closes a UDP socket that has a pending ICMP error instead of reading
        it (which would call L{connectionRefused}). Fail this attempt with that error.
        """
        if self._port is None or self._timer is None:
            return  # closed by _finish
        port, self._port = self._port, None  # closing already
        code = 0
        try:
            code = port.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except (AttributeError, OSError):
            pass
        if code:
            self._unreachable(code)
            return
        self._finish()
        self.deferred.errback(DNSConnectionError("the UDP socket closed", self._server))

    def _unreachable(self, code: int) -> None:
        self._stats.unreachable += 1
        self._finish()
        reason = networkFailure(code, "udp") or os.strerror(code)
        self.deferred.errback(DNSUnreachableError(reason, self._server))

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        if self._timer is None:
            return
        if addr[1] != self._server.port:
            fromServer = False
        elif addr[0] == self._server.host:
            fromServer = True
        else:
            # The same address written another way (an IPv4-mapped IPv6 one, another case or
            # zero compression, a scope): compared as addresses, only now, as this is rare.
            try:
                fromServer = _ipKey(addr[0]) == _ipKey(self._server.host)
            except ValueError:
                fromServer = False
        if not fromServer:
            self._stats.ignore("source")
            return
        if len(data) < 12 or struct.unpack("!H", data[:2])[0] != self._query.id:
            self._stats.ignore("id" if len(data) >= 12 else "unparseable")
            if len(data) < 12:
                self._malformed = f"a {len(data)}-byte datagram is shorter than a DNS header"
            return
        truncated = bool(data[2] & 0x02)
        try:
            response = parseMessage(data, questionOnly=truncated)
        except (dns.exception.DNSException, ValueError, struct.error) as e:
            self._stats.ignore("unparseable")
            self._malformed = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            return
        if not self._query.answeredBy(response):
            self._stats.ignore("question")
            return
        self._finish()
        self.deferred.callback(response)

    def _timedOut(self) -> None:
        self._timer = None
        self._stats.timeouts += 1
        self._finish()
        self.deferred.errback(_AttemptTimeout(self._malformed))

    def _cancel(self, deferred: Deferred[dns.message.Message]) -> None:
        self._finish()

    def _finish(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        if self._port is not None:
            port, self._port = self._port, None
            port.stopListening()

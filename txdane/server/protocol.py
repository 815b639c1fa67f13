"""
DNS over UDP and TCP on Twisted, in front of a L{Responder}.

Both protocols hold a L{ResponderHolder} rather than the responder itself, so a reload swaps
the zones between two queries without closing a socket or dropping a connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IAddress, IDelayedCall, IReactorTime
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.protocols.basic import Int16StringReceiver
from twisted.protocols.policies import TimeoutMixin
from twisted.python.failure import Failure

from txdane.server.ratelimit import ResponseRateLimiter, Verdict
from txdane.server.responder import Responder, isUpdate

#: Seconds a TCP connection may stay idle before the server closes it (RFC 7766 s6.2.3
#: suggests a few seconds; clients open connections, idle ones cost a socket each).
DEFAULT_TCP_IDLE_TIMEOUT = 10.0
#: How many TCP connections may be open at once; further ones are closed at once.
DEFAULT_MAX_TCP_CONNECTIONS = 500
#: How many UDP answers the servers of L{txdane.server.service} hold back to send together:
#: the answers to the datagrams read in one go leave once they are all answered, or as soon as
#: this many wait. Sending a run of answers costs far less than waking the client (and the
#: server) once per answer, at the price of a fraction of a millisecond of latency under load.
DEFAULT_UDP_BATCH = 32

_log = Logger()
#: The size of a DNS header: no message is shorter.
_HEADER_SIZE = 12


@dataclass
class ResponderHolder:
    """
    The responder currently in use; replace C{responder} to swap zones atomically.
    """

    responder: Responder


class DNSDatagramProtocol(DatagramProtocol):
    """
    Answers DNS queries arriving as UDP datagrams, holding the answers to each source prefix
    to a rate when given a L{ResponseRateLimiter}.

    With C{batch} above 1, answers wait to be sent together: until the reactor has read every
    datagram that arrived together (the next turn of its loop), or until C{batch} of them
    wait, whichever comes first.

    @ivar clock: what schedules the sending of a batch (the global reactor by default).
    """

    def __init__(
        self,
        holder: ResponderHolder,
        rateLimiter: ResponseRateLimiter | None = None,
        *,
        batch: int = 1,
        clock: IReactorTime | None = None,
    ) -> None:
        self.holder = holder
        self.rateLimiter = rateLimiter
        self.batch = batch
        self.clock = clock
        self._pending: list[tuple[bytes, tuple[str, int]]] = []
        self._flushCall: IDelayedCall | None = None

    def datagramReceived(self, datagram: bytes, addr: tuple[str, int]) -> None:
        responder = self.holder.responder
        if responder.updater is not None and isUpdate(datagram):
            # Dynamic updates may take a while; their answers go out when done.
            d = responder.updater.respondUpdateLater(datagram, tcp=False)
            d.addCallback(self._send, addr)
            d.addErrback(lambda f: _log.failure("updating for {addr}", f, addr=addr))
            return
        try:
            answer = responder.respondWire(datagram)
            if answer is not None and self.rateLimiter is not None:
                verdict = self.rateLimiter.check(addr[0])
                if verdict is Verdict.DROP:
                    return
                if verdict is Verdict.SLIP:
                    answer = responder.truncatedWire(datagram)
        except Exception:
            _log.failure("answering a UDP query from {addr}", addr=addr)
            return
        if answer is None:
            return
        if self.batch <= 1:
            self._send(answer, addr)
            return
        pending = self._pending
        pending.append((answer, addr))
        if len(pending) >= self.batch:
            self._flush()
        if self._flushCall is None:
            clock = self.clock
            if clock is None:
                from twisted.internet import reactor

                clock = reactor
            assert clock is not None
            self._flushCall = clock.callLater(0, self._flushLater)

    def _flushLater(self) -> None:
        self._flushCall = None
        self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        transport = self.transport
        if transport is None or not pending:
            return
        # Straight to the port's socket when there is one: the addresses came from the socket
        # itself, so the port's checks of them (three address parses an answer) add nothing.
        send = getattr(getattr(transport, "socket", None), "sendto", None) or transport.write
        for answer, addr in pending:
            try:
                send(answer, addr)
            except OSError:
                pass  # as in _send

    def stopProtocol(self) -> None:
        """
        Send the answers still waiting, while the port can.
        """
        if self._flushCall is not None:
            self._flushCall.cancel()
            self._flushCall = None
        self._flush()

    def _send(self, answer: bytes | None, addr: tuple[str, int]) -> None:
        if answer is not None and self.transport is not None:
            try:
                self.transport.write(answer, addr)
            except OSError:
                # A source that cannot be answered (port 0, a broadcast address): usually
                # spoofed, so dropped without a log line per packet.
                pass


class DNSStreamProtocol(Int16StringReceiver, TimeoutMixin):
    """
    Answers DNS queries arriving over TCP (RFC 1035 section 4.2.2, RFC 7766: several queries
    per connection, each answered in full), closing the connection once it has been idle for
    C{idleTimeout} seconds.
    """

    #: What idle timeouts are measured with; C{None}: the global reactor.
    clock: IReactorTime | None = None

    def __init__(self, holder: ResponderHolder, idleTimeout: float | None = None) -> None:
        self.holder = holder
        self.idleTimeout = idleTimeout
        self._lostWaiters: list[Deferred[None]] = []

    def close(self) -> Deferred[None]:
        """
        Drop the connection now; fires once it is gone.
        """
        self.setTimeout(None)
        waiter: Deferred[None] = Deferred()
        self._lostWaiters.append(waiter)
        if self.transport is not None:
            self.transport.abortConnection()  # type: ignore[attr-defined]
        return waiter

    def callLater(self, period: float, func: Callable[[], object]) -> IDelayedCall:
        """
        C{TimeoutMixin}'s scheduling hook, on C{clock}.
        """
        clock = self.clock
        if clock is None:
            from twisted.internet import reactor

            clock = reactor
        assert clock is not None
        return clock.callLater(period, func)

    def connectionMade(self) -> None:
        super().connectionMade()
        # As the transport's streaming producer, the protocol is paused while the transport's
        # write buffer is full: a client that sends queries without reading the answers stops
        # being read, instead of making the server buffer answers without bound.
        assert self.transport is not None
        self.transport.registerProducer(self, True)  # type: ignore[attr-defined]
        self.setTimeout(self.idleTimeout)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.setTimeout(None)
        factory = getattr(self, "factory", None)
        if isinstance(factory, DNSStreamFactory):
            factory.connections.discard(self)
        super().connectionLost(reason)
        waiters, self._lostWaiters = self._lostWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def timeoutConnection(self) -> None:
        """
        Close an idle connection; abort it if it is still open one idle timeout later (a
        graceful close waits for the client to read every pending answer, which a client
        that never reads would never do).
        """
        assert self.transport is not None
        if self.transport.disconnecting:  # type: ignore[attr-defined]
            self.transport.abortConnection()  # type: ignore[attr-defined]
            return
        self.transport.loseConnection()
        self.setTimeout(self.idleTimeout)

    def stringReceived(self, string: bytes) -> None:
        assert self.transport is not None
        if self.transport.disconnecting:  # type: ignore[attr-defined]
            return  # closing: queries still buffered are not answered
        if len(string) < _HEADER_SIZE:
            # No message is that short (an empty one is none at all): what comes next on
            # the stream cannot be trusted to be framed, so the connection is closed (after
            # the answers already given) rather than left to the idle timeout.
            self.transport.loseConnection()
            return
        # Only a complete query counts as traffic: partial frames dribbled in (slowloris) must
        # not hold the connection open past the idle timeout.
        self.resetTimeout()
        responder = self.holder.responder
        if responder.updater is not None and isUpdate(string):
            # Answered when done, possibly after answers to later queries (RFC 7766 s7).
            d = responder.updater.respondUpdateLater(string, tcp=True)
            d.addCallback(self._sendLater)
            d.addErrback(lambda f: _log.failure("updating over TCP", f))
            return
        try:
            answer = self.holder.responder.respondWire(string, tcp=True)
        except Exception:
            _log.failure("answering a TCP query")
            self.transport.loseConnection()
            return
        if answer is not None:
            self.sendString(answer)

    def _sendLater(self, answer: bytes | None) -> None:
        transport = self.transport
        if answer is not None and transport is not None:
            if not transport.disconnecting:  # type: ignore[attr-defined]
                self.sendString(answer)


class DNSStreamFactory(Factory):
    """
    Makes a L{DNSStreamProtocol} per TCP connection, all sharing one L{ResponderHolder}, and
    refuses connections beyond C{maxConnections}.

    @ivar clock: what idle timeouts are measured with (the global reactor by default).
    """

    def __init__(
        self,
        holder: ResponderHolder,
        *,
        idleTimeout: float = DEFAULT_TCP_IDLE_TIMEOUT,
        maxConnections: int = DEFAULT_MAX_TCP_CONNECTIONS,
        clock: IReactorTime | None = None,
    ) -> None:
        self.holder = holder
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.clock = clock
        self.connections: set[DNSStreamProtocol] = set()

    def closeAll(self) -> Deferred[None]:
        """
        Drop every open connection; fires once they are all gone.
        """
        closing = [protocol.close() for protocol in list(self.connections)]
        return gatherResults(closing).addCallback(lambda _: None)

    def buildProtocol(self, addr: IAddress | None) -> Protocol | None:
        if len(self.connections) >= self.maxConnections:
            return None
        protocol = DNSStreamProtocol(self.holder, self.idleTimeout)
        protocol.clock = self.clock
        protocol.factory = self
        self.connections.add(protocol)
        return protocol

"""
The connections of a L{DoTClient<txdane.dot.DoTClient>}: to each server, at most one TLS
connection open (L{_Upstream}), opened when a query needs it and authenticated in its
handshake by what the client's C{authenticate} callable returns (L{UpstreamTLS}), on which
queries are written only once the handshake has completed, many at a time, and matched to
their answers by ID and question (L{_DoTConnection}).

A connection the client closes sends TLS's close_notify and waits for the server to close
too; one that has not within L{CLOSE_GRACE} seconds (or the client's timeout, if shorter) is
aborted, so that a server that ignores the alert keeps no socket open.

Tests: C{tests/transport/test_dot.py}, C{tests/peers/test_dot.py}.
"""

from __future__ import annotations

import secrets
import struct
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dns.exception
import dns.message
from twisted.internet import error as twistedError
from twisted.internet.defer import Deferred, gatherResults, maybeDeferred
from twisted.internet.interfaces import IDelayedCall, IHandshakeListener
from twisted.internet.protocol import ClientFactory
from twisted.internet.protocol import Protocol as StreamProtocol
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.dot._errors import (
    DoTAuthenticationError,
    _describeHandshakeFailure,
    _isTLSRefusal,
    _Retry,
)
from txdane.resolvconf import NameServer
from txdane.transport import (
    DNSConnectionError,
    DNSError,
    DNSMalformedError,
    parseMessage,
)

if TYPE_CHECKING:
    from txdane.dot import DoTClient

#: Seconds a connection the client closed may take to finish closing (the server's answer to
#: TLS's close_notify, then TCP's close) before it is aborted; the client's timeout, if that is
#: shorter.
CLOSE_GRACE = 2.0
#: The most queries outstanding on one connection C{maxOutstanding} may allow: a sixteenth of
#: the 16-bit ID space, so that a free ID is found at the first draw or nearly (every ID is
#: drawn at random among those not in use, timed-out queries' included).
MAX_OUTSTANDING = 4096


@dataclass(frozen=True)
class UpstreamTLS:
    """
    How to speak TLS to one server: what an C{authenticate} callable of L{DoTClient} returns.

    @ivar creator: the C{IOpenSSLClientConnectionCreator} for the connection; it decides
        in the handshake whether the server's certificate is accepted.
    @ivar explain: turns the exception of a failed handshake into the reason of a
        L{DoTAuthenticationError}; C{None} to let the client describe it.
    """

    creator: Any
    explain: Callable[[BaseException], str | None] | None = None


@dataclass(eq=False)
class _Entry:
    """
    One query waiting for its answer on an upstream.
    """

    query: dns.message.Message
    deferred: Deferred[dns.message.Message]
    connection: _DoTConnection | None = None
    waited: bool = False
    #: The bytes the connection had received when the query was written on it.
    receivedBefore: int = 0


@implementer(IHandshakeListener)
class _DoTConnection(StreamProtocol):
    """
    One TLS connection to an upstream: length-prefixed messages (RFC 1035 section 4.2.2), any
    number of them outstanding, matched by ID and question.
    """

    def __init__(self, upstream: _Upstream) -> None:
        self._upstream = upstream
        self._buffer = b""
        self.ready = False
        self.closed = False
        self.pending: dict[int, _Entry] = {}
        #: IDs of queries whose attempt timed out: their answers may still come, and must not
        #: be taken for another query's.
        self.abandoned: set[int] = set()
        #: Application bytes received, and answers read (to queries outstanding or timed out).
        self.bytesReceived = 0
        self.answers = 0
        self._idle: IDelayedCall | None = None
        self._abort: IDelayedCall | None = None
        #: Fires when the connection is gone (L{whenLost} for a Deferred to wait on).
        self.lost: Deferred[None] = Deferred()

    def whenLost(self) -> Deferred[None]:
        """
        A Deferred that fires once the connection is gone; cancelling it stops only that wait.
        """
        waiter: Deferred[None] = Deferred()
        self.lost.addCallback(lambda _: None if waiter.called else waiter.callback(None))
        return waiter

    @property
    def load(self) -> int:
        return len(self.pending) + len(self.abandoned)

    def handshakeCompleted(self) -> None:
        """
        The server's certificate was accepted: queries may be written now, and not before.
        """
        self.ready = True
        self._upstream._connectionReady(self)

    def send(self, entry: _Entry) -> None:
        client = self._upstream.client
        while True:
            queryID = secrets.randbits(16)
            if queryID not in self.pending and queryID not in self.abandoned:
                break
        entry.query.id = queryID
        entry.connection = self
        entry.receivedBefore = self.bytesReceived
        wire = entry.query.to_wire()
        self.pending[queryID] = entry
        self._stopIdleTimer()
        client.stats.queries += 1
        client.stats.mostOutstanding = max(client.stats.mostOutstanding, self.load)
        assert self.transport is not None
        self.transport.write(struct.pack("!H", len(wire)) + wire)

    def abandon(self, entry: _Entry) -> None:
        """
        Stop waiting for C{entry}'s answer; its ID stays reserved until the answer comes or
        the connection closes. A connection whose every slot is held by abandoned queries no
        longer answers: it is closed.
        """
        queryID = entry.query.id
        if self.pending.get(queryID) is entry:
            del self.pending[queryID]
            self.abandoned.add(queryID)
        if len(self.abandoned) >= self._upstream.client.maxOutstanding:
            self.close()
        else:
            self._maybeIdle()

    def timedOut(self, entry: _Entry) -> None:
        """
        C{entry}'s attempt timed out (and it was abandoned). If nothing at all came on the
        connection since the query was written, the connection may be dead (a server
        restarted, a NAT's state lost, a stuck server): it is closed, so that the next
        attempt opens a new one rather than writing into the void. A connection that answers
        other queries meanwhile is kept.
        """
        if self.bytesReceived == entry.receivedBefore:
            self.close()

    def dataReceived(self, data: bytes) -> None:
        self.bytesReceived += len(data)
        self._buffer += data
        while len(self._buffer) >= 2 and not self.closed:
            (length,) = struct.unpack("!H", self._buffer[:2])
            if len(self._buffer) < 2 + length:
                return
            wire, self._buffer = self._buffer[2 : 2 + length], self._buffer[2 + length :]
            self._message(wire)
        self._upstream._drain()
        self._maybeIdle()

    def _message(self, wire: bytes) -> None:
        server = self._upstream.server
        if len(wire) < 12:
            # A message that cannot hold a header: the framing cannot be trusted any more.
            self._failAll(
                DNSMalformedError(f"a {len(wire)}-byte message is shorter than a header", server)
            )
            self.close()
            return
        (queryID,) = struct.unpack("!H", wire[:2])
        if queryID in self.abandoned:
            self.abandoned.discard(queryID)
            self.answers += 1
            return
        entry = self.pending.pop(queryID, None)
        if entry is None:
            self._upstream.client.stats.ignore("id")
            return
        self.answers += 1
        try:
            response = parseMessage(wire)
        except (dns.exception.DNSException, ValueError, struct.error) as e:
            entry.deferred.errback(DNSMalformedError(f"{type(e).__name__}: {e}", server))
            return
        if not entry.query.is_response(response):
            entry.deferred.errback(DNSMalformedError("the answer does not match the query", server))
            return
        entry.deferred.callback(response)

    def _maybeIdle(self) -> None:
        if self.ready and not self.closed and not self.pending and self._idle is None:
            client = self._upstream.client
            self._idle = client._reactor.callLater(client.idleTimeout, self._idleTimedOut)

    def _stopIdleTimer(self) -> None:
        if self._idle is not None:
            if self._idle.active():
                self._idle.cancel()
            self._idle = None

    def _idleTimedOut(self) -> None:
        self._idle = None
        self._upstream.client.stats.idleClosed += 1
        self.close()

    def close(self) -> None:
        """
        Stop using the connection and close it: TLS's close_notify, and an abort if the
        server has not closed its side within the grace (L{CLOSE_GRACE}, or the client's
        timeout if shorter). Queries outstanding fail at once, to be asked again on a new
        connection (a dead connection's close is not waited for).
        """
        if self.closed:
            return
        self.closed = True
        self._stopIdleTimer()
        self._upstream._connectionGone(self)
        if self.transport is not None and not self.lost.called:
            self._upstream._closing.add(self)
            self.transport.loseConnection()
            if not self.lost.called and self._abort is None:
                client = self._upstream.client
                grace = min(CLOSE_GRACE, client.timeout)
                self._abort = client._reactor.callLater(grace, self._abortConnection)
        self._failRetry()

    def _failRetry(self) -> None:
        """
        Fail the queries outstanding with L{_Retry}: the connection went before their
        answers came.
        """
        if self.pending:
            server = self._upstream.server
            error = DNSConnectionError("the connection closed before the answer came", server)
            self._failAll(_Retry(error, self.answers > 0))

    def _abortConnection(self) -> None:
        self._abort = None
        if self.transport is not None and not self.lost.called:
            self.transport.abortConnection()  # type: ignore[attr-defined]

    def takePending(self) -> list[_Entry]:
        """
        The queries outstanding, no longer outstanding: their Deferreds are the caller's to
        fire.
        """
        entries = list(self.pending.values())
        self.pending.clear()
        return entries

    def _failAll(self, error: Exception) -> None:
        for entry in self.takePending():
            entry.deferred.errback(error)

    def connectionLost(self, reason: Failure = twistedError.ConnectionDone) -> None:  # type: ignore[assignment]
        self._stopIdleTimer()
        if self._abort is not None:
            if self._abort.active():
                self._abort.cancel()
            self._abort = None
        self._upstream._closing.discard(self)
        wasClosed, self.closed = self.closed, True
        if not self.ready:
            self._upstream._connectFailed(self, reason.value or ConnectionError())
        else:
            if not wasClosed:
                self._upstream._connectionGone(self)
            self._failRetry()
        self.lost.callback(None)


class _Factory(ClientFactory):
    def __init__(self, connection: _DoTConnection) -> None:
        self.connection = connection

    def buildProtocol(self, addr: Any) -> _DoTConnection:
        return self.connection

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        self.connection._upstream._connectFailed(self.connection, reason.value or ConnectionError())


class _Upstream:
    """
    The connection to one server: at most one open, opened when a query needs it.
    """

    def __init__(self, client: DoTClient, server: NameServer) -> None:
        self.client = client
        self.server = server
        self._connection: _DoTConnection | None = None
        self._connecting: _DoTConnection | None = None
        self._explain: Callable[[BaseException], str | None] | None = None
        self._waiting: deque[_Entry] = deque()
        self._connector: Any = None
        #: Connections that were given up on and are not gone yet.
        self._closing: set[_DoTConnection] = set()
        #: Bounds the connection being opened: its authentication decision (within the
        #: client's deadline), then its TCP connection and TLS handshake (within its timeout).
        self._connectTimer: IDelayedCall | None = None

    def exchange(self, query: dns.message.Message) -> _Entry:
        """
        Ask C{query} on the connection (opening one if none is open or opening); the
        returned entry's Deferred fires with the answer.
        """
        entry = _Entry(query, Deferred(lambda d: self._cancel(entry)))
        self._waiting.append(entry)
        self._drain()
        if self._connection is None and self._connecting is None:
            self._connect()
        return entry

    def timedOut(self, entry: _Entry) -> None:
        """
        C{entry}'s attempt timed out (its Deferred was cancelled): see
        L{_DoTConnection.timedOut}.
        """
        connection = entry.connection
        if connection is not None and not connection.closed:
            connection.timedOut(entry)

    def _cancel(self, entry: _Entry) -> None:
        if entry in self._waiting:
            self._waiting.remove(entry)
        elif entry.connection is not None:
            entry.connection.abandon(entry)

    def _drain(self) -> None:
        connection = self._connection
        while (
            connection is not None
            and not connection.closed
            and self._waiting
            and connection.load < self.client.maxOutstanding
        ):
            connection.send(self._waiting.popleft())
        if connection is not None and connection.ready and not connection.closed:
            for entry in self._waiting:
                if not entry.waited:
                    entry.waited = True
                    self.client.stats.waitedForSlot += 1

    def _connect(self) -> None:
        connection = _DoTConnection(self)
        self._connecting = connection
        # The decision may take a lookup of its own (the TLSA records of the server): it
        # has the time a query has, the client's deadline, and is not waited for after it.
        self._connectTimer = self.client._reactor.callLater(
            self.client.deadline, self._authenticationTimedOut, connection
        )
        d = maybeDeferred(self.client._authenticate, self.server)
        d.addCallbacks(
            lambda tls: self._open(connection, tls),
            lambda f: self._connectFailed(connection, f.value, authentication=True),
        )
        # Connecting itself failed (no socket for the address family, say).
        d.addErrback(self._openFailed, connection)

    def _openFailed(self, failure: Failure, connection: _DoTConnection) -> None:
        self._connectFailed(connection, failure.value or ConnectionError())

    def _open(self, connection: _DoTConnection, tls: Any) -> None:
        if self._connecting is not connection:
            return
        if not isinstance(tls, UpstreamTLS):
            tls = UpstreamTLS(tls)
        self._explain = tls.explain
        reactor = self.client._reactor
        timeout = self.client.timeout
        factory = TLSMemoryBIOFactory(tls.creator, True, _Factory(connection))
        self._stopConnectTimer()
        self._connector = reactor.connectTCP(
            self.server.host, self.server.port, factory, timeout=timeout
        )
        self._connectTimer = reactor.callLater(timeout, self._handshakeTimedOut, connection)

    def _authenticationTimedOut(self, connection: _DoTConnection) -> None:
        self._connectTimer = None
        if self._connecting is connection:
            self._connectFailed(
                connection,
                DoTAuthenticationError(
                    self.server,
                    self.client.serverName,
                    f"no decision on how to authenticate it within {self.client.deadline:g} s",
                ),
            )

    def _handshakeTimedOut(self, connection: _DoTConnection) -> None:
        self._connectTimer = None
        if self._connecting is connection:
            self.client.stats.timeouts += 1
            self._connectFailed(
                connection,
                DNSConnectionError(
                    f"no TLS handshake within {self.client.timeout:g} s", self.server
                ),
            )

    def _stopConnectTimer(self) -> None:
        if self._connectTimer is not None:
            if self._connectTimer.active():
                self._connectTimer.cancel()
            self._connectTimer = None

    def _connectionReady(self, connection: _DoTConnection) -> None:
        self._stopConnectTimer()
        if self._connecting is not connection:
            connection.close()
            return
        self._connecting = None
        self._connection = connection
        self.client.stats.connections += 1
        self._drain()
        connection._maybeIdle()

    def _connectFailed(
        self, connection: _DoTConnection, error: BaseException, authentication: bool = False
    ) -> None:
        if self._connecting is not connection:
            return
        self._stopConnectTimer()
        self._connecting = None
        self._disconnect(connection)
        failure = self._classify(connection, error, authentication)
        waiting = list(self._waiting)
        self._waiting.clear()
        for entry in waiting:
            entry.deferred.errback(failure)

    def _classify(
        self, connection: _DoTConnection, error: BaseException, authentication: bool
    ) -> DNSError:
        serverName = self.client.serverName
        if isinstance(error, DoTAuthenticationError):
            self.client.stats.refused += 1
            return error
        if authentication:
            self.client.stats.refused += 1
            reason = str(error) or type(error).__name__
            return DoTAuthenticationError(self.server, serverName, reason)
        if isinstance(error, DNSError):
            return error
        if isinstance(error, twistedError.ConnectError):
            return DNSConnectionError(str(error).rstrip("."), self.server)
        if isinstance(error, twistedError.ConnectionDone | twistedError.ConnectionLost):
            return DNSConnectionError("the connection closed during the TLS handshake", self.server)
        explained = self._explain(error) if self._explain is not None else None
        if explained is None and not _isTLSRefusal(error):
            return DNSConnectionError(str(error) or type(error).__name__, self.server)
        self.client.stats.refused += 1
        return DoTAuthenticationError(
            self.server, serverName, explained or _describeHandshakeFailure(error)
        )

    def _connectionGone(self, connection: _DoTConnection) -> None:
        if self._connection is connection:
            self._connection = None
            if self._waiting:
                self._connect()

    def close(self) -> tuple[list[_Entry], Deferred[None]]:
        """
        Close the connection, if one is open or opening, and forget it: a query asked from
        now on opens a new one.

        @return: the queries that were waiting or outstanding, whose Deferreds the caller
            fails (once every upstream is closed, so that a query asked from their errbacks
            finds none of the old connections); and a Deferred that fires once the
            connections are gone.
        """
        entries = list(self._waiting)
        self._waiting.clear()
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            self._stopConnectTimer()
            self._disconnect(connecting)
        connection = self._connection
        if connection is not None:
            entries.extend(connection.takePending())
            connection.close()
        done = [c.whenLost() for c in self._closing]
        return entries, gatherResults(done).addCallback(lambda _: None)

    def _disconnect(self, connection: _DoTConnection) -> None:
        """
        Stop opening C{connection}: its TCP connection, made or being made, is closed.
        """
        if connection.transport is not None and not connection.lost.called:
            self._closing.add(connection)
        connector, self._connector = self._connector, None
        if connector is not None:
            connector.disconnect()

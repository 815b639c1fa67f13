"""
DNS over TLS (RFC 7858) to recursive resolvers, in the strict profile of RFC 8310: every query
travels inside a TLS connection whose server was authenticated first, never in clear.

L{DoTClient} is a L{DNSQuerier<txdane.transport.DNSQuerier>}, so the validating resolver runs on
it unchanged. It keeps one TLS connection open per upstream and sends many queries over it
(RFC 7766), several at a time (pipelining), matching each response to its query by ID and
question whatever order they come back in. Each query carries EDNS(0) padding to a multiple of
128 octets (RFC 7830, the block-length strategy of RFC 8467), so its size does not tell the
name asked for. A connection with nothing outstanding for L{DoTClient.idleTimeout} seconds is
closed; the next query opens a new one. At most L{DoTClient.maxOutstanding} queries are
outstanding on one connection; more wait for a slot.

How a server is authenticated is not this module's business: the client asks its
C{authenticate} callable, once per connection, for the TLS connection creator of a server (the
DANE layer's, which checks PKIX or TLSA records inside the handshake), and writes nothing on a
connection before the handshake has completed, that is, before the certificate was accepted.
A handshake that fails fails every query waiting for that server with L{DoTAuthenticationError},
which names the server, the name it was expected to prove, and why it was refused; the
queries then go to the next server, and fail when none is left. There is no fallback to
cleartext.

Tests: C{tests/transport/test_dot.py}, C{tests/peers/test_dot.py}.
"""

from __future__ import annotations

import math
import secrets
import struct
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from OpenSSL import SSL
from twisted.internet import error as twistedError
from twisted.internet.defer import Deferred, TimeoutError, gatherResults, maybeDeferred
from twisted.internet.interfaces import IDelayedCall, IHandshakeListener
from twisted.internet.protocol import ClientFactory
from twisted.internet.protocol import Protocol as StreamProtocol
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.errors import TxdaneError
from txdane.names import nameFromText
from txdane.resolvconf import DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT, NameServer, nameServers
from txdane.transport import (
    DEFAULT_PAYLOAD,
    DNSConnectionError,
    DNSError,
    DNSMalformedError,
    DNSServerError,
    DNSTimeoutError,
    EDNSUnsupportedError,
    checkedDeadline,
    parseMessage,
)

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_OUTSTANDING",
    "DOT_PORT",
    "PADDING_BLOCK",
    "DoTAuthenticationError",
    "DoTClient",
    "DoTStats",
    "UpstreamTLS",
]

#: The DNS-over-TLS port (RFC 7858 section 3.1).
DOT_PORT = 853
#: Seconds a connection with no query outstanding stays open.
DEFAULT_IDLE_TIMEOUT = 10.0
#: Queries outstanding at once on one connection; further ones wait for a slot.
DEFAULT_MAX_OUTSTANDING = 32
#: Queries are padded to a multiple of this many octets (RFC 8467 section 4.1).
PADDING_BLOCK = 128

#: RCODEs with which a server rejects an EDNS query it does not understand.
_EDNS_REJECTIONS = frozenset({dns.rcode.FORMERR, dns.rcode.NOTIMP, dns.rcode.BADVERS})
#: RCODEs that are answers, not failures.
_ANSWER_RCODES = frozenset({dns.rcode.NOERROR, dns.rcode.NXDOMAIN})


class DoTAuthenticationError(DNSError):
    """
    A DNS-over-TLS server was not authenticated: its certificate did not prove the name it
    was expected to have (by PKIX or by its TLSA records), the TLSA lookup that decides how
    to check it failed, or the TLS handshake failed. Nothing was sent to it but the TLS
    handshake (and, for the TLSA lookup, the queries of that lookup).

    @ivar server: the server refused.
    @ivar serverName: the name it was expected to prove.
    @ivar reason: why it was refused, in words.
    """

    server: NameServer
    serverName: str
    reason: str
    template = "{server} refused as DNS-over-TLS server {serverName}: {reason}"


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


@dataclass
class DoTStats:
    """
    Counters kept by a L{DoTClient}, for monitoring and tests.
    """

    #: TLS connections opened (handshake completed) and handshakes refused or failed.
    connections: int = 0
    refused: int = 0
    #: Queries written, and attempts that timed out.
    queries: int = 0
    timeouts: int = 0
    #: Connections closed for being idle.
    idleClosed: int = 0
    #: The most queries outstanding at once on one connection.
    mostOutstanding: int = 0
    #: Queries that had to wait for a slot because a connection had L{DoTClient.maxOutstanding}.
    waitedForSlot: int = 0
    #: Responses ignored, by reason: C{"id"} (no query outstanding with that ID).
    ignored: dict[str, int] = field(default_factory=dict)

    def ignore(self, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1


class _AttemptTimeout(TxdaneError):
    """
    Internal: one attempt got no answer in time.
    """

    template = "no answer in time"


class _Retry(TxdaneError):
    """
    Internal: the connection closed after the query was written, before its answer; the
    query may be asked again on a new connection (RFC 7766 section 6.2.1).

    @ivar error: the error to report if it is not.
    """

    error: DNSConnectionError
    template = "{error}"


@dataclass(eq=False)
class _Entry:
    """
    One query waiting for its answer on an upstream.
    """

    query: dns.message.Message
    deferred: Deferred[dns.message.Message]
    connection: _DoTConnection | None = None
    waited: bool = False


def _describeHandshakeFailure(error: BaseException) -> str:
    if isinstance(error, SSL.Error):
        parts = []
        try:
            parts = [str(part[2]) for part in error.args[0] if len(part) > 2]
        except (IndexError, TypeError):
            pass
        return f"TLS handshake failed ({'; '.join(parts) or error})"
    if type(error).__name__ == "VerificationError":  # service_identity's name check
        return f"the certificate is not valid for the name ({error})"
    if isinstance(error, TxdaneError):
        return getattr(error, "reason", None) or str(error)
    return str(error) or type(error).__name__


def _isTLSRefusal(error: BaseException) -> bool:
    """
    Whether C{error} ended a TLS handshake: OpenSSL's, a name check's (service_identity), or
    the verdict of the creator's own check (a L{TxdaneError}, such as the DANE layer's).
    """
    return isinstance(error, SSL.Error | TxdaneError) or type(error).__name__ == "VerificationError"


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
        self._idle: IDelayedCall | None = None
        #: Fires when the connection is gone.
        self.lost: Deferred[None] = Deferred()

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

    def dataReceived(self, data: bytes) -> None:
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
            return
        entry = self.pending.pop(queryID, None)
        if entry is None:
            self._upstream.client.stats.ignore("id")
            return
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
        if self.closed:
            return
        self.closed = True
        self._stopIdleTimer()
        self._upstream._connectionGone(self)
        if self.transport is not None:
            self.transport.loseConnection()

    def _failAll(self, error: Exception) -> None:
        entries = list(self.pending.values())
        self.pending.clear()
        for entry in entries:
            entry.deferred.errback(error)

    def connectionLost(self, reason: Failure = twistedError.ConnectionDone) -> None:  # type: ignore[assignment]
        self._stopIdleTimer()
        wasClosed, self.closed = self.closed, True
        if not self.ready:
            self._upstream._connectFailed(self, reason.value or ConnectionError())
        else:
            if not wasClosed:
                self._upstream._connectionGone(self)
            server = self._upstream.server
            self._failAll(
                _Retry(DNSConnectionError("the connection closed before the answer came", server))
            )
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
        self._handshakeTimer: IDelayedCall | None = None

    def exchange(self, query: dns.message.Message) -> Deferred[dns.message.Message]:
        entry = _Entry(query, Deferred(lambda d: self._cancel(entry)))
        self._waiting.append(entry)
        self._drain()
        if self._connection is None and self._connecting is None:
            self._connect()
        return entry.deferred

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
        self._connector = reactor.connectTCP(
            self.server.host, self.server.port, factory, timeout=timeout
        )
        self._handshakeTimer = reactor.callLater(timeout, self._handshakeTimedOut, connection)

    def _handshakeTimedOut(self, connection: _DoTConnection) -> None:
        self._handshakeTimer = None
        if self._connecting is connection:
            self.client.stats.timeouts += 1
            self._connectFailed(
                connection,
                DNSConnectionError(
                    f"no TLS handshake within {self.client.timeout:g} s", self.server
                ),
            )

    def _stopHandshakeTimer(self) -> None:
        if self._handshakeTimer is not None:
            if self._handshakeTimer.active():
                self._handshakeTimer.cancel()
            self._handshakeTimer = None

    def _connectionReady(self, connection: _DoTConnection) -> None:
        self._stopHandshakeTimer()
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
        self._stopHandshakeTimer()
        self._connecting = None
        connector, self._connector = self._connector, None
        if connector is not None:
            connector.disconnect()
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

    def close(self) -> Deferred[None]:
        """
        Close the connection, if one is open or opening; waiting queries fail.
        """
        done = [
            c.lost
            for c in (self._connection, self._connecting)
            if c is not None and c.transport is not None and not c.lost.called
        ]
        if self._connecting is not None:
            self._connectFailed(
                self._connecting, DNSConnectionError("the client was closed", self.server)
            )
        if self._connection is not None:
            self._connection.close()
        return gatherResults(done).addCallback(lambda _: None)


class DoTClient:
    """
    A DNS-over-TLS client for recursive resolvers: see the module docstring.

    @ivar servers: the servers asked, in order.
    @ivar serverName: the name the servers are authenticated for (for messages).
    @ivar timeout: seconds to wait for one answer from one server (and for a TLS handshake).
    @ivar attempts: rounds over the servers.
    @ivar deadline: seconds after which a query fails whatever is left to try.
    @ivar payload: the EDNS(0) payload size advertised.
    @ivar idleTimeout: seconds a connection with no query outstanding stays open.
    @ivar maxOutstanding: queries outstanding at once on one connection.
    @ivar stats: counters, see L{DoTStats}.
    """

    def __init__(
        self,
        reactor: Any,
        servers: Sequence[NameServer | str | tuple[str, int]],
        serverName: str,
        authenticate: Callable[[NameServer], Any],
        *,
        timeout: float | None = None,
        attempts: int | None = None,
        deadline: float | None = None,
        payload: int = DEFAULT_PAYLOAD,
        idleTimeout: float = DEFAULT_IDLE_TIMEOUT,
        maxOutstanding: int = DEFAULT_MAX_OUTSTANDING,
    ) -> None:
        """
        @param reactor: provides C{IReactorTCP} and C{IReactorTime}.
        @param servers: C{"address#port"} strings (the port defaults to 53 there: write
            C{#853}), C{(address, port)} tuples or L{NameServer}s.
        @param serverName: the name the servers must prove (for messages; the proving is
            C{authenticate}'s).
        @param authenticate: called with a server each time a connection to it is opened;
            returns (or returns a Deferred firing with) an L{UpstreamTLS}, or just the
            C{IOpenSSLClientConnectionCreator}, or fails (with L{DoTAuthenticationError}, or
            any error, which becomes one) to refuse the server.
        @param timeout: per attempt, and for each TLS handshake (default 5 s).
        @param attempts: rounds over the servers (default 2).
        @param deadline: total seconds per query; by default C{timeout * attempts *
            len(servers)} plus one timeout for a connection's handshake.
        @param payload: the EDNS(0) payload size to advertise (512-65535).
        @param idleTimeout: seconds before a connection with nothing outstanding is closed.
        @param maxOutstanding: queries outstanding at once on one connection (1 or more).
        @raise ValueError: for an unusable setting (it names the setting).
        """
        self._reactor = reactor
        self.servers = nameServers(servers)
        self.serverName = serverName
        self._authenticate = authenticate
        self.timeout = float(timeout if timeout is not None else DEFAULT_TIMEOUT)
        self.attempts = int(attempts if attempts is not None else DEFAULT_ATTEMPTS)
        self.deadline = checkedDeadline(
            self.servers, self.timeout, self.attempts, payload, deadline
        )
        if not (idleTimeout > 0 and math.isfinite(idleTimeout)):
            raise ValueError(f"idleTimeout: must be positive and finite, not {idleTimeout}")
        if maxOutstanding < 1:
            raise ValueError(f"maxOutstanding: must be at least 1, not {maxOutstanding}")
        self.payload = payload
        self.idleTimeout = float(idleTimeout)
        self.maxOutstanding = int(maxOutstanding)
        self.stats = DoTStats()
        self._upstreams = {server: _Upstream(self, server) for server in self.servers}

    def __repr__(self) -> str:
        servers = ", ".join(str(s) for s in self.servers)
        return f"<DoTClient {self.serverName} at {servers}>"

    def query(
        self,
        name: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str | int,
        rdclass: dns.rdataclass.RdataClass | str | int = dns.rdataclass.IN,
        *,
        dnssecOK: bool = False,
        checkingDisabled: bool = False,
        recursionDesired: bool = True,
    ) -> Deferred[dns.message.Message]:
        """
        Send a query and return a Deferred firing with the response; see
        L{DNSQuerier.query<txdane.transport.DNSQuerier.query>}. It fails with
        L{DoTAuthenticationError} when no server was authenticated.

        Cancelling the Deferred stops the query (the connection stays open for others).
        """
        qname = nameFromText(name) if isinstance(name, str) else name
        flags = (dns.flags.RD if recursionDesired else 0) | (
            dns.flags.CD if checkingDisabled else 0
        )
        return Deferred.fromCoroutine(
            self._query(
                qname,
                dns.rdatatype.RdataType.make(rdtype),
                dns.rdataclass.RdataClass.make(rdclass),
                dnssecOK,
                flags,
            )
        )

    def _makeQuery(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        rdclass: dns.rdataclass.RdataClass,
        dnssecOK: bool,
        flags: int,
    ) -> dns.message.Message:
        # The ID is the connection's to choose (unique among its outstanding queries).
        return dns.message.make_query(
            name,
            rdtype,
            rdclass,
            use_edns=0,
            want_dnssec=dnssecOK,
            payload=self.payload,
            flags=flags,
            pad=PADDING_BLOCK,
        )

    async def _query(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        rdclass: dns.rdataclass.RdataClass,
        dnssecOK: bool,
        flags: int,
    ) -> dns.message.Message:
        clock = self._reactor
        deadlineAt = clock.seconds() + self.deadline
        sent = 0
        lastError: DNSError | None = None
        refusal: DoTAuthenticationError | None = None
        failed: set[NameServer] = set()
        for _round in range(self.attempts):
            for server in self.servers:
                if server in failed:
                    continue
                remaining = deadlineAt - clock.seconds()
                if remaining <= 0:
                    break
                query = self._makeQuery(name, rdtype, rdclass, dnssecOK, flags)
                sent += 1
                try:
                    response = await self._attempt(server, query, min(self.timeout, remaining))
                except _AttemptTimeout:
                    continue
                except DoTAuthenticationError as e:
                    failed.add(server)
                    refusal = e
                    continue
                except DNSError as e:
                    failed.add(server)
                    lastError = e
                    continue
                rcode = response.rcode()
                if rcode in _ANSWER_RCODES:
                    return response
                failed.add(server)
                if rcode in _EDNS_REJECTIONS:
                    lastError = EDNSUnsupportedError(server, rcode)
                else:
                    lastError = DNSServerError(response, server)
        if refusal is not None:
            raise refusal
        if lastError is not None:
            raise lastError
        raise DNSTimeoutError(name, rdtype, self.servers, sent)

    async def _attempt(
        self, server: NameServer, query: dns.message.Message, timeout: float
    ) -> dns.message.Message:
        """
        One attempt at one server within C{timeout}; when the connection closes after the
        query was written, the query is written once more on a new connection.
        """
        upstream = self._upstreams[server]
        startedAt = self._reactor.seconds()
        for retry in (True, False):
            remaining = startedAt + timeout - self._reactor.seconds()
            if remaining <= 0:
                break
            exchange = upstream.exchange(query)
            exchange.addTimeout(remaining, self._reactor)
            try:
                return await exchange
            except TimeoutError:
                break
            except _Retry as e:
                if not retry:
                    raise e.error from None
        self.stats.timeouts += 1
        raise _AttemptTimeout()

    def close(self) -> Deferred[None]:
        """
        Close every connection; queries in progress fail. A later query opens new ones.

        @return: a Deferred that fires once the connections are closed.
        """
        return gatherResults([u.close() for u in self._upstreams.values()]).addCallback(
            lambda _: None
        )

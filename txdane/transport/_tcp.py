"""
One query over TCP (L{_TCPExchange}), for an answer that was truncated over UDP, and the
factory that connects it and words a failure to connect (L{_TCPFactory}).

Tests: C{tests/transport/test_client.py}, C{tests/transport/test_timing.py}.
"""

from __future__ import annotations

import errno
import struct
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.message
from twisted.internet import error as twistedError
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ClientFactory
from twisted.internet.protocol import Protocol as StreamProtocol
from twisted.python.failure import Failure

from txdane.resolvconf import NameServer
from txdane.transport._parse import parseMessage
from txdane.transport._query import SentQuery
from txdane.transport.errors import (
    DNSConnectionError,
    DNSMalformedError,
    DNSUnreachableError,
    _AttemptTimeout,
    networkFailure,
)


class _TCPExchange(StreamProtocol):
    """
    One query over a TCP connection, with two-byte length framing (RFC 1035 section 4.2.2).
    """

    def __init__(
        self, query: SentQuery, server: NameServer, whenSent: Callable[[], object] = lambda: None
    ) -> None:
        """
        @param whenSent: called once the query is written on the connection.
        """
        self._query = query
        self._server = server
        self._whenSent = whenSent
        self._buffer = b""
        self.deferred: Deferred[dns.message.Message] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        wire = self._query.wire
        self.transport.write(struct.pack("!H", len(wire)) + wire)
        self._whenSent()

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) < 2:
            return
        (length,) = struct.unpack("!H", self._buffer[:2])
        if len(self._buffer) < 2 + length:
            return
        wire = self._buffer[2 : 2 + length]
        assert self.transport is not None
        self.transport.loseConnection()
        try:
            response = parseMessage(wire)
        except (dns.exception.DNSException, ValueError, struct.error) as e:
            self._fail(DNSMalformedError(f"{type(e).__name__}: {e}", self._server))
            return
        if not self._query.answeredBy(response):
            self._fail(DNSMalformedError("the answer does not match the query", self._server))
            return
        if not self.deferred.called:
            self.deferred.callback(response)

    def _fail(self, error: Exception) -> None:
        if not self.deferred.called:
            self.deferred.errback(error)

    def connectionLost(self, reason: Failure = twistedError.ConnectionDone) -> None:  # type: ignore[assignment]
        self._fail(DNSConnectionError("connection closed before a complete answer", self._server))


class _TCPFactory(ClientFactory):
    noisy = False

    def __init__(self, exchange: _TCPExchange) -> None:
        self.exchange = exchange

    def buildProtocol(self, addr: Any) -> _TCPExchange:
        return self.exchange

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        server = self.exchange._server
        code = getattr(reason.value, "osError", None)
        if reason.check(twistedError.ConnectionRefusedError):
            code = errno.ECONNREFUSED
        words = networkFailure(code, "tcp") if isinstance(code, int) else None
        if words is not None:
            self.exchange._fail(DNSUnreachableError(words, server))
        elif reason.check(twistedError.TimeoutError):
            self.exchange._fail(_AttemptTimeout())
        else:
            self.exchange._fail(DNSConnectionError(reason.getErrorMessage(), server))

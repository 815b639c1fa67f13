"""
A bound on the bytes a server can make an HTTP client take in: twisted.web's client keeps
every header line of a response, however many (it bounds each line, not their number), so a
server that answers C{200 OK} and then sends header lines without end makes it hold memory
until some deadline. L{BoundedEndpoint} hands the protocol it connects at most a given number
of bytes of each response; past them it aborts the connection, and the protocol sees it lost
with the error it was given.

Used by L{daneAgent<txdane.endpoints.web.daneAgent>} (C{maxResponseBytes}) and by MTA-STS
policy fetches (L{txdane.mtasts.fetch}).

Tests: C{tests/endpoints/test_web_bounds.py}, C{tests/mtasts/test_fetch_bounds.py}.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from zope.interface import implementer

__all__ = ["BoundedConnection", "BoundedConnectionFactory", "BoundedEndpoint", "checkedLimit"]


class BoundedConnection(ProtocolWrapper):
    """
    Passes the bytes it receives to the protocol it wraps up to its factory's C{limit};
    past it, aborts the connection, which that protocol then sees lost with the factory's
    C{tooLarge} error.

    The count is of the connection, or of each response an HTTP client reads on it: when
    the wrapped protocol is twisted.web's HTTP client (C{HTTP11ClientProtocol}) and has
    finished a response, keeping the connection for another request (a persistent
    connection of a pool), the count starts again. The client says so by its C{state},
    C{"QUIESCENT"}, as it resumes its transport before handing the connection back to its
    pool: looking only once the bytes that ended the response were passed on is not
    enough, as the next request may have started by then.

    @ivar received: the bytes counted so far.
    """

    factory: BoundedConnectionFactory

    def __init__(self, factory: BoundedConnectionFactory, wrappedProtocol: IProtocol) -> None:
        super().__init__(factory, wrappedProtocol)
        self.received = 0
        self._tooLarge: Exception | None = None

    def dataReceived(self, data: bytes) -> None:
        if self._tooLarge is not None:
            return
        self.received += len(data)
        if self.received > self.factory.limit:
            self._tooLarge = self.factory.tooLarge
            _bodyLengthLost(self.wrappedProtocol)
            self.transport.abortConnection()  # type: ignore[union-attr]
            return
        super().dataReceived(data)
        self._restartBetweenResponses()

    def resumeProducing(self) -> None:
        self._restartBetweenResponses()
        self.transport.resumeProducing()  # type: ignore[union-attr]

    def _restartBetweenResponses(self) -> None:
        """
        Start the count again if the wrapped protocol is an HTTP client between two
        responses: the next is counted from nothing.
        """
        if getattr(self.wrappedProtocol, "state", None) == "QUIESCENT":
            self.received = 0

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:  # noqa: B008
        if self._tooLarge is not None:
            reason = Failure(self._tooLarge)
        super().connectionLost(reason)


def _bodyLengthLost(protocol: IProtocol) -> None:
    """
    When C{protocol} is twisted.web's HTTP client reading a body that has neither a
    C{Content-Length} nor chunking, whose end is the close of the connection (RFC 9112
    section 6.3), make the close that the bound is about to cause read as a body cut short.
    twisted.web reports the close of such a body as its possible end (C{PotentialDataLoss}),
    without the connection's reason, and many clients (this package's C{readBounded}
    among them) take that as the end of a complete body: the cut would read as a shorter
    body. Given a length still to come, its decoder fails the body with twisted.web's
    C{ResponseFailed}, the bound's error among its reasons, as for a body with a length.
    """
    decoder = getattr(getattr(protocol, "_parser", None), "bodyDecoder", None)
    if decoder is not None and hasattr(decoder, "contentLength"):
        if decoder.contentLength is None:
            decoder.contentLength = 1


class BoundedConnectionFactory(WrappingFactory["BoundedConnection"]):
    """
    Builds a L{BoundedConnection} around each protocol of C{wrappedFactory}.

    @ivar limit: the most bytes a connection passes on (of each response, for an HTTP
        client that keeps its connection).
    @ivar tooLarge: the error its protocol sees the connection lost with past C{limit}.
    """

    protocol = BoundedConnection

    def __init__(self, wrappedFactory: IProtocolFactory, limit: int, tooLarge: Exception):
        super().__init__(wrappedFactory)
        self.limit = limit
        self.tooLarge = tooLarge


@implementer(IStreamClientEndpoint)
class BoundedEndpoint:
    """
    Another endpoint whose connections pass at most C{limit} bytes to the protocol they
    connect (of each response, for an HTTP client that keeps its connection); past them
    the connection is aborted and the protocol sees it lost with C{tooLarge}.

    C{connect} fires with the protocol that C{protocolFactory} built, as the wrapped
    endpoint's does: its transport is the L{BoundedConnection}, which provides the
    interfaces of the transport beneath it and passes on its attributes.

    @ivar wrapped: the endpoint that connects.
    @ivar limit: the most bytes passed on, an C{int} of at least 1.
    @ivar tooLarge: the error past C{limit}.
    """

    def __init__(self, wrapped: IStreamClientEndpoint, limit: int, tooLarge: Exception) -> None:
        self.wrapped = wrapped
        self.limit = limit
        self.tooLarge = tooLarge

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        bounded = BoundedConnectionFactory(protocolFactory, self.limit, self.tooLarge)
        connected: Deferred[BoundedConnection] = self.wrapped.connect(bounded)  # type: ignore[assignment]
        return connected.addCallback(lambda connection: connection.wrappedProtocol)


def checkedLimit(limit: object, what: str) -> int:
    """
    C{limit}, a bound on bytes a caller gives, as a number of bytes: an C{int} (not a
    C{bool}) of at least 1. Checked where it is given, before anything is read: a C{str}
    would otherwise fail each comparison in C{dataReceived}, which a response reads as a
    connection lost, giving an empty body.

    @param what: the argument's name, for the message.
    @raise TypeError: for anything but an C{int}.
    @raise ValueError: below 1.
    """
    if type(limit) is not int:
        raise TypeError(f"{what} must be a number of bytes (an int), not {limit!r}")
    if limit < 1:
        raise ValueError(f"{what} {limit} is not a positive number of bytes")
    return limit

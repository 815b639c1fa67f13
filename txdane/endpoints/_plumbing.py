"""
Pieces the endpoints are built from: a reactor view with its own name resolver, the interface
declarations they give objects (kept warm), a protocol wrapper that holds the application back
until the TLS handshake has been verified, the deadline on that handshake, and the log line of
a C{connect()} that failed.

Tests: C{tests/endpoints/test_memory.py}, C{tests/endpoints/test_logs.py}.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import (
    IHandshakeListener,
    IHostnameResolver,
    IProtocol,
    IProtocolFactory,
    IReactorPluggableNameResolver,
    ITransport,
)
from twisted.internet.protocol import Factory, Protocol
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from zope.interface import alsoProvides, directlyProvides, implementer, providedBy
from zope.interface.declarations import Provides

from txdane.dane.tls import handshakeVerified
from txdane.errors import HandshakeTimeoutError

T = TypeVar("T")

#: How many of the interface declarations made by L{provide} are kept alive, the latest.
KEPT_DECLARATIONS = 8

_kept: deque[object] = deque(maxlen=KEPT_DECLARATIONS)

#: The most declarations L{KeptTLSProtocol} keeps alive: one for each TLS protocol class and
#: interface of a transport beneath it (a TCP transport has nine).
KEPT_TLS_DECLARATIONS = 64

_keptTLS: dict[tuple[type, object], object] = {}


def provide(obj: object, *interfaces: Any, replace: bool = False) -> None:
    """
    Declare that C{obj} also provides C{interfaces} (with C{replace}, only them), as
    C{zope.interface}'s C{alsoProvides} (C{directlyProvides}) does, and keep the declaration
    alive. C{zope.interface} caches the declaration of a class and a set of interfaces only
    while an object refers to it: once the previous connection's objects were collected,
    each connection had it built again, its resolution order over the many interfaces of a
    reactor or a transport, 0.2-0.3 ms a time. The last L{KEPT_DECLARATIONS} distinct ones
    are kept, so a process that declares the same few on every connection builds each once.
    """
    if replace:
        directlyProvides(obj, *interfaces)
    else:
        alsoProvides(obj, *interfaces)
    declaration = obj.__provides__  # type: ignore[attr-defined]
    if not any(kept is declaration for kept in _kept):
        _kept.append(declaration)


#: The logger of the endpoints: one event per C{connect()} that failed (see L{logFailure}).
connectLog = Logger(namespace="txdane.endpoints")


def logFailure(endpoint: object, connecting: Deferred[T]) -> Deferred[T]:
    """
    Log, once, why C{connect()} of C{endpoint} failed, at level C{warn} in the namespace
    C{txdane.endpoints}, as C{"<DANEEndpoint host:port ...> failed: REASON"}: what retries
    the connection (C{ClientService}, C{ReconnectingClientFactory}) logs the attempt but not
    the reason. The event's fields are text (C{endpoint}, the endpoint's C{repr}; C{reason};
    C{error}, the exception's type's name), so that a buffered log holds no exception, nor
    the frames of its traceback. A cancelled C{connect()} is not logged. The failure goes on
    to the caller unchanged.
    """

    def failed(failure: Failure) -> Failure:
        if not failure.check(CancelledError):
            connectLog.warn(
                "{endpoint} failed: {reason}",
                endpoint=repr(endpoint),
                reason=str(failure.value) or type(failure.value).__name__,
                error=type(failure.value).__name__,
            )
        return failure

    return connecting.addErrback(failed)


class _ResolverReactor:
    """
    The reactor as seen by one C{HostnameEndpoint}: everything delegated to the real reactor
    except C{nameResolver}, which reports the addresses this endpoint validated. The reactor's
    global resolver is never replaced.
    """

    def __init__(self, reactor: Any, nameResolver: IHostnameResolver) -> None:
        self._reactor = reactor
        self.nameResolver = nameResolver

    def installNameResolver(self, resolver: IHostnameResolver) -> IHostnameResolver:
        raise NotImplementedError("a per-endpoint reactor view cannot change resolvers")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reactor, name)


def reactorWithResolver(reactor: Any, nameResolver: IHostnameResolver) -> Any:
    """
    A view of C{reactor} that provides the same interfaces, with C{nameResolver} as its name
    resolver.
    """
    view = _ResolverReactor(reactor, nameResolver)
    provide(view, providedBy(reactor), IReactorPluggableNameResolver, replace=True)
    return view


class KeptTLSProtocol(TLSMemoryBIOProtocol):
    """
    Twisted's TLS protocol as the endpoints' connections use it, with the declarations it
    makes kept alive. Connecting, it declares each interface of the transport beneath it in
    turn, each declaration replacing the one before; C{zope.interface} built each of them
    again for every connection once the previous one's objects were gone, about 0.25 ms a
    connection with collecting them. The first L{KEPT_TLS_DECLARATIONS} are kept, so each is
    built once in a process.
    """

    def makeConnection(self, transport: ITransport) -> None:
        cls = type(self)
        for interface in providedBy(transport):
            key = (cls, interface)
            if key not in _keptTLS and len(_keptTLS) < KEPT_TLS_DECLARATIONS:
                _keptTLS[key] = Provides(cls, interface)
        super().makeConnection(transport)


class KeptTLSFactory(TLSMemoryBIOFactory):
    """
    Twisted's factory of TLS connections over another protocol's, building
    L{KeptTLSProtocol}s.
    """

    protocol = KeptTLSProtocol


@implementer(IHandshakeListener)
class HandshakeGate(Protocol):
    """
    Stands between a TLS transport and the application's protocol until the handshake (and
    with it the DANE verification done inside it) has succeeded: only then is the
    application's protocol connected and C{ready} fired with it. If the connection is lost
    first, C{ready} fails with the reason (the verification error), and the application's
    protocol never sees the connection, so no application data can reach or leave it.

    @ivar onLost: called with the reason when a connection that was open (C{ready} fired) is
        lost, after the application's protocol heard of it; or C{None}.
    @ivar open: whether the application's protocol is connected.
    @ivar secured: whether the TLS handshake completed and passed verification.
    """

    def __init__(
        self,
        wrapped: IProtocol,
        ready: Deferred[IProtocol],
        onLost: Callable[[Failure], object] | None = None,
    ) -> None:
        self.wrapped = wrapped
        self.ready = ready
        self.onLost = onLost
        self.open = False
        self.secured = False

    def connectionMade(self) -> None:
        pass

    def handshakeCompleted(self) -> None:
        if self.ready.called or not self.passed():
            return
        self.secured = True
        self.connectApplication()
        if IHandshakeListener.providedBy(self.wrapped):
            self.wrapped.handshakeCompleted()
        self.ready.callback(self.wrapped)

    def passed(self) -> bool:
        """
        Whether the handshake Twisted reports complete passed verification: the DANE check of
        the connection, if it has one, reached a positive verdict (L{handshakeVerified
        <txdane.dane.tls.handshakeVerified>}), and the transport is not closing.

        A verification that failed in OpenSSL's last callback aborts the connection from
        inside the handshake, which Twisted still reports as completed; connectionLost then
        carries the reason. The verdict is asked for, not read from the transport: after
        STARTTLS the transport is the TCP connection, which an abort does not mark as
        disconnecting.
        """
        if getattr(self.transport, "disconnecting", False):
            return False
        getHandle = getattr(self.transport, "getHandle", None)
        return getHandle is None or handshakeVerified(getHandle()) is not False

    def connectApplication(self) -> None:
        """
        Connect the application's protocol to this connection's transport.
        """
        self.open = True
        assert self.transport is not None
        self.wrapped.makeConnection(self.transport)

    def dataReceived(self, data: bytes) -> None:
        if self.open:
            self.wrapped.dataReceived(data)

    def readConnectionLost(self) -> None:
        handler = getattr(self.wrapped, "readConnectionLost", None)
        if self.open and handler is not None:
            handler()
        elif self.transport is not None:
            self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        handler = getattr(self.wrapped, "writeConnectionLost", None)
        if self.open and handler is not None:
            handler()

    def connectionLost(self, reason: Failure = Failure(CancelledError())) -> None:  # noqa: B008
        if self.open:
            self.wrapped.connectionLost(reason)
            if self.onLost is not None:
                self.onLost(reason)
        elif not self.ready.called:
            self.ready.errback(reason)


class GateFactory(Factory):
    """
    Wraps each protocol of C{factory} in a L{HandshakeGate}; C{ready} fires with the
    application's protocol once the handshake succeeded; C{onLost} is the gate's.
    """

    def __init__(
        self,
        factory: IProtocolFactory,
        ready: Deferred[IProtocol],
        onLost: Callable[[Failure], object] | None = None,
    ) -> None:
        self.factory = factory
        self.ready = ready
        self.onLost = onLost
        self.gate: HandshakeGate | None = None

    def doStart(self) -> None:
        self.factory.doStart()

    def doStop(self) -> None:
        self.factory.doStop()

    def buildProtocol(self, addr: Any) -> HandshakeGate | None:
        wrapped = self.factory.buildProtocol(addr)
        if wrapped is None:
            return None
        self.gate = HandshakeGate(wrapped, self.ready, self.onLost)
        self.gate.factory = self
        return self.gate


def abortGate(gate: HandshakeGate | None) -> None:
    """
    Abort the connection under C{gate}, if there is one.
    """
    if gate is not None and gate.transport is not None:
        gate.transport.abortConnection()  # type: ignore[attr-defined]


async def beforeDeadline(
    clock: Any,
    ready: Deferred[T],
    seconds: float,
    abort: Callable[[], object],
    expired: Callable[[], HandshakeTimeoutError],
) -> T:
    """
    Wait for C{ready} (a connection's verified handshake) at most C{seconds}: past that,
    C{ready} fails with C{expired()} and C{abort} ends the connection. Every endpoint's
    handshake deadline is this one.
    """
    timedOut = False

    def expire() -> None:
        nonlocal timedOut
        timedOut = True
        if not ready.called:
            ready.errback(expired())
        abort()

    timer = clock.callLater(seconds, expire)
    try:
        return await ready
    except Exception as e:
        if timedOut and not isinstance(e, HandshakeTimeoutError):
            raise expired() from e
        raise
    finally:
        if timer.active():
            timer.cancel()


def discardLookup(lookup: Deferred[Any]) -> None:
    """
    Stop a lookup whose result is no longer needed, ignoring its outcome.
    """
    lookup.addErrback(lambda _: None)
    lookup.cancel()

"""
Connections that start in cleartext and upgrade with STARTTLS (C{dane:...:starttls=PROTO}).

The application's protocol gets a L{StartTLSConnection} as its transport: whatever creator it
passes to C{startTLS}, the DANE creator planned for the host actually dialled is used, and
while TLS is owed and not yet started, the stripping guard (L{txdane.endpoints.guard}) lets
only the protocol's STARTTLS preamble through. The transport also tells the protocol where it
is connected and how well protected the connection is (L{IDANEConnection}).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import (
    IHandshakeListener,
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
    ISSLTransport,
    ITLSTransport,
)
from twisted.internet.protocol import Factory, Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import (
    Attribute,
    Interface,
    alsoProvides,
    directlyProvides,
    implementer,
    providedBy,
)

from txdane.dane.decision import Action, ConnectionPlan
from txdane.endpoints.guard import CleartextRefusedError, Forbidden, checkerFor


class Protection(enum.Enum):
    """
    How well a connection is protected, in the words of RFC 7672 and Postfix.

    @cvar VERIFIED: TLS, the server authenticated by DANE (or PKIX), and its name came from
        DNSSEC-validated data (a secure MX record, or the name the caller gave).
    @cvar TRUSTED: TLS authenticated by DANE, but the host name came from an insecure MX
        lookup, so it could have been forged.
    @cvar ENCRYPTED: TLS without authentication of the server.
    @cvar CLEARTEXT: no TLS (yet).
    """

    VERIFIED = "verified"
    TRUSTED = "trusted"
    ENCRYPTED = "encrypted"
    CLEARTEXT = "cleartext"

    def __str__(self) -> str:
        return self.value


@dataclass
class ConnectionInfo:
    """
    Where a connection went and what protects it.

    @ivar host: the host name dialled (an MX host, or the endpoint's host).
    @ivar port: the port.
    @ivar address: the address connected to (set once connected).
    @ivar plan: the DANE decision for the host.
    @ivar nameSecure: whether the host name itself came from validated data (C{False} for
        the hosts of an insecure MX RRset).
    @ivar domain: the next-hop domain for an MX connection, else C{None}.
    @ivar tls: whether the TLS handshake has completed (and passed).
    """

    host: str
    port: int
    plan: ConnectionPlan
    nameSecure: bool = True
    domain: str | None = None
    address: IPv4Address | IPv6Address | None = None
    tls: bool = field(default=False)

    @property
    def protection(self) -> Protection:
        """
        The connection's protection now: L{Protection.CLEARTEXT} until the handshake
        completes.
        """
        if not self.tls:
            return Protection.CLEARTEXT
        if self.plan.action is Action.DANE:
            return Protection.VERIFIED if self.nameSecure else Protection.TRUSTED
        if self.plan.action is Action.PKIX:
            return Protection.VERIFIED if self.nameSecure else Protection.ENCRYPTED
        return Protection.ENCRYPTED


class IDANEConnection(Interface):
    """
    Provided by the transport of a connection made by a C{dane:} endpoint (C{host=},
    C{mx=}, C{srv=}; with C{starttls=} or TLS from the first byte): what the protocol can
    learn about it, C{IDANEConnection(protocol.transport).connectionInfo.protection}.
    """

    connectionInfo = Attribute("The L{ConnectionInfo} of this connection.")


def connected(transport: Any, info: ConnectionInfo) -> None:
    """
    Let C{transport}, of a connection whose TLS handshake has passed, tell its protocol
    where it went and what protects it (L{IDANEConnection}).
    """
    peer = transport.getPeer()
    if isinstance(peer, (IPv4Address, IPv6Address)):
        info.address = peer
    transport.connectionInfo = info
    alsoProvides(transport, IDANEConnection)


@implementer(IHandshakeListener, IDANEConnection)
class StartTLSConnection(Protocol):
    """
    Sits between the TCP transport and the application's protocol: the protocol's transport
    and, below it, the protocol the TCP transport delivers to.

    @ivar connectionInfo: the L{ConnectionInfo}.
    @ivar wrapped: the application's protocol.
    """

    def __init__(
        self,
        wrapped: IProtocol,
        creator: IOpenSSLClientConnectionCreator,
        info: ConnectionInfo,
        starttls: str,
        onLost: Callable[[Failure], object] | None = None,
    ) -> None:
        self.wrapped = wrapped
        self.connectionInfo = info
        self._creator = creator
        self._protocolName = starttls
        self._checker = checkerFor(starttls) if info.plan.tlsRequired else None
        self._tlsStarted = False
        self._refused: CleartextRefusedError | None = None
        self._onLost = onLost

    # The protocol below: the TCP transport delivers here.

    def makeConnection(self, transport: Any) -> None:
        directlyProvides(self, providedBy(transport), ITLSTransport)
        peer = transport.getPeer()
        if isinstance(peer, (IPv4Address, IPv6Address)):
            self.connectionInfo.address = peer
        Protocol.makeConnection(self, transport)

    def connectionMade(self) -> None:
        self.wrapped.makeConnection(self)  # type: ignore[arg-type]

    def dataReceived(self, data: bytes) -> None:
        self.wrapped.dataReceived(data)

    def handshakeCompleted(self) -> None:
        if getattr(self.transport, "disconnecting", False):
            return
        self.connectionInfo.tls = True
        if IHandshakeListener.providedBy(self.wrapped):
            self.wrapped.handshakeCompleted()

    def readConnectionLost(self) -> None:
        handler = getattr(self.wrapped, "readConnectionLost", None)
        if handler is not None:
            handler()
        elif self.transport is not None:
            self.transport.loseConnection()

    def writeConnectionLost(self) -> None:
        handler = getattr(self.wrapped, "writeConnectionLost", None)
        if handler is not None:
            handler()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._refused is not None:
            reason = Failure(self._refused)
        self.wrapped.connectionLost(reason)
        if self._onLost is not None:
            self._onLost(reason)

    # The transport above: what the application's protocol calls.

    def _lower(self) -> Any:
        assert self.transport is not None
        return self.transport

    def write(self, data: bytes) -> None:
        if self._checker is None or self._tlsStarted:
            self._lower().write(data)
            return
        if self._refused is not None:
            return
        try:
            allowed = self._checker.check(data)
        except Forbidden as e:
            self._refuse(e.what)
            return
        if allowed:
            self._lower().write(allowed)

    def writeSequence(self, data: list[bytes]) -> None:
        self.write(b"".join(data))

    def _refuse(self, what: str) -> None:
        info = self.connectionInfo
        self._refused = CleartextRefusedError(info.host, info.port, self._protocolName, what)
        self._lower().abortConnection()

    def startTLS(self, contextFactory: Any = None, normal: bool = True) -> None:
        """
        Start TLS with the DANE creator of this connection, whatever C{contextFactory} the
        protocol offers; an incomplete message the guard held back is sent inside TLS.
        """
        if self._refused is not None or self._tlsStarted:
            return
        self._tlsStarted = True
        self._lower().startTLS(self._creator, normal)
        directlyProvides(self, providedBy(self), ISSLTransport)
        if self._checker is not None:
            pending = self._checker.pending()
            if pending:
                self._lower().write(pending)

    def loseConnection(self) -> None:
        self._lower().loseConnection()

    def abortConnection(self) -> None:
        self._lower().abortConnection()

    def getPeer(self) -> Any:
        return self._lower().getPeer()

    def getHost(self) -> Any:
        return self._lower().getHost()

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        self._lower().registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self._lower().unregisterProducer()

    def stopConsuming(self) -> None:
        self._lower().unregisterProducer()

    def pauseProducing(self) -> None:
        self._lower().pauseProducing()

    def resumeProducing(self) -> None:
        self._lower().resumeProducing()

    def stopProducing(self) -> None:
        self._lower().stopProducing()

    def __getattr__(self, name: str) -> Any:
        # Everything else (getHandle, getPeerCertificate, TLS, disconnecting ...) is the
        # real transport's.
        if name.startswith("__") or name == "transport":
            raise AttributeError(name)
        transport = self.__dict__.get("transport")
        if transport is None:
            raise AttributeError(name)
        return getattr(transport, name)


class StartTLSFactory(Factory):
    """
    Builds the application's protocol and puts a L{StartTLSConnection} under it.

    @ivar connection: the L{StartTLSConnection} built, once the connection is made.
    """

    def __init__(
        self,
        factory: IProtocolFactory,
        creator: IOpenSSLClientConnectionCreator,
        info: ConnectionInfo,
        starttls: str,
        onLost: Callable[[Failure], object] | None = None,
    ) -> None:
        self.factory = factory
        self.creator = creator
        self.info = info
        self.starttls = starttls
        self.onLost = onLost
        self.connection: StartTLSConnection | None = None

    def doStart(self) -> None:
        self.factory.doStart()

    def doStop(self) -> None:
        self.factory.doStop()

    def buildProtocol(self, addr: Any) -> StartTLSConnection | None:
        wrapped = self.factory.buildProtocol(addr)
        if wrapped is None:
            return None
        self.connection = StartTLSConnection(
            wrapped, self.creator, self.info, self.starttls, self.onLost
        )
        self.connection.factory = self
        return self.connection

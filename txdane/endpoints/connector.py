"""
What a C{ClientFactory} expects from a connection and an endpoint does not give it: the calls
to C{clientConnectionLost} and C{clientConnectionFailed}, with a connector to reconnect.

Twisted's endpoints never call them, so a factory that learns the outcome only from them
(twisted.mail's C{ESMTPSenderFactory}, whose Deferred never fires when a STARTTLS handshake
is refused) would wait forever. The STARTTLS endpoints of txdane call them, as C{connectTCP}
would, with a L{RetryConnector} whose C{connect()} dials again: the same host for
C{dane:host=}, the next host for C{dane:mx=} and the next target for C{dane:srv=} (which
connects only once TLS is verified, and calls them when such a connection is lost).

Tests: C{tests/mail/test_delivery.py}, C{tests/mail/test_srvclients.py}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IConnector, IProtocol, IProtocolFactory
from twisted.internet.protocol import ClientFactory
from twisted.python.failure import Failure
from zope.interface import implementer

__all__ = ["Dial", "RetryConnector", "retrying"]

#: Dials once; calls its argument with the reason when that connection is lost.
Dial = Callable[[Callable[[Failure], object]], "Deferred[IProtocol]"]


@implementer(IConnector)
class RetryConnector:
    """
    The connector a C{ClientFactory} is given by a txdane STARTTLS endpoint.

    @ivar destination: the address of the current connection, if any.
    """

    def __init__(
        self, reactor: Any, factory: ClientFactory, dial: Dial, destination: Any = None
    ) -> None:
        self._reactor = reactor
        self.factory = factory
        self._dial = dial
        self._pending: Deferred[IProtocol] | None = None
        self._protocol: IProtocol | None = None
        self.destination = destination

    def lost(self, reason: Failure) -> None:
        """
        The current connection is lost: tell the factory, as C{connectTCP} would.
        """
        self._protocol = None
        self.factory.clientConnectionLost(self, reason)

    def connected(self, protocol: IProtocol) -> IProtocol:
        self._protocol = protocol
        transport = getattr(protocol, "transport", None)
        if transport is not None:
            self.destination = transport.getPeer()
        return protocol

    def connect(self) -> None:
        """
        Dial again (the same host, or the next one of a plan); a failure goes to the
        factory's C{clientConnectionFailed}, never from inside this call (as with
        C{connectTCP}, so that a factory retrying from there does not recurse).
        """
        self._reactor.callLater(0, self._redial)

    def _redial(self) -> None:
        d = self._dial(self.lost)
        self._pending = d
        d.addCallback(self.connected)

        def failed(failure: Failure) -> None:
            if not failure.check(CancelledError):
                self.factory.clientConnectionFailed(self, failure)

        d.addErrback(failed)

    def stopConnecting(self) -> None:
        if self._pending is not None and not self._pending.called:
            self._pending.cancel()

    def disconnect(self) -> None:
        self.stopConnecting()
        transport = getattr(self._protocol, "transport", None)
        if transport is not None:
            transport.loseConnection()

    def getDestination(self) -> Any:
        return self.destination


def retrying(reactor: Any, factory: IProtocolFactory, dial: Dial) -> Deferred[IProtocol]:
    """
    Dial once for an endpoint's C{connect()}; if C{factory} is a C{ClientFactory}, report
    the connection's loss to it with a L{RetryConnector} for reconnecting. A failure to
    connect at all reaches the caller only, through C{connect()}, as with Twisted's own
    endpoints.
    """
    if not isinstance(factory, ClientFactory):
        return dial(lambda reason: None)
    connector = RetryConnector(reactor, factory, dial)
    return dial(connector.lost).addCallback(connector.connected)

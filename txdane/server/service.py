"""
Running the server: listening on one port for UDP and TCP, in-process or under C{twistd}.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import dns.zone
from twisted.internet.defer import Deferred, fail, gatherResults, maybeDeferred, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort

from txdane.server.answer import Responder
from txdane.server.protocol import DNSDatagramProtocol, DNSStreamFactory, ResponderHolder
from txdane.server.zones import ZoneIndex, ZoneStore

#: How many times L{listenDNS} tries to find a port free for both UDP and TCP when given 0.
_PORT_ATTEMPTS = 20


def responderForZones(zones: Iterable[dns.zone.Zone | ZoneIndex]) -> Responder:
    """
    A L{Responder} answering from C{zones}.
    """
    return Responder(ZoneStore(zones))


@dataclass
class RunningServer:
    """
    A server listening on C{host}:C{port} over both UDP and TCP.

    @ivar holder: the responder in use; L{reload} replaces it.
    """

    host: str
    port: int
    holder: ResponderHolder
    _ports: tuple[IListeningPort, ...]

    def reload(self, responder: Responder) -> None:
        """
        Answer from C{responder} from the next query on.
        """
        self.holder.responder = responder

    def stop(self) -> Deferred[None]:
        """
        Stop listening; fires once both ports are closed.
        """
        results = [maybeDeferred(port.stopListening) for port in self._ports]
        return gatherResults(results).addCallback(lambda _: None)


def listenDNS(
    reactor: Any, responder: Responder, interface: str = "127.0.0.1", port: int = 0
) -> Deferred[RunningServer]:
    """
    Listen for DNS over UDP and TCP on C{interface}:C{port} (0: a free port, the same for
    both).
    """
    try:
        server = _listen(reactor, responder, interface, port)
    except CannotListenError as e:
        return fail(e)
    return succeed(server)


def _listen(reactor: Any, responder: Responder, interface: str, port: int) -> RunningServer:
    holder = ResponderHolder(responder)
    lastError: CannotListenError | None = None
    for _ in range(_PORT_ATTEMPTS if port == 0 else 1):
        tcp = reactor.listenTCP(port, DNSStreamFactory(holder), interface=interface)
        chosen = tcp.getHost().port
        try:
            udp = reactor.listenUDP(chosen, DNSDatagramProtocol(holder), interface=interface)
        except CannotListenError as e:
            lastError = e
            tcp.stopListening()
            continue
        return RunningServer(interface, chosen, holder, (udp, tcp))
    assert lastError is not None
    raise lastError

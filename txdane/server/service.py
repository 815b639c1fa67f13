"""
Running the server: listening on one port for UDP and TCP, in-process or under C{twistd}.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import dns.name
import dns.zone
from twisted.application.service import Service
from twisted.internet.defer import Deferred, fail, gatherResults, maybeDeferred, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure

from txdane.server.keys import KeyFileError, readKeyFiles
from txdane.server.protocol import (
    DEFAULT_UDP_BATCH,
    DNSDatagramProtocol,
    DNSStreamFactory,
    ResponderHolder,
)
from txdane.server.ratelimit import (
    DEFAULT_RATE_LIMIT,
    NO_RATE_LIMIT,
    RateLimit,
    ResponseRateLimiter,
)
from txdane.server.responder import Responder
from txdane.server.signing import NSEC3Options, SigningOptions, signZone
from txdane.server.update import UpdateGrant, ZoneUpdater
from txdane.server.zones import ZoneError, ZoneIndex, ZoneStore, loadZoneFile

_log = Logger()

#: How many times L{listenDNS} tries to find a port free for both UDP and TCP when given 0.
_PORT_ATTEMPTS = 20


def responderForZones(zones: Iterable[dns.zone.Zone | ZoneIndex]) -> Responder:
    """
    A L{Responder} answering from C{zones}.
    """
    return Responder(ZoneStore(zones))


def listenError(error: CannotListenError) -> str:
    """
    What a port that cannot be listened on says, in words: C{"cannot listen on
    127.0.0.1 port 53: address already in use"}.
    """
    reason = getattr(error.socketError, "strerror", None) or str(error.socketError)
    interface = error.interface or "every address"
    return f"cannot listen on {interface} port {error.port}: {reason.lower()}"


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
        Stop listening and drop open TCP connections; fires once all are closed.
        """
        return _stopPorts(self._ports)


def _stopPorts(ports: Iterable[IListeningPort]) -> Deferred[None]:
    results: list[Deferred[Any]] = []
    for port in ports:
        results.append(maybeDeferred(port.stopListening))
        factory = getattr(port, "factory", None)
        if isinstance(factory, DNSStreamFactory):
            results.append(factory.closeAll())
    return gatherResults(results).addCallback(lambda _: None)


def listenDNS(
    reactor: Any,
    responder: Responder,
    interface: str = "127.0.0.1",
    port: int = 0,
    rateLimit: RateLimit = NO_RATE_LIMIT,
) -> Deferred[RunningServer]:
    """
    Listen for DNS over UDP and TCP on C{interface}:C{port} (0: a free port, the same for
    both).

    @param rateLimit: response rate limiting for UDP; off by default here (an in-process
        server, for tests), unlike L{DNSServerService} and the C{twistd} plugin.
    """
    try:
        server = _listen(reactor, responder, interface, port, rateLimit)
    except CannotListenError as e:
        return fail(e)
    return succeed(server)


def _listen(
    reactor: Any, responder: Responder, interface: str, port: int, rateLimit: RateLimit
) -> RunningServer:
    holder = ResponderHolder(responder)
    limiter = ResponseRateLimiter(rateLimit, reactor) if rateLimit.enabled else None
    ports = _listenBoth(reactor, holder, interface, port, limiter=limiter)
    return RunningServer(interface, ports[0].getHost().port, holder, tuple(ports))  # type: ignore[attr-defined]


def _listenBoth(
    reactor: Any,
    holder: ResponderHolder,
    interface: str,
    port: int,
    udp: bool = True,
    tcp: bool = True,
    limiter: ResponseRateLimiter | None = None,
) -> list[IListeningPort]:
    """
    Listen on C{interface}:C{port} over TCP and UDP (or one of them); with port 0, on a port
    free for both. C{limiter} limits the answers sent over UDP.
    """
    if not tcp:
        protocol = DNSDatagramProtocol(holder, limiter, batch=DEFAULT_UDP_BATCH, clock=reactor)
        return [reactor.listenUDP(port, protocol, interface=interface)]
    lastError: CannotListenError | None = None
    for _ in range(_PORT_ATTEMPTS if port == 0 else 1):
        tcpPort = reactor.listenTCP(port, DNSStreamFactory(holder), interface=interface)
        if not udp:
            return [tcpPort]
        chosen = tcpPort.getHost().port
        try:
            udpPort = reactor.listenUDP(
                chosen,
                DNSDatagramProtocol(holder, limiter, batch=DEFAULT_UDP_BATCH, clock=reactor),
                interface=interface,
            )
        except CannotListenError as e:
            lastError = e
            tcpPort.stopListening()
            continue
        return [udpPort, tcpPort]
    assert lastError is not None
    raise lastError


@dataclass(frozen=True)
class ZoneSource:
    """
    Where a served zone comes from and how to sign it.

    @ivar origin: the zone's apex.
    @ivar path: its master file.
    @ivar keys: key file paths (see L{txdane.server.keys}); with none, the zone is served as
        it is (signed or not).
    @ivar nsec3: sign with NSEC3 (these options) instead of NSEC.
    """

    origin: dns.name.Name
    path: str
    keys: tuple[str, ...] = ()
    nsec3: NSEC3Options | None = None


#: How long signatures made at load time are valid.
DEFAULT_SIGNATURE_VALIDITY = 30 * 86400
#: How far back signatures' inception is set, for clients whose clocks run late.
INCEPTION_OFFSET = 3600


def loadZones(
    sources: Iterable[ZoneSource],
    now: float | None = None,
    validity: int = DEFAULT_SIGNATURE_VALIDITY,
) -> list[ZoneIndex]:
    """
    Read (and sign, where keys are given) every zone of C{sources}.

    @raise ZoneError: a zone file is unreadable or malformed.
    @raise KeyFileError: a key file is unusable or belongs to another zone.
    """
    moment = int(time.time() if now is None else now)
    indexes = []
    for source in sources:
        zone = loadZoneFile(source.path, source.origin)
        if source.keys:
            keys = []
            for keyPath in source.keys:
                owner, key = readKeyFiles(keyPath)
                if owner != source.origin:
                    raise KeyFileError(keyPath, f"is a key of {owner}, not of {source.origin}")
                keys.append(key)
            options = SigningOptions(
                moment - INCEPTION_OFFSET, moment + validity, nsec3=source.nsec3
            )
            zone = signZone(zone, keys, options)
        try:
            indexes.append(ZoneIndex.build(zone))
        except ZoneError as e:
            raise ZoneError(e.reason, e.path or source.path) from None
    return indexes


class DNSServerService(Service):
    """
    Serves zones over UDP and TCP on several interfaces; reloads (and re-signs) them on
    SIGHUP and, so that signatures never run out, every third of their validity.

    @ivar rateLimiter: limits the answers sent over UDP per source prefix (one table for
        every interface), or C{None} when C{rateLimit} turns it off. On by default, as in
        NSD: L{DEFAULT_RATE_LIMIT}.
    @ivar updater: applies dynamic updates signed with the keys of C{updateGrants}, or
        C{None} when there are none (UPDATE messages then get NOTIMP).
    """

    def __init__(
        self,
        sources: Sequence[ZoneSource],
        zones: Sequence[ZoneIndex],
        interfaces: Sequence[str],
        port: int,
        udp: bool = True,
        tcp: bool = True,
        validity: int = DEFAULT_SIGNATURE_VALIDITY,
        reactor: Any = None,
        rateLimit: RateLimit = DEFAULT_RATE_LIMIT,
        updateGrants: Sequence[UpdateGrant] = (),
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as defaultReactor

            reactor = defaultReactor
        self.reactor = reactor
        self.sources = tuple(sources)
        self.holder = ResponderHolder(Responder(ZoneStore(zones)))
        self.updater: ZoneUpdater | None = None
        if updateGrants:
            self.updater = ZoneUpdater(
                self.holder,
                self.sources,
                tuple(updateGrants),
                validity,
                reactor.seconds,
                runInThread=lambda work: deferToThreadPool(reactor, reactor.getThreadPool(), work),
            )
            self.holder.responder.updater = self.updater
        self.interfaces = tuple(interfaces)
        self.port = port
        self.udp = udp
        self.tcp = tcp
        self.validity = validity
        self.rateLimiter = ResponseRateLimiter(rateLimit, reactor) if rateLimit.enabled else None
        self.ports: list[IListeningPort] = []
        self._previousHandler: Any = None
        self._resign: LoopingCall | None = None
        # Reloads started, and the latest whose zones are in use: one that finishes after a
        # newer one must not bring back the older zones it read.
        self._reloads = 0
        self._newestInUse = 0

    def privilegedStartService(self) -> None:
        """
        Open the ports, while C{twistd} still has the privileges to (port 53 needs them):
        it calls this before it gives them up for C{--uid} and C{--gid}, and
        L{startService} after.

        @raise CannotListenError: for a port that cannot be listened on; then none is open.
        """
        super().privilegedStartService()
        self._listen()

    def startService(self) -> None:
        """
        Open the ports unless L{privilegedStartService} did, then start answering, reloading
        on SIGHUP and re-signing.

        @raise CannotListenError: for a port that cannot be listened on; then none is open,
            and the service is not running.
        """
        super().startService()
        try:
            self._listen()
        except CannotListenError:
            Service.stopService(self)
            raise
        if hasattr(signal, "SIGHUP"):
            self._previousHandler = signal.signal(signal.SIGHUP, self._onSIGHUP)
        if any(source.keys for source in self.sources):
            self._resign = LoopingCall(self.reload)
            self._resign.clock = self.reactor
            self._resign.start(max(60, self.validity // 3), now=False)

    def _listen(self) -> None:
        """
        Listen on every interface, once: on none if one cannot be listened on.
        """
        if self.ports:
            return
        try:
            for interface in self.interfaces:
                self.ports += _listenBoth(
                    self.reactor,
                    self.holder,
                    interface,
                    self.port,
                    self.udp,
                    self.tcp,
                    self.rateLimiter,
                )
        except CannotListenError:
            # Not half started: close what the other interfaces opened.
            ports, self.ports = self.ports, []
            _stopPorts(ports)
            raise

    def stopService(self) -> Deferred[None]:
        super().stopService()
        if self._previousHandler is not None:
            signal.signal(signal.SIGHUP, self._previousHandler)
            self._previousHandler = None
        if self._resign is not None and self._resign.running:
            self._resign.stop()
        ports, self.ports = self.ports, []
        return _stopPorts(ports)

    def _onSIGHUP(self, signum: int, frame: object) -> None:
        self.reactor.callFromThread(self.reload)

    def reload(self) -> Deferred[bool]:
        """
        Load and sign the zones again in a thread, then answer from them; queries keep being
        answered from the old zones meanwhile. A failure is logged and the old zones stay.

        @return: fires with whether the new zones are in use (not if a reload started later
            has finished first: those zones were read later).
        """
        sources, validity = self.sources, self.validity
        updatesBefore = self.updater.applied if self.updater is not None else 0
        self._reloads += 1
        thisReload = self._reloads
        d: Deferred[list[ZoneIndex]] = deferToThreadPool(
            self.reactor,
            self.reactor.getThreadPool(),
            lambda: loadZones(sources, self.reactor.seconds(), validity),
        )

        def loaded(zones: list[ZoneIndex]) -> bool | Deferred[bool]:
            if thisReload < self._newestInUse:
                _log.info("reload overtaken by a newer one, its zones are not used")
                return False
            if self.updater is not None and self.updater.applied != updatesBefore:
                # A dynamic update was applied while the files were read: they may predate
                # it. The update is in the zones served and in the files; read them again.
                _log.info("zones updated during the reload, reloading again")
                return self.reload()
            self._newestInUse = thisReload
            self.holder.responder = Responder(ZoneStore(zones), updater=self.updater)
            _log.info("reloaded {count} zones", count=len(zones))
            return True

        def failed(failure: Failure) -> bool:
            _log.error(
                "reload failed, still serving the previous zones: {error}",
                error=failure.getErrorMessage(),
            )
            return False

        return d.addCallbacks(loaded, failed)

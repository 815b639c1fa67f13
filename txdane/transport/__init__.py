"""
The transport layer: an EDNS(0) DNS client over Twisted, returning dnspython messages.

L{DNSClient} sends one query at a time to a list of servers, the way a careful stub resolver
does: UDP first with an OPT record (payload 1232 by default, DO and CD when asked), TCP when the
answer is truncated, one plain retry when a server rejects EDNS (unless DNSSEC was asked for),
per-attempt timeouts, rounds over the servers and an overall deadline. Each query gets a fresh
random ID from C{secrets} and a fresh UDP socket (so a fresh random source port), connected to
the server, so that a closed port (ICMP port unreachable) fails the attempt at once with
L{DNSUnreachableError}. An answer is accepted only from the address and port queried, with the
same ID, QR set and the same question; anything else is ignored and counted in
L{DNSClient.stats}, so a spoofed packet can neither end nor poison a query.

The client and the interface it implements (L{DNSQuerier}) are here; the rest is in modules of
its own, whose names are all imported from here: a query's wire form and the matching of its
answer (L{renderQuery}, L{SentQuery}), the exchange of one query over UDP and over TCP, the
counters (L{TransportStats}), the errors (L{txdane.transport.errors}: L{DNSError} and its kinds,
L{networkFailure}) and the lenient message parser (L{parseMessage}, L{MalformedTLSA}).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from typing import Any, Protocol

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from txdane.names import nameFromText
from txdane.resolvconf import NameServer, nameServers, readResolvConf
from txdane.transport._parse import (
    _DNSPYTHON_REFUSES_MALFORMED_TLSA as _DNSPYTHON_REFUSES_MALFORMED_TLSA,
)
from txdane.transport._parse import MalformedTLSA, malformedTLSA, parseMessage
from txdane.transport._query import DEFAULT_PAYLOAD, SentQuery, _rcodeOf, renderQuery
from txdane.transport._stats import TransportStats
from txdane.transport._tcp import _TCPExchange, _TCPFactory
from txdane.transport._udp import UDP_READS_PER_TURN, _UDPExchange
from txdane.transport._udp import _DatagramPort as _DatagramPort
from txdane.transport._udp import _listenUDP as _listenUDP
from txdane.transport.errors import (
    DNSConnectionError,
    DNSError,
    DNSMalformedError,
    DNSServerError,
    DNSTimeoutError,
    DNSUnreachableError,
    EDNSUnsupportedError,
    _AttemptTimeout,
    networkFailure,
)

# The private names imported above with "as" are those the tests reach from here.
__all__ = [
    "DEFAULT_PAYLOAD",
    "UDP_READS_PER_TURN",
    "DNSClient",
    "DNSConnectionError",
    "DNSError",
    "DNSMalformedError",
    "DNSQuerier",
    "DNSServerError",
    "DNSTimeoutError",
    "DNSUnreachableError",
    "EDNSUnsupportedError",
    "MalformedTLSA",
    "SentQuery",
    "TransportStats",
    "checkedDeadline",
    "malformedTLSA",
    "networkFailure",
    "parseMessage",
    "renderQuery",
]

#: RCODEs with which a server that does not speak EDNS rejects a query with an OPT record,
#: when its answer has none (L{_rejectsEDNS}).
_EDNS_REJECTIONS = frozenset({dns.rcode.FORMERR, dns.rcode.NOTIMP})

#: RCODEs that are answers, not failures.
_ANSWER_RCODES = frozenset({dns.rcode.NOERROR, dns.rcode.NXDOMAIN})

_TC = int(dns.flags.TC)
_RdataType = dns.rdatatype.RdataType
_RdataClass = dns.rdataclass.RdataClass


class DNSQuerier(Protocol):
    """
    Anything that can send one DNS query and deliver the matching response: L{DNSClient}, or a
    fake in tests. The validator is written against this.
    """

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
        Send one query and return a Deferred that fires with the response, or fails with a
        L{DNSError}: L{DNSTimeoutError}, L{DNSServerError} (an RCODE other than NOERROR and
        NXDOMAIN), L{DNSMalformedError}, L{DNSConnectionError} (L{DNSUnreachableError} when
        the server's port is closed) or L{EDNSUnsupportedError}.
        NXDOMAIN is a response, not an error.
        """


def checkedDeadline(
    servers: Sequence[NameServer],
    timeout: float,
    attempts: int,
    payload: int,
    deadline: float | None,
) -> float:
    """
    Check the settings a DNS client (L{DNSClient}, or the DNS-over-TLS client) is made with,
    and return its deadline: C{deadline}, or by default the time every attempt could take
    (C{timeout * attempts * len(servers)}) plus one timeout.

    @raise ValueError: for an unusable setting (it names the setting).
    """
    if not servers:
        raise ValueError("servers: at least one name server is needed")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(f"timeout: must be positive and finite, not {timeout}")
    if attempts < 1:
        raise ValueError(f"attempts: must be at least 1, not {attempts}")
    if not 512 <= payload <= 65535:
        raise ValueError(f"payload: must be 512-65535, not {payload}")
    total = float(deadline) if deadline is not None else timeout * (attempts * len(servers) + 1)
    if not (total > 0 and math.isfinite(total)):
        raise ValueError(f"deadline: must be positive and finite, not {total}")
    return total


class DNSClient:
    """
    An EDNS(0) DNS client over Twisted: see the module docstring.

    @ivar servers: the servers asked, in order.
    @ivar timeout: seconds to wait for one answer from one server.
    @ivar attempts: rounds over the servers.
    @ivar rotate: whether each query starts with the next server in turn.
    @ivar deadline: seconds after which a query fails whatever is left to try.
    @ivar payload: the EDNS(0) UDP payload size advertised.
    @ivar stats: counters, see L{TransportStats}.
    """

    def __init__(
        self,
        reactor: Any = None,
        servers: Sequence[NameServer | str | tuple[str, int]] | None = None,
        *,
        timeout: float | None = None,
        attempts: int | None = None,
        rotate: bool | None = None,
        deadline: float | None = None,
        payload: int = DEFAULT_PAYLOAD,
        resolvConf: str = "/etc/resolv.conf",
    ) -> None:
        """
        @param reactor: provides C{IReactorUDP}, C{IReactorTCP} and C{IReactorTime}; the global
            reactor when omitted.
        @param servers: a list of C{"address#port"} strings, C{(address, port)} tuples or
            L{NameServer}s; when omitted, the C{nameserver} lines of C{resolvConf}.
        @param timeout: per attempt; C{resolvConf}'s C{options timeout:} when omitted.
        @param attempts: rounds over the servers; C{options attempts:} when omitted.
        @param rotate: start each query at the next server; C{options rotate} when omitted.
        @param deadline: total seconds per query; by default the time every attempt could take
            (C{timeout * attempts * len(servers)}) plus one timeout for a TCP repeat.
        @param payload: EDNS(0) UDP payload size to advertise (512-65535).
        @param resolvConf: the file defaults are read from.
        @raise ValueError: for an unusable setting (it names the setting).
        @raise TypeError: for C{servers} that are one server, not a list of them.
        """
        if reactor is None:
            from twisted.internet import reactor as globalReactor

            reactor = globalReactor
        self._reactor = reactor
        needConf = servers is None or timeout is None or attempts is None or rotate is None
        config = readResolvConf(resolvConf) if needConf else None
        self.servers = nameServers(servers) if servers is not None else config.servers  # type: ignore[union-attr]
        self.timeout = float(timeout if timeout is not None else config.timeout)  # type: ignore[union-attr]
        self.attempts = int(attempts if attempts is not None else config.attempts)  # type: ignore[union-attr]
        self.rotate = bool(rotate if rotate is not None else config.rotate)  # type: ignore[union-attr]
        self.deadline = checkedDeadline(
            self.servers, self.timeout, self.attempts, payload, deadline
        )
        self.payload = payload
        self.stats = TransportStats()
        self._next = 0

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
        Send a query and return a Deferred firing with the response; see L{DNSQuerier.query}.

        Cancelling the Deferred stops the query and releases its socket, connection and timers.
        """
        qname = nameFromText(name) if isinstance(name, str) else name
        # Members as they are (the validator's queries), anything else as dnspython makes it.
        qtype = rdtype if type(rdtype) is _RdataType else dns.rdatatype.RdataType.make(rdtype)
        qclass = (
            rdclass if type(rdclass) is _RdataClass else dns.rdataclass.RdataClass.make(rdclass)
        )
        return Deferred.fromCoroutine(
            self._query(qname, qtype, qclass, dnssecOK, checkingDisabled, recursionDesired)
        )

    def _makeQuery(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        rdclass: dns.rdataclass.RdataClass,
        edns: bool,
        dnssecOK: bool,
        checkingDisabled: bool,
        recursionDesired: bool,
    ) -> SentQuery:
        """
        A query with a fresh random ID, rendered directly (L{renderQuery}).
        """
        queryID = secrets.randbits(16)
        wire = renderQuery(
            queryID,
            name,
            rdtype,
            rdclass,
            edns=edns,
            payload=self.payload,
            dnssecOK=dnssecOK,
            checkingDisabled=checkingDisabled,
            recursionDesired=recursionDesired,
        )
        return SentQuery(queryID, name, rdtype, rdclass, wire)

    def _serverOrder(self) -> list[NameServer]:
        servers = list(self.servers)
        if self.rotate:
            start = self._next % len(servers)
            self._next += 1
            servers = servers[start:] + servers[:start]
        return servers

    async def _query(
        self,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        rdclass: dns.rdataclass.RdataClass,
        dnssecOK: bool,
        checkingDisabled: bool,
        recursionDesired: bool,
    ) -> dns.message.Message:
        clock: IReactorTime = self._reactor
        deadlineAt = clock.seconds() + self.deadline
        servers = self._serverOrder()
        settings = (dnssecOK, checkingDisabled, recursionDesired)
        sent = _Sent()
        lastError: DNSError | None = None
        # Servers that gave a definite failure are not asked again in later rounds.
        answered: set[NameServer] = set()
        for _round in range(self.attempts):
            for server in servers:
                if server in answered:
                    continue
                remaining = deadlineAt - clock.seconds()
                if remaining <= 0:
                    break
                try:
                    response = await self._ask(
                        server, name, rdtype, rdclass, settings, deadlineAt, sent
                    )
                except _AttemptTimeout as timeout:
                    if timeout.malformed is not None:
                        lastError = DNSMalformedError(timeout.malformed, server)
                    continue
                except DNSError as e:
                    answered.add(server)
                    lastError = e
                    continue
                if _rcodeOf(response) in _ANSWER_RCODES:
                    return response
                answered.add(server)
                lastError = DNSServerError(response, server)
        if lastError is not None:
            raise lastError
        raise DNSTimeoutError(name, rdtype, servers, sent.count)

    async def _ask(
        self,
        server: NameServer,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        rdclass: dns.rdataclass.RdataClass,
        settings: tuple[bool, bool, bool],
        deadlineAt: float,
        sent: _Sent,
    ) -> dns.message.Message:
        """
        Ask one server: UDP with EDNS, then TCP if truncated, then (for non-DNSSEC queries)
        once more without EDNS if the server rejects it. Returns the response; C{sent} counts
        the queries sent on the way.
        """
        dnssecOK = settings[0]
        query = self._makeQuery(name, rdtype, rdclass, True, *settings)
        response = await self._exchange(server, query, deadlineAt, sent)
        if _rejectsEDNS(response):
            if dnssecOK:
                raise EDNSUnsupportedError(server, response.rcode(), response)
            self.stats.ednsFallbacks += 1
            query = self._makeQuery(name, rdtype, rdclass, False, *settings)
            response = await self._exchange(server, query, deadlineAt, sent)
        return response

    async def _exchange(
        self, server: NameServer, query: SentQuery, deadlineAt: float, sent: _Sent
    ) -> dns.message.Message:
        remaining = deadlineAt - self._reactor.seconds()
        if remaining <= 0:  # an answer read just past the deadline asks for a fallback
            raise _AttemptTimeout()
        timeout = min(self.timeout, remaining)
        self.stats.udpQueries += 1
        sent.count += 1
        response = await _UDPExchange(self._reactor, query, server, timeout, self.stats).deferred
        if int(response.flags) & _TC:
            self.stats.truncated += 1
            if deadlineAt <= self._reactor.seconds():
                raise _AttemptTimeout()
            response = await self._tcp(server, query, deadlineAt, sent)
        return response

    def _tcp(
        self, server: NameServer, query: SentQuery, deadlineAt: float, sent: _Sent
    ) -> Deferred[dns.message.Message]:
        self.stats.tcpQueries += 1
        exchange = _TCPExchange(query, server, sent.add)
        timeout = max(deadlineAt - self._reactor.seconds(), 0.001)
        timeout = min(timeout, self.timeout)
        # The connection's own timeout is a second later than the attempt's, whose timer ends
        # the attempt (and counts it) first.
        connector = self._reactor.connectTCP(
            server.host, server.port, _TCPFactory(exchange), timeout=timeout + 1
        )
        # Set when the attempt's timer or a cancellation ends it, before the connection is
        # dropped: dropping a connection still being made fails it at once, from inside
        # disconnect() (Twisted's clientConnectionFailed, with a UserError), and that failure
        # is not the outcome.
        ended = False

        def cleanUp(deferred: Deferred[dns.message.Message]) -> None:
            nonlocal ended
            ended = True
            if timer.active():
                timer.cancel()
            connector.disconnect()

        def timedOut() -> None:
            nonlocal ended
            ended = True
            self.stats.timeouts += 1
            connector.disconnect()
            result.errback(_AttemptTimeout())

        timer = self._reactor.callLater(timeout, timedOut)
        result: Deferred[dns.message.Message] = Deferred(cleanUp)

        def done(value: dns.message.Message | Failure) -> None:
            if timer.active():
                timer.cancel()
            if ended or result.called:
                return
            if isinstance(value, Failure):
                result.errback(value)
            else:
                result.callback(value)

        exchange.deferred.addBoth(done)
        return result


class _Sent:
    """
    How many queries one call of L{DNSClient.query} has sent, over UDP and TCP.
    """

    def __init__(self) -> None:
        self.count = 0

    def add(self) -> None:
        self.count += 1


def _rejectsEDNS(response: dns.message.Message) -> bool:
    """
    Whether C{response}, to a query with an OPT record, says that its server does not
    support EDNS: FORMERR or NOTIMP without an OPT record, or BADVERS. An answer that carries
    an OPT record comes from a server that speaks EDNS (RFC 6891 section 7), whatever its
    RCODE: its FORMERR or NOTIMP is about the query, not about EDNS.
    """
    rcode = _rcodeOf(response)
    return rcode == dns.rcode.BADVERS or (rcode in _EDNS_REJECTIONS and response.opt is None)

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
"""

from __future__ import annotations

import errno
import ipaddress
import math
import os
import secrets
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import dns.edns
import dns.exception
import dns.flags
import dns.immutable
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TLSA
import dns.wire
from twisted.internet import error as twistedError
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.posixbase import PosixReactorBase
from twisted.internet.protocol import ClientFactory, DatagramProtocol
from twisted.internet.protocol import Protocol as StreamProtocol
from twisted.python.failure import Failure

from txdane.errors import TxdaneError
from txdane.names import nameFromText
from txdane.resolvconf import NameServer, nameServers, readResolvConf
from txdane.wireread import TLSA_DIGEST_LENGTHS, Declined, readMessage

#: Datagrams a query's UDP socket reads per turn of the reactor: a flood of them (which only
#: the server's address, or one forged as it, can send to a connected socket) leaves the rest
#: of the program its turn; the rest are read on the next.
UDP_READS_PER_TURN = 32

#: EDNS(0) payload size advertised by default (the DNS Flag Day 2020 value).
DEFAULT_PAYLOAD = 1232

#: RCODEs with which a server rejects an EDNS query it does not understand.
_EDNS_REJECTIONS = frozenset({dns.rcode.FORMERR, dns.rcode.NOTIMP, dns.rcode.BADVERS})

#: RCODEs that are answers, not failures.
_ANSWER_RCODES = frozenset({dns.rcode.NOERROR, dns.rcode.NXDOMAIN})


def _rcodeOf(message: dns.message.Message) -> int:
    """
    The RCODE of C{message}, extended by its OPT record, as a number: what C{message.rcode()}
    gives, without making flag and RCODE enumeration members on the way.
    """
    opt = message.opt
    extended = ((opt.ttl >> 20) & 0xFF0) if opt else 0
    return (int(message.flags) & 0x000F) | extended


_TC = int(dns.flags.TC)
_RdataType = dns.rdatatype.RdataType
_RdataClass = dns.rdataclass.RdataClass
_QR = int(dns.flags.QR)

_HEADER = struct.Struct("!HHHHHH")
_QUESTION_TAIL = struct.Struct("!HH")
#: The OPT record of a query: root owner, type OPT, the payload as its class, extended RCODE
#: and version 0, the DO bit or not, no options.
_OPT = struct.Struct("!BHHBBHH")
_OPT_TYPE = 41
_DO = 0x8000
#: RCODEs with which a server may answer without a question section (as dnspython's
#: C{is_response} allows).
_BARE_RCODES = frozenset(
    {dns.rcode.FORMERR, dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED}
)


def renderQuery(
    queryID: int,
    name: dns.name.Name,
    rdtype: int,
    rdclass: int,
    *,
    edns: bool,
    payload: int = DEFAULT_PAYLOAD,
    dnssecOK: bool = False,
    checkingDisabled: bool = False,
    recursionDesired: bool = True,
) -> bytes:
    """
    The wire form of a standard query for one question, byte for byte what dnspython's
    C{make_query(...).to_wire()} gives for the same settings, without building a message.

    @param name: an absolute name; its labels are written as they are spelt.
    @param edns: whether to add an OPT record (EDNS version 0) advertising C{payload}.
    @param dnssecOK: set the DO bit (needs C{edns}).
    @raise dns.name.NeedAbsoluteNameOrOrigin: for a relative name, as dnspython raises.
    """
    if not name.is_absolute():
        raise dns.name.NeedAbsoluteNameOrOrigin
    flags = (dns.flags.RD if recursionDesired else 0) | (dns.flags.CD if checkingDisabled else 0)
    header = _HEADER.pack(queryID, flags, 1, 0, 0, 1 if edns else 0)
    question = b"".join([bytes((len(label),)) + label for label in name.labels])
    wire = header + question + _QUESTION_TAIL.pack(rdtype, rdclass)
    if edns:
        wire += _OPT.pack(0, _OPT_TYPE, payload, 0, 0, _DO if dnssecOK else 0, 0)
    return wire


@dataclass(frozen=True)
class SentQuery:
    """
    A query as sent: its ID, its question and its wire form (L{renderQuery}).
    """

    id: int
    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    rdclass: dns.rdataclass.RdataClass
    wire: bytes

    def answeredBy(self, response: dns.message.Message) -> bool:
        """
        Whether C{response} answers this query, as dnspython's C{Message.is_response} decides
        it: QR set, the same ID, opcode QUERY, and a question section that holds this question
        and nothing else (names compared without regard to case); a response refusing or
        failing the query may leave the question section empty.
        """
        flags = int(response.flags)
        if not flags & _QR or response.id != self.id:
            return False
        if flags & _OPCODE_MASK:
            return False
        question = response.question
        if not question:
            return _rcodeOf(response) in _BARE_RCODES
        return all(
            asked.rdtype == self.rdtype
            and asked.rdclass == self.rdclass
            and asked.covers == dns.rdatatype.NONE
            and not asked
            and asked.name == self.name
            for asked in question
        )


_OPCODE_MASK = 0x7800


class DNSError(TxdaneError):
    """
    A DNS query failed.
    """


class DNSTimeoutError(DNSError):
    """
    No server answered in time.

    @ivar name: the name queried.
    @ivar rdtype: the type queried.
    @ivar servers: the servers tried.
    @ivar attempts: how many queries were sent in all.
    @cvar ede: the RFC 8914 code of the failure: 22, No Reachable Authority (a server that
        refused or cannot be reached is L{DNSUnreachableError}, 23).
    """

    ede: ClassVar[int] = 22
    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    servers: Sequence[NameServer]
    attempts: int

    def __post_init__(self) -> None:
        self.servers = tuple(self.servers)
        super().__post_init__()

    def __str__(self) -> str:
        tried = ", ".join(str(s) for s in self.servers)
        queries = "query" if self.attempts == 1 else "queries"
        return (
            f"{self.name} {dns.rdatatype.to_text(self.rdtype)}: no answer from {tried} "
            f"after {self.attempts} {queries}"
        )


class DNSServerError(DNSError):
    """
    A server answered with an RCODE that is neither NOERROR nor NXDOMAIN.

    @ivar response: the whole response.
    @ivar server: the server that answered.
    """

    response: dns.message.Message
    server: NameServer

    @property
    def rcode(self) -> dns.rcode.Rcode:
        """
        The RCODE (for example C{dns.rcode.SERVFAIL}).
        """
        return self.response.rcode()

    @property
    def extendedErrors(self) -> tuple[dns.edns.EDEOption, ...]:
        """
        The RFC 8914 Extended DNS Error options of the answer.
        """
        return tuple(self.response.extended_errors())

    def __str__(self) -> str:
        question = self.response.question[0] if self.response.question else None
        what = (
            f"{question.name} {dns.rdatatype.to_text(question.rdtype)}: "
            if question is not None
            else ""
        )
        message = f"{what}{self.server} answered {dns.rcode.to_text(self.rcode)}"
        for ede in self.extendedErrors:
            message += f" (EDE {ede.code}"
            message += f", {_printable(ede.text)})" if ede.text else ")"
        return message


def _printable(text: str) -> str:
    """
    C{text}, chosen by whoever answered, with its control and format characters escaped: an
    error message stays one line and cannot send escape sequences to a terminal.
    """
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


class DNSMalformedError(DNSError):
    """
    A server sent something that is not a valid answer to the query.

    @ivar reason: what was wrong.
    @ivar server: where it came from.
    """

    reason: str
    server: NameServer
    template = "malformed answer from {server}: {reason}"


class DNSConnectionError(DNSError):
    """
    The network failed: a query could not be sent, or a TCP connection failed or broke before
    the answer was complete.

    @ivar reason: what failed.
    @ivar server: the server that could not be reached.
    """

    reason: str
    server: NameServer
    template = "cannot reach {server}: {reason}"


class DNSUnreachableError(DNSConnectionError):
    """
    The network said at once that a server cannot be reached: its host answered a query over
    UDP with ICMP port unreachable (nothing listens on that port), or refused the TCP
    connection of a query repeated over TCP, or the network said host or network unreachable;
    noticed on the connected socket of the query rather than after the timeout, and said in
    the words of L{networkFailure}.

    @cvar ede: the RFC 8914 code of the failure: 23, Network Error.
    """

    ede: ClassVar[int] = 23


class EDNSUnsupportedError(DNSError):
    """
    A server rejected EDNS(0), and the query asked for DNSSEC records, which need EDNS.

    @ivar server: the server.
    @ivar rcode: the RCODE it answered an EDNS query with.
    """

    server: NameServer
    rcode: dns.rcode.Rcode

    def __str__(self) -> str:
        return (
            f"{self.server} rejected EDNS(0) with {dns.rcode.to_text(self.rcode)}; "
            "DNSSEC (the DO bit) needs a server that supports EDNS"
        )


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


@dataclass
class TransportStats:
    """
    Counters kept by a L{DNSClient}, for monitoring and tests.
    """

    #: Queries sent over UDP and over TCP.
    udpQueries: int = 0
    tcpQueries: int = 0
    #: Truncated UDP answers that were repeated over TCP.
    truncated: int = 0
    #: Queries repeated without EDNS after a server rejected it.
    ednsFallbacks: int = 0
    #: Attempts that timed out.
    timeouts: int = 0
    #: Attempts ended at once by ICMP port unreachable (L{DNSUnreachableError}).
    unreachable: int = 0
    #: Datagrams ignored, by reason: C{"source"}, C{"id"}, C{"question"}, C{"unparseable"}.
    ignored: dict[str, int] = field(default_factory=dict)

    def ignore(self, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1


class _AttemptTimeout(TxdaneError):
    """
    Internal: one attempt got no acceptable answer in time.

    @ivar malformed: the reason an unparseable datagram from the server could not be read, if
        one arrived (reported if no better answer comes from anywhere).
    """

    malformed: str | None = None
    template = "no answer in time"


def _ipKey(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


#: The words for the failures the network reports at once, by errno and transport.
_NETWORK_FAILURES = {
    (errno.ECONNREFUSED, "udp"): "port unreachable (nothing listens there)",
    (errno.ECONNREFUSED, "tcp"): "TCP connection refused (nothing listens there)",
    (errno.EHOSTUNREACH, "udp"): "host unreachable",
    (errno.EHOSTUNREACH, "tcp"): "host unreachable",
    (errno.ENETUNREACH, "udp"): "network unreachable",
    (errno.ENETUNREACH, "tcp"): "network unreachable",
}


def networkFailure(code: int, transport: str) -> str | None:
    """
    The words for a failure the network reported at once on a query to a server, the one
    wording of L{DNSUnreachableError}'s C{reason} (which the command line prints as it is):
    nothing listens on the port (ICMP port unreachable over UDP, a refused TCP connection),
    or the host or network cannot be reached. A server that is silent is another failure,
    L{DNSTimeoutError}, said as C{"no answer from SERVER after N queries"}.

    @param code: the C{errno} the socket reported.
    @param transport: C{"udp"} or C{"tcp"}.
    @return: the words, or C{None} for a code that is none of these failures.
    """
    return _NETWORK_FAILURES.get((code, transport))


class _DatagramPort:
    """
    The UDP socket of one query, read by the reactor directly: the part of Twisted's UDP port
    a query uses (a socket bound to a free port, optionally connected, written to, read until
    closed), without its per-socket log lines (C{"... starting on N"}, C{"(UDP Port N
    Closed)"}, logged whatever C{noisy} says) and without the address checks and the closing
    on the reactor's next turn, which made each query's socket cost about half as much again.

    Reading follows Twisted's port: datagrams are passed to the protocol's C{datagramReceived}
    (an IPv6 source reduced to C{(host, port)}), an ICMP error reported on a connected socket
    to its C{connectionRefused}; the protocol's C{stopProtocol} runs when the socket closes,
    whether by L{stopListening} or because the reactor dropped it after an error, and can
    still read the socket's pending error then.
    """

    #: A UDP datagram is never longer than this, whatever payload size a query advertised.
    _MAX_DATAGRAM = 65535
    _IGNORED = frozenset({errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR})
    _REFUSED = frozenset({errno.ECONNREFUSED})

    def __init__(self, reactor: Any, protocol: DatagramProtocol, interface: str) -> None:
        self._reactor = reactor
        self.protocol = protocol
        family = socket.AF_INET6 if ":" in interface else socket.AF_INET
        self._ipv6 = family == socket.AF_INET6
        self._connected = False
        try:
            skt = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as e:
            raise twistedError.CannotListenError(interface, 0, e) from e
        try:
            skt.setblocking(False)
            skt.bind((interface, 0))
        except OSError as e:
            skt.close()
            raise twistedError.CannotListenError(interface, 0, e) from e
        self.socket: socket.socket | None = skt
        self._fileno = skt.fileno()
        protocol.makeConnection(self)  # type: ignore[arg-type]
        reactor.addReader(self)

    def fileno(self) -> int:
        return self._fileno if self.socket is not None else -1

    def logPrefix(self) -> str:
        return "txdane.transport"

    def connect(self, host: str, port: int) -> None:
        """
        Connect the socket to C{(host, port)}, an IP address: only its datagrams are read.
        """
        assert self.socket is not None
        self.socket.connect((host, port))
        self._connected = True

    def write(self, datagram: bytes, addr: tuple[str, int] | None = None) -> None:
        """
        Send C{datagram}: to the connected address, or to C{addr} on an unconnected socket.
        """
        assert self.socket is not None
        try:
            if self._connected:
                self.socket.send(datagram)
            else:
                assert addr is not None
                self.socket.sendto(datagram, addr)
        except OSError as e:
            if e.errno != errno.ECONNREFUSED:
                raise
            if self._connected:
                self.protocol.connectionRefused()

    def doRead(self) -> None:
        """
        Pass on the datagrams waiting on the socket, until it has none or is closed.
        """
        for _ in range(UDP_READS_PER_TURN):
            if self.socket is None:
                return
            try:
                data, addr = self.socket.recvfrom(self._MAX_DATAGRAM)
            except OSError as e:
                if e.errno in self._IGNORED:
                    return
                if e.errno in self._REFUSED:
                    if self._connected:
                        self.protocol.connectionRefused()
                    return
                raise
            self.protocol.datagramReceived(data, addr[:2] if self._ipv6 else addr)

    def stopListening(self) -> None:
        """
        Stop reading and close the socket; the protocol's C{stopProtocol} runs first.
        """
        if self.socket is None:
            return
        self._reactor.removeReader(self)
        self._close()

    def connectionLost(self, reason: Failure) -> None:
        """
        The reactor dropped the socket (an error it reported, or one L{doRead} raised).
        """
        if self.socket is not None:
            self._close()

    def _close(self) -> None:
        try:
            self.protocol.doStop()
        finally:
            skt, self.socket = self.socket, None
            assert skt is not None
            skt.close()


def _listenUDP(reactor: Any, protocol: DatagramProtocol, interface: str) -> Any:
    """
    A UDP port on any free port of C{interface} for C{protocol}: a L{_DatagramPort} where the
    reactor's own would be a C{twisted.internet.udp.Port} (the POSIX reactors), else the
    reactor's.
    """
    if getattr(type(reactor), "listenUDP", None) is PosixReactorBase.listenUDP:
        return _DatagramPort(reactor, protocol, interface)
    return reactor.listenUDP(0, protocol, interface=interface)


class _UDPExchange(DatagramProtocol):
    """
    One query over a new UDP socket, waiting for the answer that matches it.
    """

    noisy = False

    def __init__(
        self,
        reactor: Any,
        query: SentQuery,
        server: NameServer,
        timeout: float,
        stats: TransportStats,
    ) -> None:
        self._reactor = reactor
        self._query = query
        self._server = server
        self._stats = stats
        self._malformed: str | None = None
        self.deferred: Deferred[dns.message.Message] = Deferred(self._cancel)
        self._timer: IDelayedCall | None = None
        try:
            self._port = _listenUDP(reactor, self, "::" if server.isIPv6 else "")
        except twistedError.CannotListenError as e:
            # No socket for this address family (e.g. no IPv6 here): this server cannot be
            # asked, which is a connection error for it, not a crash of the whole query.
            self._port = None
            self.deferred.errback(DNSConnectionError(f"no UDP socket: {e.socketError}", server))
            return
        self._timer = reactor.callLater(timeout, self._timedOut)
        assert self.transport is not None
        try:
            # A connected socket: the kernel passes on only datagrams from the server, and an
            # ICMP port unreachable from it reaches connectionRefused() at once, so a closed
            # port fails this attempt now rather than at its timeout.
            self._port.connect(server.host, server.port)
            connected = True
        except (twistedError.InvalidAddressError, OSError):
            connected = False  # an address the socket cannot connect to (a scoped IPv6 one)
        wire = query.wire
        try:
            if connected:
                self.transport.write(wire)  # type: ignore[call-arg]  # to the connected address
            else:
                self.transport.write(wire, (server.host, server.port))
        except OSError as e:
            self._finish()
            self.deferred.errback(DNSConnectionError(e.strerror or str(e), server))

    def connectionRefused(self) -> None:
        """
        The server's host answered with ICMP port unreachable: fail this attempt now.
        """
        if self._timer is None:
            return
        self._unreachable(errno.ECONNREFUSED)

    def stopProtocol(self) -> None:
        """
        The socket closed while the answer was awaited, so the reactor saw an error on it:
        the epoll reactor closes a UDP socket that has a pending ICMP error instead of reading
        it (which would call L{connectionRefused}). Fail this attempt with that error.
        """
        if self._port is None or self._timer is None:
            return  # closed by _finish
        port, self._port = self._port, None  # closing already
        code = 0
        try:
            code = port.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except (AttributeError, OSError):
            pass
        if code:
            self._unreachable(code)
            return
        self._finish()
        self.deferred.errback(DNSConnectionError("the UDP socket closed", self._server))

    def _unreachable(self, code: int) -> None:
        self._stats.unreachable += 1
        self._finish()
        reason = networkFailure(code, "udp") or os.strerror(code)
        self.deferred.errback(DNSUnreachableError(reason, self._server))

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        if self._timer is None:
            return
        if addr[1] != self._server.port:
            fromServer = False
        elif addr[0] == self._server.host:
            fromServer = True
        else:
            # The same address written another way (an IPv4-mapped IPv6 one, another case or
            # zero compression, a scope): compared as addresses, only now, as this is rare.
            try:
                fromServer = _ipKey(addr[0]) == _ipKey(self._server.host)
            except ValueError:
                fromServer = False
        if not fromServer:
            self._stats.ignore("source")
            return
        if len(data) < 12 or struct.unpack("!H", data[:2])[0] != self._query.id:
            self._stats.ignore("id" if len(data) >= 12 else "unparseable")
            if len(data) < 12:
                self._malformed = f"a {len(data)}-byte datagram is shorter than a DNS header"
            return
        truncated = bool(data[2] & 0x02)
        try:
            response = parseMessage(data, questionOnly=truncated)
        except (dns.exception.DNSException, ValueError, struct.error) as e:
            self._stats.ignore("unparseable")
            self._malformed = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            return
        if not self._query.answeredBy(response):
            self._stats.ignore("question")
            return
        self._finish()
        self.deferred.callback(response)

    def _timedOut(self) -> None:
        self._timer = None
        self._stats.timeouts += 1
        self._finish()
        self.deferred.errback(_AttemptTimeout(self._malformed))

    def _cancel(self, deferred: Deferred[dns.message.Message]) -> None:
        self._finish()

    def _finish(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        if self._port is not None:
            port, self._port = self._port, None
            port.stopListening()


class _TCPExchange(StreamProtocol):
    """
    One query over a TCP connection, with two-byte length framing (RFC 1035 section 4.2.2).
    """

    def __init__(self, query: SentQuery, server: NameServer) -> None:
        self._query = query
        self._server = server
        self._buffer = b""
        self.deferred: Deferred[dns.message.Message] = Deferred()

    def connectionMade(self) -> None:
        assert self.transport is not None
        wire = self._query.wire
        self.transport.write(struct.pack("!H", len(wire)) + wire)

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
        @param servers: C{"address#port"} strings, C{(address, port)} tuples or
            L{NameServer}s; when omitted, the C{nameserver} lines of C{resolvConf}.
        @param timeout: per attempt; C{resolvConf}'s C{options timeout:} when omitted.
        @param attempts: rounds over the servers; C{options attempts:} when omitted.
        @param rotate: start each query at the next server; C{options rotate} when omitted.
        @param deadline: total seconds per query; by default the time every attempt could take
            (C{timeout * attempts * len(servers)}) plus one timeout for a TCP repeat.
        @param payload: EDNS(0) UDP payload size to advertise (512-65535).
        @param resolvConf: the file defaults are read from.
        @raise ValueError: for an unusable setting (it names the setting).
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
        sent = 0
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
                    response, count = await self._ask(
                        server, name, rdtype, rdclass, settings, deadlineAt
                    )
                    sent += count
                except _AttemptTimeout as timeout:
                    sent += 1
                    if timeout.malformed is not None:
                        lastError = DNSMalformedError(timeout.malformed, server)
                    continue
                except DNSError as e:
                    sent += 1
                    answered.add(server)
                    lastError = e
                    continue
                if _rcodeOf(response) in _ANSWER_RCODES:
                    return response
                answered.add(server)
                lastError = DNSServerError(response, server)
        if lastError is not None:
            raise lastError
        raise DNSTimeoutError(name, rdtype, servers, sent)

    async def _ask(
        self,
        server: NameServer,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        rdclass: dns.rdataclass.RdataClass,
        settings: tuple[bool, bool, bool],
        deadlineAt: float,
    ) -> tuple[dns.message.Message, int]:
        """
        Ask one server: UDP with EDNS, then TCP if truncated, then (for non-DNSSEC queries)
        once more without EDNS if the server rejects it. Returns the response and the number
        of queries sent.
        """
        dnssecOK = settings[0]
        query = self._makeQuery(name, rdtype, rdclass, True, *settings)
        response = await self._exchange(server, query, deadlineAt)
        sent = 1
        if _rcodeOf(response) in _EDNS_REJECTIONS:
            if dnssecOK:
                raise EDNSUnsupportedError(server, response.rcode())
            self.stats.ednsFallbacks += 1
            query = self._makeQuery(name, rdtype, rdclass, False, *settings)
            response = await self._exchange(server, query, deadlineAt)
            sent += 1
        return response, sent

    async def _exchange(
        self, server: NameServer, query: SentQuery, deadlineAt: float
    ) -> dns.message.Message:
        remaining = deadlineAt - self._reactor.seconds()
        if remaining <= 0:  # an answer read just past the deadline asks for a fallback
            raise _AttemptTimeout()
        timeout = min(self.timeout, remaining)
        self.stats.udpQueries += 1
        response = await _UDPExchange(self._reactor, query, server, timeout, self.stats).deferred
        if int(response.flags) & _TC:
            self.stats.truncated += 1
            if deadlineAt <= self._reactor.seconds():
                raise _AttemptTimeout()
            response = await self._tcp(server, query, deadlineAt)
        return response

    def _tcp(
        self, server: NameServer, query: SentQuery, deadlineAt: float
    ) -> Deferred[dns.message.Message]:
        self.stats.tcpQueries += 1
        exchange = _TCPExchange(query, server)
        timeout = max(deadlineAt - self._reactor.seconds(), 0.001)
        timeout = min(timeout, self.timeout)
        # The connection's own timeout is a second later than the attempt's, whose timer ends
        # the attempt (and counts it) first.
        connector = self._reactor.connectTCP(
            server.host, server.port, _TCPFactory(exchange), timeout=timeout + 1
        )

        def cleanUp(deferred: Deferred[dns.message.Message]) -> None:
            if timer.active():
                timer.cancel()
            connector.disconnect()

        def timedOut() -> None:
            self.stats.timeouts += 1
            connector.disconnect()
            exchange._fail(_AttemptTimeout())

        timer = self._reactor.callLater(timeout, timedOut)
        result: Deferred[dns.message.Message] = Deferred(cleanUp)

        def done(value: dns.message.Message | Failure) -> None:
            if timer.active():
                timer.cancel()
            if result.called:
                return
            if isinstance(value, Failure):
                result.errback(value)
            else:
                result.callback(value)

        exchange.deferred.addBoth(done)
        return result


@dns.immutable.immutable
class MalformedTLSA(dns.rdtypes.ANY.TLSA.TLSA):
    """
    A TLSA record whose certificate association data has the wrong length for its matching
    type (a SHA2-256 digest that is not 32 bytes, a SHA2-512 one that is not 64), which
    dnspython refuses to represent. RFC 7671 section 4 calls such a record unusable, not the
    RRset malformed: it is kept exactly as received, so that the RRSIG over the RRset verifies
    over the same bytes, and the DANE layer ignores it (as OpenSSL and Postfix do).
    """

    def __init__(
        self,
        rdclass: dns.rdataclass.RdataClass,
        rdtype: dns.rdatatype.RdataType,
        usage: int,
        selector: int,
        mtype: int,
        cert: bytes,
    ) -> None:
        # The checks of TLSABase.__init__ but the one on the data's length.
        dns.rdata.Rdata.__init__(self, rdclass, rdtype)
        self.usage = self._as_uint8(usage)
        self.selector = self._as_uint8(selector)
        self.mtype = self._as_uint8(mtype)
        self.cert = self._as_bytes(cert)


def malformedTLSA(rdclass: int, data: bytes) -> MalformedTLSA | None:
    """
    The TLSA rdata C{data} as a L{MalformedTLSA}, when the length of its certificate
    association data is the only thing wrong with it; C{None} otherwise (well formed, or
    too short to hold the three fields).
    """
    if len(data) < 3:
        return None
    usage, selector, mtype = data[0], data[1], data[2]
    expected = TLSA_DIGEST_LENGTHS.get(mtype)
    if expected is None or len(data) - 3 == expected:
        return None
    return MalformedTLSA(
        dns.rdataclass.RdataClass.make(rdclass),
        dns.rdatatype.TLSA,
        usage,
        selector,
        mtype,
        data[3:],
    )


def _refusesMalformedTLSA() -> bool:
    try:
        dns.rdtypes.ANY.TLSA.TLSA(dns.rdataclass.IN, dns.rdatatype.TLSA, 3, 1, 1, bytes(31))
    except ValueError:
        return True
    return False


#: Whether dnspython refuses a TLSA record whose data has the wrong length for its matching
#: type, failing the message (2.9 does); 2.8, the newest release for Python 3.10, keeps it
#: as a plain TLSA record, which L{parseMessage} then marks as a L{MalformedTLSA}.
_DNSPYTHON_REFUSES_MALFORMED_TLSA = _refusesMalformedTLSA()


def _markMalformedTLSA(message: dns.message.Message) -> None:
    """
    Make each TLSA record of C{message} whose data has the wrong length for its matching
    type (kept by a dnspython that does not refuse them) a L{MalformedTLSA}, in its place.
    """
    for section in (message.answer, message.authority, message.additional):
        for rrset in section:
            if rrset.rdtype != dns.rdatatype.TLSA:
                continue
            marked = [malformedTLSA(r.rdclass, r.to_digestable()) for r in rrset]
            if any(marked):
                rrset.items = {(m or r): None for m, r in zip(marked, rrset)}


def parseMessage(wire: bytes, *, questionOnly: bool = False) -> dns.message.Message:
    """
    Parse a DNS message as C{dns.message.from_wire} does, except that a TLSA record whose
    data has the wrong length for its matching type is kept as a L{MalformedTLSA} instead of
    failing the whole message. Anything else malformed still fails.

    Ordinary responses are read by L{txdane.wireread.readMessage}, which gives the same
    message faster; whatever it declines (anything malformed or unusual) is parsed here by
    dnspython, so errors are dnspython's.

    @param questionOnly: read the header and the question only (a truncated answer).
    @raise dns.exception.DNSException: (or C{ValueError}, C{struct.error}) for a message
        that cannot be parsed.
    """
    if not questionOnly:
        try:
            return readMessage(wire)
        except Declined:
            pass
    message = dns.message.from_wire(wire, question_only=questionOnly, continue_on_error=True)
    if not _DNSPYTHON_REFUSES_MALFORMED_TLSA:
        if message.errors:
            raise message.errors[0].exception
        _markMalformedTLSA(message)
        return message
    if not message.errors:
        return message
    first = message.errors[0].exception
    try:
        recovered = _recoverMalformedTLSA(message, wire)
    except (dns.exception.DNSException, ValueError, struct.error):
        raise first from None
    if recovered != len(message.errors):
        raise first
    message.errors = []
    return message


def _recoverMalformedTLSA(message: dns.message.Message, wire: bytes) -> int:
    """
    Walk the records of C{wire} and add each TLSA record that L{malformedTLSA} accepts (the
    ones dnspython skipped) to its RRset in C{message}; return how many were added.
    """
    parser = dns.wire.Parser(wire)
    counts = parser.get_struct("!HHHHHH")[2:]
    for _ in range(counts[0]):
        dns.name.from_wire_parser(parser)
        parser.get_struct("!HH")
    recovered = 0
    sections = (message.answer, message.authority, message.additional)
    for section, count in zip(sections, counts[1:]):
        for _ in range(count):
            name = dns.name.from_wire_parser(parser)
            rdtype, rdclass, ttl, rdlen = parser.get_struct("!HHIH")
            data = parser.get_bytes(rdlen)
            if rdtype != dns.rdatatype.TLSA:
                continue
            rdata = malformedTLSA(rdclass, data)
            if rdata is None:
                continue
            rrset = message.find_rrset(
                section, name, dns.rdataclass.RdataClass.make(rdclass), rdata.rdtype, create=True
            )
            rrset.add(rdata, ttl if ttl <= 0x7FFFFFFF else 0)
            recovered += 1
    return recovered

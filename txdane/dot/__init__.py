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
outstanding on one connection; more wait for a slot. A connection on which a query timed out
with nothing at all received since it was written is taken for dead and closed, so the next
attempt opens a new one; queries outstanding on a connection the server closes are asked
again on a new one (RFC 7766 section 6.2.1). A connection the client closes that the server
does not close in turn is aborted after L{CLOSE_GRACE} seconds (or the timeout, if shorter).

How a server is authenticated is not this module's business: the client asks its
C{authenticate} callable, once per connection, for the TLS connection creator of a server (the
DANE layer's, which checks PKIX or TLSA records inside the handshake), and writes nothing on a
connection before the handshake has completed, that is, before the certificate was accepted.
A handshake that fails fails every query waiting for that server with L{DoTAuthenticationError},
which names the server, the name it was expected to prove, and why it was refused; the
queries then go to the next server, and fail when none is left. There is no fallback to
cleartext.

The client is here; the rest is in modules of its own, whose public names are all imported
from here: the connections to the servers (L{UpstreamTLS} is what the C{authenticate} callable
returns for one), the counters (L{DoTStats}) and the errors (L{DoTAuthenticationError}).

Tests: C{tests/transport/test_dot.py}, C{tests/peers/test_dot.py}.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.internet.defer import Deferred, TimeoutError, gatherResults

from txdane.dot._connection import CLOSE_GRACE, MAX_OUTSTANDING, UpstreamTLS, _Upstream
from txdane.dot._errors import DoTAuthenticationError, _AttemptTimeout, _Retry
from txdane.dot._stats import DoTStats
from txdane.names import nameFromText
from txdane.resolvconf import DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT, NameServer, nameServers
from txdane.transport import (
    DEFAULT_PAYLOAD,
    DNSConnectionError,
    DNSError,
    DNSServerError,
    DNSTimeoutError,
    EDNSUnsupportedError,
    checkedDeadline,
)

__all__ = [
    "CLOSE_GRACE",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_OUTSTANDING",
    "DOT_PORT",
    "MAX_OUTSTANDING",
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
            any error, which becomes one) to refuse the server. A decision that takes longer
            than C{deadline} refuses the server too, with L{DoTAuthenticationError}: the
            queries waiting for that connection fail, and the next one asks again.
        @param timeout: per attempt, and for each TLS handshake (default 5 s).
        @param attempts: rounds over the servers (default 2).
        @param deadline: total seconds per query; by default C{timeout * attempts *
            len(servers)} plus one timeout for a connection's handshake.
        @param payload: the EDNS(0) payload size to advertise (512-65535).
        @param idleTimeout: seconds before a connection with nothing outstanding is closed.
        @param maxOutstanding: queries outstanding at once on one connection (1 to
            L{MAX_OUTSTANDING}).
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
        if not 1 <= maxOutstanding <= MAX_OUTSTANDING:
            raise ValueError(f"maxOutstanding: must be 1-{MAX_OUTSTANDING}, not {maxOutstanding}")
        self.payload = payload
        self.idleTimeout = float(idleTimeout)
        self.maxOutstanding = int(maxOutstanding)
        self.stats = DoTStats()
        self._upstreams = {server: _Upstream(self, server) for server in self.servers}
        #: How many times L{close} was called: a query that sees it change fails.
        self._closings = 0

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
        closings = self._closings
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
                    response = await self._attempt(
                        server, query, min(self.timeout, remaining), closings
                    )
                except _AttemptTimeout:
                    continue
                except _Retry as e:
                    # The server closed the connection, again, before answering: not a
                    # verdict on the server, which the next round asks again.
                    lastError = e.error
                    continue
                except DoTAuthenticationError as e:
                    failed.add(server)
                    refusal = e
                    continue
                except DNSError as e:
                    if self._closings != closings:
                        raise  # the client was closed: no other server is asked
                    failed.add(server)
                    lastError = e
                    continue
                rcode = response.rcode()
                if rcode in _ANSWER_RCODES:
                    return response
                failed.add(server)
                if rcode in _EDNS_REJECTIONS and response.edns < 0:
                    # Only an answer without an OPT record says the server does not speak
                    # EDNS; with one, it does (RFC 6891 section 7), and the RCODE is about
                    # the query.
                    lastError = EDNSUnsupportedError(server, rcode, response)
                else:
                    lastError = DNSServerError(response, server)
        if refusal is not None:
            raise refusal
        if lastError is not None:
            raise lastError
        raise DNSTimeoutError(name, rdtype, self.servers, sent)

    async def _attempt(
        self, server: NameServer, query: dns.message.Message, timeout: float, closings: int
    ) -> dns.message.Message:
        """
        One attempt at one server within C{timeout}. When the connection closes after the
        query was written, the query is written again on a new connection (RFC 7766 section
        6.2.1): for as long as the attempt lasts while the server answered something on each
        connection it closed (it may serve a few queries per connection, or none pipelined),
        and once more after a connection on which it answered nothing; after a second such
        connection, L{_Retry} is raised. A query in progress when the client is closed
        fails with L{DNSConnectionError}, asked no more.
        """
        upstream = self._upstreams[server]
        startedAt = self._reactor.seconds()
        fruitless = 0
        while True:
            remaining = startedAt + timeout - self._reactor.seconds()
            if remaining <= 0:
                break
            entry = upstream.exchange(query)
            entry.deferred.addTimeout(remaining, self._reactor)
            try:
                return await entry.deferred
            except TimeoutError:
                if self._closings != closings:
                    raise self._closedError(server) from None
                upstream.timedOut(entry)
                break
            except (_Retry, DNSError) as e:
                if self._closings != closings:
                    raise self._closedError(server) from None
                if isinstance(e, DNSError):
                    raise
                if not e.answered:
                    fruitless += 1
                    if fruitless > 1:
                        raise
        self.stats.timeouts += 1
        raise _AttemptTimeout()

    @staticmethod
    def _closedError(server: NameServer) -> DNSConnectionError:
        return DNSConnectionError("the client was closed", server)

    def close(self) -> Deferred[None]:
        """
        Close every connection; queries in progress fail with L{DNSConnectionError} ("the
        client was closed"), and are not asked again. A later query opens new connections.

        @return: a Deferred that fires once the connections are closed (a server that does
            not close its side is cut off after L{CLOSE_GRACE} seconds at most).
        """
        self._closings += 1
        closed = [(server, u.close()) for server, u in self._upstreams.items()]
        for server, (entries, _) in closed:
            for entry in entries:
                entry.deferred.errback(self._closedError(server))
        return gatherResults([done for _, (_, done) in closed]).addCallback(lambda _: None)

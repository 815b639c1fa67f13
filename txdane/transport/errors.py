"""
The errors of the transport layer: how a DNS query fails (L{DNSError} and its kinds), and the
words of the failures the network reports at once (L{networkFailure}).

Tests: C{tests/transport/test_client.py}, C{tests/transport/test_timing.py}.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import ClassVar

import dns.edns
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from txdane.errors import TxdaneError
from txdane.resolvconf import NameServer


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
    @ivar response: the whole response, read as any other (what it cost to read counts where
        the responses received are counted); C{None} when not given.
    """

    server: NameServer
    rcode: dns.rcode.Rcode
    response: dns.message.Message | None = None

    def __str__(self) -> str:
        return (
            f"{self.server} rejected EDNS(0) with {dns.rcode.to_text(self.rcode)}; "
            "DNSSEC (the DO bit) needs a server that supports EDNS"
        )


class _AttemptTimeout(TxdaneError):
    """
    Internal: one attempt got no acceptable answer in time.

    @ivar malformed: the reason an unparseable datagram from the server could not be read, if
        one arrived (reported if no better answer comes from anywhere).
    """

    malformed: str | None = None
    template = "no answer in time"


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

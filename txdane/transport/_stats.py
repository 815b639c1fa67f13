"""
The counters a L{DNSClient<txdane.transport.DNSClient>} keeps (L{TransportStats}).

Tests: C{tests/transport/test_client.py}, C{tests/transport/test_timing.py}.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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

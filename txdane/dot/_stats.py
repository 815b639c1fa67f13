"""
The counters of a L{DoTClient<txdane.dot.DoTClient>}: L{DoTStats}.

Tests: C{tests/transport/test_dot.py}.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DoTStats:
    """
    Counters kept by a L{DoTClient}, for monitoring and tests.
    """

    #: TLS connections opened (handshake completed) and handshakes refused or failed.
    connections: int = 0
    refused: int = 0
    #: Queries written, and attempts that timed out.
    queries: int = 0
    timeouts: int = 0
    #: Connections closed for being idle.
    idleClosed: int = 0
    #: The most queries outstanding at once on one connection.
    mostOutstanding: int = 0
    #: Queries that had to wait for a slot because a connection had L{DoTClient.maxOutstanding}.
    waitedForSlot: int = 0
    #: Responses ignored, by reason: C{"id"} (no query outstanding with that ID).
    ignored: dict[str, int] = field(default_factory=dict)

    def ignore(self, reason: str) -> None:
        self.ignored[reason] = self.ignored.get(reason, 0) + 1

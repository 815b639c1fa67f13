"""
What a delivery comes to: the L{DeliveryResult} of a message an MX host took, or the
L{DeliveryError} that says whether to defer or bounce it; and why one host failed
(L{ServerLimitError}, L{NotInPolicyError}).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from txdane.endpoints.connection import Protection
from txdane.endpoints.errors import HostAttempt
from txdane.errors import TxdaneError
from txdane.mailpolicy import MailPolicy


@dataclass(frozen=True)
class DeliveryResult:
    """
    A message accepted by an MX host.

    @ivar domain: the recipients' domain.
    @ivar mx: the MX host that took the message.
    @ivar address: the address connected to.
    @ivar port: the port.
    @ivar protection: the connection's L{Protection} when the message was sent.
    @ivar reply: the server's reply to the message's data (C{"250 2.0.0 Ok: queued"}).
    @ivar recipients: per recipient, C{(address, code, reply)} from the server.
    @ivar tries: the hosts that failed before, each with why.
    @ivar skipped: the MX hosts beyond the limit of hosts to try (C{"host:port"}).
    @ivar policy: what protected the delivery: DANE, MTA-STS (enforced or testing) or none
        (L{MailPolicy<txdane.mailpolicy.MailPolicy>}).
    @ivar tlsa: under DANE, the host's TLSA records as text (C{"3 1 1 e3b0..."}), in the
        order of their text: those the connection was authenticated by, and those unusable
        beside them.
    """

    domain: str
    mx: str
    address: str | None
    port: int
    protection: Protection
    reply: str
    recipients: tuple[tuple[str, int, str], ...] = ()
    tries: tuple[HostAttempt, ...] = ()
    skipped: tuple[str, ...] = ()
    policy: MailPolicy = MailPolicy.NONE
    tlsa: tuple[str, ...] = ()


class DeliveryError(TxdaneError):
    """
    The message was not delivered.

    @ivar domain: the recipients' domain.
    @ivar reason: the cause in words.
    @ivar tries: every host tried, each with why it failed.
    @ivar skipped: the MX hosts beyond the limit of hosts to try, never tried.
    @cvar permanent: bounce (C{True}) or defer (C{False}).
    """

    domain: str
    reason: str
    tries: Sequence[HostAttempt] = ()
    skipped: Sequence[str] = ()
    permanent: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.tries = tuple(self.tries)
        self.skipped = tuple(self.skipped)
        super().__post_init__()

    def __str__(self) -> str:
        kind = "bounced" if self.permanent else "deferred"
        return f"mail for {self.domain} {kind}: {self.reason}"


class ServerLimitError(TxdaneError):
    """
    An MX host went past a bound on what a server may cost a delivery (a reply line or a
    reply too long, its session too slow): that host failed, and the next one is tried.

    @ivar host: the host.
    @ivar port: the port.
    @ivar reason: which bound, in words.
    """

    host: str
    port: int
    reason: str
    template = "{host}:{port}: {reason}"


class NotInPolicyError(TxdaneError):
    """
    An MX host that the domain's enforced MTA-STS policy does not list: it is not tried
    (RFC 8461 section 4.1).

    @ivar host: the MX host.
    @ivar port: the port.
    @ivar domain: the policy's domain.
    """

    host: str
    port: int
    domain: str
    template = "{host}:{port}: not an MX host of the MTA-STS policy of {domain}"


class TemporaryDeliveryError(DeliveryError):
    """
    Try again later: the MX lookup failed or was bogus, or no host took the message.
    """


class PermanentDeliveryError(DeliveryError):
    """
    Do not try again: null MX, no such domain, or a 5xx reply.
    """

    permanent = True

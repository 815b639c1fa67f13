"""
What a delivery comes to: the L{DeliveryResult} of a message an MX host took, or the
L{DeliveryError} that says whether to defer or bounce it; the recipients a server refused
(L{RecipientReply}); and why one host failed (L{ServerLimitError}, L{NotInPolicyError}).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from txdane.endpoints.connection import Protection
from txdane.endpoints.errors import HostAttempt
from txdane.errors import TxdaneError
from txdane.mailpolicy import MailPolicy

#: One recipient and the server's reply to its C{RCPT}: C{(address, code, reply)}, as
#: C{("bob@example.com", 550, "5.1.1 no such user")}.
RecipientReply = tuple[str, int, str]


def refusedRecipients(replies: Sequence[RecipientReply]) -> tuple[RecipientReply, ...]:
    """
    Those of C{replies} whose code is no 2yz: the recipients not taken. A 5yz code refuses
    its recipient for good (bounce it, and leave it out of a retry); any other, a 4yz, for
    now (RFC 5321 section 4.2.1).
    """
    return tuple(reply for reply in replies if not 200 <= reply[1] < 300)


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
    @ivar recipients: per recipient, C{(address, code, reply)}: the reply of the server that
        took the message, or for a recipient an earlier host refused with a 5yz code, that
        refusal (it was not sent to the hosts after). The message was delivered to those
        with a 2yz code only: see L{refused}.
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

    @property
    def refused(self) -> tuple[RecipientReply, ...]:
        """
        The recipients the message was not delivered to, each with the server's reply: a
        5yz code refuses the recipient for good (bounce it), a 4yz for now (send the
        message again to those recipients only, later).
        """
        return refusedRecipients(self.recipients)


class DeliveryError(TxdaneError):
    """
    The message was not delivered.

    @ivar domain: the recipients' domain.
    @ivar reason: the cause in words.
    @ivar tries: every host tried, each with why it failed.
    @ivar skipped: the MX hosts beyond the limit of hosts to try, never tried.
    @ivar refused: the recipients a server refused, each C{(address, code, reply)} with the
        last refusal, in the order they were given. A 5yz code refuses its recipient for
        good, also when the error is a L{TemporaryDeliveryError} (another recipient was
        refused with a 4yz code, or the next host failed): bounce that recipient and leave
        it out when the message is sent again. A 4yz code is for now.
    @cvar permanent: bounce (C{True}) or defer (C{False}).
    """

    domain: str
    reason: str
    tries: Sequence[HostAttempt] = ()
    skipped: Sequence[str] = ()
    refused: Sequence[RecipientReply] = ()
    permanent: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.tries = tuple(self.tries)
        self.skipped = tuple(self.skipped)
        self.refused = tuple(self.refused)
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
    Try again later: the MX lookup failed or was bogus, or no host took the message (a
    recipient refused with a 4yz code among them). Those of L{refused<DeliveryError.refused>}
    with a 5yz code are refused for good all the same: bounce them, and try again for the
    others only.
    """


class PermanentDeliveryError(DeliveryError):
    """
    Do not try again: null MX, no such domain, no MX host with an address, or a 5yz reply
    (to the message, or to every recipient).
    """

    permanent = True

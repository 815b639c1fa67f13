"""
Recipients a server refuses, each for itself (RFC 5321 section 4.2.1): a 4yz reply to one
recipient defers the message, whatever the others' replies and whichever came last; a 5yz
reply refuses that recipient for good, and it is not offered to the next host. What the
delivery's outcome says of them, and what C{txdane send} prints and exits with. In memory,
as L{tests.mail.test_hostile}.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from txdane.cli import ExitStatus, main
from txdane.cli.send import exitStatus, formatOutcome, resultToJSON
from txdane.endpoints.connection import Protection
from txdane.mail import (
    DeliveryResult,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    sendMail,
)

from .test_hostile import MemoryMail, hosts

A, B = "a@example.org", "b@example.org"


class RefusedRecipientTests(MemoryMail):
    def start(self, count: int = 2) -> Deferred[Any]:
        return sendMail(
            self.reactor,
            hosts(count),
            "alice@example.net",
            [A, B],
            b"Subject: hi\r\n\r\nhello\r\n",
            heloName="client.example.net",
        )

    def recipients(self, *replies: bytes) -> tuple[Any, StringTransport]:
        """
        A session with the next host up to the replies to C{RCPT}, one per recipient
        offered.
        """
        client, transport = self.cleartextSession()
        client.dataReceived(b"250 mx\r\n")
        client.dataReceived(b"250 2.1.0 Ok\r\n")
        for reply in replies:
            client.dataReceived(reply)
        return client, transport

    def offered(self, transport: StringTransport) -> list[bytes]:
        return [line for line in transport.value().splitlines() if line.startswith(b"RCPT")]

    def noneTaken(self, client: Any) -> None:
        """
        The end of a session in which no recipient was accepted: C{RSET}, C{QUIT}.
        """
        client.dataReceived(b"250 2.0.0 reset\r\n")
        client.dataReceived(b"221 bye\r\n")
        self.end(client, ConnectionDone)
        self.reactor.advance(0)

    def taken(self, client: Any, transport: StringTransport, *replies: bytes) -> None:
        """
        The rest of a session in which a recipient was accepted: the message, and the
        C{replies} to it.
        """
        client.dataReceived(b"354 go\r\n")
        for _ in range(100):
            producer = getattr(transport, "producer", None)
            if producer is None:
                break
            producer.resumeProducing()
        for reply in replies:
            client.dataReceived(reply)
        client.dataReceived(b"221 bye\r\n")
        self.end(client, ConnectionDone)
        self.reactor.advance(0)

    def test_temporaryRecipientNotBounced(self) -> None:
        """
        C{452} for one recipient, then C{550} for the other: not a bounce (twisted.mail's
        error has the code of the last reply). The next host is offered only the first, and
        when it refuses it for now too, the message is deferred; the error lists each
        refusal, the second recipient's for good.
        """
        sending = self.start()
        client, transport = self.recipients(
            b"452 4.2.2 mailbox full\r\n", b"550 5.1.1 no such user\r\n"
        )
        self.assertEqual(self.offered(transport), [f"RCPT TO:<{r}>".encode() for r in (A, B)])
        self.noneTaken(client)
        self.assertNoResult(sending)
        client, transport = self.recipients(b"451 4.3.0 still full\r\n")
        self.assertEqual(self.offered(transport), [f"RCPT TO:<{A}>".encode()])
        self.noneTaken(client)
        error = self.failureResultOf(sending, TemporaryDeliveryError).value
        self.assertEqual(
            error.refused,
            ((A, 451, "4.3.0 still full"), (B, 550, "5.1.1 no such user")),
        )
        self.assertEqual(len(error.tries), 2)

    def test_permanentRecipientNotOfferedAgain(self) -> None:
        """
        C{550} for one recipient, then C{452} for the other: the message goes on to the next
        host for the second only; delivered there, the result names the first one's
        refusal in its place.
        """
        sending = self.start()
        client, _ = self.recipients(b"550 5.1.1 no such user\r\n", b"452 4.2.2 mailbox full\r\n")
        self.noneTaken(client)
        client, transport = self.recipients(b"250 2.1.5 Ok\r\n")
        self.assertEqual(self.offered(transport), [f"RCPT TO:<{B}>".encode()])
        self.taken(client, transport, b"250 2.0.0 queued\r\n")
        result = self.successResultOf(sending)
        self.assertEqual(result.recipients, ((A, 550, "5.1.1 no such user"), (B, 250, "2.1.5 Ok")))
        self.assertEqual(result.refused, ((A, 550, "5.1.1 no such user"),))
        self.assertEqual(result.mx, "mx1.example.org")

    def test_everyRecipientRefusedForGood(self) -> None:
        """
        A 5yz reply to every recipient bounces the message at once, the reason and the
        error naming each refusal.
        """
        sending = self.start()
        client, _ = self.recipients(b"550 5.1.1 no such user\r\n", b"551 5.1.6 moved\r\n")
        self.noneTaken(client)
        error = self.failureResultOf(sending, PermanentDeliveryError).value
        self.assertEqual(len(self.reactor.tcpClients), 1)
        self.assertEqual(error.refused, ((A, 550, "5.1.1 no such user"), (B, 551, "5.1.6 moved")))
        self.assertIn(
            f"mx0.example.org refused every recipient: {A}: 550 5.1.1 no such user; "
            f"{B}: 551 5.1.6 moved",
            str(error),
        )

    def test_refusedForGoodAcrossHosts(self) -> None:
        """
        Each recipient refused for good, by two hosts: a bounce, with both refusals.
        """
        sending = self.start()
        client, _ = self.recipients(b"550 5.1.1 no such user\r\n", b"452 4.2.2 mailbox full\r\n")
        self.noneTaken(client)
        client, _ = self.recipients(b"552 5.2.2 over quota\r\n")
        self.noneTaken(client)
        error = self.failureResultOf(sending, PermanentDeliveryError).value
        self.assertEqual(
            error.refused, ((A, 550, "5.1.1 no such user"), (B, 552, "5.2.2 over quota"))
        )

    def test_messageDeferredAfterARefusal(self) -> None:
        """
        One recipient accepted, the other refused for good, and the message deferred
        (C{451} to its data): the next host is offered the first recipient only.
        """
        sending = self.start()
        client, transport = self.recipients(b"250 2.1.5 Ok\r\n", b"550 5.1.1 no such user\r\n")
        self.taken(client, transport, b"451 4.3.0 try later\r\n", b"250 2.0.0 reset\r\n")
        self.assertNoResult(sending)
        client, transport = self.recipients(b"250 2.1.5 Ok\r\n")
        self.assertEqual(self.offered(transport), [f"RCPT TO:<{A}>".encode()])
        self.taken(client, transport, b"250 2.0.0 queued\r\n")
        result = self.successResultOf(sending)
        self.assertEqual(result.refused, ((B, 550, "5.1.1 no such user"),))


def delivered(*recipients: tuple[str, int, str]) -> DeliveryResult:
    return DeliveryResult(
        "example.org",
        "mx.example.org",
        "192.0.2.1",
        25,
        Protection.VERIFIED,
        "250 2.0.0 queued",
        recipients,
    )


ACCEPTED = (A, 250, "2.1.5 Ok")


@pytest.mark.parametrize(
    ("refused", "status"),
    [
        ((), ExitStatus.OK),
        (((B, 451, "4.3.0 try later"),), ExitStatus.FAILURE),
        (((B, 550, "5.1.1 no such user"),), ExitStatus.BOGUS),
        (
            ((B, 550, "5.1.1 no such user"), ("c@example.org", 452, "4.2.2 full")),
            ExitStatus.FAILURE,
        ),
    ],
)
def test_partlyDeliveredExitStatus(refused: tuple[tuple[str, int, str], ...], status: int) -> None:
    """
    A message delivered to some recipients only: to defer (a recipient refused for now,
    among others), or to bounce (every other recipient refused for good).
    """
    assert exitStatus(delivered(ACCEPTED, *refused)) == status


def test_partlyDeliveredPrinted() -> None:
    """
    The recipients refused are listed under the verdict, with the server's reply and
    whether for good; and in the JSON, as C{refused} (and among C{recipients}).
    """
    result = delivered(ACCEPTED, (B, 451, "4.3.0 try later"), ("c@example.org", 550, "5.1.1 no"))
    assert formatOutcome(result, False).splitlines() == [
        "delivered to mx.example.org[192.0.2.1]:25  verified (policy none)",
        "  reply      250 2.0.0 queued",
        f"  refused    {B}: 451 4.3.0 try later (temporary)",
        "  refused    c@example.org: 550 5.1.1 no (permanent)",
    ]
    data = resultToJSON(result)
    assert data["delivered"] is True
    assert data["recipients"] == [
        {"address": A, "code": 250, "reply": "2.1.5 Ok"},
        {"address": B, "code": 451, "reply": "4.3.0 try later"},
        {"address": "c@example.org", "code": 550, "reply": "5.1.1 no"},
    ]
    assert data["refused"] == [
        {"address": B, "code": 451, "reply": "4.3.0 try later", "permanent": False},
        {"address": "c@example.org", "code": 550, "reply": "5.1.1 no", "permanent": True},
    ]
    assert resultToJSON(delivered(ACCEPTED))["refused"] == []


def test_refusedListedOnFailure() -> None:
    """
    A deferred message lists the recipients refused, the one refused for good among them.
    """
    error = TemporaryDeliveryError(
        "example.org",
        "no MX host took it",
        refused=[(A, 452, "4.2.2 full"), (B, 550, "5.1.1 no such user")],
    )
    assert formatOutcome(error, False).splitlines() == [
        "mail for example.org deferred: no MX host took it",
        f"  refused    {A}: 452 4.2.2 full (temporary)",
        f"  refused    {B}: 550 5.1.1 no such user (permanent)",
    ]
    data = resultToJSON(error)
    assert [(r["address"], r["permanent"]) for r in data["refused"]] == [(A, False), (B, True)]
    assert exitStatus(error) == ExitStatus.FAILURE


def test_sendPartlyDelivered(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """
    C{txdane send}, its message delivered to one recipient and refused for now to the
    other: it says so, and exits with the status of a temporary failure.
    """

    async def sendMail(*args: Any, **kw: Any) -> DeliveryResult:
        return delivered(ACCEPTED, (B, 451, "4.3.0 try later"))

    def runOnReactor(run: Any) -> Any:
        outcome: list[Any] = []
        Deferred.fromCoroutine(run(Clock())).addBoth(outcome.append)
        if isinstance(outcome[0], Failure):
            outcome[0].raiseException()
        return outcome[0]

    monkeypatch.setattr("txdane.cli.send.sendMail", sendMail)
    monkeypatch.setattr("txdane.cli.send.runOnReactor", runOnReactor)
    argv = ["send", "--resolver", "127.0.0.1", "--no-mta-sts", "--test-message"]
    argv += ["--from", "me@example.net", "--to", A, "--to", B]
    assert main(argv) == ExitStatus.FAILURE
    out = capsys.readouterr().out
    assert f"  refused    {B}: 451 4.3.0 try later (temporary)" in out.splitlines()

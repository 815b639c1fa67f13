"""
Which failures of one MX host bounce the mail: a 5xx reply over the session, never a 5xx
the server sent before TLS (anyone on the path can send that line).
"""

from __future__ import annotations

import pytest
from twisted.mail.smtp import SMTPClientError, SMTPDeliveryError, TLSError, TLSRequiredError

from txdane.endpoints.errors import StartTLSError
from txdane.mail import _isPermanent


@pytest.mark.parametrize(
    "error",
    [
        # twisted.mail's own STARTTLS, answered with a 5xx.
        TLSError(554, b"Could not complete the SSL/TLS handshake"),
        TLSRequiredError(530, b"Must issue a STARTTLS command first"),
        # The endpoint's STARTTLS, refused after a 554 greeting or a 5xx to STARTTLS.
        StartTLSError("mx.example.test", 25, "smtp", "expected the greeting 220, got '554 no'"),
        StartTLSError("mx.example.test", 25, "smtp", "the server answered STARTTLS with '554'"),
    ],
)
def test_beforeTLSNeverPermanent(error: BaseException) -> None:
    """
    A 5xx the server sent before TLS is a failure of that host, never a bounce.
    """
    assert not _isPermanent(error)


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (SMTPDeliveryError(550, b"no such user"), True),
        (SMTPClientError(554, b"transaction failed"), True),
        (SMTPClientError(451, b"try later"), False),
        (SMTPDeliveryError(-1, b"", addresses=[(b"a@x", 550, b"no")]), True),
        (SMTPDeliveryError(-1, b"", addresses=[(b"a@x", 550, b"no"), (b"b@x", 450, b"")]), False),
    ],
)
def test_overTheSession(error: BaseException, permanent: bool) -> None:
    """
    Over the session, a 5xx reply (every recipient's, when they differ) bounces; a 4xx does
    not.
    """
    assert _isPermanent(error) is permanent


def _refused(*codes: int) -> list[tuple[bytes, int, bytes]]:
    return [(f"{i}@example.org".encode(), code, b"") for i, code in enumerate(codes)]


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        # No recipient accepted: twisted.mail's error has the last reply's code, and
        # "No recipients accepted"; each recipient's reply counts.
        (SMTPDeliveryError(550, b"No recipients accepted", b"", _refused(452, 550)), False),
        (SMTPDeliveryError(452, b"No recipients accepted", b"", _refused(550, 452)), False),
        (SMTPDeliveryError(551, b"No recipients accepted", b"", _refused(550, 551)), True),
        # A recipient accepted: the reply to the message decides.
        (SMTPDeliveryError(554, b"rejected", b"", _refused(250, 452)), True),
        (SMTPDeliveryError(451, b"try later", b"", _refused(250, 550)), False),
        # MAIL FROM refused: no recipient reply.
        (SMTPDeliveryError(553, b"bad sender", b"", []), True),
    ],
)
def test_eachRecipientCounts(error: BaseException, permanent: bool) -> None:
    """
    As twisted.mail reports refused recipients: a 4yz reply to any one of them defers the
    message (RFC 5321 section 4.2.1), whichever reply came last.
    """
    assert _isPermanent(error) is permanent

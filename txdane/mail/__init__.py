"""
Mail delivery with DANE (RFC 7672): one message to the recipients of one domain, through
twisted.mail's C{ESMTPSenderFactory}, over the MX hosts of C{dane:mx=}::

    result = await sendMail(reactor, resolver, "alice@example.org", ["bob@example.com"], message)
    print(result.mx, result.protection, result.reply)

For each MX host in turn (by preference, L{txdane.endpoints.mx.planMX}, walked by the
endpoints' one L{HostWalk<txdane.endpoints.planner.HostWalk>}): the endpoint negotiates
STARTTLS itself and hands twisted.mail's client a connection only once its handshake passed
verification by DANE (or, for a host without usable TLSA records that offers no STARTTLS,
the cleartext RFC 7672 allows), so that nothing the server said before TLS reaches the
client and nothing of the message leaves before it. A host that fails - no connection, a
failed TLSA lookup, a DANE mismatch, TLS owed but not offered, a handshake dropped, a 4xx
reply - makes it move to the next host. A 5xx reply over the connection is final.

The modules, by concept, private to the package (import the names from here):
L{_outcome<txdane.mail._outcome>} (a delivery's result and its errors),
L{_address<txdane.mail._address>} (the addresses mail is sent from and to),
L{_client<txdane.mail._client>} (twisted.mail's client, bounded),
L{_delivery<txdane.mail._delivery>} (one delivery, host after host) and
L{_send<txdane.mail._send>} (L{sendMail}, its arguments checked).

Tests: C{tests/mail/test_delivery.py}, C{tests/mail/test_postfix.py}.

The outcome is a L{DeliveryResult} (host, address, protection, the server's reply to the
message), or a L{DeliveryError} that says whether to defer (L{TemporaryDeliveryError}) or
bounce (L{PermanentDeliveryError}), with every host tried and why.
"""

from __future__ import annotations

from txdane.mail._address import MAX_ADDRESS, MAX_LOCAL_PART, mailAddress, recipientDomain
from txdane.mail._client import MAX_REPLY, MAX_REPLY_LINE

# Private, but importable from here as from the module this package was: the tests use it.
from txdane.mail._delivery import _isPermanent as _isPermanent
from txdane.mail._outcome import (
    DeliveryError,
    DeliveryResult,
    NotInPolicyError,
    PermanentDeliveryError,
    ServerLimitError,
    TemporaryDeliveryError,
)
from txdane.mail._send import ATTEMPT_TIMEOUT, DELIVERY_TIMEOUT, MAX_LINE, checkLines, sendMail

__all__ = [
    "ATTEMPT_TIMEOUT",
    "DELIVERY_TIMEOUT",
    "MAX_ADDRESS",
    "MAX_LINE",
    "MAX_LOCAL_PART",
    "MAX_REPLY",
    "MAX_REPLY_LINE",
    "DeliveryError",
    "DeliveryResult",
    "NotInPolicyError",
    "PermanentDeliveryError",
    "ServerLimitError",
    "TemporaryDeliveryError",
    "checkLines",
    "mailAddress",
    "recipientDomain",
    "sendMail",
]

"""
L{txdane.mail.sendMail} checks its arguments when called: a mistake fails at once, naming the
argument, instead of after a host was dialled as a temporary failure that retrying never
mends, or being ignored (an MTA-STS source of the wrong kind read as "no policy").
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from twisted.internet.testing import MemoryReactorClock

from txdane.mail import mailAddress, recipientDomain, sendMail
from txdane.settings import ResolverSettings

from ..fakeresolver import PendingResolver

reactor: Any = MemoryReactorClock()


def send(**overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "reactor": reactor,
        "resolver": PendingResolver(),
        "sender": "alice@example.org",
        "recipients": ["bob@example.test"],
        "message": b"Subject: hi\r\n\r\nhello\r\n",
    }
    arguments.update(overrides)
    return sendMail(**arguments)


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        ({"recipients": ["b@evil.example>\r\nRCPT TO:<x@example.test"]}, ValueError,
         "is not a valid local part"),
        ({"recipients": ["<b@example.test> NOTIFY=NEVER"]}, ValueError, "not a valid local part"),
        ({"recipients": ["You <b@example.test>"]}, ValueError, "give the address alone"),
        ({"recipients": "bob@example.test"}, TypeError, "recipients must be a list"),
        ({"recipients": ["b\u00f6b@example.test"]}, ValueError, "needs SMTPUTF8"),
        ({"recipients": ["bob@[192.0.2.1]"]}, ValueError, "address literal"),
        ({"sender": "alice@exa mple.org"}, ValueError, "not a valid domain name"),
        ({"message": "Subject: hi\n\nhello\n"}, TypeError, "message must be bytes"),
        ({"message": io.StringIO("hello")}, TypeError, "opened in binary mode"),
        ({"port": "25"}, ValueError, "port must be an int from 1 to 65535, not '25'"),
        ({"heloName": "h\u00e9.example"}, ValueError, "is not a host name in ASCII"),
        ({"heloName": "a\r\nb"}, ValueError, "is not a host name in ASCII"),
        ({"attemptTimeout": 0}, ValueError, "attemptTimeout 0 is not a positive number"),
        ({"deliveryTimeout": -5}, ValueError, "deliveryTimeout -5"),
        ({"mtaSTS": "/var/lib/mta-sts"}, TypeError, "mtaSTS must be a policy source"),
        ({"reporter": object()}, TypeError, "reporter must be callable"),
        ({"resolver": ResolverSettings()}, TypeError, "resolver must be a validating resolver"),
    ],
)  # fmt: skip
def test_refused(overrides: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        send(**overrides)


def test_addresses() -> None:
    """
    An internationalized domain is sent in A-labels, without a final dot; the recipients'
    one domain is found from the addresses as checked.
    """
    assert mailAddress("b@B\u00fccher.example.") == "b@xn--bcher-kva.example"
    assert mailAddress('"a b"@example.test') == '"a b"@example.test'
    assert recipientDomain(["a@Example.TEST.", "b@example.test"]) == "example.test"
    with pytest.raises(ValueError, match="several domains"):
        recipientDomain(["a@example.test", "b@example.org"])
    with pytest.raises(TypeError, match="must be a str"):
        mailAddress(b"a@example.test")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        ({"resolver": ResolverSettings()}, TypeError, "resolver must be a validating resolver"),
        ({"timeout": 0}, ValueError, "timeout 0 is not a positive number of seconds"),
        ({"maxSize": -1}, ValueError, "maxSize -1 is not a whole number above 0"),
        ({"httpsPort": "443"}, ValueError, "httpsPort must be an int"),
    ],
)
def test_policyResolverRefuses(
    overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    """
    An MTA-STS source made wrong fails when made: used, its failed lookups would read as "no
    policy", and an enforced policy would never apply.
    """
    from txdane.mtasts import PolicyResolver

    arguments: dict[str, Any] = {"resolver": PendingResolver()}
    arguments.update(overrides)
    resolver = arguments.pop("resolver")
    with pytest.raises(error, match=message):
        PolicyResolver(reactor, resolver, **arguments)

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
from txdane.names import heloDomain
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
        ({"heloName": "a\r\nb"}, ValueError, "heloName: .* is not a valid domain name"),
        ({"heloName": "mail_host.example"}, ValueError, "heloName: 'mail_host.example' is not a"),
        ({"heloName": "-client.example"}, ValueError, "neither starts nor ends with a hyphen"),
        ({"heloName": "client..example"}, ValueError, "A DNS label is empty"),
        ({"heloName": ""}, ValueError, "heloName '' is not a host name or an address literal"),
        ({"heloName": b"client.example"}, ValueError, "is not a host name or an address"),
        ({"heloName": "192.0.2.1"}, ValueError, r"is an address: greet with the literal \[192"),
        ({"heloName": "2001:db8::1"}, ValueError, r"literal \[IPv6:2001:db8::1\]"),
        ({"heloName": "[192.0.2.999]"}, ValueError, "is not an address literal"),
        ({"heloName": "[2001:db8::1]"}, ValueError, "is not an address literal"),
        ({"heloName": "[IPv6:192.0.2.1]"}, ValueError, "is not an address literal"),
        ({"recipients": 5}, TypeError, "recipients must be a list"),
        ({"shuffle": 1}, TypeError, "shuffle must be callable"),
        ({"maxHosts": "3"}, TypeError, "maxHosts must be an int"),
        ({"maxHosts": 0}, ValueError, "try at least one host"),
        ({"timeout": -1}, ValueError, "timeout -1 is not a positive number of seconds"),
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


@pytest.mark.parametrize(
    "given, sent",
    [
        ("client.example.net", "client.example.net"),
        ("Client.Example.NET.", "Client.Example.NET"),
        ("b\u00fccher.example", "xn--bcher-kva.example"),
        ("[192.0.2.1]", "[192.0.2.1]"),
        ("[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]"),
        ("[ipv6:2001:db8::1]", "[ipv6:2001:db8::1]"),
    ],
)
def test_heloDomain(given: str, sent: str) -> None:
    """
    The C{EHLO} argument is a domain as RFC 5321 spells one (an internationalized one in
    A-labels, no final dot) or an address literal.
    """
    assert heloDomain(given) == sent


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


#: Why a domain that DNS allows and RFC 5321 does not is refused.
_LDH = "a mail domain has only letters, digits and hyphens, RFC 5321"


@pytest.mark.parametrize(
    "domain, why",
    [
        ("mail_host.example", f"('_': {_LDH})"),
        ("_dmarc.example", f"('_': {_LDH})"),
        ("example_", f"('_': {_LDH})"),
        ("b\u00fccher_shop.example", f"('_': {_LDH})"),
        # DNS text reads a backslash as an escape: \095 is an underscore, \m an m.
        ("mail\\095host.example", f"('\\\\': {_LDH})"),
        ("exa\\mple.org", f"('\\\\': {_LDH})"),
        ("mail.example:25", f"(':': {_LDH})"),
        ("mail*.example", f"('*': {_LDH})"),
        ("-mail.example", "('-mail': a label of a mail domain neither starts nor ends with"),
        ("mail-.example.", "('mail-': a label of a mail domain neither starts nor ends"),
        ("example..", "(A DNS label is empty.)"),
        ("a..example", "(A DNS label is empty.)"),
    ],
)  # fmt: skip
def test_mailDomainRefused(domain: str, why: str) -> None:
    """
    The domain of an address follows RFC 5321 (C{Domain}: labels of letters, digits and
    hyphens, a hyphen neither first nor last), not what DNS alone allows (underscores):
    refused with the reason, for a sender, a recipient and the recipients' domain alike,
    before anything is looked up.
    """
    message = f"{domain!r} is not a valid domain name {why}"
    with pytest.raises(ValueError) as caught:
        mailAddress(f"a@{domain}")
    assert str(caught.value).startswith(message), caught.value
    with pytest.raises(ValueError, match="is not a valid domain name") as caught:
        recipientDomain(["b@example.test", f"a@{domain}"])
    assert str(caught.value).startswith(f"{'a@' + domain!r}: {message}"), caught.value
    for overrides in ({"sender": f"a@{domain}"}, {"recipients": [f"a@{domain}"]}):
        resolver = PendingResolver()
        with pytest.raises(ValueError, match="is not a valid domain name"):
            send(resolver=resolver, **overrides)
        assert resolver.pending == {}


@pytest.mark.parametrize(
    "given, used",
    [
        ("a@mail-host.example", "a@mail-host.example"),
        ("a@a--b.example.", "a@a--b.example"),
        ("a@3com.example", "a@3com.example"),
        ("a@MAIL.Example", "a@MAIL.Example"),
        ("a@b\u00fccher.example", "a@xn--bcher-kva.example"),
        ("a@b\u00fccher\u3002example", "a@xn--bcher-kva.example"),
        ("under_score@example.test", "under_score@example.test"),
    ],
)
def test_mailDomainAccepted(given: str, used: str) -> None:
    """
    Letters, digits and hyphens inside a label, any case, internationalized domains (an
    ideographic full stop is a dot to IDNA): taken. An underscore in the local part is
    C{atext}, and stays allowed.
    """
    assert mailAddress(given) == used


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


def test_mailDomainCheckedInALabels(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    The labels are checked again once converted (in A-labels): a conversion that made an
    underscore, or a hyphen at either end, of what was given would not get past.
    """
    for converted in ("mail_host.example", "mail-.example"):
        monkeypatch.setattr("txdane.names.asciiHostName", lambda text, c=converted: c)
        with pytest.raises(ValueError, match=f"'{converted.split('.')[0]}': a label of a mail"):
            mailAddress("a@mailhost.example")

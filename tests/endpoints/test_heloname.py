"""
The name the endpoint greets an SMTP or LMTP server with before STARTTLS
(L{DANEOptions.heloName}): checked when given, sent in C{EHLO} and C{LHLO}, refused where
there is no such greeting.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.testing import MemoryReactorClock

from tests.fakeresolver import FakeResolver
from txdane.endpoints import DANEEndpoint, DANEOptions, SRVEndpoint
from txdane.endpoints._strings import OptionReader
from txdane.endpoints.errors import EndpointStringError
from txdane.endpoints.options import optionsFromStrings, stringOptions
from txdane.endpoints.starttls import negotiatorFor

from .test_starttls import CREATOR, Application, TLSStringTransport, info


def greeting(protocol: str, heloName: str | None) -> bytes:
    """
    What the negotiator of C{protocol} with C{heloName} says after the server's greeting.
    """
    ready: Deferred[Any] = Deferred()
    negotiator = negotiatorFor(protocol)(Application(), ready, CREATOR, info(), heloName=heloName)
    transport = TLSStringTransport()
    negotiator.makeConnection(transport)
    negotiator.dataReceived(b"220 mail.example.test ESMTP\r\n")
    return transport.value()


def test_sentBeforeSTARTTLS() -> None:
    """
    With a name, C{EHLO} (C{LHLO}) carries it; without, the local address as a literal.
    """
    assert greeting("smtp", "client.example.net") == b"EHLO client.example.net\r\n"
    assert greeting("lmtp", "client.example.net") == b"LHLO client.example.net\r\n"
    assert greeting("smtp", None) == b"EHLO [192.0.2.7]\r\n"


@pytest.mark.parametrize(
    "given, kept",
    [
        ("client.example.net.", "client.example.net"),
        ("b\u00fccher.example", "xn--bcher-kva.example"),
        ("[192.0.2.1]", "[192.0.2.1]"),
    ],
)
def test_optionChecked(given: str, kept: str) -> None:
    assert DANEOptions(starttls="smtp", heloName=given).heloName == kept
    assert DANEOptions(heloName=given).heloName == kept


@pytest.mark.parametrize(
    "fields, error, message",
    [
        ({"heloName": "mail_host.example"}, ValueError, "is not a valid domain name"),
        ({"heloName": "a b.example"}, ValueError, "is not a valid domain name"),
        ({"heloName": "192.0.2.1"}, ValueError, r"greet with the literal \[192.0.2.1\]"),
        ({"heloName": ""}, ValueError, "is not a host name or an address literal"),
        ({"heloName": 5}, ValueError, "is not a host name or an address literal"),
        (
            {"heloName": "client.example", "starttls": "imap"},
            ValueError,
            "heloName is the greeting of SMTP and LMTP, not of starttls=imap",
        ),
        (
            {"heloName": "client.example", "starttls": "xmpp-client"},
            ValueError,
            "not of starttls=xmpp-client",
        ),
    ],
)
def test_optionRefused(fields: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        DANEOptions(**fields)


def test_fromStrings() -> None:
    """
    The endpoint string option C{heloName} sets the field, checked the same way.
    """

    def read(values: dict[str, str]) -> DANEOptions:
        return optionsFromStrings(OptionReader("dane", stringOptions(), (), values))

    assert read({"starttls": "smtp", "heloName": "Client.Example."}).heloName == "Client.Example"
    with pytest.raises(EndpointStringError, match=r"heloName: 'x_y\.example' is not a valid"):
        read({"starttls": "smtp", "heloName": "x_y.example"})


RESOLVER = "resolver=127.0.0.1#53"


def endpoint(text: str) -> Any:
    return clientFromString(MemoryReactorClock(), f"{text}:{RESOLVER}")


def test_endpointStrings() -> None:
    """
    C{heloName} is taken with C{starttls=smtp} (or C{lmtp}) and with C{mx=}, whose hosts get
    it; refused where nothing would greet with it (no STARTTLS, another protocol, C{srv=}).
    """
    plain = endpoint("dane:host=mx.example.test:port=25:starttls=smtp:heloName=c.example.net")
    assert plain.options.heloName == "c.example.net"
    mx = endpoint("dane:mx=example.test:heloName=c.example.net")
    assert mx.settings.options.heloName == "c.example.net"
    for text, message in [
        ("dane:host=h.example.test:port=443:heloName=c.example.net", "goes with starttls=smtp"),
        (
            "dane:host=h.example.test:port=143:starttls=imap:heloName=c.example.net",
            "not of starttls=imap",
        ),
        ("dane:srv=xmpp-client:domain=example.test:heloName=c.example.net", "srv and heloName"),
        ("dane:mx=example.test:heloName=c_d.example.net", "is not a valid domain name"),
    ]:
        with pytest.raises(EndpointStringError, match=message):
            endpoint(text)


def test_refusedWithoutAGreeting() -> None:
    """
    In Python too: a L{DANEEndpoint} without STARTTLS, or an L{SRVEndpoint}, refuses a
    C{heloName} it would never send.
    """
    resolver = FakeResolver({})
    reactor = MemoryReactorClock()
    with pytest.raises(ValueError, match="without STARTTLS the endpoint greets no one"):
        DANEEndpoint(reactor, resolver, "h.example.test", 443, heloName="c.example.net")
    with pytest.raises(ValueError, match="heloName is for SMTP and LMTP"):
        SRVEndpoint(reactor, resolver, "xmpp-client", "example.test", heloName="c.example.net")
    taken = DANEEndpoint(
        reactor, resolver, "h.example.test", 25, starttls="smtp", heloName="c.example.net"
    )
    assert taken.options.heloName == "c.example.net"


def test_tlsaHostIsAName() -> None:
    """
    C{tlsaHost} is a name in Python as in endpoint strings: TLSA records are found by name.
    """
    with pytest.raises(ValueError, match="is an address, not a domain name"):
        DANEOptions(tlsaHost="192.0.2.1")


def test_srvDomainAndCreatorChecked() -> None:
    """
    An L{SRVEndpoint}'s domain is checked as the string's is (a name, not an address or
    junk); C{creatorForStartTLS} refuses C{starttls}, which it would ignore.
    """
    from txdane.endpoints import creatorForStartTLS

    resolver = FakeResolver({})
    reactor = MemoryReactorClock()
    for domain, message in [
        ("192.0.2.1", "is an address, not a domain name"),
        ("", "is not a host name"),
        ("*.example.test", "a wildcard"),
    ]:
        with pytest.raises(ValueError, match=message):
            SRVEndpoint(reactor, resolver, "xmpp-client", domain)
    with pytest.raises(ValueError, match="creatorForStartTLS is for a protocol that does its"):
        creatorForStartTLS(reactor, resolver, "mail.example.test", 25, starttls="smtp")

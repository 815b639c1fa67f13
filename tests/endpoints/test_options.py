"""
Tests of L{DANEOptions}: one value for the DANE options, taken by every endpoint and by the
C{dane:} endpoint string.
"""

from __future__ import annotations

import dataclasses

import pytest
from twisted.internet.endpoints import clientFromString
from twisted.internet.testing import MemoryReactorClock
from twisted.web.client import URI

from tests.fakeresolver import FakeResolver
from txdane.dane.decision import Policy
from txdane.endpoints import DANEEndpoint, DANEEndpointFactory, DANEOptions
from txdane.endpoints.options import stringOptions
from txdane.endpoints.web import WEB_OPTIONS


def test_frozenAndNormalised() -> None:
    options = DANEOptions(extraNames=["mx.example.test"], acceptableProtocols=[b"h2"])
    assert options.extraNames == ("mx.example.test",)
    assert options.acceptableProtocols == (b"h2",)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.policy = Policy.SMTP  # type: ignore[misc]
    assert hash(options) == hash(
        DANEOptions(extraNames=("mx.example.test",), acceptableProtocols=(b"h2",))
    )


@pytest.mark.parametrize("protocol", [b"", b"x" * 256])
def test_alpnNamesChecked(protocol: bytes) -> None:
    """
    An ALPN protocol name is 1 to 255 bytes (RFC 7301): another is refused when the options
    are made, not by OpenSSL at each connection.
    """
    with pytest.raises(ValueError, match="is not an ALPN protocol name"):
        DANEOptions(acceptableProtocols=[b"h2", protocol])
    assert DANEOptions(acceptableProtocols=[b"x" * 255]).acceptableProtocols == (b"x" * 255,)


def test_endpointTakesOptionsOrFields() -> None:
    """
    An endpoint takes a L{DANEOptions}, its fields as keywords, or both (the keywords win).
    """
    reactor, resolver = MemoryReactorClock(), FakeResolver({})
    given = DANEOptions(policy=Policy.DANE_ONLY, tlsaHost="tlsa.example.test")
    assert DANEEndpoint(reactor, resolver, "h", 443, options=given).options is given
    assert DANEEndpoint(reactor, resolver, "h", 443, policy=Policy.SMTP).options == DANEOptions(
        policy=Policy.SMTP
    )
    both = DANEEndpoint(reactor, resolver, "h", 443, options=given, policy=Policy.SMTP)
    assert both.options == dataclasses.replace(given, policy=Policy.SMTP)
    with pytest.raises(TypeError, match="colour"):
        DANEEndpoint(reactor, resolver, "h", 443, colour="blue")


def test_webDefaults() -> None:
    """
    The web factory checks names of DANE-EE certificates and offers HTTP/1.1 unless told
    otherwise; its options reach every https endpoint.
    """
    reactor, resolver = MemoryReactorClock(), FakeResolver({})
    assert DANEEndpointFactory(reactor, resolver).options == WEB_OPTIONS
    assert WEB_OPTIONS.checkDANEEENames and WEB_OPTIONS.acceptableProtocols == (b"http/1.1",)
    factory = DANEEndpointFactory(reactor, resolver, checkDANEEENames=False)
    endpoint = factory.endpointForURI(URI.fromBytes(b"https://www.example.test/"))
    assert isinstance(endpoint, DANEEndpoint)
    assert endpoint.options == dataclasses.replace(WEB_OPTIONS, checkDANEEENames=False)


def test_stringOptionsComeFromTheFields() -> None:
    """
    The C{dane:} parser accepts the string options the fields name, and sets their fields.
    """
    assert stringOptions() == {
        "proto",
        "tlsaHost",
        "require",
        "policy",
        "certificate",
        "privateKey",
        "trustRoots",
        "starttls",
        "heloName",
    }
    endpoint = clientFromString(
        MemoryReactorClock(),
        "dane:host=h.example.test:port=443:resolver=127.0.0.1:proto=TCP:require=no"
        ":tlsaHost=t.example.test",
    )
    assert endpoint.options == DANEOptions(tlsaHost="t.example.test")

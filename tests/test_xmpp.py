"""
Tests for L{txdane.xmpp}: twisted.words' client on streams that are already TLS.
"""

from __future__ import annotations

from typing import Any

import pytest
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.ssl import optionsForClientTLS
from twisted.internet.testing import StringTransport
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.words.protocols.jabber import client, sasl, xmlstream
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish
from zope.interface import directlyProvides

from txdane.xmpp import (
    EncryptedStreamTLSInitializer,
    XMPPAuthenticator,
    isEncrypted,
    xmppClientFactory,
)


def stream(transport: Any, starttls: bool) -> xmlstream.XmlStream:
    factory = xmppClientFactory(JID("alice@example.com"), "secret")
    xs: Any = factory.buildProtocol(None)
    xs.makeConnection(transport)
    features = {}
    if starttls:
        features[(xmlstream.NS_XMPP_TLS, "starttls")] = domish.Element(
            (xmlstream.NS_XMPP_TLS, "starttls")
        )
    xs.features = features
    return xs


def tlsInitializer(xs: Any) -> Any:
    [initializer] = [
        i for i in xs.initializers if isinstance(i, xmlstream.TLSInitiatingInitializer)
    ]
    return initializer


def encryptedTransport() -> StringTransport:
    transport = StringTransport()
    directlyProvides(transport, ISSLTransport)
    return transport


def test_isEncrypted() -> None:
    """
    A transport that started TLS, or a TLS layer of twisted.protocols.tls, is encrypted; a
    plain one is not.
    """
    assert not isEncrypted(StringTransport())
    assert isEncrypted(encryptedTransport())
    wrapped = Factory.forProtocol(Protocol)
    factory = TLSMemoryBIOFactory(optionsForClientTLS("example.com"), True, wrapped)
    assert isEncrypted(factory.buildProtocol(None))


def test_initializersReplaced() -> None:
    """
    Only the TLS step differs from twisted.words' authenticator, and it stays required.
    """
    xs = stream(StringTransport(), starttls=True)
    kinds = [type(i) for i in xs.initializers]
    assert kinds == [
        client.CheckVersionInitializer,
        EncryptedStreamTLSInitializer,
        sasl.SASLInitiatingInitializer,
        client.BindInitializer,
        client.SessionInitializer,
    ]
    assert tlsInitializer(xs).required
    assert isinstance(xs.authenticator, XMPPAuthenticator)


def test_alreadyEncryptedNoStartTLS() -> None:
    """
    On a TLS connection the TLS step is done at once, even when the server (wrongly) offers
    STARTTLS: never STARTTLS inside TLS.
    """
    for offered in (False, True):
        transport = encryptedTransport()
        xs = stream(transport, starttls=offered)
        transport.clear()
        assert tlsInitializer(xs).initialize() is None
        assert transport.value() == b""


def test_cleartextRequiresStartTLS() -> None:
    """
    On a cleartext connection, a server not offering STARTTLS fails the stream (before any
    credential is sent), and one offering it is asked for it.
    """
    xs = stream(StringTransport(), starttls=False)
    with pytest.raises(xmlstream.FeatureNotAdvertized):
        tlsInitializer(xs).initialize()
    transport = StringTransport()
    xs = stream(transport, starttls=True)
    transport.clear()
    tlsInitializer(xs).initialize()
    assert b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" in transport.value()


def test_jidAsText() -> None:
    """
    The JID may be given as its text; text that is no JID, a JID without an account, or a
    password that is not text are refused when the factory is made.
    """
    factory: Any = xmppClientFactory("alice@example.com/home", "secret")
    assert factory.authenticator.jid == JID("alice@example.com/home")
    for jid, error, message in [
        ("alice@@example.com", ValueError, "is not a JID"),
        ("example.com", ValueError, "names no account"),
        (b"alice@example.com", TypeError, "jid must be a JID or its text"),
    ]:
        with pytest.raises(error, match=message):
            xmppClientFactory(jid, "secret")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="password must be a str"):
        xmppClientFactory("alice@example.com", b"secret")  # type: ignore[arg-type]

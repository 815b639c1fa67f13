"""
XMPP clients of twisted.words over DANE-verified connections::

    from twisted.internet.endpoints import clientFromString
    from twisted.words.protocols.jabber.jid import JID, InvalidFormat
    from txdane.xmpp import xmppClientFactory

    endpoint = clientFromString(reactor, "dane:srv=xmpp-client:domain=example.com")
    factory = xmppClientFactory(JID("juliet@example.com"), "secret")
    xs = await endpoint.connect(factory)

The C{dane:srv=xmpp-client} endpoint hands the application a stream that is already
encrypted and verified: TLS from the first byte for a direct TLS target (XEP-0368), or after
the endpoint's own STARTTLS for the others. twisted.words' stock authenticator insists on
negotiating STARTTLS itself (its TLS initializer is required) and so fails on such a stream
with C{FeatureNotAdvertized}. L{xmppClientFactory} is C{XMPPClientFactory} with one change:
its TLS step is satisfied by a connection that is already TLS, and is never repeated inside
it. On a cleartext connection it still requires STARTTLS, as the stock one does.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import (
    INegotiated,
    IOpenSSLClientConnectionCreator,
    ISSLTransport,
)
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.words.protocols.jabber import client, xmlstream
from twisted.words.protocols.jabber.jid import JID, InvalidFormat

__all__ = [
    "EncryptedStreamTLSInitializer",
    "XMPPAuthenticator",
    "isEncrypted",
    "xmppClientFactory",
]


def isEncrypted(transport: Any) -> bool:
    """
    Whether C{transport} already speaks TLS: a transport that started TLS (it provides
    C{ISSLTransport}) or a TLS layer of C{twisted.protocols.tls}, as the C{dane:} endpoints
    give.
    """
    return (
        ISSLTransport.providedBy(transport)
        or isinstance(transport, TLSMemoryBIOProtocol)
        or INegotiated.providedBy(transport)
    )


class EncryptedStreamTLSInitializer(xmlstream.TLSInitiatingInitializer):
    """
    twisted.words' TLS initializer, done at once when the stream's connection is already
    TLS: no STARTTLS inside TLS (XEP-0368). On a cleartext connection it is the stock
    initializer: when C{required}, a server that does not offer STARTTLS fails the stream
    before any credential is sent.
    """

    def initialize(self) -> Any:
        if isEncrypted(self.xmlstream.transport):
            return None
        return super().initialize()


class XMPPAuthenticator(client.XMPPAuthenticator):
    """
    twisted.words' C{XMPPAuthenticator} with L{EncryptedStreamTLSInitializer} in place of
    its TLS initializer; everything else (SASL, binding, session) unchanged.
    """

    def associateWithStream(self, xs: xmlstream.XmlStream) -> None:
        super().associateWithStream(xs)
        xs.initializers = [
            EncryptedStreamTLSInitializer(
                xs, required=True, configurationForTLS=self._configurationForTLS
            )
            if isinstance(step, xmlstream.TLSInitiatingInitializer)
            else step
            for step in xs.initializers
        ]


def xmppClientFactory(
    jid: JID | str,
    password: str,
    configurationForTLS: IOpenSSLClientConnectionCreator | None = None,
) -> xmlstream.XmlStreamFactory:
    """
    C{twisted.words.protocols.jabber.client.XMPPClientFactory} for connections that may
    already be TLS: over a C{dane:srv=xmpp-client} or C{dane:} endpoint it logs in on the
    verified connection; over a cleartext one it requires STARTTLS with
    C{configurationForTLS} (e.g. from L{txdane.endpoints.creatorForStartTLS}).

    @param jid: the account's JID, or its text (C{"alice@example.com/home"}).
    @param password: its password, sent only after TLS.
    @param configurationForTLS: the TLS creator for a STARTTLS the client does itself.
    @return: the XML stream factory; observe C{xmlstream.STREAM_AUTHD_EVENT} and
        C{xmlstream.INIT_FAILED_EVENT} on it, as with twisted.words.
    @raise ValueError: for text that is not a JID, or a JID without a user (an account has
        one).
    @raise TypeError: for a C{jid} or C{password} of another type.
    """
    if isinstance(jid, str):
        try:
            jid = JID(jid)
        except InvalidFormat as e:
            raise ValueError(f"jid {jid!r} is not a JID: {e}") from None
    elif not isinstance(jid, JID):
        raise TypeError(f"jid must be a JID or its text, not {jid!r}")
    if not jid.user:
        raise ValueError(f"jid {jid.full()!r} names no account (user@domain)")
    if not isinstance(password, str):
        raise TypeError(f"password must be a str, not {type(password).__name__}")
    return xmlstream.XmlStreamFactory(
        XMPPAuthenticator(jid, password, configurationForTLS=configurationForTLS)
    )

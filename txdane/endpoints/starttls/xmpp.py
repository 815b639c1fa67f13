"""
STARTTLS for XMPP (RFC 6120 section 5.4): client-to-server and server-to-server streams.

The client speaks first, so the application gets no greeting: after TLS it opens a new stream
itself (twisted.words does; use L{txdane.xmpp}'s factory so that it does not ask for STARTTLS
again inside TLS).

A server whose first byte is not the start of an XML stream (an SMTP or IMAP greeting, say)
speaks another protocol: L{StartTLSWrongProtocolError
<txdane.endpoints.errors.StartTLSWrongProtocolError>}, naming it where it can.

XMPP is restricted XML (RFC 6120 section 11.1): no DTD, so no entity but the predefined
ones, no comment and no processing instruction. A server that sends one of them is refused
the moment the parser reads its start, before anything of it is processed: a DTD's entities
are never declared, let alone expanded, which would otherwise let a few hundred bytes of
nested entities cost minutes of the reactor's time (expat's own guard against amplification
only stops them after megabytes of text, which twisted.words' elements gather by
concatenation). RFC 6120 asks the entity that receives it (the client too) to close the
stream with a C{<restricted-xml/>} stream error; the negotiator ends the connection, as for
every refusal before TLS, and sends none: the connection is aborted, and an abort discards
whatever is still waiting to be written, so the error would never leave.

Whitespace before the stream's first C{<} (a newline some servers send first, or a
keep-alive) is dropped however the server's bytes are split; see L{XMPPStartTLS.received}.

Tests: C{tests/endpoints/test_starttls.py}.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import quoteattr

from twisted.words.xish import domish

from txdane.endpoints.starttls.negotiator import Negotiator, quoted

__all__ = ["XMPP_STREAMS_NS", "XMPP_TLS_NS", "XMPPServerStartTLS", "XMPPStartTLS"]

#: The namespaces of XMPP's stream and of its STARTTLS elements (RFC 6120).
XMPP_STREAMS_NS = "http://etherx.jabber.org/streams"
XMPP_TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls"

#: What may come before the stream's first "<": whitespace, and the bytes of a byte order mark.
_WHITESPACE = b" \t\r\n"
_LEADING = b"\xef\xbb\xbf" + _WHITESPACE


class _RestrictedXML(Exception):
    """
    The server sent XML that XMPP forbids (RFC 6120 section 11.1), which the exception's
    message names. Raised from the parser's handlers: expat then stops at once and
    C{Parse} raises it, so nothing after the forbidden construct is read.
    """


def _forbidDoctype(name: str, systemId: Any, publicId: Any, internalSubset: Any) -> None:
    raise _RestrictedXML(f"a DTD (DOCTYPE {quoted(name)})")


def _forbidEntity(name: str, *rest: Any) -> None:
    raise _RestrictedXML(f"an entity declaration ({quoted(name)})")


def _forbidComment(data: str) -> None:
    raise _RestrictedXML("a comment")


def _forbidInstruction(target: str, data: str) -> None:
    raise _RestrictedXML(f"a processing instruction ({quoted(target)})")


def _restrictedStream() -> domish.ExpatElementStream:
    """
    twisted.words' expat element stream, made to refuse what RFC 6120 section 11.1 forbids:
    a DTD (and so any entity declaration: without a DTD, a reference to an entity other than
    the predefined ones is an error of expat's), a comment, a processing instruction. The
    XML declaration (C{<?xml version='1.0'?>}) is no processing instruction and passes.
    """
    stream = domish.ExpatElementStream()
    parser = stream.parser
    parser.StartDoctypeDeclHandler = _forbidDoctype
    # Only a DTD declares entities, and the DTD is refused as it starts; this one is in case
    # expat ever reports a declaration first.
    parser.EntityDeclHandler = _forbidEntity
    parser.CommentHandler = _forbidComment
    parser.ProcessingInstructionHandler = _forbidInstruction
    # Expat 2.6 and later defer parsing a token that came in pieces until much more data
    # has come: the end of a server's last element before TLS, in a segment of its own,
    # would wait for bytes that never come. Each piece is parsed as it comes, as with older
    # expat; what that costs a server sending one long tag a byte at a time is bounded by
    # XMPPStartTLS.maxPrelude.
    deferral = getattr(parser, "SetReparseDeferralEnabled", None)
    if deferral is not None:
        deferral(False)
    return stream


class XMPPStartTLS(Negotiator):
    """
    STARTTLS for XMPP (RFC 6120 section 5.4): open a stream to the domain, wait for its
    features, which must offer C{<starttls/>}, ask for it and wait for C{<proceed/>}.

    The stream's content namespace is C{jabber:client} (L{XMPPServerStartTLS}:
    C{jabber:server}).
    """

    protocolName = "xmpp-client"
    title = "XMPP"
    defaultPort = 5222
    #: Before TLS a server sends its stream header and features (well under 1 KiB for real
    #: servers): 16 KiB bounds what reparsing a tag sent a byte at a time costs (tens of
    #: milliseconds, where 64 KiB cost seconds).
    maxPrelude = 16384
    #: The stream's content namespace.
    namespace = "jabber:client"

    def begin(self) -> None:
        self._stream = _restrictedStream()
        self._stream.DocumentStartEvent = self._started
        self._stream.ElementEvent = self._element
        self._stream.DocumentEndEvent = lambda: self.refuse("the server closed the stream")
        self._features = False
        self._opened = False
        self._first = True
        self._marks = b""
        self.send(
            (
                "<?xml version='1.0'?><stream:stream xmlns="
                f"{quoteattr(self.namespace)} xmlns:stream='{XMPP_STREAMS_NS}' "
                f"to={quoteattr(self.domain)} version='1.0'>"
            ).encode()
        )

    def received(self, data: bytes) -> None:
        if self._first:
            # Whitespace before the stream's first "<" never reaches the parser, in whatever
            # pieces it comes. XML 1.0 allows nothing before the XML declaration but a byte
            # order mark (sections 2.8 and 4.3.3), and expat refuses the declaration after a
            # newline ("XML or text declaration not at start of entity"); but servers send a
            # newline or a keep-alive before their stream, and whitespace alone in a piece
            # is skipped as a keep-alive, so the same bytes must not be refused when they
            # come in one piece. Without a declaration, whitespace before the root element is
            # legal and means nothing. The bytes of a byte order mark go to the parser ahead
            # of the "<": it takes one whole mark at the start and refuses anything else as
            # malformed (four bytes are enough for that). Only what precedes the first "<" is
            # dropped: a second declaration, a DTD, a comment or a processing instruction
            # after it is the parser's to refuse.
            start = data.lstrip(_LEADING)
            marks = data[: len(data) - len(start)].translate(None, _WHITESPACE)
            self._marks = (self._marks + marks)[:4]
            if not start:
                return  # whitespace, as a keep-alive: the stream is still to come
            self._first = False
            if not start.startswith(b"<"):
                self.wrongProtocol(start)
                return
            data = self._marks + start
        try:
            self._stream.parse(data)
        except _RestrictedXML as e:
            self.refuse(f"the server sent {e}, which XMPP forbids (RFC 6120 section 11.1)")
        except Exception as e:
            self.refuse(f"malformed XML from the server ({e})")

    def _started(self, root: domish.Element) -> None:
        self._opened = True
        if (root.uri, root.name) != (XMPP_STREAMS_NS, "stream"):
            self.refuse(f"the server opened no XMPP stream but <{root.name}>")

    def _element(self, element: domish.Element) -> None:
        # Elements after the one that settled the connection (the go-ahead, a refusal, no
        # STARTTLS where cleartext is allowed), in the same piece, are dropped: the negotiator
        # says nothing more on a connection now TLS's, closing, or the application's.
        if self.upgrading or self._refusal is not None or self.cleartext:
            return
        where = (element.uri, element.name)
        if where == (XMPP_STREAMS_NS, "error"):
            conditions = [c.name for c in element.elements() if c.name != "text"]
            self.refuse(f"stream error {', '.join(conditions) or 'without a condition'}")
        elif not self._features:
            if where != (XMPP_STREAMS_NS, "features"):
                self.refuse(f"expected the stream features, got <{element.name}>")
                return
            if not any((c.uri, c.name) == (XMPP_TLS_NS, "starttls") for c in element.elements()):
                self.notOffered("the server does not offer STARTTLS")
                return
            self._features = True
            self.send(f"<starttls xmlns='{XMPP_TLS_NS}'/>".encode())
        elif where == (XMPP_TLS_NS, "proceed"):
            self.upgrade()
        elif where == (XMPP_TLS_NS, "failure"):
            self.refuse("the server answered STARTTLS with <failure/>")
        else:
            self.refuse(f"expected <proceed/>, got <{element.name}>")

    def where(self) -> str:
        if not self._opened:
            return "before opening its stream"
        if not self._features:
            return "before its stream features"
        return "before answering <starttls/>"


class XMPPServerStartTLS(XMPPStartTLS):
    """
    STARTTLS for a server-to-server XMPP stream: as L{XMPPStartTLS}, in C{jabber:server}.
    """

    protocolName = "xmpp-server"
    defaultPort = 5269
    namespace = "jabber:server"

"""
The errors of the endpoints: a TLS handshake that broke down, STARTTLS refused, MX and SRV
lookups that forbid dialling, every host of a plan failed, endpoint strings or URLs that
cannot be used, and an HTTP response larger than its client accepts.

Each names its host (or domain) and its cause in one line; the facts are attributes, declared
once as fields (see L{TxdaneError<txdane.errors.TxdaneError>}).

Tests: C{tests/endpoints/test_planner.py}, C{tests/endpoints/test_web_bounds.py},
C{tests/test_surface.py}.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import dns.name
from twisted.web.error import SchemeNotSupported

from txdane.errors import TxdaneError
from txdane.status import Status

__all__ = [
    "MAX_GREETING",
    "AllHostsFailedError",
    "EndpointStringError",
    "HostAttempt",
    "MXError",
    "MXLookupError",
    "NoSuchDomainError",
    "NoSuchServiceError",
    "NullMXError",
    "ResponseTooLargeError",
    "SRVConnectError",
    "SRVLookupError",
    "ServiceNotOfferedError",
    "StartTLSConnectionLostError",
    "StartTLSError",
    "StartTLSWrongProtocolError",
    "TLSHandshakeError",
    "UnknownProtocolError",
    "UnsupportedSchemeError",
    "describeError",
]


class EndpointStringError(TxdaneError, ValueError):
    """
    An endpoint string could not be used; the message names the option and the problem.
    """


class UnsupportedSchemeError(TxdaneError, ValueError, SchemeNotSupported):
    """
    A URL's scheme is neither http nor https (or http, for an agent that fetches https
    only). It is also Twisted's C{SchemeNotSupported}, so that code written for Twisted's
    C{Agent} recognizes it.
    """


class ResponseTooLargeError(TxdaneError):
    """
    A server sent a larger HTTP response than its client accepts: more bytes on the
    connection than the bound of L{daneAgent<txdane.endpoints.web.daneAgent>}'s
    C{maxResponseBytes} (status line, header lines and body), or a larger body than
    L{AgentProxy<txdane.xmlrpc.AgentProxy>}'s C{maxResponse}. The connection was closed
    (aborted, past the connection's bound).

    @ivar url: the URL requested, or the origin (C{https://host:port}) of the connection.
    @ivar limit: the most bytes accepted.
    """

    url: str
    limit: int
    template = "{url}: the response is larger than {limit} bytes"


class UnknownProtocolError(TxdaneError, ValueError):
    """
    A STARTTLS protocol name that the registry (L{txdane.endpoints.starttls.PROTOCOLS})
    does not know.

    @ivar name: the name given.
    @ivar known: the names it knows.
    """

    name: str
    known: Sequence[str]

    def __post_init__(self) -> None:
        self.known = tuple(self.known)
        super().__post_init__()

    def __str__(self) -> str:
        return f"unknown STARTTLS protocol {self.name!r} (one of {', '.join(self.known)})"


class TLSHandshakeError(TxdaneError):
    """
    A TLS connection from the first byte whose handshake broke down before any certificate
    was judged: the server closed the connection during the handshake, or answered with
    something that is not TLS (a cleartext greeting: OpenSSL's "wrong version number"), or
    OpenSSL gave up (an alert, no protocol version or cipher in common). The application was
    never connected. A failed verification is not one: it keeps its own error
    (L{DANEVerificationError<txdane.dane.errors.DANEVerificationError>},
    L{PKIXVerificationError<txdane.dane.errors.PKIXVerificationError>}), and so does a
    handshake that took too long (L{HandshakeTimeoutError
    <txdane.errors.HandshakeTimeoutError>}). After STARTTLS, the same failures are
    L{StartTLSError}s.

    @ivar host: the server's host name.
    @ivar port: the port.
    @ivar reason: what happened, in words ("the server closed the connection during the
        TLS handshake", "the TLS handshake failed: wrong version number").
    @ivar cause: the error the connection ended with (Twisted's C{ConnectionLost}, an
        OpenSSL C{SSL.Error}), also kept as C{__cause__}.
    """

    host: str
    port: int
    reason: str
    cause: BaseException | None = None
    template = "{host}:{port}: {reason}"


class StartTLSError(TxdaneError):
    """
    The connection did not reach a verified TLS session through STARTTLS: the server did
    not offer it, refused it, broke the protocol before it, or dropped the handshake that
    followed. The application was never connected and nothing was sent to the server but
    the endpoint's own cleartext prelude (greeting, capability query, STARTTLS).

    @ivar host: the server's host name.
    @ivar port: the port.
    @ivar protocol: the protocol whose STARTTLS was attempted (C{smtp}, C{xmpp-client} ...).
    @ivar reason: what went wrong, in words.
    """

    host: str
    port: int
    protocol: str
    reason: str
    template = "{host}:{port} refused: STARTTLS ({protocol}): {reason}"


#: The most of a server's first line kept by L{StartTLSWrongProtocolError}.
MAX_GREETING = 512


class StartTLSConnectionLostError(StartTLSError):
    """
    The connection was closed, or broke, before a TLS session came about: before the server
    agreed to STARTTLS (before or after its greeting, before it answered the upgrade
    command), or after it agreed and before the TLS handshake completed. Unlike the other
    L{StartTLSError}s, this is no answer from the server about TLS (it did not say that it
    does not offer STARTTLS, nor refuse it): the STARTTLS dialogue did not complete. The
    error that ended the connection is kept as C{__cause__}.

    @ivar upgrading: whether the server had agreed to STARTTLS, so that the TLS handshake
        had started.
    """

    upgrading: bool = False


class StartTLSWrongProtocolError(StartTLSError):
    """
    The server's first words are not the protocol's: it speaks another protocol (an IMAP
    greeting to an SMTP client, say), or none the negotiators know. Like
    L{StartTLSConnectionLostError}, this is no answer about TLS: the STARTTLS dialogue could
    not start.

    @ivar greeting: the server's first line (at most L{MAX_GREETING} characters; bytes that
        are not UTF-8 replaced), as received; quote it with
        L{quoted<txdane.endpoints.starttls.negotiator.quoted>}.
    @ivar speaks: the name in the registry (L{PROTOCOLS<txdane.endpoints.starttls.PROTOCOLS>})
        of the protocol the greeting looks like
        (L{greetingProtocol<txdane.endpoints.starttls.greetingProtocol>}), or C{None}.
    """

    greeting: str = ""
    speaks: str | None = None


def describeError(error: BaseException) -> str:
    """
    C{error} in words: its message, after its type's name unless it is one of txdane's
    errors (whose messages say what they are) or has no message.
    """
    text = str(error)
    if isinstance(error, TxdaneError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass(frozen=True)
class HostAttempt:
    """
    One host tried, and why it failed.

    @ivar host: the host name.
    @ivar port: the port.
    @ivar error: the failure.
    @ivar address: the address connected to, when a connection was made.
    """

    host: str
    port: int
    error: BaseException
    address: str | None = None

    def __str__(self) -> str:
        where = f"{self.host}:{self.port}"
        text = describeError(self.error)
        # Most errors start with the host and port already: name them once.
        for named in (f"{where}: ", f"{where} "):
            if text.startswith(named):
                text = text[len(named) :]
                break
        if self.address:
            where += f" ({self.address})"
        return f"{where}: {text}"


class AllHostsFailedError(TxdaneError):
    """
    Every host of a plan that was tried failed.

    @ivar service: what was planned for (C{"MX of example.com"}).
    @ivar attempts: a L{HostAttempt} per host tried, in order.
    @ivar skipped: the hosts (C{"host:port"}) beyond the limit of hosts to try, not tried.
    """

    service: str
    attempts: Sequence[HostAttempt]
    skipped: Sequence[str] = ()

    def __post_init__(self) -> None:
        self.attempts = tuple(self.attempts)
        self.skipped = tuple(self.skipped)
        super().__post_init__()

    def __str__(self) -> str:
        if not self.attempts:
            return f"{self.service}: no host to try"
        text = f"{self.service}: every host failed: " + "; ".join(str(a) for a in self.attempts)
        if self.skipped:
            text += f" ({len(self.skipped)} more not tried: {', '.join(self.skipped)})"
        return text


class SRVConnectError(AllHostsFailedError):
    """
    Every target of an SRV service failed: C{attempts} lists each target once, with why.
    """


class MXError(TxdaneError):
    """
    Base class of the errors of an MX lookup.

    @ivar domain: the next-hop domain.
    @ivar reason: the cause in words.
    @cvar permanent: whether the mail should bounce (C{True}) or be deferred (C{False}).
    """

    domain: str
    reason: str
    permanent: ClassVar[bool] = False
    template = "MX of {domain}: {reason}"


class MXLookupError(MXError):
    """
    The MX lookup was bogus, indeterminate or failed: defer, dial nothing.

    @ivar status: the answer's status, or C{None} when the lookup did not complete.
    @ivar ede: the RFC 8914 extended error code, if any.
    """

    status: Status | None = None
    ede: int | None = None


class NullMXError(MXError):
    """
    The domain publishes a null MX (RFC 7505): it accepts no mail. Bounce.
    """

    permanent = True


class NoSuchDomainError(MXError):
    """
    The domain does not exist (NXDOMAIN): bounce.
    """

    permanent = True


class NoSuchServiceError(TxdaneError, ValueError):
    """
    The service name is not one L{SERVICES<txdane.endpoints.srvplan.SERVICES>} knows.

    @ivar name: the name given.
    @ivar known: the names it knows.
    """

    name: str
    known: Sequence[str] = ()

    def __post_init__(self) -> None:
        self.known = tuple(self.known)
        super().__post_init__()

    def __str__(self) -> str:
        return f"unknown service {self.name!r} (known: {', '.join(self.known)})"


class SRVLookupError(TxdaneError):
    """
    An SRV lookup was bogus, indeterminate or did not complete: nothing was dialled.

    @ivar name: the SRV owner name.
    @ivar reason: the cause in words.
    @ivar status: the DNSSEC status, or C{None} when the lookup did not complete.
    @ivar ede: the RFC 8914 extended DNS error code, when there is one.
    """

    name: dns.name.Name
    reason: str
    status: Status | None = None
    ede: int | None = None

    def __str__(self) -> str:
        return f"{self.name.to_text(omit_final_dot=True)} SRV refused: {self.reason}"


class ServiceNotOfferedError(TxdaneError):
    """
    The domain does not offer the service: its only SRV record has the target C{.} (RFC
    2782), or it has no SRV records and the service defines no default port. A permanent
    error: there is nothing to fall back to.

    @ivar domain: the service domain.
    @ivar service: the service name.
    @ivar reason: why, in words.
    """

    domain: str
    service: str
    reason: str
    template = "{domain} does not offer {service}: {reason}"

"""
A server that accepted the connection but with which no TLS session came about, for
C{txdane check}: what it says first on a connection of L{peek}'s own (a greeting, an SSH
identification string, or a TLS handshake after a silence), which protocol that is
(L{greetingProtocol}), and the verdicts that tell why the check could not complete and which
option to check it with (L{handshakeFailure}, L{unfinishedSTARTTLS}); and OpenSSL's errors in
words (L{errorText}).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Protocol
from zope.interface import implementer

from txdane.cli import ExitStatus
from txdane.cli._verdict import HostVerdict

#: The longest a server's first words are waited for by L{peek}, in seconds.
PEEK_SECONDS = 2.0


def greetingProtocol(line: str) -> tuple[str, str | None] | None:
    """
    The protocol whose greeting C{line} (a server's first line) is, and the C{--starttls}
    value that speaks it (C{None}: SSH, checked with C{--ssh}); C{None} when it is neither
    SSH's nor that of a protocol the STARTTLS registry knows (the registry's own guess,
    L{greetingProtocol<txdane.endpoints.starttls.greetingProtocol>}, which C{check
    --starttls} also uses to name the protocol of a server that does not speak the one
    asked for).
    """
    from txdane.endpoints.starttls import greetingProtocol as registryGuess
    from txdane.endpoints.starttls import negotiatorFor

    if line.startswith("SSH-"):
        return "SSH", None
    name = registryGuess(line)
    return (negotiatorFor(name).title, name) if name is not None else None


@dataclass
class Peek:
    """
    What a server said on a connection of L{peek}'s own.

    @ivar line: its first line, sent before the client said anything (C{None}: nothing).
    @ivar tls: whether it then completed a TLS handshake (only when asked).
    """

    line: str | None = None
    tls: bool = False


@implementer(IHandshakeListener)
class _Peeking(Protocol):
    """
    Keeps what the server says first; with C{tryTLS}, starts TLS after C{wait} seconds of
    silence and notes whether the handshake completes.
    """

    def __init__(self, reactor: Any, wait: float, tryTLS: bool) -> None:
        self.reactor, self.wait, self.tryTLS = reactor, wait, tryTLS
        self.buffer = b""
        self.peek = Peek()
        self.done: Deferred[Peek] = Deferred()

    def connectionMade(self) -> None:
        self.timer = self.reactor.callLater(self.wait, self.silent)

    def silent(self) -> None:
        if self.buffer or not self.tryTLS:
            self.finish()
            return
        from twisted.internet.ssl import CertificateOptions

        # Whatever the certificate: the question is only whether the server speaks TLS.
        self.transport.startTLS(CertificateOptions())  # type: ignore[union-attr]
        self.timer = self.reactor.callLater(self.wait, self.finish)

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if b"\n" in self.buffer or len(self.buffer) >= 512:
            self.finish()

    def handshakeCompleted(self) -> None:
        self.peek.tls = True
        self.finish()

    def connectionLost(self, reason: Any = None) -> None:
        self.finish(connected=False)

    def finish(self, connected: bool = True) -> None:
        if self.done.called:
            return
        if self.timer.active():
            self.timer.cancel()
        if self.buffer and not self.peek.tls:
            line = self.buffer.split(b"\n", 1)[0].rstrip(b"\r")
            self.peek.line = line.decode("utf-8", "replace")
        if connected and self.transport is not None:
            self.transport.abortConnection()  # type: ignore[attr-defined]
        self.done.callback(self.peek)


async def peek(
    reactor: Any, address: str, port: int, wait: float = PEEK_SECONDS, *, tryTLS: bool = False
) -> Peek:
    """
    Connect to C{address}:C{port} once more, in cleartext, to see what the server says
    before the client speaks (an SMTP, IMAP, POP3 or FTP greeting, an SSH identification
    string), for at most C{wait} seconds; with C{tryTLS}, a server that stays silent is
    then offered a TLS handshake (its certificate not judged), to see whether it speaks TLS.
    Nothing is learnt (an empty L{Peek}) when that connection fails.
    """
    from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, connectProtocol

    kind = TCP6ClientEndpoint if ":" in address else TCP4ClientEndpoint
    protocol = _Peeking(reactor, wait, tryTLS)
    try:
        await connectProtocol(kind(reactor, address, port, timeout=wait), protocol)
    except Exception:
        return Peek()
    return await protocol.done


def _waitsForClient(port: int) -> str:
    """
    For a server on C{port} that said nothing where a greeting was due: the protocols whose
    clients speak first (their servers wait, silent) that are at home on that port, as an
    option to try (C{"; port 5222 is XMPP's, whose server waits for the client: try
    --starttls xmpp-client"}); empty for another port.
    """
    from txdane.endpoints.starttls import PROTOCOLS

    for name, negotiator in PROTOCOLS.items():
        if negotiator.defaultPort == port and not negotiator.greeting:
            return (
                f"; port {port} is {negotiator.title}'s, whose server waits for the client:"
                f" try --starttls {name}"
            )
    return ""


async def handshakeFailure(
    reactor: Any,
    candidate: Any,
    address: str,
    error: BaseException,
    timeout: float,
    **evidence: Any,
) -> HostVerdict:
    """
    The verdict on a server that accepted the connection but with which no TLS session came
    about (its handshake timed out, broke down or was cut; for STARTTLS, its prelude did not
    end in time): the check could not complete, and it is no verdict on the certificate. Where
    it helps, what the server says first on a connection of L{peek}'s own tells which protocol
    it speaks, to say which option to check it with.
    """
    from OpenSSL import SSL
    from twisted.internet.error import ConnectionClosed

    from txdane.endpoints.starttls import negotiatorFor
    from txdane.endpoints.starttls.negotiator import quoted
    from txdane.errors import HandshakeTimeoutError

    host, port, starttls = candidate.host, candidate.port, candidate.starttls
    reason = ""
    if isinstance(error, HandshakeTimeoutError):
        seconds = f"{error.timeout:g} s"
        if starttls is None:
            headline = f"no TLS handshake within {seconds}"
            reason = (
                "the server accepted the connection but did not answer the TLS handshake"
                + _waitsForClient(port)
            )
        elif negotiatorFor(starttls).greeting:
            # A protocol whose server speaks first: did it?
            name = negotiatorFor(starttls).protocolName.upper()
            seen = await peek(reactor, address, port, min(PEEK_SECONDS, timeout), tryTLS=True)
            if seen.line is None:
                headline = f"no {name} greeting within {seconds}"
                reason = (
                    "the server speaks TLS from the first byte: try without --starttls"
                    if seen.tls
                    else "the server accepted the connection but said nothing"
                    + _waitsForClient(port)
                )
            else:
                headline = f"STARTTLS ({starttls}) did not complete within {seconds}"
                reason = f"the server greets with {quoted(seen.line)}"
        else:
            headline = f"STARTTLS ({starttls}) and TLS did not complete within {seconds}"
    elif isinstance(error, ConnectionClosed):
        headline = "the server closed the connection during the TLS handshake"
    elif isinstance(error, SSL.Error):
        text = errorText(error)
        headline = f"the TLS handshake failed ({text})"
        if starttls is None and "alert" not in text:
            # Not a TLS answer: a server that speaks first (a cleartext greeting) shows what
            # it speaks.
            seen = await peek(reactor, address, port, min(PEEK_SECONDS, timeout))
            reason = _notTLS(seen.line, port)
    else:
        headline = str(error).strip() or type(error).__name__
    return _notCompleted(host, port, headline, reason, **evidence)


def unfinishedSTARTTLS(host: str, port: int, error: Any, **evidence: Any) -> HostVerdict | None:
    """
    The verdict on a STARTTLS dialogue that did not complete (a
    L{StartTLSError<txdane.endpoints.errors.StartTLSError>} that is no answer from the server
    about TLS): the connection was closed or broke before the TLS handshake completed, the
    server speaks another protocol (then, where its greeting shows which, the option to
    check it with), or the server agreed to STARTTLS and the TLS handshake that followed
    failed. Like a direct TLS handshake that never came about (L{handshakeFailure}), the
    check could not complete (exit status 4): it is no verdict on whether the server offers
    TLS. C{None} for the others, the server's answers (it does not offer STARTTLS, refuses
    it, or broke the protocol), which are refusals.
    """
    from OpenSSL import SSL

    from txdane.endpoints.starttls import (
        StartTLSConnectionLostError,
        StartTLSWrongProtocolError,
        negotiatorFor,
    )

    if isinstance(error, StartTLSWrongProtocolError):
        headline = f"the server does not speak {negotiatorFor(error.protocol).title}"
        reason = error.reason
        if error.speaks is not None:
            reason += f": try --starttls {error.speaks}"
    elif isinstance(error, StartTLSConnectionLostError) and error.upgrading:
        # As for direct TLS: the end of a TLS connection the server did not close in TLS
        # reaches the client as a connection lost, whether it was closed or cut.
        headline = "the server closed the connection during the TLS handshake"
        reason = "the server agreed to STARTTLS, then ended the connection before TLS"
    elif isinstance(error, StartTLSConnectionLostError):
        headline, reason = error.reason, ""
    elif isinstance(error.__cause__, SSL.Error):
        headline = error.reason
        reason = "the server agreed to STARTTLS, but no TLS session came about"
    else:
        return None
    return _notCompleted(host, port, headline, reason, **evidence)


def _notCompleted(host: str, port: int, headline: str, reason: str, **evidence: Any) -> HostVerdict:
    """
    The verdict on a server that accepted the connection but with which no TLS session came
    about: C{connection failed: HEADLINE}, exit status 4.
    """
    return HostVerdict(
        host,
        port,
        False,
        ExitStatus.FAILURE,
        f"connection failed: {headline}",
        reason=reason,
        **evidence,
    )


def _notTLS(line: str | None, port: int) -> str:
    """
    What a server on C{port} that did not answer in TLS is, by its first line (C{None}: it
    said nothing unprompted; then the protocol at home on C{port}, if one is, is named).
    """
    from txdane.endpoints.starttls.negotiator import quoted

    if line is None:
        hint = _waitsForClient(port) or " (--starttls PROTO)"
        return (
            "the server did not answer in TLS: it may not speak TLS on this port, or only "
            f"after STARTTLS{hint}"
        )
    protocol = greetingProtocol(line)
    if protocol is None:
        return f"the server speaks first, in cleartext ({quoted(line)}), not TLS"
    name, starttls = protocol
    option = f"--starttls {starttls}" if starttls else "--ssh"
    return f"the server speaks {name} ({quoted(line)}), not TLS: try {option}"


def errorText(error: Any) -> str:
    from OpenSSL import SSL

    if isinstance(error, SSL.Error):
        try:
            return "; ".join(str(part[2]) for part in error.args[0]) or str(error)
        except (IndexError, TypeError):
            pass
    errors = getattr(error, "errors", None)
    if errors:  # service_identity's VerificationError
        return "the certificate is not valid for the host name"
    return str(error) or type(error).__name__

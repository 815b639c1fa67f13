"""
Fetching a domain's MTA-STS policy (RFC 8461 section 3.3): C{GET
https://mta-sts.DOMAIN/.well-known/mta-sts.txt} with Twisted's C{Agent}, the policy host's
addresses from the validating resolver and its certificate checked by WebPKI for the name
C{mta-sts.DOMAIN} inside the handshake, so that the request leaves only once it passed.

Only a C{200} answer of type C{text/plain} counts (redirects are not followed), the body
is read up to a size limit (past it the connection is closed), the whole response (status
line, header lines, body) up to that limit and L{HEADER_ALLOWANCE} (past it the connection
is aborted: twisted.web's client keeps every header line it is sent, however many), and the
whole fetch has one deadline. A failure is an L{MTASTSError} whose C{failure} is the RFC
8460 result type: a certificate problem is C{sts-webpki-invalid}, a policy that does not
parse C{sts-policy-invalid}, anything else C{sts-policy-fetch-error}.

Tests: C{tests/mtasts/test_fetch.py}, C{tests/mtasts/test_fetch_bounds.py}.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from OpenSSL import SSL
from twisted.internet.defer import CancelledError, Deferred, fail
from twisted.internet.interfaces import (
    IOpenSSLClientConnectionCreator,
    IProtocol,
    IProtocolFactory,
    IStreamClientEndpoint,
)
from twisted.internet.protocol import Protocol
from twisted.internet.ssl import CertificateOptions
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory, TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from twisted.web.client import Agent, ResponseDone
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IAgentEndpointFactory, IResponse
from zope.interface import implementer

from txdane.dane.pkix import PKIXTrust, nameMismatch, verifyPath
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.web import HEADER_ALLOWANCE, BoundedEndpoint, readBounded
from txdane.mtasts.errors import MTASTSError, PolicyFailure, PolicySyntaxError
from txdane.mtasts.policy import MTASTSPolicy, hostName, parsePolicy
from txdane.validation.interfaces import IDNSSECResolver

__all__ = [
    "FETCH_TIMEOUT",
    "HEADER_ALLOWANCE",
    "MAX_POLICY_SIZE",
    "POLICY_PATH",
    "describeError",
    "fetchPolicy",
    "policyURL",
]

_log = Logger()

#: The path of the policy on the policy host (RFC 8461 section 3.2).
POLICY_PATH = "/.well-known/mta-sts.txt"

#: The largest policy accepted by default, in bytes: a policy host cannot make a fetch hold
#: more memory than this.
MAX_POLICY_SIZE = 65536

#: How long a fetch may take by default, in seconds, from the address lookup of the policy
#: host to the last byte of the policy.
FETCH_TIMEOUT = 60.0


def _oneLine(text: str) -> str:
    return " ".join(text.split())


def policyURL(domain: str, port: int = 443) -> str:
    """
    The URL of C{domain}'s policy, with the port only when it is not 443.
    """
    shown = "" if port == 443 else f":{port}"
    return f"https://mta-sts.{domain}{shown}{POLICY_PATH}"


class _CertificateCheck:
    """
    The WebPKI check of one connection to a policy host, made at depth 0 of OpenSSL's verify
    callback: before the handshake can complete.
    """

    def __init__(self, creator: _PolicyHostTLS, tlsProtocol: TLSMemoryBIOProtocol) -> None:
        self._creator = creator
        self._protocol: TLSMemoryBIOProtocol | None = tlsProtocol
        self.verdict: bool | None = None

    def _refuse(self, reason: str) -> None:
        self.verdict = False
        protocol, self._protocol = self._protocol, None
        if protocol is not None:
            error = MTASTSError(self._creator.domain, reason, PolicyFailure.WEBPKI_INVALID)
            protocol.failVerification(Failure(error))

    def verifyCallback(
        self, connection: SSL.Connection, certificate: Any, error: int, depth: int, ok: int
    ) -> bool:
        if depth != 0:
            return True
        if self.verdict is None:
            try:
                problem = self._creator.problem(connection, certificate)
            except Exception:
                # An exception escaping an OpenSSL callback is lost: log it, fail closed.
                _log.failure("while checking the certificate of an MTA-STS policy host")
                problem = "internal error while checking the certificate"
            if problem is None:
                self.verdict = True
                self._protocol = None
            else:
                self._refuse(problem)
        return bool(self.verdict)

    def infoCallback(self, connection: SSL.Connection, where: int, ret: int) -> None:
        """
        A safety net: a handshake that completes without a positive verdict is aborted.
        """
        if where & SSL.SSL_CB_HANDSHAKE_DONE and self.verdict is not True:
            self._refuse("the handshake completed without the certificate being checked")


@implementer(IOpenSSLClientConnectionCreator)
class _PolicyHostTLS:
    """
    TLS to a policy host: SNI C{mta-sts.DOMAIN}, the certificate checked by
    L{verifyPath<txdane.dane.pkix.verifyPath>} and
    L{nameMismatch<txdane.dane.pkix.nameMismatch>} against C{trust}.
    """

    def __init__(self, domain: str, trust: PKIXTrust) -> None:
        self.domain = domain
        self.hostName = f"mta-sts.{domain}"
        self.trust = trust
        # OpenSSL's own verification is off: the verify callback decides.
        self._options = CertificateOptions(verify=False, acceptableProtocols=[b"http/1.1"])

    def problem(self, connection: SSL.Connection, certificate: Any) -> str | None:
        """
        Why the chain the server presented is not valid for the policy host, or C{None}.
        """
        chain: list[x509.Certificate] = [
            c.to_cryptography() for c in connection.get_peer_cert_chain() or []
        ]
        if not chain:
            chain = [certificate.to_cryptography()]
        outcome = verifyPath(chain[0], chain[1:], self.trust)
        if not outcome.valid:
            return f"the certificate of {self.hostName} is not trusted: {outcome.error}"
        return nameMismatch(chain[0], [self.hostName])

    def clientConnectionForTLS(self, tlsProtocol: TLSMemoryBIOProtocol) -> SSL.Connection:
        connection = self._options.clientConnectionForTLS(tlsProtocol)
        connection.set_tlsext_host_name(self.hostName.encode("ascii"))
        # The check covers the first handshake: no renegotiation after it.
        connection.set_options(SSL.OP_NO_RENEGOTIATION)
        check = _CertificateCheck(self, tlsProtocol)
        connection.set_verify(
            SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, check.verifyCallback
        )
        connection.set_info_callback(check.infoCallback)
        return connection


@implementer(IStreamClientEndpoint)
class _TLSEndpoint:
    """
    TLS over another endpoint, its writes scheduled on the given reactor.
    """

    def __init__(
        self, reactor: Any, creator: _PolicyHostTLS, wrapped: IStreamClientEndpoint
    ) -> None:
        self._reactor = reactor
        self._creator = creator
        self._wrapped = wrapped

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        factory = TLSMemoryBIOFactory(self._creator, True, protocolFactory, clock=self._reactor)
        connected: Deferred[Any] = self._wrapped.connect(factory)
        # The protocol given, beneath the TLS layer.
        return connected.addCallback(lambda tls: tls.wrappedProtocol)


@implementer(IAgentEndpointFactory)
class _PolicyHostEndpoints:
    """
    The endpoint of a policy host: addresses from the validating resolver (from unsigned
    zones too, never bogus ones), then TLS checked by WebPKI, then at most C{maxSize} plus
    L{HEADER_ALLOWANCE} bytes of response (a L{BoundedEndpoint
    <txdane.endpoints.web.BoundedEndpoint>}).
    """

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        creator: _PolicyHostTLS,
        timeout: float,
        maxSize: int,
    ) -> None:
        self._reactor = reactor
        self._resolver = resolver
        self._creator = creator
        self._timeout = timeout
        self._maxSize = maxSize

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:
        tcp = DNSSECEndpoint(
            self._reactor,
            self._resolver,
            self._creator.hostName,
            uri.port,
            allowInsecure=True,
            timeout=self._timeout,
        )
        limit = self._maxSize + HEADER_ALLOWANCE
        url = policyURL(self._creator.domain, uri.port)
        tooLarge = MTASTSError(
            self._creator.domain,
            f"{url}: the response is larger than {limit} bytes (a policy of at most "
            f"{self._maxSize} bytes and {HEADER_ALLOWANCE} bytes of status and header lines)",
        )
        return BoundedEndpoint(_TLSEndpoint(self._reactor, self._creator, tcp), limit, tooLarge)


class _Abandon(Protocol):
    """
    Takes the body of a response that is refused, only to close its connection.
    """

    def connectionMade(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:  # noqa: B008
        pass


def _cause(failure: Failure) -> BaseException:
    """
    What made a request fail: an L{MTASTSError} raised inside the connection (a refused
    certificate, a body too large) wherever the Agent wrapped it, else the first underlying
    reason.
    """
    error = failure.value
    assert error is not None
    pending = [error]
    first: BaseException | None = None
    while pending:
        current = pending.pop(0)
        if isinstance(current, MTASTSError):
            return current
        reasons = getattr(current, "reasons", None)
        if isinstance(reasons, list) and reasons:
            pending.extend(r.value for r in reasons if isinstance(r, Failure) and r.value)
        elif first is None:
            first = current
    return first if first is not None else error


def describeError(error: BaseException) -> str:
    """
    One line saying what went wrong, for a fetch or a lookup that failed with C{error}.
    """
    if isinstance(error, SSL.Error):
        return "the TLS handshake failed: " + (_oneLine(str(error)) or type(error).__name__)
    text = _oneLine(str(error))
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _unacceptable(response: IResponse, maxSize: int) -> str | None:
    """
    Why a response cannot hold a policy (RFC 8461 section 3.3), or C{None}.
    """
    status = _oneLine(f"{response.code} {response.phrase.decode('latin-1')}")
    if 300 <= response.code < 400:
        return f"the server answered {status}: redirects are not followed"
    if response.code != 200:
        return f"the server answered {status}"
    types = response.headers.getRawHeaders(b"content-type") or []
    media = types[0].split(b";")[0].strip().lower() if len(types) == 1 else b""
    if media != b"text/plain":
        shown = _oneLine(", ".join(t.decode("latin-1") for t in types))[:80] or "none"
        return f"the content type is {shown}, not text/plain"
    if response.length is not UNKNOWN_LENGTH and response.length > maxSize:
        return f"the policy is larger than {maxSize} bytes ({response.length})"
    return None


async def _fetch(
    reactor: Any,
    resolver: IDNSSECResolver,
    domain: str,
    policyId: str,
    trust: PKIXTrust,
    port: int,
    timeout: float,
    maxSize: int,
) -> MTASTSPolicy:
    url = policyURL(domain, port)
    creator = _PolicyHostTLS(domain, trust)
    agent = Agent.usingEndpointFactory(
        reactor, _PolicyHostEndpoints(reactor, resolver, creator, timeout, maxSize)
    )
    headers = Headers({b"User-Agent": [b"txdane"], b"Accept": [b"text/plain"]})
    response: IResponse = await agent.request(b"GET", url.encode("ascii"), headers)
    problem = _unacceptable(response, maxSize)
    if problem is not None:
        response.deliverBody(_Abandon())
        raise MTASTSError(domain, f"{url}: {problem}")
    data = await readBounded(
        response,
        maxSize,
        MTASTSError(domain, f"{url}: the policy is larger than {maxSize} bytes"),
    )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise MTASTSError(
            domain, f"{url}: the policy is not UTF-8 text", PolicyFailure.INVALID
        ) from None
    try:
        return parsePolicy(text, policyId, reactor.seconds())
    except PolicySyntaxError as e:
        raise MTASTSError(domain, f"{url}: {e}", PolicyFailure.INVALID) from None


def fetchPolicy(
    reactor: Any,
    resolver: IDNSSECResolver,
    domain: str,
    policyId: str,
    *,
    trust: PKIXTrust | None = None,
    port: int = 443,
    timeout: float = FETCH_TIMEOUT,
    maxSize: int = MAX_POLICY_SIZE,
) -> Deferred[MTASTSPolicy]:
    """
    Fetch and parse C{domain}'s policy, under the C{id} of its TXT record.

    @param reactor: the reactor (its C{seconds()} dates the policy).
    @param resolver: the validating resolver for the policy host's addresses.
    @param domain: the mail domain.
    @param policyId: the C{id} of the domain's TXT record.
    @param trust: the roots the certificate must chain to (default: the trust store OpenSSL
        finds, which C{SSL_CERT_FILE} and C{SSL_CERT_DIR} can change).
    @param port: the policy host's port.
    @param timeout: seconds for the whole fetch.
    @param maxSize: the largest policy accepted, in bytes; the whole response may be
        L{HEADER_ALLOWANCE} bytes larger (status and header lines), no more.
    @return: a Deferred firing with the L{MTASTSPolicy}, or failing with an
        L{MTASTSError} whose C{failure} says why, as RFC 8460 names it. Cancelling it
        stops the fetch.
    """
    name = hostName(domain)
    if name is None:
        return fail(MTASTSError(domain, "not a domain name"))
    fetching = Deferred.fromCoroutine(
        _fetch(
            reactor,
            resolver,
            name,
            policyId,
            trust if trust is not None else PKIXTrust(),
            port,
            timeout,
            maxSize,
        )
    )
    # Not addTimeout: the Agent reports a cancelled request as ResponseNeverReceived, which
    # addTimeout would not recognise as its own.
    expired = []

    def expire() -> None:
        expired.append(True)
        fetching.cancel()

    deadline = reactor.callLater(timeout, expire)

    def finished(result: object) -> object:
        if deadline.active():
            deadline.cancel()
        return result

    def failed(failure: Failure) -> Failure:
        if expired:
            raise MTASTSError(name, f"no policy within {timeout:g} s") from None
        error = _cause(failure)
        if isinstance(error, CancelledError):
            return Failure(error)
        if isinstance(error, MTASTSError):
            raise error
        raise MTASTSError(name, f"{policyURL(name, port)}: {describeError(error)}") from None

    fetching.addBoth(finished)
    return fetching.addErrback(failed)

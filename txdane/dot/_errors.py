"""
The errors of the DNS-over-TLS client: L{DoTAuthenticationError}, for a server refused, those
that stay inside the client, and how the failure of a TLS handshake is told in words.

Tests: C{tests/transport/test_dot.py}, C{tests/peers/test_dot.py}.
"""

from __future__ import annotations

from OpenSSL import SSL

from txdane.errors import TxdaneError
from txdane.resolvconf import NameServer
from txdane.transport import DNSConnectionError, DNSError


class DoTAuthenticationError(DNSError):
    """
    A DNS-over-TLS server was not authenticated: its certificate did not prove the name it
    was expected to have (by PKIX or by its TLSA records), the TLSA lookup that decides how
    to check it failed, or the TLS handshake failed. Nothing was sent to it but the TLS
    handshake (and, for the TLSA lookup, the queries of that lookup).

    @ivar server: the server refused.
    @ivar serverName: the name it was expected to prove.
    @ivar reason: why it was refused, in words.
    """

    server: NameServer
    serverName: str
    reason: str
    template = "{server} refused as DNS-over-TLS server {serverName}: {reason}"


class _AttemptTimeout(TxdaneError):
    """
    Internal: one attempt got no answer in time.
    """

    template = "no answer in time"


class _Retry(TxdaneError):
    """
    Internal: the connection closed after the query was written, before its answer; the
    query may be asked again on a new connection (RFC 7766 section 6.2.1).

    @ivar error: the error to report if it is not.
    @ivar answered: whether the server answered anything on that connection before it
        closed (a server that answers a query or a few per connection, and then closes, is
        asked again for as long as the attempt lasts; one that answers nothing, once more).
    """

    error: DNSConnectionError
    answered: bool = False
    template = "{error}"


def _describeHandshakeFailure(error: BaseException) -> str:
    if isinstance(error, SSL.Error):
        parts = []
        try:
            parts = [str(part[2]) for part in error.args[0] if len(part) > 2]
        except (IndexError, TypeError):
            pass
        return f"TLS handshake failed ({'; '.join(parts) or error})"
    if type(error).__name__ == "VerificationError":  # service_identity's name check
        return f"the certificate is not valid for the name ({error})"
    if isinstance(error, TxdaneError):
        return getattr(error, "reason", None) or str(error)
    return str(error) or type(error).__name__


def _isTLSRefusal(error: BaseException) -> bool:
    """
    Whether C{error} ended a TLS handshake: OpenSSL's, a name check's (service_identity), or
    the verdict of the creator's own check (a L{TxdaneError}, such as the DANE layer's).
    """
    return isinstance(error, SSL.Error | TxdaneError) or type(error).__name__ == "VerificationError"

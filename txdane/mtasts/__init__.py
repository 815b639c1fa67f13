"""
MTA-STS (RFC 8461): whether a mail domain asks senders to require TLS, with a certificate
valid under WebPKI, towards the MX hosts it lists::

    resolver = PolicyResolver(reactor, validatingResolver, cacheDirectory=directory)
    outcome = await resolver.policyFor("example.com")
    policy = outcome.policy
    if policy is not None and policy.mode is Mode.ENFORCE:
        allowed = [host for host in mxHosts if policy.matches(host)]

L{PolicyResolver.policyFor} looks up the TXT record of C{_mta-sts.DOMAIN} through a
validating resolver (an unsigned answer is fine, a bogus or failed one is not used), fetches
C{https://mta-sts.DOMAIN/.well-known/mta-sts.txt} when the record's C{id} is not that of
the policy cached (L{txdane.mtasts.fetch}: the certificate checked by WebPKI for
C{mta-sts.DOMAIN}, no redirects, C{text/plain} only, size and time bounded), parses it
(L{txdane.mtasts.policy}), and keeps it for its C{max_age}, in memory and, given a
directory, on disk (L{txdane.mtasts.cache}). A cached policy stands in for one that cannot
be discovered or fetched; while one is valid, lookups return it at once and a new policy
(another C{id}, or a daily refresh) is fetched in the background
(L{txdane.mtasts.resolver}). Nothing raises for a domain without a usable policy: the
L{PolicyOutcome} says so, with the RFC 8460 result type of a failed fetch for TLS reports.

Tests: C{tests/mtasts/}.
"""

from __future__ import annotations

from txdane.mtasts.cache import MAX_CACHED_POLICIES, PolicyCache
from txdane.mtasts.errors import MTASTSError, PolicyFailure, PolicySyntaxError
from txdane.mtasts.fetch import (
    FETCH_TIMEOUT,
    HEADER_ALLOWANCE,
    MAX_POLICY_SIZE,
    POLICY_PATH,
    fetchPolicy,
    policyURL,
)
from txdane.mtasts.policy import (
    MAX_AGE_LIMIT,
    Mode,
    MTASTSPolicy,
    STSRecord,
    parsePolicy,
    parseRecord,
)
from txdane.mtasts.resolver import REFRESH_INTERVAL, REFRESH_RETRY, PolicyOutcome, PolicyResolver

__all__ = [
    "FETCH_TIMEOUT",
    "HEADER_ALLOWANCE",
    "MAX_AGE_LIMIT",
    "MAX_CACHED_POLICIES",
    "MAX_POLICY_SIZE",
    "POLICY_PATH",
    "REFRESH_INTERVAL",
    "REFRESH_RETRY",
    "MTASTSError",
    "MTASTSPolicy",
    "Mode",
    "PolicyCache",
    "PolicyFailure",
    "PolicyOutcome",
    "PolicyResolver",
    "PolicySyntaxError",
    "STSRecord",
    "fetchPolicy",
    "parsePolicy",
    "parseRecord",
    "policyURL",
]

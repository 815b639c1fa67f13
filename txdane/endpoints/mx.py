"""
MX endpoints (C{dane:mx=example.com}): mail to a domain by RFC 5321 section 5 and RFC 7672.

L{planMX} does the validated MX lookup and returns the hosts to try:

  - a bogus, indeterminate or failed MX lookup is a temporary error (L{MXLookupError}), and
    nothing is dialled (never "no MX");
  - a null MX (C{MX 0 .}, RFC 7505) is a permanent error (L{NullMXError});
  - no MX records (secure or insecure NODATA): the domain itself, after secure CNAME
    expansion, is the implicit MX; a domain that does not exist is a permanent error;
  - otherwise the hosts by preference, in random order among equal preferences. From an
    insecure MX RRset they are still used, with DANE where a host's own records are secure,
    but their connections are "trusted" rather than "verified" (the names could be forged).
  - an exchange whose name is an IP address (C{MX 10 127.0.0.1.}) is no host name (RFC 5321
    section 5.1: a domain name, resolved to addresses): it keeps its place in the list,
    marked L{unusable<txdane.endpoints.planner.Candidate.unusable>}, and is never dialled;
    the walk lists it as that host's failure and goes on to the next host.

Each host gets the SMTP policy of RFC 7672 (DANE-TA and DANE-EE only; no DANE means
opportunistic TLS; DANE-TA names are the TLSA base domain and the next-hop domain, original
and CNAME-expanded) and STARTTLS for SMTP, negotiated by the endpoint.

Tests: C{tests/endpoints/test_mx.py}, C{tests/mail/test_delivery.py},
C{tests/mail/test_postfix.py}.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import dns.name
import dns.rcode
from twisted.internet.defer import CancelledError

from txdane.dane.decision import Policy
from txdane.endpoints._arguments import checkedCallable, checkedHost, checkedPort, checkedResolver
from txdane.endpoints.errors import MXLookupError, NoSuchDomainError, NullMXError
from txdane.endpoints.planner import (
    Candidate,
    HostSettings,
    PlannedEndpoint,
    numericName,
    refuseHostFields,
)
from txdane.errors import LookupFailedError
from txdane.names import nameFromText
from txdane.status import Status
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["Shuffle", "mxEndpoint", "planMX"]

#: Shuffles a list in place (C{random.shuffle}'s signature).
Shuffle = Callable[[list[Any]], None]


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True)


def _unusable(name: dns.name.Name, what: str) -> str | None:
    """
    Why the host C{name} is not dialled (a numeric name, L{numericName}), or C{None}.
    """
    if not numericName(_text(name)):
        return None
    return f"{what} {name.to_text()}: a numeric name, not a host name (RFC 5321 section 5.1)"


async def planMX(
    resolver: IDNSSECResolver,
    domain: str,
    port: int = 25,
    *,
    shuffle: Shuffle | None = None,
) -> list[Candidate]:
    """
    The MX hosts of C{domain}, in the order to try them; a host whose name is an IP address
    among them, marked L{unusable<txdane.endpoints.planner.Candidate.unusable>}.

    @param shuffle: orders hosts of equal preference (default: C{random.shuffle} with a
        system random source); tests pass a deterministic one.
    @raise MXLookupError: the lookup was bogus, indeterminate or failed.
    @raise NullMXError: the domain accepts no mail.
    @raise NoSuchDomainError: the domain does not exist.
    """
    shuffle = shuffle or random.SystemRandom().shuffle
    try:
        answer = await resolver.lookupMX(domain)
    except CancelledError:
        raise
    except LookupFailedError as e:
        raise MXLookupError(domain, f"lookup failed: {e}", None, e.ede) from e
    problem = answer.problem()
    if problem is not None:
        raise MXLookupError(domain, f"the answer is {problem}", answer.status, answer.ede)
    secure = answer.status is Status.SECURE
    original = nameFromText(domain)
    expanded = answer.canonicalName
    # The next-hop domain, original and CNAME-expanded (when the expansion is secure), is a
    # DANE-TA reference identifier (RFC 7672 section 3.2.2).
    names = [_text(original)]
    if secure and expanded != original:
        names.append(_text(expanded))
    if not answer.exists:
        if answer.rcode == dns.rcode.NXDOMAIN:
            raise NoSuchDomainError(domain, "the domain does not exist")
        # The implicit MX (RFC 5321 section 5.1): the domain itself. Its address lookup
        # follows CNAMEs, and its TLSA records are those of the securely expanded name, else
        # of the domain (as for any host, RFC 7672 section 2.2.3).
        return [
            Candidate(
                domain,
                port,
                tuple(names),
                Policy.SMTP,
                secure,
                domain,
                starttls="smtp",
                unusable=_unusable(original, "implicit MX host"),
            )
        ]
    records = list(answer.records)
    hosts = [(r.preference, r.exchange) for r in records]
    if any(exchange == dns.name.root for _, exchange in hosts):
        if len(hosts) == 1:
            raise NullMXError(domain, "null MX (RFC 7505): the domain accepts no mail")
        hosts = [(p, e) for p, e in hosts if e != dns.name.root]
    byPreference: dict[int, list[dns.name.Name]] = {}
    for preference, exchange in hosts:
        byPreference.setdefault(preference, []).append(exchange)
    candidates = []
    for preference in sorted(byPreference):
        group = byPreference[preference]
        shuffle(group)
        for exchange in group:
            candidates.append(
                Candidate(
                    _text(exchange),
                    port,
                    tuple(names),
                    Policy.SMTP,
                    secure,
                    domain,
                    starttls="smtp",
                    unusable=_unusable(exchange, "MX host"),
                )
            )
    return candidates


def mxEndpoint(
    reactor: Any,
    resolver: IDNSSECResolver,
    domain: str,
    port: int = 25,
    *,
    settings: HostSettings = HostSettings(),  # noqa: B008
    shuffle: Shuffle | None = None,
) -> PlannedEndpoint:
    """
    The endpoint C{dane:mx=DOMAIN} describes: the MX hosts of C{domain} by L{planMX}, each
    with STARTTLS for SMTP, negotiated by the endpoint, under the RFC 7672 policy.

    C{connect()} fires with the first host whose upgraded connection passed verification
    (or, for a host without usable TLSA records that offers no STARTTLS, the cleartext
    connection RFC 7672's opportunistic TLS allows). The application receives a C{220}
    greeting made by the endpoint and starts with C{EHLO}; its transport provides
    L{IDANEConnection<txdane.endpoints.connection.IDANEConnection>}: the host, the address,
    the next-hop domain and the protection. It fails with an L{MXError
    <txdane.endpoints.errors.MXError>} (nothing dialled) or an L{AllHostsFailedError
    <txdane.endpoints.errors.AllHostsFailedError>}.

    Every argument is checked here, as the C{dane:mx=} string checks its options, so that a
    wrong one fails at once, naming it, rather than as a failed lookup or connection.

    @raise TypeError: for a value of the wrong type (a port given as a string, a domain
        that is not a C{str}, a resolver's settings instead of the resolver, a C{shuffle}
        that is not callable).
    @raise ValueError: for a value that cannot be used: a port out of range, a domain that
        is an IP address or no domain name (L{hostProblem
        <txdane.endpoints._arguments.hostProblem>}); C{settings.options} that set a policy,
        a STARTTLS protocol or a TLSA host, which each MX host has its own of (RFC 7672's
        policy, SMTP, the host's name).
    """
    checkedResolver(resolver)
    checkedHost(domain, "domain", address=False)
    checkedPort(port)
    if shuffle is not None:
        checkedCallable(shuffle, "shuffle")
    refuseHostFields(settings, "policy", "starttls", "tlsaHost")
    return PlannedEndpoint(
        reactor,
        resolver,
        lambda: planMX(resolver, domain, port, shuffle=shuffle),
        f"MX of {domain}",
        settings=settings,
    )

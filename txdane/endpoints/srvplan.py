"""
The rules of SRV services with DANE, as pure functions: which names to look up, in what order
to try the targets (RFC 2782, XEP-0368), and how to authenticate each one (RFC 7673).

Nothing here does I/O: the lookups' outcomes come in as validated answers (or the exceptions
of lookups that did not complete), and the random source is a parameter, so every rule is
tested in memory. L{SRVEndpoint<txdane.endpoints.srv.SRVEndpoint>} does the lookups and the
connections, through these functions.

The rules:

  - A bogus, failed or indeterminate SRV lookup refuses: nothing is dialled (RFC 7673
    section 3.1). A single SRV record whose target is C{.} means the service is not offered
    (RFC 2782): a permanent error, no fallback. For XMPP, a C{.} in one of the two merged sets
    and no records in the other is the same: a domain that answers with SRV records uses them
    (XEP-0368 section 5 forbids the fallback below; RFC 6120 section 3.2.1 advises against it).
  - No SRV records (NODATA or NXDOMAIN): the service domain itself, on the service's default
    port (RFC 6120 section 3.2: 5222 for xmpp-client), where one is defined.
  - A target whose name is an IP address (C{SRV 0 0 993 127.0.0.1.}) is no host name (RFC
    2782: a domain name with address records): it keeps its place in the order, marked
    L{unusable<ServiceTarget.unusable>}, and is never dialled (the walk lists it as that
    target's failure and goes on to the next).
  - Targets are tried by priority, then in a weighted random order within a priority (RFC
    2782). For C{xmpp-client} and C{xmpp-server}, the records of C{_xmpps-client._tcp}
    (direct TLS) and C{_xmpp-client._tcp} (STARTTLS) are merged into one list (XEP-0368).
    The plan lists the first L{MAX_SRV_TARGETS} of that order.
  - Insecure SRV records: DANE does not apply to their targets (the names could be forged);
    each target is authenticated by PKIX against the service domain, which is also the SNI.
  - Secure SRV records: TLSA records at C{_PORT._tcp.TARGET} are looked up when the target's
    address records are secure; the reference identifiers are the target and the service
    domain. Without usable TLSA records the target is authenticated by PKIX against the
    service domain.

Tests: C{tests/endpoints/test_srvplan.py}.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import dns.name
import dns.rdtypes.IN.SRV

from txdane.dane.decision import Action, ConnectionPlan
from txdane.endpoints.errors import NoSuchServiceError, ServiceNotOfferedError, SRVLookupError
from txdane.endpoints.planner import numericName
from txdane.names import nameFromText
from txdane.status import Status
from txdane.validation.answer import Answer

__all__ = [
    "MAX_SRV_TARGETS",
    "SERVICES",
    "RandomSource",
    "Service",
    "ServicePlan",
    "ServiceTarget",
    "forService",
    "lookupNames",
    "orderRecords",
    "planService",
    "referenceNames",
    "serviceByName",
    "withoutTLSA",
]


@dataclass(frozen=True)
class Service:
    """
    An SRV service and how a client speaks TLS to it.

    @ivar name: the service label without its underscore (C{xmpp-client}).
    @ivar defaultPort: the port of the implicit target when the domain has no SRV records;
        C{None} when the service defines no fallback.
    @ivar starttls: the protocol whose STARTTLS upgrades the connection (C{xmpp-client},
        C{imap}, C{pop3}, C{smtp}: a name of L{PROTOCOLS
        <txdane.endpoints.starttls.PROTOCOLS>}), or C{None} for TLS from the first byte.
    @ivar alpn: the ALPN protocols offered on a direct TLS connection.
    @ivar sniServiceDomain: send the service domain as SNI even where DANE authenticates
        the target (XEP-0368; XMPP servers choose the certificate by the hosted domain).
    @ivar merged: further services whose SRV records are merged into this one's (XEP-0368:
        C{xmpp-client} also uses C{_xmpps-client._tcp}).
    """

    name: str
    defaultPort: int | None
    starttls: str | None
    alpn: tuple[bytes, ...] = ()
    sniServiceDomain: bool = False
    merged: tuple[str, ...] = ()

    def srvName(self, domain: dns.name.Name) -> dns.name.Name:
        """
        The owner name of this service's SRV records in C{domain}: C{_name._tcp.domain}.
        """
        return dns.name.Name([f"_{self.name}".encode(), b"_tcp"]).concatenate(domain)


#: The services C{srv=} knows, by name.
SERVICES: dict[str, Service] = {
    s.name: s
    for s in (
        Service(
            "xmpp-client", 5222, "xmpp-client", sniServiceDomain=True, merged=("xmpps-client",)
        ),
        Service("xmpps-client", None, None, (b"xmpp-client",), sniServiceDomain=True),
        Service(
            "xmpp-server", 5269, "xmpp-server", sniServiceDomain=True, merged=("xmpps-server",)
        ),
        Service("xmpps-server", None, None, (b"xmpp-server",), sniServiceDomain=True),
        Service("imap", 143, "imap"),
        Service("imaps", 993, None, (b"imap",)),
        Service("pop3", 110, "pop3"),
        Service("pop3s", 995, None, (b"pop3",)),
        Service("submission", 587, "smtp"),
        Service("submissions", 465, None),
    )
}


def serviceByName(name: str) -> Service:
    """
    The service called C{name} (case-insensitive, with or without its underscore).

    @raise NoSuchServiceError: for a service L{SERVICES} does not list.
    """
    try:
        return SERVICES[name.lower().lstrip("_")]
    except KeyError:
        raise NoSuchServiceError(name, sorted(SERVICES)) from None


@dataclass(frozen=True)
class ServiceTarget:
    """
    One server to try for a service.

    @ivar host: the target host name, as text without the final dot.
    @ivar port: the TCP port.
    @ivar service: the service whose SRV record named it (for XMPP, the direct TLS
        service C{xmpps-client} or the STARTTLS one C{xmpp-client}).
    @ivar secure: whether the SRV records naming it were secure (always true of the
        implicit target, the service domain itself, which nothing could have forged).
    @ivar priority: the SRV priority (0 for the implicit target).
    @ivar weight: the SRV weight (0 for the implicit target).
    @ivar implicit: whether this is the service domain on the default port, because the
        domain has no SRV records.
    @ivar unusable: why the target is not dialled at all (its name is an IP address:
        L{numericName<txdane.endpoints.planner.numericName>}), or C{None}.
    """

    host: str
    port: int
    service: Service
    secure: bool
    priority: int = 0
    weight: int = 0
    implicit: bool = False
    unusable: str | None = None

    def __str__(self) -> str:
        how = f"STARTTLS {self.service.starttls}" if self.service.starttls else "direct TLS"
        return f"{self.host}:{self.port} ({how})"


@dataclass(frozen=True)
class ServicePlan:
    """
    The ordered targets of a service.

    @ivar domain: the service domain, as text without the final dot.
    @ivar service: the service asked for.
    @ivar targets: the targets, in the order to try them.
    """

    domain: str
    service: Service
    targets: tuple[ServiceTarget, ...]


#: The most targets a service's plan lists, in its order; those after them are never tried
#: nor named. As many as the most hosts any C{maxHosts} may ask to try (1,000): a zone can
#: name thousands in one answer (a 64 KiB DNS message holds some 3,500 SRV records), and
#: ordering them all would only name more hosts that are never dialled.
MAX_SRV_TARGETS = 1000


class RandomSource(Protocol):
    """
    What L{orderRecords} needs of a random number generator (a C{random.Random} will do).
    """

    def randint(self, a: int, b: int) -> int:
        """
        A random integer N with C{a <= N <= b}.
        """


def orderRecords(
    targets: Sequence[ServiceTarget], random: RandomSource, limit: int | None = None
) -> list[ServiceTarget]:
    """
    Order SRV targets as RFC 2782 says: lowest priority first; within a priority, repeatedly
    pick a target at random with a probability proportional to its weight (targets of weight
    0 are placed first, so they have a small chance when others weigh more).

    Where targets of one priority are otherwise equal, direct TLS ones are listed before
    STARTTLS ones (XEP-0368 prefers direct TLS), which matters only for the weight-0 start
    of the list and for a random source that returns 0.

    The records are the zone's to choose, thousands of them in one answer: ordering C{n}
    targets costs O(n log n), and only the first C{limit} are drawn.

    @param random: the random source; tests give a fake one.
    @param limit: how many targets to order at most, the first of the whole order (default:
        all of them); the others are left out.
    """
    wanted = len(targets) if limit is None else min(limit, len(targets))
    ordered: list[ServiceTarget] = []
    # Weight 0 first, then direct TLS before STARTTLS, then by name and port: the order
    # RFC 2782 leaves free is fixed, so that the random source alone decides.
    tied = sorted(
        targets,
        key=lambda t: (t.priority, t.weight != 0, t.service.starttls is not None, t.host, t.port),
    )
    for _, group in itertools.groupby(tied, key=lambda t: t.priority):
        if len(ordered) >= wanted:
            break
        ordered += _weightedOrder(list(group), random, wanted - len(ordered))
    return ordered


def _weightedOrder(
    group: list[ServiceTarget], random: RandomSource, count: int
) -> list[ServiceTarget]:
    """
    The first C{count} targets of RFC 2782's weighted order of C{group}, targets of one
    priority in the order that breaks ties. Each draw is a number from 0 to the weight of
    the targets left, and picks the first of them whose running sum of weights reaches it
    (the first of them for 0; the last if the source returned more than asked).

    The running sums are kept in a Fenwick tree, so that a draw and the removal of its
    target cost O(log n) rather than a pass over the targets left.
    """
    size = len(group)
    # tree[i] holds the weights of the targets left among group[i - (i & -i):i].
    tree = [0] * (size + 1)
    for i, target in enumerate(group, 1):
        tree[i] += target.weight
        parent = i + (i & -i)
        if parent <= size:
            tree[parent] += tree[i]
    total = sum(t.weight for t in group)
    top = 1 << (size.bit_length() - 1) if size else 0
    taken = [False] * size
    first, last = 0, size - 1
    ordered: list[ServiceTarget] = []
    for _ in range(min(count, size)):
        pick = random.randint(0, total)
        while taken[first]:
            first += 1
        while taken[last]:
            last -= 1
        if pick == 0:
            chosen = first
        else:
            # Past the longest prefix whose weights are less than the draw.
            position, rest, step = 0, pick, top
            while step:
                if position + step <= size and tree[position + step] < rest:
                    position += step
                    rest -= tree[position]
                step >>= 1
            chosen = position if position < size else last
        weight = group[chosen].weight
        i = chosen + 1
        while i <= size:
            tree[i] -= weight
            i += i & -i
        total -= weight
        taken[chosen] = True
        ordered.append(group[chosen])
    return ordered


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True)


def _unusable(name: dns.name.Name, what: str) -> str | None:
    """
    Why the target C{name} is not dialled (a numeric name, L{numericName}), or C{None}.
    """
    if not numericName(_text(name)):
        return None
    return f"{what} {name.to_text()}: a numeric name, not a host name (RFC 2782)"


def _checked(name: dns.name.Name, outcome: Answer | BaseException) -> Answer:
    if isinstance(outcome, BaseException):
        raise SRVLookupError(
            name,
            f"the lookup failed: {str(outcome) or type(outcome).__name__}",
            None,
            getattr(outcome, "ede", None),
        ) from outcome
    problem = outcome.problem()
    if problem is not None:
        raise SRVLookupError(name, f"the lookup is {problem}", outcome.status, outcome.ede)
    return outcome


def lookupNames(service: Service, domain: dns.name.Name) -> dict[dns.name.Name, Service]:
    """
    The SRV owner names to look up for C{service} in C{domain}, with the service each one
    names: the service's own, then those merged into it (XEP-0368).
    """
    names = {service.srvName(domain): service}
    for other in service.merged:
        names[SERVICES[other].srvName(domain)] = SERVICES[other]
    return names


def planService(
    service: Service,
    domain: dns.name.Name | str,
    outcomes: Mapping[dns.name.Name, Answer | BaseException],
    random: RandomSource,
) -> ServicePlan:
    """
    Decide which targets to try for C{service} at C{domain}, in order.

    @param outcomes: for each name of L{lookupNames}, the validated SRV answer, or the
        exception of a lookup that did not complete.
    @param random: the random source for the weighted order.
    @raise SRVLookupError: one of the lookups was bogus, indeterminate or failed.
    @raise ServiceNotOfferedError: the domain's SRV records say C{.} and no merged service
        offers a target, or there are no SRV records and the service has no default port.
    """
    domain = nameFromText(domain) if isinstance(domain, str) else domain
    targets: list[ServiceTarget] = []
    refused = False
    for name, named in lookupNames(service, domain).items():
        answer = _checked(name, outcomes[name])
        records = [r for r in answer.records if isinstance(r, dns.rdtypes.IN.SRV.SRV)]
        if len(records) == 1 and records[0].target == dns.name.root:
            refused = True
            continue
        for record in records:
            if record.target == dns.name.root:
                continue  # "." among real targets means nothing; skip it
            targets.append(
                ServiceTarget(
                    _text(record.target),
                    record.port,
                    named,
                    answer.status is Status.SECURE,
                    record.priority,
                    record.weight,
                    unusable=_unusable(record.target, "SRV target"),
                )
            )
    if targets:
        ordered = orderRecords(targets, random, MAX_SRV_TARGETS)
        return ServicePlan(_text(domain), service, tuple(ordered))
    if refused:
        raise ServiceNotOfferedError(_text(domain), service.name, "its SRV target is '.'")
    if service.defaultPort is None:
        raise ServiceNotOfferedError(
            _text(domain), service.name, "no SRV records, and the service has no default port"
        )
    implicit = ServiceTarget(
        _text(domain),
        service.defaultPort,
        service,
        True,
        implicit=True,
        unusable=_unusable(domain, "service domain"),
    )
    return ServicePlan(_text(domain), service, (implicit,))


def withoutTLSA(target: ServiceTarget) -> str | None:
    """
    Why the TLSA records of C{target} must not be consulted at all: the SRV records naming
    it are insecure, so DANE does not apply to it (RFC 7673 section 3.1). C{None} when they
    are secure: the TLSA records are then consulted as for any host, when the target's own
    addresses are secure (RFC 7673 section 3.2), as L{DANEEndpoint.plan
    <txdane.endpoints.dane.DANEEndpoint.plan>} decides for every host.
    """
    return None if target.secure else "the SRV records are insecure"


def forService(target: ServiceTarget, domain: str, plan: ConnectionPlan) -> ConnectionPlan:
    """
    The plan for a target of a service, from the plan for its host (RFC 7673 section 4):
    under DANE as it is, with the service domain as SNI for services that want it (XMPP,
    XEP-0368); otherwise the server is checked, and named in SNI, by the service domain.
    C{plan.host} stays the target, for error messages.
    """
    domain = domain.rstrip(".")
    if plan.action is Action.DANE:
        if target.service.sniServiceDomain:
            return dataclasses.replace(plan, serverName=domain)
        return plan
    reason = f"{plan.reason}: PKIX for {domain}" if plan.action is Action.PKIX else plan.reason
    return dataclasses.replace(plan, serverName=domain, reason=reason)


def referenceNames(target: ServiceTarget, domain: str) -> tuple[str, ...]:
    """
    The reference identifiers of C{target} beyond its own name: the service domain (RFC
    7673 section 4).
    """
    domain = domain.rstrip(".")
    return () if target.host.lower() == domain.lower() else (domain,)

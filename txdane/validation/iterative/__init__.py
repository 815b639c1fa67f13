"""
Resolving from the root hints: L{IterativeQuerier} asks the authoritative servers themselves,
for a validator whose recursive resolvers cannot serve it (RFC 8027 roadblocks) or that is
told not to use any.

It implements L{DNSQuerier<txdane.transport.DNSQuerier>}, so a
L{ValidatingResolver<txdane.validation.resolver.ValidatingResolver>} validates on top of it
exactly as on top of a recursive resolver: every answer it returns is the authoritative
server's own response (with DO set, its RRSIGs and NSEC or NSEC3 records come along), and the
validator proves or disproves it from the trust anchors down. Nothing here is trusted for
more than where to ask next: a lying referral can only lead to data that fails validation.

One query, C{name} and C{type}:

  1. Start at the deepest delegation known for the name (for a DS query, for the name's
     parent: DS records live on the parent side of a zone cut), else at the root hints.
  2. Ask that zone's servers, with RD clear, one at a time; a server that does not answer
     (timeout, closed port), answers REFUSED, SERVFAIL or another error, answers without AA
     what is not a referral, or refers upwards or sideways, is skipped.
  3. An authoritative answer (AA set, NOERROR or NXDOMAIN) is the result. A referral to a
     zone closer to the name is remembered (its NS names, and the glue addresses that lie
     inside the bailiwick of the zone that referred: glue for names elsewhere is ignored)
     and asking goes on there. The addresses of name servers without usable glue are looked
     up from the root, as separate lookups (at most C{maxGluelessNS} per delegation per
     question; one that finds nothing is remembered for L{FAILED_NS_TTL} seconds). Every
     IPv4 glue address is tried before any IPv6 one; unspecified, loopback, multicast and
     link-local addresses are not asked, unless the root hints are such addresses.

Every cost a hostile zone controls is bounded by L{IterativeLimits}: referrals followed,
servers tried per question, queries per lookup, nesting of name server address lookups,
name servers considered and looked up per delegation, and the bytes and entries of the
delegation cache. A failure is an L{IterativeResolutionError}, never an empty answer; a
bound that stops the lookup of one name server's address (other than the question's query
budget) only rules that name server out.

The querier is in modules of its own, whose public names are all imported from here: the root
hints (C{_hints}: L{IANA_ROOT_HINTS}, L{readRootHints}), the bounds and the errors
(C{_limits}: L{IterativeLimits} and its constants), what a referral teaches and which of its
servers are asked (C{_referrals}), and the querier itself (C{_querier}: L{IterativeQuerier},
L{Resolution}).

Tests: C{tests/validation/test_iterative.py}.
"""

from txdane.validation.iterative._hints import IANA_ROOT_HINTS, RootHintsError, readRootHints
from txdane.validation.iterative._limits import (
    DELEGATION_CACHE_BYTES,
    DELEGATION_CACHE_SIZE,
    FAILED_NS_TTL,
    MAX_DELEGATION_TTL,
    MAX_GLUELESS_NS,
    MAX_ITERATIVE_QUERIES,
    MAX_ITERATIVE_RESPONSE_BYTES,
    MAX_NS_LOOKUP_DEPTH,
    MAX_NS_NAMES,
    MAX_REFERRALS,
    MAX_SERVERS_PER_QUERY,
    QUESTION_TIMEOUT,
    SERVER_TIMEOUT,
    IterationLimitError,
    IterativeLimits,
    IterativeResolutionError,
)
from txdane.validation.iterative._querier import IterativeQuerier, Resolution

__all__ = [
    "DELEGATION_CACHE_BYTES",
    "DELEGATION_CACHE_SIZE",
    "FAILED_NS_TTL",
    "IANA_ROOT_HINTS",
    "MAX_DELEGATION_TTL",
    "MAX_GLUELESS_NS",
    "MAX_ITERATIVE_QUERIES",
    "MAX_ITERATIVE_RESPONSE_BYTES",
    "MAX_NS_LOOKUP_DEPTH",
    "MAX_NS_NAMES",
    "MAX_REFERRALS",
    "MAX_SERVERS_PER_QUERY",
    "QUESTION_TIMEOUT",
    "SERVER_TIMEOUT",
    "IterationLimitError",
    "IterativeLimits",
    "IterativeQuerier",
    "IterativeResolutionError",
    "Resolution",
    "RootHintsError",
    "readRootHints",
]

"""
The bounds of resolving from the root (L{IterativeLimits}, each field defaulting to the constant
of the same meaning), and the errors a question ends with when it finds no answer.
"""

from __future__ import annotations

import dataclasses

import dns.name
import dns.rdatatype

from txdane.transport import DNSError

#: Referrals followed for one question before it fails (Unbound's C{max-referrals}-like bound;
#: a name has at most 127 labels, real chains need fewer than ten).
MAX_REFERRALS = 16
#: Server addresses tried for one question at one zone before the zone is given up.
MAX_SERVERS_PER_QUERY = 8
#: Queries sent for one call of L{IterativeQuerier.query}, name server address lookups
#: included.
MAX_ITERATIVE_QUERIES = 64
#: Octets of responses, as they came on the wire, one call of L{IterativeQuerier.query} may
#: receive, name server address lookups included: four responses of the largest size DNS
#: allows. Reading a response of names of many labels costs up to some three to five
#: microseconds per octet, and a zone's servers choose what they send (truncated over UDP, a
#: full 64 KiB over TCP): within L{MAX_ITERATIVE_QUERIES} alone, one question could hold the
#: reactor for seconds. An honest question receives a few kilobytes. Asked for a validated
#: lookup (L{LOOKUP_BUDGET}), a question also stops once the lookup's questions together have
#: received more than the lookup's C{maxResponseBytesPerLookup}.
MAX_ITERATIVE_RESPONSE_BYTES = 4 * 65535
#: Nesting of name server address lookups: a name server whose address needs a lookup whose
#: zone's name server needs a lookup... (Unbound's C{target-fetch-policy} depth is similar).
MAX_NS_LOOKUP_DEPTH = 3
#: Name server names of one delegation considered; the rest are ignored (fan-out).
MAX_NS_NAMES = 10
#: Name servers without glue whose addresses one question looks up per delegation; the rest
#: are not tried (NXNSAttack: each lookup is queries to a zone the delegation chose). BIND's
#: and Unbound's bounds are about as small.
MAX_GLUELESS_NS = 5
#: Seconds a name server address lookup that found nothing is remembered: questions within
#: them do not repeat it.
FAILED_NS_TTL = 60.0
#: Entries and estimated bytes of the delegation and address caches together.
DELEGATION_CACHE_SIZE = 2000
DELEGATION_CACHE_BYTES = 4 * 1024 * 1024
#: Seconds to wait for one authoritative server's answer.
SERVER_TIMEOUT = 2.0
#: Seconds one call of L{IterativeQuerier.query} may take, name server address lookups
#: included: below the validator's C{lookupTimeout} (10 s), so that a question that finds no
#: answer in time fails with its own reason (which zone, which servers) rather than the
#: lookup's "no answer within".
QUESTION_TIMEOUT = 8.0
#: The longest a delegation is remembered, whatever its TTL.
MAX_DELEGATION_TTL = 86400


@dataclasses.dataclass(frozen=True)
class IterativeLimits:
    """
    The bounds of an L{IterativeQuerier}; every field defaults to the module constant of the
    same meaning.

    @ivar maxReferrals: see L{MAX_REFERRALS}.
    @ivar maxServersPerQuery: see L{MAX_SERVERS_PER_QUERY}.
    @ivar maxQueriesPerLookup: see L{MAX_ITERATIVE_QUERIES}.
    @ivar maxResponseBytesPerLookup: see L{MAX_ITERATIVE_RESPONSE_BYTES}.
    @ivar maxNSLookupDepth: see L{MAX_NS_LOOKUP_DEPTH}.
    @ivar maxNSNames: see L{MAX_NS_NAMES}.
    @ivar maxGluelessNS: see L{MAX_GLUELESS_NS}.
    @ivar cacheSize: see L{DELEGATION_CACHE_SIZE}.
    @ivar cacheBytes: see L{DELEGATION_CACHE_BYTES}.
    @ivar serverTimeout: see L{SERVER_TIMEOUT}.
    @ivar questionTimeout: see L{QUESTION_TIMEOUT}.
    """

    maxReferrals: int = MAX_REFERRALS
    maxServersPerQuery: int = MAX_SERVERS_PER_QUERY
    maxQueriesPerLookup: int = MAX_ITERATIVE_QUERIES
    maxResponseBytesPerLookup: int = MAX_ITERATIVE_RESPONSE_BYTES
    maxNSLookupDepth: int = MAX_NS_LOOKUP_DEPTH
    maxNSNames: int = MAX_NS_NAMES
    maxGluelessNS: int = MAX_GLUELESS_NS
    cacheSize: int = DELEGATION_CACHE_SIZE
    cacheBytes: int = DELEGATION_CACHE_BYTES
    serverTimeout: float = SERVER_TIMEOUT
    questionTimeout: float = QUESTION_TIMEOUT


class IterativeResolutionError(DNSError):
    """
    Resolving a question from the root hints failed: no server of a zone gave a usable
    answer, or the referrals led nowhere.

    @ivar name: the name asked for.
    @ivar rdtype: the type asked for.
    @ivar reason: what went wrong, one line (which zone, which servers, what they did).
    """

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.name} {dns.rdatatype.to_text(self.rdtype)}: resolving from the root "
            f"failed: {self.reason}"
        )


class IterationLimitError(IterativeResolutionError):
    """
    Resolving from the root hints needed more work than an L{IterativeLimits} bound allows, or
    more octets of responses than the C{maxResponseBytesPerLookup} of the validated lookup it
    was asked for (L{ValidationLimits<txdane.validation.limits.ValidationLimits>}).

    @ivar limit: the field of L{IterativeLimits} (or, for the lookup's bound, of
        L{ValidationLimits<txdane.validation.limits.ValidationLimits>}) that stopped it.
    """

    limit: str = ""

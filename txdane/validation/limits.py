"""
Work limits that bound what a hostile zone or a hostile network can make one lookup cost.

Each is a named default chosen in line with what Unbound, BIND, Knot Resolver and PowerDNS
ship since KeyTrap (CVE-2023-50387) and the NSEC3 hashing attack (CVE-2023-50868).
L{ValidationLimits} holds one resolver's limits; L{Budget} counts one lookup's work against them.
"""

from __future__ import annotations

import dataclasses
import math
from contextvars import ContextVar

import dns.message
import dns.rdata

from txdane.errors import BudgetExceededError

#: Signature verifications tried for one RRset before it is bogus (EDE 6). Unbound uses 8.
MAX_SIGNATURE_CHECKS_PER_RRSET = 8
#: Signature verifications for one lookup, every RRset and every zone of the chain included.
MAX_SIGNATURE_CHECKS_PER_LOOKUP = 32
#: DNSKEYs sharing one (algorithm, key tag) that are tried for one signature.
MAX_KEYS_PER_KEY_TAG = 2
#: DS records that may fail to match a DNSKEY before the zone is bogus. Unbound uses 4.
MAX_DS_MISMATCHES = 4
#: Bits of an RSA key's public exponent above which the key is never tried: checking a
#: signature costs in proportion to them (a 3000-bit exponent costs as much as fifty Ed25519
#: checks). BIND uses 35; real keys use 3, 65537 or 2^32+1.
MAX_RSA_EXPONENT_BITS = 35
#: Bits of an RSA key's modulus above which no signature verifies with it: RFC 3110 (section
#: 2) and RFC 5702 (section 2) limit RSA zone keys to 4096 bits, and a check with a
#: 16384-bit modulus (and a 35-bit exponent) costs fourteen times one with 4096 bits.
MAX_RSA_MODULUS_BITS = 4096
#: NSEC3 iterations above which a proof is treated as insecure with EDE 27 (RFC 9276).
MAX_NSEC3_ITERATIONS = 50
#: NSEC3 records a single denial proof may carry before it is bogus (EDE 27).
MAX_NSEC3_RECORDS_PER_PROOF = 8
#: NSEC3 hashes computed for one lookup, every proof of the chain included (CVE-2023-50868);
#: PowerDNS uses 600. A name of 127 labels needs about 130 for its closest encloser proof.
MAX_NSEC3_HASHES_PER_LOOKUP = 600
#: CNAME and DNAME links followed for one lookup.
MAX_CNAME_CHAIN = 10
#: Queries sent to the recursive resolver for one lookup, chain of trust included.
MAX_QUERIES_PER_LOOKUP = 48
#: Octets of responses, as they came on the wire, one lookup may receive: four responses of
#: the largest size DNS allows. Reading a response costs up to some three to five microseconds
#: per octet (names of many labels, a few octets each on the wire): within
#: L{MAX_QUERIES_PER_LOOKUP} alone, responses stuffed with them held the reactor for some ten
#: seconds per lookup. An honest lookup receives a few kilobytes. Resolving from the root, the
#: responses its questions receive on the way count too: referrals, name server address
#: lookups (L{LOOKUP_BUDGET}).
MAX_RESPONSE_BYTES_PER_LOOKUP = 4 * 65535
#: Failed signatures a bogus verdict names in its reason; the others are only counted. A
#: response can carry hundreds of RRSIGs over one RRset, each failing at no cost, and a
#: reason naming them all (each with the owner's name, written out in full) would be several
#: times the response's size, kept in the caches with the verdict.
FAILURES_NAMED = 8
#: Seconds one lookup may take in all.
LOOKUP_TIMEOUT = 10.0
#: Seconds of clock difference tolerated at both ends of a signature's validity period.
CLOCK_SKEW = 300
#: The most C{clockSkew} may be: a day, as Unbound's C{val-sig-skew-max}. More would accept
#: signatures long expired, or not yet valid, as current (RFC 4035 section 5.3.1), and is
#: more likely a mistake of units than a clock that far off.
MAX_CLOCK_SKEW = 86400
#: Longest time, in seconds, a validated answer stays in the cache.
MAX_CACHE_TTL = 86400
#: Longest time, in seconds, that what a denial proved stays in the cache: a name or type
#: proven absent, a zone cut proven unsigned or absent, and what is insecure for it. As
#: Unbound's C{cache-max-negative-ttl}: an old denial, replayed while its signatures last,
#: hides records published since (a new TLSA record, a new DS) for no longer than this.
MAX_NEGATIVE_TTL = 3600
#: Seconds a bogus result stays in the cache, so an attacker cannot force the work again.
BOGUS_TTL = 60
#: Entries the cache holds before it evicts the least recently used.
CACHE_SIZE = 10000
#: Estimated bytes all of a resolver's caches hold together (half for answers, a quarter
#: each for zone keys and zone cuts), as Unbound bounds C{msg-cache-size} and
#: C{rrset-cache-size}: a count alone lets one hostile zone's large wildcard answers cost
#: gigabytes.
CACHE_BYTES = 64 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class ValidationLimits:
    """
    The limits one resolver applies; every field defaults to the module constant of the same
    meaning.

    @ivar maxSignatureChecksPerRRset: see L{MAX_SIGNATURE_CHECKS_PER_RRSET}.
    @ivar maxSignatureChecksPerLookup: see L{MAX_SIGNATURE_CHECKS_PER_LOOKUP}.
    @ivar maxKeysPerKeyTag: see L{MAX_KEYS_PER_KEY_TAG}.
    @ivar maxDSMismatches: see L{MAX_DS_MISMATCHES}.
    @ivar maxRSAExponentBits: see L{MAX_RSA_EXPONENT_BITS}.
    @ivar maxNSEC3Iterations: see L{MAX_NSEC3_ITERATIONS}.
    @ivar maxNSEC3RecordsPerProof: see L{MAX_NSEC3_RECORDS_PER_PROOF}.
    @ivar maxNSEC3HashesPerLookup: see L{MAX_NSEC3_HASHES_PER_LOOKUP}.
    @ivar maxCNAMEChain: see L{MAX_CNAME_CHAIN}.
    @ivar maxQueriesPerLookup: see L{MAX_QUERIES_PER_LOOKUP}.
    @ivar maxResponseBytesPerLookup: see L{MAX_RESPONSE_BYTES_PER_LOOKUP}.
    @ivar lookupTimeout: see L{LOOKUP_TIMEOUT}.
    @ivar clockSkew: see L{CLOCK_SKEW}.
    @ivar maxCacheTTL: see L{MAX_CACHE_TTL}.
    @ivar maxNegativeTTL: see L{MAX_NEGATIVE_TTL}.
    @ivar bogusTTL: see L{BOGUS_TTL}.
    @ivar cacheSize: see L{CACHE_SIZE}.
    @ivar cacheBytes: see L{CACHE_BYTES}.
    @ivar strictNSEC3Iterations: make a TLSA lookup bogus (EDE 27) instead of insecure when
        it is insecure only because an NSEC3 proof used more than C{maxNSEC3Iterations}
        iterations. Off by default, as in Unbound and BIND (RFC 9276): in such a zone an
        on-path attacker who strips signatures makes TLSA records look absent, so DANE falls
        back to PKIX (SMTP to opportunistic TLS); on, connections to hosts of such zones are
        refused instead. Other lookups are not affected.
    """

    maxSignatureChecksPerRRset: int = MAX_SIGNATURE_CHECKS_PER_RRSET
    maxSignatureChecksPerLookup: int = MAX_SIGNATURE_CHECKS_PER_LOOKUP
    maxKeysPerKeyTag: int = MAX_KEYS_PER_KEY_TAG
    maxDSMismatches: int = MAX_DS_MISMATCHES
    maxRSAExponentBits: int = MAX_RSA_EXPONENT_BITS
    maxNSEC3Iterations: int = MAX_NSEC3_ITERATIONS
    maxNSEC3RecordsPerProof: int = MAX_NSEC3_RECORDS_PER_PROOF
    maxNSEC3HashesPerLookup: int = MAX_NSEC3_HASHES_PER_LOOKUP
    maxCNAMEChain: int = MAX_CNAME_CHAIN
    maxQueriesPerLookup: int = MAX_QUERIES_PER_LOOKUP
    maxResponseBytesPerLookup: int = MAX_RESPONSE_BYTES_PER_LOOKUP
    lookupTimeout: float = LOOKUP_TIMEOUT
    clockSkew: int = CLOCK_SKEW
    maxCacheTTL: int = MAX_CACHE_TTL
    maxNegativeTTL: int = MAX_NEGATIVE_TTL
    bogusTTL: int = BOGUS_TTL
    cacheSize: int = CACHE_SIZE
    cacheBytes: int = CACHE_BYTES
    strictNSEC3Iterations: bool = False

    def __post_init__(self) -> None:
        """
        @raise TypeError: for a field of another type than documented (a limit given as text).
        @raise ValueError: for a negative limit, or a lookup timeout that is not a positive
            number of seconds: a limit that cannot be met would fail every lookup, or none;
            a C{clockSkew} over L{MAX_CLOCK_SKEW}.
        """
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "strictNSEC3Iterations":
                if type(value) is not bool:
                    raise TypeError(f"{item.name} must be True or False, not {value!r}")
            elif item.name == "lookupTimeout":
                if type(value) not in (int, float):
                    raise TypeError(f"{item.name} must be a number of seconds, not {value!r}")
                if not (value > 0 and math.isfinite(value)):
                    raise ValueError(f"{item.name} {value!r} is not a positive number of seconds")
            elif type(value) is not int:
                raise TypeError(f"{item.name} must be a whole number, not {value!r}")
            elif value < 0:
                raise ValueError(f"{item.name} {value} is negative")
            elif item.name == "clockSkew" and value > MAX_CLOCK_SKEW:
                raise ValueError(
                    f"clockSkew {value} is more than {MAX_CLOCK_SKEW} seconds (a day): it would "
                    "accept long expired signatures"
                )


def responseBytes(response: dns.message.Message) -> int:
    """
    The size of C{response} as it came on the wire, which the bounds on what a lookup receives
    and keeps count (L{ValidationLimits.maxResponseBytesPerLookup}); 0 for a message that was
    never on the wire (only tests build them).
    """
    wire = response.wire
    return len(wire) if wire is not None else 0


#: The canonical forms of the records of RRsets (L{Budget.canonicalForms}): by the identity of
#: an RRset, its records and their forms, sorted.
CanonicalForms = dict[int, tuple[tuple[dns.rdata.Rdata, ...], list[bytes]]]


class Budget:
    """
    Counts signature verifications, NSEC3 hashes and queries for one lookup, and keeps the
    canonical forms of the RRsets whose signatures it checked, so that none is made twice.

    @ivar limits: the limits to enforce.
    @ivar checks: verifications done so far in this lookup.
    @ivar nsec3Hashes: NSEC3 hashes computed so far in this lookup.
    @ivar queries: queries sent so far in this lookup.
    @ivar responseBytes: octets of the responses received so far in this lookup, as they
        came on the wire.
    @ivar canonicalForms: by the identity of an RRset whose signatures were checked, its
        records and their canonical forms, sorted (L{txdane.validation.rrsig.sortedRecords}).
        A lookup checks some RRsets again: an answer signed by two zones with each zone's
        keys, a wildcard's proof for each, a DNSKEY RRset with each revoked key; the forms of
        records naming deep names cost nearly as much as parsing the response that carried
        them (dnspython writes each name in time quadratic in its labels). One RRset at most
        is kept per signature check, for as long as the lookup lasts.
    """

    def __init__(self, limits: ValidationLimits) -> None:
        self.limits = limits
        self.checks = 0
        self.nsec3Hashes = 0
        self.queries = 0
        self.responseBytes = 0
        self.canonicalForms: CanonicalForms = {}

    def countNSEC3Hash(self) -> None:
        """
        Count one NSEC3 hash about to be computed.

        @raise BudgetExceededError: the lookup has already computed as many as it may (the
            resolver turns it into a L{WorkLimitExceededError
            <txdane.errors.WorkLimitExceededError>}).
        """
        if self.nsec3Hashes >= self.limits.maxNSEC3HashesPerLookup:
            raise BudgetExceededError(
                f"more than {self.limits.maxNSEC3HashesPerLookup} NSEC3 hashes needed"
            )
        self.nsec3Hashes += 1

    @property
    def exhausted(self) -> bool:
        """
        Whether the per-lookup signature budget is used up.
        """
        return self.checks >= self.limits.maxSignatureChecksPerLookup


#: The budget of the lookup a querier is asked for, while it is asked (L{LookupContext
#: <txdane.validation.context.LookupContext>} sets it around each query it sends): a querier
#: that sends queries of its own to answer one (L{IterativeQuerier
#: <txdane.validation.iterative.IterativeQuerier>}, resolving from the root) counts what they
#: receive in the lookup's L{Budget.responseBytes}, so that a lookup's whole traffic, referrals
#: and name server address lookups included, stays within
#: L{ValidationLimits.maxResponseBytesPerLookup}. A context variable rather than a parameter:
#: it passes through the queriers between them (L{RoadblockAvoidingClient
#: <txdane.validation.roadblock.RoadblockAvoidingClient>}) unchanged.
LOOKUP_BUDGET: ContextVar[Budget | None] = ContextVar("LOOKUP_BUDGET", default=None)

"""
Which DNSSEC algorithms and DS digest types are validated (RFC 8624, RFC 9904, RFC 9905).

Data signed only with algorithms outside the policy is insecure, not bogus (RFC 4035 section
5.2, RFC 6840 section 5.2).
"""

from __future__ import annotations

import dataclasses

from dns.dnssectypes import Algorithm, DSDigest

#: Algorithms validated by default: RSASHA256, RSASHA512, ECDSA P-256 and P-384, Ed25519, Ed448.
DEFAULT_ALGORITHMS = frozenset(
    {
        Algorithm.RSASHA256,
        Algorithm.RSASHA512,
        Algorithm.ECDSAP256SHA256,
        Algorithm.ECDSAP384SHA384,
        Algorithm.ED25519,
        Algorithm.ED448,
    }
)
#: RSA with SHA-1: implementations must support them, operators treat them as unsupported.
SHA1_ALGORITHMS = frozenset({Algorithm.RSASHA1, Algorithm.RSASHA1NSEC3SHA1})
#: DS digest types validated: SHA-256 and SHA-384; SHA-1 only where nothing stronger exists.
DEFAULT_DIGESTS = frozenset({DSDigest.SHA256, DSDigest.SHA384})


@dataclasses.dataclass(frozen=True)
class AlgorithmPolicy:
    """
    The algorithms and digests a resolver validates.

    @ivar algorithms: DNSKEY/RRSIG algorithm numbers that are validated.
    @ivar digests: DS digest types that are validated.
    @ivar allowSHA1Digest: whether a SHA-1 DS is used when the zone has no DS of a stronger
        digest type for the same key (RFC 4509 section 3).
    """

    algorithms: frozenset[int] = DEFAULT_ALGORITHMS
    digests: frozenset[int] = DEFAULT_DIGESTS
    allowSHA1Digest: bool = True

    @classmethod
    def withSHA1Algorithms(cls) -> AlgorithmPolicy:
        """
        A policy that also validates RSASHA1 and RSASHA1-NSEC3-SHA1 (algorithms 5 and 7).
        """
        return cls(algorithms=DEFAULT_ALGORITHMS | SHA1_ALGORITHMS)

    def supportsAlgorithm(self, algorithm: int) -> bool:
        """
        Whether signatures of C{algorithm} are validated.
        """
        return algorithm in self.algorithms

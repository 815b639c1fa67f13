"""
A signed DNS hierarchy on loopback, for tests and demonstrations.

L{buildHierarchy} creates, in memory and in well under a second, a private root zone, the TLD
C{test.} and leaf zones below it: correctly signed ones (NSEC and NSEC3) holding TLSA, SRV,
SSHFP, MX, wildcard, CNAME and DNAME records, and deliberately broken ones (expired and
not-yet-valid signatures, a DS matching no key, an unsigned child, DS records of an unknown
algorithm or digest, too many NSEC3 iterations). The private root's DS is the trust anchor.
L{Hierarchy.serve} starts an authoritative server for all of it on a loopback port.

L{issue} makes certificates (self-signed, CAs, leaves, client certificates) for TLS servers
and clients in tests and demonstrations.

L{CASES} (and its short form L{EXPECTED}) lists the names a validator should be asked about
and the verdict it must reach, so the validator's tests and the cross-checks against Unbound
and delv share one table.
"""

from __future__ import annotations

from txdane.testing._build import buildHierarchy, separateNameServers
from txdane.testing._cases import CASES, EXPECTED, Case
from txdane.testing._certificates import Issued, issue, selfSignedCertificate
from txdane.testing._hierarchy import Hierarchy, revokedKey
from txdane.testing._lab import LAB_SERVERS, REFUSED, VERIFIED, Lab, LabService
from txdane.testing._startlab import startLab
from txdane.testing._zones import (
    NSEC3_HIGH_ITERATIONS,
    TLSA_RDATA,
    UNKNOWN_ALGORITHM,
    UNKNOWN_DIGEST,
)

# The package's modules are private: every name is imported from here.
__all__ = [
    "CASES",
    "EXPECTED",
    "LAB_SERVERS",
    "NSEC3_HIGH_ITERATIONS",
    "REFUSED",
    "TLSA_RDATA",
    "UNKNOWN_ALGORITHM",
    "UNKNOWN_DIGEST",
    "VERIFIED",
    "Case",
    "Hierarchy",
    "Issued",
    "Lab",
    "LabService",
    "buildHierarchy",
    "issue",
    "revokedKey",
    "selfSignedCertificate",
    "separateNameServers",
    "startLab",
]

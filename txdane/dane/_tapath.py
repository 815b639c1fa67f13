"""
Chain building for DANE-TA(2) (RFC 7671 section 5.2): from the server's certificate up to a
trust anchor published in DNS, signature by signature.

The anchor is whatever a DANE-TA record designates: a certificate the server sent (matched at
depth 1 or more, never the leaf itself), a certificate published in full in DNS (C{2 0 0},
which may be absent from the server's chain and then sits one above the certificate it
signed), or a bare public key (C{2 1 0}, which signs the top certificate of the path). The
anchor published in DNS wins over any cross-signed path the server also sends: at each step
the DNS anchor is tried before the server's certificates.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from txdane.dane._strength import strengthProblem
from txdane.dane._usage import allowsTLSServer
from txdane.dane.tlsa import (
    MatchingType,
    Selector,
    TLSARecord,
    associationData,
    selectedData,
)
from txdane.errors import BudgetExceededError

#: Longest path (in certificates, leaf and anchor included) DANE-TA chain building follows.
MAX_CHAIN_LENGTH = 10

#: Most signature checks one DANE-TA chain search may make: a server controls how many
#: candidate issuers it sends, and each costs a public-key operation.
MAX_SIGNATURE_CHECKS = 64


def signedBy(certificate: x509.Certificate, key: PublicKeyTypes) -> bool:
    """
    Whether C{certificate}'s signature verifies with C{key}.
    """
    signature = certificate.signature
    data = certificate.tbs_certificate_bytes
    try:
        params = certificate.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey):
            algorithm = certificate.signature_hash_algorithm
            if algorithm is None or not isinstance(params, (padding.PKCS1v15, padding.PSS)):
                return False
            key.verify(signature, data, params, algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(params, ec.ECDSA):
                return False
            key.verify(signature, data, params)
        elif isinstance(key, (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey)):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, TypeError, ValueError):
        return False
    return True


def publicKey(certificate: x509.Certificate) -> PublicKeyTypes | None:
    """
    C{certificate}'s public key, or C{None} when its type is one this library cannot use
    (such a certificate signs nothing and matches no SPKI record).
    """
    try:
        return certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return None


def selectedOrNone(certificate: x509.Certificate, selector: int) -> bytes | None:
    """
    L{selectedData}, or C{None} for a key this library cannot use.
    """
    if selector == Selector.SPKI:
        key = publicKey(certificate)
        return None if key is None else selectedData(certificate, selector)
    return selectedData(certificate, selector)


@dataclass
class _Search:
    records: Sequence[TLSARecord]
    pool: Sequence[x509.Certificate]
    maxLength: int
    budget: int
    dnsCertificates: list[tuple[x509.Certificate, TLSARecord]] = field(default_factory=list)
    bareKeys: list[tuple[PublicKeyTypes, TLSARecord]] = field(default_factory=list)
    digests: list[TLSARecord] = field(default_factory=list)
    checks: int = 0
    tooLong: bool = False

    def __post_init__(self) -> None:
        for record in self.records:
            if record.matchingType == MatchingType.FULL and record.selector == Selector.CERT:
                try:
                    self.dnsCertificates.append(
                        (x509.load_der_x509_certificate(record.data), record)
                    )
                except ValueError:
                    pass
            elif record.matchingType == MatchingType.FULL and record.selector == Selector.SPKI:
                try:
                    self.bareKeys.append((serialization.load_der_public_key(record.data), record))
                except (ValueError, UnsupportedAlgorithm):
                    pass
            if not (record.matchingType == MatchingType.FULL and record.selector == Selector.SPKI):
                self.digests.append(record)

    def verify(self, certificate: x509.Certificate, key: PublicKeyTypes) -> bool:
        if self.checks >= self.budget:
            raise BudgetExceededError(f"more than {self.budget} signature checks needed")
        self.checks += 1
        return signedBy(certificate, key)

    def matchRecord(self, certificate: x509.Certificate) -> TLSARecord | None:
        for record in self.digests:
            selected = selectedOrNone(certificate, record.selector)
            if (
                selected is not None
                and associationData(selected, record.matchingType) == record.data
            ):
                return record
        return None

    def find(self, path: list[x509.Certificate]) -> TrustAnchorMatch | None:
        current = path[-1]
        depth = len(path) - 1
        if depth >= 1:
            record = self.matchRecord(current)
            if record is not None:
                return TrustAnchorMatch(record, depth, tuple(path))
        for key, record in self.bareKeys:
            if self.verify(current, key):
                return TrustAnchorMatch(record, depth, tuple(path))
        for anchor, record in self.dnsCertificates:
            if anchor == current or anchor.subject != current.issuer:
                continue  # the server's own certificate is never its trust anchor
            anchorKey = publicKey(anchor)
            if anchorKey is not None and self.verify(current, anchorKey):
                return TrustAnchorMatch(record, depth + 1, (*path, anchor))
        if len(path) >= self.maxLength:
            self.tooLong = True
            return None
        for candidate in self.pool:
            if candidate in path or candidate.subject != current.issuer:
                continue
            candidateKey = publicKey(candidate)
            if candidateKey is not None and self.verify(current, candidateKey):
                found = self.find([*path, candidate])
                if found is not None:
                    return found
        return None


@dataclass(frozen=True)
class TrustAnchorMatch:
    """
    A path from the leaf to a DANE-TA trust anchor.

    @ivar record: the DANE-TA record designating the anchor.
    @ivar depth: the depth of the matched certificate (for a bare key, of the certificate the
        key signed).
    @ivar path: the certificates from the leaf up to and including the anchor's certificate
        when it has one.
    """

    record: TLSARecord
    depth: int
    path: tuple[x509.Certificate, ...]


@dataclass(frozen=True)
class ChainSearch:
    """
    The result of L{findTrustAnchor}: a match, or why there is none.
    """

    match: TrustAnchorMatch | None
    problem: str = ""


def findTrustAnchor(
    records: Sequence[TLSARecord],
    presented: Sequence[x509.Certificate],
    maxLength: int = MAX_CHAIN_LENGTH,
    maxSignatureChecks: int = MAX_SIGNATURE_CHECKS,
) -> ChainSearch:
    """
    Build a path from C{presented[0]} (the server's certificate) to a trust anchor that one of
    the DANE-TA C{records} designates, checking each certificate's signature with its issuer's
    key on the way. Lower anchors win (the first one found walking up).
    """
    search = _Search(records, presented[1:], maxLength, maxSignatureChecks)
    try:
        found = search.find([presented[0]])
    except BudgetExceededError:
        return ChainSearch(
            None, f"chain building stopped after {maxSignatureChecks} signature checks"
        )
    if found is not None:
        return ChainSearch(found)
    if search.tooLong:
        return ChainSearch(None, f"no trust anchor within {maxLength} certificates")
    return ChainSearch(None, "")


def extendPath(
    path: Sequence[x509.Certificate],
    pool: Sequence[x509.Certificate],
    maxLength: int = MAX_CHAIN_LENGTH,
    maxSignatureChecks: int = MAX_SIGNATURE_CHECKS,
) -> list[x509.Certificate]:
    """
    C{path} continued above its top through C{pool}, issuer by issuer (each signature
    checked), until a self-signed certificate, a missing issuer, C{maxLength} certificates
    in all or C{maxSignatureChecks} signature checks. A self-signed top (a root of the local
    trust store) is first exchanged for a certificate of C{pool} with the same name and key
    issued by someone else (the server's cross-signed copy), if there is one.

    PKIX-TA(0) needs this: a record may designate a certificate above the one the local trust
    store stopped at (RFC 7671 section 5.4).
    """
    extended = list(path)
    budget = [maxSignatureChecks]

    def signed(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
        key = publicKey(issuer)
        if key is None or budget[0] <= 0:
            return False
        budget[0] -= 1
        return signedBy(certificate, key)

    def selfSigned(certificate: x509.Certificate) -> bool:
        return certificate.issuer == certificate.subject and signed(certificate, certificate)

    top = extended[-1]
    if selfSigned(top):
        key = _spki(top)
        crossed = next(
            (
                c
                for c in pool
                if c.subject == top.subject
                and c.issuer != c.subject
                and c not in extended
                and _spki(c) == key
            ),
            None,
        )
        if crossed is None:
            return extended
        extended[-1] = crossed
    while len(extended) < maxLength:
        current = extended[-1]
        if selfSigned(current):
            break
        issuer = next(
            (
                c
                for c in pool
                if c not in extended and c.subject == current.issuer and signed(current, c)
            ),
            None,
        )
        if issuer is None:
            break
        extended.append(issuer)
    return extended


def _spki(certificate: x509.Certificate) -> bytes | None:
    return selectedOrNone(certificate, Selector.SPKI)


def _inSubtree(name: str, subtree: str) -> bool:
    """
    Whether DNS name C{name} lies in the name-constraint C{subtree}: the name itself and
    every name below it, or only the names below it when it starts with a dot.
    """
    if subtree.startswith("."):
        return name.endswith(subtree)
    return name == subtree or name.endswith("." + subtree)


def _wildcardInSubtree(rest: str, subtree: str) -> bool:
    """
    Whether every name C{*.rest} matches lies in C{subtree}.
    """
    return _inSubtree(rest, subtree) or (subtree.startswith(".") and rest == subtree[1:])


def _wildcardMeetsSubtree(rest: str, subtree: str) -> bool:
    """
    Whether some name C{*.rest} matches lies in C{subtree}.
    """
    if _wildcardInSubtree(rest, subtree):
        return True
    return (
        not subtree.startswith(".")
        and subtree.endswith("." + rest)
        and subtree.count(".") == rest.count(".") + 1
    )


def _nameConstraintProblem(leaf: x509.Certificate, constraints: x509.NameConstraints) -> str | None:
    """
    Why C{leaf}'s DNS names break C{constraints} (RFC 5280 section 4.2.1.10), or C{None}.
    """

    def dnsSubtrees(subtrees: list[x509.GeneralName] | None) -> list[str] | None:
        if subtrees is None:
            return None
        names = [str(s.value).lower().rstrip(".") for s in subtrees if isinstance(s, x509.DNSName)]
        return names or None

    permitted = dnsSubtrees(constraints.permitted_subtrees)
    excluded = dnsSubtrees(constraints.excluded_subtrees) or []
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for name in (n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)):
        inside: Callable[[str, str], bool] = _inSubtree
        meets: Callable[[str, str], bool] = _inSubtree
        base = name
        if name.startswith("*."):
            inside, meets, base = _wildcardInSubtree, _wildcardMeetsSubtree, name[2:]
        if permitted is not None and not any(inside(base, p) for p in permitted):
            return f"{name} is outside its permitted names"
        if any(meets(base, e) for e in excluded):
            return f"{name} is among its excluded names"
    return None


def pathProblem(
    path: Sequence[x509.Certificate], now: datetime.datetime, anchorIsCertificate: bool
) -> str | None:
    """
    C{None} if every certificate of C{path} is within its validity dates and its extended key
    usage (if any) allows a TLS server, every issuer in it is a CA whose key usage (if
    any) allows signing certificates at its place in the path, the leaf's DNS names obey
    every issuer's name constraints, no certificate has a critical extension this library
    does not know, and every key and signature is strong enough
    (L{txdane.dane._strength}); else what is wrong.

    @param anchorIsCertificate: whether C{path[-1]} is the trust anchor itself (as opposed
        to a certificate signed by a bare-key anchor).
    """
    for depth, certificate in enumerate(path):
        who = f"certificate {depth} ({certificate.subject.rfc4514_string() or 'no subject'})"
        if now < certificate.not_valid_before_utc:
            return f"{who} is not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M}Z"
        if now > certificate.not_valid_after_utc:
            return f"{who} expired {certificate.not_valid_after_utc:%Y-%m-%d %H:%M}Z"
        unknown = next(
            (
                e.oid.dotted_string
                for e in certificate.extensions
                if e.critical and isinstance(e.value, x509.UnrecognizedExtension)
            ),
            None,
        )
        if unknown is not None:
            return f"{who} has a critical extension this library does not know ({unknown})"
        if not allowsTLSServer(certificate):
            # An issuer's extended key usage constrains what it issues, as OpenSSL reads it.
            return f"{who} is not for TLS servers (its extended key usage excludes it)"
        if depth == 0:
            continue
        try:
            usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        except x509.ExtensionNotFound:
            pass
        else:
            if not usage.key_cert_sign:
                return f"{who} issues certificates but its key usage forbids it"
        try:
            constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        except x509.ExtensionNotFound:
            constraints = None
        if constraints is None or not constraints.value.ca:
            if not (
                anchorIsCertificate
                and depth == len(path) - 1
                and certificate.version == x509.Version.v1
            ):
                return f"{who} issues certificates but is not a CA"
            continue
        pathLength = constraints.value.path_length
        if pathLength is not None and depth - 1 > pathLength:
            return f"{who} allows {pathLength} intermediate CAs below it, the path has {depth - 1}"
        try:
            names = certificate.extensions.get_extension_for_class(x509.NameConstraints).value
        except x509.ExtensionNotFound:
            continue
        problem = _nameConstraintProblem(path[0], names)
        if problem is not None:
            return f"{who} has name constraints: {problem}"
    return strengthProblem(path, anchorIsCertificate)

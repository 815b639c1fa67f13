"""
How strong the keys and signatures that authenticate a server must be: as OpenSSL's security
level 2 (its default since 3.2, and that of Debian's builds) demands of a verified chain, at
least 112 bits of security. A 1024-bit RSA key can be factored by someone with the means, and
a SHA-1 or MD5 signature forged with a chosen-prefix collision: a certificate issued that way
would let anyone present a certificate its issuer never signed.

OpenSSL checks the server's key under every usage, every key of a path to a trust anchor
(the anchor's certificate included), and every signature on it but the anchor's own.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

#: The smallest RSA or DSA key accepted, in bits (112 bits of security).
MIN_RSA_BITS = 2048

#: The smallest elliptic curve accepted, in bits of its order (112 bits of security).
MIN_EC_BITS = 224


def keyProblem(certificate: x509.Certificate) -> str | None:
    """
    Why C{certificate}'s key is too weak to authenticate anything, or C{None}. A key of a
    type this library cannot load is judged elsewhere (it signs nothing and matches no SPKI
    record).
    """
    try:
        key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        return None
    if isinstance(key, (rsa.RSAPublicKey, dsa.DSAPublicKey)) and key.key_size < MIN_RSA_BITS:
        kind = "RSA" if isinstance(key, rsa.RSAPublicKey) else "DSA"
        return f"has a {key.key_size}-bit {kind} key (fewer than {MIN_RSA_BITS} bits)"
    if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.key_size < MIN_EC_BITS:
        return f"has a {key.curve.key_size}-bit EC key (fewer than {MIN_EC_BITS} bits)"
    return None


def signatureProblem(certificate: x509.Certificate) -> str | None:
    """
    Why C{certificate}'s signature is too weak to vouch for it (a MD5 or SHA-1 digest), or
    C{None}.
    """
    try:
        algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return None  # its signature cannot be verified at all
    if isinstance(algorithm, (hashes.MD5, hashes.SHA1)):
        return f"is signed with {algorithm.name.upper()}, a digest too weak for signatures"
    return None


def strengthProblem(path: Sequence[x509.Certificate], anchorIsCertificate: bool) -> str | None:
    """
    Why the keys or signatures of C{path} (leaf first) are too weak, or C{None}: every key,
    and every signature but the top certificate's when it is the trust anchor itself.

    @param anchorIsCertificate: whether C{path[-1]} is the trust anchor (whose signature
        vouches for nothing), rather than a certificate a bare trust-anchor key signed.
    """
    for depth, certificate in enumerate(path):
        problem = keyProblem(certificate)
        if problem is None and (depth < len(path) - 1 or not anchorIsCertificate):
            problem = signatureProblem(certificate)
        if problem is not None:
            label = certificate.subject.rfc4514_string() or "no subject"
            return f"certificate {depth} ({label}) {problem}"
    return None

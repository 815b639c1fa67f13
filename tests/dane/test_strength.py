"""
Keys and signatures too weak to authenticate a server (L{txdane.dane._strength}): refused as
OpenSSL's security level 2 refuses them, under every usage where OpenSSL checks them.

Cross-checked with C{openssl s_client -dane_tlsa_rrdata} (OpenSSL 3.0, security level 2)
against C{openssl s_server}: a SHA-1 signature below the anchor gives error 68 (CA signature
digest algorithm too weak), a 1024-bit RSA issuer or anchor certificate 67, a 1024-bit RSA
server key 66 (under DANE-EE too), and a 1024-bit bare C{2 1 0} key is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from txdane.dane.matching import FailureKind, MatchOptions, verifyChain
from txdane.dane.pkix import PKIXTrust, verifyPath
from txdane.dane.tlsa import TLSARecord, recordForCertificate, spkiBytes

from .certs import Issued, issue

NAME = "mail.example.com"

#: The DER OIDs of sha256WithRSAEncryption and sha1WithRSAEncryption: the same length.
_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + content


def signedWithSHA1(certificate: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """
    C{certificate} (signed by the RSA C{key}) signed again by C{key} with SHA-1, which
    cryptography no longer does itself.
    """
    tbs = certificate.tbs_certificate_bytes
    assert tbs.count(_SHA256_RSA) == 1
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = _der(0x30, _SHA1_RSA + b"\x05\x00")
    der = _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


@dataclass(frozen=True)
class Keys:
    strong: rsa.RSAPrivateKey
    weak: rsa.RSAPrivateKey


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537, 1024))


def _issue(name: str, issuer: Issued | None = None, key: object = None, **kw: object) -> Issued:
    return issue(name, issuer, key=key, **kw)  # type: ignore[arg-type]


def _verify(records: list[TLSARecord], chain: list[x509.Certificate], *roots: x509.Certificate):
    options = MatchOptions(referenceNames=(NAME,), trust=PKIXTrust(roots))
    return verifyChain(records, chain, options)


def test_sha1SignatureRefused(keys: Keys) -> None:
    """
    A certificate signed with SHA-1 below the trust anchor is refused under DANE-TA and
    PKIX: a chosen-prefix collision forges such a signature.
    """
    root = _issue("RSA Root", key=keys.strong, ca=True)
    leaf = _issue(NAME, root)
    forgeable = signedWithSHA1(leaf.cert, keys.strong)
    for record in (
        recordForCertificate(root.cert, 2, 0, 1),
        recordForCertificate(root.cert, 2, 0, 0),
        TLSARecord(2, 1, 0, spkiBytes(keys.strong.public_key())),
    ):
        assert _verify([record], [leaf.cert, root.cert]).verified
        result = _verify([record], [forgeable, root.cert])
        assert result.failure is FailureKind.CHAIN, result.summary()
        assert "signed with SHA1" in result.reason
    pkixEE = recordForCertificate(leaf.cert, 1, 1, 1)
    assert _verify([pkixEE], [leaf.cert], root.cert).verified
    result = _verify([pkixEE], [forgeable], root.cert)
    assert result.failure is FailureKind.PKIX, result.summary()
    outcome = verifyPath(forgeable, [], PKIXTrust((root.cert,)))
    assert (outcome.valid, outcome.errorCode) == (False, 68)


def test_sha1SignatureOfTheAnchorItself(keys: Keys) -> None:
    """
    The anchor's own signature vouches for nothing and is not judged, as in OpenSSL.
    """
    root = _issue("RSA Root", key=keys.strong, ca=True)
    sha1Root = signedWithSHA1(root.cert, keys.strong)
    leaf = _issue(NAME, root)
    for record in (
        recordForCertificate(sha1Root, 2, 0, 1),
        recordForCertificate(sha1Root, 2, 0, 0),
    ):
        assert _verify([record], [leaf.cert, sha1Root]).verified
    assert _verify([recordForCertificate(leaf.cert, 1, 1, 1)], [leaf.cert], sha1Root).verified


def test_weakKeysRefused(keys: Keys) -> None:
    """
    A 1024-bit RSA key anywhere on the path (issuer, anchor certificate, server) is refused
    under every usage, DANE-EE included; a bare anchor key is not judged, as in OpenSSL.
    """
    root = _issue("Root", ca=True)
    weakIssuer = _issue("Weak Issuer", root, key=keys.weak, ca=True)
    leaf = _issue(NAME, weakIssuer)
    for record in (
        recordForCertificate(root.cert, 2, 0, 1),
        recordForCertificate(weakIssuer.cert, 2, 0, 1),
        recordForCertificate(weakIssuer.cert, 2, 0, 0),
    ):
        result = _verify([record], [leaf.cert, weakIssuer.cert, root.cert])
        assert result.failure is FailureKind.CHAIN, result.summary()
        assert "certificate 1 (CN=Weak Issuer) has a 1024-bit RSA key" in result.reason
    bare = TLSARecord(2, 1, 0, spkiBytes(keys.weak.public_key()))
    assert _verify([bare], [leaf.cert]).verified
    for record in (recordForCertificate(root.cert, 0, 0, 1), recordForCertificate(leaf.cert, 1)):
        result = _verify([record], [leaf.cert, weakIssuer.cert], root.cert)
        assert not result.verified, result.summary()
    outcome = verifyPath(leaf.cert, [weakIssuer.cert], PKIXTrust((root.cert,)))
    assert (outcome.valid, outcome.errorCode) == (False, 67)

    weakLeaf = _issue(NAME, root, key=keys.weak)
    for record in (
        recordForCertificate(weakLeaf.cert),
        recordForCertificate(weakLeaf.cert, 3, 0, 1),
        recordForCertificate(root.cert, 2, 0, 1),
    ):
        result = _verify([record], [weakLeaf.cert, root.cert])
        assert result.failure is FailureKind.CHAIN, result.summary()
        assert "certificate 0 (CN=mail.example.com) has a 1024-bit RSA key" in result.reason
    outcome = verifyPath(weakLeaf.cert, [], PKIXTrust((root.cert,)))
    assert (outcome.valid, outcome.errorCode) == (False, 66)
    strongLeaf = _issue(NAME, root, key=keys.strong)
    assert _verify([recordForCertificate(strongLeaf.cert)], [strongLeaf.cert]).verified

"""
Fixed material for the fuzz targets' worlds: signing keys and certificates derived from
names, never made fresh, so that the seed inputs (and every answer built from them) are the
same bytes in every run and on every Python version.

Keys are Ed25519, whose signatures are deterministic (RFC 8032): a zone signed twice with
the same key and times holds the same RRSIGs, and a certificate issued twice is the same
DER.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dns.message
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from txdane.server.signing import SigningKey
from txdane.testing import Hierarchy, buildHierarchy

#: The time the fuzz worlds are signed around (seconds since the epoch) ...
NOW = 1_800_000_000
#: ... and as a date, for certificate checks.
NOW_DATE = datetime.datetime.fromtimestamp(NOW, datetime.timezone.utc)


def derivedKey(label: str) -> ed25519.Ed25519PrivateKey:
    """
    The Ed25519 key named C{label}: the same key for the same label, everywhere.
    """
    secret = hashlib.sha256(f"txdane-fuzz-key:{label}".encode()).digest()
    return ed25519.Ed25519PrivateKey.from_private_bytes(secret)


@contextmanager
def derivedSigningKeys(label: str) -> Iterator[None]:
    """
    While in effect, L{SigningKey.generate} returns Ed25519 keys derived from C{label} and a
    counter (whatever algorithm is asked for): the same keys, in the same order, in every run.
    """
    original = SigningKey.__dict__["generate"]
    counter = iter(range(1 << 30))

    def generate(cls: type[SigningKey], algorithm: str | int = 15, flags: int = 257) -> SigningKey:
        return cls.fromPrivateKey(derivedKey(f"{label}:{next(counter)}"), 15, flags)

    SigningKey.generate = classmethod(generate)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SigningKey.generate = original  # type: ignore[method-assign]


def fixedHierarchy() -> Hierarchy:
    """
    The signed test hierarchy of L{txdane.testing}, with derived keys, signed around L{NOW}.
    """
    with derivedSigningKeys("hierarchy"):
        return buildHierarchy(now=NOW)


@dataclass(frozen=True)
class Chain:
    """
    A root, an intermediate and a leaf certificate, and the leaf's key.
    """

    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    leafKey: ed25519.Ed25519PrivateKey

    def leafPEM(self) -> bytes:
        """
        The leaf's key and certificate, in PEM.
        """
        key = self.leafKey.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return key + self.leaf.public_bytes(serialization.Encoding.PEM)


def _certificate(
    subject: str,
    key: ed25519.Ed25519PrivateKey,
    issuer: tuple[str, ed25519.Ed25519PrivateKey] | None,
    serial: int,
    ca: bool,
) -> x509.Certificate:
    issuerName, signer = issuer if issuer is not None else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuerName)]))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW_DATE - datetime.timedelta(days=30))
        .not_valid_after(NOW_DATE + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signer, None)


def fixedChain(name: str = "example.com") -> Chain:
    """
    A root, intermediate and leaf (for C{name}) with derived keys, fixed serials and dates,
    valid at L{NOW_DATE}.
    """
    rootKey, middleKey, leafKey = (derivedKey(f"{name}:{role}") for role in ("root", "ca", "ee"))
    root = _certificate("Fuzz Root CA", rootKey, None, 1, True)
    middle = _certificate("Fuzz Issuer CA", middleKey, ("Fuzz Root CA", rootKey), 2, True)
    leaf = _certificate(name, leafKey, ("Fuzz Issuer CA", middleKey), 3, False)
    return Chain(root, middle, leaf, leafKey)


def canonicalWire(message: dns.message.Message) -> bytes:
    """
    C{message} in wire form with the records of each RRset in canonical order (RFC 4034
    section 6.3), unshuffled: dnspython shuffles them when it writes a message (DNS gives
    their order no meaning), which would make the bytes differ run to run.
    """
    for section in message.sections:
        for index, rrset in enumerate(section):
            if not rrset:
                continue  # the question
            ordered = sorted(rrset, key=lambda rdata: rdata.to_digestable())
            copy = dns.rrset.from_rdata_list(rrset.name, rrset.ttl, ordered)
            section[index] = copy
    return message.to_wire(want_shuffle=False)

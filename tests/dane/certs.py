"""
Certificates for the DANE tests, made on the fly with C{cryptography} (EC P-256 keys: cheap).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Issued:
    """
    A certificate with its private key.
    """

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def keyPEM(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certPEM(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def newKey() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def issue(
    commonName: str,
    issuer: Issued | None = None,
    *,
    ca: bool = False,
    names: tuple[str, ...] | None = None,
    notBefore: datetime.datetime | None = None,
    notAfter: datetime.datetime | None = None,
    key: ec.EllipticCurvePrivateKey | None = None,
    issuerName: x509.Name | None = None,
    clientAuth: bool = False,
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> Issued:
    """
    Make a certificate for C{commonName}, signed by C{issuer} (self-signed when C{None}).
    Leaves carry C{names} (default: the common name) as DNS subject alternative names.
    """
    key = key or newKey()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, commonName)])
    signer = issuer.key if issuer is not None else key
    if issuerName is None:
        issuerName = issuer.cert.subject if issuer is not None else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuerName)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(notBefore or NOW - DAY)
        .not_valid_after(notAfter or NOW + 30 * DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
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
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in (names if names is not None else (commonName,))]
            ),
            critical=False,
        )
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if clientAuth else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


@dataclass(frozen=True)
class Hierarchy:
    """
    A root, an intermediate and a leaf for C{example.com}.
    """

    root: Issued
    intermediate: Issued
    leaf: Issued

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.leaf.cert, self.intermediate.cert]


def hierarchy(name: str = "example.com", **leafOptions: object) -> Hierarchy:
    root = issue("Test Root CA", ca=True)
    intermediate = issue("Test Issuer CA", root, ca=True)
    leaf = issue(name, intermediate, **leafOptions)  # type: ignore[arg-type]
    return Hierarchy(root, intermediate, leaf)

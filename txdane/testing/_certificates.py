"""
Certificates for TLS servers and clients in tests and demonstrations.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from twisted.internet.ssl import PrivateCertificate


@dataclass(frozen=True)
class Issued:
    """
    A certificate with its private key.

    @ivar cert: the certificate.
    @ivar key: its private key.
    """

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def keyPEM(self) -> bytes:
        """
        The private key, PEM (PKCS #8, unencrypted).
        """
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certPEM(self) -> bytes:
        """
        The certificate, PEM.
        """
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def privateCertificate(self) -> PrivateCertificate:
        """
        The certificate with its key as Twisted's C{PrivateCertificate}.
        """
        return PrivateCertificate.loadPEM(self.certPEM() + self.keyPEM())


def _subjectAltName(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


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
    pathLength: int | None = None,
    certSign: bool = True,
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
) -> Issued:
    """
    Make a certificate for C{commonName} (EC P-256: cheap), signed by C{issuer} (self-signed
    when C{None}), valid from a day ago for 30 days unless told otherwise.

    @param commonName: the subject's common name.
    @param issuer: the issuing certificate and key; C{None} for a self-signed certificate.
    @param ca: make a CA certificate (basic constraints and key usage for signing).
    @param names: the subject alternative names of a leaf (DNS names or IP addresses;
        default: the common name).
    @param notBefore: the start of validity.
    @param notAfter: the end of validity.
    @param key: the subject's key (default: a new one).
    @param issuerName: the issuer name to write (default: the issuer's subject).
    @param clientAuth: a client certificate (extended key usage clientAuth, not serverAuth).
    @param pathLength: a CA's path length constraint (default: none).
    @param certSign: whether a CA's key usage allows signing certificates.
    @param extensions: further extensions, with their criticality.
    """
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
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
        .not_valid_before(notBefore or now - datetime.timedelta(days=1))
        .not_valid_after(notAfter or now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=pathLength), critical=True)
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
                key_cert_sign=certSign,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        altNames = names if names is not None else (commonName,)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_subjectAltName(n) for n in altNames]), critical=False
        )
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if clientAuth else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def selfSignedCertificate(name: str) -> tuple[x509.Certificate, PrivateCertificate]:
    """
    A fresh self-signed certificate for C{name} (see L{issue}), and the same as a Twisted
    C{PrivateCertificate} with its key: for TLS servers in tests and demonstrations.
    """
    issued = issue(name)
    return issued.cert, issued.privateCertificate()

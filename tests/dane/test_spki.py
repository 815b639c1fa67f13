"""
SPKI(1) records designate the SubjectPublicKeyInfo as the certificate encodes it (RFC 6698
section 2.1.2), not a re-encoding of its key: an EC key may be encoded with a compressed
point, and OpenSSL matches the certificate's own bytes.
"""

from __future__ import annotations

import pytest
from cryptography import x509

from txdane.dane.matching import MatchOptions, verifyChain
from txdane.dane.tlsa import (
    Selector,
    TLSARecord,
    certificateSPKI,
    recordForCertificate,
    selectedData,
    spkiBytes,
)

from .certs import hierarchy, issue

#: A self-signed certificate for compressed.example whose P-256 key is encoded with a
#: compressed point, made with C{openssl ec -conv_form compressed}.
COMPRESSED = b"""-----BEGIN CERTIFICATE-----
MIIBkTCCATagAwIBAgIUKLdY41Sbn8v0m9t5bXh9dqFZckAwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSY29tcHJlc3NlZC5leGFtcGxlMCAXDTI2MTIwNzE4MDYyMFoY
DzIxMjYxMTEzMTgwNjIwWjAdMRswGQYDVQQDDBJjb21wcmVzc2VkLmV4YW1wbGUw
OTATBgcqhkjOPQIBBggqhkjOPQMBBwMiAAP+if9C/btHW2yfrzNXYN+3ocJDLyOK
xHdikGluFCfR26NyMHAwHQYDVR0OBBYEFFNo9ZS5xwXRhuwlwFcuDZskzRhIMB8G
A1UdIwQYMBaAFFNo9ZS5xwXRhuwlwFcuDZskzRhIMA8GA1UdEwEB/wQFMAMBAf8w
HQYDVR0RBBYwFIISY29tcHJlc3NlZC5leGFtcGxlMAoGCCqGSM49BAMCA0kAMEYC
IQCyTmf+m7tA/1M88MODRh8eNOo/wNWRhNaR9El6T+DQTAIhAMn14THp0UOPw/dC
6YBdb+n7HnH39V46H5q+RA6V0LNo
-----END CERTIFICATE-----
"""

#: Its SPKI's SHA2-256 digest, as C{openssl x509 -pubkey | openssl pkey -pubin -outform DER
#: | openssl dgst -sha256} prints it.
COMPRESSED_SPKI_SHA256 = "916f44505fac30f39c6b86fb1758d1473f9238e726bcc691fe1e94659a4b3aab"


def test_compressedPointMatchesCertificateEncoding() -> None:
    """
    A C{3 1 1} record of the certificate's own SPKI matches; one of the key re-encoded
    (uncompressed) does not, as in OpenSSL.
    """
    certificate = x509.load_pem_x509_certificate(COMPRESSED)
    options = MatchOptions(referenceNames=("compressed.example",))
    published = TLSARecord(3, 1, 1, bytes.fromhex(COMPRESSED_SPKI_SHA256))
    result = verifyChain([published], [certificate], options)
    assert result.verified, result.summary()
    assert recordForCertificate(certificate) == published
    reencoded = TLSARecord(3, 1, 0, spkiBytes(certificate.public_key()))
    assert reencoded.data != selectedData(certificate, Selector.SPKI)
    assert not verifyChain([reencoded], [certificate], options).verified


@pytest.mark.parametrize("names", [(), ("a.example",), ("a.example",) * 40])
def test_certificateSPKIIsTheKey(names: tuple[str, ...]) -> None:
    """
    For a key in its usual encoding, the certificate's SPKI is the key's; a long certificate
    (long-form lengths) is read right too.
    """
    h = hierarchy()
    leaf = issue("leaf.example", h.intermediate, names=names or None).cert
    for certificate in (h.root.cert, h.intermediate.cert, leaf):
        assert certificateSPKI(certificate) == spkiBytes(certificate.public_key())

"""
Tests for L{txdane.dane.tlsa}.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives import serialization

from txdane.dane.tlsa import (
    MatchingType,
    Selector,
    TLSARecord,
    Usage,
    recordForCertificate,
    recordFromFile,
    spkiBytes,
)
from txdane.errors import TLSAFormatError, TxdaneError
from txdane.names import tlsaName

from .certs import issue

SHA = "8cb0fc6c7a2bb1a7d4c4b1c5e2c3f8a3d0ab4a1e2f30d4e59b4d5e21c3d421f1"


def test_tlsaName() -> None:
    assert tlsaName("mail.example.com", 25) == dns.name.from_text("_25._tcp.mail.example.com.")
    assert (
        tlsaName(dns.name.from_text("x.example."), 443, "udp").to_text() == "_443._udp.x.example."
    )
    with pytest.raises(TLSAFormatError):
        tlsaName("example.com", 70000)


@pytest.mark.parametrize(
    "text",
    [
        f"3 1 1 {SHA}",
        f"DANE-EE SPKI SHA2-256 {SHA}",
        f"dane-ee spki sha2-256 {SHA.upper()}",
        f"3 SPKI 1 {SHA[:20]} {SHA[20:]}",
    ],
)
def test_fromTextNumbersAndMnemonics(text: str) -> None:
    record = TLSARecord.fromText(text)
    assert record == TLSARecord(3, 1, 1, bytes.fromhex(SHA))
    assert str(record) == f"3 1 1 {SHA}"
    assert record.mnemonic == "DANE-EE SPKI SHA2-256"
    assert record.usable


def test_mnemonicsBothWays() -> None:
    names = {
        (0, 0, 0): "PKIX-TA Cert Full",
        (1, 1, 2): "PKIX-EE SPKI SHA2-512",
        (2, 0, 1): "DANE-TA Cert SHA2-256",
        (3, 1, 0): "DANE-EE SPKI Full",
    }
    for fields, mnemonic in names.items():
        record = TLSARecord.fromText(f"{mnemonic} 00")
        assert (record.usage, record.selector, record.matchingType) == fields
        assert record.mnemonic == mnemonic
    assert Usage.DANE_TA.mnemonic == "DANE-TA"
    assert Selector.CERT.mnemonic == "Cert"
    assert MatchingType.SHA2_512.mnemonic == "SHA2-512"


@pytest.mark.parametrize(
    "text, message",
    [
        ("3 1 1", "needs usage"),
        (f"DANE-XX 1 1 {SHA}", "unknown TLSA usage 'DANE-XX'"),
        (f"3 1 1 {SHA[:-1]}zz", f"not hexadecimal: 'z' at digit {len(SHA)}"),
        # The word at fault is quoted, not the start of the data.
        (f"3 1 1 {SHA} extra", "TLSA data is not hexadecimal: 'extra'"),
        ("3 1 1 abc", "TLSA data has an odd number of hexadecimal digits (3)"),
        (f"300 1 1 {SHA}", "larger than 255"),
        # int() reads other scripts' digits: an Arabic-Indic three is no TLSA usage.
        (f"\u0663 1 1 {SHA}", "unknown TLSA usage '\u0663'"),
        (f"3 \uff11 1 {SHA}", "unknown TLSA selector"),
    ],
)
def test_fromTextErrors(text: str, message: str) -> None:
    with pytest.raises(TLSAFormatError) as info:
        TLSARecord.fromText(text)
    assert message in str(info.value)
    assert isinstance(info.value, TxdaneError)


@pytest.mark.parametrize("text", [None, f"3 1 1 {SHA}".encode()])
def test_fromTextTakesText(text: object) -> None:
    with pytest.raises(TypeError, match="a TLSA record's text must be a str"):
        TLSARecord.fromText(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fields, error, message",
    [
        ((256, 1, 1, b"x"), TLSAFormatError, "TLSA usage 256 is not in 0-255"),
        ((3, -1, 1, b"x"), TLSAFormatError, "TLSA selector -1 is not in 0-255"),
        (("3", 1, 1, b"x"), TypeError, "TLSA usage must be an int from 0 to 255, not '3'"),
        ((3, 1, True, b"x"), TypeError, "TLSA matchingType must be an int"),
        ((3, 1, 1, "8cb0"), TypeError, "TLSA data must be bytes (bytes.fromhex"),
    ],
)
def test_fieldsChecked(fields: tuple, error: type[Exception], message: str) -> None:
    """
    A record made in Python is checked as one read from text: no field outside 0-255, no
    hexadecimal text taken for the data.
    """
    with pytest.raises(error) as info:
        TLSARecord(*fields)
    assert message in str(info.value)
    assert TLSARecord(Usage.DANE_EE, Selector.SPKI, MatchingType.SHA2_256, bytes(32)).usage == 3


def test_unusable() -> None:
    assert TLSARecord(4, 1, 1, bytes(32)).unusableReason == "unknown certificate usage 4"
    assert TLSARecord(3, 2, 1, bytes(32)).unusableReason == "unknown selector 2"
    assert TLSARecord(3, 1, 3, bytes(32)).unusableReason == "unknown matching type 3"
    assert TLSARecord(3, 1, 1, bytes(31)).unusableReason == "SHA2-256 data is 31 bytes, not 32"
    assert TLSARecord(3, 1, 2, bytes(32)).unusableReason == "SHA2-512 data is 32 bytes, not 64"
    assert TLSARecord(4, 1, 1, bytes(32)).mnemonic == "4 SPKI SHA2-256"


def test_unusableFullData() -> None:
    """
    A C{Full} record must hold exactly one DER certificate or public key, as its selector
    says: OpenSSL and Postfix ignore one they cannot load, so it is unusable.
    """
    certificate = issue("example.com").cert
    der = certificate.public_bytes(serialization.Encoding.DER)
    spki = spkiBytes(certificate.public_key())
    assert TLSARecord(3, 0, 0, der).usable
    assert TLSARecord(2, 1, 0, spki).usable
    for usage in (0, 1, 2, 3):
        for selector, data in ((0, bytes(5)), (0, der + b"\0"), (0, spki)):
            record = TLSARecord(usage, selector, 0, data)
            assert record.unusableReason == "Full data is not a DER certificate"
        for data in (bytes(5), spki + b"\0", der):
            reason = TLSARecord(usage, 1, 0, data).unusableReason
            assert reason is not None and reason.startswith("Full data is not a DER public key")


def test_rdataRoundTrip() -> None:
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TLSA, f"3 1 1 {SHA}")
    record = TLSARecord.fromRdata(rdata)  # type: ignore[arg-type]
    assert record == TLSARecord(3, 1, 1, bytes.fromhex(SHA))
    assert record.toRdata() == rdata


def test_shortText() -> None:
    assert TLSARecord(3, 1, 1, bytes.fromhex(SHA)).shortText() == "3 1 1 8cb0fc6c...21f1"
    assert TLSARecord(3, 1, 1, b"\x01\x02").shortText() == "3 1 1 0102"


def test_recordForCertificate() -> None:
    leaf = issue("example.com")
    der = leaf.cert.public_bytes(serialization.Encoding.DER)
    spki = leaf.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert recordForCertificate(leaf.cert).data == hashlib.sha256(spki).digest()
    assert recordForCertificate(leaf.cert, 2, 0, 0).data == der
    assert recordForCertificate(leaf.cert, 3, 0, 2).data == hashlib.sha512(der).digest()


def test_recordFromFile(tmp_path: Path) -> None:
    leaf = issue("example.com")
    expected = recordForCertificate(leaf.cert)
    files = {
        "cert.pem": leaf.certPEM(),
        "cert.der": leaf.cert.public_bytes(serialization.Encoding.DER),
        "key.pem": leaf.keyPEM(),
        "key.der": leaf.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        "pub.pem": leaf.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "chain.pem": leaf.certPEM() + issue("other").certPEM(),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        assert recordFromFile(tmp_path / name) == expected, name
    assert recordFromFile(tmp_path / "cert.der", 3, 0, 1).selector == 0
    with pytest.raises(TLSAFormatError, match="holds a key"):
        recordFromFile(tmp_path / "key.pem", 3, 0, 1)
    (tmp_path / "junk").write_bytes(b"hello")
    with pytest.raises(TLSAFormatError, match="not a certificate"):
        recordFromFile(tmp_path / "junk")

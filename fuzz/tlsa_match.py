"""
Fuzz TLSA parsing and certificate-chain matching.

The first byte picks what the rest is: TLSA presentation text; TLSA rdata in wire form; or
a set of records (usage, selector, matching type, then data: fuzzed, or the association
data of one of the chain's certificates) matched against a fixed chain (root, intermediate,
leaf for C{example.com}, keys derived from names), to which a fuzzed DER certificate may be
added. Parsing gives a record or a L{TLSAFormatError} (dnspython's C{DNSException} for wire
data); matching always gives a result, never an exception, and:

  - a verified result names one of the records given, at a depth, and that record's data is
    the association data (under its selector and matching type) of a certificate of the
    chain or of the path it verified (for a DANE-TA bare key, C{2 1 0}, the key that signed
    the path's last certificate);
  - records whose data are random bytes, matched against the fixed chain, never verify.

    python fuzz/tlsa_match.py -runs=100000
"""

from __future__ import annotations

import sys
from pathlib import Path

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.dane.matching import DANEResult, MatchOptions, verifyChain
    from txdane.dane.pkix import PKIXTrust
    from txdane.dane.tlsa import TLSARecord, associationData, selectedData
    from txdane.errors import TLSAFormatError

from fuzz._fixed import NOW_DATE, fixedChain

_CERTS = fixedChain("example.com")
_CHAIN = [_CERTS.leaf, _CERTS.intermediate, _CERTS.root]
_OPTIONS = [
    MatchOptions(referenceNames=("example.com",), now=NOW_DATE),
    MatchOptions(referenceNames=("example.com",), smtp=True, now=NOW_DATE),
    MatchOptions(
        referenceNames=("example.com", "mx.example.net"),
        checkDANEEENames=True,
        trust=PKIXTrust((_CERTS.root,)),
        now=NOW_DATE,
    ),
]


def _association(certificate: x509.Certificate, record: TLSARecord) -> bytes | None:
    try:
        return associationData(selectedData(certificate, record.selector), record.matchingType)
    except (TLSAFormatError, ValueError):
        return None


def _signedBy(keyData: bytes, certificate: x509.Certificate) -> bool:
    """
    Whether the DER SubjectPublicKeyInfo C{keyData} verifies C{certificate}'s signature.
    """
    try:
        key = serialization.load_der_public_key(keyData)
        data, signature = certificate.tbs_certificate_bytes, certificate.signature
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            algorithm = certificate.signature_hash_algorithm
            assert algorithm is not None
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            algorithm = certificate.signature_hash_algorithm
            assert algorithm is not None
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        else:
            return False
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def checkResult(
    result: DANEResult, records: list[TLSARecord], chain: list[x509.Certificate]
) -> None:
    """
    Assert what a verified result must hold (see the module docstring).
    """
    assert isinstance(result, DANEResult), repr(result)
    str(result)
    if not result.verified:
        return
    record = result.record
    assert record is not None and record in records, (result.summary(), records)
    assert result.depth is not None and result.depth >= 0, result.summary()
    candidates = [*chain, *result.path]
    matched = [c for c in candidates if _association(c, record) == record.data]
    if not matched and (record.usage, record.selector, record.matchingType) == (2, 1, 0):
        # A bare trust-anchor key: it signed the last certificate of the path.
        matched = [c for c in result.path[-1:] if _signedBy(record.data, c)]
    assert matched, f"verified by {record}, which matches no certificate: {result.summary()}"


def _records(data: bytes) -> tuple[list[TLSARecord], list[x509.Certificate], bool]:
    """
    The records and chain C{data} describes, and whether all of it is random: no record
    holds a certificate's association data and no fuzzed certificate joined the chain.
    """
    records: list[TLSARecord] = []
    chain = list(_CHAIN[: 1 + data[0] % 3]) if data else list(_CHAIN[:2])
    data = data[1:]
    random = True
    while len(data) >= 4 and len(records) < 8:
        usage, selector, mtype, length = data[:4]
        body, data = data[4 : 4 + length], data[4 + length :]
        if length & 0x80 and chain:
            # The real association data of a certificate of the chain.
            certificate = chain[length % len(chain)]
            try:
                body = associationData(selectedData(certificate, selector % 2), mtype % 3)
            except (ValueError, TLSAFormatError):
                continue
            random = False
        if body:
            records.append(TLSARecord(usage, selector, mtype, body))
    if len(data) > 16 and data[0] & 1:
        try:
            chain.insert(data[1] % (len(chain) + 1), x509.load_der_x509_certificate(data[2:]))
            random = False
        except ValueError:
            pass
    return records, chain, random


def testOneInput(data: bytes) -> str:
    if not data:
        return "empty"
    mode, rest = data[0] % 3, data[1:]
    random = False
    if mode == 0:
        try:
            text = rest.decode("utf-8")
        except UnicodeDecodeError:
            return "not-utf8"
        try:
            record = TLSARecord.fromText(text)
        except TLSAFormatError:
            return "format-error"
        str(record), record.usable, record.unusableReason
        records, chain = [record], _CHAIN[:2]
    elif mode == 1:
        try:
            rdata = dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.TLSA, rest, 0, len(rest))
        except dns.exception.DNSException:
            return "wire-error"
        records, chain = [TLSARecord.fromRdata(rdata)], _CHAIN[:2]  # type: ignore[arg-type]
    else:
        records, chain, random = _records(rest)
    verdicts = []
    for options in _OPTIONS[: 1 + data[0] // 3 % 3]:
        result = verifyChain(records, chain, options)
        checkResult(result, records, chain)
        if random:
            assert not result.verified, f"random association data verified: {result.summary()}"
        verdicts.append(
            "verified" if result.verified else str(result.failure and result.failure.name)
        )
    return "/".join(verdicts)


def seeds() -> list[bytes]:
    """
    Records in text and wire form, records holding the chain's association data, records of
    random bytes only, and a certificate added to the chain.
    """
    leaf = _CERTS.leaf
    text = f"3 1 1 {associationData(selectedData(leaf, 1), 1).hex()}".encode()
    rdata = TLSARecord.fromText(text.decode()).toRdata().to_digestable()
    return [
        b"\x00" + text,
        b"\x00DANE-TA Cert SHA2-512 " + associationData(selectedData(leaf, 0), 2).hex().encode(),
        b"\x01" + rdata,
        b"\x02\x01" + bytes([3, 1, 1, 0x80]) + bytes([2, 0, 0, 0x81]),
        b"\x05\x02" + bytes([2, 1, 1, 0x82, 0, 0, 0, 0x80, 1, 1, 2, 0x80]),
        b"\x08\x02" + bytes([2, 1, 0, 0x81, 1, 0, 1, 0x81, 0, 0, 0, 0x82]),
        b"\x08\x02" + bytes([3, 1, 1, 32]) + bytes(range(32)) + bytes([2, 0, 1, 32]) + b"\xab" * 32,
        b"\x08\x00"
        + bytes([3, 1, 1, 3])
        + b"abc"
        + b"\x01\x00"
        + leaf.public_bytes(serialization.Encoding.DER),
    ]


if __name__ == "__main__":
    main(testOneInput, seeds())

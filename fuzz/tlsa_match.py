"""
Fuzz TLSA parsing and certificate-chain matching.

The first byte picks what the rest is: TLSA presentation text; TLSA rdata in wire form; or
a set of records (usage, selector, matching type, then data: fuzzed, or the association
data of one of the chain's certificates) matched against a real chain (root, intermediate,
leaf for C{example.com}), to which a fuzzed DER certificate may be added. Parsing gives a
record or a L{TLSAFormatError} (dnspython's C{DNSException} for wire data); matching always
gives a result, never an exception.

    python fuzz/tlsa_match.py -runs=100000
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import dns.exception
import dns.rdata
import dns.rdataclass
import dns.rdatatype
from cryptography import x509
from cryptography.hazmat.primitives import serialization

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.dane.matching import DANEResult, MatchOptions, verifyChain
    from txdane.dane.pkix import PKIXTrust
    from txdane.dane.tlsa import TLSARecord, associationData, selectedData
    from txdane.errors import TLSAFormatError

from tests.dane.certs import hierarchy

_CERTS = hierarchy("example.com")
_CHAIN = [_CERTS.leaf.cert, _CERTS.intermediate.cert, _CERTS.root.cert]
_NOW = datetime.datetime.now(datetime.timezone.utc)
_OPTIONS = [
    MatchOptions(referenceNames=("example.com",), now=_NOW),
    MatchOptions(referenceNames=("example.com",), smtp=True, now=_NOW),
    MatchOptions(
        referenceNames=("example.com", "mx.example.net"),
        checkDANEEENames=True,
        trust=PKIXTrust((_CERTS.root.cert,)),
        now=_NOW,
    ),
]


def _records(data: bytes) -> tuple[list[TLSARecord], list[x509.Certificate]]:
    records: list[TLSARecord] = []
    chain = list(_CHAIN[: 1 + data[0] % 3]) if data else list(_CHAIN[:2])
    data = data[1:]
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
        if body:
            records.append(TLSARecord(usage, selector, mtype, body))
    if len(data) > 16 and data[0] & 1:
        try:
            chain.insert(data[1] % (len(chain) + 1), x509.load_der_x509_certificate(data[2:]))
        except ValueError:
            pass
    return records, chain


def testOneInput(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0] % 3, data[1:]
    if mode == 0:
        try:
            text = rest.decode("utf-8")
        except UnicodeDecodeError:
            return
        try:
            record = TLSARecord.fromText(text)
        except TLSAFormatError:
            return
        str(record), record.usable, record.unusableReason
        records, chain = [record], _CHAIN[:2]
    elif mode == 1:
        try:
            rdata = dns.rdata.from_wire(dns.rdataclass.IN, dns.rdatatype.TLSA, rest, 0, len(rest))
        except dns.exception.DNSException:
            return
        records, chain = [TLSARecord.fromRdata(rdata)], _CHAIN[:2]  # type: ignore[arg-type]
    else:
        records, chain = _records(rest)
    for options in _OPTIONS[: 1 + data[0] // 3 % 3]:
        result = verifyChain(records, chain, options)
        assert isinstance(result, DANEResult)
        str(result)


def _seeds() -> list[bytes]:
    leaf = _CERTS.leaf.cert
    text = f"3 1 1 {associationData(selectedData(leaf, 1), 1).hex()}".encode()
    rdata = TLSARecord.fromText(text.decode()).toRdata().to_digestable()
    return [
        b"\x00" + text,
        b"\x00DANE-TA Cert SHA2-512 " + associationData(selectedData(leaf, 0), 2).hex().encode(),
        b"\x01" + rdata,
        b"\x02\x01" + bytes([3, 1, 1, 0x80]) + bytes([2, 0, 0, 0x81]),
        b"\x05\x02" + bytes([2, 1, 1, 0x82, 0, 0, 0, 0x80, 1, 1, 2, 0x80]),
        b"\x08\x00"
        + bytes([3, 1, 1, 3])
        + b"abc"
        + b"\x01\x00"
        + leaf.public_bytes(serialization.Encoding.DER),
    ]


if __name__ == "__main__":
    main(testOneInput, _seeds())

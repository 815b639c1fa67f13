"""
OpenSSL's own DANE verification vectors (C{tests/data/openssl-dane}), run through
L{txdane.dane.matching.verifyChain}: every case must give OpenSSL's result and depth.

The error numbers are OpenSSL's X509_V_ERR codes: 0 verified, 20 no PKIX path to a trusted
root, 62 host name mismatch, 65 no TLSA record matched. A depth of -1 means nothing matched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

from txdane.dane.matching import FailureKind, MatchOptions, verifyChain
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import TLSARecord

DATA = Path(__file__).parent.parent / "data" / "openssl-dane"

ERRORS = {
    FailureKind.PKIX: 20,
    FailureKind.NAME: 62,
    FailureKind.NO_MATCH: 65,
}


@dataclass(frozen=True)
class Case:
    number: int
    records: tuple[TLSARecord, ...]
    chain: tuple[x509.Certificate, ...]
    noNameChecks: bool
    error: int
    depth: int


_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)


def parseCases(text: str) -> list[Case]:
    """
    Read OpenSSL's case format: a five-number header, exactly that many TLSA lines, then that
    many PEM certificates; anything else between them is noise, as OpenSSL treats it.
    """
    lines = text.splitlines()
    cases: list[Case] = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        header = line.split()
        assert len(header) == 5, f"bad header {line!r}"
        nTLSA, nCerts, noNames, error, depth = (int(x) for x in header)
        records: list[TLSARecord] = []
        while len(records) < nTLSA:
            record = lines[i].strip()
            i += 1
            if record and not record.startswith("#"):
                records.append(TLSARecord.fromText(record))
        certs: list[x509.Certificate] = []
        while len(certs) < nCerts:
            if lines[i].startswith("-----BEGIN CERTIFICATE-----"):
                end = next(j for j in range(i, len(lines)) if lines[j].startswith("-----END"))
                pem = "\n".join(lines[i : end + 1])
                certs.append(x509.load_pem_x509_certificate(pem.encode()))
                i = end
            i += 1
        # Skip what follows until the next header (blank or comment lines, or the extra
        # record lines of cases 39-42 that OpenSSL ignores).
        while i < len(lines) and not re.fullmatch(r"\s*-?\d+( +-?\d+){4}\s*", lines[i]):
            i += 1
        cases.append(
            Case(len(cases) + 1, tuple(records), tuple(certs), bool(noNames), error, depth)
        )
    return cases


def _load(name: str) -> list[Case]:
    return parseCases((DATA / name).read_text())


def _roots(name: str) -> PKIXTrust:
    text = (DATA / name).read_text()
    return PKIXTrust(tuple(x509.load_pem_x509_certificate(p.encode()) for p in _PEM.findall(text)))


DANETEST = _load("danetest.in")
CROSS = _load("dane-cross.in")


def test_caseCounts() -> None:
    """
    All 50 + 1 cases are read, with the record counts their headers declare.
    """
    assert len(DANETEST) == 50
    assert len(CROSS) == 1
    assert [len(c.records) for c in DANETEST[38:42]] == [1, 1, 1, 1]
    assert [len(c.chain) for c in DANETEST[:4]] == [1, 1, 1, 1]


def _run(case: Case, domain: str, trust: PKIXTrust) -> None:
    result = verifyChain(
        case.records,
        case.chain,
        MatchOptions(referenceNames=(domain,), checkDANEEENames=not case.noNameChecks, trust=trust),
    )
    error = 0 if result.verified else ERRORS[result.failure]  # type: ignore[index]
    depth = -1 if result.depth is None else result.depth
    assert (error, depth) == (case.error, case.depth), result.summary()
    if result.verified:
        assert result.failure is None
        assert result.record in case.records


@pytest.mark.parametrize("case", DANETEST, ids=lambda c: f"danetest-{c.number}")
def test_danetest(case: Case) -> None:
    _run(case, "example.com", _roots("danetest.pem"))


@pytest.mark.parametrize("case", CROSS, ids=lambda c: f"dane-cross-{c.number}")
def test_daneCross(case: Case) -> None:
    _run(case, "server.example", _roots("cross-root.pem"))

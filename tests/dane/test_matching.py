"""
Tests for L{txdane.dane.matching}: what OpenSSL's vectors leave out (digest agility, unusable
records, validity dates per usage, wildcards, reference identifiers, chain-building attacks,
limits).
"""

from __future__ import annotations

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from txdane.dane._tapath import MAX_CHAIN_LENGTH, MAX_SIGNATURE_CHECKS
from txdane.dane.matching import (
    CheckOutcome,
    FailureKind,
    MatchOptions,
    verifyChain,
)
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import TLSARecord, recordForCertificate

from .certs import DAY, NOW, Hierarchy, Issued, hierarchy, issue


@pytest.fixture(scope="module")
def h() -> Hierarchy:
    return hierarchy("example.com")


def options(h: Hierarchy | None = None, *names: str, **kw: object) -> MatchOptions:
    trust = PKIXTrust((h.root.cert,)) if h is not None else PKIXTrust(())
    return MatchOptions(referenceNames=names or ("example.com",), trust=trust, **kw)  # type: ignore[arg-type]


def ee(cert, mtype: int = 1, selector: int = 1) -> TLSARecord:
    return recordForCertificate(cert, 3, selector, mtype)


def ta(cert, mtype: int = 1, selector: int = 1) -> TLSARecord:
    return recordForCertificate(cert, 2, selector, mtype)


def wrong(record: TLSARecord) -> TLSARecord:
    return TLSARecord(
        record.usage, record.selector, record.matchingType, bytes(b ^ 1 for b in record.data)
    )


# Digest agility (RFC 7671 section 9)


def test_agilityStrongestDigestOnly(h: Hierarchy) -> None:
    """
    With a SHA2-512 record published, a matching SHA2-256 record of the same usage and
    selector is ignored: a wrong SHA2-512 record is not rescued by it.
    """
    weak = ee(h.leaf.cert, 1)
    strong = wrong(ee(h.leaf.cert, 2))
    result = verifyChain([weak, strong], h.chain, options(h))
    assert not result.verified
    assert result.failure is FailureKind.NO_MATCH
    assert result.checks[0].outcome is CheckOutcome.IGNORED
    assert "SHA2-512 record is published" in result.checks[0].reason
    assert result.checks[1].outcome is CheckOutcome.NO_MATCH


def test_agilityFullAlwaysKept(h: Hierarchy) -> None:
    """
    Full(0) records are kept beside the strongest digest.
    """
    full = ee(h.leaf.cert, 0)
    result = verifyChain([wrong(ee(h.leaf.cert, 2)), full], h.chain, options(h))
    assert result.verified
    assert result.record == full


def test_agilityPerUsageAndSelector(h: Hierarchy) -> None:
    """
    A SHA2-512 record for another selector or usage does not push a SHA2-256 record aside.
    """
    records = [wrong(ee(h.leaf.cert, 2, selector=0)), ee(h.leaf.cert, 1, selector=1)]
    assert verifyChain(records, h.chain, options(h)).verified
    records = [wrong(ta(h.intermediate.cert, 2)), ee(h.leaf.cert, 1)]
    assert verifyChain(records, h.chain, options(h)).verified


def test_agilityUnusableStrongerDigestIgnored(h: Hierarchy) -> None:
    """
    A SHA2-512 record with a wrong length is unusable, and so does not count as the strongest.
    """
    broken = TLSARecord(3, 1, 2, bytes(32))
    good = ee(h.leaf.cert, 1)
    result = verifyChain([broken, good], h.chain, options(h))
    assert result.verified
    assert result.checks[0].outcome is CheckOutcome.UNUSABLE


# Unusable records


def test_unusableIgnored(h: Hierarchy) -> None:
    records = [
        TLSARecord(4, 1, 1, ee(h.leaf.cert).data),
        TLSARecord(3, 7, 1, ee(h.leaf.cert).data),
        TLSARecord(3, 1, 9, ee(h.leaf.cert).data),
        ee(h.leaf.cert),
    ]
    result = verifyChain(records, h.chain, options(h))
    assert result.verified
    assert [c.outcome for c in result.checks] == [CheckOutcome.UNUSABLE] * 3 + [
        CheckOutcome.MATCHED
    ]
    assert result.usableRecords == (records[3],)


def test_allUnusable(h: Hierarchy) -> None:
    records = [TLSARecord(4, 1, 1, bytes(32)), TLSARecord(3, 1, 1, bytes(20))]
    result = verifyChain(records, h.chain, options(h))
    assert not result.verified
    assert result.failure is FailureKind.ALL_UNUSABLE
    assert "unknown certificate usage 4" in result.summary()
    assert "SHA2-256 data is 20 bytes" in result.summary()


def test_smtpPKIXUnusable(h: Hierarchy) -> None:
    """
    Under RFC 7672, PKIX-TA and PKIX-EE records are unusable, even when they would match.
    """
    records = [
        recordForCertificate(h.leaf.cert, 1, 1, 1),
        recordForCertificate(h.root.cert, 0, 1, 1),
    ]
    assert verifyChain(records, h.chain, options(h)).verified
    result = verifyChain(records, h.chain, options(h, smtp=True))
    assert result.failure is FailureKind.ALL_UNUSABLE
    assert "RFC 7672" in result.checks[0].reason


def test_noCertificate(h: Hierarchy) -> None:
    result = verifyChain([ee(h.leaf.cert)], [], options(h))
    assert result.failure is FailureKind.NO_CERTIFICATE


# Validity dates per usage


@pytest.fixture(scope="module")
def expired() -> Hierarchy:
    return hierarchy("example.com", notBefore=NOW - 10 * DAY, notAfter=NOW - DAY)


@pytest.fixture(scope="module")
def future() -> Hierarchy:
    return hierarchy("example.com", notBefore=NOW + DAY, notAfter=NOW + 10 * DAY)


@pytest.mark.parametrize("which", ["expired", "future"])
def test_datesIgnoredForDANEEE(which: str, request: pytest.FixtureRequest) -> None:
    """
    DANE-EE ignores the leaf's validity dates (RFC 7671 section 5.1), even with name checks on.
    """
    hh: Hierarchy = request.getfixturevalue(which)
    assert verifyChain([ee(hh.leaf.cert)], hh.chain, options(hh)).verified
    assert verifyChain([ee(hh.leaf.cert)], hh.chain, options(hh, checkDANEEENames=True)).verified


@pytest.mark.parametrize("which, word", [("expired", "expired"), ("future", "not valid before")])
def test_datesCheckedForDANETA(which: str, word: str, request: pytest.FixtureRequest) -> None:
    hh: Hierarchy = request.getfixturevalue(which)
    result = verifyChain([ta(hh.intermediate.cert)], hh.chain, options(hh))
    assert not result.verified
    assert result.failure is FailureKind.CHAIN
    assert result.depth == 1
    assert word in result.reason and "certificate 0 (CN=example.com)" in result.reason


def test_datesCheckedForDANETAIntermediate() -> None:
    root = issue("Root", ca=True)
    old = issue("Old CA", root, ca=True, notBefore=NOW - 10 * DAY, notAfter=NOW - DAY)
    leaf = issue("example.com", old)
    result = verifyChain([ta(root.cert, 0, 0)], [leaf.cert, old.cert], options())
    assert result.failure is FailureKind.CHAIN
    assert "certificate 1 (CN=Old CA) expired" in result.reason


@pytest.mark.parametrize("which", ["expired", "future"])
@pytest.mark.parametrize("usage", [0, 1])
def test_datesCheckedForPKIX(which: str, usage: int, request: pytest.FixtureRequest) -> None:
    hh: Hierarchy = request.getfixturevalue(which)
    cert = hh.leaf.cert if usage == 1 else hh.intermediate.cert
    result = verifyChain([recordForCertificate(cert, usage, 1, 1)], hh.chain, options(hh))
    assert result.failure is FailureKind.PKIX
    assert "certificate" in result.reason


def test_pkixUntrustedRoot(h: Hierarchy) -> None:
    result = verifyChain([recordForCertificate(h.leaf.cert, 1, 1, 1)], h.chain, options(None))
    assert result.failure is FailureKind.PKIX
    assert result.depth == 0


def test_pkixNameChecked(h: Hierarchy) -> None:
    result = verifyChain(
        [recordForCertificate(h.leaf.cert, 1, 1, 1)], h.chain, options(h, "other.example")
    )
    assert result.failure is FailureKind.NAME


# Names: wildcards, reference identifiers


@pytest.fixture(scope="module")
def wildcard() -> Hierarchy:
    return hierarchy("wild", names=("*.example.com",))


@pytest.mark.parametrize(
    "name, ok",
    [
        ("www.example.com", True),
        ("mail.example.com", True),
        ("example.com", False),
        ("a.b.example.com", False),
        ("www.example.org", False),
    ],
)
def test_wildcardDANETA(wildcard: Hierarchy, name: str, ok: bool) -> None:
    """
    A wildcard matches exactly one whole left-most label.
    """
    result = verifyChain([ta(wildcard.intermediate.cert)], wildcard.chain, options(wildcard, name))
    assert result.verified is ok
    if not ok:
        assert result.failure is FailureKind.NAME


def test_partialWildcardRefused() -> None:
    hh = hierarchy("wild", names=("w*.example.com",))
    result = verifyChain([ta(hh.intermediate.cert)], hh.chain, options(hh, "www.example.com"))
    assert result.failure is FailureKind.NAME


@pytest.mark.parametrize(
    "odd", ["*.com", "w*.*.example.com", "www.*.example.com", "192.0.2.1", "*", "a..example.com"]
)
def test_invalidPatternBesideTheName(odd: str) -> None:
    """
    A subject alternative name that is no valid DNS-ID pattern matches nothing, and leaves
    the certificate's other names to match, as in OpenSSL (whose verdict on C{*.com} beside
    the server's name was checked with C{openssl s_client -dane_tlsa_rrdata}).
    """
    hh = hierarchy("mail.example.com", names=(odd, "mail.example.com"))
    record = ta(hh.intermediate.cert)
    result = verifyChain([record], hh.chain, options(hh, "mail.example.com"))
    assert result.verified, result.summary()
    result = verifyChain([record], hh.chain, options(hh, "other.example.com"))
    assert result.failure is FailureKind.NAME
    assert "not valid for other.example.com" in result.reason


def test_cnameBaseDomainAndAddedNames(h: Hierarchy) -> None:
    """
    The reference identifiers are the TLSA base domain (the CNAME target) plus names the
    caller adds (e.g. the MX domain); any one of them suffices.
    """
    hh = hierarchy("target.example.net")
    record = ta(hh.intermediate.cert)
    assert verifyChain([record], hh.chain, options(hh, "target.example.net.")).verified
    assert not verifyChain([record], hh.chain, options(hh, "alias.example.com")).verified
    assert verifyChain(
        [record], hh.chain, options(hh, "alias.example.com", "target.example.net")
    ).verified


def test_daneEENamesOff(h: Hierarchy) -> None:
    assert verifyChain([ee(h.leaf.cert)], h.chain, options(h, "other.example")).verified
    result = verifyChain(
        [ee(h.leaf.cert)], h.chain, options(h, "other.example", checkDANEEENames=True)
    )
    assert result.failure is FailureKind.NAME
    assert "(its names: example.com)" in result.reason


# Bugs other verifiers shipped


def test_daneTAMatchesLeafRefused() -> None:
    """
    A DANE-TA record for the server's own (self-signed) certificate does not authenticate it.
    """
    leaf = issue("example.com")
    for record in (ta(leaf.cert), ta(leaf.cert, 0, 0)):
        result = verifyChain([record], [leaf.cert], options())
        assert result.failure is FailureKind.NO_MATCH, record


def test_daneTAForgedIntermediate(h: Hierarchy) -> None:
    """
    A server sending the real intermediate but a leaf signed by another key with the same
    issuer name is refused: every signature up to the anchor is checked.
    """
    impostor = issue("Test Issuer CA", ca=True)  # same name, other key
    forged = issue("example.com", impostor, issuerName=h.intermediate.cert.subject)
    result = verifyChain([ta(h.intermediate.cert)], [forged.cert, h.intermediate.cert], options())
    assert result.failure is FailureKind.NO_MATCH
    result = verifyChain([ta(h.root.cert)], [forged.cert, h.intermediate.cert], options())
    assert result.failure is FailureKind.NO_MATCH


def test_daneTABareKeyChecksSignature(h: Hierarchy) -> None:
    key = h.intermediate.key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = TLSARecord(2, 1, 0, key)
    result = verifyChain([record], [h.leaf.cert], options())
    assert (result.verified, result.depth) == (True, 0)
    other = issue("example.com", issue("Other CA", ca=True))
    assert verifyChain([record], [other.cert], options()).failure is FailureKind.NO_MATCH


def test_daneTANameCheckWithPublicCA(h: Hierarchy) -> None:
    """
    An anchor shared by many names (a public CA) authenticates only certificates for the
    reference identifiers.
    """
    stranger = issue("attacker.example", h.intermediate)
    result = verifyChain([ta(h.intermediate.cert)], [stranger.cert, h.intermediate.cert], options())
    assert result.failure is FailureKind.NAME


def test_daneTANotACA() -> None:
    """
    A certificate that is not a CA cannot issue the server's certificate.
    """
    root = issue("Root", ca=True)
    notCA = issue("Not a CA", root, ca=False, names=("notca.example",))
    leaf = issue("example.com", notCA)
    result = verifyChain([ta(root.cert, 0, 0)], [leaf.cert, notCA.cert], options())
    assert result.failure is FailureKind.CHAIN
    assert "is not a CA" in result.reason


def test_crossSignedPathDoesNotDefeatDNSAnchor() -> None:
    root = issue("Root", ca=True)
    crossRoot = issue("Cross Root", ca=True)
    crossSigned = issue("Root", crossRoot, ca=True, key=root.key)
    inter = issue("CA", root, ca=True)
    leaf = issue("example.com", inter)
    chain = [leaf.cert, inter.cert, crossSigned.cert, crossRoot.cert]
    result = verifyChain([ta(root.cert, 0, 0)], chain, options())
    assert (result.verified, result.depth) == (True, 2)
    assert result.path[2] == root.cert


def test_failureListsEveryRecord(h: Hierarchy) -> None:
    """
    A failure names each record tried and why it did not match; the summary reads like the
    command line's line.
    """
    records = [wrong(ee(h.leaf.cert)), wrong(ta(h.root.cert)), wrong(ee(h.leaf.cert, 1, 0))]
    result = verifyChain(records, h.chain, options(h))
    assert [c.outcome for c in result.checks] == [CheckOutcome.NO_MATCH] * 3
    actual = ee(h.leaf.cert).data.hex()
    assert f"the server's key hashes to {actual[:8]}...{actual[-4:]}" in result.checks[0].reason
    assert result.checks[1].reason == "no certificate or key of the chain matches"
    assert "the server's certificate hashes to" in result.checks[2].reason
    assert result.summary().startswith("no TLSA record matched (3 1 1 ")
    assert result.chain == tuple(h.chain)
    assert "DANE-EE SPKI SHA2-256: no match" in str(result.checks[0])


# Limits


def test_signatureCheckBudget(h: Hierarchy) -> None:
    """
    A server sending many candidate issuers with the right name but wrong keys exhausts the
    signature budget, which fails closed.
    """
    decoys = [issue("Test Issuer CA", ca=True).cert for _ in range(MAX_SIGNATURE_CHECKS + 1)]
    result = verifyChain([ta(h.root.cert)], [h.leaf.cert, *decoys, h.intermediate.cert], options())
    assert result.failure is FailureKind.NO_MATCH
    assert f"after {MAX_SIGNATURE_CHECKS} signature checks" in result.checks[0].reason
    small = verifyChain(
        [ta(h.root.cert)],
        [h.leaf.cert, h.intermediate.cert, h.root.cert],
        options(maxSignatureChecks=1),
    )
    assert "after 1 signature checks" in small.checks[0].reason


def test_chainLengthLimit() -> None:
    root = issue("CA 0", ca=True)
    cas = [root]
    for i in range(1, MAX_CHAIN_LENGTH + 1):
        cas.append(issue(f"CA {i}", cas[-1], ca=True))
    leaf = issue("example.com", cas[-1])
    chain = [leaf.cert, *[c.cert for c in reversed(cas)]]
    result = verifyChain([ta(root.cert)], chain, options())
    assert result.failure is FailureKind.NO_MATCH
    assert f"no trust anchor within {MAX_CHAIN_LENGTH} certificates" in result.checks[0].reason
    assert verifyChain([ta(root.cert)], chain, options(maxChainLength=20)).verified


def test_daneTAClientOnlyLeafRefused() -> None:
    """
    Under DANE-TA, a leaf whose extended key usage is for clients only is refused; DANE-EE
    does not look at it.
    """
    root = issue("Root", ca=True)
    leaf = issue("example.com", root, clientAuth=True)
    result = verifyChain([ta(root.cert, 0, 0)], [leaf.cert], options())
    assert result.failure is FailureKind.CHAIN
    assert "is not for TLS servers" in result.reason
    assert verifyChain([ee(leaf.cert)], [leaf.cert], options()).verified


def test_daneTAClientOnlyIssuerRefused() -> None:
    """
    Under DANE-TA, an issuer on the path, or the anchor's certificate, whose extended key
    usage excludes servers issues no server certificate: refused, as OpenSSL refuses it
    (error 26, checked with C{openssl s_client -dane_tlsa_rrdata}).
    """
    clientOnly = x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
    root = issue("Root", ca=True)
    inter = issue("Client CA", root, ca=True, extensions=((clientOnly, False),))
    leaf = issue("example.com", inter)
    chain = [leaf.cert, inter.cert, root.cert]
    for record in (ta(root.cert, 0, 0), ta(root.cert), ta(inter.cert), ta(inter.cert, 0, 0)):
        result = verifyChain([record], chain, options())
        assert result.failure is FailureKind.CHAIN, result.summary()
        assert "certificate 1 (CN=Client CA) is not for TLS servers" in result.reason
    clientRoot = issue("Client Root", ca=True, extensions=((clientOnly, False),))
    leaf = issue("example.com", clientRoot)
    for record in (ta(clientRoot.cert), ta(clientRoot.cert, 0, 0)):
        result = verifyChain([record], [leaf.cert, clientRoot.cert], options())
        assert result.failure is FailureKind.CHAIN, result.summary()
        pkix = MatchOptions(referenceNames=("example.com",), trust=PKIXTrust((clientRoot.cert,)))
        record = recordForCertificate(leaf.cert, 1, 1, 1)
        result = verifyChain([record], [leaf.cert], pkix)
        assert result.failure is FailureKind.PKIX, result.summary()


def test_daneTAIssuerKeyUsage() -> None:
    """
    An issuer whose key usage does not include certificate signing cannot issue.
    """
    root = issue("Root", ca=True)
    leaf = issue("example.com", root)
    # The same name and key, but a key usage without certificate signing.
    rebuilt = issue("Root", ca=True, key=root.key, certSign=False).cert
    result = verifyChain([ta(rebuilt, 0, 0)], [leaf.cert], options())
    assert result.failure is FailureKind.CHAIN
    assert "its key usage forbids it" in result.reason
    assert verifyChain([ta(root.cert, 0, 0)], [leaf.cert], options()).verified


def test_daneTAPathLength() -> None:
    """
    A CA limited to no intermediates below it cannot anchor a path through one.
    """
    rootKey = issue("Root", ca=True)
    limited = issue("Root", ca=True, key=rootKey.key, pathLength=0).cert
    inter = issue("CA", rootKey, ca=True)
    leaf = issue("example.com", inter)
    result = verifyChain([ta(limited, 0, 0)], [leaf.cert, inter.cert], options())
    assert result.failure is FailureKind.CHAIN
    assert "allows 0 intermediate CAs below it, the path has 1" in result.reason
    assert verifyChain([ta(rootKey.cert, 0, 0)], [leaf.cert, inter.cert], options()).verified


def test_daneTAThroughSelfIssuedCertificate() -> None:
    """
    A self-issued (same name, new key) CA certificate in the middle of the path, as in a
    root key rollover, does not stop chain building.
    """
    old = issue("Root", ca=True)
    rolled = issue("Root", old, ca=True)
    inter = issue("CA", rolled, ca=True)
    leaf = issue("example.com", inter)
    chain = [leaf.cert, inter.cert, rolled.cert, old.cert]
    result = verifyChain([ta(old.cert, 1, 0)], chain, options())
    assert (result.verified, result.depth) == (True, 3)


def test_pkixTABeyondLocalTrustAnchor() -> None:
    """
    A PKIX-TA record may designate a certificate above the root the local store trusts:
    the path is extended through the server's chain until the record matches (RFC 7671
    section 5.4); not for PKIX-EE, and not past a certificate whose signature fails.
    """
    oldRoot = issue("Old Root", ca=True)
    root = issue("Root", ca=True)
    crossSigned = issue("Root", oldRoot, ca=True, key=root.key)
    inter = issue("CA", root, ca=True)
    leaf = issue("example.com", inter)
    chain = [leaf.cert, inter.cert, crossSigned.cert, oldRoot.cert]
    trusted = MatchOptions(referenceNames=("example.com",), trust=PKIXTrust((root.cert,)))
    record = recordForCertificate(oldRoot.cert, 0, 0, 1)
    result = verifyChain([record], chain, trusted)
    assert (result.verified, result.depth) == (True, 3)
    assert result.path[-1] == oldRoot.cert
    assert verifyChain([recordForCertificate(root.cert, 0, 1, 1)], chain, trusted).depth == 2
    impostor = issue("Old Root", ca=True)
    forged = [leaf.cert, inter.cert, crossSigned.cert, impostor.cert]
    wrongKey = verifyChain([recordForCertificate(impostor.cert, 0, 0, 1)], forged, trusted)
    assert wrongKey.failure is FailureKind.NO_MATCH


def test_pkixTAPathExtensionBudget(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Extending a PKIX path for PKIX-TA costs a signature check per candidate issuer the server
    sends: the signature budget bounds it as it bounds DANE-TA chain building.
    """
    import txdane.dane._tapath

    oldRoot = issue("Old Root", ca=True)
    root = issue("Root", ca=True)
    crossSigned = issue("Root", oldRoot, ca=True, key=root.key)
    inter = issue("CA", root, ca=True)
    leaf = issue("example.com", inter)
    decoys = [issue("Old Root", ca=True).cert for _ in range(12)]
    chain = [leaf.cert, inter.cert, crossSigned.cert, *decoys]
    checks: list[object] = []
    original = txdane.dane._tapath.signedBy

    def counting(certificate: object, key: object) -> bool:
        checks.append(certificate)
        return original(certificate, key)  # type: ignore[arg-type]

    monkeypatch.setattr(txdane.dane._tapath, "signedBy", counting)
    trusted = MatchOptions(
        referenceNames=("example.com",), trust=PKIXTrust((root.cert,)), maxSignatureChecks=4
    )
    result = verifyChain([recordForCertificate(oldRoot.cert, 0, 0, 1)], chain, trusted)
    assert result.failure is FailureKind.NO_MATCH
    assert len(checks) <= 4
    # Within the budget, the path still extends to the record's certificate.
    checks.clear()
    found = verifyChain(
        [recordForCertificate(oldRoot.cert, 0, 0, 1)],
        [leaf.cert, inter.cert, crossSigned.cert, oldRoot.cert],
        trusted,
    )
    assert (found.verified, found.depth) == (True, 3)


_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # the OID id-ecPublicKey, DER


def _unknownKeyType(certificate: x509.Certificate) -> x509.Certificate:
    """
    C{certificate} with its key's algorithm changed to an OID no library knows.
    """
    der = certificate.public_bytes(serialization.Encoding.DER)
    assert der.count(_EC_PUBLIC_KEY) == 1
    return x509.load_der_x509_certificate(
        der.replace(_EC_PUBLIC_KEY, _EC_PUBLIC_KEY[:-1] + b"\x09")
    )


def test_unknownKeyTypeInChainSkipped(h: Hierarchy) -> None:
    """
    A certificate whose key type is unknown is no candidate issuer and matches no record: it
    does not stop verification by the rest of the chain, nor make it raise.
    """
    odd = _unknownKeyType(issue("Test Issuer CA", h.root, ca=True).cert)
    chain = [h.leaf.cert, odd, h.intermediate.cert]
    for record in (ta(h.intermediate.cert), ta(h.root.cert, 0, 0), ta(h.root.cert, 0, 1)):
        result = verifyChain([record], chain, options(h))
        assert result.verified, result.summary()
    pkix = verifyChain([recordForCertificate(h.root.cert, 0, 1, 1)], chain, options(h))
    assert pkix.verified, pkix.summary()
    oddLeaf = _unknownKeyType(h.leaf.cert)
    for record in (ee(h.leaf.cert), ta(h.intermediate.cert)):
        refused = verifyChain([record], [oddLeaf, h.intermediate.cert], options(h))
        assert not refused.verified


def _constrained(
    permitted: list[str] | None, excluded: list[str] | None, *leafNames: str
) -> tuple[Issued, list[x509.Certificate]]:
    root = issue("Public Root", ca=True)
    constraints = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName(n) for n in permitted] if permitted else None,
        excluded_subtrees=[x509.DNSName(n) for n in excluded] if excluded else None,
    )
    customer = issue("Customer CA", root, ca=True, extensions=((constraints, True),))
    leaf = issue(leafNames[0], customer, names=leafNames)
    return root, [leaf.cert, customer.cert, root.cert]


@pytest.mark.parametrize(
    "permitted, excluded, names, ok",
    [
        (["example.org"], None, ("www.example.org",), True),
        (["example.org"], None, ("example.org",), True),
        (["example.org"], None, ("www.example.com",), False),
        (["example.org"], None, ("www.example.com", "www.example.org"), False),
        (["example.org"], None, ("wwwexample.org",), False),
        ([".example.org"], None, ("www.example.org",), True),
        ([".example.org"], None, ("example.org",), False),
        (["example.org"], None, ("*.example.org",), True),
        (None, ["example.com"], ("www.example.com",), False),
        (None, ["example.com"], ("www.example.org",), True),
        (None, ["secure.example.com"], ("*.example.com",), False),
        (None, ["Example.COM"], ("www.example.com",), False),
    ],
)
def test_daneTANameConstraints(
    permitted: list[str] | None, excluded: list[str] | None, names: tuple[str, ...], ok: bool
) -> None:
    """
    DANE-TA paths obey the name constraints of their CAs (RFC 5280 section 4.2.1.10), as a
    PKIX path would: a sub-CA constrained to other names cannot issue for the server's name
    because the domain's TLSA record names the CA above it.
    """
    root, chain = _constrained(permitted, excluded, *names)
    result = verifyChain([ta(root.cert)], chain, options(None, names[0].replace("*", "x")))
    assert result.verified is ok, result.summary()
    if not ok:
        assert result.failure is FailureKind.CHAIN
        assert "name constraints" in result.reason


def test_daneTAUnknownCriticalExtensionRefused() -> None:
    """
    A certificate of a DANE-TA path with a critical extension this library does not know is
    refused (RFC 5280 section 4.2), as a PKIX verifier refuses it; non-critical, it is fine.
    """
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\x05\x00")
    for critical in (True, False):
        root = issue("Root", ca=True)
        inter = issue("CA", root, ca=True, extensions=((unknown, critical),))
        leaf = issue("example.com", inter)
        result = verifyChain([ta(root.cert)], [leaf.cert, inter.cert, root.cert], options())
        assert result.verified is not critical, result.summary()
        if critical:
            assert result.failure is FailureKind.CHAIN
            assert "critical extension" in result.reason


def test_referenceNamesThatAreNoDNSNames(h: Hierarchy) -> None:
    """
    A reference identifier that is not a DNS name (an address literal given as the host, a
    malformed extra name) matches nothing instead of making verification raise; the other
    names are still tried.
    """
    record = ta(h.intermediate.cert)
    for names in (("127.0.0.1",), ("::1",), ("bad name",), ("*.example.com",)):
        result = verifyChain([record], h.chain, options(h, *names))
        assert result.failure is FailureKind.NAME
        assert names[0] in result.reason
    assert verifyChain([record], h.chain, options(h, "127.0.0.1", "example.com")).verified


def test_pkixClientOnlyCertificateRefused() -> None:
    """
    PKIX-EE and PKIX-TA validate the path for a TLS server, as OpenSSL does inside a
    handshake: a leaf, or an intermediate, whose extended key usage excludes servers is
    refused even though its chain is trusted.
    """
    for client in (issue("example.com", clientAuth=True), None):
        root = issue("Root", ca=True)
        if client is None:
            serverAuth = x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH])
            inter = issue("CA", root, ca=True, extensions=((serverAuth, False),))
            leaf = issue("example.com", inter)
        else:
            inter = issue("CA", root, ca=True)
            leaf = issue("example.com", inter, clientAuth=True)
        trusted = MatchOptions(referenceNames=("example.com",), trust=PKIXTrust((root.cert,)))
        chain = [leaf.cert, inter.cert, root.cert]
        for record in (
            recordForCertificate(leaf.cert, 1, 1, 1),
            recordForCertificate(root.cert, 0, 1, 1),
        ):
            result = verifyChain([record], chain, trusted)
            assert result.failure is FailureKind.PKIX, result.summary()
            assert "extended key usage" in result.reason


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MatchOptions(referenceNames="www.example.test"), "referenceNames must be a"),  # type: ignore[arg-type]
        (lambda: MatchOptions(referenceNames=(b"www.example.test",)), r"sequence of names \(str\)"),  # type: ignore[arg-type]
        (lambda: MatchOptions(trust="ca.pem"), "trust must be a PKIXTrust"),  # type: ignore[arg-type]
        (lambda: PKIXTrust("ca.pem"), "load_pem_x509_certificates"),  # type: ignore[arg-type]
        (lambda: PKIXTrust(["ca.pem"]), "roots must be a sequence of x509.Certificate"),  # type: ignore[arg-type]
        (lambda: MatchOptions(checkDANEEENames="no"), "checkDANEEENames must be True or False"),  # type: ignore[arg-type]
        (lambda: MatchOptions(smtp=1), "smtp must be True or False"),  # type: ignore[arg-type]
        (lambda: MatchOptions(now=datetime.datetime(2020, 1, 1)), "now must be an aware datetime"),
        (lambda: MatchOptions(now="2020-01-01"), "now must be an aware datetime"),  # type: ignore[arg-type]
        (lambda: MatchOptions(maxChainLength="3"), "maxChainLength must be an int"),  # type: ignore[arg-type]
        (lambda: MatchOptions(maxSignatureChecks=None), "maxSignatureChecks must be an int"),  # type: ignore[arg-type]
    ],
)  # fmt: skip
def test_optionsChecked(make: object, message: str) -> None:
    """
    Matching options made in Python are checked: one name given as a string would be read one
    letter at a time, and a path given for the PKIX roots would fail only inside a handshake.
    """
    with pytest.raises(TypeError, match=message):
        make()  # type: ignore[operator]
    root = issue("Root", ca=True).cert
    assert PKIXTrust([root]).roots == (root,)  # type: ignore[arg-type]
    names = ["a.test", "b.test"]
    assert MatchOptions(referenceNames=names).referenceNames == ("a.test", "b.test")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="maxChainLength 0 is not at least 1"):
        MatchOptions(maxChainLength=0)
    aware = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
    assert MatchOptions(now=aware).now == aware

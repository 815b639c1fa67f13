"""
Tests for L{txdane.validation.resolver} and L{txdane.validation.trustad}: failures, limits,
the cache, trust-AD mode and the convenience lookups.
"""

from __future__ import annotations

import os
from typing import Any

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from tests.validation.fakes import EngineQuerier, FailingQuerier, failureOf, makeResolver, resolve
from tests.validation.zonekit import NOW, Key, TableQuerier, collidingKey, keyset, n, rrset, sigset
from txdane.errors import TLSAFormatError
from txdane.names import tlsaName
from txdane.resolvconf import NameServer
from txdane.status import Status
from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import DNSError, DNSMalformedError, DNSServerError, DNSTimeoutError
from txdane.validation import (
    EDE,
    ADTrustingResolver,
    Answer,
    IDNSSECResolver,
    InsecureAnswerError,
    LookupFailedError,
    TrustAnchors,
    ValidatingResolver,
    ValidationLimits,
    WorkLimitExceededError,
)


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    chain = [f"c{i} 300 IN CNAME c{i + 1}" for i in range(12)] + ["c12 300 IN A 192.0.2.12"]
    return buildHierarchy(
        extraRecords={
            "example.test.": [*chain, "loop1 300 IN CNAME loop2", "loop2 300 IN CNAME loop1"]
        }
    )


SERVER = NameServer("127.0.0.1", 5353)


def servfail(ede: int | None) -> DNSServerError:
    query = dns.message.make_query("_443._tcp.www.example.test.", "TLSA", use_edns=0)
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.SERVFAIL)
    if ede is not None:
        response.use_edns(0, options=[dns.edns.EDEOption(dns.edns.EDECode(ede))])
    return DNSServerError(response, SERVER)


def test_interfaces(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)
    assert verifyObject(IDNSSECResolver, resolver)
    assert verifyObject(IDNSSECResolver, ADTrustingResolver(querier, "127.0.0.1", clock=Clock()))


@pytest.mark.parametrize(
    ("error", "ede"),
    [
        (DNSTimeoutError(n("x."), dns.rdatatype.A, [SERVER], 3), 22),
        (servfail(22), 22),
        (servfail(None), None),
        (DNSMalformedError("question mismatch", SERVER), None),
    ],
)
def test_transportFailureIsAnError(hierarchy: Hierarchy, error: DNSError, ede: int | None) -> None:
    """
    A timeout, SERVFAIL or malformed response is a failed lookup: never an empty answer.
    """
    clock = Clock()
    resolver = ValidatingResolver(
        FailingQuerier(error),
        trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]),
        clock=clock,
    )
    failure = failureOf(resolver.lookupTLSA("www.example.test.", 443))
    assert isinstance(failure, LookupFailedError)
    assert failure.cause is error
    assert failure.name == n("_443._tcp.www.example.test.")
    assert failure.rdtype == dns.rdatatype.TLSA
    assert failure.ede == ede
    assert "lookup failed" in str(failure) and "\n" not in str(failure)


def test_failureInTheChainIsAnError(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)
    querier.tamper[("example.test.", "DNSKEY")] = lambda m: DNSError("timed out")
    failure = failureOf(resolver.lookup("www.example.test.", "A"))
    assert isinstance(failure, LookupFailedError)
    assert "example.test. DNSKEY" in failure.reason


def test_servfailResponseIsAnError(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)

    def servfail(message: dns.message.Message) -> dns.message.Message:
        message.set_rcode(dns.rcode.SERVFAIL)
        message.answer.clear()
        return message

    querier.tamper[("_443._tcp.www.example.test.", "TLSA")] = servfail
    failure = failureOf(resolver.lookupTLSA("www.example.test.", 443))
    assert isinstance(failure, LookupFailedError) and "SERVFAIL" in failure.reason
    # Asked once, with CD: no retry with checking enabled.
    tlsa = [q for q in querier.queries if q[1] == dns.rdatatype.TLSA]
    assert len(tlsa) == 1 and tlsa[0][3]


def test_tamperedDataIsBogus(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)

    def swap(message: dns.message.Message) -> dns.message.Message:
        for index, rr in enumerate(message.answer):
            if rr.rdtype == dns.rdatatype.A:
                message.answer[index] = dns.rrset.from_text(
                    rr.name, rr.ttl, "IN", "A", "192.0.2.66"
                )
        return message

    querier.tamper[("www.example.test.", "A")] = swap
    answer = resolve(resolver, "www.example.test.", "A")
    assert (answer.status, answer.ede) == (Status.BOGUS, EDE.DNSSEC_BOGUS)
    with pytest.raises(InsecureAnswerError):
        answer.require(allowInsecure=True)


def test_strippedDNSKEYSignaturesAreBogus(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)

    def strip(message: dns.message.Message) -> dns.message.Message:
        message.answer = [r for r in message.answer if r.rdtype != dns.rdatatype.RRSIG]
        return message

    querier.tamper[("example.test.", "DNSKEY")] = strip
    answer = resolve(resolver, "www.example.test.", "A")
    assert (answer.status, answer.ede) == (Status.BOGUS, EDE.RRSIGS_MISSING)


def test_strippedDenialIsBogus(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)

    def strip(message: dns.message.Message) -> dns.message.Message:
        message.authority = [r for r in message.authority if r.rdtype == dns.rdatatype.SOA]
        return message

    querier.tamper[("nx.example.test.", "A")] = strip
    answer = resolve(resolver, "nx.example.test.", "A")
    assert (answer.status, answer.ede) == (Status.BOGUS, EDE.NSEC_MISSING)
    assert answer.rcode == dns.rcode.NXDOMAIN and not answer.exists


def test_noAnchorIsIndeterminate(hierarchy: Hierarchy) -> None:
    clock = Clock()
    clock.advance(hierarchy.now)
    anchors = TrustAnchors.fromText("elsewhere. IN DS 1 13 2 " + "00" * 32)
    resolver = ValidatingResolver(
        EngineQuerier.forHierarchy(hierarchy), trustAnchors=anchors, clock=clock
    )
    answer = resolve(resolver, "www.example.test.", "A")
    assert (answer.status, answer.ede) == (Status.INDETERMINATE, EDE.DNSSEC_INDETERMINATE)


def test_answerCarriesTheEvidence(hierarchy: Hierarchy) -> None:
    resolver, _ = makeResolver(hierarchy)
    answer = resolve(resolver, "alias.example.test.", "A")
    assert answer.secure and answer.exists
    assert [link.rrset.rdtype for link in answer.chain] == [dns.rdatatype.CNAME]
    assert answer.canonicalName == n("www.example.test.")
    assert [z.zone for z in answer.trustChain] == [n("."), n("test."), n("example.test.")]
    root = answer.trustChain[0]
    assert root.anchored and root.dsKeyTags == (hierarchy.keys[n(".")][0].keyTag,)
    assert root.dnskey is not None and len(root.dnskey) == 2
    example = answer.trustChain[2]
    assert example.ds is not None and example.signatures[0].signer == n("test.")
    assert {s.owner for s in answer.signatures} == {
        n("alias.example.test."),
        n("www.example.test."),
    }
    assert 0 < answer.ttl <= 300
    assert answer.securedBy == "validation"
    assert "secure" in str(answer)


def test_dnameChainRecordsSynthesis(hierarchy: Hierarchy) -> None:
    resolver, _ = makeResolver(hierarchy)
    answer = resolve(resolver, "www.redirect.example.test.", "A")
    assert answer.secure
    assert [(link.rrset.rdtype, link.synthesized) for link in answer.chain] == [
        (dns.rdatatype.DNAME, False),
        (dns.rdatatype.CNAME, True),
    ]
    assert answer.rrset is not None and answer.rrset.name == n("www.nsec3.test.")


def test_weakestStatusAlongTheChain(hierarchy: Hierarchy) -> None:
    resolver, _ = makeResolver(hierarchy)
    answer = resolve(resolver, "tounsigned.example.test.", "A")
    assert answer.status is Status.INSECURE
    assert answer.chain[0].status is Status.SECURE


def test_cnameChainLimit(hierarchy: Hierarchy) -> None:
    resolver, _ = makeResolver(hierarchy)
    failure = failureOf(resolver.lookup("c0.example.test.", "A"))
    assert isinstance(failure, WorkLimitExceededError) and "chain" in failure.reason
    # c0 -> c1 -> ... -> c12: twelve links, one too many for a limit of 11.
    eleven, _ = makeResolver(
        hierarchy, limits=ValidationLimits(maxCNAMEChain=11, maxQueriesPerLookup=100)
    )
    assert isinstance(failureOf(eleven.lookup("c0.example.test.", "A")), WorkLimitExceededError)
    longer, _ = makeResolver(
        hierarchy, limits=ValidationLimits(maxCNAMEChain=12, maxQueriesPerLookup=100)
    )
    assert resolve(longer, "c0.example.test.", "A").secure


def test_dnameCountsOnceInTheChain(hierarchy: Hierarchy) -> None:
    resolver, _ = makeResolver(hierarchy, limits=ValidationLimits(maxCNAMEChain=1))
    answer = resolve(resolver, "www.redirect.example.test.", "A")
    assert answer.secure and len(answer.chain) == 2


def test_cnameLoop(hierarchy: Hierarchy) -> None:
    resolver, _ = makeResolver(hierarchy)
    assert isinstance(
        failureOf(resolver.lookup("loop1.example.test.", "A")), WorkLimitExceededError
    )


def test_queriesPerLookupLimit(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy, limits=ValidationLimits(maxQueriesPerLookup=4))
    failure = failureOf(resolver.lookup("www.example.test.", "A"))
    assert isinstance(failure, WorkLimitExceededError)
    assert len(querier.queries) == 4


def test_lookupTimeout(hierarchy: Hierarchy) -> None:
    class Silent:
        def query(self, *a: object, **kw: object) -> Deferred:
            return Deferred()

    clock = Clock()
    resolver = ValidatingResolver(Silent(), trustAnchors=TrustAnchors.builtin(), clock=clock)
    d = resolver.lookup("www.example.test.", "A")
    results: list[object] = []
    d.addBoth(results.append)
    clock.advance(resolver.limits.lookupTimeout - 0.1)
    assert not results
    clock.advance(0.2)
    error = results[0].value  # type: ignore[attr-defined]
    assert isinstance(error, WorkLimitExceededError)
    assert error.ede == 22  # No Reachable Authority: a timeout, not "DNSSEC Indeterminate"
    assert error.reason == f"no answer within {resolver.limits.lookupTimeout:g} s"


def test_cache(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)
    first = resolve(resolver, "www.example.test.", "A")
    sent = len(querier.queries)
    assert resolve(resolver, "www.example.test.", "A") is first
    assert len(querier.queries) == sent
    # Another name of the same zone reuses the zone's proven keys: two queries (the data and
    # the zone-cut check), no DNSKEY or DS.
    resolve(resolver, "ssh.example.test.", "SSHFP")
    assert [q[1] for q in querier.queries[sent:]] == [dns.rdatatype.SSHFP, dns.rdatatype.DS]
    clock = resolver.clock
    assert isinstance(clock, Clock)
    clock.advance(first.ttl + 1)
    sent = len(querier.queries)
    resolve(resolver, "www.example.test.", "A")
    assert len(querier.queries) > sent


def test_cachedByText(hierarchy: Hierarchy) -> None:
    """
    Texts of one question that differ in case, final dot, or how the type is written share
    one cached answer; a meta-type is refused whatever is cached; the texts remembered are
    bounded in number and length.
    """
    from txdane.validation import resolver as module

    resolver, querier = makeResolver(hierarchy)
    first = resolve(resolver, "www.example.test", "tlsa")
    sent = len(querier.queries)
    for name, rdtype in [("WWW.Example.TEST.", "TLSA"), ("www.example.test", "tlsa")]:
        assert resolve(resolver, name, rdtype) is first
    byName: list[object] = []
    resolver.lookup(n("www.example.test."), dns.rdatatype.TLSA).addCallback(byName.append)
    assert byName == [first]
    assert len(querier.queries) == sent
    with pytest.raises(ValueError, match="cannot look up type ANY"):
        resolver.lookup("www.example.test", "ANY")
    for bad in ("BOGUS", " A", "TYPE65536", 70000, -1):
        with pytest.raises(ValueError, match=r"is not a DNS type"):
            resolver.lookup("www.example.test", bad)
    for wrong in (True, None, 1.0, b"A"):
        with pytest.raises(TypeError, match="a DNS type is its name or its number"):
            resolver.lookup("www.example.test", wrong)  # type: ignore[arg-type]
    long = "a" * (module._LONGEST_NAME_TEXT + 1)
    with pytest.raises(dns.exception.DNSException):
        resolver.lookup(long, "A")
    assert (long, "A") not in resolver._textKeys
    for index in range(module._TEXT_KEYS + 10):
        resolver.lookup(f"x{index}.nowhere.test", "A").addErrback(lambda f: None)
        assert len(resolver._textKeys) <= module._TEXT_KEYS


def test_bogusCachedBriefly(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)
    assert resolve(resolver, "nosig.example.test.", "A").status is Status.BOGUS
    sent = len(querier.queries)
    assert resolve(resolver, "nosig.example.test.", "A").status is Status.BOGUS
    assert len(querier.queries) == sent
    clock = resolver.clock
    assert isinstance(clock, Clock)
    clock.advance(resolver.limits.bogusTTL + 1)
    resolve(resolver, "nosig.example.test.", "A")
    assert len(querier.queries) > sent


def test_cacheSizeBounded(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy, limits=ValidationLimits(cacheSize=2))
    for name in ("www.example.test.", "ssh.example.test.", "mx.example.test."):
        resolve(resolver, name, "A")
    assert len(resolver._answers) == 2
    sent = len(querier.queries)
    resolve(resolver, "www.example.test.", "A")
    assert len(querier.queries) > sent


def test_convenienceLookups(hierarchy: Hierarchy) -> None:
    resolver, _ = makeResolver(hierarchy)
    results: list[object] = []
    resolver.lookupAddress("www.example.test.").addBoth(results.append)
    a: Answer
    aaaa: Answer
    a, aaaa = results[0]  # type: ignore[misc]
    assert (a.rdtype, aaaa.rdtype) == (dns.rdatatype.A, dns.rdatatype.AAAA)
    assert a.secure and aaaa.secure
    for method, name, rdtype in [
        (resolver.lookupMX, "example.test.", dns.rdatatype.MX),
        (resolver.lookupSRV, "_xmpp-client._tcp.example.test.", dns.rdatatype.SRV),
        (resolver.lookupSSHFP, "ssh.example.test.", dns.rdatatype.SSHFP),
        (resolver.lookupDS, "example.test.", dns.rdatatype.DS),
        (resolver.lookupDNSKEY, "example.test.", dns.rdatatype.DNSKEY),
    ]:
        out: list[Answer] = []
        method(name).addCallback(out.append)
        assert out[0].rdtype == rdtype and out[0].secure and out[0].exists, str(out[0])
    assert tlsaName("www.example.test", 25, "tcp") == n("_25._tcp.www.example.test.")
    with pytest.raises(ValueError):
        tlsaName("x.test", 70000)


def test_noNameIsNotTheRoot(hierarchy: Hierarchy) -> None:
    """
    A missing name (C{None}, the empty text) or a port that is no int is refused before any
    query: dnspython reads C{None} and C{""} as the root, whose secure denial of
    C{_443._tcp.} would read as "no TLSA records", and C{True} would be the label C{_True}.
    Nor does the empty text find the root's cached answers. The root itself is C{"."}.
    """
    resolver, querier = makeResolver(hierarchy)
    root = resolve(resolver, ".", "DNSKEY")
    assert root.secure and root.exists
    sent = len(querier.queries)
    for name in (None, b"www.example.test", 443):
        with pytest.raises(TypeError, match="a domain name must be a str"):
            resolver.lookup(name, "DNSKEY")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            resolver.lookupAddress(name)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            resolver.lookupTLSA(name, 443)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="the empty text is not a domain name"):
        resolver.lookup("", "DNSKEY")
    with pytest.raises(ValueError, match="the empty text is not a domain name"):
        resolver.lookupMX("")
    with pytest.raises(TLSAFormatError, match="the empty text"):
        resolver.lookupTLSA("", 443)
    for port in (True, "443", 443.0):
        with pytest.raises(TypeError, match="port must be an int"):
            resolver.lookupTLSA("www.example.test", port)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ADTrustingResolver(querier, "127.0.0.1#5353", clock=Clock()).lookup(None, "A")  # type: ignore[arg-type]
    assert len(querier.queries) == sent


def test_lookupAddressFailure(hierarchy: Hierarchy) -> None:
    resolver = ValidatingResolver(
        FailingQuerier(DNSError("timed out")), trustAnchors=TrustAnchors.builtin(), clock=Clock()
    )
    assert isinstance(failureOf(resolver.lookupAddress("www.example.test.")), LookupFailedError)


# -- KeyTrap ----------------------------------------------------------------------------------


def hostileZone(collisions: int, signatures: int) -> tuple[TableQuerier, TrustAnchors]:
    """
    A zone (anchored by its key) whose DNSKEY RRset holds many keys sharing one key tag, and
    whose A RRset carries many signatures claiming that tag: the KeyTrap shape.
    """
    ksk = Key()
    fakes = [collidingKey(ksk.tag, flags=257) for _ in range(collisions)]
    keys = keyset("hostile.", [ksk.dnskey, *fakes])
    data = rrset("www.hostile. 300 IN A 192.0.2.1")
    good = ksk.sign(data, "hostile.")
    sigs: list = [good.replace(signature=os.urandom(64)) for _ in range(signatures)]
    querier = TableQuerier()
    querier.add("hostile.", "DNSKEY", (keys, sigset(n("hostile."), [ksk.sign(keys, "hostile.")])))
    querier.add("www.hostile.", "A", (data, sigset(data.name, sigs)))
    anchors = TrustAnchors.fromText(f"hostile. IN DNSKEY {ksk.dnskey.to_text()}")
    return querier, anchors


def keyTrapResolver(
    querier: TableQuerier, anchors: TrustAnchors, **limits: Any
) -> ValidatingResolver:
    clock = Clock()
    clock.advance(NOW)
    return ValidatingResolver(
        querier, trustAnchors=anchors, clock=clock, limits=ValidationLimits(**limits)
    )


def test_keyTrapBoundedPerRRset() -> None:
    querier, anchors = hostileZone(collisions=20, signatures=30)
    resolver = keyTrapResolver(querier, anchors)
    answer = resolve(resolver, "www.hostile.", "A")
    assert (answer.status, answer.ede) == (Status.BOGUS, EDE.DNSSEC_BOGUS)
    # One check proves the DNSKEY RRset by the anchor; then at most 8 for the A RRset,
    # instead of 30 signatures x 21 keys = 630.
    assert resolver.lastSignatureChecks == 1 + resolver.limits.maxSignatureChecksPerRRset


def test_keyTrapBoundedPerLookup() -> None:
    querier, anchors = hostileZone(collisions=20, signatures=30)
    resolver = keyTrapResolver(querier, anchors, maxSignatureChecksPerLookup=5)
    answer = resolve(resolver, "www.hostile.", "A")
    assert answer.status is Status.BOGUS
    assert resolver.lastSignatureChecks == 5


def test_keysPerTagBounded() -> None:
    querier, anchors = hostileZone(collisions=20, signatures=1)
    resolver = keyTrapResolver(querier, anchors)
    resolve(resolver, "www.hostile.", "A")
    assert resolver.lastSignatureChecks == 1 + resolver.limits.maxKeysPerKeyTag


# -- DS digests and mismatches -----------------------------------------------------------------


def delegated(dsDigests: list[tuple[str, bool]], **limits: Any) -> ValidatingResolver:
    """
    Parent C{p.} (anchored) delegating to C{c.p.} with DS records of the given digest types,
    each matching the child's key or not.
    """
    parent, child = Key(), Key()
    querier = TableQuerier()
    pkeys = keyset("p.", [parent.dnskey])
    querier.add("p.", "DNSKEY", (pkeys, sigset(n("p."), [parent.sign(pkeys, "p.")])))
    lines = []
    for digest, matches in dsDigests:
        import dns.dnssec

        ds = dns.dnssec.make_ds(
            "c.p.", child.dnskey, digest, policy=dns.dnssec.allow_all_policy, validating=True
        )
        if not matches:
            ds = ds.replace(digest=os.urandom(len(ds.digest)))  # type: ignore[assignment]
        lines.append(ds.to_text())
    dsset = dns.rrset.from_text("c.p.", 300, "IN", "DS", *lines)
    querier.add("c.p.", "DS", (dsset, sigset(dsset.name, [parent.sign(dsset, "p.")])))
    ckeys = keyset("c.p.", [child.dnskey])
    querier.add("c.p.", "DNSKEY", (ckeys, sigset(n("c.p."), [child.sign(ckeys, "c.p.")])))
    data = rrset("c.p. 300 IN A 192.0.2.1")
    querier.add("c.p.", "A", (data, sigset(data.name, [child.sign(data, "c.p.")])))
    anchors = TrustAnchors.fromText(f"p. IN DNSKEY {parent.dnskey.to_text()}")
    clock = Clock()
    clock.advance(NOW)
    return ValidatingResolver(
        querier, trustAnchors=anchors, clock=clock, limits=ValidationLimits(**limits)
    )


def test_sha1DSWhenNothingStronger() -> None:
    assert resolve(delegated([("SHA1", True)]), "c.p.", "A").secure


def test_sha1DSIgnoredBesideStronger() -> None:
    answer = resolve(delegated([("SHA1", True), ("SHA256", False)]), "c.p.", "A")
    assert (answer.status, answer.ede) == (Status.BOGUS, EDE.DNSKEY_MISSING)


def test_sha384DS() -> None:
    assert resolve(delegated([("SHA384", True)]), "c.p.", "A").secure


def test_dsMismatchLimit() -> None:
    # Each DS names the child's key tag; the ones that do not match count as mismatches.
    digests = [("SHA256", False)] * 3 + [("SHA256", True)]
    assert resolve(delegated(digests), "c.p.", "A").secure
    answer = resolve(delegated(digests, maxDSMismatches=2), "c.p.", "A")
    assert answer.status is Status.BOGUS and "failed to match" in answer.reason


# -- trust-AD mode ---------------------------------------------------------------------------


def test_trustAD() -> None:
    querier = TableQuerier()
    data = rrset("www.example. 300 IN A 192.0.2.1")
    querier.add("www.example.", "A", (data,))
    resolver = ADTrustingResolver(querier, "127.0.0.1#5353", clock=Clock())
    out: list[Answer] = []
    resolver.lookup("www.example.", "A").addCallback(out.append)
    assert out[0].status is Status.INSECURE
    assert out[0].securedBy == "AD bit from 127.0.0.1#5353"
    querier.ad = True
    resolver.lookup("www.example.", "A").addCallback(out.append)
    assert out[1].status is Status.SECURE and out[1].records == list(data)
    assert "127.0.0.1#5353 set the AD bit" in out[1].reason
    flags = querier.queries[-1][2]
    assert flags["dnssecOK"] and not flags["checkingDisabled"]


def test_trustADFailures() -> None:
    querier = TableQuerier()
    querier.fail("www.example.", "A", DNSError("timed out"))
    querier.add("bad.example.", "A", rcode=dns.rcode.SERVFAIL)
    resolver = ADTrustingResolver(querier, "127.0.0.1", clock=Clock())
    assert isinstance(failureOf(resolver.lookup("www.example.", "A")), LookupFailedError)
    failure = failureOf(resolver.lookup("bad.example.", "A"))
    assert isinstance(failure, LookupFailedError) and "SERVFAIL" in failure.reason


def test_trustADFollowsChain() -> None:
    querier = TableQuerier()
    querier.ad = True
    cname = rrset("alias.example. 300 IN CNAME www.example.")
    data = rrset("www.example. 300 IN A 192.0.2.1")
    querier.add("alias.example.", "A", (cname, data))
    resolver = ADTrustingResolver(querier, "127.0.0.1", clock=Clock())
    out: list[Answer] = []
    resolver.lookup("alias.example.", "A").addCallback(out.append)
    assert out[0].rrset == data and len(out[0].chain) == 1 and out[0].secure
    assert dns.flags.AD


def test_cacheByText(hierarchy: Hierarchy) -> None:
    resolver, querier = makeResolver(hierarchy)
    first = resolve(resolver, "www.example.test", "a")
    sent = len(querier.queries)
    assert resolve(resolver, "WWW.Example.Test.", "A") is first
    assert resolve(resolver, "www.example.test.", dns.rdatatype.A) is first
    assert len(querier.queries) == sent
    other = resolve(resolver, "www.example.test.", "AAAA")
    assert other.rdtype == dns.rdatatype.AAAA and len(querier.queries) > sent


def test_injectedSignatureDoesNotHideTheGoodOne(hierarchy: Hierarchy) -> None:
    """
    An extra RRSIG claiming a deeper signer is tried and fails; the real one still validates.
    """
    resolver, querier = makeResolver(hierarchy)

    def inject(message: dns.message.Message) -> dns.message.Message:
        for rr in message.answer:
            if rr.rdtype == dns.rdatatype.RRSIG:
                good = rr[0]
                rr.add(good.replace(signer=n("www.example.test."), signature=os.urandom(64)))
        return message

    querier.tamper[("www.example.test.", "A")] = inject
    answer = resolve(resolver, "www.example.test.", "A")
    assert answer.secure, str(answer)
    assert answer.signatures[0].signer == n("example.test.")


def test_dnameSubstitutionTooLong() -> None:
    long = ".".join(["a" * 60] * 3) + ".target."
    querier = TableQuerier()
    query = "x" * 60 + "." + "y" * 60 + ".d.p."
    querier.add(query, "A", (rrset(f"d.p. 300 IN DNAME {long}"),))
    resolver = ValidatingResolver(
        querier,
        trustAnchors=TrustAnchors.fromText("elsewhere. IN DS 1 13 2 " + "00" * 32),
        clock=Clock(),
    )
    failure = failureOf(resolver.lookup(query, "A"))
    assert isinstance(failure, LookupFailedError) and "255 octets" in failure.reason


def test_unexpectedErrorFailsClosed(hierarchy: Hierarchy) -> None:
    resolver, _ = makeResolver(hierarchy)

    async def broken(*args: object) -> None:
        raise RuntimeError("surprise")

    resolver._chain.zoneKeys = broken  # type: ignore[method-assign,assignment]
    failure = failureOf(resolver.lookup("www.example.test.", "A"))
    assert isinstance(failure, LookupFailedError)
    assert isinstance(failure.cause, RuntimeError) and "surprise" in str(failure)


class DelayedQuerier:
    """
    Answers from the hierarchy only when told to, so that lookups overlap.
    """

    def __init__(self, hierarchy: Hierarchy) -> None:
        self.engine = EngineQuerier.forHierarchy(hierarchy)
        self.pending: list[tuple[Deferred, dns.message.Message]] = []

    def query(
        self, name: object, rdtype: object, rdclass: object = "IN", **flags: bool
    ) -> Deferred:
        box: list[dns.message.Message] = []
        self.engine.query(name, rdtype, **flags).addCallback(box.append)  # type: ignore[arg-type]
        d: Deferred = Deferred()
        self.pending.append((d, box[0]))
        return d

    def flush(self) -> None:
        while self.pending:
            d, response = self.pending.pop(0)
            if not d.called:
                d.callback(response)


def test_concurrentLookupsShareTheChain(hierarchy: Hierarchy) -> None:
    querier = DelayedQuerier(hierarchy)
    clock = Clock()
    clock.advance(hierarchy.now)
    resolver = ValidatingResolver(
        querier, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]), clock=clock
    )
    results: list[object] = []
    resolver.lookupAddress("www.example.test.").addBoth(results.append)
    querier.flush()
    pair = results[0]
    assert isinstance(pair, tuple)
    assert all(answer.secure for answer in pair)
    dnskeys = [q for q in querier.engine.queries if q[1] == dns.rdatatype.DNSKEY]
    assert len(dnskeys) == 3  # ., test., example.test.: once each


def test_waiterRecomputesWhenTheWorkerTimesOut(hierarchy: Hierarchy) -> None:
    querier = DelayedQuerier(hierarchy)
    clock = Clock()
    clock.advance(hierarchy.now)
    resolver = ValidatingResolver(
        querier, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]), clock=clock
    )
    first: list[object] = []
    resolver.lookup("www.example.test.", "A").addBoth(first.append)
    # Let the first lookup get as far as waiting for the root's keys.
    while not any(q[1] == dns.rdatatype.DNSKEY for q in querier.engine.queries):
        d, response = querier.pending.pop(0)
        d.callback(response)
    clock.advance(5)
    second: list[object] = []
    resolver.lookup("www.example.test.", "AAAA").addBoth(second.append)
    # Answer only the second lookup's own question: it then waits for the zone keys the
    # first lookup is working on.
    (entry,) = [p for p in querier.pending if p[1].question[0].rdtype == dns.rdatatype.AAAA]
    querier.pending.remove(entry)
    entry[0].callback(entry[1])
    assert any(resolver._chain._pending.values()) and not second
    clock.advance(resolver.limits.lookupTimeout - 4)
    assert isinstance(first[0].value, WorkLimitExceededError)  # type: ignore[attr-defined]
    querier.flush()
    assert isinstance(second[0], Answer) and second[0].secure, second


def test_nsec3RecordsPerProofLimit(hierarchy: Hierarchy) -> None:
    """
    A negative answer stuffed with NSEC3 records is bogus before any of them is hashed or
    its signature checked.
    """
    resolver, querier = makeResolver(hierarchy)
    resolve(resolver, "www.nsec3.test.", "A")  # prove the zone's keys first
    before = resolver._chain.zoneCache.get(n("nsec3.test."))
    assert before is not None

    def stuff(message: dns.message.Message) -> dns.message.Message:
        nsec3s = [r for r in message.authority if r.rdtype == dns.rdatatype.NSEC3]
        sigs = [r for r in message.authority if r.rdtype == dns.rdatatype.RRSIG]
        template, sig = nsec3s[0], next(s for s in sigs if s.name == nsec3s[0].name)
        for i in range(resolver.limits.maxNSEC3RecordsPerProof):
            owner = dns.name.from_text(f"{i:032d}", n("nsec3.test."))
            message.authority.append(dns.rrset.from_rdata_list(owner, 300, list(template)))
            message.authority.append(dns.rrset.from_rdata_list(owner, 300, list(sig)))
        return message

    querier.tamper[("nx.nsec3.test.", "A")] = stuff
    answer = resolve(resolver, "nx.nsec3.test.", "A")
    assert (answer.status, answer.ede) == (Status.BOGUS, EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE)
    assert resolver.lastSignatureChecks == 0


def test_walkStopsAtAName(hierarchy: Hierarchy) -> None:
    """
    Looking for a cut above unsigned data, the walk down stops at a label the signed zone
    proves absent: nothing below it can be a cut.
    """
    resolver, querier = makeResolver(hierarchy)

    def strip(message: dns.message.Message) -> dns.message.Message:
        message.authority = [r for r in message.authority if r.rdtype == dns.rdatatype.SOA]
        return message

    querier.tamper[("a.b.c.d.nx.example.test.", "A")] = strip
    answer = resolve(resolver, "a.b.c.d.nx.example.test.", "A")
    assert answer.status is Status.BOGUS
    asked = [q[0].to_text() for q in querier.queries if q[1] == dns.rdatatype.DS]
    assert asked == ["test.", "example.test.", "nx.example.test."]


def test_overLimitNSEC3ZoneStrippedReadsInsecure(hierarchy: Hierarchy) -> None:
    """
    The documented trade of the NSEC3 iteration limit: in such a zone the proof that would
    make stripped data bogus is not computed, so it reads as insecure with EDE 27.
    """
    resolver, querier = makeResolver(hierarchy)

    def strip(message: dns.message.Message) -> dns.message.Message:
        message.answer = [r for r in message.answer if r.rdtype != dns.rdatatype.RRSIG]
        return message

    querier.tamper[("www.iterations.test.", "A")] = strip
    answer = resolve(resolver, "www.iterations.test.", "A")
    assert (answer.status, answer.ede) == (Status.INSECURE, EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE)

"""
Tests for L{txdane.endpoints.srvplan}: every rule of SRV services with DANE (RFC 2782, RFC
7673, XEP-0368), in memory, with a fake random source.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable

import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from txdane.dane.decision import (
    Action,
    ConnectionPlan,
    Policy,
    TLSAResult,
    planConnection,
    planWithoutTLSA,
)
from txdane.dane.errors import DANEPolicyError
from txdane.dane.pkix import PKIXTrust
from txdane.dane.tlsa import TLSARecord
from txdane.endpoints.errors import NoSuchServiceError, ServiceNotOfferedError, SRVLookupError
from txdane.endpoints.planner import _MOST_HOSTS
from txdane.endpoints.srvplan import (
    MAX_SRV_TARGETS,
    SERVICES,
    ServiceTarget,
    forService,
    lookupNames,
    orderRecords,
    planService,
    referenceNames,
    serviceByName,
    withoutTLSA,
)
from txdane.errors import LookupFailedError
from txdane.status import Status
from txdane.validation.answer import Answer

DOMAIN = dns.name.from_text("example.com")
XMPP = SERVICES["xmpp-client"]
XMPPS = SERVICES["xmpps-client"]
CLIENT = XMPP.srvName(DOMAIN)
DIRECT = XMPPS.srvName(DOMAIN)
EE = TLSARecord(3, 1, 1, bytes(range(32)))


class FakeRandom:
    """
    Returns the numbers it was given, in order, and records each range asked for.
    """

    def __init__(self, numbers: Iterable[int] = ()) -> None:
        self.numbers = list(numbers)
        self.asked: list[tuple[int, int]] = []

    def randint(self, a: int, b: int) -> int:
        self.asked.append((a, b))
        n = self.numbers.pop(0) if self.numbers else a
        assert a <= n <= b
        return n


def srv(name: dns.name.Name, *records: str, status: Status = Status.SECURE) -> Answer:
    if not records:
        return Answer(name, dns.rdatatype.SRV, dns.rcode.NXDOMAIN, None, status, "no such name")
    rrset = dns.rrset.from_text_list(name, 300, "IN", "SRV", list(records))
    return Answer(name, dns.rdatatype.SRV, dns.rcode.NOERROR, rrset, status, "")


def target(host: str, priority: int = 0, weight: int = 0, service: str = "xmpp-client"):
    return ServiceTarget(host, 5222, SERVICES[service], True, priority, weight)


def hosts(plan_or_targets) -> list[str]:
    targets = getattr(plan_or_targets, "targets", plan_or_targets)
    return [t.host for t in targets]


class TestServices:
    def test_starttlsOrDirect(self) -> None:
        """
        Each service maps to the STARTTLS of its protocol, or to TLS from the first byte.
        """
        starttls = {name: s.starttls for name, s in SERVICES.items()}
        assert starttls == {
            "xmpp-client": "xmpp-client",
            "xmpp-server": "xmpp-server",
            "imap": "imap",
            "pop3": "pop3",
            "submission": "smtp",
            "xmpps-client": None,
            "xmpps-server": None,
            "imaps": None,
            "pop3s": None,
            "submissions": None,
        }

    def test_defaultPorts(self) -> None:
        ports = {name: s.defaultPort for name, s in SERVICES.items()}
        assert ports == {
            "xmpp-client": 5222,
            "xmpp-server": 5269,
            "imap": 143,
            "imaps": 993,
            "pop3": 110,
            "pop3s": 995,
            "submission": 587,
            "submissions": 465,
            "xmpps-client": None,
            "xmpps-server": None,
        }

    def test_directXMPPSendsALPN(self) -> None:
        assert XMPPS.alpn == (b"xmpp-client",)
        assert SERVICES["xmpps-server"].alpn == (b"xmpp-server",)
        assert XMPP.alpn == ()

    def test_byName(self) -> None:
        assert serviceByName("_XMPP-Client") is XMPP
        with pytest.raises(NoSuchServiceError, match="unknown service 'gopher'"):
            serviceByName("gopher")

    def test_lookupNames(self) -> None:
        """
        xmpp-client also looks up _xmpps-client._tcp (XEP-0368); other services one name.
        """
        assert lookupNames(XMPP, DOMAIN) == {CLIENT: XMPP, DIRECT: XMPPS}
        imap = SERVICES["imap"]
        assert list(lookupNames(imap, DOMAIN)) == [dns.name.from_text("_imap._tcp.example.com")]
        assert list(lookupNames(XMPPS, DOMAIN)) == [DIRECT]


class TestOrder:
    def test_priorityFirst(self) -> None:
        """
        Lower priority values come first, whatever the weights.
        """
        targets = [target("c", 20, 100), target("a", 0, 1), target("b", 10, 50)]
        assert hosts(orderRecords(targets, FakeRandom())) == ["a", "b", "c"]

    def test_weightedSelection(self) -> None:
        """
        Within a priority, the random number picks the first target whose running sum of
        weights reaches it (RFC 2782); the chosen one leaves the list.
        """
        targets = [target("a", 0, 10), target("b", 0, 20), target("c", 0, 70)]
        fake = FakeRandom([25, 75, 0])
        # 25: a=10, a+b=30 >= 25 -> b. Then a, c (10, 80): 75 -> c. Then a.
        assert hosts(orderRecords(targets, fake)) == ["b", "c", "a"]
        assert fake.asked == [(0, 100), (0, 80), (0, 10)]

    def test_zeroWeightFirstInList(self) -> None:
        """
        Weight-0 targets are placed first, so a draw of 0 picks them; any larger draw passes
        over them.
        """
        targets = [target("heavy", 0, 5), target("zero", 0, 0)]
        assert hosts(orderRecords(targets, FakeRandom([0]))) == ["zero", "heavy"]
        assert hosts(orderRecords(targets, FakeRandom([3]))) == ["heavy", "zero"]

    def test_directTLSBeforeStartTLSOnTies(self) -> None:
        """
        Equal priority and weight: direct TLS (xmpps-client) is listed first (XEP-0368).
        """
        targets = [target("plain", 5, 0), target("direct", 5, 0, service="xmpps-client")]
        assert hosts(orderRecords(targets, FakeRandom())) == ["direct", "plain"]

    def test_weightsProportional(self) -> None:
        """
        With a real random source, the heavier target comes first more often, in the
        proportions of RFC 2782's algorithm as written (and as other resolvers implement it):
        a draw from 0 to the sum inclusive gives weights 1 and 3 the chances 2/5 and 3/5.
        """
        source = random.Random(7)
        firsts = Counter(
            orderRecords([target("a", 0, 1), target("b", 0, 3)], source)[0].host
            for _ in range(4000)
        )
        assert 1.35 < firsts["b"] / firsts["a"] < 1.65


def orderAsWritten(targets: list[ServiceTarget], source: random.Random) -> list[ServiceTarget]:
    """
    RFC 2782's order as its text describes it, one pass over the targets left per draw (as
    txdane ordered them before: quadratic in their number).
    """
    ordered: list[ServiceTarget] = []
    for priority in sorted({t.priority for t in targets}):
        remaining = sorted(
            (t for t in targets if t.priority == priority),
            key=lambda t: (t.weight != 0, t.service.starttls is not None, t.host, t.port),
        )
        while remaining:
            pick = source.randint(0, sum(t.weight for t in remaining))
            running = 0
            chosen = len(remaining) - 1
            for index, candidate in enumerate(remaining):
                running += candidate.weight
                if running >= pick:
                    chosen = index
                    break
            ordered.append(remaining.pop(chosen))
    return ordered


class TestOrderBounded:
    """
    The SRV records are the zone's to choose, thousands in one answer: their order costs
    O(n log n), the same order as RFC 2782's algorithm as written, and a plan lists at most
    L{MAX_SRV_TARGETS} of them.
    """

    @pytest.mark.parametrize("seed", range(40))
    def test_sameOrderAsWritten(self, seed: int) -> None:
        """
        Given the same random numbers, the order is the one RFC 2782's algorithm as written
        gives (weight-0 targets, ties, several priorities), and a limit keeps its start.
        """
        draw = random.Random(seed)
        targets = [
            target(
                f"h{i}",
                draw.choice([0, 0, 1, 10, draw.randint(0, 3)]),
                draw.choice([0, 0, 1, 2, 7, 100, draw.randint(0, 65535)]),
                draw.choice(["xmpp-client", "xmpps-client"]),
            )
            for i in range(draw.randint(1, 60))
        ]
        expected = orderAsWritten(targets, random.Random(seed))
        assert orderRecords(targets, random.Random(seed)) == expected
        limit = draw.randint(0, len(targets))
        assert orderRecords(targets, random.Random(seed), limit) == expected[:limit]

    def test_limitDrawsNoMore(self) -> None:
        """
        Ordering with a limit draws as many numbers as it lists targets.
        """
        targets = [target("a", 0, 10), target("b", 0, 20), target("c", 0, 70), target("d", 1)]
        fake = FakeRandom([25, 75])
        assert hosts(orderRecords(targets, fake, 2)) == ["b", "c"]
        assert fake.asked == [(0, 100), (0, 80)]

    def test_boundCoversMaxHosts(self) -> None:
        """
        The plan lists at least as many targets as any C{maxHosts} may ask to try.
        """
        assert MAX_SRV_TARGETS >= _MOST_HOSTS

    @pytest.mark.parametrize("priorities", ["one", "each its own"])
    def test_planBounded(self, priorities: str) -> None:
        """
        6,000 targets (the review's reproduction had 6,500, ordered in 2.1 s) make a plan of
        the first L{MAX_SRV_TARGETS} of their order, for which as many numbers are drawn.
        """

        def records(port: int, first: int) -> list[str]:
            return [
                f"{0 if priorities == 'one' else i} {i % 7} {port} h{i}.example.com."
                for i in range(first, first + 3000)
            ]

        outcomes = {
            CLIENT: srv(CLIENT, *records(5222, 0)),
            DIRECT: srv(DIRECT, *records(5223, 3000)),
        }
        fake = FakeRandom()
        plan = planService(XMPP, DOMAIN, outcomes, fake)
        assert len(plan.targets) == MAX_SRV_TARGETS
        assert len(fake.asked) == MAX_SRV_TARGETS
        if priorities == "each its own":
            assert [t.priority for t in plan.targets] == list(range(MAX_SRV_TARGETS))


class TestPlanService:
    def test_merged(self) -> None:
        """
        The STARTTLS and direct TLS records are merged by priority and weight, each target
        keeping its own service.
        """
        outcomes = {
            CLIENT: srv(CLIENT, "10 0 5222 xmpp1.example.com.", "30 0 5222 xmpp3.example.com."),
            DIRECT: srv(DIRECT, "20 0 5223 xmpp2.example.com."),
        }
        plan = planService(XMPP, DOMAIN, outcomes, FakeRandom())
        assert [(t.host, t.port, t.service.name) for t in plan.targets] == [
            ("xmpp1.example.com", 5222, "xmpp-client"),
            ("xmpp2.example.com", 5223, "xmpps-client"),
            ("xmpp3.example.com", 5222, "xmpp-client"),
        ]
        assert all(t.secure and not t.implicit for t in plan.targets)
        assert plan.domain == "example.com"

    @pytest.mark.parametrize("status", [Status.BOGUS, Status.INDETERMINATE])
    def test_bogusRefuses(self, status: Status) -> None:
        """
        A bogus or indeterminate lookup refuses, even when the other merged set is fine.
        """
        outcomes = {
            CLIENT: srv(CLIENT, "10 0 5222 xmpp.example.com."),
            DIRECT: Answer(
                DIRECT, dns.rdatatype.SRV, dns.rcode.NOERROR, None, status, "RRSIG expired", 7
            ),
        }
        with pytest.raises(SRVLookupError) as caught:
            planService(XMPP, DOMAIN, outcomes, FakeRandom())
        assert caught.value.status is status
        assert caught.value.ede == 7
        assert str(caught.value) == (
            f"_xmpps-client._tcp.example.com SRV refused: the lookup is {status} (EDE 7): "
            "RRSIG expired"
        )

    def test_failedLookupRefuses(self) -> None:
        """
        A lookup that did not complete (SERVFAIL, timeout) refuses: never "no SRV".
        """
        failure = LookupFailedError(CLIENT, dns.rdatatype.SRV, "SERVFAIL from 192.0.2.1", 22)
        outcomes: dict[dns.name.Name, Answer | BaseException] = {
            CLIENT: failure,
            DIRECT: srv(DIRECT),
        }
        with pytest.raises(SRVLookupError, match="SERVFAIL") as caught:
            planService(XMPP, DOMAIN, outcomes, FakeRandom())
        assert caught.value.status is None
        assert caught.value.ede == 22

    def test_dotMeansNotOffered(self) -> None:
        """
        A single record with target "." is a permanent refusal, with no fallback to the
        domain itself.
        """
        outcomes = {CLIENT: srv(CLIENT, "0 0 0 ."), DIRECT: srv(DIRECT)}
        with pytest.raises(ServiceNotOfferedError) as caught:
            planService(XMPP, DOMAIN, outcomes, FakeRandom())
        assert str(caught.value) == "example.com does not offer xmpp-client: its SRV target is '.'"

    def test_dotInOneMergedSet(self) -> None:
        """
        "." for direct TLS with STARTTLS records: the STARTTLS targets are used.
        """
        outcomes = {
            CLIENT: srv(CLIENT, "5 0 5222 xmpp.example.com."),
            DIRECT: srv(DIRECT, "0 0 0 ."),
        }
        assert hosts(planService(XMPP, DOMAIN, outcomes, FakeRandom())) == ["xmpp.example.com"]

    def test_dotForDirectTLSWithoutSTARTTLSRecords(self) -> None:
        """
        "." for direct TLS and no STARTTLS records: the service is not offered, with no
        fallback to the domain itself. A domain that answers with SRV records uses them:
        XEP-0368 (section 5, since version 1.1.0) says to look up the STARTTLS records then
        and forbids the A/AAAA fallback of RFC 6120, whose section 3.2.1 already advises
        against it once an SRV answer came.
        """
        outcomes = {CLIENT: srv(CLIENT), DIRECT: srv(DIRECT, "0 0 0 .")}
        with pytest.raises(ServiceNotOfferedError) as caught:
            planService(XMPP, DOMAIN, outcomes, FakeRandom())
        assert str(caught.value) == "example.com does not offer xmpp-client: its SRV target is '.'"

    @pytest.mark.parametrize("status", [Status.SECURE, Status.INSECURE])
    def test_noSRVImplicitTarget(self, status: Status) -> None:
        """
        No SRV records at all: the domain itself on the service's default port.
        """
        outcomes = {CLIENT: srv(CLIENT, status=status), DIRECT: srv(DIRECT, status=status)}
        plan = planService(XMPP, DOMAIN, outcomes, FakeRandom())
        [implicit] = plan.targets
        assert (implicit.host, implicit.port, implicit.service) == ("example.com", 5222, XMPP)
        assert implicit.implicit and implicit.secure

    def test_noSRVNoDefaultPort(self) -> None:
        with pytest.raises(ServiceNotOfferedError, match="no default port"):
            planService(XMPPS, DOMAIN, {DIRECT: srv(DIRECT)}, FakeRandom())

    def test_insecureTargets(self) -> None:
        """
        Targets named by insecure SRV records are marked so: DANE will not apply to them.
        """
        outcomes = {
            CLIENT: srv(CLIENT, "5 0 5222 xmpp.example.com.", status=Status.INSECURE),
            DIRECT: srv(DIRECT, status=Status.INSECURE),
        }
        [only] = planService(XMPP, DOMAIN, outcomes, FakeRandom()).targets
        assert not only.secure

    def test_weightedOrderUsesRandom(self) -> None:
        outcomes = {
            CLIENT: srv(CLIENT, "0 1 5222 a.example.com.", "0 9 5222 b.example.com."),
            DIRECT: srv(DIRECT),
        }
        assert hosts(planService(XMPP, DOMAIN, outcomes, FakeRandom([1]))) == [
            "a.example.com",
            "b.example.com",
        ]
        assert hosts(planService(XMPP, DOMAIN, outcomes, FakeRandom([2]))) == [
            "b.example.com",
            "a.example.com",
        ]


TARGET = ServiceTarget("xmpp.hosting.net", 5222, XMPP, True)


def tlsa(status: Status, *records: TLSARecord, **kw) -> TLSAResult:
    return TLSAResult(status, records, dns.name.from_text(TARGET.host), **kw)


def planTarget(
    target: ServiceTarget,
    domain: str,
    tlsa: TLSAResult | BaseException | None,
    policy: Policy = Policy.DEFAULT,
    *,
    trust: PKIXTrust | None = None,
) -> ConnectionPlan:
    """
    The plan L{SRVEndpoint<txdane.endpoints.srv.SRVEndpoint>} makes for a target: its
    candidate's reference names and TLSA rule, the host's plan as C{dane:host=} makes it
    (L{planConnection}, or L{planWithoutTLSA} when the TLSA records are not consulted:
    C{tlsa=None}), then L{forService}.
    """
    if tlsa is None:
        why = withoutTLSA(target) or "the target's address records are insecure"
        plan = planWithoutTLSA(target.host, target.port, why, policy, trust=trust)
    else:
        plan = planConnection(
            tlsa,
            target.host,
            target.port,
            policy,
            extraNames=referenceNames(target, domain),
            trust=trust,
        )
    return forService(target, domain, plan)


class TestPlanTarget:
    def test_withoutTLSA(self) -> None:
        """
        The TLSA records of a target named by insecure SRV records are not consulted.
        """
        insecure = ServiceTarget("x.example.net", 5222, XMPP, False)
        assert withoutTLSA(TARGET) is None
        assert withoutTLSA(insecure) == "the SRV records are insecure"

    def test_insecureSRVIsPKIXForServiceDomain(self) -> None:
        """
        No DANE (insecure SRV, or insecure addresses): PKIX against the service domain,
        which is also the SNI.
        """
        trust = PKIXTrust(())
        plan = planTarget(TARGET, "example.com", None, trust=trust)
        assert plan.action is Action.PKIX
        assert plan.serverName == "example.com"
        assert (plan.host, plan.port) == (TARGET.host, 5222)
        assert plan.trust is trust

    def test_daneReferenceIdentifiers(self) -> None:
        """
        Secure TLSA: DANE, with the target and the service domain as reference identifiers.
        """
        plan = planTarget(TARGET, "example.com.", tlsa(Status.SECURE, EE))
        assert plan.action is Action.DANE
        assert plan.records == (EE,)
        assert plan.matchOptions.referenceNames == ("xmpp.hosting.net", "example.com")

    def test_sniXMPPIsServiceDomain(self) -> None:
        """
        XMPP (XEP-0368): SNI is the service domain, the JID's domain, under DANE too.
        """
        assert planTarget(TARGET, "example.com", tlsa(Status.SECURE, EE)).serverName == (
            "example.com"
        )
        direct = ServiceTarget("xmpp.hosting.net", 5223, XMPPS, True)
        assert planTarget(direct, "example.com", tlsa(Status.SECURE, EE)).serverName == (
            "example.com"
        )

    def test_sniOthersIsTargetUnderDANE(self) -> None:
        """
        Other services (RFC 7673): SNI is the target, the TLSA base domain, under DANE; the
        service domain without it.
        """
        imaps = ServiceTarget("imap.hosting.net", 993, SERVICES["imaps"], True)
        result = TLSAResult(Status.SECURE, (EE,), dns.name.from_text("imap.hosting.net"))
        assert planTarget(imaps, "example.com", result).serverName == "imap.hosting.net"
        assert planTarget(imaps, "example.com", None).serverName == "example.com"

    @pytest.mark.parametrize("status", [Status.SECURE, Status.INSECURE])
    def test_noTLSAIsPKIXForServiceDomain(self, status: Status) -> None:
        plan = planTarget(TARGET, "example.com", tlsa(status))
        assert plan.action is Action.PKIX
        assert plan.serverName == "example.com"

    def test_bogusTLSARefuses(self) -> None:
        with pytest.raises(DANEPolicyError, match="bogus") as caught:
            planTarget(TARGET, "example.com", tlsa(Status.BOGUS, reason="expired"))
        assert caught.value.host == TARGET.host

    def test_failedTLSARefuses(self) -> None:
        failure = LookupFailedError(
            dns.name.from_text("_5222._tcp.xmpp.hosting.net"), dns.rdatatype.TLSA, "timeout"
        )
        with pytest.raises(DANEPolicyError, match="timeout"):
            planTarget(TARGET, "example.com", failure)

    def test_requireRefusesWithoutDANE(self) -> None:
        insecure = ServiceTarget("x.example.net", 5222, XMPP, False)
        with pytest.raises(DANEPolicyError, match="SRV records are insecure"):
            planTarget(insecure, "example.com", None, Policy.DANE_ONLY)
        with pytest.raises(DANEPolicyError, match="address records are insecure"):
            planTarget(TARGET, "example.com", None, Policy.DANE_ONLY)
        with pytest.raises(DANEPolicyError, match="DANE is required"):
            planTarget(TARGET, "example.com", tlsa(Status.SECURE), Policy.DANE_ONLY)

    def test_implicitTargetOwnName(self) -> None:
        """
        The implicit target is the service domain: it is not repeated as an extra name.
        """
        implicit = ServiceTarget("example.com", 5222, XMPP, True, implicit=True)
        result = TLSAResult(Status.SECURE, (EE,), DOMAIN)
        plan = planTarget(implicit, "example.com", result)
        assert plan.matchOptions.referenceNames == ("example.com",)


def test_numericTargetUnusable() -> None:
    """
    An SRV target whose name is an IP address is no host name (RFC 2782): it keeps its
    place in the order, marked unusable with the reason, and is never dialled.
    """
    outcomes = {
        CLIENT: srv(CLIENT, "0 0 5222 127.0.0.1.", "10 0 5222 xmpp.example.com."),
        DIRECT: srv(DIRECT, "5 0 5223 ::1."),
    }
    plan = planService(XMPP, DOMAIN, outcomes, FakeRandom())
    assert hosts(plan) == ["127.0.0.1", "::1", "xmpp.example.com"]
    assert [t.unusable for t in plan.targets] == [
        "SRV target 127.0.0.1.: a numeric name, not a host name (RFC 2782)",
        "SRV target ::1.: a numeric name, not a host name (RFC 2782)",
        None,
    ]

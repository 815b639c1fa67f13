"""
The world the attacker works in: the signed test hierarchy of L{txdane.testing}, plus two
parents (C{split.test.} signed with NSEC, C{split3.test.} with NSEC3) that held their child's
names before a signed child zone was split out of them.

Each old parent is still signed with the same key and its signatures are still valid: an
attacker who kept its records can replay its old NXDOMAIN for a name the child now holds
(C{_443._tcp.www.child.split.test.} had no TLSA then), and its old NSEC for the DS query of a
grandchild that was an unsigned delegation then (C{sub.child.split.test.}) and is a signed zone
now.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec
from twisted.internet.task import Clock

from txdane.server.responder import Responder
from txdane.server.service import responderForZones
from txdane.server.signing import NSEC3Options, SigningKey, SigningOptions, signZone
from txdane.status import Status
from txdane.testing import CASES, NSEC3_HIGH_ITERATIONS, TLSA_RDATA, Hierarchy, buildHierarchy
from txdane.validation import Answer, TrustAnchors, ValidatingResolver

_DAY = 86400
_NS = "ns1.test."

#: The split-out scenarios: the parent's origin, and whether it is signed with NSEC3.
SPLIT_PARENTS: tuple[tuple[str, bool], ...] = (("split.test.", False), ("split3.test.", True))


@dataclasses.dataclass(frozen=True)
class Question:
    """
    A question the trials ask, its expected verdict, and the answer an honest network gives.

    @ivar expected: the verdict a correct validator reaches without an attacker, from the
        fixed table (L{expectedVerdicts}), not from the validator under test.
    @ivar rcode: the response code of the honest answer, from the same table.
    @ivar honest: what the validator under test answers without an attacker (its records
        are what a C{secure} result must hold; its verdict must be C{expected}).
    @ivar old: the answer (or failure) an honest network gave before the split.
    """

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    expected: Status
    rcode: int
    honest: Answer
    old: object = None


@dataclasses.dataclass
class World:
    """
    Everything a trial needs.

    @ivar hierarchy: the hierarchy as served now (split zones included).
    @ivar responder: answers from the zones as they are now.
    @ivar oldResponder: answers from the zones as they were before the split.
    @ivar questions: what the trials ask, with the honest answers.
    @ivar overLimit: zones whose NSEC3 iterations are over the validator's limit: in them,
        stripped signatures read as insecure, the documented trade (RFC 9276).
    @ivar formerlyUnsigned: zones that were below an unsigned delegation before the split.
    @ivar rrsets: every RRset of every zone, old and new, with its RRSIG RRset (or C{None}):
        the attacker's material.
    @ivar responses: wire-form responses the attacker has seen (honest answers to the
        questions the validator asks, from both worlds), in a fixed order.
    """

    hierarchy: Hierarchy
    responder: Responder
    oldResponder: Responder
    questions: list[Question]
    overLimit: tuple[dns.name.Name, ...]
    formerlyUnsigned: tuple[dns.name.Name, ...] = ()
    rrsets: list[tuple[dns.rrset.RRset, dns.rrset.RRset | None]] = dataclasses.field(
        default_factory=list
    )
    responses: list[bytes] = dataclasses.field(default_factory=list)

    def respond(
        self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, old: bool = False
    ) -> dns.message.Message:
        """
        The honest response (DO and CD set) to C{name}/C{rdtype}, now or before the split.
        """
        # A fixed ID: the responses, and what the trials pick from them, are the same in
        # every process.
        query = dns.message.make_query(name, rdtype, want_dnssec=True, id=0)
        query.flags |= dns.flags.CD
        responder = self.oldResponder if old else self.responder
        wire = responder.respondWire(query.to_wire(), tcp=True)
        assert wire is not None
        return _inOrder(dns.message.from_wire(wire))

    def resolver(self, querier: object) -> ValidatingResolver:
        """
        A fresh validator (empty caches) at the hierarchy's time, asking C{querier}.
        """
        clock = Clock()
        clock.advance(self.hierarchy.now)
        return ValidatingResolver(
            querier,  # type: ignore[arg-type]
            trustAnchors=TrustAnchors.fromRRsets([self.hierarchy.trustAnchor]),
            clock=clock,
        )


def _inOrder(message: dns.message.Message) -> dns.message.Message:
    """
    C{message} with the records of each RRset in canonical order: rendering shuffles them
    (with the process's own random state), and the mutations that pick a record by position
    must pick the same one in every process.
    """
    for section in (message.answer, message.authority, message.additional):
        for rrset in section:
            ttl = rrset.ttl
            records = sorted(rrset, key=lambda r: r.to_digestable())
            rrset.clear()
            for rdata in records:
                rrset.add(rdata)
            rrset.ttl = ttl
    return message


def _zone(origin: str, body: Iterable[str]) -> dns.zone.Zone:
    lines = [
        f"$ORIGIN {origin}",
        "$TTL 300",
        f"@ 3600 IN SOA {_NS} hostmaster.{origin} 1 7200 3600 1209600 300",
        f"@ 3600 IN NS {_NS}",
        *body,
    ]
    return dns.zone.from_text("\n".join(lines) + "\n", origin, relativize=False)


def _sign(
    zone: dns.zone.Zone, key: SigningKey, inception: int, expiration: int, nsec3: bool
) -> dns.zone.Zone:
    options = SigningOptions(inception, expiration, nsec3=NSEC3Options() if nsec3 else None)
    return signZone(zone, [key], options)


def _splitZones(
    parent: str, nsec3: bool, now: int
) -> tuple[str, list[dns.zone.Zone], dns.zone.Zone]:
    """
    The DS line for C{parent} in C{test.}, its zones as served now (parent, child,
    grandchild), and the parent as it was signed before the child was split out.
    """
    child, grandchild = "child." + parent, "sub.child." + parent
    keys = {origin: SigningKey.generate() for origin in (parent, child, grandchild)}
    www = ["www 300 IN A 192.0.2.1", f"_443._tcp.www 300 IN TLSA {TLSA_RDATA}"]
    valid = (now - 3600, now + 30 * _DAY)
    current = [
        _sign(
            _zone(
                parent,
                [*www, f"child 3600 IN NS {_NS}", f"child 3600 IN DS {keys[child].ds(child)}"],
            ),
            keys[parent],
            *valid,
            nsec3,
        ),
        _sign(
            _zone(
                child,
                [
                    *www,
                    "other 300 IN A 192.0.2.3",
                    f"sub 3600 IN NS {_NS}",
                    f"sub 3600 IN DS {keys[grandchild].ds(grandchild)}",
                ],
            ),
            keys[child],
            *valid,
            nsec3,
        ),
        _sign(_zone(grandchild, www), keys[grandchild], *valid, nsec3),
    ]
    # Before the split: the child's names in the parent, no TLSA for www.child yet, and
    # sub.child an unsigned delegation. Signed ten days ago, for thirty days.
    old = _sign(
        _zone(
            parent,
            [
                *www,
                "www.child 300 IN A 192.0.2.2",
                "other.child 300 IN A 192.0.2.3",
                f"sub.child 3600 IN NS {_NS}",
            ],
        ),
        keys[parent],
        now - 10 * _DAY,
        now + 20 * _DAY,
        nsec3,
    )
    return f"{parent} 3600 IN DS {keys[parent].ds(parent)}", current, old


def splitQuestions(parent: str) -> list[tuple[str, str]]:
    """
    The questions whose honest answers the old parent's records contradict.
    """
    return [(name, rdtype) for name, rdtype, _, _ in _splitTable(parent)]


def _splitTable(parent: str) -> list[tuple[str, str, Status, str]]:
    """
    The split-zone questions with their verdicts and response codes: every one is secure
    now (the child and grandchild are signed zones, delegated with DS).
    """
    return [
        (f"_443._tcp.www.child.{parent}", "TLSA", Status.SECURE, "NOERROR"),
        (f"www.child.{parent}", "A", Status.SECURE, "NOERROR"),
        (f"_443._tcp.www.sub.child.{parent}", "TLSA", Status.SECURE, "NOERROR"),
        (f"www.sub.child.{parent}", "A", Status.SECURE, "NOERROR"),
        (f"nx.child.{parent}", "A", Status.SECURE, "NXDOMAIN"),
        (f"_443._tcp.nx.child.{parent}", "TLSA", Status.SECURE, "NXDOMAIN"),
    ]


def expectedVerdicts() -> dict[tuple[str, str], tuple[Status, str]]:
    """
    The fixed table of the trials' questions: (name, type) -> (verdict, response code) a
    correct validator reaches without an attacker. The hierarchy's cases come from
    L{txdane.testing.CASES} (the table the validator's tests and the cross-checks against
    Unbound and delv share); the split zones' from L{_splitTable}.
    """
    table: dict[tuple[str, str], tuple[Status, str]] = {}
    for case in CASES:
        table.setdefault((case.name, case.rdtype), (case.status, case.rcode))
    for parent, _ in SPLIT_PARENTS:
        for name, rdtype, status, rcode in _splitTable(parent):
            table[(name, rdtype)] = (status, rcode)
    return table


def lookupNow(resolver: ValidatingResolver, name: dns.name.Name, rdtype: int) -> object:
    """
    Run one lookup on in-memory queriers: the answer, the failure's exception, or C{None}
    when the lookup did not finish (a hang: everything it waits for is synchronous).
    """
    results: list[object] = []
    resolver.lookup(name, rdtype).addBoth(results.append)
    if not results:
        return None
    result = results[0]
    return getattr(result, "value", result)


class _Recorder:
    """
    An honest querier that remembers every question asked.
    """

    def __init__(self, world: World, old: bool = False) -> None:
        self.world = world
        self.old = old
        self.asked: list[tuple[dns.name.Name, dns.rdatatype.RdataType]] = []

    def query(self, name, rdtype, rdclass="IN", **flags):
        from twisted.internet.defer import succeed

        qname = name if isinstance(name, dns.name.Name) else dns.name.from_text(name)
        qtype = dns.rdatatype.RdataType.make(rdtype)
        self.asked.append((qname, qtype))
        return succeed(self.world.respond(qname, qtype, old=self.old))


#: The order of the P-256 group: private keys are the integers from 1 below it.
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@contextmanager
def _keysFrom(seed: int) -> Iterator[None]:
    """
    While in effect, L{SigningKey.generate} makes its P-256 keys from C{seed}: the same
    keys, in the same order, in every process (the key tags, and so the order of keys and
    signatures the validator meets, with them).
    """
    rng = random.Random(f"keys:{seed}")
    original = SigningKey.__dict__["generate"]

    def generate(
        cls: type[SigningKey], algorithm: str | int = "ECDSAP256SHA256", flags: int = 257
    ) -> SigningKey:
        if algorithm not in ("ECDSAP256SHA256", 13):
            return original.__func__(cls, algorithm, flags)
        key = ec.derive_private_key(rng.randrange(1, _P256_ORDER), ec.SECP256R1())
        return cls.fromPrivateKey(key, 13, flags)

    SigningKey.generate = classmethod(generate)  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        SigningKey.generate = original  # type: ignore[method-assign]


def buildWorld(now: int | None = None, seed: int | None = None) -> World:
    """
    Build the hierarchy, the old parents, the questions with their honest answers, and the
    attacker's material.

    @param now: the time the signatures are valid around (default: now).
    @param seed: make the zones' keys from this seed, so that a seeded run of trials
        replays alike in another process (with the same C{now}); default: fresh keys.
    """
    if now is None:
        now = int(time.time())
    if seed is not None:
        with _keysFrom(seed):
            return buildWorld(now)
    dsLines: list[str] = []
    current: list[dns.zone.Zone] = []
    old: list[dns.zone.Zone] = []
    for parent, nsec3 in SPLIT_PARENTS:
        ds, made, before = _splitZones(parent, nsec3, now)
        dsLines += [f"{parent} 3600 IN NS {_NS}", ds]
        current += made
        old.append(before)
    hierarchy = buildHierarchy(now=now, extraRecords={"test.": dsLines})
    zones = dict(hierarchy.zones)
    for zone in current:
        assert zone.origin is not None
        zones[zone.origin] = zone
    oldZones = dict(zones)
    for zone in old:
        assert zone.origin is not None
        oldZones[zone.origin] = zone
        for origin in list(oldZones):
            if origin != zone.origin and origin.is_subdomain(zone.origin):
                del oldZones[origin]
    hierarchy = dataclasses.replace(hierarchy, zones=zones)
    world = World(
        hierarchy=hierarchy,
        responder=responderForZones(zones.values()),
        oldResponder=responderForZones(oldZones.values()),
        questions=[],
        overLimit=(dns.name.from_text("iterations.test."),),
        formerlyUnsigned=tuple(dns.name.from_text(f"sub.child.{p}") for p, _ in SPLIT_PARENTS),
    )
    assert NSEC3_HIGH_ITERATIONS > 50
    for (text, typeText), (expected, rcodeText) in expectedVerdicts().items():
        name, rdtype = dns.name.from_text(text), dns.rdatatype.RdataType.make(typeText)
        recorder = _Recorder(world)
        honest = lookupNow(world.resolver(recorder), name, rdtype)
        assert isinstance(honest, Answer), (text, typeText, honest)
        earlier = lookupNow(world.resolver(_Recorder(world, old=True)), name, rdtype)
        rcode = dns.rcode.from_text(rcodeText)
        world.questions.append(Question(name, rdtype, expected, rcode, honest, earlier))
        for key in recorder.asked:
            for wasOld in (False, True):
                world.responses.append(world.respond(*key, old=wasOld).to_wire(want_shuffle=False))
    # In the order first met, not sorted by their bytes, which hold signatures that differ
    # in every process (ECDSA signing is randomized).
    world.responses = list(dict.fromkeys(world.responses))
    for zoneSet in (zones, oldZones):
        for zone in zoneSet.values():
            world.rrsets += _rrsetsOf(zone)
    world.rrsets.sort(key=lambda pair: (pair[0].name, pair[0].rdtype))
    return world


def _rrsetsOf(zone: dns.zone.Zone) -> list[tuple[dns.rrset.RRset, dns.rrset.RRset | None]]:
    out = []
    for name, node in zone.nodes.items():
        owner = name if name.is_absolute() else name.derelativize(zone.origin)  # type: ignore[arg-type]
        sigs = {r.covers: r for r in node.rdatasets if r.rdtype == dns.rdatatype.RRSIG}
        for rdataset in node.rdatasets:
            if rdataset.rdtype == dns.rdatatype.RRSIG:
                continue
            rrset = dns.rrset.from_rdata_list(owner, rdataset.ttl, list(rdataset))
            sig = sigs.get(rdataset.rdtype)
            sigset = None if sig is None else dns.rrset.from_rdata_list(owner, sig.ttl, list(sig))
            out.append((rrset, sigset))
    return out


def honestStatus(world: World) -> dict[tuple[dns.name.Name, int], Status]:
    """
    The honest verdict of every question (for reports).
    """
    return {(q.name, q.rdtype): q.honest.status for q in world.questions}

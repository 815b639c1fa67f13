"""
An on-path attacker: a L{txdane.transport.DNSQuerier} that answers each query from the
honest world and rewrites the response with material an attacker could have: the records
and signatures of every zone (old ones of split zones included) and the responses it has
seen. It cannot sign anything.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from dns.rdtypes.ANY.RRSIG import RRSIG
from twisted.internet.defer import Deferred, fail, succeed

from tests.attack.world import World
from txdane.transport import DNSError

Message = dns.message.Message
Mutation = Callable[[random.Random, World, Message], Message]


def _sigs(section: list[dns.rrset.RRset]) -> list[dns.rrset.RRset]:
    return [r for r in section if r.rdtype == dns.rdatatype.RRSIG]


def _renamed(rrset: dns.rrset.RRset, owner: dns.name.Name) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(owner, rrset.ttl, list(rrset))


def _section(rng: random.Random, message: Message) -> list[dns.rrset.RRset]:
    return message.answer if rng.random() < 0.5 else message.authority


def stripAllSignatures(rng: random.Random, world: World, message: Message) -> Message:
    """
    Remove every RRSIG from the answer section, the authority section, or both.
    """
    which = rng.randrange(3)
    if which != 1:
        message.answer = [r for r in message.answer if r.rdtype != dns.rdatatype.RRSIG]
    if which != 0:
        message.authority = [r for r in message.authority if r.rdtype != dns.rdatatype.RRSIG]
    return message


def stripOneSignature(rng: random.Random, world: World, message: Message) -> Message:
    """
    Remove one RRSIG RRset, or one signature of it.
    """
    section = _section(rng, message)
    sigs = _sigs(section)
    if not sigs:
        return message
    victim = rng.choice(sigs)
    if len(victim) > 1 and rng.random() < 0.5:
        victim.remove(rng.choice(list(victim)))
    else:
        section.remove(victim)
    return message


def injectSignature(rng: random.Random, world: World, message: Message) -> Message:
    """
    Add an RRSIG of another RRset (any zone, old or new) under the owner of an RRset of the
    response, or of the question.
    """
    section = _section(rng, message)
    owners = [r.name for r in section] or [message.question[0].name]
    owner = rng.choice(owners)
    _, sig = rng.choice(world.rrsets)
    if sig is None:
        return message
    if rng.random() < 0.5:
        # Claim it covers a type the response holds at that owner.
        types = [r.rdtype for r in section if r.name == owner and r.rdtype != dns.rdatatype.RRSIG]
        if types:
            covered = rng.choice(types)
            sig = dns.rrset.from_rdata_list(
                sig.name,
                sig.ttl,
                [rd.replace(type_covered=covered) for rd in sig if isinstance(rd, RRSIG)],
            )
    section.append(_renamed(sig, owner))
    return message


def replayDenial(rng: random.Random, world: World, message: Message) -> Message:
    """
    Replace the answer with the negative part of another response seen (other zones, other
    names, the zone before the split): its RCODE and authority section.
    """
    other = dns.message.from_wire(rng.choice(world.responses))
    if rng.random() < 0.7:
        message.set_rcode(other.rcode())
    message.answer = [] if rng.random() < 0.8 else message.answer
    if rng.random() < 0.5:
        message.authority = list(other.authority)
    else:
        message.authority += [r for r in other.authority if r.rdtype != dns.rdatatype.SOA]
    return message


def replayOld(rng: random.Random, world: World, message: Message) -> Message:
    """
    Answer as the zones did before the split (the parent's old records, still validly
    signed).
    """
    question = message.question[0]
    old = world.respond(question.name, question.rdtype, old=True)
    old.id = message.id
    return old


def replayOther(rng: random.Random, world: World, message: Message) -> Message:
    """
    The whole response to another question, its question rewritten to this one.
    """
    other = dns.message.from_wire(rng.choice(world.responses))
    other.id = message.id
    other.question = list(message.question)
    return other


def flipRcode(rng: random.Random, world: World, message: Message) -> Message:
    """
    NOERROR becomes NXDOMAIN and the other way round.
    """
    nx = message.rcode() == dns.rcode.NXDOMAIN
    message.set_rcode(dns.rcode.NOERROR if nx else dns.rcode.NXDOMAIN)
    return message


def emptySection(rng: random.Random, world: World, message: Message) -> Message:
    """
    Empty the answer or the authority section, or keep only the SOA of the authority.
    """
    which = rng.randrange(3)
    if which == 0:
        message.answer = []
    elif which == 1:
        message.authority = []
    else:
        message.authority = [r for r in message.authority if r.rdtype == dns.rdatatype.SOA]
    return message


def renameRRset(rng: random.Random, world: World, message: Message) -> Message:
    """
    Move an RRset and its signatures to another owner: the question, a name below a
    wildcard's parent (a wildcard expansion renamed), or a random name of the response.
    """
    section = _section(rng, message)
    data = [r for r in section if r.rdtype != dns.rdatatype.RRSIG]
    if not data:
        return message
    victim = rng.choice(data)
    sigs = [s for s in _sigs(section) if s.name == victim.name and s.covers == victim.rdtype]
    qname = message.question[0].name
    choices = [qname, dns.name.Name((b"zzz", *victim.name.labels[1:]))]
    choices += [r.name for r in message.answer + message.authority]
    owner = rng.choice(choices)
    section.remove(victim)
    section.append(_renamed(victim, owner))
    for sig in sigs:
        section.remove(sig)
        section.append(_renamed(sig, owner))
    return message


def addSigned(rng: random.Random, world: World, message: Message) -> Message:
    """
    Add a signed RRset from anywhere (any zone, old or new), at its own owner or renamed to
    the question.
    """
    rrset, sig = rng.choice(world.rrsets)
    if rng.random() < 0.5:
        owner = message.question[0].name
        rrset = _renamed(rrset, owner)
        sig = None if sig is None else _renamed(sig, owner)
    section = _section(rng, message)
    section.append(rrset.copy())
    if sig is not None:
        section.append(sig.copy())
    return message


def moveSection(rng: random.Random, world: World, message: Message) -> Message:
    """
    Move everything of the answer section to the authority section, or back.
    """
    if rng.random() < 0.5:
        message.authority = message.answer + message.authority
        message.answer = []
    else:
        message.answer = message.answer + message.authority
        message.authority = []
    return message


def dropRecord(rng: random.Random, world: World, message: Message) -> Message:
    """
    Remove one record of a multi-record RRset, or a whole RRset.
    """
    section = _section(rng, message)
    data = [r for r in section if r.rdtype != dns.rdatatype.RRSIG]
    if not data:
        return message
    victim = rng.choice(data)
    if len(victim) > 1:
        victim.remove(rng.choice(list(victim)))
    else:
        section.remove(victim)
    return message


def setAD(rng: random.Random, world: World, message: Message) -> Message:
    """
    Set the AD bit (which a validating stub must ignore).
    """
    message.flags |= dns.flags.AD
    return message


#: Every mutation, each with a weight.
MUTATIONS: tuple[tuple[Mutation, int], ...] = (
    (stripAllSignatures, 3),
    (stripOneSignature, 2),
    (injectSignature, 2),
    (replayDenial, 3),
    (replayOld, 3),
    (replayOther, 2),
    (flipRcode, 1),
    (emptySection, 2),
    (renameRRset, 2),
    (addSigned, 2),
    (moveSection, 1),
    (dropRecord, 1),
    (setAD, 1),
)


class Attacker:
    """
    A querier answering from C{world}, rewriting each response with 1 to 3 mutations with
    probability C{rate}.

    @ivar log: for each query, the question and the names of the mutations applied.
    """

    def __init__(self, world: World, rng: random.Random, rate: float = 0.6) -> None:
        self.world = world
        self.rng = rng
        self.rate = rate
        self.log: list[tuple[str, list[str]]] = []
        self._functions = [m for m, _ in MUTATIONS]
        self._weights = [w for _, w in MUTATIONS]

    def query(
        self,
        name: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str | int,
        rdclass: object = None,
        **flags: object,
    ) -> Deferred[Message]:
        qname = name if isinstance(name, dns.name.Name) else dns.name.from_text(name)
        qtype = dns.rdatatype.RdataType.make(rdtype)
        message = self.world.respond(qname, qtype)
        applied: list[str] = []
        if self.rng.random() < self.rate:
            count = self.rng.choice((1, 1, 2, 3))
            for mutation in self.rng.choices(self._functions, self._weights, k=count):
                message = mutation(self.rng, self.world, message)
                applied.append(mutation.__name__)
        self.log.append((f"{qname} {dns.rdatatype.to_text(qtype)}", applied))
        if not applied:
            return succeed(message)
        # Through the wire, as the transport would see it.
        try:
            return succeed(dns.message.from_wire(message.to_wire(want_shuffle=False)))
        except (dns.exception.DNSException, ValueError) as e:
            return fail(DNSError(f"malformed response: {e}"))

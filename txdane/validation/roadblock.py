"""
DNSSEC roadblocks (RFC 8027): recursive resolvers that cannot serve a validator, found by
probing them (L{probeResolver}), and a querier that avoids them
(L{RoadblockAvoidingClient}) by resolving from the root hints instead.

A resolver is a roadblock when, asked with DO and CD set (RFC 8027 section 3):

  - it rejects EDNS(0) (FORMERR, NOTIMP, BADVERS), or answers without an OPT record;
  - it strips RRSIGs: the trust anchor zone's DNSKEY RRset comes without its signatures;
  - it refuses or drops DNSKEY or DS queries (an error RCODE, an empty answer, or silence
    to a DS query after answering the DNSKEY one);
  - it strips NSEC or NSEC3 records: a DS query the anchor zone answers with a denial comes
    without the signed proof;
  - it truncates answers and then does not answer over TCP: the TCP connection stays silent,
    or is closed or reset before the answer (a TCP connection refused or unreachable, on the
    DNSKEY query, is a network failure, below, not a roadblock).

Each probe query is judged by what it met itself: it is asked again after a lost answer (at
least L{PROBE_ATTEMPTS} attempts, within a deadline no longer than that of the client
probing), so that one lost datagram does not make a resolver a roadblock for
L{ROADBLOCK_VERDICT_TTL} seconds; and its truncated answers are counted apart from the other
query's, so that one query's timeout is not blamed on the other's truncated answer.

A resolver that does not answer at all (closed port, unreachable, silent) is not a roadblock
but a network failure: the lookups report it as they would without probing, and no
fallback happens (a machine without a network has nothing to gain from the root servers).

Tests: C{tests/validation/test_roadblock.py}, C{tests/validation/test_roadblock_faults.py}.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger
from twisted.python.failure import Failure

from txdane.names import nameFromText
from txdane.resolvconf import NameServer
from txdane.transport import (
    DNSClient,
    DNSConnectionError,
    DNSError,
    DNSQuerier,
    DNSServerError,
    DNSTimeoutError,
    DNSUnreachableError,
    EDNSUnsupportedError,
    TransportStats,
)
from txdane.validation.iterative import Resolution

__all__ = [
    "PROBE_ATTEMPTS",
    "PROBE_NAME",
    "ROADBLOCK_VERDICT_TTL",
    "SILENT_VERDICT_TTL",
    "ProbeVerdict",
    "RoadblockAvoidingClient",
    "RoadblockError",
    "probeResolver",
]

_log = Logger()

#: Seconds a resolver's probe verdict is remembered before it is probed again.
ROADBLOCK_VERDICT_TTL = 300.0
#: Seconds the verdict "did not answer at all" is remembered.
SILENT_VERDICT_TTL = 30.0
#: The label under the trust anchor's zone whose DS the probe asks for: a name the zone
#: answers itself, with a signed denial.
PROBE_NAME = "txdane-roadblock-probe"
#: Seconds after a probe during which its answer to the DNSKEY query of the anchor's zone
#: answers that same query once.
PROBE_ANSWER_REUSE = 5.0
#: The UDP payload the probe advertises: small, so that a large DNSKEY RRset is truncated and
#: the resolver's TCP is tried too.
PROBE_PAYLOAD = 512
#: The fewest attempts each probe query makes (more where the client probing makes more), so
#: that one lost datagram is asked again rather than taken for a roadblock. They take at most
#: C{timeout * (attempts + 1)} seconds, and never longer than the client's own deadline: the
#: probes never make the query they run beside outlast it.
PROBE_ATTEMPTS = 2

_TRUNCATES = "truncates answers and does not answer over TCP"


@dataclasses.dataclass(frozen=True)
class ProbeVerdict:
    """
    What probing one resolver found.

    @ivar server: the resolver.
    @ivar problem: why it is a roadblock (one phrase, e.g. C{"strips RRSIGs"}), or C{None}.
    @ivar silent: it did not answer at all (a network failure, not a roadblock).
    @ivar noZone: it answered that the trust anchor's zone does not exist (NXDOMAIN): the
        anchors are for another DNS tree than the one it serves, or it cannot see theirs.
    @ivar dnskey: the resolver's answer to the DNSKEY query of the anchor's zone (DO and CD
        set), once it passed: the validator's own first question, which it need not ask
        again.
    """

    server: NameServer
    problem: str | None = None
    silent: bool = False
    noZone: bool = False
    dnskey: dns.message.Message | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def usable(self) -> bool:
        """
        Whether a validator can use this resolver.
        """
        return self.problem is None and not self.silent

    def __str__(self) -> str:
        if self.silent:
            return f"{self.server} does not answer"
        if self.problem is None:
            return f"{self.server} passes the DNSSEC roadblock probes"
        return f"{self.server} {self.problem}"


class RoadblockError(DNSError):
    """
    Every configured recursive resolver is a DNSSEC roadblock (RFC 8027), and resolving from
    the root hints is impossible: the trust anchors are not the IANA root's and no root
    hints were given.

    @ivar verdicts: what probing each resolver found.
    """

    verdicts: tuple[ProbeVerdict, ...] = ()

    def __str__(self) -> str:
        found = "; ".join(str(v) for v in self.verdicts) or "no resolver passed the probes"
        if self.verdicts and all(v.noZone for v in self.verdicts):
            # Not a roadblock to go around: the anchors name a zone these resolvers lack.
            return (
                f"no configured resolver knows the trust anchors' zone: {found} (are the "
                "trust anchors, --trust-anchor or trustAnchors=, for the DNS these resolvers "
                "serve?)"
            )
        return (
            f"every configured resolver is a DNSSEC roadblock (RFC 8027): {found}; resolving "
            "from the root instead needs root hints (--root-hints, rootHints=) when the trust "
            "anchors are not the IANA root's"
        )


async def probeResolver(
    client: DNSQuerier, server: NameServer, zone: dns.name.Name
) -> ProbeVerdict:
    """
    Probe C{server} through C{client} (which asks only it) with the DNSKEY query of the trust
    anchor's zone C{zone}, which must come signed, and a DS query that zone answers with a
    signed denial (C{PROBE_NAME.zone}); see the module docstring for what fails.

    @param client: asks C{server} only; a L{DNSClient} advertising L{PROBE_PAYLOAD}, making
        L{PROBE_ATTEMPTS} attempts or more per query. Each query is asked through a copy of it
        with L{stats<DNSClient.stats>} of its own (C{client}'s are left as they are), which
        tell a truncated answer without TCP from silence, query by query.
    """
    # Both questions at once, so that probing takes one round trip, as the query it runs
    # beside does; the DS answer is read only once the DNSKEY answer passed.
    name = dns.name.Name((PROBE_NAME.encode(), *zone.labels))
    dnskeyClient, dsClient = _ownCounters(client), _ownCounters(client)
    dsQuery = dsClient.query(name, dns.rdatatype.DS, dnssecOK=True, checkingDisabled=True)
    try:
        return await _judge(server, zone, dnskeyClient, dsClient, name, dsQuery)
    finally:
        dsQuery.addErrback(lambda _: None)  # an early verdict leaves its outcome unread
        if not dsQuery.called:
            dsQuery.cancel()


def _ownCounters(client: DNSQuerier) -> DNSQuerier:
    """
    A querier asking as C{client} does, with counters of its own: for a L{DNSClient}, a copy
    of it with new L{stats<DNSClient.stats>}, so that one probe query's truncated answer is
    not read as the other's (they run at once); any other querier as it is.
    """
    if not isinstance(client, DNSClient):
        return client
    own = copy.copy(client)
    own.stats = TransportStats()
    return own


def _truncated(client: DNSQuerier) -> bool:
    """
    Whether a query through C{client} (from L{_ownCounters}) met a truncated answer.
    """
    return bool(getattr(getattr(client, "stats", None), "truncated", 0))


async def _judge(
    server: NameServer,
    zone: dns.name.Name,
    dnskeyClient: DNSQuerier,
    dsClient: DNSQuerier,
    name: dns.name.Name,
    dsQuery: Deferred[dns.message.Message],
) -> ProbeVerdict:
    try:
        dnskey = await dnskeyClient.query(
            zone, dns.rdatatype.DNSKEY, dnssecOK=True, checkingDisabled=True
        )
    except EDNSUnsupportedError as e:
        return ProbeVerdict(server, f"rejects EDNS(0) ({dns.rcode.to_text(e.rcode)})")
    except DNSServerError as e:
        return ProbeVerdict(server, f"refuses DNSKEY queries ({dns.rcode.to_text(e.rcode)})")
    except DNSUnreachableError:
        # Refused or unreachable (over UDP, or over TCP after a truncated answer): the network
        # says nothing listens there, a network failure (EDE 23) rather than a roadblock.
        return ProbeVerdict(server, silent=True)
    except (DNSTimeoutError, DNSConnectionError):
        # After a truncated answer to this query, its TCP connection stayed silent, or was
        # closed or reset before the answer: the resolver's TCP fails (RFC 8027 section 3).
        # Otherwise nothing answered at all (or no socket could be opened here).
        if _truncated(dnskeyClient):
            return ProbeVerdict(server, _TRUNCATES)
        return ProbeVerdict(server, silent=True)
    except DNSError as e:
        return ProbeVerdict(server, f"fails DNSKEY queries ({e})")
    if dnskey.edns < 0:
        return ProbeVerdict(server, "answers without EDNS(0) (no OPT record)")
    keys = dnskey.get_rrset(dnskey.answer, zone, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
    if keys is None:
        if dnskey.rcode() == dns.rcode.NXDOMAIN:
            return ProbeVerdict(
                server, f"answers that the trust anchor's zone {zone} does not exist", noZone=True
            )
        return ProbeVerdict(server, f"answers the DNSKEY query of {zone} without DNSKEY records")
    if not _signed(dnskey.answer, zone, dns.rdatatype.DNSKEY):
        return ProbeVerdict(server, f"strips RRSIGs (the DNSKEY RRset of {zone} came unsigned)")
    try:
        ds = await dsQuery
    except DNSServerError as e:
        return ProbeVerdict(server, f"refuses DS queries ({dns.rcode.to_text(e.rcode)})")
    except (DNSTimeoutError, DNSConnectionError):
        # It answered the DNSKEY query, so the network works: this failure is the resolver's.
        if _truncated(dsClient):
            return ProbeVerdict(server, _TRUNCATES)
        return ProbeVerdict(server, "drops DS queries (answered DNSKEY, not DS)")
    except DNSError as e:
        return ProbeVerdict(server, f"fails DS queries ({e})")
    if ds.get_rrset(ds.answer, name, dns.rdataclass.IN, dns.rdatatype.DS) is not None:
        if not _signed(ds.answer, name, dns.rdatatype.DS):
            return ProbeVerdict(server, "strips RRSIGs (a DS RRset came unsigned)")
        return ProbeVerdict(server, dnskey=dnskey)
    denial = [r for r in ds.authority if r.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)]
    if not denial:
        return ProbeVerdict(
            server, f"strips NSEC/NSEC3 records (the DS denial of {name} came without proof)"
        )
    if not all(_signed(ds.authority, r.name, r.rdtype) for r in denial):
        return ProbeVerdict(server, "strips RRSIGs (an NSEC/NSEC3 record came unsigned)")
    return ProbeVerdict(server, dnskey=dnskey)


def _signed(section: Sequence[dns.rrset.RRset], name: dns.name.Name, rdtype: int) -> bool:
    return any(
        r.rdtype == dns.rdatatype.RRSIG and r.name == name and r.covers == rdtype and len(r)
        for r in section
    )


class RoadblockAvoidingClient(DNSClient):
    """
    A L{DNSClient} that asks only those of its recursive resolvers that pass the roadblock
    probes (L{probeResolver}), and resolves from the root hints when every one of them is a
    roadblock.

    The probes run with the first query, and again when their verdicts are older than
    L{ROADBLOCK_VERDICT_TTL}; that query is sent to the resolvers meanwhile, and its answer
    is used when they are to be asked; queries that arrive meanwhile wait for the probes,
    which end by this client's C{deadline} (L{PROBE_ATTEMPTS}).
    When no resolver passes: if one of them did not answer at all, every resolver is asked
    as without probing (so that a network failure reads as one); otherwise the C{iterative}
    querier answers, or, where there is none, every query fails with L{RoadblockError}.

    @ivar anchorZone: the trust anchor's zone, which the probes ask about.
    @ivar iterative: resolves from the root hints, or C{None} where that is impossible.
    @ivar resolution: how answers are fetched now (a L{Resolution}); recursive until the
        probes find otherwise.
    @ivar verdicts: the latest probe verdicts, one per resolver.
    @ivar reusedProbeAnswers: how many queries the probe's DNSKEY answer answered.
    """

    def __init__(
        self,
        reactor: Any = None,
        servers: Sequence[NameServer | str | tuple[str, int]] | None = None,
        *,
        anchorZone: dns.name.Name = dns.name.root,
        iterative: DNSQuerier | None = None,
        probeClientFactory: Callable[[NameServer], DNSQuerier] | None = None,
        **kwargs: Any,
    ) -> None:
        """
        @param reactor: see L{DNSClient}.
        @param servers: see L{DNSClient}.
        @param anchorZone: the zone of the trust anchors (the root for the built-in ones).
        @param iterative: the fallback, an L{IterativeQuerier}; C{None} for none.
        @param probeClientFactory: makes the querier that probes one resolver (by default a
            L{DNSClient} asking only it, advertising L{PROBE_PAYLOAD}, with this client's
            C{timeout} and as many attempts per query, L{PROBE_ATTEMPTS} at least, within
            this client's C{deadline}).
        @param kwargs: the other arguments of L{DNSClient}.
        """
        super().__init__(reactor, servers, **kwargs)
        self.anchorZone = anchorZone
        self.iterative = iterative
        self._probeClientFactory = probeClientFactory or self._probeClient
        self.verdicts: tuple[ProbeVerdict, ...] = ()
        self.resolution = Resolution("recursive")
        self._expires = float("-inf")
        self._probing: Deferred[None] | None = None
        self._probeAnswer: tuple[float, dns.message.Message] | None = None
        self.reusedProbeAnswers = 0
        self._waiting: list[Deferred[None]] = []
        self._chosen: DNSQuerier | None = None
        self._passing: DNSClient | None = None

    def _probeClient(self, server: NameServer) -> DNSQuerier:
        # Every setting given, so that no probe reads resolv.conf for defaults it would not use.
        # A lost answer is asked again before it is judged; the probe ends by this client's
        # deadline, so that the query sent beside it is not made to wait longer.
        attempts = max(self.attempts, PROBE_ATTEMPTS)
        return DNSClient(
            self._reactor,
            [server],
            timeout=self.timeout,
            attempts=attempts,
            rotate=False,
            deadline=min(self.deadline, self.timeout * (attempts + 1)),
            payload=PROBE_PAYLOAD,
        )

    def query(
        self,
        name: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str | int,
        rdclass: dns.rdataclass.RdataClass | str | int = dns.rdataclass.IN,
        *,
        dnssecOK: bool = False,
        checkingDisabled: bool = False,
        recursionDesired: bool = True,
    ) -> Deferred[dns.message.Message]:
        """
        Send one query to whom the probes chose; see L{DNSQuerier.query
        <txdane.transport.DNSQuerier.query>}.

        @raise RoadblockError: (in the Deferred) every resolver is a roadblock and there is
            no iterative fallback.
        """
        settings = dict(
            dnssecOK=dnssecOK, checkingDisabled=checkingDisabled, recursionDesired=recursionDesired
        )
        now = self._reactor.seconds()
        kept = self._probeAnswer
        if self._chosen is self and now < self._expires and (kept is None or now >= kept[0]):
            # The usual case (the resolvers passed, no probe answer to hand on), decided as
            # _avoiding decides it, without a coroutine of its own.
            return super().query(name, rdtype, rdclass, **settings)
        return Deferred.fromCoroutine(self._avoiding(name, rdtype, rdclass, settings))

    async def _avoiding(
        self,
        name: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str | int,
        rdclass: dns.rdataclass.RdataClass | str | int,
        settings: dict[str, bool],
    ) -> dns.message.Message:
        if self._reactor.seconds() >= self._expires:
            # The query goes to the resolvers while they are probed, so that a resolver
            # that passes costs no more time than without probes, and a silent one no more
            # than this query's deadline (by which its probe ends).
            direct = super().query(name, rdtype, rdclass, **settings)
            try:
                await self._probe()
            except BaseException:
                # Cancelled (or stopped) while the probes run: the query sent meanwhile is
                # this one's, and ends with it, its outcome read by no one.
                direct.addErrback(lambda _: None)
                direct.cancel()
                raise
            if self._chosen is self:
                return await direct
            direct.addErrback(lambda _: None)
            direct.cancel()
        chosen = self._chosen
        if chosen is self:
            reused = self._reuseProbeAnswer(name, rdtype, rdclass, settings)
            if reused is not None:
                return reused
            return await super().query(name, rdtype, rdclass, **settings)
        if chosen is None:
            raise RoadblockError(self.verdicts)
        return await chosen.query(name, rdtype, rdclass, **settings)

    def _reuseProbeAnswer(
        self,
        name: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str | int,
        rdclass: dns.rdataclass.RdataClass | str | int,
        settings: dict[str, bool],
    ) -> dns.message.Message | None:
        """
        The probe's answer to the DNSKEY query of the anchor's zone, for the first query
        asking the same (DO, CD and RD set) within L{PROBE_ANSWER_REUSE} seconds of the
        probe; else C{None}.
        """
        kept = self._probeAnswer
        if kept is None or not (
            settings.get("dnssecOK")
            and settings.get("checkingDisabled")
            and settings.get("recursionDesired", True)
        ):
            return None
        expires, message = kept
        if (
            dns.rdatatype.RdataType.make(rdtype) != dns.rdatatype.DNSKEY
            or dns.rdataclass.RdataClass.make(rdclass) != dns.rdataclass.IN
            or (name if isinstance(name, dns.name.Name) else nameFromText(name)) != self.anchorZone
        ):
            return None
        self._probeAnswer = None
        if self._reactor.seconds() >= expires:
            return None
        self.reusedProbeAnswers += 1
        return message

    def _probe(self) -> Deferred[None]:
        """
        Probe every resolver (once, however many queries wait for it).
        """
        waiter: Deferred[None] = Deferred()
        self._waiting.append(waiter)
        if self._probing is None:
            self._probing = Deferred.fromCoroutine(self._probeAll())
            self._probing.addBoth(self._probed)
        return waiter

    def _probed(self, result: object) -> None:
        if isinstance(result, Failure):
            # A probe that broke finds nothing: ask the resolvers as without probes (the
            # validation of their answers is what protects), and probe again soon.
            _log.failure("DNSSEC roadblock probe failed", result)
            self._chosen = self
            self.resolution = Resolution("recursive")
            self._expires = self._reactor.seconds() + SILENT_VERDICT_TTL
        self._probing = None
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            waiter.callback(None)

    async def _probeAll(self) -> None:
        # Every resolver at once: a silent one costs its timeout once, not before each other.
        probes = [
            Deferred.fromCoroutine(
                probeResolver(self._probeClientFactory(server), server, self.anchorZone)
            )
            for server in self.servers
        ]
        verdicts: list[ProbeVerdict] = await gatherResults(probes, consumeErrors=True)
        self.verdicts = tuple(verdicts)
        passing = [v.server for v in verdicts if v.usable]
        silent = any(v.silent for v in verdicts)
        ttl = SILENT_VERDICT_TTL if silent and not passing else ROADBLOCK_VERDICT_TTL
        self._expires = self._reactor.seconds() + ttl
        if len(passing) == len(verdicts) or (silent and not passing):
            self._chosen = self
            self.resolution = Resolution("recursive")
            first = verdicts[0].dnskey if verdicts else None
            if first is not None:
                # The first resolver is the one asked first: its answer to the probe is what
                # the validator's first DNSKEY query of the anchor's zone would get.
                self._probeAnswer = (self._reactor.seconds() + PROBE_ANSWER_REUSE, first)
        elif passing:
            self._chosen = DNSClient(
                self._reactor,
                passing,
                timeout=self.timeout,
                attempts=self.attempts,
                rotate=self.rotate,
                deadline=self.deadline,
                payload=self.payload,
            )
            blocked = "; ".join(str(v) for v in verdicts if not v.usable)
            self.resolution = Resolution("recursive", f"not asked: {blocked}")
        else:
            found = "; ".join(str(v) for v in verdicts)
            self._chosen = self.iterative
            self.resolution = Resolution(
                "iterative" if self.iterative is not None else "recursive",
                f"every configured resolver is a DNSSEC roadblock: {found}",
            )

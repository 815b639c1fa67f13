"""
L{IterativeQuerier}: one question resolved from the root hints, referral by referral (the
package's docstring tells the steps).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.internet import defer
from twisted.internet.defer import Deferred

from txdane.errors import TxdaneError
from txdane.names import isAddress, nameFromText
from txdane.resolvconf import NameServer
from txdane.transport import (
    DNSClient,
    DNSError,
    DNSQuerier,
    DNSServerError,
    DNSTimeoutError,
    DNSUnreachableError,
    EDNSUnsupportedError,
)
from txdane.validation.cache import ExpiringCache
from txdane.validation.iterative import _hints
from txdane.validation.iterative._limits import (
    FAILED_NS_TTL,
    MAX_DELEGATION_TTL,
    IterationLimitError,
    IterativeLimits,
    IterativeResolutionError,
)
from txdane.validation.iterative._referrals import (
    _Delegation,
    _delegationCost,
    _keepBailiwick,
    _ordered,
    _specialKind,
)
from txdane.validation.limits import LOOKUP_BUDGET, Budget, responseBytes
from txdane.validation.lookups import defaultClock


@dataclasses.dataclass(frozen=True)
class Resolution:
    """
    How a resolver gets its answers: from the configured recursive resolvers, or from the
    root hints, and why.

    @ivar mode: C{"recursive"} or C{"iterative"}.
    @ivar reason: why iterative (C{"requested"}, or the roadblocks found); C{None} for
        recursive.
    """

    mode: str
    reason: str | None = None

    def toJSON(self) -> dict[str, str | None]:
        """
        The JSON form: C{{"mode": ..., "reason": ...}}.
        """
        return {"mode": self.mode, "reason": self.reason}


@dataclasses.dataclass
class _Work:
    """
    One call of L{IterativeQuerier.query}: the question, and the queries sent so far.
    """

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    dnssecOK: bool
    deadline: float
    queries: int = 0
    responseBytes: int = 0
    resolving: set[dns.name.Name] = dataclasses.field(default_factory=set)
    #: The validated lookup this question is asked for, if any (L{LOOKUP_BUDGET}): what the
    #: question receives counts toward the lookup's bound too.
    lookup: Budget | None = None


@dataclasses.dataclass
class _Attempt:
    """
    Asking one zone's servers for one question: what went wrong with each, the first bound
    that kept a server from being asked, and the name server address lookups sent.
    """

    problems: list[str] = dataclasses.field(default_factory=list)
    limit: str | None = None
    lookups: int = 0
    notLookedUp: list[dns.name.Name] = dataclasses.field(default_factory=list)

    def limited(self, limit: str, problem: str) -> None:
        self.problems.append(problem)
        if self.limit is None:
            self.limit = limit


#: The bounds of the whole question: hit in a name server's address lookup, they end the
#: question rather than rule out that name server.
_QUESTION_LIMITS = frozenset(
    {"maxQueriesPerLookup", "maxResponseBytesPerLookup", "questionTimeout"}
)


class _OutOfTime(TxdaneError):
    """
    The question's C{questionTimeout} ran out while (or before) asking a server.

    @ivar reason: what became of the server.
    """

    reason: str
    template = "{reason}"


class _Skip(TxdaneError):
    """
    A server that gave nothing usable, and why (caught where the next server is tried).

    @ivar reason: what the server did.
    """

    reason: str
    template = "{reason}"


class IterativeQuerier:
    """
    Resolves each query from the root hints, asking authoritative servers with RD clear and
    following referrals (the steps are in the docstring of L{txdane.validation.iterative}); a
    L{DNSQuerier<txdane.transport.DNSQuerier>}.

    @ivar rootHints: the root servers asked first.
    @ivar limits: the bounds.
    @ivar port: the port of every server learnt from a referral (53; tests serve elsewhere).
    @ivar lastQueries: queries sent by the most recent query that finished.
    @ivar resolution: C{Resolution("iterative", "requested")}: how its answers are fetched.
    """

    resolution = Resolution("iterative", "requested")

    def __init__(
        self,
        reactor: object = None,
        rootHints: Sequence[NameServer] | None = None,
        *,
        limits: IterativeLimits | None = None,
        port: int = 53,
        clientFactory: Callable[[NameServer], DNSQuerier] | None = None,
    ) -> None:
        """
        @param reactor: sends and times the queries; the global reactor by default.
        @param rootHints: the root servers (each with its port); the IANA root servers
            (L{IANA_ROOT_HINTS}) by default.
        @param limits: the bounds; a default L{IterativeLimits} when not given.
        @param port: the port of the servers that referrals name (they carry no port).
        @param clientFactory: makes the querier that asks one server; by default a
            L{DNSClient} asking only that server, once, within C{limits.serverTimeout}.
        """
        if reactor is None:
            from twisted.internet import reactor as globalReactor

            reactor = globalReactor
        self.reactor = reactor
        self.rootHints = tuple(rootHints) if rootHints is not None else _hints.IANA_ROOT_HINTS
        if not self.rootHints:
            raise ValueError("rootHints: at least one root server is needed")
        self.limits = limits if limits is not None else IterativeLimits()
        self.port = port
        self._clientFactory = clientFactory or self._defaultClient
        clock = defaultClock(reactor)  # type: ignore[arg-type]
        self._clock = clock
        # Half of each bound for delegations, half for name server addresses.
        self._delegations: ExpiringCache[_Delegation] = ExpiringCache(
            clock,
            self.limits.cacheSize // 2,
            MAX_DELEGATION_TTL,
            self.limits.cacheBytes // 2,
            _delegationCost,
        )
        self._addresses: ExpiringCache[tuple[str, ...]] = ExpiringCache(
            clock,
            self.limits.cacheSize // 2,
            MAX_DELEGATION_TTL,
            self.limits.cacheBytes // 2,
            lambda addresses: 60 * len(addresses),
        )
        # The kinds of address (loopback...) a referral may send queries to: only those of
        # the root hints themselves (a private hierarchy served on this host).
        kinds = (_specialKind(server.host) for server in self.rootHints)
        self._allowedKinds = {kind for kind in kinds if kind is not None}
        self.lastQueries = 0

    def _defaultClient(self, server: NameServer) -> DNSQuerier:
        timeout = self.limits.serverTimeout
        # Every setting given: one server, asked once, so resolv.conf has nothing to add.
        return DNSClient(
            self.reactor, [server], timeout=timeout, attempts=1, rotate=False, deadline=2 * timeout
        )

    @property
    def cachedDelegations(self) -> int:
        """
        How many delegations and name server addresses are remembered now.
        """
        return len(self._delegations) + len(self._addresses)

    def clearCache(self) -> None:
        """
        Forget every delegation and name server address learnt.
        """
        self._delegations.clear()
        self._addresses.clear()

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
        Resolve C{name} and C{rdtype} from the root hints, and return the authoritative
        response (see L{DNSQuerier.query<txdane.transport.DNSQuerier.query>}). C{dnssecOK} is
        passed on to the authoritative servers; C{checkingDisabled} and
        C{recursionDesired} mean nothing to them and are not.

        @raise IterativeResolutionError: (in the Deferred) no usable answer was found;
            L{IterationLimitError} when a bound of L{limits} stopped the resolution.
        """
        qname = nameFromText(name) if isinstance(name, str) else name
        qtype = dns.rdatatype.RdataType.make(rdtype)
        if dns.rdataclass.RdataClass.make(rdclass) != dns.rdataclass.IN:
            raise ValueError("only class IN is resolved from the root hints")
        work = _Work(qname, qtype, dnssecOK, self._clock.seconds() + self.limits.questionTimeout)
        work.lookup = LOOKUP_BUDGET.get()
        return Deferred.fromCoroutine(self._run(work))

    async def _run(self, work: _Work) -> dns.message.Message:
        try:
            response = await self._resolve(work, work.name, work.rdtype, 0)
        finally:
            self.lastQueries = work.queries
        if work.lookup is not None:
            # The lookup counts the response it is given, as from any querier.
            work.lookup.responseBytes -= responseBytes(response)
        return response

    def _fail(self, work: _Work, reason: str, limit: str | None = None) -> IterativeResolutionError:
        if limit is not None:
            return IterationLimitError(work.name, work.rdtype, reason, limit)
        return IterativeResolutionError(work.name, work.rdtype, reason)

    def _closest(self, name: dns.name.Name) -> _Delegation:
        """
        The deepest delegation known at or above C{name}; the root hints' when none is.
        """
        for depth in range(len(name), 1, -1):
            _, ancestor = name.split(depth)
            delegation = self._delegations.get(ancestor)
            if delegation is not None:
                return delegation
        return _Delegation(dns.name.root, (), ())

    async def _resolve(
        self,
        work: _Work,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        depth: int,
    ) -> dns.message.Message:
        """
        Follow referrals for C{name} and C{rdtype} to an authoritative response; C{depth} is
        the nesting of name server address lookups.
        """
        start = name.parent() if rdtype == dns.rdatatype.DS and name != dns.name.root else name
        delegation = self._closest(start)
        for _ in range(self.limits.maxReferrals + 1):
            response, referral = await self._askZone(work, delegation, name, rdtype, depth)
            if referral is None:
                return response
            delegation = referral
        raise self._fail(
            work,
            f"more than {self.limits.maxReferrals} referrals for {name} "
            f"{dns.rdatatype.to_text(rdtype)} (last to {delegation.zone})",
            "maxReferrals",
        )

    async def _askZone(
        self,
        work: _Work,
        delegation: _Delegation,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        depth: int,
    ) -> tuple[dns.message.Message, _Delegation | None]:
        """
        Ask the servers of C{delegation}'s zone in turn; the first usable response, with the
        delegation it refers to (C{None} for an authoritative answer).
        """
        zone = delegation.zone
        attempt = _Attempt()
        problems = attempt.problems
        tried = 0
        seen: set[NameServer] = set()
        for server in self._servers(delegation):
            if isinstance(server, dns.name.Name):
                # A name server without glue: its addresses, by a separate lookup, only
                # when every server before it has failed.
                addresses = await self._addressesOf(work, server, zone, depth, attempt)
                candidates = [NameServer(a, self.port) for a in _ordered(addresses)]
            else:
                candidates = [server]
            for candidate in candidates:
                if candidate in seen:
                    continue
                seen.add(candidate)
                kind = _specialKind(candidate.host)
                if kind is not None and kind not in self._allowedKinds:
                    problems.append(f"{candidate} not asked ({kind} address)")
                    continue
                if tried >= self.limits.maxServersPerQuery:
                    raise self._fail(
                        work,
                        f"no server of {zone} answered {_what(name, rdtype)} "
                        f"within {self.limits.maxServersPerQuery} servers tried: "
                        + "; ".join(problems),
                        "maxServersPerQuery",
                    )
                tried += 1
                try:
                    response = await self._send(work, candidate, name, rdtype)
                    referral = self._classify(response, zone, name, rdtype)
                    if referral is None:
                        _keepBailiwick(response, zone)
                    return response, referral
                except _Skip as skip:
                    problems.append(f"{candidate} {skip}")
                except _OutOfTime as out:
                    problems.append(f"{candidate} {out}")
                    raise self._fail(
                        work,
                        f"no answer within {self.limits.questionTimeout:g} s; no server of "
                        f"{zone} had answered {_what(name, rdtype)}: " + "; ".join(problems),
                        "questionTimeout",
                    ) from None
        if attempt.notLookedUp:
            skipped = ", ".join(str(n) for n in attempt.notLookedUp)
            problems.append(
                f"name servers without glue not looked up ({skipped}): at most "
                f"{self.limits.maxGluelessNS} per question"
            )
        found = "; ".join(problems) if problems else "no name server address known"
        raise self._fail(
            work, f"no server of {zone} answered {_what(name, rdtype)}: {found}", attempt.limit
        )

    async def _send(
        self,
        work: _Work,
        server: NameServer,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
    ) -> dns.message.Message:
        """
        One query to one server; every failure is a L{_Skip}.
        """
        self._checkResponseBytes(work)
        work.queries += 1
        if work.queries > self.limits.maxQueriesPerLookup:
            raise self._fail(
                work,
                f"more than {self.limits.maxQueriesPerLookup} queries needed",
                "maxQueriesPerLookup",
            )
        remaining = work.deadline - self._clock.seconds()
        if remaining <= 0:
            raise _OutOfTime("not asked")
        client = self._clientFactory(server)
        pending = client.query(name, rdtype, dnssecOK=work.dnssecOK, recursionDesired=False)
        pending.addTimeout(remaining, self._clock)
        try:
            response = await pending
        except defer.TimeoutError:
            raise _OutOfTime("did not answer") from None
        except DNSServerError as e:
            # Read as any response (a refusal can be as large).
            self._received(work, e.response)
            raise _Skip(f"answered {dns.rcode.to_text(e.rcode)}") from None
        except DNSTimeoutError:
            raise _Skip("did not answer") from None
        except DNSUnreachableError:
            raise _Skip("is unreachable (port closed)") from None
        except EDNSUnsupportedError as e:
            if e.response is not None:  # read as any response
                self._received(work, e.response)
            raise _Skip("rejected EDNS") from None
        except DNSError as e:
            raise _Skip(f"failed: {e}") from None
        self._received(work, response)
        return response

    def _received(self, work: _Work, response: dns.message.Message) -> None:
        """
        Count C{response} in what C{work} (and the validated lookup it is for) received.

        @raise IterationLimitError: that passed a bound (see L{_checkResponseBytes}).
        """
        size = responseBytes(response)
        work.responseBytes += size
        if work.lookup is not None:
            work.lookup.responseBytes += size
        self._checkResponseBytes(work)

    def _checkResponseBytes(self, work: _Work) -> None:
        """
        @raise IterationLimitError: the responses C{work} received came to more octets than
            C{maxResponseBytesPerLookup}, or those of the validated lookup it is asked for to
            more than that lookup's (then nothing more is asked).
        """
        limit = self.limits.maxResponseBytesPerLookup
        if work.responseBytes > limit:
            raise self._fail(
                work, f"more than {limit} octets of responses received", "maxResponseBytesPerLookup"
            )
        lookup = work.lookup
        if lookup is not None and lookup.responseBytes > lookup.limits.maxResponseBytesPerLookup:
            raise self._fail(
                work,
                f"more than {lookup.limits.maxResponseBytesPerLookup} octets of responses"
                " received for the validated lookup",
                "maxResponseBytesPerLookup",
            )

    def _classify(
        self,
        response: dns.message.Message,
        zone: dns.name.Name,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
    ) -> _Delegation | None:
        """
        C{None} for an authoritative answer, the delegation for a referral to a zone below
        C{zone} and at or above C{name}; a L{_Skip} for anything else (a lame server).
        """
        if response.flags & dns.flags.AA:
            return None
        if response.rcode() != dns.rcode.NOERROR or response.answer:
            raise _Skip("answered without authority (lame)")
        cuts = {r.name for r in response.authority if r.rdtype == dns.rdatatype.NS}
        if len(cuts) != 1:
            raise _Skip("answered without authority and without a referral (lame)")
        (cut,) = cuts
        if cut == zone or not cut.is_subdomain(zone) or not name.is_subdomain(cut):
            raise _Skip(f"referred to {cut}, which is not below {zone} towards {name} (lame)")
        if rdtype == dns.rdatatype.DS and cut == name:
            raise _Skip(f"referred a DS query to the child zone {cut} (lame)")
        ns = next(r for r in response.authority if r.rdtype == dns.rdatatype.NS and r.name == cut)
        names = tuple(dict.fromkeys(rdata.target for rdata in ns))[: self.limits.maxNSNames]
        glue: list[tuple[dns.name.Name, tuple[str, ...]]] = []
        for target in names:
            # Glue only from inside the bailiwick of the zone that referred: anything else
            # it says about other names is not its to say.
            if not target.is_subdomain(zone):
                continue
            addresses = tuple(
                rdata.address
                for rrset in response.additional
                if rrset.name == target and rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                for rdata in rrset
                if isAddress(rdata.address)
            )
            if addresses:
                glue.append((target, addresses))
        delegation = _Delegation(cut, names, tuple(glue))
        self._delegations.put(cut, delegation, ns.ttl)
        return delegation

    def _servers(self, delegation: _Delegation) -> list[NameServer | dns.name.Name]:
        """
        Whom to ask for C{delegation}'s zone, in order: the root hints for the root; else
        the glue addresses, every IPv4 one before any IPv6 one (a host without IPv6 fails
        those at once), then the names of the other name servers (whose addresses
        L{_askZone} looks up only when it gets to them), in the order the referral gave.
        """
        if delegation.zone == dns.name.root and not delegation.names:
            return list(self.rootHints)
        glued = dict(delegation.glue)
        addresses: list[NameServer] = []
        for name in delegation.names:
            for address in glued.get(name, ()):
                server = NameServer(address, self.port)
                if server not in addresses:
                    addresses.append(server)
        addresses.sort(key=lambda server: ":" in server.host)
        order: list[NameServer | dns.name.Name] = list(addresses)
        order += [name for name in delegation.names if name not in glued]
        return order

    async def _addressesOf(
        self,
        work: _Work,
        name: dns.name.Name,
        zone: dns.name.Name,
        depth: int,
        attempt: _Attempt,
    ) -> tuple[str, ...]:
        """
        The addresses of name server C{name} of C{zone}, from the cache or by a separate
        lookup from the root (A, then AAAA when there is no A and the name exists); none
        when it cannot be found. A lookup that finds nothing is remembered for
        L{FAILED_NS_TTL} seconds; at most C{maxGluelessNS} lookups are sent per
        C{attempt}, and a bound of the nested lookup other than C{maxQueriesPerLookup},
        C{maxResponseBytesPerLookup} or C{questionTimeout} (which are the whole question's)
        only rules this name server out.
        """
        problems = attempt.problems
        cached = self._addresses.get(name)
        if cached is not None:
            if not cached:
                problems.append(f"no address found for {name} (a recent lookup failed)")
            return cached
        if name.is_subdomain(zone):
            # Inside the zone it serves, without glue: only the zone itself could tell, and
            # asking it needs this address.
            problems.append(f"{name} has no glue")
            return ()
        if name in work.resolving:
            problems.append(f"{name} needs itself to be found")
            return ()
        if depth + 1 > self.limits.maxNSLookupDepth:
            attempt.limited(
                "maxNSLookupDepth",
                f"name server {name} of {zone}: more than {self.limits.maxNSLookupDepth} "
                "nested name server address lookups",
            )
            return ()
        if attempt.lookups >= self.limits.maxGluelessNS:
            attempt.notLookedUp.append(name)
            if attempt.limit is None:
                attempt.limit = "maxGluelessNS"
            return ()
        attempt.lookups += 1
        work.resolving.add(name)
        addresses: list[str] = []
        ttl = MAX_DELEGATION_TTL
        remember = True
        try:
            for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                try:
                    response = await self._resolve(work, name, rdtype, depth + 1)
                except IterationLimitError as e:
                    if e.limit in _QUESTION_LIMITS:
                        raise
                    # A bound of the other zone's lookup, not of this question: another
                    # name server may do. Not remembered (a shallower lookup may fit).
                    attempt.limited(e.limit, f"the address of {name}: {e.reason}")
                    remember = False
                    break
                except IterativeResolutionError as e:
                    problems.append(f"the address of {name}: {e.reason}")
                    break
                for rrset in response.answer:
                    if rrset.name == name and rrset.rdtype == rdtype:
                        ttl = min(ttl, rrset.ttl)
                        addresses += [r.address for r in rrset if isAddress(r.address)]
                if addresses:
                    break
                if response.rcode() == dns.rcode.NXDOMAIN and not response.answer:
                    # Nothing exists at the name (RFC 8020): no AAAA either.
                    break
        finally:
            work.resolving.discard(name)
        if not addresses:
            problems.append(f"no address found for {name}")
        result = tuple(addresses)
        if result:
            self._addresses.put(name, result, ttl)
        elif remember:
            self._addresses.put(name, (), FAILED_NS_TTL)
        return result


def _what(name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> str:
    return f"{name} {dns.rdatatype.to_text(rdtype)}"

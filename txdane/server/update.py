"""
Dynamic updates (RFC 2136) signed with TSIG (RFC 8945).

A server started with C{--allow-update KEYFILE[:SUFFIX[:TYPES]]} accepts UPDATE messages
signed with one of the keys it was given. L{ZoneUpdater} checks the signature, the key's
policy, the zone and the prerequisites (RFC 2136 section 3.2), applies the changes in order
(section 3.4), bumps the SOA serial, re-signs the zone with its keys, rewrites the zone file
atomically so a restart keeps the change, and swaps the new zone in. A refused update
changes nothing. The signer rebuilds the whole zone, NSEC or NSEC3 chain included, but signs
anew only the RRsets that changed, in a thread when run by the service; zones above
L{DEFAULT_MAX_UPDATE_NAMES} names take no updates, as the rebuild costs CPU in proportion.

A TSIG-signed request can be replayed within its time fudge; the MAC of every request that
passed the check is remembered until its time window has passed, and a request with a MAC
seen before is refused.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig
import dns.update
import dns.zone
from twisted.internet.defer import Deferred, DeferredLock, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from txdane.errors import TxdaneError
from txdane.files import writeAtomically
from txdane.server.keys import readKeyFiles
from txdane.server.protocol import ResponderHolder
from txdane.server.responder import DEFAULT_MAX_UDP_PAYLOAD, Responder
from txdane.server.signing import (
    NSEC3Options,
    SigningKey,
    SigningOptions,
    absoluteZone,
    signZone,
)
from txdane.server.tsigcheck import TSIGRefusal, checkTSIG, requestTSIG
from txdane.server.wirescan import RecordHeader, bareError, recordHeaders
from txdane.server.zonerules import dnskeyProblem, structureProblems
from txdane.server.zones import ZoneIndex, ZoneStore
from txdane.tsig import TSIGKeyError, readTSIGKeyFile

__all__ = [
    "DEFAULT_MAX_UPDATE_NAMES",
    "DEFAULT_MAX_UPDATE_RECORDS",
    "DEFAULT_UPDATE_TYPES",
    "TSIG_ALGORITHMS",
    "UpdateGrant",
    "UpdateKeyError",
    "UpdateZone",
    "ZoneUpdater",
    "checkKeyNames",
    "parseAllowUpdate",
    "readTSIGKeys",
    "zonesReached",
    "zonesSignedElsewhere",
]

#: The record types a key may change when its grant names none.
DEFAULT_UPDATE_TYPES = frozenset({dns.rdatatype.TLSA, dns.rdatatype.SSHFP})
#: The most records (prerequisites and updates together) one UPDATE message may hold.
DEFAULT_MAX_UPDATE_RECORDS = 1000
#: The most owner names a zone may have to take updates: each update copies, re-chains and
#: indexes the whole zone (signing anew only what changed), which costs on the order of a
#: millisecond of CPU per name, in a thread that shares the interpreter with the answering one.
DEFAULT_MAX_UPDATE_NAMES = 1000
#: TSIG algorithms accepted in key files (no MD5 or SHA-1).
TSIG_ALGORITHMS: dict[str, dns.name.Name] = {
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}

#: Types the signer maintains; no update may touch them.
_SIGNER_TYPES = frozenset(
    {
        dns.rdatatype.RRSIG,
        dns.rdatatype.NSEC,
        dns.rdatatype.NSEC3,
        dns.rdatatype.NSEC3PARAM,
    }
)
#: Types no update may add (RFC 2136 section 3.4.1.2: meta types).
_META = frozenset(
    {
        dns.rdatatype.ANY,
        dns.rdatatype.AXFR,
        dns.rdatatype.IXFR,
        dns.rdatatype.MAILA,
        dns.rdatatype.MAILB,
        dns.rdatatype.OPT,
        dns.rdatatype.TSIG,
        dns.rdatatype.TKEY,
    }
)
_log = Logger()


class UpdateKeyError(TxdaneError):
    """
    A TSIG key file or an C{--allow-update} value cannot be used.

    @ivar source: the file or the option's value.
    @ivar reason: what is wrong with it.
    """

    source: str
    reason: str
    template = "{source}: {reason}"


def readTSIGKeys(path: str | os.PathLike[str]) -> list[dns.tsig.Key]:
    """
    The TSIG keys in C{path}, every one of them: BIND's C{key "name" { algorithm ...; secret
    "..."; };} statements (what C{tsig-keygen} and C{ddns-confgen -q} write), or Knot's C{key:}
    list in YAML (what C{keymgr -t} writes); see L{txdane.tsig}. Keys must use one of
    L{TSIG_ALGORITHMS}. A BIND file holds nothing else but blanks and comments.

    @raise UpdateKeyError: the file is unreadable, holds no usable key, or holds text besides
        its key statements.
    """
    source = os.fspath(path)
    try:
        keys = readTSIGKeyFile(source)
    except TSIGKeyError as e:
        raise UpdateKeyError(source, e.reason) from None
    accepted = []
    for key in keys:
        if key.algorithm not in TSIG_ALGORITHMS:
            allowed = ", ".join(TSIG_ALGORITHMS)
            raise UpdateKeyError(
                source, f"key {key.name}: algorithm {key.algorithm} (use one of {allowed})"
            )
        accepted.append(key.toDNSPython())
    return accepted


@dataclass(frozen=True)
class UpdateGrant:
    """
    What one key may change: records of C{types} at or below C{suffix}.

    @ivar key: the TSIG key.
    @ivar suffix: the names the key may change are this one and those below it; C{None}:
        any name of any zone the server holds.
    @ivar types: the record types it may change.
    @ivar keyFile: the file the key was read from, named in errors; C{None} for a key given
        otherwise.
    """

    key: dns.tsig.Key
    suffix: dns.name.Name | None = None
    types: frozenset[int] = DEFAULT_UPDATE_TYPES
    keyFile: str | None = field(default=None, compare=False)

    def allows(self, name: dns.name.Name, rdtype: int) -> bool:
        """
        Whether this grant covers C{rdtype} records at C{name}.
        """
        if self.suffix is not None and not name.is_subdomain(self.suffix):
            return False
        return rdtype in self.types


def parseAllowUpdate(value: str) -> list[UpdateGrant]:
    """
    The grants of one C{--allow-update} value, C{KEYFILE[:SUFFIX[:TYPE,TYPE...]]}: every key
    in C{KEYFILE}, limited to names at or below C{SUFFIX} (empty or absent: anywhere) and to
    the types listed (absent: TLSA and SSHFP).

    @raise UpdateKeyError: the file or the limits are unusable.
    """
    path, _, rest = value.partition(":")
    suffixText, _, typesText = rest.partition(":")
    suffix = None
    if suffixText:
        try:
            suffix = dns.name.from_text(suffixText)
        except dns.exception.DNSException as e:
            raise UpdateKeyError(value, f"{suffixText!r} is not a domain name ({e})") from None
    types = DEFAULT_UPDATE_TYPES
    if typesText:
        chosen = set()
        for word in typesText.split(","):
            try:
                rdtype = dns.rdatatype.from_text(word.strip())
            except dns.exception.DNSException:
                raise UpdateKeyError(value, f"{word!r} is not a record type") from None
            if rdtype in _SIGNER_TYPES or rdtype in _META or rdtype == dns.rdatatype.SOA:
                reason = f"{dns.rdatatype.to_text(rdtype)} records cannot be updated"
                raise UpdateKeyError(value, reason)
            chosen.add(rdtype)
        types = frozenset(chosen)
    if not path:
        raise UpdateKeyError(value, "no key file")
    return [UpdateGrant(key, suffix, types, path) for key in readTSIGKeys(path)]


def checkKeyNames(grants: Iterable[UpdateGrant]) -> None:
    """
    Refuse one key name defined two ways (another algorithm or secret) in the key files of
    C{grants}: a request signed under that name would be checked with the first definition
    only, and the holder of the other would be refused with no word why. The same definition
    read twice, from one file or two, is one key.

    @raise UpdateKeyError: naming the key and both files.
    """
    first: dict[dns.name.Name, UpdateGrant] = {}
    for grant in grants:
        earlier = first.setdefault(grant.key.name, grant)
        if earlier.key == grant.key:
            continue
        if earlier.key.algorithm != grant.key.algorithm:
            other = (
                f"algorithm ({_algorithmText(grant.key.algorithm)}, not "
                f"{_algorithmText(earlier.key.algorithm)})"
            )
        else:
            other = "secret"
        raise UpdateKeyError(
            grant.keyFile or "--allow-update",
            f"key {grant.key.name} is also in {earlier.keyFile or 'another key file'}, with "
            f"another {other}: give it one definition, or the two keys different names",
        )


def _algorithmText(algorithm: dns.name.Name) -> str:
    """
    An algorithm's name as key files write it (C{hmac-sha256}).
    """
    for text, name in TSIG_ALGORITHMS.items():
        if name == algorithm:
            return text
    return algorithm.to_text(omit_final_dot=True)


def zonesReached(
    suffix: dns.name.Name | None, origins: Iterable[dns.name.Name]
) -> set[dns.name.Name]:
    """
    The zones (of those whose apexes are C{origins}) that hold names a grant for names at or
    below C{suffix} (C{None}: anywhere) may change: the zone that holds C{suffix} (the
    closest enclosing one) and every zone at or below it. Empty when no zone holds such
    names, so that every update under the grant would be refused.
    """
    origins = list(origins)
    if suffix is None:
        return set(origins)
    reached = {origin for origin in origins if origin.is_subdomain(suffix)}
    enclosing = [origin for origin in origins if suffix.is_subdomain(origin)]
    if enclosing:
        reached.add(max(enclosing, key=len))
    return reached


def zonesSignedElsewhere(
    suffix: dns.name.Name | None,
    sources: Sequence[UpdateZone],
    zones: Sequence[ZoneIndex],
) -> list[dns.name.Name]:
    """
    The zones that a grant for names at or below C{suffix} (C{None}: anywhere) reaches, when
    every one of them is signed elsewhere: served as it is, with DNSSEC records and no key,
    so that every update to it is refused. Empty when one of them can take updates, or when
    no zone holds such names.

    The reach: the zone that holds C{suffix} (the closest enclosing one) and every zone at
    or below C{suffix}.

    @param sources: where each zone comes from, in the order of C{zones}.
    """
    reached = zonesReached(suffix, [source.origin for source in sources])
    elsewhere = {s.origin for s, served in zip(sources, zones) if _signedElsewhere(s, served)}
    if not reached or not reached <= elsewhere:
        return []
    return sorted(reached)


def _signedElsewhere(source: UpdateZone, served: ZoneIndex) -> bool:
    """
    Whether a zone is served as it was signed by someone else: with DNSSEC records, and no
    key to sign a change with.
    """
    return served.signed and not source.keys


class UpdateZone(Protocol):
    """
    Where an updatable zone comes from (what L{txdane.server.service.ZoneSource} holds).

    @ivar origin: the zone's apex.
    @ivar path: the master file, rewritten after each update.
    @ivar keys: key file paths; with none, the zone is served unsigned.
    @ivar nsec3: the NSEC3 options it is signed with, or C{None} for NSEC.
    """

    @property
    def origin(self) -> dns.name.Name: ...

    @property
    def path(self) -> str: ...

    @property
    def keys(self) -> tuple[str, ...]: ...

    @property
    def nsec3(self) -> NSEC3Options | None: ...


class _Refused(TxdaneError):
    """
    An update is refused with C{rcode}; nothing changes. Never leaves this module: it
    becomes the response's rcode.

    @ivar rcode: the rcode of the response.
    """

    rcode: int
    reason: str = ""
    template = "update refused with rcode {rcode}"


@dataclass(frozen=True)
class _Verified:
    """
    An UPDATE message whose signature was checked, the grants of its key, and the response
    being made (signed with the key when written).
    """

    request: dns.update.UpdateMessage
    grants: tuple[UpdateGrant, ...]
    response: dns.message.Message
    headers: tuple[RecordHeader, ...] = ()


#: The most updates refused before their signature was trusted that are logged in a minute:
#: a peer sends those at will, and each would be a line.
MAX_LOGGED_REFUSALS = 20


@dataclass(frozen=True)
class _Outcome:
    """
    What an update came to: the rcode, the zone to serve if it changed one, an error to log,
    and why it was refused, when that is worth saying.
    """

    rcode: int
    index: ZoneIndex | None = None
    error: str | None = None
    why: str | None = None


@dataclass
class ZoneUpdater:
    """
    Applies TSIG-signed dynamic updates to the zones of the responder in C{holder}.

    @ivar holder: where the responder in use is; an applied update puts a new one there.
    @ivar sources: where each zone comes from (L{txdane.server.service.ZoneSource}s, or
        anything with C{origin}, C{path}, C{keys} and C{nsec3}).
    @ivar grants: the keys that may update, with their limits.
    @ivar validity: how long the signatures made after an update are valid, in seconds.
    @ivar clock: the current time in seconds since the epoch.
    @ivar maxRecords: the most records one update may hold.
    @ivar maxNames: the most names a zone may have to take updates.
    @ivar applied: how many updates changed a zone so far.
    @ivar runInThread: runs the rebuilding of a zone away from the reactor thread for
        L{respondUpdateLater} (e.g. with C{deferToThreadPool}); C{None}: on the caller's.
    """

    holder: ResponderHolder
    sources: Sequence[UpdateZone]
    grants: Sequence[UpdateGrant]
    validity: int = 30 * 86400
    clock: Callable[[], float] = time.time
    maxRecords: int = DEFAULT_MAX_UPDATE_RECORDS
    maxNames: int = DEFAULT_MAX_UPDATE_NAMES
    applied: int = 0
    runInThread: Callable[[Callable[[], _Outcome]], Deferred[_Outcome]] | None = None
    _lock: DeferredLock = field(default_factory=DeferredLock)
    _seen: dict[tuple[dns.name.Name, bytes], float] = field(default_factory=dict)
    _refusalWindow: float = float("-inf")
    _refusalsLogged: int = 0
    _refusalsUnlogged: int = 0

    def _grantsFor(self, name: dns.name.Name) -> list[UpdateGrant]:
        return [grant for grant in self.grants if grant.key.name == name]

    def tsigKey(self, name: dns.name.Name, algorithm: dns.name.Name) -> dns.tsig.Key | None:
        """
        The key called C{name} with C{algorithm}, if one was granted: queries signed with it
        are answered signed with it too.
        """
        for grant in self._grantsFor(name):
            if grant.key.algorithm == algorithm:
                return grant.key
        return None

    def respondUpdate(self, data: bytes, *, tcp: bool = False) -> bytes | None:
        """
        The response to the UPDATE message in C{data}, TSIG-signed with its key when the
        request's signature was good; the work is done at once, on the calling thread.
        Whatever goes wrong, the request is answered (SERVFAIL, logged).
        """
        checked = None
        try:
            checked = self._check(data)
            if not isinstance(checked, _Verified):
                return checked
            return self._finish(checked, self._prepare(checked))
        except Exception:
            return self._failed(data, checked)

    def respondUpdateLater(self, data: bytes, *, tcp: bool = False) -> Deferred[bytes | None]:
        """
        Like L{respondUpdate}, but the rebuilding and signing of the zone run through
        C{runInThread} when it is set, one update at a time, while the server keeps
        answering queries from the zones it has. The C{Deferred} never fails: whatever goes
        wrong, the request is answered (SERVFAIL, logged).
        """
        runner = self.runInThread
        if runner is None:
            return succeed(self.respondUpdate(data, tcp=tcp))
        try:
            checked = self._check(data)
        except Exception:
            return succeed(self._failed(data, None))
        if not isinstance(checked, _Verified):
            return succeed(checked)
        verified = checked

        def inThread() -> Deferred[bytes | None]:
            d = runner(lambda: self._prepare(verified))
            return d.addCallback(lambda outcome: self._finish(verified, outcome))

        d = self._lock.run(inThread)
        return d.addErrback(lambda failure: self._failed(data, verified, failure))

    def _failed(
        self, data: bytes, checked: bytes | _Verified | None, failure: Failure | None = None
    ) -> bytes | None:
        """
        SERVFAIL for a request whose handling raised an unexpected exception (C{failure}, or
        the one being handled; logged with its traceback): signed when its signature was
        checked, else a bare header.
        """
        _log.failure("dynamic update failed unexpectedly, answering SERVFAIL", failure)
        if isinstance(checked, _Verified):
            try:
                checked.response.set_rcode(dns.rcode.SERVFAIL)
                wire: bytes = checked.response.to_wire()
                return wire
            except Exception:
                _log.failure("cannot sign the SERVFAIL, answering it unsigned")
        return bareError(data, dns.rcode.SERVFAIL, DEFAULT_MAX_UDP_PAYLOAD)

    def _check(self, data: bytes) -> bytes | _Verified | None:
        """
        Parse C{data} and check its signature: the response when that fails, else the
        verified request.
        """
        try:
            request = dns.message.from_wire(data, keyring=False, one_rr_per_rrset=True)
        except dns.exception.DNSException:
            return bareError(data, dns.rcode.FORMERR, DEFAULT_MAX_UDP_PAYLOAD)
        tsig = requestTSIG(request)
        if tsig is None or request.tsig is None:
            self._logRefusal(request, None, "not signed")
            return _plainResponse(request, dns.rcode.REFUSED)
        keyName = request.tsig.name
        grants = [g for g in self._grantsFor(keyName) if g.key.algorithm == tsig.algorithm]
        # One name, two secrets: the first (the options refuse that, see checkKeyNames).
        key = grants[0].key if grants else None
        checked = checkTSIG(data, request, key, self.clock, oneRRPerRRset=True)
        if isinstance(checked, TSIGRefusal):
            self._logRefusal(request, keyName, checked.why)
            return checked.response
        request = checked
        response = dns.message.make_response(request)
        if request.edns > 0:
            # RFC 6891 section 6.1.3: a version this server does not know; nothing changes.
            response.set_rcode(dns.rcode.BADVERS)
            return response.to_wire()
        if self._replayed(keyName, tsig):
            self._logRefusal(request, keyName, "REFUSED (a replay of an update already seen)")
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        assert isinstance(request, dns.update.UpdateMessage)
        grants = [g for g in grants if g.key == key]
        headers = recordHeaders(data) or []
        return _Verified(request, tuple(grants), response, tuple(headers))

    def _prepare(self, verified: _Verified) -> _Outcome:
        """
        Check and apply the update to a copy of its zone, sign it and write its file; safe
        to run in a thread, as it changes nothing that answers queries.
        """
        try:
            return _Outcome(dns.rcode.NOERROR, self._apply(verified))
        except _Refused as e:
            if e.rcode == dns.rcode.SERVFAIL:
                return _Outcome(e.rcode, error=e.reason or None)
            return _Outcome(e.rcode, why=e.reason or None)
        except TxdaneError as e:
            # A key file gone unreadable since the start, a key the signer refuses: nothing
            # changed, and the operator needs to know.
            return _Outcome(dns.rcode.SERVFAIL, error=str(e))

    def _finish(self, verified: _Verified, outcome: _Outcome) -> bytes:
        """
        Serve the zone the update made, if it made one, and sign the response.
        """
        zone = _zoneOf(verified.request)
        key = verified.request.keyname
        if outcome.error is not None:
            _log.error("dynamic update of {zone} failed: {error}", zone=zone, error=outcome.error)
        else:
            # One line per update, naming the key (never its secret): who changed what.
            done = "applied" if outcome.index is not None else "nothing to change"
            if outcome.rcode != dns.rcode.NOERROR:
                done = "refused" if outcome.why is None else f"refused: {outcome.why}"
            _log.info(
                "dynamic update of {zone} with key {key}: {rcode}, {done}",
                zone=zone,
                key=key,
                rcode=dns.rcode.to_text(dns.rcode.Rcode(outcome.rcode)),
                done=done,
            )
        if outcome.index is not None:
            self._install(outcome.index)
        verified.response.set_rcode(dns.rcode.Rcode(outcome.rcode))
        wire: bytes = verified.response.to_wire()
        return wire

    def _logRefusal(
        self, request: dns.message.Message, keyName: dns.name.Name | None, why: str
    ) -> None:
        """
        Log an update refused before its signature was trusted. Anyone can send those (over
        UDP, from any address), so at most L{MAX_LOGGED_REFUSALS} a minute are logged, and
        then how many were not.
        """
        now = self.clock()
        if now - self._refusalWindow >= 60:
            if self._refusalsUnlogged:
                _log.warn(
                    "{count} more refused dynamic updates were not logged",
                    count=self._refusalsUnlogged,
                )
            self._refusalWindow, self._refusalsLogged, self._refusalsUnlogged = now, 0, 0
        if self._refusalsLogged >= MAX_LOGGED_REFUSALS:
            self._refusalsUnlogged += 1
            return
        self._refusalsLogged += 1
        by = "" if keyName is None else f" with key {keyName}"
        _log.warn(
            "dynamic update of {zone}{by} refused: {why}", zone=_zoneOf(request), by=by, why=why
        )

    def _replayed(self, keyName: dns.name.Name, tsig: dns.rdtypes.ANY.TSIG.TSIG) -> bool:
        """
        Whether this signed request was seen before; remember it until its time is past.
        """
        now = self.clock()
        for entry, until in list(self._seen.items()):
            if until < now:
                del self._seen[entry]
        entry = (keyName, tsig.mac)
        if entry in self._seen:
            return True
        self._seen[entry] = tsig.time_signed + tsig.fudge
        return False

    def _apply(self, verified: _Verified) -> ZoneIndex | None:
        request, grants = verified.request, verified.grants
        if len(request.zone) != 1:
            raise _Refused(dns.rcode.FORMERR)
        zoneRRset = request.zone[0]
        if zoneRRset.rdclass != dns.rdataclass.IN:
            raise _Refused(dns.rcode.NOTAUTH)
        if len(request.prerequisite) + len(request.update) > self.maxRecords:
            raise _Refused(dns.rcode.REFUSED)
        origin = zoneRRset.name
        responder = self.holder.responder
        served = responder.store.get(origin)
        source = next((s for s in self.sources if s.origin == origin), None)
        if served is None or source is None:
            raise _Refused(dns.rcode.NOTAUTH)
        if _signedElsewhere(source, served):
            raise _Refused(dns.rcode.REFUSED)  # cannot re-sign
        for rrset in [*request.prerequisite, *request.update]:
            if not rrset.name.is_subdomain(origin):
                raise _Refused(dns.rcode.NOTZONE)
        zone = absoluteZone(served.zone, stripDNSSEC=True)
        for rrset in request.update:
            # Additions only: deleting what lies below a cut cleans the zone up.
            if rrset.rdclass == dns.rdataclass.IN and _belowCut(zone, origin, rrset):
                # Data at or below a delegation is not the zone's: it would be written and
                # never served (RFC 2136 section 3.4.1.3).
                raise _Refused(dns.rcode.NOTZONE)
        signingKeys = [readKeyFiles(path)[1] for path in source.keys]
        dnskeys = zone.get_rdataset(origin, dns.rdatatype.DNSKEY)
        if dnskeys is not None:
            # The signer's own DNSKEYs come back when the zone is signed again; others stay
            # published (key rollovers), as they were in the file.
            for key in signingKeys:
                dnskeys.discard(key.dnskey)
            if not dnskeys:
                zone.delete_rdataset(origin, dns.rdatatype.DNSKEY)
        if len(zone.nodes) > self.maxNames:
            raise _Refused(dns.rcode.REFUSED)
        _checkForms(verified.headers)
        _prescan(request.update, origin)
        _checkPolicy(zone, request.update, grants)
        _checkPrerequisites(zone, request.prerequisite)
        changed, soaGiven = _applyUpdates(zone, request.update, origin)
        _checkStructure(zone, request.update)
        if not changed:
            return None
        if not soaGiven:
            _bumpSerial(zone, origin)
        return self._commit(source, zone, signingKeys, served.zone)

    def _commit(
        self,
        source: UpdateZone,
        zone: dns.zone.Zone,
        keys: Sequence[SigningKey],
        previous: dns.zone.Zone,
    ) -> ZoneIndex:
        """
        Sign C{zone} with C{keys} (if any), reusing the signatures of C{previous} for what
        did not change, write it to its file, and return it indexed for serving.
        """
        served = zone
        if keys:
            now = int(self.clock())
            options = SigningOptions(now - 3600, now + self.validity, nsec3=source.nsec3)
            # Signatures with less than half their validity left are made anew.
            reuseAfter = now + self.validity // 2
            served = signZone(zone, keys, options, previous, reuseAfter)
        index = ZoneIndex.build(served)
        try:
            _writeZone(zone, source.path)
        except OSError as e:
            # Nothing changes, and the operator is told why.
            reason = f"cannot write {source.path}: {e.strerror or e}"
            raise _Refused(dns.rcode.SERVFAIL, reason) from None
        return index

    def _install(self, index: ZoneIndex) -> None:
        """
        Answer from C{index} in place of the zone of its origin, from the next query on.
        """
        self.applied += 1
        old = self.holder.responder
        zones = [index if z.origin == index.origin else z for z in old.store]
        self.holder.responder = Responder(
            ZoneStore(zones),
            maxUDPPayload=old.maxUDPPayload,
            maxChain=old.maxChain,
            cacheSize=old.cacheSize,
            cacheBytes=old.cacheBytes,
            updater=self,
        )


def _zoneOf(request: dns.message.Message) -> str:
    zone = request.sections[0]
    return zone[0].name.to_text() if zone else "?"


def _belowCut(zone: dns.zone.Zone, origin: dns.name.Name, rrset: dns.rrset.RRset) -> bool:
    """
    Whether C{rrset} lies where the zone delegates: below a name with NS records (other than
    the apex), or at one, for other types than the parent's own there (NS, DS). Address
    records below a cut are glue, and stay the parent's.
    """
    name = rrset.name
    rdtype = rrset.rdtype
    for depth in range(len(origin) + 1, len(name) + 1):
        cut = name.split(depth)[1]
        node = zone.get_node(cut)
        if node is None or node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) is None:
            continue
        if cut == name:
            return rdtype not in (dns.rdatatype.NS, dns.rdatatype.DS)
        return rdtype not in (dns.rdatatype.A, dns.rdatatype.AAAA)
    return False


def _prescan(updates: Iterable[dns.rrset.RRset], origin: dns.name.Name) -> None:
    """
    RFC 2136 section 3.4.1: every update record is well formed, or the update is FORMERR.
    """
    for rrset in updates:
        rdtype = rrset.rdtype
        if rrset.deleting is None:
            if rdtype in _META or rrset.rdclass != dns.rdataclass.IN:
                # Another class than the zone's (RFC 2136 section 3.4.1.2).
                raise _Refused(dns.rcode.FORMERR)
            for rdata in rrset:
                if isinstance(rdata, dns.rdtypes.ANY.DNSKEY.DNSKEY):
                    problem = dnskeyProblem(rdata)
                    if problem is not None:
                        raise _Refused(dns.rcode.FORMERR, f"a DNSKEY that is no key ({problem})")
        elif rrset.deleting == dns.rdataclass.ANY:
            if rrset.ttl != 0 or (rdtype in _META and rdtype != dns.rdatatype.ANY):
                raise _Refused(dns.rcode.FORMERR)
        elif rrset.ttl != 0 or rdtype in _META:
            raise _Refused(dns.rcode.FORMERR)
        if rdtype in _SIGNER_TYPES:
            raise _Refused(dns.rcode.REFUSED)


def _checkForms(headers: Iterable[RecordHeader]) -> None:
    """
    FORMERR for what dnspython's message no longer shows: a prerequisite whose TTL is not 0
    (RFC 2136 section 3.2), or whose class is not the zone's, ANY or NONE (section 3.2.5);
    an update of another class (section 3.4.1.2), or a deletion (class ANY or NONE) whose
    TTL is not 0 (sections 3.4.1.3 and 3.4.2.3), or of class ANY with data.
    """
    classes = (dns.rdataclass.IN, dns.rdataclass.ANY, dns.rdataclass.NONE)
    for header in headers:
        if header.section == 1:
            if header.ttl != 0 or header.rdclass not in classes:
                raise _Refused(dns.rcode.FORMERR)
        elif header.section == 2:
            if header.rdclass not in classes:
                raise _Refused(dns.rcode.FORMERR)
            deleting = header.rdclass != dns.rdataclass.IN
            if deleting and header.ttl != 0:
                raise _Refused(dns.rcode.FORMERR)
            if header.rdclass == dns.rdataclass.ANY and header.rdlength != 0:
                raise _Refused(dns.rcode.FORMERR)


def _checkStructure(zone: dns.zone.Zone, updates: Iterable[dns.rrset.RRset]) -> None:
    """
    After the updates: a DS record left where its delegation was removed goes with it (as
    BIND removes it); a DS record added where the zone does not delegate (its apex, a name
    without NS records, below a delegation), or any name below a DNAME (added, or under a
    DNAME added), is REFUSED (RFC 4035 section 2.4, RFC 6672 section 2.3).
    """
    origin = zone.origin
    assert origin is not None
    addedDS = {
        rrset.name
        for rrset in updates
        if rrset.deleting is None and rrset.rdtype == dns.rdatatype.DS
    }
    for name, node in list(zone.nodes.items()):
        orphan = name != origin and name not in addedDS
        if orphan and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) is None:
            if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.DS) is not None:
                zone.delete_rdataset(name, dns.rdatatype.DS)  # and the node, left empty
    problem = next(structureProblems(zone), None)
    if problem is not None:
        raise _Refused(dns.rcode.REFUSED, problem.reason)


def _allowed(grants: Sequence[UpdateGrant], name: dns.name.Name, rdtype: int) -> bool:
    return any(grant.allows(name, rdtype) for grant in grants)


def _checkPolicy(
    zone: dns.zone.Zone, updates: Iterable[dns.rrset.RRset], grants: Sequence[UpdateGrant]
) -> None:
    """
    REFUSED unless the key may change every record the update touches; deleting every
    RRset of a name needs the right to each type the name has.
    """
    for rrset in updates:
        if rrset.rdtype == dns.rdatatype.ANY:
            node = zone.nodes.get(rrset.name)
            types = [r.rdtype for r in node.rdatasets] if node is not None else []
            inside = [g for g in grants if g.suffix is None or rrset.name.is_subdomain(g.suffix)]
            if not inside:
                raise _Refused(dns.rcode.REFUSED)
        else:
            types = [rrset.rdtype]
        for rdtype in types:
            if not _allowed(grants, rrset.name, rdtype):
                raise _Refused(dns.rcode.REFUSED)


def _nameInUse(zone: dns.zone.Zone, name: dns.name.Name) -> bool:
    node = zone.nodes.get(name)
    return node is not None and bool(node.rdatasets)


def _checkPrerequisites(zone: dns.zone.Zone, prerequisites: Iterable[dns.rrset.RRset]) -> None:
    """
    RFC 2136 section 3.2: the first prerequisite that fails decides the rcode.
    """
    expected: dict[tuple[dns.name.Name, dns.rdatatype.RdataType], dns.rdataset.Rdataset] = {}
    for rrset in prerequisites:
        if rrset.ttl != 0:
            raise _Refused(dns.rcode.FORMERR)
        name, rdtype = rrset.name, rrset.rdtype
        if rrset.deleting == dns.rdataclass.ANY:
            if rdtype == dns.rdatatype.ANY:
                if not _nameInUse(zone, name):
                    raise _Refused(dns.rcode.NXDOMAIN)
            elif zone.get_rdataset(name, rdtype) is None:
                raise _Refused(dns.rcode.NXRRSET)
        elif rrset.deleting == dns.rdataclass.NONE:
            if rdtype == dns.rdatatype.ANY:
                if _nameInUse(zone, name):
                    raise _Refused(dns.rcode.YXDOMAIN)
            elif zone.get_rdataset(name, rdtype) is not None:
                raise _Refused(dns.rcode.YXRRSET)
        else:
            if rdtype in _META or rrset.rdclass != dns.rdataclass.IN:
                # Another class than the zone's (RFC 2136 section 3.2.5).
                raise _Refused(dns.rcode.FORMERR)
            temp = expected.setdefault((name, rdtype), dns.rdataset.Rdataset(rrset.rdclass, rdtype))
            for rdata in rrset:
                temp.add(rdata)
    for (name, rdtype), wanted in expected.items():
        have = zone.get_rdataset(name, rdtype)
        if have is None or set(have) != set(wanted):
            raise _Refused(dns.rcode.NXRRSET)


def _applyUpdates(
    zone: dns.zone.Zone, updates: Iterable[dns.rrset.RRset], origin: dns.name.Name
) -> tuple[bool, bool]:
    """
    RFC 2136 section 3.4.2, in order. Returns whether anything changed and whether the
    update set the SOA itself.
    """
    before = _snapshot(zone)
    soaGiven = False
    for rrset in updates:
        name, rdtype = rrset.name, rrset.rdtype
        apex = name == origin
        if rrset.deleting is None:
            for rdata in rrset:
                soaGiven |= _addRecord(zone, name, rdata, rrset.ttl, apex)
        elif rrset.deleting == dns.rdataclass.ANY:
            if rdtype == dns.rdatatype.ANY:
                node = zone.nodes.get(name)
                for rdataset in list(node.rdatasets) if node is not None else []:
                    if apex and rdataset.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS):
                        continue
                    zone.delete_rdataset(name, rdataset.rdtype)
            elif not (apex and rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS)):
                zone.delete_rdataset(name, rdtype)
        else:
            if apex and rdtype == dns.rdatatype.SOA:
                continue
            have = zone.get_rdataset(name, rdtype)
            if have is None:
                continue
            for rdata in rrset:
                if apex and rdtype == dns.rdatatype.NS and len(have) == 1:
                    break
                have.discard(rdata)
            if not have:
                zone.delete_rdataset(name, rdtype)
        node = zone.nodes.get(name)
        if node is not None and not node.rdatasets:
            del zone.nodes[name]
    return _snapshot(zone) != before, soaGiven


def _addRecord(
    zone: dns.zone.Zone, name: dns.name.Name, rdata: dns.rdata.Rdata, ttl: int, apex: bool
) -> bool:
    rdtype = rdata.rdtype
    node = zone.nodes.get(name)
    types = {r.rdtype for r in node.rdatasets} if node is not None else set()
    if rdtype == dns.rdatatype.CNAME and types - {dns.rdatatype.CNAME}:
        return False
    if rdtype != dns.rdatatype.CNAME and dns.rdatatype.CNAME in types:
        return False
    if rdtype == dns.rdatatype.SOA:
        current = zone.get_rdataset(name, rdtype)
        if not apex or current is None:
            return False
        assert isinstance(rdata, dns.rdtypes.ANY.SOA.SOA)
        if (rdata.serial - current[0].serial) % 2**32 >= 2**31 or rdata.serial == current[0].serial:
            return False
        replacement = dns.rdataset.Rdataset(dns.rdataclass.IN, rdtype)
        replacement.add(rdata, ttl)
        zone.replace_rdataset(name, replacement)
        return True
    rdataset = zone.find_rdataset(name, rdtype, create=True)
    rdataset.add(rdata)
    rdataset.ttl = ttl
    return False


def _snapshot(zone: dns.zone.Zone) -> set[tuple[dns.name.Name, int, int, str]]:
    return {
        (name, rdataset.rdtype, rdataset.ttl, rdata.to_text())
        for name, node in zone.nodes.items()
        for rdataset in node.rdatasets
        for rdata in rdataset
    }


def _bumpSerial(zone: dns.zone.Zone, origin: dns.name.Name) -> None:
    soa = zone.get_rdataset(origin, dns.rdatatype.SOA)
    assert soa is not None
    old = soa[0]
    serial = (old.serial + 1) % 2**32
    replacement = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.SOA)
    replacement.add(old.replace(serial=serial), soa.ttl)
    zone.replace_rdataset(origin, replacement)


def _writeZone(zone: dns.zone.Zone, path: str) -> None:
    """
    Replace the master file at C{path} with C{zone}, atomically: a reader sees the old file
    or the new one, never a part.
    """
    text = io.StringIO()
    text.write(f"; zone {zone.origin}, rewritten after a dynamic update\n")
    zone.to_file(text, sorted=True, relativize=False)
    writeAtomically(path, text.getvalue().encode("utf-8"))


def _plainResponse(request: dns.message.Message, rcode: int) -> bytes:
    response = dns.message.make_response(request)
    response.set_rcode(dns.rcode.Rcode(rcode))
    return response.to_wire()

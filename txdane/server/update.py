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

The keys and what each may change are L{txdane.server.updategrants}'s; the checks of an
update and its changes to the zone (RFC 2136 sections 3.2 to 3.4), L{txdane.server.updaterules}'s.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
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
from txdane.server.signing import SigningKey, SigningOptions, absoluteZone, signZone
from txdane.server.tsigcheck import TSIGRefusal, checkTSIG, requestTSIG
from txdane.server.updategrants import (
    DEFAULT_UPDATE_TYPES,
    TSIG_ALGORITHMS,
    UpdateGrant,
    UpdateKeyError,
    UpdateZone,
    checkKeyNames,
    parseAllowUpdate,
    readTSIGKeys,
    zonesReached,
    zonesSignedElsewhere,
)

# What moved to updategrants and updaterules, under the names it had here: the updater calls
# these names, so patching one here reaches it.
from txdane.server.updategrants import checkPolicy as _checkPolicy
from txdane.server.updategrants import signedElsewhere as _signedElsewhere
from txdane.server.updaterules import UpdateRefused as _Refused
from txdane.server.updaterules import applyUpdates as _applyUpdates
from txdane.server.updaterules import belowCut as _belowCut
from txdane.server.updaterules import bumpSerial as _bumpSerial
from txdane.server.updaterules import checkForms as _checkForms
from txdane.server.updaterules import checkPrerequisites as _checkPrerequisites
from txdane.server.updaterules import checkStructure as _checkStructure
from txdane.server.updaterules import prescan as _prescan
from txdane.server.wirescan import RecordHeader, bareError, recordHeaders
from txdane.server.zones import ZoneIndex, ZoneStore

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

#: The most records (prerequisites and updates together) one UPDATE message may hold.
DEFAULT_MAX_UPDATE_RECORDS = 1000
#: The most owner names a zone may have to take updates: each update copies, re-chains and
#: indexes the whole zone (signing anew only what changed), which costs on the order of a
#: millisecond of CPU per name, in a thread that shares the interpreter with the answering one.
DEFAULT_MAX_UPDATE_NAMES = 1000

_log = Logger()


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

"""
Publish TLSA and SSHFP records with dynamic updates (RFC 2136) signed with TSIG (RFC 8945).

L{publishRecords} replaces the RRset of one type at one name, on the primary server of its
zone, with the records given, in one update message sent over TCP:

  1. the zone is found (unless given) by asking the primary for the SOA of the name: an
     authoritative server answers with the SOA of the zone, in the answer section at the apex
     and in the authority section below it;
  2. the primary is asked for the RRset as it is now (these two queries are not signed);
  3. the update carries a prerequisite that the RRset is still exactly what was read (RFC 2136
     section 2.4.2, "RRset exists (value dependent)"), or, when there was none, that none
     exists (section 2.4.3); so a change made by someone else between the read and the update
     is never overwritten: the server answers NXRRSET or YXRRSET and changes nothing;
  4. it deletes the RRset and adds the new records, in the same message, so the change is
     atomic;
  5. once the server has answered NOERROR, the RRset is read again, signed, until it is the
     records sent: a server answers NOERROR to an add it ignores (beside a CNAME, RFC 2136
     section 3.4.2.2).

A read answered with an error (REFUSED, SERVFAIL) is an error, never "no RRset"; a CNAME at
the name is refused before any update; an RRset only a wildcard gives the name (seen by its
RRSIG in a signed zone) counts as none, since prerequisites never match wildcards.

The update is signed with the key given, and the server's answer must carry a valid
signature of the same key. L{TSIGKey.fromFile} reads the key files that BIND's C{tsig-keygen}
and Knot's C{keymgr -t} write.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.python.failure import Failure

from txdane.dane.tlsa import TLSARecord
from txdane.errors import TxdaneError
from txdane.names import asName, tlsaName
from txdane.resolvconf import NameServer
from txdane.tsig import ALGORITHMS, TSIGKey, TSIGKeyError

#: The TTL of published records unless another is asked for.
DEFAULT_TTL = 300

#: Seconds one exchange with the primary may take.
DEFAULT_TIMEOUT = 10.0

#: Seconds an accepted update may take to show in what the primary serves (a primary that
#: signs inline applies it to the signed zone a moment after it answers).
CONFIRM_TIME = 5.0


class PublishError(TxdaneError):
    """
    A publication failed; nothing was changed unless the error says otherwise.
    """


class PublishTimeoutError(PublishError):
    """
    The primary did not answer in time, or the connection to it failed.

    @ivar server: the primary.
    @ivar reason: what happened.
    """

    server: str
    reason: str
    template = "no answer from {server}: {reason}"


class UpdateRejectedError(PublishError):
    """
    The primary answered the update with an error.

    @ivar server: the primary.
    @ivar zone: the zone updated.
    @ivar rcode: the response code, such as C{"REFUSED"} or C{"NOTAUTH"}.
    @ivar explanation: what it means for the user.
    """

    server: str
    zone: str
    rcode: str
    explanation: str
    template = "{server} answered {rcode} for zone {zone}: {explanation}"


class PrerequisiteFailedError(UpdateRejectedError):
    """
    The RRset changed between the read and the update (NXRRSET, YXRRSET): someone else changed
    it; nothing was changed, read it again before publishing.
    """


class TSIGRejectedError(UpdateRejectedError):
    """
    The primary did not accept the signature of the update (BADSIG, BADKEY, BADTIME), or the
    answer's signature did not verify.
    """


_EXPLANATIONS = {
    "NOTAUTH": "the server is not authoritative for the zone, or refused the TSIG key",
    "REFUSED": "the server's policy does not let this key update this zone",
    "NOTZONE": "the name is not in the zone",
    "SERVFAIL": "the server could not apply the update",
    "FORMERR": "the server could not parse the update",
    "NOTIMP": "the server does not accept dynamic updates",
    "NXRRSET": "the RRset changed since it was read (someone else changed it); nothing was changed",
    "YXRRSET": "an RRset appeared since it was read (someone else added it); nothing was changed",
    "BADSIG": "the TSIG signature does not verify: wrong secret",
    "BADKEY": "the server does not know this TSIG key name or algorithm, or does not let it"
    " update the zone",
    "BADTIME": "the clocks of this machine and the server differ by more than the fudge (300 s)",
}


@dataclass(frozen=True)
class PublishResult:
    """
    What L{publishRecords} changed.

    @ivar server: the primary updated.
    @ivar zone: the zone updated.
    @ivar owner: the owner name of the RRset.
    @ivar rdtype: its type.
    @ivar ttl: the TTL of the new records.
    @ivar previous: the RRset before the update, or C{None} when there was none.
    @ivar records: the records now published.
    """

    server: NameServer
    zone: dns.name.Name
    owner: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    ttl: int
    previous: dns.rrset.RRset | None
    records: tuple[dns.rdata.Rdata, ...]

    @property
    def changed(self) -> bool:
        """
        Whether the RRset differs from what it was (other than in its TTL).
        """
        before = set(self.previous) if self.previous is not None else set()
        return before != set(self.records)

    @property
    def previousTTL(self) -> int | None:
        """
        The TTL of the RRset before the update (how long caches may still hold it), or C{None}
        when there was none.
        """
        return self.previous.ttl if self.previous is not None else None

    def toJSON(self) -> dict[str, Any]:
        """
        The result as JSON-ready values.
        """
        return {
            "server": f"{self.server.host}#{self.server.port}",
            "zone": self.zone.to_text(),
            "owner": self.owner.to_text(),
            "type": dns.rdatatype.to_text(self.rdtype),
            "ttl": self.ttl,
            "previous": [r.to_text() for r in self.previous] if self.previous else [],
            "previous_ttl": self.previousTTL,
            "records": [r.to_text() for r in self.records],
            "changed": self.changed,
        }


class _TCPExchange(Protocol):
    """
    Send one length-prefixed DNS message over TCP and read one back (RFC 1035 section 4.2.2).
    """

    def __init__(self, wire: bytes, done: Deferred[bytes]) -> None:
        self._wire = wire
        self._done = done
        self._buffer = b""

    def connectionMade(self) -> None:
        self.transport.write(struct.pack("!H", len(self._wire)) + self._wire)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) < 2:
            return
        (length,) = struct.unpack("!H", self._buffer[:2])
        if len(self._buffer) >= 2 + length and not self._done.called:
            self._done.callback(self._buffer[2 : 2 + length])
            self.transport.loseConnection()  # type: ignore[union-attr]

    def connectionLost(self, reason: Failure | None = None) -> None:
        if not self._done.called:
            self._done.errback(ConnectionError("the server closed the connection"))


class _Factory(ClientFactory):
    def __init__(self, wire: bytes, done: Deferred[bytes]) -> None:
        self._wire = wire
        self._done = done

    def buildProtocol(self, addr: Any) -> _TCPExchange:
        return _TCPExchange(self._wire, self._done)

    def clientConnectionFailed(self, connector: Any, reason: Failure) -> None:
        if not self._done.called:
            self._done.errback(reason)


async def exchange(
    reactor: Any,
    server: NameServer,
    message: dns.message.Message,
    timeout: float = DEFAULT_TIMEOUT,
    keyring: dns.tsig.Key | None = None,
    zone: str = "?",
) -> dns.message.Message:
    """
    Send C{message} to C{server} over TCP and return its answer, read with C{keyring} when the
    message is signed.

    @param zone: the zone or name the message is about, for error messages.
    @raise PublishTimeoutError: when no answer came within C{timeout} seconds or the
        connection failed.
    @raise TSIGRejectedError: when the answer carries a TSIG error or its signature does not
        verify.
    """
    where = f"{server.host}#{server.port}"
    done: Deferred[bytes] = Deferred()
    connector = reactor.connectTCP(
        server.host, server.port, _Factory(message.to_wire(), done), timeout=timeout
    )

    def expire() -> None:
        if not done.called:
            done.errback(TimeoutError(f"no answer within {timeout:g} s"))
        connector.disconnect()

    timer = reactor.callLater(timeout, expire)
    try:
        wire = await done
    except Exception as e:
        raise PublishTimeoutError(where, str(e) or type(e).__name__) from None
    finally:
        if timer.active():
            timer.cancel()
    try:
        if keyring is None:
            return dns.message.from_wire(wire)
        response = dns.message.from_wire(wire, keyring=keyring, request_mac=message.mac)
    except dns.tsig.PeerError as e:
        rcode = {
            dns.tsig.PeerBadSignature: "BADSIG",
            dns.tsig.PeerBadKey: "BADKEY",
            dns.tsig.PeerBadTime: "BADTIME",
        }.get(type(e), "NOTAUTH")
        raise TSIGRejectedError(where, zone, rcode, _EXPLANATIONS[rcode]) from None
    except dns.message.UnknownTSIGKey:
        raise TSIGRejectedError(
            where, zone, "NOTAUTH", "the answer is signed with another key"
        ) from None
    except _BAD_SIGNATURE as e:
        raise TSIGRejectedError(
            where,
            zone,
            _unverifiedRcode(wire),
            f"the answer's TSIG signature does not verify ({_SIGNATURE_FAILURES[type(e)]}):"
            " it was forged or altered on the way, so nothing in it can be trusted; an update"
            " may have been applied all the same: read the records before trying again",
        ) from None
    except dns.exception.DNSException as e:
        # dnspython refuses some unsigned answers (those with additional records) and
        # reads the others: both are judged alike, below.
        try:
            response = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            raise PublishTimeoutError(where, f"malformed answer: {e}") from None
    if not response.had_tsig:
        raise _unsignedRejection(where, zone, dns.rcode.to_text(response.rcode()))
    return response


#: Why dnspython refuses an answer's TSIG, by the error it raises (RFC 8945 section 5.3).
_SIGNATURE_FAILURES: dict[type[Exception], str] = {
    dns.tsig.BadSignature: "its MAC is wrong: another secret, another request, or cut short",
    dns.tsig.BadKey: "it names another key",
    dns.tsig.BadAlgorithm: "it names another algorithm than the key's",
    dns.tsig.BadTime: "its time is outside the fudge of this machine's clock",
}

_BAD_SIGNATURE = tuple(_SIGNATURE_FAILURES)


def _unverifiedRcode(wire: bytes) -> str:
    """
    The response code of an answer whose signature did not verify, read without checking it
    (only to say what the answer claimed), or C{"?"} when it cannot be read at all.
    """
    try:
        return dns.rcode.to_text(dns.message.from_wire(wire, keyring=False).rcode())
    except dns.exception.DNSException:
        return "?"


def _unsignedRejection(where: str, zone: str, rcode: str) -> UpdateRejectedError:
    """
    The error for an unsigned answer with C{rcode} to a signed message. Only an error is
    believed without a signature, and it changes nothing: a server that takes no TSIG (or
    not this key) answers this way. An unsigned success could come from anyone on the path.
    """
    if rcode == "NOERROR":
        return TSIGRejectedError(
            where,
            zone,
            rcode,
            "the answer to the signed message is not signed, so nothing in it can be trusted",
        )
    return UpdateRejectedError(
        where,
        zone,
        rcode,
        f"{_EXPLANATIONS.get(rcode, 'an error')}; the answer is not signed, so the server may"
        " not accept TSIG-signed messages (or this key) at all",
    )


async def findZone(
    reactor: Any,
    server: NameServer,
    name: dns.name.Name,
    tsigKey: TSIGKey | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> dns.name.Name:
    """
    The zone of C{name} on C{server}, found by asking it for the SOA of C{name}.

    @raise PublishError: when the server is not authoritative for C{name} (saying so, and
        naming the delegated zone when the server refers the name to one).
    """
    query = dns.message.make_query(name, dns.rdatatype.SOA)
    query.flags &= ~dns.flags.RD
    key = tsigKey.toDNSPython() if tsigKey is not None else None
    if key is not None:
        query.use_tsig(key)
    response = await exchange(reactor, server, query, timeout, key, name.to_text())
    where = f"{server.host}#{server.port}"
    for section in (response.answer, response.authority):
        for rrset in section:
            if rrset.rdtype == dns.rdatatype.SOA and name.is_subdomain(rrset.name):
                return rrset.name
    for rrset in response.authority:
        if rrset.rdtype == dns.rdatatype.NS and name.is_subdomain(rrset.name):
            cut = rrset.name.to_text(omit_final_dot=True)
            raise UpdateRejectedError(
                where,
                name.to_text(),
                dns.rcode.to_text(response.rcode()),
                f"the server refers the name to the delegated zone {cut} (its NS records):"
                f" the records of {cut} are published on its own primary server",
            )
    raise UpdateRejectedError(
        where,
        name.to_text(),
        dns.rcode.to_text(response.rcode()),
        "the server gave no SOA for the name: it is not authoritative for it (give --zone?)",
    )


async def readRRset(
    reactor: Any,
    server: NameServer,
    owner: dns.name.Name,
    rdtype: dns.rdatatype.RdataType,
    tsigKey: TSIGKey | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    zone: dns.name.Name | None = None,
) -> dns.rrset.RRset | None:
    """
    The RRset C{owner}/C{rdtype} as C{server} serves it, or C{None} when the name has none of
    its own: none at all, or only what a wildcard gives it (RFC 4592), which the prerequisites
    of an update never match (RFC 2136 section 3.2.5).

    The query asks for DNSSEC records so that a wildcard's answer shows itself in a signed
    zone: its RRSIG counts fewer labels than the owner (RFC 4035 section 5.3.2). (In an unsigned
    zone nothing tells it from the name's own RRset.)

    @param zone: the zone, named in errors (else the owner is).
    @raise UpdateRejectedError: when the server answers anything but NOERROR or NXDOMAIN (a
        refused read is not "no RRset"), or when C{owner} is an alias (a CNAME), beside which
        a server ignores the records an update adds (RFC 2136 section 3.4.2.2).
    """
    query = dns.message.make_query(owner, rdtype, want_dnssec=True)
    query.flags &= ~dns.flags.RD
    key = tsigKey.toDNSPython() if tsigKey is not None else None
    if key is not None:
        query.use_tsig(key)
    about = (zone or owner).to_text()
    response = await exchange(reactor, server, query, timeout, key, about)
    where = f"{server.host}#{server.port}"
    rcode = dns.rcode.to_text(response.rcode())
    kind = dns.rdatatype.to_text(rdtype)
    if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        raise UpdateRejectedError(
            where,
            about,
            rcode,
            f"the query for the {kind} records of {owner} failed (the server refuses or"
            " cannot answer it), so they cannot be read; nothing was changed",
        )
    alias = response.get_rrset(response.answer, owner, dns.rdataclass.IN, dns.rdatatype.CNAME)
    if alias is not None and rdtype != dns.rdatatype.CNAME:
        target = alias[0].target.to_text()
        raise UpdateRejectedError(
            where,
            about,
            rcode,
            f"{owner} is an alias (CNAME to {target}): a server ignores {kind} records added"
            f" beside it (RFC 2136 section 3.4.2.2); publish them at {target}, or remove the"
            " CNAME first; nothing was changed",
        )
    rrset = response.get_rrset(response.answer, owner, dns.rdataclass.IN, rdtype)
    if rrset is None:
        return None
    sigs = response.get_rrset(
        response.answer, owner, dns.rdataclass.IN, dns.rdatatype.RRSIG, rdtype
    )
    labels = len(owner) - 1 - (1 if owner.is_wild() else 0)
    if sigs is not None and all(sig.labels < labels for sig in sigs):
        return None
    return rrset


async def _confirm(
    reactor: Any,
    server: NameServer,
    tsigKey: TSIGKey,
    owner: dns.name.Name,
    records: list[dns.rdata.Rdata],
    zone: dns.name.Name,
    timeout: float,
) -> None:
    """
    Read the RRset again, with a signed query whose answer must be signed too, until it is
    C{records}; a server answers NOERROR to an update it ignored in part (RFC 2136 section
    3.4.2.2), and one that signs inline serves the change a moment after it answered.

    @raise UpdateRejectedError: when it is still something else after L{CONFIRM_TIME} s.
    """
    from twisted.internet.task import deferLater

    rdtype = records[0].rdtype
    end = reactor.seconds() + CONFIRM_TIME
    delay = 0.05
    while True:
        rrset = await readRRset(reactor, server, owner, rdtype, tsigKey, timeout, zone)
        seen = set(rrset) if rrset is not None else set()
        if seen == set(records):
            return
        if reactor.seconds() + delay > end:
            break
        await deferLater(reactor, delay, lambda: None)
        delay = min(delay * 2, 0.5)
    kind = dns.rdatatype.to_text(rdtype)
    serves = f"{len(seen)} other record(s)" if seen else "none"
    raise UpdateRejectedError(
        f"{server.host}#{server.port}",
        zone.to_text(),
        "NOERROR",
        f"the server accepted the update but did not apply it: {CONFIRM_TIME:g} s later it"
        f" serves {serves} of the {len(records)} {kind} record(s) sent at {owner}",
    )


def publishRecords(
    reactor: Any,
    server: NameServer,
    tsigKey: TSIGKey,
    owner: dns.name.Name,
    records: Sequence[dns.rdata.Rdata],
    zone: dns.name.Name | None = None,
    ttl: int = DEFAULT_TTL,
    timeout: float = DEFAULT_TIMEOUT,
) -> Deferred[PublishResult]:
    """
    Replace the RRset at C{owner} of the type of C{records} with C{records}, on the primary
    C{server}, with an update signed with C{tsigKey} whose prerequisite is that the RRset is
    what it was when read (see the module's docstring).

    @param records: one or more records, all of one type.
    @param zone: the zone to update; by default, found by asking C{server} (L{findZone}).
    @param timeout: seconds each exchange with C{server} may take.
    @return: a C{Deferred} firing with the L{PublishResult}, or failing with
        L{PrerequisiteFailedError} when the RRset changed between the read and the update,
        L{TSIGRejectedError} when the server refused the signature or the signature of its
        answer does not verify, L{UpdateRejectedError} for any other error the server
        answered (to the update or to the read before it), for an alias (CNAME) at C{owner},
        and for an update it accepted but did not apply, L{PublishTimeoutError} when it did
        not answer.
    @raise ValueError: when C{records} is empty or mixes types.
    """
    if not records:
        raise ValueError("no records to publish")
    if any(r.rdtype != records[0].rdtype for r in records):
        raise ValueError("the records are not all of one type")
    return Deferred.fromCoroutine(
        _publish(reactor, server, tsigKey, owner, list(records), zone, ttl, timeout)
    )


async def _publish(
    reactor: Any,
    server: NameServer,
    tsigKey: TSIGKey,
    owner: dns.name.Name,
    records: list[dns.rdata.Rdata],
    zone: dns.name.Name | None,
    ttl: int,
    timeout: float,
) -> PublishResult:
    rdtype = records[0].rdtype
    # The reads are not signed: a primary answers queries for its zones to anyone, while some
    # (Knot) refuse a signed query whose key no query ACL names.
    if zone is None:
        zone = await findZone(reactor, server, owner, None, timeout)
    previous = await readRRset(reactor, server, owner, rdtype, None, timeout, zone)
    key = tsigKey.toDNSPython()
    update = dns.update.UpdateMessage(zone, keyring=key)
    if previous is None:
        update.absent(owner, rdtype)
    else:
        update.present(owner, dns.rdataset.from_rdata_list(0, list(previous)))
    update.delete(owner, rdtype)
    for record in records:
        update.add(owner, ttl, record)
    response = await exchange(reactor, server, update, timeout, key, zone.to_text())
    rcode = dns.rcode.to_text(response.rcode())
    where = f"{server.host}#{server.port}"
    if rcode in ("NXRRSET", "YXRRSET", "NXDOMAIN", "YXDOMAIN"):
        raise PrerequisiteFailedError(
            where, zone.to_text(), rcode, _EXPLANATIONS.get(rcode, "the prerequisite failed")
        )
    if response.rcode() != dns.rcode.NOERROR:
        explanation = _EXPLANATIONS.get(rcode, "the update was not applied")
        if rcode == "NOTAUTH":
            raise TSIGRejectedError(where, zone.to_text(), rcode, explanation)
        raise UpdateRejectedError(where, zone.to_text(), rcode, explanation)
    await _confirm(reactor, server, tsigKey, owner, records, zone, timeout)
    return PublishResult(server, zone, owner, rdtype, ttl, previous, tuple(records))


def publishTLSA(
    reactor: Any,
    server: NameServer,
    tsigKey: TSIGKey,
    host: dns.name.Name | str,
    port: int,
    records: Sequence[TLSARecord],
    zone: dns.name.Name | str | None = None,
    ttl: int = DEFAULT_TTL,
    proto: str = "tcp",
    timeout: float = DEFAULT_TIMEOUT,
) -> Deferred[PublishResult]:
    """
    Replace the TLSA RRset of C{host}'s C{port} (C{_PORT._PROTO.HOST}) with C{records}; see
    L{publishRecords}.
    """
    return publishRecords(
        reactor,
        server,
        tsigKey,
        tlsaName(host, port, proto),
        [r.toRdata() for r in records],
        asName(zone) if zone is not None else None,
        ttl,
        timeout,
    )


__all__ = [
    "ALGORITHMS",
    "CONFIRM_TIME",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TTL",
    "PrerequisiteFailedError",
    "PublishError",
    "PublishResult",
    "PublishTimeoutError",
    "TSIGKey",
    "TSIGKeyError",
    "TSIGRejectedError",
    "UpdateRejectedError",
    "exchange",
    "findZone",
    "publishRecords",
    "publishTLSA",
    "readRRset",
]

"""
The rollover gate (C{txdane check HOST PORT --ready CERT}, L{txdane.cli._ready}) against a
zone with two authoritative servers on loopback: C{ns1.test} (127.0.0.1 and ::1) serves the
zone with the next record, C{ns2.example.test} (127.0.0.2) an older copy, signed with the same
keys, that lacks it. The gate stays closed until every server has the record and its TTL has
passed; a CNAME at the TLSA name is followed to the zone that holds the records.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dns.name
import dns.rdataset
import dns.rdatatype
import dns.zone
from twisted.internet.error import CannotListenError
from twisted.trial.unittest import TestCase

from tests.cli.world import parse
from tests.dane.certs import issue
from tests.endpoints.world import reactor
from txdane.cli import check
from txdane.cli._ready import checkReady
from txdane.dane.tlsa import recordForCertificate
from txdane.errors import LookupFailedError
from txdane.resolvconf import NameServer
from txdane.server.service import listenDNS, responderForZones
from txdane.server.signing import SigningOptions, absoluteZone, signZone
from txdane.testing import buildHierarchy
from txdane.transport import DNSClient, DNSTimeoutError
from txdane.validation import TrustAnchors, ValidatingResolver

EXAMPLE = dns.name.from_text("example.test.")
OWNER = dns.name.from_text("_443._tcp.gate.example.test.")
ALIAS = "_443._tcp.alias-gate.nsec3.test."
TTL = 60
#: The state file's TTLs of the TLSA RRset when the latest look found TTL served.
SERVED = {str(TTL): None}
SECOND = "ns2.example.test (127.0.0.2)"


class _TwoServers(TestCase):
    """
    The zone served by two servers, and the gate's files.
    """

    async def setUp(self) -> None:  # type: ignore[override]
        self.current = issue("gate.example.test")
        self.following = issue("gate.example.test")
        records = [recordForCertificate(i.cert).toRdata() for i in (self.current, self.following)]
        self.hierarchy = buildHierarchy(
            extraRecords={
                "example.test.": [
                    *(f"_443._tcp.gate {TTL} IN TLSA {r.to_text()}" for r in records),
                    "@ 3600 IN NS ns2",
                    "ns2 300 IN A 127.0.0.2",
                ],
                "nsec3.test.": [f"_443._tcp.alias-gate 300 IN CNAME {OWNER}"],
            }
        )
        self.zones = dict(self.hierarchy.zones)
        self.older = dict(self.zones)
        self.older[EXAMPLE] = self.without(self.zones[EXAMPLE], records[1])
        self.primary = await self.hierarchy.serve(reactor)
        self.addCleanup(self.primary.stop)
        self.port: int = self.primary.port
        try:
            for interface in ("::1",):
                running = await listenDNS(
                    reactor, responderForZones(self.zones.values()), interface, self.port
                )
                self.addCleanup(running.stop)
            self.second = await listenDNS(
                reactor, responderForZones(self.older.values()), "127.0.0.2", self.port
            )
        except CannotListenError as e:
            self.skipTest(f"port {self.port} is taken on another loopback address: {e}")
        self.addCleanup(lambda: self.second.stop())
        client = DNSClient(reactor, [f"127.0.0.1#{self.port}"], timeout=2, attempts=1)
        self.resolver = ValidatingResolver(
            client,
            trustAnchors=TrustAnchors.fromRRsets([self.hierarchy.trustAnchor]),
            clock=reactor,
        )
        folder = Path(tempfile.mkdtemp(prefix="txdane-ready-"))
        self.addCleanup(shutil.rmtree, folder)
        self.state = folder / "ready.json"
        self.nextPath = folder / "next.pem"
        self.nextPath.write_bytes(self.following.certPEM())

    def without(self, zone: dns.zone.Zone, rdata: Any) -> dns.zone.Zone:
        """
        C{zone} without the TLSA record C{rdata}, signed again with the zone's own keys.
        """
        copy = absoluteZone(zone, stripDNSSEC=True)
        copy.find_rdataset(OWNER, dns.rdatatype.TLSA).discard(rdata)
        now = self.hierarchy.now
        options = SigningOptions(now - 3600, now + 30 * 86400)
        return signZone(copy, self.hierarchy.keys[EXAMPLE], options)

    def withTTL(self, zone: dns.zone.Zone, ttl: int, *rdatas: Any) -> dns.zone.Zone:
        """
        C{zone} with the TLSA RRset C{rdatas} of TTL C{ttl}, signed again with its own keys.
        """
        copy = absoluteZone(zone, stripDNSSEC=True)
        copy.find_node(OWNER).replace_rdataset(dns.rdataset.from_rdata_list(ttl, list(rdatas)))
        now = self.hierarchy.now
        options = SigningOptions(now - 3600, now + 30 * 86400)
        return signZone(copy, self.hierarchy.keys[EXAMPLE], options)

    async def serveSecond(self, zones: dict[dns.name.Name, dns.zone.Zone]) -> None:
        """
        Let the second server serve C{zones} from now on.
        """
        await self.second.stop()
        self.second = await listenDNS(
            reactor, responderForZones(zones.values()), "127.0.0.2", self.port
        )

    async def gate(self, now: float, host: str = "gate.example.test") -> Any:
        return await checkReady(
            reactor, self.resolver, host, 443, self.nextPath, self.state, now, 2, self.port
        )


class TwoServersTests(_TwoServers):
    """
    The gate asks every address of every name server of the zone.
    """

    async def test_oneServerLacksTheRecord(self) -> None:
        """
        While one server of the zone serves the older copy, the gate is closed and names it,
        and nothing is kept in the state file; once it serves the record, the wait of one TTL
        starts; a later look that finds it missing again forgets when it was first seen.
        """
        now = float(self.hierarchy.now)
        report = await self.gate(now)
        assert not report.ready
        assert report.target is None
        assert set(report.servers) == {
            "ns1.test (127.0.0.1)",
            "ns1.test (::1)",
            SECOND,
        }, report.servers
        assert report.servers[SECOND] == "1 record(s), none for the certificate"
        assert report.missing == [f"{SECOND} does not serve the record yet"]
        assert json.loads(self.state.read_text()) == {"largest_ttl": {OWNER.to_text(): SERVED}}

        await self.serveSecond(self.zones)
        report = await self.gate(now)
        assert not report.ready and report.waited == 0 and report.ttl == TTL
        assert report.servers[SECOND].startswith("the record, signed (2 record(s)")
        assert "less than the TTL" in report.missing[0]
        report = await self.gate(now + TTL)
        assert report.ready, report.missing
        assert report.waited == TTL

        await self.serveSecond(self.older)
        report = await self.gate(now + TTL + 1)
        assert not report.ready
        assert json.loads(self.state.read_text()) == {"largest_ttl": {OWNER.to_text(): SERVED}}

    async def test_secondServerSilent(self) -> None:
        """
        A server that does not answer keeps the gate closed too.
        """
        await self.second.stop()
        report = await self.gate(float(self.hierarchy.now))
        assert not report.ready
        assert report.servers[SECOND].startswith("no answer: ")
        assert [m for m in report.missing if m.startswith(f"{SECOND} did not answer")]

    async def test_cnameFollowed(self) -> None:
        """
        A CNAME at the TLSA name (in another zone) is followed: the servers of the target's
        zone are asked for the target name, so the same older copy keeps this gate closed, and
        the gate opens once every one of them serves the record for a TTL.
        """
        now = float(self.hierarchy.now)
        out = await self.command(now, "alias-gate.nsec3.test")
        assert out["owner"] == ALIAS and out["target"] == OWNER.to_text()
        assert not out["ready"]
        assert out["missing"] == [f"{SECOND} does not serve the record yet"]
        await self.serveSecond(self.zones)
        report = await self.gate(now, "alias-gate.nsec3.test")
        assert not report.ready and report.ttl == TTL
        report = await self.gate(now + TTL, "alias-gate.nsec3.test")
        assert report.ready, report.missing
        assert f"  alias of    {OWNER}" in report.lines()

    async def command(self, now: float, host: str) -> dict[str, Any]:
        """
        C{txdane check HOST 443 --ready NEXT --json}, run in-process.
        """
        options = parse(
            "check",
            host,
            "443",
            "--ready",
            str(self.nextPath),
            "--state",
            str(self.state),
            "--authority-port",
            str(self.port),
            "--json",
        )
        out = io.StringIO()
        status = await check.execute(reactor, self.resolver, options, out)
        result: dict[str, Any] = json.loads(out.getvalue())
        assert status == (0 if result["ready"] else 10)
        return result


class TTLBeforeTests(_TwoServers):
    """
    The wait covers the largest TTL the RRset had before the record appeared, not only the
    TTL it has now: an RRset of TTL 3600 replaced by one of TTL 60 stays in caches for an hour,
    from when it was found replaced; no longer.
    """

    async def test_olderRRsetHadALargerTTL(self) -> None:
        """
        A look that finds the older RRset (TTL 3600, without the record) on one server keeps
        its TTL; once every server serves the record with TTL 60, the gate stays closed for
        3600 s, saying why, and then forgets that TTL.
        """
        current = recordForCertificate(self.current.cert).toRdata()
        await self.serveSecond(
            {**self.older, EXAMPLE: self.withTTL(self.zones[EXAMPLE], 3600, current)}
        )
        now = float(self.hierarchy.now)
        report = await self.gate(now)
        assert not report.ready and report.ttl == 3600
        await self.serveSecond(self.zones)
        report = await self.gate(now)
        assert report.ttl == TTL and report.wait == 3600
        report = await self.gate(now + TTL + 1)
        assert report.missing == [
            f"visible everywhere for {TTL + 1} s, less than the TTL the RRset had before 3600"
            " s: caches may still hold the RRset without it"
        ]
        assert f"  visible everywhere for {TTL + 1} s (TTL {TTL}, 3600 before)" in report.lines()
        report = await self.gate(now + 3600)
        assert report.ready, report.missing
        assert report.wait == TTL
        assert json.loads(self.state.read_text())["largest_ttl"] == {OWNER.to_text(): SERVED}

    async def test_publishKeepsTheTTLItReplaced(self) -> None:
        """
        The TTL of the RRset C{txdane publish} replaced, kept in the gate's state file, is
        waited out though the gate never saw that RRset.
        """
        from txdane.cli.publish import keepTTL

        now = float(self.hierarchy.now)
        keepTTL(self.state, SimpleNamespace(owner=OWNER, previousTTL=3600), now)
        await self.serveSecond(self.zones)
        report = await self.gate(now + 1)
        assert report.wait == 3600
        report = await self.gate(now + 1 + TTL)
        assert not report.ready
        report = await self.gate(now + 1 + 3600)
        assert report.ready, report.missing

    async def test_stateOfAnEarlierVersion(self) -> None:
        """
        A state file written before the TTL was kept (records to times only) is read as it is,
        and the TTL is added to it.
        """
        record = recordForCertificate(self.following.cert)
        key = f"{OWNER} TLSA {record}"
        now = float(self.hierarchy.now)
        self.state.write_text(json.dumps({key: now - TTL}))
        await self.serveSecond(self.zones)
        report = await self.gate(now)
        assert report.ready and report.waited == TTL, report.missing
        assert json.loads(self.state.read_text()) == {
            key: now - TTL,
            "largest_ttl": {OWNER.to_text(): SERVED},
        }


class TTLLoweredTests(_TwoServers):
    """
    A TTL the RRset no longer has holds the gate up until it has passed since it was found
    replaced (by a look that hears from every server, or by C{txdane publish}), then no more:
    caches that fetched the RRset with it have dropped it.
    """

    async def lower(self, now: float) -> None:
        """
        A look at C{now} finds the current record alone with TTL 3600 on the second server,
        and one at C{now + 10} with TTL 60: the larger TTL was replaced between them.
        """
        current = recordForCertificate(self.current.cert).toRdata()
        await self.serveSecond(
            {**self.older, EXAMPLE: self.withTTL(self.zones[EXAMPLE], 3600, current)}
        )
        report = await self.gate(now)
        assert report.ttl == 3600 and report.wait == 3600
        await self.serveSecond(self.older)
        report = await self.gate(now + 10)
        assert not report.ready and report.ttl == TTL and report.wait == 3600

    async def test_loweredLongAgo(self) -> None:
        """
        A TTL found replaced longer ago than itself no longer counts: the next record, once
        everywhere, waits for the TTL served now only.
        """
        now = float(self.hierarchy.now)
        await self.lower(now)
        await self.serveSecond(self.zones)
        report = await self.gate(now + 10 + 3600)
        assert not report.ready and report.waited == 0
        assert report.wait == TTL
        report = await self.gate(now + 10 + 3600 + TTL)
        assert report.ready, report.missing
        assert json.loads(self.state.read_text())["largest_ttl"] == {OWNER.to_text(): SERVED}

    async def test_loweredRecently(self) -> None:
        """
        A TTL found replaced less than itself ago still counts, until it has passed since the
        look that found it replaced (the last look that saw it is not enough: the RRset may
        have been served with it until just before the next), and no longer.
        """
        now = float(self.hierarchy.now)
        await self.lower(now)
        await self.serveSecond(self.zones)
        report = await self.gate(now + 20)
        assert report.wait == 3600
        report = await self.gate(now + 10 + 3599)
        assert not report.ready and report.wait == 3600
        assert report.missing == [
            "visible everywhere for 3589 s, less than the TTL the RRset had before 3600"
            " s: caches may still hold the RRset without it"
        ]
        report = await self.gate(now + 10 + 3600)
        assert report.ready, report.missing
        assert report.waited == 3590 and report.wait == TTL

    async def test_serverNotHeardFrom(self) -> None:
        """
        A look that does not hear from every server does not find the larger TTL replaced:
        the silent server may still serve it. The first look that hears from all does.
        """
        current = recordForCertificate(self.current.cert).toRdata()
        await self.serveSecond(
            {**self.older, EXAMPLE: self.withTTL(self.zones[EXAMPLE], 3600, current)}
        )
        now = float(self.hierarchy.now)
        report = await self.gate(now)
        assert report.ttl == 3600
        await self.second.stop()
        report = await self.gate(now + 10)
        assert report.servers[SECOND].startswith("no answer: ") and report.ttl == TTL
        await self.serveSecond(self.zones)
        report = await self.gate(now + 10 + 3600)
        assert not report.ready and report.wait == 3600
        report = await self.gate(now + 10 + 2 * 3600)
        assert report.ready, report.missing
        assert report.wait == TTL

    async def test_publishReplacedLongAgo(self) -> None:
        """
        The TTL of an RRset C{txdane publish} replaced longer ago than that TTL no longer
        counts.
        """
        from txdane.cli.publish import keepTTL

        now = float(self.hierarchy.now)
        keepTTL(self.state, SimpleNamespace(owner=OWNER, previousTTL=3600), now - 3600)
        await self.serveSecond(self.zones)
        report = await self.gate(now)
        assert report.wait == TTL
        report = await self.gate(now + TTL)
        assert report.ready, report.missing

    async def test_largestTTLWithoutTime(self) -> None:
        """
        A state file that kept one largest TTL per name, without when it was seen, is read:
        that TTL is taken for served until a look finds it replaced, and counts until it has
        passed since that look; the file is written again with the times.
        """
        self.state.write_text(json.dumps({"largest_ttl": {OWNER.to_text(): 3600}}))
        await self.serveSecond(self.zones)
        now = float(self.hierarchy.now)
        report = await self.gate(now)
        assert not report.ready and report.wait == 3600
        assert json.loads(self.state.read_text())["largest_ttl"] == {
            OWNER.to_text(): {str(TTL): None, "3600": now}
        }
        report = await self.gate(now + 3599)
        assert not report.ready and report.wait == 3600
        report = await self.gate(now + 3600)
        assert report.ready, report.missing
        assert report.wait == TTL


class _Addresses:
    """
    The validating resolver, except for the address lookups of one name server, answered by
    C{answer} instead.
    """

    def __init__(self, inner: Any, ns: str, answer: Any) -> None:
        self.inner = inner
        self.ns = dns.name.from_text(ns)
        self.answer = answer

    def lookup(self, name: dns.name.Name, rdtype: Any, *args: Any, **kwargs: Any) -> Any:
        if name == self.ns and rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            return self.answer(name, rdtype)
        return self.inner.lookup(name, rdtype, *args, **kwargs)


class NameServerAddressTests(_TwoServers):
    """
    A name server whose address cannot be found keeps the gate closed: it may be the one that
    still serves the RRset without the record.
    """

    async def test_addressLookupFails(self) -> None:
        """
        The lookups of ns2's addresses time out: a C{missing} line names it and why, though
        every server the gate could ask serves the record, for as long as it lasts.
        """
        from twisted.internet.defer import fail

        def timedOut(name: dns.name.Name, rdtype: Any) -> Any:
            cause = DNSTimeoutError(name, rdtype, [NameServer("127.0.0.1")], 1)
            return fail(LookupFailedError(name, rdtype, "no answer", cause=cause))

        self.resolver = _Addresses(self.resolver, "ns2.example.test.", timedOut)  # type: ignore[assignment]
        await self.serveSecond(self.zones)
        now = float(self.hierarchy.now)
        for when in (now, now + TTL, now + 3600):
            report = await self.gate(when)
            assert not report.ready
            assert report.missing == [
                "the address of NS ns2.example.test could not be found: ns2.example.test. A:"
                " no answer"
            ]
            assert SECOND not in report.servers

    async def test_noAddress(self) -> None:
        """
        A name server name with no A and no AAAA records is named too.
        """
        nowhere = dns.name.from_text("nowhere.example.test.")
        inner = self.resolver
        self.resolver = _Addresses(  # type: ignore[assignment]
            inner, "ns2.example.test.", lambda name, rdtype: inner.lookup(nowhere, rdtype)
        )
        await self.serveSecond(self.zones)
        now = float(self.hierarchy.now)
        report = await self.gate(now + TTL)
        report = await self.gate(now + 2 * TTL)
        assert report.missing == [
            "the address of NS ns2.example.test could not be found: it has no A or AAAA records"
        ]

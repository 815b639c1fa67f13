"""
Tests for the rules a dynamic update must follow beyond its signature and grants: DS records
only at delegations, nothing below a DNAME, the record forms RFC 2136 wants (FORMERR), EDNS
versions, MAC sizes, and an answer to every request whatever goes wrong.
"""

from __future__ import annotations

import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig
import dns.update
import pytest
from twisted.internet import reactor
from twisted.internet.defer import succeed
from twisted.internet.threads import deferToThread
from twisted.logger import capturedLogs, formatEvent
from twisted.trial.unittest import TestCase

from tests.server.test_update import (
    KEY_NAME,
    ORIGIN,
    SECRET,
    TLSA,
    Setup,
    makeSetup,
    signedUpdate,
    tsigError,
)
from txdane.server import update as updateModule
from txdane.server.service import listenDNS

DS = "12345 13 2 " + "00" * 32
#: A key that may change what these tests change.
GRANTS = "::TLSA,DS,NS,DNAME,A,DNSKEY,TXT"
SUB = dns.name.from_text("sub.zone.test.")


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return makeSetup(tmp_path, GRANTS)


def rcodeOf(setup: Setup, update: dns.update.UpdateMessage) -> int:
    """
    The rcode of the signed response to C{update}, its signature checked.
    """
    response = setup.update(update)
    assert response.had_tsig
    return int(response.rcode())


def refusedUnchanged(setup: Setup, update: dns.update.UpdateMessage, rcode: int) -> None:
    before = setup.records()
    assert rcodeOf(setup, update) == rcode
    assert setup.records() == before


class TestDS:
    """
    RFC 4034 section 5, RFC 4035 section 2.4: a DS record belongs at a delegation point, in
    the parent.
    """

    def test_atApexRefused(self, setup: Setup) -> None:
        """
        A DS record at the apex is REFUSED (BIND drops it with NOERROR: a client is better
        told), and the log says why.
        """
        update = signedUpdate()
        update.add("@", 300, "DS", DS)
        with capturedLogs() as events:
            refusedUnchanged(setup, update, dns.rcode.REFUSED)
        (line,) = [formatEvent(event) for event in events]
        assert line.startswith(
            "dynamic update of zone.test. with key update-key.: REFUSED, refused: DS record"
            " at the zone's apex zone.test."
        )

    def test_notADelegationRefused(self, setup: Setup) -> None:
        """
        A DS record at a name without NS records is REFUSED: nothing changes, no NSEC lists
        a DS without NS.
        """
        update = signedUpdate()
        update.add("www", 300, "DS", DS)
        refusedUnchanged(setup, update, dns.rcode.REFUSED)
        update = signedUpdate()
        update.add("new", 300, "DS", DS)
        refusedUnchanged(setup, update, dns.rcode.REFUSED)

    def test_belowADelegation(self, setup: Setup) -> None:
        """
        A DS record below a delegation (occluded) is another zone's: NOTZONE.
        """
        update = signedUpdate()
        update.add("deep.sub", 300, "DS", DS)
        refusedUnchanged(setup, update, dns.rcode.NOTZONE)

    def test_atADelegation(self, setup: Setup) -> None:
        """
        A DS record at a delegation is served in the referral; a new delegation takes its NS
        and DS records in one update.
        """
        update = signedUpdate()
        update.add("sub", 300, "DS", DS)
        assert rcodeOf(setup, update) == dns.rcode.NOERROR
        response = setup.query("www.sub.zone.test.", "A")
        assert any(r.rdtype == dns.rdatatype.DS for r in response.authority)
        update = signedUpdate()
        update.add("new", 300, "DS", DS)
        update.add("new", 300, "NS", "ns.elsewhere.test.")
        assert rcodeOf(setup, update) == dns.rcode.NOERROR

    def test_delegationRemovedTakesItsDS(self, setup: Setup) -> None:
        """
        Deleting a delegation's NS records deletes its DS records too, as BIND does: a DS
        record without NS would be the zone's data at a name it does not delegate.
        """
        update = signedUpdate()
        update.add("sub", 300, "DS", DS)
        assert rcodeOf(setup, update) == dns.rcode.NOERROR
        update = signedUpdate()
        update.delete("sub", "NS")
        assert rcodeOf(setup, update) == dns.rcode.NOERROR
        zone = setup.responder.store.get(ORIGIN)
        assert zone is not None
        assert zone.rdataset(SUB, dns.rdatatype.DS) is None
        assert zone.node(SUB) is None
        assert "sub.zone.test." not in setup.zonePath.read_text()


class TestDNAME:
    """
    RFC 6672 section 2.3: no name exists below a DNAME. REFUSED, as records there would be
    written and never served.
    """

    def test_belowDNAMERefused(self, setup: Setup) -> None:
        update = signedUpdate()
        update.add("old", 300, "DNAME", "new.test.")
        assert rcodeOf(setup, update) == dns.rcode.NOERROR
        update = signedUpdate()
        update.add("_443._tcp.www.old", 300, "TLSA", TLSA)
        refusedUnchanged(setup, update, dns.rcode.REFUSED)
        # At the DNAME's own name, data is served.
        update = signedUpdate()
        update.add("old", 300, "TXT", '"here"')
        assert rcodeOf(setup, update) == dns.rcode.NOERROR

    def test_dnameAboveDataRefused(self, setup: Setup) -> None:
        update = signedUpdate()
        update.add("_tcp.www", 300, "DNAME", "new.test.")  # above _443._tcp.www
        refusedUnchanged(setup, update, dns.rcode.REFUSED)
        update = signedUpdate()
        update.add("ns1", 300, "DNAME", "new.test.")  # no name below it
        assert rcodeOf(setup, update) == dns.rcode.NOERROR


def test_dnskeyThatIsNoKey(setup: Setup) -> None:
    """
    A DNSKEY whose key does not decode for its algorithm is FORMERR: published and signed,
    it would validate nothing.
    """
    update = signedUpdate()
    update.add("@", 300, "DNSKEY", "257 3 13 AAAA")
    refusedUnchanged(setup, update, dns.rcode.FORMERR)


def otherClass(section: str, rdclass: str = "CH") -> dns.update.UpdateMessage:
    """
    A signed update whose prerequisite or update is of class C{rdclass}.
    """
    update = signedUpdate()
    rrset = dns.rrset.from_text("www.zone.test.", 0, rdclass, "TXT", '"x"')
    getattr(update, section).append(rrset)
    return update


class TestForms:
    """
    RFC 2136: the forms of records it calls FORMERR.
    """

    @pytest.mark.parametrize("rdclass", ["CH", "HS"])
    def test_updateOfAnotherClass(self, setup: Setup, rdclass: str) -> None:
        """
        An update record of another class than the zone's is FORMERR, signed (section
        3.4.1.2); it was a crash, and no answer at all.
        """
        refusedUnchanged(setup, otherClass("update", rdclass), dns.rcode.FORMERR)

    def test_prerequisiteOfAnotherClass(self, setup: Setup) -> None:
        """
        A prerequisite of another class than the zone's, ANY or NONE is FORMERR (section
        3.2.5), not NXRRSET.
        """
        refusedUnchanged(setup, otherClass("prerequisite"), dns.rcode.FORMERR)

    @pytest.mark.parametrize("how", ["delete", "present", "absent", "deleteValue"])
    def test_ttlNotZero(self, setup: Setup, how: str) -> None:
        """
        A deletion of class ANY or NONE, and a prerequisite, with a TTL other than 0 is
        FORMERR (sections 3.2 and 3.4.1.3): dnspython's message drops the TTL of records
        without data, the wire has it.
        """
        update = dns.update.UpdateMessage("zone.test.")
        if how == "deleteValue":
            update.delete("www", "A", "127.0.0.2")
            marker = struct.pack("!HHI", dns.rdatatype.A, dns.rdataclass.NONE, 0)
        else:
            getattr(update, how)("www", "A")
            rdclass = dns.rdataclass.NONE if how == "absent" else dns.rdataclass.ANY
            marker = struct.pack("!HHI", dns.rdatatype.A, rdclass, 0)
        wire = update.to_wire()
        assert wire.count(marker) == 1
        wire = wire.replace(marker, marker[:4] + struct.pack("!I", 300))
        before = setup.records()
        response = setup.responder.respondWire(signRaw(wire, update.id), tcp=True)
        assert response is not None
        assert tsigError(response) == (dns.rcode.FORMERR, 0)
        assert setup.records() == before
        # The same with TTL 0 applies.
        if how == "delete":
            response = setup.responder.respondWire(signRaw(update.to_wire(), update.id), tcp=True)
            assert response is not None and tsigError(response)[0] == dns.rcode.NOERROR
            assert setup.query("www.zone.test.", "A").answer == []

    def test_ednsVersion(self, setup: Setup) -> None:
        """
        An update with EDNS version 1 gets BADVERS, signed, and changes nothing (RFC 6891
        section 6.1.3).
        """
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        update.use_edns(1)
        before = setup.records()
        response = setup.update(update)
        assert response.rcode() == dns.rcode.BADVERS
        assert response.edns == 0
        assert setup.records() == before


def signRaw(
    wire: bytes, queryId: int, mac: Any = None, secret: str = SECRET, now: float | None = None
) -> bytes:
    """
    C{wire} with a TSIG record of the test key appended; C{mac} changes the MAC first.
    """
    key = dns.tsig.Key(KEY_NAME, secret, dns.tsig.HMAC_SHA256)
    template = dns.rdtypes.ANY.TSIG.TSIG(
        dns.rdataclass.ANY, dns.rdatatype.TSIG, dns.tsig.HMAC_SHA256, 0, 300, b"", queryId, 0, b""
    )
    signed, _ = dns.tsig.sign(wire, key, template, int(time.time() if now is None else now))
    if mac is not None:
        signed = signed.replace(mac=mac(signed.mac))
    rdata = signed.to_wire()
    owner = key.name.to_wire()
    assert rdata is not None and owner is not None
    out = bytearray(wire)
    out += owner + struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata))
    out += rdata
    struct.pack_into("!H", out, 10, struct.unpack_from("!H", out, 10)[0] + 1)
    return bytes(out)


@pytest.mark.parametrize(
    ("mac", "rcode", "error"),
    [
        (lambda mac: b"", dns.rcode.FORMERR, -1),
        (lambda mac: mac[:8], dns.rcode.FORMERR, -1),
        (lambda mac: mac + b"\x00", dns.rcode.FORMERR, -1),
        # Of a size RFC 8945 allows, but shorter than this server's minimum (the whole MAC).
        (lambda mac: mac[:16], dns.rcode.NOTAUTH, dns.rcode.BADTRUNC),
        (lambda mac: bytes(32), dns.rcode.NOTAUTH, dns.rcode.BADSIG),
    ],
    ids=["empty", "8 bytes", "33 bytes", "truncated", "wrong"],
)
def test_macSize(setup: Setup, mac: Any, rcode: int, error: int) -> None:
    """
    A MAC longer than the hash, or shorter than 10 bytes or half the hash, is FORMERR (RFC
    8945 section 5.2.2.1), unsigned; a truncated MAC of an allowed size is BADTRUNC.
    """
    update = dns.update.UpdateMessage("zone.test.")
    update.add("_25._tcp.mail", 300, "TLSA", TLSA)
    before = setup.records()
    response = setup.responder.respondWire(signRaw(update.to_wire(), update.id, mac), tcp=True)
    assert response is not None
    parsed = dns.message.from_wire(response, keyring=False)
    assert parsed.rcode() == rcode
    if error < 0:
        assert not parsed.had_tsig
    else:
        assert parsed.tsig_error == error
        assert parsed.mac == b""
    assert setup.records() == before


class TestAlwaysAnswered:
    """
    Whatever goes wrong while an update is handled, the request gets an answer: SERVFAIL,
    signed when its signature was checked, and a log line with the traceback.
    """

    def test_applying(self, setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
        def broken(*args: object) -> None:
            raise RuntimeError("broken")

        monkeypatch.setattr(updateModule, "_applyUpdates", broken)
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        before = setup.records()
        with capturedLogs() as events:
            assert rcodeOf(setup, update) == dns.rcode.SERVFAIL
        assert "RuntimeError: broken" in events[0]["log_failure"].getTraceback()
        assert setup.records() == before

    def test_inThread(self, setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
        """
        The same through L{ZoneUpdater.respondUpdateLater}, whose work runs elsewhere.
        """

        def broken(*args: object) -> None:
            raise RuntimeError("broken")

        monkeypatch.setattr(updateModule, "_applyUpdates", broken)
        setup.updater.runInThread = lambda work: succeed(None).addCallback(lambda _: work())
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        results: list[bytes | None] = []
        with capturedLogs():
            setup.updater.respondUpdateLater(update.to_wire()).addCallback(results.append)
        (wire,) = results
        assert wire is not None
        response = dns.message.from_wire(wire, keyring=setup.keyring, request_mac=update.mac)
        assert response.rcode() == dns.rcode.SERVFAIL

    def test_checking(self, setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
        """
        Before the signature is checked, the SERVFAIL is a bare header.
        """

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("broken")

        monkeypatch.setattr(updateModule, "checkTSIG", broken)
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        with capturedLogs():
            wire = setup.send(update)
        assert wire[:2] == update.to_wire()[:2]
        assert dns.message.from_wire(wire).rcode() == dns.rcode.SERVFAIL


class OtherClassOverTheNetworkTests(TestCase):
    """
    The update of another class, over UDP and TCP on loopback, is answered (it was not).
    """

    async def test_answered(self) -> None:
        setup = makeSetup(Path(tempfile.mkdtemp(prefix="txdane-update-")), GRANTS)
        server = await listenDNS(reactor, setup.responder)
        self.addCleanup(server.stop)
        setup.updater.holder = server.holder
        for send in (dns.query.udp, dns.query.tcp):
            update = otherClass("update")
            response = await deferToThread(send, update, "127.0.0.1", 5, server.port)
            self.assertEqual(response.rcode(), dns.rcode.FORMERR)
            self.assertTrue(response.had_tsig)

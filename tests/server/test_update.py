"""
Tests for dynamic updates (RFC 2136) signed with TSIG (RFC 8945): in memory through the
responder, over loopback with dnspython and BIND's nsupdate as clients, and across a restart.
"""

from __future__ import annotations

import base64
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.dnssec
import dns.message
import dns.name
import dns.node
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.NSEC
import dns.rdtypes.ANY.TSIG
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest
from twisted.internet import reactor
from twisted.internet.defer import gatherResults
from twisted.internet.threads import deferToThread
from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.support import requireProgram
from txdane.server.keys import writeKeyFiles
from txdane.server.protocol import ResponderHolder
from txdane.server.ratelimit import NO_RATE_LIMIT
from txdane.server.responder import Responder
from txdane.server.service import DNSServerService, ZoneSource, listenDNS, loadZones
from txdane.server.signing import NSEC3Options, SigningKey
from txdane.server.tap import Options
from txdane.server.update import (
    UpdateGrant,
    UpdateKeyError,
    ZoneUpdater,
    parseAllowUpdate,
    readTSIGKeys,
)
from txdane.server.zones import ZoneStore
from txdane.status import Status
from txdane.transport import DNSClient
from txdane.validation import TrustAnchors, ValidatingResolver


def optionalProgram(name: str) -> str:
    """
    The path of C{name}, a program of BIND's server package that CI does not install; skip
    the test without it.
    """
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


ORIGIN = dns.name.from_text("zone.test.")
ZONE = """$ORIGIN zone.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
www IN A 127.0.0.2
_443._tcp.www IN TLSA 3 1 1 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
sub IN NS ns.elsewhere.test.
"""
KEY_NAME = "update-key."
SECRET = base64.b64encode(b"k" * 32).decode()
OTHER_SECRET = base64.b64encode(b"o" * 32).decode()
TLSA = "3 1 1 " + "ab" * 32
TLSA2 = "3 1 1 " + "cd" * 32
SSHFP = "4 2 " + "ef" * 32


def bindKeyText(name: str = KEY_NAME, secret: str = SECRET) -> str:
    return f'key "{name.rstrip(".")}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n'


@dataclass
class Setup:
    directory: Path
    zonePath: Path
    source: ZoneSource
    key: SigningKey
    holder: ResponderHolder
    updater: ZoneUpdater
    keyring: dict[dns.name.Name, dns.tsig.Key]

    @property
    def responder(self) -> Responder:
        return self.holder.responder

    def records(self) -> str:
        """
        Every record the zone serves, and its file, in text.
        """
        zone = self.responder.store.get(ORIGIN)
        assert zone is not None
        served = sorted(
            zone.zone.to_text(sorted=True, relativize=False).splitlines(),
        )
        # Signatures are made afresh on each load; the data besides them must be equal.
        served = [line for line in served if " RRSIG " not in line]
        return "\n".join(served) + "\n--\n" + self.zonePath.read_text()

    def send(self, message: dns.message.Message) -> bytes:
        wire = self.responder.respondWire(message.to_wire(), tcp=True)
        assert wire is not None
        return wire

    def update(self, message: dns.update.UpdateMessage) -> dns.message.Message:
        """
        Send C{message} and return the response, its TSIG checked when the request was
        signed.
        """
        wire = self.send(message)
        if message.had_tsig:
            return dns.message.from_wire(wire, keyring=self.keyring, request_mac=message.mac)
        return dns.message.from_wire(wire)

    def query(self, name: str, rdtype: str) -> dns.message.Message:
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        return self.responder.respond(query)

    def serial(self) -> int:
        response = self.query("zone.test.", "SOA")
        return int(response.answer[0][0].serial)

    def dnskeys(self) -> dict[dns.name.Name, dns.node.Node | dns.rdataset.Rdataset]:
        response = self.query("zone.test.", "DNSKEY")
        keys = response.find_rrset(response.answer, ORIGIN, dns.rdataclass.IN, dns.rdatatype.DNSKEY)
        return {ORIGIN: keys}


def makeSetup(
    directory: Path,
    grants: str = "",
    nsec3: NSEC3Options | None = None,
    clock: Any = time.time,
) -> Setup:
    zonePath = directory / "zone.test.zone"
    zonePath.write_text(ZONE)
    key = SigningKey.generate()
    files = writeKeyFiles(ORIGIN, key, directory)
    keyFile = directory / "update.key"
    keyFile.write_text(bindKeyText())
    source = ZoneSource(ORIGIN, str(zonePath), (str(files.private),), nsec3)
    zones = loadZones([source])
    holder = ResponderHolder(Responder(ZoneStore(zones)))
    updater = ZoneUpdater(holder, [source], parseAllowUpdate(f"{keyFile}{grants}"), clock=clock)
    holder.responder.updater = updater
    keyring = dns.tsigkeyring.from_text({KEY_NAME: SECRET})
    return Setup(directory, zonePath, source, key, holder, updater, keyring)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return makeSetup(tmp_path)


def signedUpdate(
    zone: str = "zone.test.", secret: str = SECRET, name: str = KEY_NAME
) -> dns.update.UpdateMessage:
    keyring = dns.tsigkeyring.from_text({name: secret})
    return dns.update.UpdateMessage(zone, keyring=keyring, keyalgorithm=dns.tsig.HMAC_SHA256)


def validated(
    response: dns.message.Message, setup: Setup, rdtype: dns.rdatatype.RdataType
) -> dns.rrset.RRset:
    """
    The RRset of C{rdtype} in the answer, after checking its RRSIG against the zone's keys.
    """
    rrset = next(r for r in response.answer if r.rdtype == rdtype)
    sigs = response.find_rrset(
        response.answer, rrset.name, dns.rdataclass.IN, dns.rdatatype.RRSIG, rdtype
    )
    dns.dnssec.validate(rrset, sigs, setup.dnskeys())
    return rrset


def tsigError(wire: bytes) -> tuple[int, int]:
    """
    The rcode and TSIG error of a response, its signature unchecked.
    """
    response = dns.message.from_wire(wire, keyring=False)
    error = response.tsig_error
    return response.rcode(), -1 if error is None else error


class TestApply:
    def test_addTLSA(self, setup: Setup) -> None:
        """
        An added TLSA record is served signed, the serial goes up by one, and the zone file
        holds the record.
        """
        serial = setup.serial()
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        response = setup.update(update)
        assert response.rcode() == dns.rcode.NOERROR
        assert response.had_tsig
        answer = setup.query("_25._tcp.mail.zone.test.", "TLSA")
        rrset = validated(answer, setup, dns.rdatatype.TLSA)
        assert [r.to_text() for r in rrset] == [TLSA]
        assert setup.serial() == serial + 1
        assert "_25._tcp.mail.zone.test." in setup.zonePath.read_text()

    def test_replaceDeleteAndSSHFP(self, setup: Setup) -> None:
        """
        Replacing an RRset leaves only the new records; deleting it leaves NODATA; SSHFP
        records go in too; each applied update bumps the serial once.
        """
        serial = setup.serial()
        update = signedUpdate()
        update.replace("_443._tcp.www", 600, "TLSA", TLSA2)
        assert setup.update(update).rcode() == dns.rcode.NOERROR
        rrset = validated(
            setup.query("_443._tcp.www.zone.test.", "TLSA"), setup, dns.rdatatype.TLSA
        )
        assert [r.to_text() for r in rrset] == [TLSA2]
        assert rrset.ttl == 600

        update = signedUpdate()
        update.add("www", 300, "SSHFP", SSHFP)
        update.delete("_443._tcp.www", "TLSA")
        assert setup.update(update).rcode() == dns.rcode.NOERROR
        rrset = validated(setup.query("www.zone.test.", "SSHFP"), setup, dns.rdatatype.SSHFP)
        assert [r.to_text() for r in rrset] == [SSHFP]
        gone = setup.query("_443._tcp.www.zone.test.", "TLSA")
        assert gone.answer == []
        assert setup.serial() == serial + 2

        update = signedUpdate()
        update.delete("www", "SSHFP", SSHFP)
        assert setup.update(update).rcode() == dns.rcode.NOERROR
        assert setup.query("www.zone.test.", "SSHFP").answer == []
        assert setup.serial() == serial + 3

    def test_noChangeNoSerial(self, setup: Setup) -> None:
        """
        An update that changes nothing (adding a record already there) succeeds without a
        new serial.
        """
        serial = setup.serial()
        update = signedUpdate()
        update.add("_443._tcp.www", 300, "TLSA", "3 1 1 " + ZONE.split("3 1 1 ")[1].strip())
        assert setup.update(update).rcode() == dns.rcode.NOERROR
        assert setup.serial() == serial

    def test_prerequisitesMet(self, setup: Setup) -> None:
        """
        Prerequisites that hold let the update through.
        """
        update = signedUpdate()
        update.present("www")
        update.present("www", "A")
        update.present("www", "A", "127.0.0.2")
        update.absent("_25._tcp.mail")
        update.absent("www", "TLSA")
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        assert setup.update(update).rcode() == dns.rcode.NOERROR

    @pytest.mark.parametrize("nsec3", [None, NSEC3Options()], ids=["nsec", "nsec3"])
    def test_denialAfterNewName(self, tmp_path: Path, nsec3: NSEC3Options | None) -> None:
        """
        After a new name is added, a name that does not exist still gets a signed denial
        whose records cover it.
        """
        setup = makeSetup(tmp_path, nsec3=nsec3)
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        assert setup.update(update).rcode() == dns.rcode.NOERROR
        qname = dns.name.from_text("_26._tcp.mail.zone.test.")
        response = setup.query(qname.to_text(), "TLSA")
        assert response.rcode() == dns.rcode.NXDOMAIN
        keys = setup.dnskeys()
        kind = dns.rdatatype.NSEC3 if nsec3 else dns.rdatatype.NSEC
        denials = [r for r in response.authority if r.rdtype == kind]
        assert denials
        for rrset in response.authority:
            if rrset.rdtype == dns.rdatatype.RRSIG:
                continue
            sigs = response.find_rrset(
                response.authority, rrset.name, rrset.rdclass, dns.rdatatype.RRSIG, rrset.rdtype
            )
            dns.dnssec.validate(rrset, sigs, keys)
        if nsec3 is None:
            # An NSEC whose span (owner, next) holds the name, in canonical order.
            assert any(r.name < qname < r[0].next for r in denials)
        else:
            hashed = dns.dnssec.nsec3_hash(qname, b"", 0, 1).lower()
            spans = [
                (r.name.labels[0].decode(), base64.b32encode(r[0].next).decode().lower())
                for r in denials
            ]
            spans = [(owner, following.translate(_HEX)) for owner, following in spans]
            assert any(
                owner < hashed < following or following < owner < hashed
                for owner, following in spans
            )


_HEX = str.maketrans("abcdefghijklmnopqrstuvwxyz234567", "0123456789abcdefghijklmnopqrstuv")


def oldTimeUpdate(seconds: int) -> bytes:
    """
    An update adding a TLSA record, signed correctly but C{seconds} in the past.
    """
    update = dns.update.UpdateMessage("zone.test.")
    update.add("_25._tcp.mail", 300, "TLSA", TLSA)
    wire = update.to_wire()
    key = dns.tsig.Key(KEY_NAME, SECRET, dns.tsig.HMAC_SHA256)
    template = dns.rdtypes.ANY.TSIG.TSIG(
        dns.rdataclass.ANY,
        dns.rdatatype.TSIG,
        dns.tsig.HMAC_SHA256,
        0,
        300,
        b"",
        update.id,
        0,
        b"",
    )
    signed, _ = dns.tsig.sign(wire, key, template, int(time.time()) - seconds)
    rdata = signed.to_wire()
    owner = key.name.to_wire()
    assert rdata is not None and owner is not None
    out = bytearray(wire)
    out += owner + struct.pack("!HHIH", dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata))
    out += rdata
    struct.pack_into("!H", out, 10, struct.unpack_from("!H", out, 10)[0] + 1)
    return bytes(out)


def _unsigned() -> dns.update.UpdateMessage:
    update = dns.update.UpdateMessage("zone.test.")
    update.add("_25._tcp.mail", 300, "TLSA", TLSA)
    return update


def _withKey(secret: str, name: str) -> dns.update.UpdateMessage:
    update = signedUpdate(secret=secret, name=name)
    update.add("_25._tcp.mail", 300, "TLSA", TLSA)
    return update


def _simple(name: str, rdtype: str, value: str, zone: str = "zone.test.") -> Any:
    def make() -> dns.update.UpdateMessage:
        update = signedUpdate(zone)
        update.add(dns.name.from_text(name), 300, rdtype, value)
        return update

    return make


def _prerequisite(how: str, *args: str) -> Any:
    def make() -> dns.update.UpdateMessage:
        update = signedUpdate()
        getattr(update, how)(*args)
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        return update

    return make


REFUSALS: list[tuple[str, Any, int, int]] = [
    ("unsigned", _unsigned, dns.rcode.REFUSED, -1),
    ("unknown key", lambda: _withKey(SECRET, "other-key."), dns.rcode.NOTAUTH, dns.rcode.BADKEY),
    ("bad MAC", lambda: _withKey(OTHER_SECRET, KEY_NAME), dns.rcode.NOTAUTH, dns.rcode.BADSIG),
    ("type outside policy", _simple("www.zone.test.", "A", "127.0.0.9"), dns.rcode.REFUSED, 0),
    ("name outside zone", _simple("www.other.test.", "TLSA", TLSA), dns.rcode.NOTZONE, 0),
    # Below the delegation of sub: another zone's data, which this one would never serve.
    ("below a cut", _simple("_25._tcp.www.sub.zone.test.", "TLSA", TLSA), dns.rcode.NOTZONE, 0),
    ("at a cut", _simple("sub.zone.test.", "TLSA", TLSA), dns.rcode.NOTZONE, 0),
    (
        "zone not held",
        _simple("www.other.test.", "TLSA", TLSA, "other.test."),
        dns.rcode.NOTAUTH,
        0,
    ),
    ("NXDOMAIN", _prerequisite("present", "nowhere"), dns.rcode.NXDOMAIN, 0),
    ("YXDOMAIN", _prerequisite("absent", "www"), dns.rcode.YXDOMAIN, 0),
    ("NXRRSET", _prerequisite("present", "www", "TXT"), dns.rcode.NXRRSET, 0),
    ("YXRRSET", _prerequisite("absent", "www", "A"), dns.rcode.YXRRSET, 0),
    ("NXRRSET value", _prerequisite("present", "www", "A", "10.0.0.1"), dns.rcode.NXRRSET, 0),
]


class TestRefusals:
    @pytest.mark.parametrize(
        ("make", "rcode", "error"),
        [r[1:] for r in REFUSALS],
        ids=[r[0] for r in REFUSALS],
    )
    def test_refused(self, setup: Setup, make: Any, rcode: int, error: int) -> None:
        """
        A refused update answers with its rcode (and TSIG error) and changes nothing.
        """
        before = setup.records()
        wire = setup.send(make())
        got = tsigError(wire)
        assert got[0] == rcode
        if error >= 0:
            assert got[1] == error
        if error == 0:
            # Signed with the request's key.
            message = make()
            response = setup.update(message)
            assert response.rcode() == rcode
        assert setup.records() == before

    def test_badTime(self, setup: Setup) -> None:
        """
        A request signed outside the fudge gets NOTAUTH/BADTIME and changes nothing.
        """
        before = setup.records()
        wire = setup.responder.respondWire(oldTimeUpdate(3600), tcp=True)
        assert wire is not None
        assert tsigError(wire) == (dns.rcode.NOTAUTH, dns.rcode.BADTIME)
        assert setup.records() == before
        recent = setup.responder.respondWire(oldTimeUpdate(10), tcp=True)
        assert recent is not None
        assert tsigError(recent) == (dns.rcode.NOERROR, 0)

    def test_replay(self, setup: Setup) -> None:
        """
        The same signed update sent again after it succeeded is refused, changing nothing.
        """
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        wire = update.to_wire()
        first = setup.responder.respondWire(wire, tcp=True)
        assert first is not None and tsigError(first)[0] == dns.rcode.NOERROR
        before = setup.records()
        again = setup.responder.respondWire(wire, tcp=False)
        assert again is not None and tsigError(again)[0] == dns.rcode.REFUSED
        assert setup.records() == before

    def test_suffixPolicy(self, tmp_path: Path) -> None:
        """
        A key limited to a suffix and types changes those only.
        """
        setup = makeSetup(tmp_path, ":_tcp.www.zone.test.:TLSA,TXT")
        before = setup.records()
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        assert setup.update(update).rcode() == dns.rcode.REFUSED
        update = signedUpdate()
        update.add("_443._tcp.www", 300, "SSHFP", SSHFP)
        assert setup.update(update).rcode() == dns.rcode.REFUSED
        assert setup.records() == before
        update = signedUpdate()
        update.add("_443._tcp.www", 300, "TXT", '"hello"')
        update.replace("_443._tcp.www", 300, "TLSA", TLSA)
        assert setup.update(update).rcode() == dns.rcode.NOERROR

    def test_signerTypes(self, setup: Setup) -> None:
        """
        RRSIG and NSEC records are the signer's: updates of them are refused.
        """
        before = setup.records()
        update = signedUpdate()
        update.delete("www", "NSEC")
        assert setup.update(update).rcode() == dns.rcode.REFUSED
        assert setup.records() == before


class TestKeys:
    def test_bindAndKnot(self, tmp_path: Path) -> None:
        """
        Key files as tsig-keygen and keymgr -t write them give the same key.
        """
        bind = tmp_path / "bind.key"
        bind.write_text(bindKeyText())
        knot = tmp_path / "knot.yaml"
        knot.write_text(
            f"# hmac-sha256:update-key:{SECRET}\nkey:\n  - id: update-key\n"
            f"    algorithm: hmac-sha256\n    secret: {SECRET}\n"
        )
        assert readTSIGKeys(bind) == readTSIGKeys(knot)
        (key,) = readTSIGKeys(bind)
        assert key.name == dns.name.from_text(KEY_NAME)

    def test_tsigKeygen(self, tmp_path: Path) -> None:
        """
        The output of BIND's tsig-keygen reads.
        """
        program = optionalProgram("tsig-keygen")
        text = subprocess.run(
            [program, "-a", "hmac-sha512", "k1"], capture_output=True, text=True, check=True
        ).stdout
        path = tmp_path / "k1.key"
        path.write_text(text)
        (key,) = readTSIGKeys(path)
        assert key.algorithm == dns.tsig.HMAC_SHA512

    @pytest.mark.parametrize(
        ("text", "value", "reason"),
        [
            ("", "{path}", "no key found"),
            (bindKeyText().replace("sha256", "md5"), "{path}", "algorithm hmac-md5"),
            (bindKeyText(), "{path}:zone.test.:NSEC", "NSEC records cannot be updated"),
            (bindKeyText(), "{path}::BOGUS", "not a record type"),
            (bindKeyText(), "{missing}", "No such file"),
        ],
    )
    def test_errors(self, tmp_path: Path, text: str, value: str, reason: str) -> None:
        path = tmp_path / "key"
        path.write_text(text)
        with pytest.raises(UpdateKeyError, match=reason):
            parseAllowUpdate(value.format(path=path, missing=tmp_path / "nope"))

    def test_policy(self, tmp_path: Path) -> None:
        path = tmp_path / "key"
        path.write_text(bindKeyText())
        (grant,) = parseAllowUpdate(f"{path}:mail.zone.test.:TLSA")
        assert isinstance(grant, UpdateGrant)
        assert grant.allows(dns.name.from_text("_25._tcp.mail.zone.test."), 52)
        assert not grant.allows(dns.name.from_text("www.zone.test."), 52)
        assert not grant.allows(dns.name.from_text("mail.zone.test."), dns.rdatatype.SSHFP)

    def test_option(self, tmp_path: Path) -> None:
        """
        --allow-update parses into grants; a bad one is a usage error.
        """
        zone = tmp_path / "zone.test.zone"
        zone.write_text(ZONE)
        path = tmp_path / "key"
        path.write_text(bindKeyText())
        options = Options()
        options.parseOptions(
            ["--zone", f"zone.test.={zone}", "--allow-update", f"{path}::TLSA", "--port", "0"]
        )
        assert [g.types for g in options["updateGrants"]] == [frozenset({52})]
        with pytest.raises(usage.UsageError, match="no key found"):
            Options().parseOptions(["--zone", f"zone.test.={zone}", "--allow-update", str(zone)])


class TestKeyFileText:
    """
    A BIND key file holds its key statements, blanks and comments, and nothing else.
    """

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            (
                bindKeyText() + "update-policy {\n\tgrant update-key zonesub ANY;\n};\n",
                "unexpected text after the key statement, line 5: 'update-policy {'",
            ),
            (bindKeyText() + "\n\ngarbage", "unexpected text after the key statement, line 7: "),
            (
                bindKeyText() + bindKeyText("other.") + "};\n",
                "unexpected text after the key statements, line 9: '};'",
            ),
            # The second statement cut short: without the semicolon, it is no statement.
            (
                bindKeyText() + bindKeyText("other.").rstrip("\n").rstrip(";"),
                "unexpected text after the key statement, line 5: 'key \"other\" {'",
            ),
            ("options { };\n" + bindKeyText(), "before the key statement, line 1: 'options { };'"),
            (bindKeyText() + "/* never closed\n", "line 5: '/* never closed'"),
        ],
    )
    def test_unexpectedTextRefused(self, tmp_path: Path, text: str, reason: str) -> None:
        """
        Text besides the key statements is refused, with the file, its line and what it
        is, instead of being dropped while the keys before it are used.
        """
        path = tmp_path / "update.key"
        path.write_text(text)
        with pytest.raises(UpdateKeyError) as info:
            readTSIGKeys(path)
        assert str(info.value).startswith(f"{path}: ")
        assert reason in info.value.reason

    def test_commentsAccepted(self, tmp_path: Path) -> None:
        """
        Comments of named.conf's three forms, blank lines and several statements are a key
        file.
        """
        path = tmp_path / "update.key"
        path.write_text(
            "# made by hand\n// for the TLSA updater\n\n/* two\n   keys */\n"
            + bindKeyText()
            + "\n# the other one\n"
            + bindKeyText("other.", OTHER_SECRET)
            + "// end\n"
        )
        names = [key.name.to_text() for key in readTSIGKeys(path)]
        assert names == [KEY_NAME, "other."]

    def test_ddnsConfgen(self, tmp_path: Path) -> None:
        """
        ddns-confgen -q writes a key file; without -q, its output is a named.conf snippet (an
        update-policy statement follows the key, then an nsupdate command), refused at its
        first line that is not the key's, as nsupdate -k refuses it.
        """
        program = optionalProgram("ddns-confgen")
        quiet = subprocess.run([program, "-q", "-k", "k1"], capture_output=True, text=True)
        full = subprocess.run([program, "-k", "k1"], capture_output=True, text=True)
        path = tmp_path / "k1.key"
        path.write_text(quiet.stdout)
        (key,) = readTSIGKeys(path)
        assert key.name == dns.name.from_text("k1.")
        path.write_text(full.stdout)
        with pytest.raises(UpdateKeyError, match="unexpected text after the key statement"):
            readTSIGKeys(path)

    def test_option(self, tmp_path: Path) -> None:
        """
        --allow-update with such a file is a usage error naming the file.
        """
        zone = tmp_path / "zone.test.zone"
        zone.write_text(ZONE)
        path = tmp_path / "update.key"
        path.write_text(bindKeyText() + "oops\n")
        with pytest.raises(usage.UsageError) as info:
            Options().parseOptions(["--zone", f"zone.test.={zone}", "--allow-update", str(path)])
        assert str(info.value) == f"{path}: unexpected text after the key statement, line 5: 'oops'"


class TestKeyTwice:
    """
    One key name in two --allow-update key files: one definition, or a usage error.
    """

    def parse(self, tmp_path: Path, first: str, second: str, *extra: str) -> Options:
        zone = tmp_path / "zone.test.zone"
        zone.write_text(ZONE)
        (tmp_path / "a.key").write_text(first)
        (tmp_path / "b.key").write_text(second)
        options = Options()
        options.parseOptions(
            [
                *("--zone", f"zone.test.={zone}"),
                *("--allow-update", f"{tmp_path / 'a.key'}:www.zone.test."),
                *("--allow-update", f"{tmp_path / 'b.key'}:mail.zone.test."),
                *extra,
            ]
        )
        return options

    @pytest.mark.parametrize(
        ("second", "other"),
        [
            (bindKeyText(secret=OTHER_SECRET), "another secret"),
            (
                bindKeyText().replace("hmac-sha256", "hmac-sha512"),
                "another algorithm (hmac-sha512, not hmac-sha256)",
            ),
        ],
        ids=["secret", "algorithm"],
    )
    def test_twoDefinitionsRefused(self, tmp_path: Path, second: str, other: str) -> None:
        """
        Two definitions of one name are refused, naming the key and both files: the server
        would check every request with the first.
        """
        with pytest.raises(usage.UsageError) as info:
            self.parse(tmp_path, bindKeyText(), second)
        assert str(info.value) == (
            f"{tmp_path / 'b.key'}: key {KEY_NAME} is also in {tmp_path / 'a.key'}, with "
            f"{other}: give it one definition, or the two keys different names"
        )

    def test_sameDefinitionAccepted(self, tmp_path: Path) -> None:
        """
        The same definition in two files is one key, with the grants of both options; so
        is one file given twice.
        """
        options = self.parse(tmp_path, bindKeyText(), "# a copy\n" + bindKeyText())
        suffixes = [str(grant.suffix) for grant in options["updateGrants"]]
        assert suffixes == ["www.zone.test.", "mail.zone.test."]
        assert options["updateGrants"][0].key == options["updateGrants"][1].key
        again = f"{tmp_path / 'a.key'}::TLSA"
        options = self.parse(tmp_path, bindKeyText(), bindKeyText(), "--allow-update", again)
        assert len(options["updateGrants"]) == 3


class TestSignedElsewhere:
    """
    --allow-update that reaches only zones signed elsewhere (whose updates are all refused)
    is a usage error at start.
    """

    @pytest.fixture
    def files(self, tmp_path: Path) -> dict[str, str]:
        setup = makeSetup(tmp_path)
        served = setup.responder.store.get(ORIGIN)
        assert served is not None
        signed = tmp_path / "signed.zone"
        signed.write_text(served.zone.to_text(relativize=False))
        other = tmp_path / "other.zone"
        other.write_text(ZONE.replace("zone.test.", "other.test."))
        return {
            "signed": f"zone.test.={signed}",
            "other": f"other.test.={other}",
            "key": str(tmp_path / "update.key"),
            "signingKey": str(setup.source.keys[0]),
        }

    @pytest.mark.parametrize(
        ("zones", "grant"),
        [
            (["signed"], ""),
            (["signed"], ":_tcp.mail.zone.test.:TLSA"),
            (["signed"], ":zone.test."),
            (["signed", "other"], ":www.zone.test."),
        ],
    )
    def test_refused(self, files: dict[str, str], zones: list[str], grant: str) -> None:
        """
        The error names the zone and why.
        """
        argv = [word for zone in zones for word in ("--zone", files[zone])]
        value = files["key"] + grant
        with pytest.raises(usage.UsageError) as info:
            Options().parseOptions([*argv, "--allow-update", value])
        assert str(info.value) == (
            f"--allow-update {value}: zone zone.test. is signed elsewhere (served as it is, "
            "with no --key), so every update to it would be refused"
        )

    def test_severalRefused(self, files: dict[str, str], tmp_path: Path) -> None:
        second = tmp_path / "second.zone"
        signed = files["signed"].partition("=")[2]
        second.write_text(Path(signed).read_text().replace("zone.test.", "second.test."))
        argv = ["--zone", files["signed"], "--zone", f"second.test.={second}"]
        with pytest.raises(
            usage.UsageError, match=r"zones second\.test\., zone\.test\. are signed"
        ):
            Options().parseOptions([*argv, "--allow-update", files["key"]])

    @pytest.mark.parametrize(
        ("zones", "grant", "extra"),
        [
            # Another zone can take the updates of a grant anywhere, or of its suffix.
            (["signed", "other"], "", []),
            (["signed", "other"], ":www.other.test.", []),
            # With its key, the zone is signed here.
            (["signed"], "", ["--key", "signingKey"]),
        ],
    )
    def test_accepted(
        self, files: dict[str, str], zones: list[str], grant: str, extra: list[str]
    ) -> None:
        argv = [word for zone in zones for word in ("--zone", files[zone])]
        argv += [files.get(word, word) for word in extra]
        options = Options()
        options.parseOptions([*argv, "--allow-update", files["key"] + grant])
        assert len(options["updateGrants"]) == 1

    def test_noZoneReached(self, files: dict[str, str]) -> None:
        """
        A grant for names that no zone served holds (another domain) is refused at start,
        naming the suffix.
        """
        value = f"{files['key']}:example.org."
        with pytest.raises(usage.UsageError) as info:
            Options().parseOptions(["--zone", files["other"], "--allow-update", value])
        assert str(info.value) == (
            f"--allow-update {value}: no zone served here holds example.org. or names below"
            " it, so every update under this key would be refused"
        )

    def test_suffixAboveTheZones(self, files: dict[str, str]) -> None:
        """
        A grant for a name above the zones served reaches the zones below it.
        """
        options = Options()
        options.parseOptions(["--zone", files["other"], "--allow-update", f"{files['key']}:test."])
        assert len(options["updateGrants"]) == 1


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("signed elsewhere", "zone zone.test. is signed elsewhere (served as it is, with no"),
        ("trailing text", "unexpected text after the key statement, line 5: 'oops'"),
        ("key twice", "key update-key. is also in "),
    ],
)
def test_serverRefusesAtStart(tmp_path: Path, case: str, message: str) -> None:
    """
    python -m txdane.server says each of these mistakes in one line and exits with status 2,
    before listening.
    """
    setup = makeSetup(tmp_path)
    zoneArgument = f"zone.test.={setup.zonePath}"
    key = tmp_path / "update.key"
    argv = ["--allow-update", str(key)]
    if case == "signed elsewhere":
        served = setup.responder.store.get(ORIGIN)
        assert served is not None
        signed = tmp_path / "signed.zone"
        signed.write_text(served.zone.to_text(relativize=False))
        zoneArgument = f"zone.test.={signed}"
    elif case == "trailing text":
        key.write_text(key.read_text() + "oops\n")
    else:
        other = tmp_path / "other.key"
        other.write_text(bindKeyText(secret=OTHER_SECRET))
        argv += ["--allow-update", str(other)]
    result = subprocess.run(
        [sys.executable, "-m", "txdane.server", "--zone", zoneArgument, *argv, "-p", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("txdane-dns: ") and result.stderr.count("\n") == 1
    assert message in result.stderr


class ServedUpdates(TestCase):
    """
    The zone served on loopback, taking updates.
    """

    def makeServer(self) -> Any:
        directory = Path(tempfile.mkdtemp(prefix="txdane-update-"))
        self.setup = makeSetup(directory)
        return self.setup

    async def serve(self) -> Any:
        setup = self.makeServer()
        server = await listenDNS(reactor, setup.responder)
        self.addCleanup(server.stop)
        # The server has its own holder: the updater swaps responders there.
        setup.updater.holder = server.holder
        setup.holder = server.holder
        return server


class OverTheNetworkTests(ServedUpdates):
    async def test_tcpAndUDP(self) -> None:
        """
        Updates over TCP and UDP apply, with signed responses, and read back signed.
        """
        server = await self.serve()
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        response = await deferToThread(dns.query.tcp, update, "127.0.0.1", 5, server.port)
        self.assertEqual(response.rcode(), dns.rcode.NOERROR)
        update = signedUpdate()
        update.add("ssh", 300, "SSHFP", SSHFP)
        response = await deferToThread(dns.query.udp, update, "127.0.0.1", 5, server.port)
        self.assertEqual(response.rcode(), dns.rcode.NOERROR)
        for name, rdtype in (("_25._tcp.mail", "TLSA"), ("ssh", "SSHFP")):
            query = dns.message.make_query(f"{name}.zone.test.", rdtype, want_dnssec=True)
            answer = await deferToThread(dns.query.udp, query, "127.0.0.1", 5, server.port)
            validated(answer, self.setup, dns.rdatatype.from_text(rdtype))

    async def test_badKeyOverTheNetwork(self) -> None:
        """
        dnspython sees the server's BADSIG as such, and nothing changes.
        """
        server = await self.serve()
        before = self.setup.records()
        update = _withKey(OTHER_SECRET, KEY_NAME)
        with self.assertRaises(dns.tsig.PeerBadSignature):
            await deferToThread(dns.query.tcp, update, "127.0.0.1", 5, server.port)
        self.assertEqual(self.setup.records(), before)

    async def test_nsupdate(self) -> None:
        """
        BIND's nsupdate, with -y and with -k, adds, replaces and deletes records, and delv
        validates what it added.
        """
        nsupdate = requireProgram("nsupdate")
        server = await self.serve()
        keyFile = self.setup.directory / "update.key"

        def run(arguments: list[str], script: str) -> subprocess.CompletedProcess[str]:
            lines = f"server 127.0.0.1 {server.port}\nzone zone.test.\n{script}\nsend\n"
            return subprocess.run(
                [nsupdate, *arguments], input=lines, capture_output=True, text=True, timeout=30
            )

        serial = self.setup.serial()
        added = await deferToThread(
            run,
            ["-y", f"hmac-sha256:{KEY_NAME.rstrip('.')}:{SECRET}"],
            f"update add _25._tcp.mail.zone.test. 300 IN TLSA {TLSA}",
        )
        self.assertEqual((added.returncode, added.stderr), (0, ""))
        replaced = await deferToThread(
            run,
            ["-k", str(keyFile)],
            "prereq yxdomain _25._tcp.mail.zone.test.\n"
            "update delete _25._tcp.mail.zone.test. TLSA\n"
            f"update add _25._tcp.mail.zone.test. 300 IN TLSA {TLSA2}\n"
            f"update add ssh.zone.test. 300 IN SSHFP {SSHFP}",
        )
        self.assertEqual((replaced.returncode, replaced.stderr), (0, ""))
        self.assertEqual(self.setup.serial(), serial + 2)
        answer = self.setup.query("_25._tcp.mail.zone.test.", "TLSA")
        rrset = validated(answer, self.setup, dns.rdatatype.TLSA)
        self.assertEqual([r.to_text() for r in rrset], [TLSA2])

        refused = await deferToThread(
            run, ["-k", str(keyFile)], "update add www.zone.test. 300 IN A 127.0.0.9"
        )
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("REFUSED", refused.stdout + refused.stderr)
        failed = await deferToThread(
            run,
            ["-k", str(keyFile)],
            f"prereq nxdomain www.zone.test.\nupdate add x.zone.test. 300 TLSA {TLSA}",
        )
        self.assertIn("YXDOMAIN", failed.stdout + failed.stderr)
        wrong = self.setup.directory / "wrong.key"
        wrong.write_text(bindKeyText(secret=OTHER_SECRET))
        badsig = await deferToThread(
            run, ["-k", str(wrong)], f"update add x.zone.test. 300 TLSA {TLSA}"
        )
        self.assertNotEqual(badsig.returncode, 0)
        self.assertEqual(self.setup.serial(), serial + 2)

        delv = requireProgram("delv")
        ds = self.setup.key.ds(ORIGIN)
        anchors = self.setup.directory / "anchors.conf"
        anchors.write_text(
            "trust-anchors {\n    zone.test. static-ds "
            f'{ds.key_tag} {ds.algorithm} {ds.digest_type} "{ds.digest.hex().upper()}";\n}};\n'
        )
        command = [delv, "@127.0.0.1", "-p", str(server.port), "-a", str(anchors)]
        command += ["+root=zone.test.", "_25._tcp.mail.zone.test.", "TLSA"]
        result = await deferToThread(
            subprocess.run, command, capture_output=True, text=True, timeout=30
        )
        self.assertIn("; fully validated", result.stdout + result.stderr)
        self.assertIn(TLSA2.split()[-1][:16], (result.stdout).lower().replace(" ", ""))


class RestartTests(TestCase):
    async def test_restartKeepsUpdates(self) -> None:
        """
        A service built anew from the same files serves what the updates added.
        """
        directory = Path(tempfile.mkdtemp(prefix="txdane-update-"))
        setup = makeSetup(directory)
        grants = setup.updater.grants
        service = DNSServerService(
            [setup.source], loadZones([setup.source]), ["127.0.0.1"], 0, updateGrants=grants
        )
        assert service.updater is not None
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        wire = service.holder.responder.respondWire(update.to_wire(), tcp=True)
        assert wire is not None
        self.assertEqual(tsigError(wire)[0], dns.rcode.NOERROR)
        reloaded = await service.reload()
        self.assertTrue(reloaded)
        query = dns.message.make_query("_25._tcp.mail.zone.test.", "TLSA", want_dnssec=True)
        self.assertTrue(service.holder.responder.respond(query).answer)
        self.assertIs(service.holder.responder.updater, service.updater)

        again = DNSServerService(
            [setup.source], loadZones([setup.source]), ["127.0.0.1"], 0, updateGrants=grants
        )
        answer = again.holder.responder.respond(query)
        rrset = next(r for r in answer.answer if r.rdtype == dns.rdatatype.TLSA)
        self.assertEqual([r.to_text() for r in rrset], [TLSA])
        soa = again.holder.responder.respond(dns.message.make_query("zone.test.", "SOA"))
        self.assertEqual(soa.answer[0][0].serial, 2)

    async def test_updateDuringReload(self) -> None:
        """
        An update applied while a reload reads the files is not lost: the reload reads them
        again.
        """
        directory = Path(tempfile.mkdtemp(prefix="txdane-update-"))
        setup = makeSetup(directory)
        service = DNSServerService(
            [setup.source],
            loadZones([setup.source]),
            ["127.0.0.1"],
            0,
            updateGrants=setup.updater.grants,
        )
        reloading = service.reload()
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        wire = service.holder.responder.respondWire(update.to_wire(), tcp=True)
        assert wire is not None
        self.assertEqual(tsigError(wire)[0], dns.rcode.NOERROR)
        self.assertTrue(await reloading)
        query = dns.message.make_query("_25._tcp.mail.zone.test.", "TLSA")
        self.assertTrue(service.holder.responder.respond(query).answer)


def test_serveHelp(capsys: pytest.CaptureFixture[str]) -> None:
    """
    txdane serve lists --allow-update with its syntax.
    """
    from txdane.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "--allow-update KEYFILE[:SUFFIX[:TYPES]]" in capsys.readouterr().out


class TestBoundsAndZones:
    def test_maxRecords(self, setup: Setup) -> None:
        """
        An update with more records than the bound is refused.
        """
        setup.updater.maxRecords = 1
        before = setup.records()
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        update.add("_26._tcp.mail", 300, "TLSA", TLSA)
        assert setup.update(update).rcode() == dns.rcode.REFUSED
        assert setup.records() == before

    def test_maxNames(self, setup: Setup) -> None:
        """
        A zone with more names than the bound takes no updates.
        """
        setup.updater.maxNames = 2
        before = setup.records()
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        assert setup.update(update).rcode() == dns.rcode.REFUSED
        assert setup.records() == before

    def test_formErr(self, setup: Setup) -> None:
        """
        A prerequisite with a TTL, or an addition of a meta type, is FORMERR.
        """
        before = setup.records()
        update = signedUpdate()
        update.prerequisite.append(
            dns.rrset.from_text("www.zone.test.", 300, "IN", "A", "127.0.0.2")
        )
        assert setup.update(update).rcode() == dns.rcode.FORMERR
        assert setup.records() == before

    def test_unsignedZone(self, tmp_path: Path) -> None:
        """
        A zone served without keys and without DNSSEC takes updates unsigned, and keeps them
        in its file.
        """
        zonePath = tmp_path / "zone.test.zone"
        zonePath.write_text(ZONE)
        keyFile = tmp_path / "update.key"
        keyFile.write_text(bindKeyText())
        source = ZoneSource(ORIGIN, str(zonePath))
        holder = ResponderHolder(Responder(ZoneStore(loadZones([source]))))
        updater = ZoneUpdater(holder, [source], parseAllowUpdate(str(keyFile)))
        holder.responder.updater = updater
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        wire = holder.responder.respondWire(update.to_wire(), tcp=True)
        assert wire is not None and tsigError(wire)[0] == dns.rcode.NOERROR
        (index,) = loadZones([source])
        assert index.rdataset(dns.name.from_text("_25._tcp.mail.zone.test."), 52) is not None
        assert not index.signed

    def test_signedElsewhere(self, tmp_path: Path) -> None:
        """
        A zone served as it is, signed by someone else, refuses updates: the server could
        not sign them.
        """
        setup = makeSetup(tmp_path)
        signedPath = tmp_path / "signed.zone"
        served = setup.responder.store.get(ORIGIN)
        assert served is not None
        signedPath.write_text(served.zone.to_text(relativize=False))
        source = ZoneSource(ORIGIN, str(signedPath))
        holder = ResponderHolder(Responder(ZoneStore(loadZones([source]))))
        updater = ZoneUpdater(holder, [source], setup.updater.grants)
        holder.responder.updater = updater
        text = signedPath.read_text()
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        wire = holder.responder.respondWire(update.to_wire(), tcp=True)
        assert wire is not None and tsigError(wire)[0] == dns.rcode.REFUSED
        assert signedPath.read_text() == text

    def test_unwritableFile(self, setup: Setup) -> None:
        """
        When the zone file cannot be replaced, the update fails with SERVFAIL and the zone
        served stays as it was.
        """
        zone = setup.responder.store.get(ORIGIN)
        assert zone is not None
        before = zone.zone.to_text()
        setup.zonePath.unlink()
        setup.zonePath.mkdir()  # os.replace cannot put a file there, even for root
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        assert setup.update(update).rcode() == dns.rcode.SERVFAIL
        zone = setup.responder.store.get(ORIGIN)
        assert zone is not None
        assert zone.zone.to_text() == before
        assert [p.name for p in setup.directory.iterdir() if p.name.startswith(".update-")] == []


class ValidatorTests(TestCase):
    async def test_validatorSaysSecure(self) -> None:
        """
        txdane's validator, with the zone's DS as its trust anchor, finds an added TLSA record
        secure, and a name that does not exist next to it a secure NXDOMAIN.
        """
        setup = makeSetup(Path(tempfile.mkdtemp(prefix="txdane-update-")))
        server = await listenDNS(reactor, setup.responder)
        self.addCleanup(server.stop)
        setup.updater.holder = server.holder
        setup.holder = server.holder
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        self.assertEqual(setup.update(update).rcode(), dns.rcode.NOERROR)
        anchor = dns.rrset.from_rdata(ORIGIN, 3600, setup.key.ds(ORIGIN))
        client = DNSClient(reactor, [f"127.0.0.1#{server.port}"], timeout=2, attempts=1)
        resolver = ValidatingResolver(
            client, trustAnchors=TrustAnchors.fromRRsets([anchor]), clock=reactor
        )
        answer = await resolver.lookup("_25._tcp.mail.zone.test.", "TLSA")
        self.assertEqual(answer.status, Status.SECURE, answer.reason)
        assert answer.rrset is not None
        self.assertEqual([r.to_text() for r in answer.rrset], [TLSA])
        missing = await resolver.lookup("_26._tcp.mail.zone.test.", "TLSA")
        self.assertEqual(
            (missing.status, missing.rcode), (Status.SECURE, dns.rcode.NXDOMAIN), missing.reason
        )


def test_keyFileGone(setup: Setup) -> None:
    """
    A signing key that can no longer be read fails the update with SERVFAIL, changing nothing.
    """
    before = setup.records()
    for path in setup.directory.glob("Kzone.test.+*"):
        path.unlink()
    update = signedUpdate()
    update.add("_25._tcp.mail", 300, "TLSA", TLSA)
    assert setup.update(update).rcode() == dns.rcode.SERVFAIL
    assert setup.records() == before


@pytest.mark.parametrize("nsec3", [None, NSEC3Options()], ids=["nsec", "nsec3"])
def test_onlyChangesSignedAnew(tmp_path: Path, nsec3: NSEC3Options | None) -> None:
    """
    An update signs anew only what changed: the RRsets it touched, the SOA, and the denial
    records next to a new name; every other signature is the one made at load.
    """
    setup = makeSetup(tmp_path, nsec3=nsec3)

    def signatures() -> dict[tuple[dns.name.Name, int], set[bytes]]:
        zone = setup.responder.store.get(ORIGIN)
        assert zone is not None
        return {
            (name, rdataset.covers): {sig.signature for sig in rdataset}
            for name, node in zone.zone.nodes.items()
            for rdataset in node.rdatasets
            if rdataset.rdtype == dns.rdatatype.RRSIG
        }

    before = signatures()
    update = signedUpdate()
    update.replace("_443._tcp.www", 300, "TLSA", TLSA2)
    assert setup.update(update).rcode() == dns.rcode.NOERROR
    after = signatures()
    changed = {entry for entry, sigs in after.items() if before.get(entry) != sigs}
    www = dns.name.from_text("_443._tcp.www.zone.test.")
    assert (www, dns.rdatatype.TLSA) in changed
    assert (ORIGIN, dns.rdatatype.SOA) in changed
    assert changed == {(www, dns.rdatatype.TLSA), (ORIGIN, dns.rdatatype.SOA)}
    validated(setup.query("www.zone.test.", "A"), setup, dns.rdatatype.A)
    validated(setup.query(www.to_text(), "TLSA"), setup, dns.rdatatype.TLSA)


def _freePort() -> int:
    with socket.socket() as tcp:
        tcp.bind(("127.0.0.1", 0))
        return int(tcp.getsockname()[1])


def _startServer(argv: list[str], port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "txdane", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    query = dns.message.make_query("zone.test.", "SOA")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1])
        try:
            dns.query.tcp(query, "127.0.0.1", timeout=1, port=port)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the server did not start")


def _stopServer(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_serveRestartKeepsUpdates(tmp_path: Path) -> None:
    """
    txdane serve --allow-update takes an update over TCP; stopped and started again from the
    same files, it serves the record, signed, with the serial the update made.
    """
    setup = makeSetup(tmp_path)
    port = _freePort()
    argv = [
        "--zone",
        f"zone.test.={setup.zonePath}",
        "--key",
        setup.source.keys[0],
        "--allow-update",
        f"{tmp_path / 'update.key'}:mail.zone.test.",
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
        "--rrl-rate",
        "0",
    ]
    process = _startServer(argv, port)
    try:
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        response = dns.query.tcp(update, "127.0.0.1", timeout=5, port=port)
        assert response.rcode() == dns.rcode.NOERROR
        refused = signedUpdate()
        refused.add("_25._tcp.www", 300, "TLSA", TLSA)
        assert dns.query.udp(refused, "127.0.0.1", timeout=5, port=port).rcode() == (
            dns.rcode.REFUSED
        )
    finally:
        _stopServer(process)
    process = _startServer(argv, port)
    try:
        query = dns.message.make_query("_25._tcp.mail.zone.test.", "TLSA", want_dnssec=True)
        answer = dns.query.tcp(query, "127.0.0.1", timeout=5, port=port)
        keys = dns.query.tcp(
            dns.message.make_query("zone.test.", "DNSKEY"), "127.0.0.1", timeout=5, port=port
        ).answer[0]
        rrset = next(r for r in answer.answer if r.rdtype == dns.rdatatype.TLSA)
        sigs = next(r for r in answer.answer if r.rdtype == dns.rdatatype.RRSIG)
        dns.dnssec.validate(rrset, sigs, {ORIGIN: keys})
        soa = dns.query.tcp(
            dns.message.make_query("zone.test.", "SOA"), "127.0.0.1", timeout=5, port=port
        )
        assert soa.answer[0][0].serial == 2
    finally:
        _stopServer(process)


class ThreadedTests(TestCase):
    async def test_serviceUpdatesInAThread(self) -> None:
        """
        The service rebuilds zones in a thread, one update at a time: several updates sent at
        once over TCP and UDP all apply, each bumping the serial once.
        """
        setup = makeSetup(Path(tempfile.mkdtemp(prefix="txdane-update-")))
        service = DNSServerService(
            [setup.source],
            loadZones([setup.source]),
            ["127.0.0.1"],
            0,
            updateGrants=setup.updater.grants,
            rateLimit=NO_RATE_LIMIT,
        )
        assert service.updater is not None and service.updater.runInThread is not None
        service.startService()
        self.addCleanup(service.stopService)
        port = service.ports[0].getHost().port  # type: ignore[attr-defined]

        def send(index: int) -> int:
            update = signedUpdate()
            update.add(f"_{index}._tcp.mail", 300, "TLSA", TLSA)
            query = dns.query.tcp if index % 2 else dns.query.udp
            return int(query(update, "127.0.0.1", timeout=10, port=port).rcode())

        rcodes = await gatherResults([deferToThread(send, index) for index in range(6)])
        self.assertEqual(rcodes, [dns.rcode.NOERROR] * 6)
        responder = service.holder.responder
        soa = responder.respond(dns.message.make_query("zone.test.", "SOA"))
        self.assertEqual(soa.answer[0][0].serial, 7)
        for index in range(6):
            query = dns.message.make_query(f"_{index}._tcp.mail.zone.test.", "TLSA")
            self.assertTrue(responder.respond(query).answer)


class PublishToOwnServerTests(ServedUpdates):
    """
    txdane's own client, L{txdane.publish}, against txdane's own server taking updates:
    publish, replace, a wrong secret refused with nothing changed.
    """

    async def test_publishAndReplace(self) -> None:
        from txdane.dane.tlsa import TLSARecord
        from txdane.publish import TSIGKey, TSIGRejectedError, publishTLSA
        from txdane.resolvconf import NameServer

        server = await self.serve()
        primary = NameServer("127.0.0.1", server.port)
        key = TSIGKey.fromText(bindKeyText())
        first = TLSARecord(3, 1, 1, bytes.fromhex("ab" * 32))
        result = await publishTLSA(reactor, primary, key, "mail.zone.test", 25, [first])
        self.assertEqual(result.zone, ORIGIN)
        self.assertIsNone(result.previous)
        nextRecord = TLSARecord(3, 1, 1, bytes.fromhex("cd" * 32))
        result = await publishTLSA(reactor, primary, key, "mail.zone.test", 25, [first, nextRecord])
        self.assertIsNotNone(result.previous)
        query = dns.message.make_query("_25._tcp.mail.zone.test.", "TLSA", want_dnssec=True)
        answer = await deferToThread(dns.query.udp, query, "127.0.0.1", 5, server.port)
        rrset = validated(answer, self.setup, dns.rdatatype.TLSA)
        self.assertEqual(len(rrset), 2)
        before = self.setup.records()
        wrong = TSIGKey.fromText(bindKeyText(secret=OTHER_SECRET))
        with self.assertRaises(TSIGRejectedError):
            await publishTLSA(reactor, primary, wrong, "mail.zone.test", 25, [first])
        self.assertEqual(self.setup.records(), before)


class TestLog:
    """
    Each update is one line of the server's log, naming the zone, the key (never its secret)
    and what came of it; an update that cannot be written says why.
    """

    def test_appliedAndRefused(self, setup: Setup) -> None:
        from twisted.logger import capturedLogs, formatEvent

        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        with capturedLogs() as events:
            setup.send(update)
            setup.send(_withKey(OTHER_SECRET, KEY_NAME))
            setup.send(_simple("www.zone.test.", "A", "127.0.0.9")())
        lines = [formatEvent(event) for event in events]
        assert lines == [
            "dynamic update of zone.test. with key update-key.: NOERROR, applied",
            "dynamic update of zone.test. with key update-key. refused: BADSIG (the signature"
            " does not verify)",
            "dynamic update of zone.test. with key update-key.: REFUSED, refused",
        ]
        assert not any(SECRET in line or OTHER_SECRET in line for line in lines)

    def test_cannotWrite(self, setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
        import errno

        from twisted.logger import capturedLogs, formatEvent

        from txdane.server import update as updateModule

        def refuse(zone: object, path: object) -> None:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))

        monkeypatch.setattr(updateModule, "_writeZone", refuse)
        before = setup.records()
        update = signedUpdate()
        update.add("_25._tcp.mail", 300, "TLSA", TLSA)
        with capturedLogs() as events:
            wire = setup.send(update)
        assert tsigError(wire)[0] == dns.rcode.SERVFAIL
        assert setup.records() == before
        (line,) = [formatEvent(event) for event in events]
        assert line == (
            f"dynamic update of zone.test. failed: cannot write {setup.zonePath}: Permission denied"
        )

    def test_refusalsBounded(self, setup: Setup) -> None:
        """
        Updates refused before their signature is trusted (anyone may send them) are logged
        at most L{MAX_LOGGED_REFUSALS} a minute; then how many were not.
        """
        from twisted.logger import capturedLogs, formatEvent

        from txdane.server.update import MAX_LOGGED_REFUSALS

        now = [1_000_000.0]
        setup.updater.clock = lambda: now[0]
        with capturedLogs() as events:
            for _ in range(MAX_LOGGED_REFUSALS + 5):
                setup.send(_unsigned())
        lines = [formatEvent(event) for event in events]
        assert lines == ["dynamic update of zone.test. refused: not signed"] * MAX_LOGGED_REFUSALS
        now[0] += 60
        with capturedLogs() as events:
            setup.send(_unsigned())
        assert [formatEvent(event) for event in events] == [
            "5 more refused dynamic updates were not logged",
            "dynamic update of zone.test. refused: not signed",
        ]

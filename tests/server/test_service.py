"""
Tests for key files, zone files, the twistd plugin's options and service, and C{txdane keygen}.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dns.dnssec
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import pytest
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.internet.task import Clock
from twisted.internet.threads import deferToThread
from twisted.python import usage
from twisted.trial.unittest import TestCase

from tests.support import requireProgram
from txdane.cli import ExitStatus, main
from txdane.server.keys import KeyFileError, readKeyFiles, writeKeyFiles
from txdane.server.responder import Responder
from txdane.server.service import DNSServerService, ZoneSource, loadZones
from txdane.server.signing import SigningError, SigningKey
from txdane.server.tap import Options, ServerCannotStart, makeService
from txdane.server.zones import ZoneError, ZoneStore, loadZoneFile

Capture = pytest.CaptureFixture[str]
ROOT = Path(__file__).resolve().parent.parent.parent
ORIGIN = dns.name.from_text("zone.test.")
ZONE = """$ORIGIN zone.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
_443._tcp.www IN TLSA 3 1 1 aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899
"""


def writeZone(directory: Path, text: str = ZONE, name: str = "zone.test.zone") -> Path:
    path = directory / name
    path.write_text(text)
    return path


class TestKeyFiles:
    @pytest.mark.parametrize("algorithm", ["ECDSAP256SHA256", "ED25519", "RSASHA256"])
    def test_roundTrip(self, tmp_path: Path, algorithm: str) -> None:
        """
        A key written and read back signs verifiably, with the same DNSKEY and tag, and the
        private file is readable by its owner only.
        """
        key = SigningKey.generate(algorithm)
        files = writeKeyFiles(ORIGIN, key, tmp_path)
        assert files.public.name == f"Kzone.test.+{key.dnskey.algorithm:03d}+{key.keyTag:05d}.key"
        assert os.stat(files.private).st_mode & 0o077 == 0
        for path in (files.public, files.private, str(files.public)[: -len(".key")]):
            owner, again = readKeyFiles(path)
            assert owner == ORIGIN
            assert again.dnskey == key.dnskey
        rrset = dns.rrset.from_text("www.zone.test.", 300, "IN", "A", "127.0.0.1")
        sig = dns.dnssec.sign(rrset, again.privateKey, ORIGIN, again.dnskey, lifetime=600)
        keys = dns.rrset.from_rdata(ORIGIN, 300, key.dnskey)
        dns.dnssec.validate_rrsig(rrset, sig, {ORIGIN: keys})

    @pytest.mark.parametrize(
        "options",
        [["-a", "ECDSAP256SHA256"], ["-a", "ED25519", "-k"], ["-a", "RSASHA256", "-b", "2048"]],
    )
    def test_readsLdnsKeygenKeys(self, tmp_path: Path, options: list[str]) -> None:
        """
        Keys made by ldns-keygen are read, with their flags, and sign verifiably.
        """
        keygen = requireProgram("ldns-keygen")
        result = subprocess.run(
            [keygen, *options, "zone.test"], cwd=tmp_path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        prefix = tmp_path / result.stdout.strip()
        owner, key = readKeyFiles(prefix)
        assert owner == ORIGIN
        assert key.dnskey.flags == (257 if "-k" in options else 256)
        rrset = dns.rrset.from_text("www.zone.test.", 300, "IN", "A", "127.0.0.1")
        sig = dns.dnssec.sign(rrset, key.privateKey, ORIGIN, key.dnskey, lifetime=600)
        keys = dns.rrset.from_rdata(ORIGIN, 300, key.dnskey)
        dns.dnssec.validate_rrsig(rrset, sig, {ORIGIN: keys})

    def test_mismatchedHalves(self, tmp_path: Path) -> None:
        one = writeKeyFiles(ORIGIN, SigningKey.generate(), tmp_path)
        two = writeKeyFiles(ORIGIN, SigningKey.generate(), tmp_path)
        two.private.write_text(one.private.read_text())
        with pytest.raises(KeyFileError, match="does not match") as info:
            readKeyFiles(two.public)
        assert info.value.path == str(two.private)

    def test_missingAndMalformed(self, tmp_path: Path) -> None:
        with pytest.raises(KeyFileError, match="No such file"):
            readKeyFiles(tmp_path / "Knothing")
        files = writeKeyFiles(ORIGIN, SigningKey.generate(), tmp_path)
        good = files.private.read_text()
        files.private.write_text("hello\n")
        with pytest.raises(KeyFileError, match="Private-key-format"):
            readKeyFiles(files.public)
        # A field missing, or a .key file of something else: said in words.
        files.private.write_text(
            "\n".join(line for line in good.splitlines() if not line.startswith("PrivateKey"))
        )
        with pytest.raises(KeyFileError) as info:
            readKeyFiles(files.public)
        assert info.value.reason == "malformed private key (no PrivateKey: line)"
        files.private.write_text(good)
        files.public.write_text("this is not a key\n")
        with pytest.raises(KeyFileError) as info:
            readKeyFiles(files.public)
        assert info.value.reason == "not a DNSKEY record: 'this is not a key'"

    def test_garbledFiles(self, tmp_path: Path) -> None:
        """
        Bytes that are not text, and an empty Algorithm line, are key file errors naming the
        file, not tracebacks.
        """
        files = writeKeyFiles(ORIGIN, SigningKey.generate(), tmp_path)
        good = files.private.read_text()
        files.private.write_bytes(
            b"Private-key-format: v1.3\nAlgorithm: 13\nPrivateKey: \xff\xfe\n"
        )
        with pytest.raises(KeyFileError, match="not UTF-8 text") as info:
            readKeyFiles(files.public)
        assert info.value.path == str(files.private)
        files.private.write_text(good.replace("Algorithm: 13 (ECDSAP256SHA256)", "Algorithm:"))
        with pytest.raises(KeyFileError, match="the Algorithm line is not a number"):
            readKeyFiles(files.public)
        files.public.write_bytes(b"\x80\x81 IN DNSKEY 257 3 13 AAAA\n")
        with pytest.raises(KeyFileError, match="not UTF-8 text") as info:
            readKeyFiles(files.public)
        assert info.value.path == str(files.public)

    def test_unsupportedAlgorithm(self) -> None:
        with pytest.raises(SigningError, match="RSASHA1"):
            SigningKey.generate("RSASHA1")

    @pytest.mark.parametrize("algorithm", ["ECDSAP256SHA256", "ED25519", "RSASHA256"])
    def test_ldnsSignzoneReadsOurKeys(self, tmp_path: Path, algorithm: str) -> None:
        """
        ldns-signzone signs with a key file we wrote, and the result verifies.
        """
        signer = requireProgram("ldns-signzone")
        files = writeKeyFiles(ORIGIN, SigningKey.generate(algorithm), tmp_path)
        zone = writeZone(tmp_path)
        prefix = str(files.public)[: -len(".key")]
        subprocess.run([signer, "-n", str(zone), prefix], check=True, capture_output=True)
        verify = requireProgram("ldns-verify-zone")
        result = subprocess.run([verify, f"{zone}.signed"], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


class TestZoneFiles:
    def test_located(self, tmp_path: Path) -> None:
        """
        A malformed record is reported with its file, line and reason.
        """
        bad = ZONE.replace("ns1 IN A 127.0.0.1", "ns1 IN A 127.0.0")
        path = writeZone(tmp_path, bad)
        with pytest.raises(ZoneError) as info:
            loadZoneFile(path, ORIGIN)
        assert (info.value.path, info.value.line) == (str(path), 5)
        assert str(info.value) == f"{path}:5: {info.value.reason}"
        assert info.value.reason == "A record: 127.0.0 is not an IPv4 address"

    @pytest.mark.parametrize(
        ("record", "reason"),
        [
            ("www IN A 192.0.2.999", "A record: 192.0.2.999 is not an IPv4 address"),
            (
                "www IN AAAA 2001:db8::zz ; comment",
                "AAAA record: 2001:db8::zz is not an IPv6 address",
            ),
            ("www 300 IN AAAA 192.0.2.1", "AAAA record: 192.0.2.1 is not an IPv6 address"),
            ("@ IN MX 70000 ns1", "MX record: 70000 is not an unsigned 16-bit integer"),
            ("_443._tcp IN TLSA 3 1 1 zz", "TLSA record: Non-hexadecimal digit found"),
        ],
    )
    def test_recordDataInWords(self, tmp_path: Path, record: str, reason: str) -> None:
        """
        Record data dnspython cannot read is reported with the file, the record's line and
        type, and in plain words where dnspython says only "Text input is malformed".
        """
        path = writeZone(tmp_path, ZONE + record + "\nlast IN A 192.0.2.1\n")
        with pytest.raises(ZoneError) as info:
            loadZoneFile(path, ORIGIN)
        assert str(info.value) == f"{path}:7: {reason}"

    @pytest.mark.parametrize(
        ("records", "line"),
        [
            # Other data added at a CNAME's name, and a CNAME added at a name holding data.
            ("www IN CNAME ns1\nwww IN A 192.0.2.1\nlast IN A 192.0.2.2\n", 8),
            ("www IN A 192.0.2.1\n    IN CNAME ns1\n", 8),
            ("www IN CNAME ns1\nwww IN TXT hello", 8),  # no final end of line
            ("@ IN CNAME ns1\n", 7),
        ],
    )
    def test_cnameAndOtherData(self, tmp_path: Path, records: str, line: int) -> None:
        """
        A CNAME beside other records is reported with the file, the line and the name, not
        with dnspython's words alone.
        """
        path = writeZone(tmp_path, ZONE + records)
        with pytest.raises(ZoneError) as info:
            loadZoneFile(path, ORIGIN)
        name = "zone.test." if records.startswith("@") else "www.zone.test."
        assert str(info.value) == (
            f"{path}:{line}: {name} has a CNAME and other records: a CNAME must be the only "
            "record at its name, DNSSEC records aside"
        )

    def test_errorInIncludedFile(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """
        An error in an C{$INCLUDE}d file names that file and its line, and the zone file that
        includes it.
        """
        monkeypatch.chdir(tmp_path)  # $INCLUDE paths are the process's, as dnspython reads
        Path("hosts.inc").write_text("a IN A 192.0.2.1\nb IN A 192.0.2.300\nc IN A 192.0.2.3\n")
        path = writeZone(tmp_path, ZONE + "$INCLUDE hosts.inc\n")
        with pytest.raises(ZoneError) as info:
            loadZoneFile(path, ORIGIN)
        assert (info.value.path, info.value.line) == ("hosts.inc", 2)
        assert str(info.value) == (
            f"hosts.inc:2: A record: 192.0.2.300 is not an IPv4 address (included by {path})"
        )
        Path("hosts.inc").write_text("www IN CNAME ns1\nwww IN A 192.0.2.1\n")
        with pytest.raises(ZoneError, match=r"^hosts\.inc:2: www\.zone\.test\. has a CNAME"):
            loadZoneFile(path, ORIGIN)

    def test_missingInclude(self, tmp_path: Path) -> None:
        """
        An C{$INCLUDE}d file that cannot be read is named, not the zone file including it,
        with the line of the C{$INCLUDE}.
        """
        path = writeZone(tmp_path, ZONE + "$INCLUDE missing.inc\n")
        with pytest.raises(ZoneError) as info:
            loadZoneFile(path, ORIGIN)
        assert str(info.value) == f"{path}:7: No such file or directory: missing.inc (included)"
        assert info.value.line == 7
        # Without an end of line after it, and with an origin after the file name.
        path = writeZone(tmp_path, ZONE + "$INCLUDE missing.inc zone.test.")
        with pytest.raises(ZoneError) as info:
            loadZoneFile(path, ORIGIN)
        assert str(info.value) == f"{path}:7: No such file or directory: missing.inc (included)"

    def test_lastLine(self, tmp_path: Path) -> None:
        path = writeZone(tmp_path, ZONE + "x IN AAAA nonsense\n")
        with pytest.raises(ZoneError) as info:
            loadZoneFile(path, ORIGIN)
        assert info.value.line == 7

    def test_unknownType(self, tmp_path: Path) -> None:
        path = writeZone(tmp_path, ZONE + "x IN FROB 1\n")
        with pytest.raises(ZoneError, match="FROB") as info:
            loadZoneFile(path, ORIGIN)
        assert info.value.line == 7

    def test_noSOA(self, tmp_path: Path) -> None:
        path = writeZone(tmp_path, ZONE.replace("@ IN SOA", "; @ IN SOA"))
        with pytest.raises(ZoneError, match="no SOA"):
            loadZoneFile(path, ORIGIN)
        path = writeZone(tmp_path, ZONE.replace("@ IN SOA", "soa IN SOA"))
        with pytest.raises(ZoneError, match="SOA"):
            loadZoneFile(path, ORIGIN)

    @pytest.mark.parametrize("owner", ["zzzz", "0123456"])
    def test_badNSEC3Owner(self, tmp_path: Path, owner: str) -> None:
        """
        A pre-signed zone whose NSEC3 owner is not a base32hex hash is a zone error naming the
        file and the record, not a traceback.
        """
        extra = "@ IN NSEC3PARAM 1 0 0 -\n" + f"{owner} IN NSEC3 1 0 0 - {'0' * 32} A\n"
        path = writeZone(tmp_path, ZONE + extra)
        with pytest.raises(ZoneError, match=f"NSEC3 record at {owner}.zone.test.") as info:
            loadZones([ZoneSource(ORIGIN, str(path))])
        assert info.value.path == str(path)

    def test_missing(self, tmp_path: Path) -> None:
        with pytest.raises(ZoneError, match="No such file") as info:
            loadZoneFile(tmp_path / "nope.zone", ORIGIN)
        assert info.value.path == str(tmp_path / "nope.zone")


class TestOptions:
    def test_signsWithKeys(self, tmp_path: Path) -> None:
        """
        --zone and --key: the zone is loaded and signed with the key whose owner it is; --nsec3
        picks NSEC3 for it.
        """
        key = SigningKey.generate()
        files = writeKeyFiles(ORIGIN, key, tmp_path)
        zone = writeZone(tmp_path)
        options = Options()
        options.parseOptions(
            [
                *("--zone", f"zone.test.={zone}", "--key", str(files.public)),
                *("--nsec3", "zone.test.", "--interface", "127.0.0.1", "--port", "5353"),
            ]
        )
        (loaded,) = options["loaded"]
        assert loaded.signed and loaded.nsec3 is not None
        service = makeService(options)
        assert isinstance(service, DNSServerService)
        assert service.interfaces == ("127.0.0.1",)
        assert service.port == 5353

    @pytest.mark.parametrize(
        "argv,message",
        [
            ([], "at least one --zone"),
            (["--zone", "nonsense"], "ORIGIN=FILE"),
            (["--zone", "zone.test.=ZONE", "--no-udp", "--no-tcp"], "nothing to listen"),
            (["--zone", "zone.test.=ZONE", "--nsec3", "zone.test."], "no --key"),
            (["--zone", "zone.test.=ZONE", "--nsec3-salt", "xyz"], "hexadecimal"),
            # NSEC3 settings without a zone signed with NSEC3 would change nothing.
            (["--zone", "zone.test.=ZONE", "--opt-out"], "--opt-out applies to zones signed"),
            (["--zone", "zone.test.=ZONE", "--nsec3-iterations", "5"], "--nsec3-iterations appl"),
            (["--zone", "zone.test.=ZONE", "--nsec3-salt", "ab"], "--nsec3-salt applies to"),
            (["--zone", "zone.test.=ZONE", "--nsec3-salt", "ab" * 256], "--nsec3-salt"),
            (["--zone", "zone.test.=ZONE", "--nsec3-iterations", "-1"], "--nsec3-iterations"),
            (["--zone", "zone.test.=ZONE", "--nsec3-iterations", "65536"], "--nsec3-iterations"),
            (["--zone", "zone.test.=ZONE", "--signature-validity", "0"], "--signature-validity"),
            (["--zone", "zone.test.=ZONE", "--signature-validity", "-5"], "--signature-validity"),
            (
                ["--zone", "zone.test.=ZONE", "--signature-validity", "99999999"],
                "--signature-validity",
            ),
            (["--zone", "zone.test.=ZONE", "--port", "65536"], "--port"),
            (["--zone", "zone.test.=ZONE", "--interface", "localhost"], "--interface"),
            (["--zone", "zone.test.=ZONE", "--port", "-1"], "--port"),
            (["--zone", "zone.test.=BAD"], "BAD:5: "),
            (["--zone", "zone.test.=ZONE", "--key", "OTHERKEY"], "which no --zone serves"),
            # Not "Wrong number of arguments", nor "address already in use" when listening.
            (
                ["--zone", "zone.test.=ZONE", "example.com"],
                "^unexpected argument 'example.com': every setting is an option",
            ),
            (
                ["--zone", "zone.test.=ZONE", "--interface", "::1", "--interface", "0:0::1"],
                "^--interface 0:0::1 is given twice$",
            ),
        ],
    )
    def test_errors(self, tmp_path: Path, argv: list[str], message: str) -> None:
        """
        Mistakes, bad zone files included, stop the start with a one-line reason.
        """
        good = writeZone(tmp_path)
        bad = writeZone(tmp_path, ZONE.replace("127.0.0.1", "127.0.0"), "bad.zone")
        other = writeKeyFiles(dns.name.from_text("other.test."), SigningKey.generate(), tmp_path)
        replace = {"ZONE": str(good), "BAD": str(bad), "OTHERKEY": str(other.public)}
        argv = [
            a.replace("ZONE", replace["ZONE"])
            .replace("BAD", replace["BAD"])
            .replace("OTHERKEY", replace["OTHERKEY"])
            for a in argv
        ]
        with pytest.raises(usage.UsageError, match=message.replace("BAD", str(bad))):
            Options().parseOptions(argv)

    def test_pluginDiscovered(self) -> None:
        """
        twistd finds the txdane-dns plugin.
        """
        from twisted.application.service import IServiceMaker
        from twisted.plugin import getPlugins

        import twisted.plugins

        names = [p.tapname for p in getPlugins(IServiceMaker, twisted.plugins)]
        assert "txdane-dns" in names


class ServiceTests(TestCase):
    def makeService(self, tmp_path: Path, reactorToUse: object) -> DNSServerService:
        key = SigningKey.generate()
        files = writeKeyFiles(ORIGIN, key, tmp_path)
        zone = writeZone(tmp_path)
        sources = [ZoneSource(ORIGIN, str(zone), (str(files.public),))]
        self.zonePath = zone
        return DNSServerService(sources, loadZones(sources), ["127.0.0.1"], 0, reactor=reactorToUse)

    async def test_listensAndHandlesSIGHUP(self) -> None:
        """
        startService listens for UDP and TCP on one port per interface and takes over SIGHUP,
        which reloads; stopService closes the ports and gives SIGHUP back.
        """
        service = self.makeService(Path(tempfile.mkdtemp()), reactor)
        before = signal.getsignal(signal.SIGHUP)
        service.startService()
        try:
            udp, tcp = service.ports
            self.assertEqual(udp.getHost().port, tcp.getHost().port)  # type: ignore[attr-defined]
            self.assertEqual(signal.getsignal(signal.SIGHUP), service._onSIGHUP)
            self.zonePath.write_text(ZONE + "new IN A 127.0.0.9\n")
            reloaded: Deferred[None] = Deferred()
            service.reload = lambda: reloaded.callback(None)  # type: ignore[method-assign,assignment,return-value]
            os.kill(os.getpid(), signal.SIGHUP)
            await reloaded
        finally:
            await service.stopService()
        self.assertEqual(signal.getsignal(signal.SIGHUP), before)
        self.assertEqual(service.ports, [])

    async def test_failedStartClosesWhatItOpened(self) -> None:
        """
        When one interface cannot be listened on, startService fails with that error and
        leaves no port of the other interfaces open.
        """
        service = self.makeService(Path(tempfile.mkdtemp()), reactor)
        service.interfaces = ("127.0.0.1", "192.0.2.1")  # the second is not this host's
        opened: list[Any] = []
        closing: list[Deferred[None]] = []
        listenUDP = reactor.listenUDP  # type: ignore[attr-defined]

        def recordingListenUDP(*args: Any, **kw: Any) -> Any:
            port = listenUDP(*args, **kw)
            opened.append(port)
            stopListening = port.stopListening

            def recordingStopListening() -> Any:
                # The port is closed on the reactor's next turn, when this Deferred fires.
                stopped = stopListening()
                closing.append(stopped)
                return stopped

            port.stopListening = recordingStopListening
            return port

        self.patch(reactor, "listenUDP", recordingListenUDP)
        with self.assertRaises(CannotListenError):
            service.startService()
        self.assertEqual(len(closing), 1)
        await closing[0]
        self.assertEqual(len(opened), 1)
        self.assertFalse(opened[0].connected)
        self.assertEqual(service.ports, [])
        self.assertFalse(service.running)

    def test_twistdServiceCannotListen(self) -> None:
        """
        The service the twistd plugin makes ends a start that cannot listen with
        L{ServerCannotStart}, a L{SystemExit} saying why in one line, and leaves nothing open.
        """
        directory = Path(tempfile.mkdtemp())
        zone = writeZone(directory)
        options = Options()
        options.parseOptions(["--zone", f"zone.test.={zone}", "--interface", "192.0.2.1"])
        service = makeService(options)
        with self.assertRaises(ServerCannotStart) as raised:
            service.startService()
        self.assertIsInstance(raised.exception, SystemExit)
        self.assertEqual(
            raised.exception.code,
            "cannot listen on 192.0.2.1 port 53: cannot assign requested address",
        )
        self.assertFalse(service.running)

    def test_privilegedStartOpensThePorts(self) -> None:
        """
        C{privilegedStartService}, which twistd calls before giving up its privileges for
        C{--uid}, opens the ports; C{startService}, called after, opens no more. One that
        cannot listen leaves none open, under twistd as L{ServerCannotStart}.
        """
        directory = Path(tempfile.mkdtemp())
        zone = writeZone(directory)
        options = Options()
        options.parseOptions(["--zone", f"zone.test.={zone}", "--interface", "127.0.0.1"])
        options["port"] = 0
        service: Any = makeService(options)
        service.privilegedStartService()
        self.addCleanup(service.stopService)
        opened = list(service.ports)
        self.assertEqual(len(opened), 2)  # UDP and TCP
        self.assertFalse(service.running)
        service.startService()
        self.assertTrue(service.running)
        self.assertEqual(service.ports, opened)

        options = Options()
        options.parseOptions(["--zone", f"zone.test.={zone}", "--interface", "192.0.2.1"])
        service = makeService(options)
        with self.assertRaises(ServerCannotStart):
            service.privilegedStartService()
        self.assertEqual(service.ports, [])

    async def test_reload(self) -> None:
        """
        reload() re-reads the files: new records are served; a broken file leaves the old
        zones in place.
        """
        directory = Path(tempfile.mkdtemp())
        service = self.makeService(directory, reactor)
        query = dns.message.make_query("new.zone.test.", "A")
        self.assertEqual(service.holder.responder.respond(query).rcode(), dns.rcode.NXDOMAIN)
        self.zonePath.write_text(ZONE + "new IN A 127.0.0.9\n")
        self.assertTrue(await service.reload())
        response = service.holder.responder.respond(query)
        self.assertEqual(response.answer[0][0].address, "127.0.0.9")
        self.zonePath.write_text(ZONE + "broken IN A nonsense\n")
        self.assertFalse(await service.reload())
        self.assertEqual(len(self.flushLoggedErrors()), 0)
        response = service.holder.responder.respond(query)
        self.assertEqual(response.answer[0][0].address, "127.0.0.9")


class _ManualThreadPool:
    """
    A thread pool whose jobs run, and whose results arrive, when the test says.
    """

    def __init__(self) -> None:
        self.jobs: list[tuple[Any, Any]] = []

    def callInThreadWithCallback(self, onResult: Any, f: Any, *args: Any, **kw: Any) -> None:
        self.jobs.append((onResult, lambda: f(*args, **kw)))

    def run(self, index: int) -> Any:
        """
        Run job C{index} now; return what delivers its result.
        """
        onResult, job = self.jobs[index]
        result = job()
        return lambda: onResult(True, result)


class _ThreadlessReactor(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.pool = _ManualThreadPool()

    def getThreadPool(self) -> _ManualThreadPool:
        return self.pool

    def callFromThread(self, f: Any, *args: Any, **kw: Any) -> None:
        f(*args, **kw)


def test_lateReloadDoesNotUndoNewerOne(tmp_path: Path) -> None:
    """
    Two reloads under way at once (a SIGHUP during the periodic re-signing): if the one that
    read the files first finishes last, it does not replace the newer zones with older ones.
    """
    files = writeKeyFiles(ORIGIN, SigningKey.generate(), tmp_path)
    zonePath = writeZone(tmp_path)
    sources = [ZoneSource(ORIGIN, str(zonePath), (str(files.public),))]
    fake = _ThreadlessReactor()
    fake.advance(1_800_000_000)
    service = DNSServerService(sources, loadZones(sources), ["127.0.0.1"], 0, reactor=fake)
    results: list[bool] = []
    service.reload().addCallback(results.append)  # the re-signing: reads the old file
    deliverOld = fake.pool.run(0)
    zonePath.write_text(ZONE + "new IN A 127.0.0.9\n")
    service.reload().addCallback(results.append)  # the SIGHUP after the edit
    fake.pool.run(1)()
    deliverOld()
    assert results == [True, False]
    query = dns.message.make_query("new.zone.test.", "A")
    response = service.holder.responder.respond(query)
    assert response.answer[0][0].address == "127.0.0.9"


class ReloadKeepsAnsweringTests(TestCase):
    async def test_answersDuringReload(self) -> None:
        """
        While a reload reads and signs a large zone in its thread, queries keep being answered
        from the old zones.
        """
        directory = Path(tempfile.mkdtemp())
        files = writeKeyFiles(ORIGIN, SigningKey.generate(), directory)
        big = ZONE + "".join(f"host{i} IN A 10.0.{i // 256}.{i % 256}\n" for i in range(1500))
        zonePath = writeZone(directory, big)
        sources = [ZoneSource(ORIGIN, str(zonePath), (str(files.public),))]
        service = DNSServerService(sources, loadZones(sources), ["127.0.0.1"], 0)
        service.startService()
        self.addCleanup(service.stopService)
        port = service.ports[0].getHost().port  # type: ignore[attr-defined]
        reloading = service.reload()
        query = dns.message.make_query("host7.zone.test.", "A")
        response = await deferToThread(dns.query.udp, query, "127.0.0.1", port=port, timeout=5)
        self.assertFalse(reloading.called, "the reload finished first: the test proves nothing")
        self.assertEqual(response.answer[0][0].address, "10.0.0.7")
        self.assertTrue(await reloading)


class TestKeygenCommand:
    def test_writesKeysAndPrintsDS(self, tmp_path: Path, capsys: Capture) -> None:
        """
        txdane keygen writes the two files and prints the DS for the parent, which matches
        the key written.
        """
        status = main(["keygen", "-d", str(tmp_path), "-a", "ed25519", "example.com"])
        assert status == ExitStatus.OK
        out = capsys.readouterr().out.splitlines()
        ds = dns.rrset.from_text_list("example.com.", 3600, "IN", "DS", [out[-1].split(" DS ")[1]])
        (public,) = tmp_path.glob("Kexample.com.+015+*.key")
        owner, key = readKeyFiles(public)
        assert owner == dns.name.from_text("example.com.")
        assert ds[0] == key.ds(owner)
        assert out[-1].startswith("example.com. 3600 IN DS ")

    def test_zoneSigningKeyHasNoDS(self, tmp_path: Path, capsys: Capture) -> None:
        assert main(["keygen", "--zsk", "-d", str(tmp_path), "example.com"]) == ExitStatus.OK
        assert " DS " not in capsys.readouterr().out
        (public,) = tmp_path.glob("*.key")
        assert readKeyFiles(public)[1].dnskey.flags == 256

    def test_keyTagCollisionKeepsTheOldKey(
        self, tmp_path: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """
        Key tags collide (16 bits): a new key whose files would have the names of a key
        already in the directory must not overwrite that key's private half (the zone's key
        would be lost). writeKeyFiles refuses, and keygen makes another key instead.
        """
        old = SigningKey.generate()
        files = writeKeyFiles(ORIGIN, old, tmp_path)
        before = (files.public.read_text(), files.private.read_text())
        with pytest.raises(FileExistsError):
            writeKeyFiles(ORIGIN, old, tmp_path)
        clash = SigningKey.generate()
        monkeypatch.setattr("txdane.server.keys.keyFilePrefix", lambda zone, key: files.public.stem)
        with pytest.raises(FileExistsError):
            writeKeyFiles(ORIGIN, clash, tmp_path)
        assert (files.public.read_text(), files.private.read_text()) == before
        monkeypatch.undo()
        made = iter([old, SigningKey.generate()])
        monkeypatch.setattr("txdane.cli.keygen.SigningKey.generate", lambda *args: next(made))
        assert main(["keygen", "-d", str(tmp_path), "zone.test"]) == ExitStatus.OK
        assert (files.public.read_text(), files.private.read_text()) == before
        assert len(list(tmp_path.glob("*.private"))) == 2

    def test_makesTheDirectory(self, tmp_path: Path, capsys: Capture) -> None:
        """
        -d names a directory that need not exist yet: keygen makes it, parents included.
        """
        keys = tmp_path / "zones" / "keys"
        assert main(["keygen", "-d", str(keys), "example.com"]) == ExitStatus.OK
        assert len(list(keys.glob("Kexample.com.+013+*.private"))) == 1
        assert f"in {keys}/Kexample.com.+013+" in capsys.readouterr().out

    def test_usageErrors(self, tmp_path: Path, capsys: Capture) -> None:
        assert main(["keygen", "-a", "RSASHA1", "example.com"]) == ExitStatus.USAGE
        (tmp_path / "file").write_text("")
        assert main(["keygen", "-d", str(tmp_path / "file"), "example.com"]) == ExitStatus.USAGE
        assert "file: not a directory" in capsys.readouterr().err
        (tmp_path / "file").unlink()
        assert main(["keygen", "--ttl", "-1", "-d", str(tmp_path), "example.com"]) == 2
        assert "--ttl: '-1' is not in 0-2147483647" in capsys.readouterr().err
        assert not list(tmp_path.iterdir())


def test_moduleEntryPointRejectsBadZone(tmp_path: Path) -> None:
    """
    python -m txdane.server stops with the file, line and reason, and status 2.
    """
    bad = writeZone(tmp_path, ZONE.replace("127.0.0.1", "127.0.0"))
    result = subprocess.run(
        [sys.executable, "-m", "txdane.server", "--zone", f"zone.test.={bad}", "-p", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{bad}:5: " in result.stderr


def _runServer(*argv: str) -> subprocess.CompletedProcess[str]:
    """
    Run C{python -m txdane.server ARGV...} to its end.
    """
    return subprocess.run(
        [sys.executable, "-m", "txdane.server", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def test_moduleEntryPointCannotListen(tmp_path: Path) -> None:
    """
    python -m txdane.server that cannot listen (an address not on this host, a port in use)
    says so in one line and exits with status 1, without a traceback.
    """
    zone = writeZone(tmp_path)
    result = _runServer("--zone", f"zone.test.={zone}", "--interface", "192.0.2.1", "-p", "0")
    assert result.returncode == 1
    assert result.stderr == (
        "txdane-dns: cannot listen on 192.0.2.1 port 0: cannot assign requested address\n"
    )


@pytest.mark.parametrize("daemon", [False, True], ids=["foreground", "daemon"])
def test_twistdCannotListen(tmp_path: Path, daemon: bool) -> None:
    """
    twistd txdane-dns on a port already taken says so in one line in its log, and exits with
    status 1, without a traceback and without leaving its PID file; run as a daemon, the
    process that started it says it too.
    """
    zone = writeZone(tmp_path)
    pidfile = tmp_path / "twistd.pid"
    log = tmp_path / "twistd.log"
    twistd = str(Path(sys.executable).parent / "twistd")
    mode = ["--logfile", str(log)] if daemon else ["-n"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [twistd, *mode, "--pidfile", str(pidfile), "txdane-dns"]
        argv += ["--zone", f"zone.test.={zone}", "--interface", "127.0.0.1", "--port", str(port)]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
        said = f"cannot listen on 127.0.0.1 port {port}: address already in use"
        if daemon:
            # The daemon tells the command it failed before it has finished exiting (logging
            # why, removing its PID file): wait for that, and stop one that lingers.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                pidfile.exists() or not log.exists() or said not in log.read_text()
            ):
                time.sleep(0.05)
            if pidfile.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pidfile.read_text()), signal.SIGTERM)
    logged = log.read_text() if daemon else result.stdout
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in logged + result.stderr
    mentions = [line for line in logged.splitlines() if "cannot listen" in line]
    assert len(mentions) == 1 and mentions[0].endswith(f"[stderr#error] {said}"), logged
    if daemon:
        assert said in result.stderr
    else:
        assert result.stderr == ""
    assert not pidfile.exists()


def _privilegedPort() -> int:
    """
    A free TCP and UDP port below 1024 on 127.0.0.1, which only a privileged process may
    listen on.
    """
    for port in range(1023, 600, -1):
        try:
            with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port below 1024")


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="needs root, to give up for --uid (CI runs the suite as root)",
)
def test_twistdGivesUpPrivileges(tmp_path: Path) -> None:
    """
    C{twistd --uid nobody txdane-dns} opens its port below 1024 while it still may, then
    answers as C{nobody}: the ports are opened before the privileges are given up.
    """
    zone = writeZone(tmp_path)
    tmp_path.chmod(0o755)
    port = _privilegedPort()
    twistd = str(Path(sys.executable).parent / "twistd")
    argv = [twistd, "-n", "--pidfile", "", "--uid", "nobody", "--gid", "nogroup", "txdane-dns"]
    argv += ["--zone", f"zone.test.={zone}", "--interface", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        query = dns.message.make_query("zone.test.", "SOA")
        answer = None
        deadline = time.monotonic() + 30
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            with contextlib.suppress(dns.exception.Timeout, OSError):
                answer = dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5)
        assert answer is not None, "no answer"
        assert answer.rcode() == dns.rcode.NOERROR and answer.answer
        owner = Path(f"/proc/{server.pid}/status").read_text()
        uid = next(line for line in owner.splitlines() if line.startswith("Uid:"))
        assert uid.split()[1:] == ["65534"] * 4, uid
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Traceback" not in output, output


def test_moduleEntryPointZoneTwice(tmp_path: Path) -> None:
    """
    The same zone given twice (its origin written with and without the final dot) is a
    usage error, one line and exit status 2, not a traceback from loading it twice.
    """
    zone = writeZone(tmp_path)
    result = _runServer("--zone", f"zone.test={zone}", "--zone", f"zone.test.={zone}", "-p", "0")
    assert result.returncode == 2
    assert result.stderr == "txdane-dns: --zone zone.test. is given twice\n"


def test_moduleEntryPointLogs(tmp_path: Path) -> None:
    """
    In the foreground without twistd, the server's log goes to standard error: a reload that
    fails (here on SIGHUP, the zone file broken meanwhile) is said, and the old zones kept.
    """
    import signal
    import threading
    import time

    import dns.message
    import dns.query

    from tests.unbound import freePort

    zone = writeZone(tmp_path)
    port = freePort()
    argv = ["--zone", f"zone.test.={zone}", "--interface", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(
        [sys.executable, "-m", "txdane.server", *argv],
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        query = dns.message.make_query("zone.test.", "SOA")
        while True:  # until it answers: its SIGHUP handler is in place by then
            try:
                dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5)
                break
            except Exception:
                assert time.monotonic() < deadline and process.poll() is None, lines
        Path(zone).write_text(Path(zone).read_text() + "broken !!!\n")
        process.send_signal(signal.SIGHUP)
        while not any("reload failed" in line for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
        # The previous zones are still served.
        assert dns.query.udp(query, "127.0.0.1", port=port, timeout=5).answer
    finally:
        process.terminate()
        process.wait(30)
    assert any("reload failed, still serving the previous zones" in line for line in lines)


class PreSignedZoneTests(TestCase):
    """
    A zone signed elsewhere (here by ldns-signzone, NSEC3) is served as it is, and its
    answers validate.
    """

    def test_servedAsIs(self) -> None:
        signer = requireProgram("ldns-signzone")
        directory = Path(tempfile.mkdtemp())
        files = writeKeyFiles(ORIGIN, SigningKey.generate(), directory)
        zone = writeZone(directory, ZONE + '*.wild IN TXT "w"\n')
        prefix = str(files.public)[: -len(".key")]
        subprocess.run(
            [signer, "-n", "-t", "0", str(zone), prefix],
            check=True,
            capture_output=True,
        )
        signed = Path(f"{zone}.signed")
        (index,) = loadZones([ZoneSource(ORIGIN, str(signed))])
        assert index.nsec3 is not None
        assert index.nsec3.iterations == 0

        from tests.validation.fakes import EngineQuerier
        from txdane.status import Status
        from txdane.validation import Answer, TrustAnchors, ValidatingResolver

        _, key = readKeyFiles(files.public)
        anchor = dns.rrset.from_rdata(ORIGIN, 3600, key.ds(ORIGIN))
        resolver = ValidatingResolver(
            EngineQuerier(Responder(ZoneStore([index]))),
            trustAnchors=TrustAnchors.fromRRsets([anchor]),
        )
        for name, rdtype, rcode in (
            ("_443._tcp.www.zone.test.", "TLSA", dns.rcode.NOERROR),
            ("nx.zone.test.", "A", dns.rcode.NXDOMAIN),
            ("ns1.zone.test.", "TXT", dns.rcode.NOERROR),
            ("x.wild.zone.test.", "TXT", dns.rcode.NOERROR),
        ):
            results: list[object] = []
            resolver.lookup(name, rdtype).addBoth(results.append)
            (answer,) = results
            assert isinstance(answer, Answer), answer
            self.assertIs(answer.status, Status.SECURE, str(answer))
            self.assertEqual(answer.rcode, rcode)

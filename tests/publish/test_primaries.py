"""
L{txdane.publish} and C{txdane publish} against real primaries on loopback: BIND's C{named}
(inline signing) and Knot DNS's C{knotd} (automatic signing), each accepting updates signed
with a TSIG key of its own tool's key file format.

After each update the primary is asked for the RRset with DNSSEC records, and its RRSIG is
checked with the zone's DNSKEY. L{_DelegatedTests} goes further: the primary's zone is delegated
from the test hierarchy (NS and DS in C{test.}), and what it signs after updates validates as
secure from the hierarchy's root anchor, through a validating Unbound, for txdane and Unbound.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import dns.dnssec
import dns.name
import dns.rdatatype
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

import txdane.publish
from tests.dane.certs import issue
from tests.peers.primary import ORIGIN, BindPrimary, KnotPrimary, Primary
from txdane.dane.tlsa import TLSARecord, recordForCertificate
from txdane.publish import (
    PrerequisiteFailedError,
    TSIGKey,
    TSIGRejectedError,
    UpdateRejectedError,
    publishRecords,
    publishTLSA,
)

pytestmark = pytest.mark.interop

OWNER = f"_443._tcp.www.{ORIGIN}"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test\n"


class _Text:
    """
    Record data given as text, for L{Primary.waitForSigned}.
    """

    def __init__(self, text: str) -> None:
        self.text = text

    def to_text(self) -> str:
        return self.text


def record() -> TLSARecord:
    return recordForCertificate(issue(f"www.{ORIGIN}").cert)


class _PrimaryTests:
    """
    The cases, for the primary of L{primaryType}.
    """

    primaryType: ClassVar[type[Primary]]
    primary: Primary

    def setUp(self) -> None:
        self.primary = self.primaryType()
        self.primary.start()
        self.addCleanup(deferToThread, self.primary.cleanUp)  # type: ignore[attr-defined]

    async def signed(self, name: str, rdtype: str, records: list[Any]) -> Any:
        return await deferToThread(
            self.primary.waitForSigned, name, rdtype, {r.to_text() for r in records}
        )

    async def test_publishAndReplace(self) -> None:
        """
        The first update publishes one record in the zone found by SOA; the second replaces
        it with two (current and next); each RRset is then served signed.
        """
        current, following = record(), record()
        result = await publishTLSA(
            reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [current], ttl=2
        )
        assert result.zone == dns.name.from_text(ORIGIN)
        assert result.previous is None and result.changed
        await self.signed(OWNER, "TLSA", [current.toRdata()])
        result = await publishTLSA(
            reactor,
            self.primary.server,
            self.primary.key,
            f"www.{ORIGIN}",
            443,
            [current, following],
            zone=ORIGIN,
            ttl=2,
        )
        assert result.previous is not None
        assert {r.to_text() for r in result.previous} == {current.toRdata().to_text()}
        await self.signed(OWNER, "TLSA", [current.toRdata(), following.toRdata()])

    async def test_wrongSecret(self) -> None:
        """
        An update signed with a wrong secret is refused (BADSIG) and changes nothing.
        """
        first = record()
        await publishTLSA(
            reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [first]
        )
        wrong = TSIGKey(self.primary.key.name, "hmac-sha256", os.urandom(32))
        with pytest.raises(TSIGRejectedError) as raised:
            await publishTLSA(reactor, self.primary.server, wrong, f"www.{ORIGIN}", 443, [record()])
        assert raised.value.rcode == "BADSIG"
        await self.signed(OWNER, "TLSA", [first.toRdata()])

    async def test_badTime(self) -> None:
        """
        An update signed an hour ago (this machine's clock wrong) is refused with BADTIME, and
        nothing changes.
        """
        import time
        from types import SimpleNamespace

        import dns.message

        first = record()
        await publishTLSA(
            reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [first]
        )
        late = SimpleNamespace(time=lambda: time.time() - 3600)
        self.patch(dns.message, "time", late)  # type: ignore[attr-defined]
        with pytest.raises(TSIGRejectedError) as raised:
            await publishTLSA(
                reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [record()]
            )
        assert raised.value.rcode == "BADTIME"
        assert "clocks" in str(raised.value)
        await self.signed(OWNER, "TLSA", [first.toRdata()])

    async def test_keyNotAllowed(self) -> None:
        """
        A key the server knows but whose policy does not let it update the zone is refused
        (BIND answers REFUSED; Knot BADKEY, as for a key it does not know), and nothing
        changes.
        """
        first = record()
        await publishTLSA(
            reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [first]
        )
        with pytest.raises(UpdateRejectedError) as raised:
            await publishTLSA(
                reactor, self.primary.server, self.primary.otherKey, f"www.{ORIGIN}", 443,
                [record()], zone=ORIGIN,
            )  # fmt: skip
        assert raised.value.rcode == ("REFUSED" if self.primaryType is BindPrimary else "BADKEY"), (
            raised.value
        )
        await self.signed(OWNER, "TLSA", [first.toRdata()])

    async def test_prerequisiteConflict(self) -> None:
        """
        When the RRset changes between the read and the update (another writer), the update
        fails with NXRRSET and the other writer's record stays.
        """
        first = record()
        await publishTLSA(
            reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [first]
        )
        other = record()
        read = txdane.publish.readRRset

        async def readThenRace(*args: Any, **kwargs: Any) -> Any:
            seen = await read(*args, **kwargs)
            await deferToThread(self.primary.forceUpdate, OWNER, "TLSA", other.toRdata().to_text())
            return seen

        self.patch(txdane.publish, "readRRset", readThenRace)  # type: ignore[attr-defined]
        with pytest.raises(PrerequisiteFailedError) as raised:
            await publishTLSA(
                reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [record()]
            )
        assert raised.value.rcode == "NXRRSET"
        await self.signed(OWNER, "TLSA", [other.toRdata()])

    async def test_aliasRefused(self) -> None:
        """
        A CNAME at the TLSA name: the server would ignore the records added beside it and
        answer NOERROR (RFC 2136 section 3.4.2.2), so the alias is refused when the RRset is
        read, saying so, and nothing is changed.
        """
        target = f"_443._tcp.other.{ORIGIN}"
        await deferToThread(self.primary.forceUpdate, OWNER, "CNAME", target)
        await self.signed(OWNER, "CNAME", [_Text(target)])
        with pytest.raises(UpdateRejectedError) as raised:
            await publishTLSA(
                reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [record()]
            )
        assert f"{OWNER} is an alias (CNAME to {target})" in str(raised.value)
        assert "RFC 2136 section 3.4.2.2" in str(raised.value)
        await self.signed(OWNER, "CNAME", [_Text(target)])

    async def test_wildcardCoversTheName(self) -> None:
        """
        A wildcard TLSA RRset covering the name (C{*._tcp.www}) is not the name's own: the
        update's prerequisite is that the name has none (prerequisites never match wildcards,
        RFC 2136 section 3.2.5), and the records are published at the name.
        """
        wildcard = f"*._tcp.www.{ORIGIN}"
        zeros = "3 1 1 " + "00" * 32
        await deferToThread(self.primary.forceUpdate, wildcard, "TLSA", zeros)
        await self.signed(wildcard, "TLSA", [_Text(zeros)])
        first = record()
        result = await publishTLSA(
            reactor, self.primary.server, self.primary.key, f"www.{ORIGIN}", 443, [first], ttl=2
        )
        assert result.previous is None
        await self.signed(OWNER, "TLSA", [first.toRdata()])
        await self.signed(wildcard, "TLSA", [_Text(zeros)])

    async def test_sshfp(self) -> None:
        """
        SSHFP records of an OpenSSH public key are published at the host name.
        """
        from txdane.cli.publish import sshfpRecords

        path = Path(self.primary.directory) / "host.pub"
        path.write_text(SSH_KEY)
        records = sshfpRecords([path])
        assert {r.rdtype for r in records} == {dns.rdatatype.SSHFP}
        await publishRecords(
            reactor,
            self.primary.server,
            self.primary.key,
            dns.name.from_text(f"www.{ORIGIN}"),
            records,
        )
        await self.signed(f"www.{ORIGIN}", "SSHFP", records)

    async def test_sshfpCommand(self) -> None:
        """
        C{txdane publish HOST --sshfp KEY.pub} publishes the key's SHA-1 and SHA-256 records.
        """
        path = Path(self.primary.directory) / "host.pub"
        path.write_text(SSH_KEY)
        command = [
            sys.executable, "-m", "txdane", "publish", f"ssh.{ORIGIN}", "--sshfp", str(path),
            "--server", f"127.0.0.1#{self.primary.port}", "--tsig-key",
            str(self.primary.keyFile), "--zone", ORIGIN, "--json",
        ]  # fmt: skip
        done = await deferToThread(subprocess.run, command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["type"] == "SSHFP" and report["owner"] == f"ssh.{ORIGIN}"
        assert [r.split()[:2] for r in report["records"]] == [["4", "1"], ["4", "2"]]
        await self.signed(f"ssh.{ORIGIN}", "SSHFP", [_Text(r) for r in report["records"]])

    async def test_command(self) -> None:
        """
        C{txdane publish} reads the key file the server's own tool writes, publishes, waits
        for the validating resolver (the primary itself, with its DNSKEY as trust anchor) to
        see the records secure, and exits 8 with one line for a key the server does not know.
        """
        issued = issue(f"www.{ORIGIN}")
        cert = Path(self.primary.directory) / "cert.pem"
        cert.write_bytes(issued.certPEM())
        command = [
            sys.executable,
            "-m",
            "txdane",
            "publish",
            f"www.{ORIGIN.rstrip('.')}",
            "443",
            "--cert",
            str(cert),
            "--server",
            f"127.0.0.1#{self.primary.port}",
            "--tsig-key",
            str(self.primary.keyFile),
            "--ttl",
            "2",
            "--timeout",
            "5",
            "--state",
            str(Path(self.primary.directory) / "ready.json"),
        ]
        done = await deferToThread(subprocess.run, command, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "published in zone pub.test." in done.stdout
        assert not (Path(self.primary.directory) / "ready.json").exists()
        rdata = recordForCertificate(issued.cert).toRdata()
        await self.signed(OWNER, "TLSA", [rdata])
        keys = await deferToThread(self.primary.dnskey)
        assert keys is not None
        anchor = Path(self.primary.directory) / "anchor"
        anchor.write_text(keys.to_text() + "\n")
        waiting = [
            *command, "--wait", "10", "--json", "--resolver", f"127.0.0.1#{self.primary.port}",
            "--trust-anchor", str(anchor),
        ]  # fmt: skip
        before = time.time()
        done = await deferToThread(subprocess.run, waiting, capture_output=True, text=True)
        after = time.time()
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["seen_secure"] is True and report["changed"] is False
        assert report["records"] == report["previous"] == [rdata.to_text()]
        # The TTL of the RRset replaced is kept for the rollover gate, with when it was
        # replaced.
        assert report["previous_ttl"] == 2
        state = json.loads((Path(self.primary.directory) / "ready.json").read_text())
        [(name, ttls)] = state.pop("largest_ttl").items()
        assert state == {} and name == OWNER and list(ttls) == ["2"]
        assert before <= ttls["2"] <= after
        assert "last_seen" not in report
        # With a trust anchor the zone is not signed by, the records are never seen secure:
        # exit 10, and the report says what was seen last.
        stranger = dns.dnssec.make_dnskey(
            ec.generate_private_key(ec.SECP256R1()).public_key(), "ECDSAP256SHA256", flags=257
        )
        anchor.write_text(f"{ORIGIN} 2 IN DNSKEY {stranger.to_text()}\n")
        waiting[waiting.index("--wait") + 1] = "1"
        done = await deferToThread(subprocess.run, waiting, capture_output=True, text=True)
        assert done.returncode == 10, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert report["seen_secure"] is False
        assert report["last_seen"].startswith(
            "bogus, 1 record(s), the new ones: no DNSKEY of pub.test. matches its trust anchor"
        ), report
        waiting.remove("--json")
        done = await deferToThread(subprocess.run, waiting, capture_output=True, text=True)
        assert done.returncode == 10, done.stdout + done.stderr
        assert (
            "  the validating resolver did not see the new records secure within 1 s: bogus, 1"
            " record(s), the new ones: no DNSKEY of pub.test. matches its trust anchor"
        ) in done.stdout, done.stdout
        other = Path(self.primary.directory) / "other.key"
        other.write_text(
            'key "unknown." { algorithm hmac-sha256; secret "'
            'EIgbzExr622/fmdbjf/OzDklYI8JVL6+UQIawzfFA7c="; };\n'
        )
        command[command.index("--tsig-key") + 1] = str(other)
        done = await deferToThread(subprocess.run, command, capture_output=True, text=True)
        assert done.returncode == 8, done.stderr
        assert done.stderr.count("\n") == 1 and "BADKEY" in done.stderr, done.stderr


class BindTests(_PrimaryTests, TestCase):
    primaryType = BindPrimary


class KnotTests(_PrimaryTests, TestCase):
    primaryType = KnotPrimary


class _RolloverTests:
    """
    A key rollover as RFC 7671 section 8.1 has it ("current + next"), scripted against a
    primary, with a DANE client (C{txdane check}) connecting at every step.
    """

    primaryType: ClassVar[type[Primary]]

    async def test_rollover(self) -> None:
        """
        Current record published; next published beside it; the gate is closed until the TTL
        (2 s) has passed, then open; the server switches to the next certificate; the old
        record is removed. The client verifies the server at every step.
        """
        from twisted.internet.task import deferLater
        from twisted.protocols.tls import TLSMemoryBIOFactory

        from tests.cli.world import parse
        from tests.endpoints.world import serverOptions, startTLSServer
        from txdane.cli import check
        from txdane.transport import DNSClient
        from txdane.validation import TrustAnchors, ValidatingResolver

        primary = self.primaryType()
        primary.start()
        self.addCleanup(deferToThread, primary.cleanUp)  # type: ignore[attr-defined]
        current, following = issue(f"www.{ORIGIN}"), issue(f"www.{ORIGIN}")
        server = startTLSServer(current, interfaces=("127.0.0.1",))
        listening: Any = server.ports[0]
        self.addCleanup(  # type: ignore[attr-defined]
            lambda: listening.stopListening() if listening.connected else None
        )
        port = server.port
        owner = f"_{port}._tcp.www.{ORIGIN}"
        nextPath = primary.directory / "next.pem"
        nextPath.write_bytes(following.certPEM())
        statePath = primary.directory / "state.json"
        keys = await deferToThread(primary.dnskey)
        assert keys is not None

        def resolver() -> ValidatingResolver:
            client = DNSClient(reactor, [f"127.0.0.1#{primary.port}"], timeout=2, attempts=1)
            return ValidatingResolver(
                client, trustAnchors=TrustAnchors.fromRRsets([keys]), clock=reactor
            )

        async def run(*argv: str) -> tuple[int, str]:
            out = io.StringIO()
            status = await check.execute(reactor, resolver(), parse("check", *argv), out)
            return status, out.getvalue()

        async def connect() -> None:
            status, output = await run(f"www.{ORIGIN}", str(port))
            assert status == 0, output

        async def gate() -> int:
            status, output = await run(
                f"www.{ORIGIN}",
                str(port),
                "--ready",
                str(nextPath),
                "--state",
                str(statePath),
                "--authority-port",
                str(primary.port),
                "--json",
            )
            report = json.loads(output)
            assert report["ready"] is (status == 0)
            assert bool(report["missing"]) is (status != 0)
            return status

        async def publish(*certs: Any) -> None:
            records = [recordForCertificate(c.cert) for c in certs]
            await publishTLSA(
                reactor, primary.server, primary.key, f"www.{ORIGIN}", port, records, ttl=2
            )
            await deferToThread(
                primary.waitForSigned, owner, "TLSA", {r.toRdata().to_text() for r in records}
            )

        await publish(current)
        await connect()
        assert await gate() == 10
        await publish(current, following)
        await connect()
        assert await gate() == 10
        await deferLater(reactor, 2.2, lambda: None)
        assert await gate() == 0
        await listening.stopListening()
        switched = reactor.listenTCP(
            port,
            TLSMemoryBIOFactory(serverOptions(following), False, server.factory),  # type: ignore[arg-type]
            interface="127.0.0.1",
        )
        self.addCleanup(switched.stopListening)  # type: ignore[attr-defined]
        await connect()
        await publish(following)
        await connect()


class BindRolloverTests(_RolloverTests, TestCase):
    primaryType = BindPrimary


class KnotRolloverTests(_RolloverTests, TestCase):
    primaryType = KnotPrimary


class _RolloverScriptTests:
    """
    docs/examples/dane-rollover.sh, as certbot's deploy hook, against a primary.
    """

    primaryType: ClassVar[type[Primary]]

    async def test_script(self) -> None:
        """
        Run after a renewal, the script publishes current + next and keeps the current
        certificate (the gate is closed); run by the timer every second, it keeps it until the
        TTL has passed since the record was first seen everywhere, then switches, reloads, and
        leaves only the next record.
        """
        from twisted.internet.task import deferLater

        primary = self.primaryType()
        primary.start()
        self.addCleanup(deferToThread, primary.cleanUp)  # type: ignore[attr-defined]
        directory = primary.directory / "dane"
        lineage = primary.directory / "live"
        directory.mkdir()
        lineage.mkdir()
        current, following = issue(f"www.{ORIGIN}"), issue(f"www.{ORIGIN}")
        (directory / "current.pem").write_bytes(current.certPEM())
        (directory / "current.key").write_bytes(current.keyPEM())
        (lineage / "fullchain.pem").write_bytes(following.certPEM())
        (lineage / "privkey.pem").write_bytes(following.keyPEM())
        keys = await deferToThread(primary.dnskey)
        assert keys is not None
        (primary.directory / "anchor").write_text(keys.to_text() + "\n")
        environment = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DANE_HOST": f"www.{ORIGIN}",
            "DANE_PORT": "443",
            "DANE_SERVER": f"127.0.0.1#{primary.port}",
            "DANE_TSIG_KEY": str(primary.keyFile),
            "DANE_DIR": str(directory),
            "DANE_TTL": "2",
            "DANE_RELOAD": f"touch {directory / 'reloaded'}",
            "DANE_CHECK_OPTIONS": f"--resolver 127.0.0.1#{primary.port} --trust-anchor "
            f"{primary.directory / 'anchor'} --authority-port {primary.port}",
        }
        script = Path(__file__).parent.parent.parent / "docs" / "examples" / "dane-rollover.sh"

        async def run(**extra: str) -> subprocess.CompletedProcess[str]:
            done: subprocess.CompletedProcess[str] = await deferToThread(
                subprocess.run,
                ["sh", str(script)],
                env={**environment, **extra},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            return done

        def rdata(*issued: Any) -> set[str]:
            return {recordForCertificate(i.cert).toRdata().to_text() for i in issued}

        done = await run(RENEWED_LINEAGE=str(lineage))
        assert "keeps its current certificate" in done.stderr
        assert (directory / "current.pem").read_bytes() == current.certPEM()
        assert not (directory / "reloaded").exists()
        await deferToThread(primary.waitForSigned, OWNER, "TLSA", rdata(current, following))
        for _ in range(10):
            await deferLater(reactor, 1, lambda: None)
            done = await run()
            if (directory / "reloaded").exists():
                break
            assert (directory / "current.pem").read_bytes() == current.certPEM()
        assert (directory / "reloaded").exists(), done.stdout + done.stderr
        assert (directory / "current.pem").read_bytes() == following.certPEM()
        assert not (directory / "next.pem").exists()
        await deferToThread(primary.waitForSigned, OWNER, "TLSA", rdata(following))


class BindRolloverScriptTests(_RolloverScriptTests, TestCase):
    primaryType = BindPrimary


class KnotRolloverScriptTests(_RolloverScriptTests, TestCase):
    primaryType = KnotPrimary


class _DelegatedTests:
    """
    The primary's zone delegated from the test hierarchy (NS and DS records in C{test.}), with
    a validating Unbound in front of both: what the primary signs after an update validates as
    secure from the hierarchy's root anchor, for txdane's validator and for Unbound.
    """

    primaryType: ClassVar[type[Primary]]

    async def test_secureThroughDelegation(self) -> None:
        """
        SSHFP records published with the Python API and TLSA records published with
        C{txdane publish --wait} (which waits for the validating resolver to see them secure
        through the delegation) are secure, and so is the primary's proof that a name does not
        exist. (The SSHFP records go first: Unbound may answer a later question for their owner
        from an NSEC record it keeps from the TLSA lookups, RFC 8198.)
        """
        import dns.dnssec
        import dns.rcode

        from tests.unbound import startUnbound, unboundVerdict
        from txdane.cli.publish import sshfpRecords
        from txdane.status import Status
        from txdane.testing import buildHierarchy
        from txdane.transport import DNSClient
        from txdane.validation import TrustAnchors, ValidatingResolver

        primary = self.primaryType()
        primary.start()
        self.addCleanup(deferToThread, primary.cleanUp)  # type: ignore[attr-defined]
        keys = await deferToThread(primary.dnskey)
        assert keys is not None
        digests = [dns.dnssec.make_ds(ORIGIN, k, "SHA256") for k in keys if k.flags & 0x0001]
        assert digests, keys
        hierarchy = buildHierarchy(
            extraRecords={
                "test.": [
                    "pub 300 IN NS ns1.test.",
                    *(f"pub 300 IN DS {d.to_text()}" for d in digests),
                ]
            }
        )
        server = await hierarchy.serve(reactor)
        self.addCleanup(server.stop)  # type: ignore[attr-defined]
        unbound = startUnbound(
            self, hierarchy, server.port, stubs={ORIGIN: f"127.0.0.1@{primary.port}"}
        )
        anchor = primary.directory / "root-anchor"
        anchor.write_text(hierarchy.trustAnchorText())

        path = primary.directory / "host.pub"
        path.write_text(SSH_KEY)
        sshfp = sshfpRecords([path])
        await publishRecords(
            reactor, primary.server, primary.key, dns.name.from_text(f"www.{ORIGIN}"), sshfp
        )
        await deferToThread(
            primary.waitForSigned, f"www.{ORIGIN}", "SSHFP", {r.to_text() for r in sshfp}
        )

        current, following = issue(f"www.{ORIGIN}"), issue(f"www.{ORIGIN}")
        (primary.directory / "current.pem").write_bytes(current.certPEM())
        (primary.directory / "next.pem").write_bytes(following.certPEM())
        command = [
            sys.executable, "-m", "txdane", "publish", f"www.{ORIGIN}", "443",
            "--cert", str(primary.directory / "current.pem"),
            "--cert", str(primary.directory / "next.pem"),
            "--server", f"127.0.0.1#{primary.port}", "--tsig-key", str(primary.keyFile),
            "--ttl", "2", "--timeout", "5", "--wait", "20", "--json",
            "--resolver", f"127.0.0.1#{unbound.port}", "--trust-anchor", str(anchor),
        ]  # fmt: skip
        done = await deferToThread(subprocess.run, command, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        assert json.loads(done.stdout)["seen_secure"] is True
        tlsa = {recordForCertificate(i.cert).toRdata().to_text() for i in (current, following)}

        client = DNSClient(reactor, [f"127.0.0.1#{unbound.port}"], timeout=2, attempts=2)
        resolver = ValidatingResolver(
            client, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]), clock=reactor
        )
        zones = [dns.name.root, dns.name.from_text("test."), dns.name.from_text(ORIGIN)]
        for name, rdtype, expected in [
            (OWNER, "TLSA", tlsa),
            (f"www.{ORIGIN}", "SSHFP", {r.to_text() for r in sshfp}),
        ]:
            answer = await resolver.lookup(name, rdtype)
            assert answer.status is Status.SECURE, answer.reason
            assert {r.to_text() for r in answer.records} == expected
            assert [z.zone for z in answer.trustChain] == zones
            response = await deferToThread(unbound.ask, name, rdtype)
            assert unboundVerdict(response) is Status.SECURE, response
        missing = await resolver.lookup(f"nothing.{ORIGIN}", "A")
        assert missing.status is Status.SECURE and missing.rcode == dns.rcode.NXDOMAIN


class BindDelegatedTests(_DelegatedTests, TestCase):
    primaryType = BindPrimary


class KnotDelegatedTests(_DelegatedTests, TestCase):
    primaryType = KnotPrimary

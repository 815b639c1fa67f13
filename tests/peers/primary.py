"""
Primary DNS servers that accept TSIG-signed dynamic updates and sign their zone, run
privately on a free port of 127.0.0.1 with their own configuration and directory: BIND's
C{named} (inline signing, C{dnssec-policy default}) and Knot DNS's C{knotd} (automatic
signing). Both run as root in the foreground and are stopped by the test.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
import time
from pathlib import Path

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.update

from tests.peers.common import Running, requireRoot, skipOrFail, waitForListening
from tests.support import requireProgram
from tests.unbound import freePort
from txdane.publish import TSIGKey
from txdane.resolvconf import NameServer

#: The zone the primaries serve.
ORIGIN = "pub.test."

#: Its records before any update (TTLs short, so that a rollover test waits little).
ZONE = f"""$ORIGIN {ORIGIN}
$TTL 2
@ IN SOA ns hostmaster 1 60 60 600 2
@ IN NS ns
ns IN A 127.0.0.1
www IN A 127.0.0.1
"""

#: The name of the TSIG key the primaries accept.
KEY_NAME = "publish-key."

#: The name of a TSIG key the primaries know but do not let update the zone.
OTHER_KEY_NAME = "other-key."


class Primary(Running):
    """
    A primary for L{ORIGIN} that accepts updates signed with L{key}.

    @ivar key: the TSIG key it accepts, written to C{keyFile} as its own tools write it.
    @ivar otherKey: a TSIG key it knows, but which may not update the zone.
    @ivar port: its UDP and TCP port on 127.0.0.1.
    """

    program = ""
    keyFile: Path

    def __init__(self) -> None:
        requireRoot(self.program)
        self.executable = requireProgram(self.program)
        self.directory = Path(tempfile.mkdtemp(prefix=f"txdane-{self.program}-"))
        self.port = freePort()
        self.key = TSIGKey(dns.name.from_text(KEY_NAME), "hmac-sha256", os.urandom(32))
        self.otherKey = TSIGKey(dns.name.from_text(OTHER_KEY_NAME), "hmac-sha256", os.urandom(32))
        self.process: subprocess.Popen[bytes] | None = None
        (self.directory / "zone").write_text(ZONE)

    @property
    def server(self) -> NameServer:
        return NameServer("127.0.0.1", self.port)

    @property
    def secret(self) -> str:
        return base64.b64encode(self.key.secret).decode()

    @staticmethod
    def _b64(key: TSIGKey) -> str:
        return base64.b64encode(key.secret).decode()

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, attempts: int = 3) -> None:
        """
        Start the server and wait until it serves its zone signed. A port found free a
        moment ago may be taken before the server binds it (then it exits): such a start is
        tried again on another port, up to C{attempts} times in all.
        """
        alive = lambda: self.process is not None and self.process.poll() is None  # noqa: E731
        for attempt in range(attempts):
            if attempt:
                self.port = freePort()
            with (self.directory / "log").open("ab") as log:
                self.process = subprocess.Popen(
                    self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.directory
                )
            if waitForListening("127.0.0.1", self.port, 15, alive):
                break
            self.stop()
        else:
            skipOrFail(f"{self.program} did not start: {self.log()[-2000:]}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.dnskey() is not None:
                    return
            except (OSError, dns.exception.DNSException):
                pass
            time.sleep(0.1)
        self.stop()
        skipOrFail(f"{self.program} did not sign {ORIGIN}: {self.log()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        path = self.directory / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def query(self, name: str, rdtype: str) -> dns.message.Message:
        """
        Ask the primary over TCP, with DO.
        """
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        query.flags &= ~dns.flags.RD
        return dns.query.tcp(query, "127.0.0.1", timeout=5, port=self.port)

    def dnskey(self) -> dns.rrset.RRset | None:
        response = self.query(ORIGIN, "DNSKEY")
        return next((r for r in response.answer if r.rdtype == dns.rdatatype.DNSKEY), None)

    def signedRRset(self, name: str, rdtype: str) -> dns.rrset.RRset | None:
        """
        The RRset C{name}/C{rdtype} as served, after checking its RRSIG with the zone's
        DNSKEY (C{None} when there is none).

        @raise dns.dnssec.ValidationFailure: when no signature verifies.
        """
        response = self.query(name, rdtype)
        wanted = dns.rdatatype.from_text(rdtype)
        rrset = next((r for r in response.answer if r.rdtype == wanted), None)
        if rrset is None:
            return None
        sigs = next(r for r in response.answer if r.rdtype == dns.rdatatype.RRSIG)
        keys = self.dnskey()
        assert keys is not None
        dns.dnssec.validate(rrset, sigs, {dns.name.from_text(ORIGIN): keys})
        return rrset

    def waitForSigned(
        self, name: str, rdtype: str, texts: set[str], timeout: float = 10
    ) -> dns.rrset.RRset | None:
        """
        Wait until the RRset served, signed and verified, holds exactly C{texts} (none for an
        empty set); return it.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                rrset = self.signedRRset(name, rdtype)
                seen = {r.to_text() for r in rrset} if rrset is not None else set()
                if seen == texts:
                    return rrset
            except (dns.dnssec.ValidationFailure, StopIteration):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} {rdtype}: not {texts} after {timeout} s")
            time.sleep(0.1)

    def forceUpdate(self, name: str, rdtype: str, text: str) -> None:
        """
        Replace C{name}/C{rdtype} unconditionally (as a concurrent writer would).
        """
        update = dns.update.UpdateMessage(ORIGIN, keyring=self.key.toDNSPython())
        update.replace(name, 2, rdtype, text)
        response = dns.query.tcp(update, "127.0.0.1", timeout=5, port=self.port)
        assert response.rcode() == 0, response


class BindPrimary(Primary):
    """
    BIND 9's C{named} with inline signing.
    """

    program = "named"

    def command(self) -> list[str]:
        d = self.directory
        self.keyFile = d / "publish.key"
        self.keyFile.write_text(
            f'key "{KEY_NAME}" {{\n\talgorithm hmac-sha256;\n\tsecret "{self.secret}";\n}};\n'
        )
        (d / "named.conf").write_text(
            f"""options {{
    directory "{d}";
    listen-on port {self.port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    pid-file "{d}/named.pid";
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
include "{self.keyFile}";
key "{OTHER_KEY_NAME}" {{ algorithm hmac-sha256; secret "{self._b64(self.otherKey)}"; }};
zone "{ORIGIN}" {{
    type primary;
    file "{d}/zone";
    dnssec-policy default;
    inline-signing yes;
    key-directory "{d}";
    update-policy {{ grant {KEY_NAME} zonesub ANY; }};
}};
"""
        )
        return [self.executable, "-g", "-n", "1", "-u", "root", "-c", str(d / "named.conf")]


class KnotPrimary(Primary):
    """
    Knot DNS's C{knotd} with automatic signing.
    """

    program = "knotd"

    def command(self) -> list[str]:
        d = self.directory
        self.keyFile = d / "publish.key"
        self.keyFile.write_text(
            f"# hmac-sha256:{KEY_NAME}:{self.secret}\nkey:\n  - id: {KEY_NAME}\n"
            f"    algorithm: hmac-sha256\n    secret: {self.secret}\n"
        )
        (d / "knot.conf").write_text(
            f"""server:
    listen: 127.0.0.1@{self.port}
    rundir: {d}
    pidfile: {d}/knot.pid
    user: root:root
control:
    listen: {d}/knot.sock
log:
  - target: stderr
    any: info
database:
    storage: {d}
include: {self.keyFile}
key:
  - id: {OTHER_KEY_NAME}
    algorithm: hmac-sha256
    secret: {self._b64(self.otherKey)}
acl:
  - id: update
    key: {KEY_NAME}
    action: update
template:
  - id: default
    storage: {d}
zone:
  - domain: {ORIGIN}
    file: zone
    dnssec-signing: on
    acl: update
    zonefile-sync: -1
"""
        )
        return [self.executable, "-c", str(d / "knot.conf")]


__all__ = ["ORIGIN", "BindPrimary", "KnotPrimary", "Primary"]

"""
A real Unbound on loopback for the interoperability tests, resolving from txdane's DNS server
(one C{stub-zone} per zone of the test hierarchy), validating with the hierarchy's trust anchor
or not at all.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode

from txdane.status import Status
from txdane.testing import Hierarchy

from .support import requireProgram


def freePort() -> int:
    """
    A port on 127.0.0.1 that was free a moment ago for both UDP and TCP (a DNS server binds
    both, and exits when either is taken).
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def unboundConfig(
    directory: Path,
    hierarchy: Hierarchy,
    serverPort: int,
    port: int,
    *,
    validating: bool = True,
    interface: str = "127.0.0.1",
    stubs: Mapping[str, str] = {},
    autoTrustAnchorFile: Path | None = None,
    rootHints: Path | None = None,
    extra: Sequence[str] = (),
) -> Path:
    """
    Write an Unbound configuration listening on C{interface}:C{port} and asking txdane's
    server on C{serverPort} for every zone of C{hierarchy}; with the hierarchy's trust anchor
    when C{validating}, else with validation off (a plain recursive resolver).

    @param stubs: more zones and where to ask for them (C{"ADDR@PORT"}): zones delegated
        from the hierarchy to other servers.
    @param autoTrustAnchorFile: instead of the hierarchy's trust anchor, follow the root's
        rollovers (RFC 5011) with this C{auto-trust-anchor-file}.
    @param rootHints: resolve from these root hints instead (C{serverPort} is then unused:
        the hierarchy's servers are found by the hints and its delegations).
    @param extra: more lines for the C{server:} clause (a TLS listener, query logging).
    """
    lines = [
        "server:",
        "    verbosity: 0",
        f"    interface: {interface}",
        f"    port: {port}",
        "    do-ip6: no",
        "    use-syslog: no",
        '    logfile: ""',
        '    chroot: ""',
        '    username: ""',
        f'    directory: "{directory}"',
        '    pidfile: ""',
        "    do-not-query-localhost: no",
        '    local-zone: "test." nodefault',
        "    qname-minimisation: no",
        "    ede: yes",
    ]
    lines += [f"    {line}" for line in extra]
    if autoTrustAnchorFile is not None:
        lines.append(f'    auto-trust-anchor-file: "{autoTrustAnchorFile}"')
    elif validating:
        anchor = directory / "anchor.txt"
        anchor.write_text(hierarchy.trustAnchorText())
        lines.append(f'    trust-anchor-file: "{anchor}"')
    else:
        lines.append('    module-config: "iterator"')
    if rootHints is not None:
        lines.append(f'    root-hints: "{rootHints}"')
    lines += ["remote-control:", "    control-enable: no"]
    if rootHints is None:
        for origin in hierarchy.zones:
            lines += [
                "stub-zone:",
                f'    name: "{origin}"',
                f"    stub-addr: 127.0.0.1@{serverPort}",
            ]
    for stub, address in stubs.items():
        lines += ["stub-zone:", f'    name: "{stub}"', f"    stub-addr: {address}"]
    config = directory / ("validating.conf" if validating else "plain.conf")
    config.write_text("\n".join(lines) + "\n")
    return config


def unboundVerdict(response: dns.message.Message) -> Status:
    """
    What a validating Unbound's answer says: SERVFAIL is bogus, AD set is secure.
    """
    if response.rcode() == dns.rcode.SERVFAIL:
        return Status.BOGUS
    return Status.SECURE if response.flags & dns.flags.AD else Status.INSECURE


def answering(
    process: subprocess.Popen[bytes], address: str, port: int, timeout: float = 10
) -> bool:
    """
    Wait until the Unbound C{process} answers on C{address}:C{port} a question it answers
    itself (C{version.server} in class CH), for up to C{timeout} seconds; C{False} when it
    exits first or does not answer.
    """
    query = dns.message.make_query("version.server.", "TXT", "CH")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            dns.query.udp(query, address, port=port, timeout=0.2)
            return True
        except (dns.exception.Timeout, OSError):
            time.sleep(0.05)
    return False


@dataclass
class Unbound:
    """
    A running Unbound process.
    """

    process: subprocess.Popen[bytes]
    port: int

    def ask(self, name: str, rdtype: str) -> dns.message.Message:
        """
        Ask with DO set (blocking), retrying while Unbound starts up.
        """
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                return dns.query.udp(query, "127.0.0.1", port=self.port, timeout=2)
            except (dns.exception.Timeout, ConnectionRefusedError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise

    def ready(self, timeout: float = 10) -> bool:
        """
        Wait until Unbound answers (see L{answering}).
        """
        return answering(self.process, "127.0.0.1", self.port, timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def launchUnbound(
    testCase: Any, directory: Path, configFor: Callable[[int], Path], *, attempts: int = 3
) -> Unbound:
    """
    Start Unbound in the foreground with the configuration C{configFor(port)} writes for a free
    port, for the duration of C{testCase}; return once it answers on that port. A port that was
    free a moment ago can be taken before Unbound binds it (then Unbound exits): such a start
    is tried again on another port, up to C{attempts} times in all.

    @raise AssertionError: when Unbound does not start, with what it wrote.
    """
    program = requireProgram("unbound")
    log = directory / "unbound.log"
    for _ in range(attempts):
        port = freePort()
        config = configFor(port)
        with log.open("ab") as output:
            process = subprocess.Popen(
                [program, "-d", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        unbound = Unbound(process, port)
        if unbound.ready():
            testCase.addCleanup(unbound.stop)
            return unbound
        unbound.stop()
    raise AssertionError(f"Unbound did not start after {attempts} tries:\n{log.read_text()}")


def startUnbound(
    testCase: Any,
    hierarchy: Hierarchy,
    serverPort: int,
    *,
    validating: bool = True,
    stubs: Mapping[str, str] = {},
    autoTrustAnchorFile: Path | None = None,
    extra: Sequence[str] = (),
) -> Unbound:
    """
    Start Unbound in the foreground for the duration of C{testCase} (see L{unboundConfig}
    for the options), and wait until it answers.
    """
    directory = Path(tempfile.mkdtemp(prefix="txdane-unbound-"))

    def configFor(port: int) -> Path:
        return unboundConfig(
            directory,
            hierarchy,
            serverPort,
            port,
            validating=validating,
            stubs=stubs,
            autoTrustAnchorFile=autoTrustAnchorFile,
            extra=extra,
        )

    return launchUnbound(testCase, directory, configFor)

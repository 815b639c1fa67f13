"""
Run a program whose C library resolver asks a validating Unbound and trusts its AD bit: what
C{ssh -o VerifyHostKeyDNS=yes} needs to see the test hierarchy's SSHFP records as secure.

A private stand-in for the runner of C{tests/peers/resolver.py} (to be swapped for it): Unbound
validates with the hierarchy's trust anchor and listens on port 53 of a spare loopback address
(127.53.0.x); the program runs in a private mount namespace (C{unshare --mount}) where a
resolv.conf naming that address, with C{options edns0 trust-ad}, is bind-mounted over
C{/etc/resolv.conf}; C{RES_OPTIONS} says the same. Needs root; the host's files are untouched.
"""

from __future__ import annotations

import shlex
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThread
from twisted.internet.utils import getProcessOutputAndValue

from tests.support import requireProgram
from tests.unbound import unboundConfig
from txdane.testing import Hierarchy

from .sshd import requireRoot

#: What glibc needs to keep the AD bit of the resolver's answers.
RES_OPTIONS = "edns0 trust-ad"


def spareLoopbackAddress() -> str:
    """
    An address of 127.53.0.0/24 whose port 53 (UDP and TCP) is free.
    """
    for last in range(2, 255):
        address = f"127.53.0.{last}"
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind((address, 53))
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                tcp.bind((address, 53))
        except OSError:
            continue
        return address
    raise RuntimeError("no loopback address with a free port 53")


@dataclass
class ResolverNamespace:
    """
    A validating Unbound on port 53 of C{address}, and the resolv.conf naming it.
    """

    process: subprocess.Popen[bytes]
    address: str
    resolvConf: Path
    unshare: str

    def argv(self, program: str, *args: str) -> list[str]:
        """
        The command line running C{program args} with this resolver as the system's.
        """
        script = f"mount --bind {shlex.quote(str(self.resolvConf))} /etc/resolv.conf && " + (
            'exec "$@"'
        )
        return [self.unshare, "--mount", "sh", "-c", script, "sh", program, *args]

    def run(
        self, program: str, args: Sequence[str], env: dict[str, str] | None = None
    ) -> Deferred[tuple[bytes, bytes, int]]:
        """
        Run C{program} in the namespace (without blocking the reactor, which may be serving
        the zones Unbound asks); fires with its output, errors and exit status.
        """
        argv = self.argv(program, *args)
        environment = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "RES_OPTIONS": RES_OPTIONS}
        environment.update(env or {})
        return getProcessOutputAndValue(argv[0], argv[1:], env=environment)

    def ask(self, name: str, rdtype: str) -> dns.message.Message:
        """
        Ask Unbound directly (blocking), retrying while it starts.
        """
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                return dns.query.udp(query, self.address, port=53, timeout=2)
            except (dns.exception.Timeout, ConnectionRefusedError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def startResolverNamespace(
    testCase: Any, hierarchy: Hierarchy, serverPort: int
) -> ResolverNamespace:
    """
    Start the validating Unbound for C{hierarchy} (served on C{serverPort} of 127.0.0.1) for
    the duration of C{testCase}, and wait until it answers.
    """
    requireRoot()
    unbound = requireProgram("unbound")
    unshare = requireProgram("unshare")
    directory = Path(tempfile.mkdtemp(prefix="txdane-resolverns-"))
    address = spareLoopbackAddress()
    config = unboundConfig(directory, hierarchy, serverPort, 53)
    config.write_text(
        config.read_text().replace("interface: 127.0.0.1", f"interface: {address}", 1)
    )
    resolvConf = directory / "resolv.conf"
    resolvConf.write_text(f"nameserver {address}\noptions {RES_OPTIONS}\n")
    process = subprocess.Popen(
        [unbound, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    namespace = ResolverNamespace(process, address, resolvConf, unshare)
    testCase.addCleanup(namespace.stop)
    await deferToThread(namespace.ask, "test.", "SOA")
    return namespace

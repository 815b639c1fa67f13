"""
Run a program (C{posttls-finger}, C{ssh -o VerifyHostKeyDNS=yes}, ...) so that its C library
resolver asks a validating Unbound that knows the signed test hierarchy.

Such programs read C{/etc/resolv.conf}, talk to port 53 and trust the AD bit of the answer
(glibc passes it on only with C{options trust-ad}). L{ValidatingStub} therefore:

  - starts Unbound on port 53 of an otherwise unused loopback address (C{127.53.0.1}, or the
    next free one of C{127.53.0.2} ... when a parallel run holds it) in the host's network
    namespace, validating with the hierarchy's private trust anchor, with one C{stub-zone} per
    zone of the hierarchy pointing at txdane's DNS server on C{127.0.0.1:PORT} (the
    configuration of L{tests.unbound.unboundConfig});
  - runs each command under C{unshare --mount} (a private mount namespace, nothing else) with a
    private C{resolv.conf} bind-mounted over C{/etc/resolv.conf}::

        nameserver 127.53.0.1
        options edns0 trust-ad

    and C{RES_OPTIONS="edns0 trust-ad"} in its environment.

The network namespace stays the host's, so the command reaches the servers the test runs on
loopback (the DNS server in the test process, a private Postfix, sshd ...), and nothing outside
the command sees the changed C{resolv.conf}. Binding port 53 and creating a mount namespace
need root: L{namespaceUnavailable} says why it cannot work here (tests skip with that reason,
and fail under CI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.peers.common import Running
from tests.support import skipOrFail
from tests.unbound import answering, unboundConfig
from txdane.testing import Hierarchy

#: The loopback addresses tried, in order, for Unbound's port 53.
ADDRESSES = tuple(f"127.53.0.{n}" for n in range(1, 21))


def _bindable(address: str, port: int = 53) -> bool:
    """
    Whether UDP and TCP C{address}:C{port} are both free for us to bind.
    """
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True


def namespaceUnavailable() -> str | None:
    """
    Why L{ValidatingStub} cannot run here, or C{None} if it can: it needs root, C{unshare},
    C{mount}, C{unbound}, the right to create a mount namespace, and a free port 53 on a
    loopback address (nothing bound to C{0.0.0.0:53}).
    """
    if os.geteuid() != 0:
        return "running a program with a private resolv.conf needs root"
    for program in ("unshare", "mount", "unbound"):
        if _which(program) is None:
            return f"{program} is not installed (.ci/run installs it)"
    try:
        trial = subprocess.run(
            [_which("unshare") or "unshare", "--mount", "true"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare --mount failed: {e}"
    if trial.returncode != 0:
        return f"unshare --mount failed: {trial.stderr.strip()}"
    if not any(_bindable(address) for address in ADDRESSES):
        return "port 53 is taken on every candidate loopback address (is 0.0.0.0:53 bound?)"
    return None


def requireNamespace() -> None:
    """
    Skip the current test when L{namespaceUnavailable} gives a reason; fail it under CI.
    """
    reason = namespaceUnavailable()
    if reason is not None:
        skipOrFail(reason)


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )


class ValidatingStub(Running):
    """
    A validating Unbound on port 53 of a loopback address, and a way to run programs whose
    C library resolver uses it. Use as a context manager, or call L{start} and L{stop}.

    L{start} and L{stop} block for a moment without needing the reactor (the readiness check
    asks Unbound about C{version.server}, which it answers itself); L{run} blocks until the
    program ends, while Unbound asks the DNS server: call it in a thread
    (C{deferToThread}) when that server runs in the test's reactor.

    @ivar address: the loopback address Unbound listens on (port 53).
    @ivar directory: the temporary directory of the configuration, the trust anchor, the
        C{resolv.conf} and Unbound's log (C{unbound.log}).
    """

    def __init__(self, hierarchy: Hierarchy, dnsServerPort: int) -> None:
        """
        @param hierarchy: the hierarchy whose trust anchor and zones Unbound uses.
        @param dnsServerPort: the port of the DNS server serving C{hierarchy} on 127.0.0.1.
        """
        self.hierarchy = hierarchy
        self.dnsServerPort = dnsServerPort
        self.directory = Path(tempfile.mkdtemp(prefix="txdane-stub-"))
        self.address = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def resolvConf(self) -> Path:
        return self.directory / "resolv.conf"

    @property
    def logFile(self) -> Path:
        return self.directory / "unbound.log"

    def start(self, timeout: float = 10) -> None:
        """
        Start Unbound on the first free candidate address; return once it answers.

        @raise RuntimeError: if it does not within C{timeout} seconds (it is stopped then).
        """
        reason = namespaceUnavailable()
        if reason is not None:
            raise RuntimeError(reason)
        unbound = _which("unbound")
        assert unbound is not None
        for address in ADDRESSES:
            if not _bindable(address):
                continue
            config = unboundConfig(
                self.directory, self.hierarchy, self.dnsServerPort, 53, interface=address
            )
            with self.logFile.open("ab") as log:
                self._process = subprocess.Popen(
                    [unbound, "-d", "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            self.address = address
            if self._ready(timeout):
                break
            self.stop()
        else:
            raise RuntimeError(f"Unbound did not start:\n{self.log()}")
        self.resolvConf.write_text(f"nameserver {self.address}\noptions edns0 trust-ad\n")

    def _ready(self, timeout: float) -> bool:
        assert self._process is not None
        return answering(self._process, self.address, 53, timeout)

    def stop(self) -> None:
        """
        Stop Unbound. Safe to call more than once.
        """
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def log(self) -> str:
        """
        What Unbound wrote to its standard error.
        """
        try:
            return self.logFile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def command(self, argv: Sequence[str]) -> list[str]:
        """
        C{argv} wrapped to run in a private mount namespace with this stub's C{resolv.conf}.
        """
        if not self.address:
            raise RuntimeError("the stub is not running")
        script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
        return [
            _which("unshare") or "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            str(self.resolvConf),
            *argv,
        ]

    def run(
        self,
        argv: Sequence[str],
        timeout: float = 60,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """
        Run C{argv} (blocking) with its C library resolver asking this stub's Unbound, and
        return what it did (output as text, standard error apart).

        @param env: the environment (default: this process's); C{RES_OPTIONS} is set to
            C{edns0 trust-ad} either way.
        @raise subprocess.TimeoutExpired: after C{timeout} seconds.
        """
        environment = dict(os.environ if env is None else env)
        environment["RES_OPTIONS"] = "edns0 trust-ad"
        return subprocess.run(
            self.command(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=environment,
            stdin=subprocess.DEVNULL,
        )

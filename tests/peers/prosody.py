"""
A private Prosody (Debian's C{prosody}, 0.12) on free loopback ports, for end-to-end XMPP
tests (RFC 7673, XEP-0368).

Prosody will not run as root, so the instance runs as the C{prosody} user (created by the
package) from a temporary directory it can read: its own configuration (C{prosody.cfg.lua},
written here), data directory (accounts), log directory and certificate copies. One
VirtualHost (default C{xmpp.example.test}) offers:

  - c2s with STARTTLS (required) on C{127.0.0.1:L{Prosody.starttlsPort}};
  - direct TLS (C{c2s_direct_tls_ports}, XEP-0368) on C{127.0.0.1:L{Prosody.directTLSPort}}.

The same certificate chain and key serve both, set explicitly (the VirtualHost's C{ssl} and
C{c2s_direct_tls_ssl}), so the certificate's names need not match the domain (for DANE-EE
tests) and a client without SNI gets it too. Prosody 0.12 negotiates no ALPN protocol on the
direct TLS port. s2s, HTTP and components are off; nothing listens anywhere else.

Users are created with C{prosodyctl --config CFG register USER DOMAIN PASSWORD}
(L{Prosody.register}). The info log (L{Prosody.log}) shows each login as
C{Authenticated as USER@DOMAIN}.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import requireProgram

from .common import Credentials, Running, freeTCPPort, requireRoot, waitForListening

#: The unprivileged user Prosody runs as.
USER = "prosody"


class ProsodyError(Exception):
    """
    Prosody did not start, or C{prosodyctl} failed; the message includes the log.
    """


def _luaString(text: str) -> str:
    """
    C{text} as a Lua string literal.
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Prosody(Running):
    """
    A private Prosody instance: use as a context manager, or call L{start} and L{stop}.

    @ivar domain: the VirtualHost.
    @ivar starttlsPort: the c2s port (STARTTLS) on C{127.0.0.1}.
    @ivar directTLSPort: the direct TLS c2s port on C{127.0.0.1}.
    @ivar directory: the instance's temporary directory.
    """

    host = "127.0.0.1"

    def __init__(
        self,
        credentials: Credentials,
        *,
        domain: str = "xmpp.example.test",
        starttlsPort: int | None = None,
        directTLSPort: int | None = None,
    ) -> None:
        """
        @param credentials: the certificate chain and key both ports offer.
        @param domain: the VirtualHost (the JID domain).
        @param starttlsPort: the c2s port; default a free one.
        @param directTLSPort: the direct TLS port; default a free one.
        """
        self.credentials = credentials
        self.domain = domain
        self.starttlsPort = starttlsPort if starttlsPort is not None else freeTCPPort(self.host)
        self.directTLSPort = directTLSPort if directTLSPort is not None else freeTCPPort(self.host)
        self.directory = Path(tempfile.mkdtemp(prefix="txdane-prosody-"))
        self._process: subprocess.Popen[bytes] | None = None
        self._prepared = False

    @property
    def configFile(self) -> Path:
        return self.directory / "prosody.cfg.lua"

    @property
    def logFile(self) -> Path:
        return self.directory / "log" / "prosody.log"

    def _config(self, certificate: Path, key: Path) -> str:
        d = self.directory
        tls = f"{{ certificate = {_luaString(str(certificate))}; key = {_luaString(str(key))} }}"
        return "\n".join(
            [
                f"pidfile = {_luaString(str(d / 'data' / 'prosody.pid'))}",
                f"data_path = {_luaString(str(d / 'data'))}",
                f"certificates = {_luaString(str(d / 'certs'))}",
                "plugin_paths = { }",
                'interfaces = { "127.0.0.1" }',
                'local_interfaces = { "127.0.0.1" }',
                f"c2s_ports = {{ {self.starttlsPort} }}",
                f"c2s_direct_tls_ports = {{ {self.directTLSPort} }}",
                f"c2s_direct_tls_ssl = {tls}",
                "legacy_ssl_ports = { }",
                "s2s_ports = { }",
                "s2s_direct_tls_ports = { }",
                "component_ports = { }",
                "http_ports = { }",
                "https_ports = { }",
                'modules_enabled = { "disco"; "roster"; "saslauth"; "tls"; "ping"; "posix" }',
                'modules_disabled = { "s2s" }',
                'authentication = "internal_hashed"',
                'storage = "internal"',
                "c2s_require_encryption = true",
                'log = { { levels = { min = "info" }, to = "file", '
                f"filename = {_luaString(str(self.logFile))} }} }}",
                f"VirtualHost {_luaString(self.domain)}",
                f"    ssl = {tls}",
                "",
            ]
        )

    def _prepare(self) -> None:
        """
        Write the configuration and give the C{prosody} user its directories, once.
        """
        if self._prepared:
            return
        requireRoot("a private Prosody instance")
        requireProgram("prosody")
        owner = pwd.getpwnam(USER)
        self.directory.chmod(0o755)
        for name in ("data", "log", "certs"):
            (self.directory / name).mkdir()
            os.chown(self.directory / name, owner.pw_uid, owner.pw_gid)
        certificate = self.directory / "certs" / "chain.pem"
        key = self.directory / "certs" / "key.pem"
        shutil.copyfile(self.credentials.certificate, certificate)
        shutil.copyfile(self.credentials.key, key)
        for path in (certificate, key):
            os.chown(path, owner.pw_uid, owner.pw_gid)
            path.chmod(0o600)
        self.configFile.write_text(self._config(certificate, key))
        self._prepared = True

    def _asUser(self, argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv,
            user=USER,
            group=USER,
            extra_groups=[],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def register(self, user: str, password: str) -> None:
        """
        Create account C{user}@L{domain} (C{prosodyctl register}); works before and after
        L{start}.

        @raise ProsodyError: if prosodyctl fails.
        """
        self._prepare()
        prosodyctl = requireProgram("prosodyctl")
        result = self._asUser(
            [prosodyctl, "--config", str(self.configFile), "register", user, self.domain, password]
        )
        if result.returncode != 0:
            raise ProsodyError(f"prosodyctl register failed:\n{result.stdout}{result.stderr}")

    def start(self, timeout: float = 20) -> None:
        """
        Start Prosody in the foreground (as a child of this process); return once both ports
        listen.

        @raise ProsodyError: if they do not within C{timeout} seconds (it is stopped then).
        """
        self._prepare()
        prosody = requireProgram("prosody")
        with (self.directory / "stdout").open("ab") as output:
            self._process = subprocess.Popen(
                [prosody, "--config", str(self.configFile), "-F"],
                user=USER,
                group=USER,
                extra_groups=[],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = self._process
        alive = lambda: process.poll() is None  # noqa: E731
        if not (
            waitForListening(self.host, self.starttlsPort, timeout, alive)
            and waitForListening(self.host, self.directTLSPort, timeout, alive)
        ):
            self.stop()
            raise ProsodyError(f"Prosody did not start:\n{self.output()}{self.log()}")

    def stop(self) -> None:
        """
        Stop Prosody (SIGTERM, then SIGKILL to its process group) and wait for it. Safe to
        call more than once.
        """
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def log(self) -> str:
        """
        The info log so far.
        """
        try:
            return self.logFile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def output(self) -> str:
        """
        What Prosody printed to its standard output and error.
        """
        try:
            return (self.directory / "stdout").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def waitForLog(self, pattern: str, timeout: float = 10) -> re.Match[str]:
        """
        Wait for a log line matching the regular expression C{pattern}, e.g.
        C{r"Authenticated as alice@xmpp\\.example\\.test"}.

        @raise AssertionError: if none appears within C{timeout} seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log(), re.MULTILINE)
            if match is not None:
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line matches {pattern!r}:\n{self.log()}")
            time.sleep(0.05)

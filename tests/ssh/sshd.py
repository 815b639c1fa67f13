"""
A private OpenSSH server on loopback for the interoperability tests: its own configuration,
host keys (made by C{ssh-keygen}) and authorized key in a temporary directory, listening on a
free port of 127.0.0.1 and ::1, run in the foreground with its log on standard error. It never
touches the system's sshd or its files.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from twisted.conch.ssh.keys import Key

from tests.support import requireProgram, skipOrFail

#: ssh-keygen's name of each host key type.
KEY_TYPES = ("ed25519", "ecdsa", "rsa")


def requireRoot() -> None:
    """
    Skip (fail when peers are required) unless running as root: sshd needs it to switch users and to
    create its privilege-separation directory.
    """
    if os.geteuid() != 0:
        skipOrFail("needs root (sshd, mount namespaces); CI runs as root")


def freeTCPPort() -> int:
    """
    A TCP port free on both 127.0.0.1 and ::1 a moment ago.
    """
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s4:
            s4.bind(("127.0.0.1", 0))
            port = int(s4.getsockname()[1])
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no TCP port free on both loopback addresses")


@dataclass
class HostKeys:
    """
    Host key files made by C{ssh-keygen}, by type.
    """

    directory: Path
    private: dict[str, Path] = field(default_factory=dict)

    def publicLine(self, kind: str) -> str:
        return self.private[kind].with_suffix(".pub").read_text().strip()

    def key(self, kind: str) -> Key:
        return Key.fromString(self.publicLine(kind).encode())


def makeHostKeys(directory: Path, kinds: tuple[str, ...] = KEY_TYPES) -> HostKeys:
    """
    Generate host keys of C{kinds} with C{ssh-keygen} in C{directory}.
    """
    keygen = requireProgram("ssh-keygen")
    keys = HostKeys(directory)
    for kind in kinds:
        path = directory / f"ssh_host_{kind}_key"
        subprocess.run(
            [keygen, "-q", "-t", kind, "-N", "", "-C", f"test {kind}", "-f", str(path)],
            check=True,
        )
        keys.private[kind] = path
    return keys


@dataclass
class ClientKey:
    """
    The user key the clients log in with, as a Conch key and as an OpenSSH private key file.
    """

    key: Key
    path: Path

    @classmethod
    def make(cls, directory: Path) -> ClientKey:
        private = ed25519.Ed25519PrivateKey.generate()
        path = directory / "id_ed25519"
        path.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
        return cls(Key(private), path)

    def authorizedLine(self) -> str:
        return self.key.public().toString("openssh").decode() + " txdane-test\n"


@dataclass
class SSHServer:
    """
    A running sshd.
    """

    process: subprocess.Popen[bytes]
    port: int
    logPath: Path

    def log(self) -> str:
        return self.logPath.read_text(errors="replace")

    def waitForLog(self, text: str, timeout: float = 10) -> str:
        """
        Wait until the log holds C{text} (loopback interop only: real time).
        """
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def startSSHServer(
    testCase: Any, directory: Path, hostKeys: list[Path], clientKey: ClientKey
) -> SSHServer:
    """
    Start sshd on a free port of 127.0.0.1 and ::1 with C{hostKeys}, letting root log in with
    C{clientKey} only, for the duration of C{testCase}.
    """
    requireRoot()
    sshd = requireProgram("sshd")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="sshd-", dir=directory))
    authorized = directory / "authorized_keys"
    authorized.write_text(clientKey.authorizedLine())
    config = directory / "sshd_config"
    config.write_text(
        "\n".join(
            [
                "ListenAddress 127.0.0.1",
                "ListenAddress ::1",
                "PermitRootLogin prohibit-password",
                f"AuthorizedKeysFile {authorized}",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",
                "PidFile none",
                "LogLevel VERBOSE",
                "",
            ]
        )
    )
    logPath = directory / "sshd.log"
    # A port free a moment ago may be taken before sshd binds it: then it is started again
    # on another one, three times in all.
    for _ in range(3):
        port = freeTCPPort()
        argv = [sshd, "-D", "-e", "-f", str(config), "-p", str(port)]
        for key in hostKeys:
            argv += ["-h", str(key)]
        with logPath.open("ab") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        server = SSHServer(process, port, logPath)
        if all(
            f"Server listening on {address} port {port}"
            in server.waitForLog(f"Server listening on {address} port {port}")
            for address in ("127.0.0.1", "::1")
        ):
            testCase.addCleanup(server.stop)
            return server
        server.stop()
    raise RuntimeError(f"sshd did not start:\n{server.log()}")

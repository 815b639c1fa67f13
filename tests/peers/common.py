"""
What the peer harnesses share: free loopback ports, waiting for a listener, server
certificates written to PEM files, and skipping (or, under CI, failing) when a harness cannot
run here.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.dane.certs import Issued, issue
from tests.support import skipOrFail
from txdane.dane.tlsa import recordForCertificate


def freeTCPPort(interface: str = "127.0.0.1") -> int:
    """
    A TCP port on C{interface} that was free a moment ago (the caller binds it soon after;
    another process may take it in between, which the harnesses report as a start failure).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((interface, 0))
        return int(s.getsockname()[1])


def listening(host: str, port: int) -> bool:
    """
    Whether a TCP socket is listening on C{host}:C{port}, found without connecting to it
    (a connection would show in the server's log): binding it fails while it listens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
        return False


def waitForListening(host: str, port: int, timeout: float, alive: object = None) -> bool:
    """
    Wait until a TCP socket listens on C{host}:C{port} (see L{listening}).

    @param alive: a callable returning C{False} once the server has died (to stop waiting
        early), or C{None}.
    @return: whether one did within C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listening(host, port):
            return True
        if callable(alive) and not alive():
            return False
        time.sleep(0.05)
    return False


def waitForPort(host: str, port: int, timeout: float, alive: object = None) -> bool:
    """
    Wait until something accepts TCP connections on C{host}:C{port}.

    @param alive: a callable returning C{False} once the server has died (to stop waiting
        early), or C{None}.
    @return: whether a connection succeeded within C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            if callable(alive) and not alive():
                return False
            time.sleep(0.05)
    return False


def requireRoot(what: str) -> None:
    """
    Skip (or fail when peers are required) unless running as root, which C{what} needs.
    """
    if os.geteuid() != 0:
        skipOrFail(f"{what} needs root")


_Peer = TypeVar("_Peer", bound="Running")


class Running:
    """
    A peer started and stopped by a C{with} block: its C{start()} on entry, C{stop()} on
    exit, whatever happened inside.
    """

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    #: The instance's own temporary directory.
    directory: Path

    def cleanUp(self) -> None:
        """
        Stop, then remove the instance's directory.
        """
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self: _Peer) -> _Peer:
        self.start()
        return self

    def __exit__(
        self,
        excType: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Credentials:
    """
    A server's certificate chain and private key in PEM files.

    @ivar certificate: the PEM file of the chain, leaf first.
    @ivar key: the PEM file of the leaf's private key (PKCS#8, unencrypted).
    @ivar leaf: the leaf certificate.
    """

    certificate: Path
    key: Path
    leaf: x509.Certificate

    @classmethod
    def write(
        cls, directory: Path, issued: Issued, chain: Sequence[x509.Certificate] = ()
    ) -> Credentials:
        """
        Write C{issued} (and the issuers in C{chain}, after it) into C{directory} as
        C{cert.pem} and C{key.pem} (readable by the owner only: servers that read it after
        dropping privileges get a copy of their own).
        """
        directory.mkdir(parents=True, exist_ok=True)
        certificate = directory / "cert.pem"
        key = directory / "key.pem"
        certificate.write_bytes(
            issued.certPEM() + b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
        )
        key.write_bytes(issued.keyPEM())
        certificate.chmod(0o644)
        key.chmod(0o600)
        return cls(certificate, key, issued.cert)

    @classmethod
    def selfSigned(
        cls, directory: Path, name: str, names: Sequence[str] | None = None
    ) -> Credentials:
        """
        A fresh self-signed P-256 certificate for C{name} (subject alternative names
        C{names}, default C{name}), written into C{directory}.
        """
        return cls.write(directory, issue(name, names=tuple(names) if names else None))

    def tlsa(self, usage: int = 3, selector: int = 1, matchingType: int = 1) -> str:
        """
        The TLSA record data (presentation form) that matches the leaf, default C{3 1 1}.
        """
        return str(recordForCertificate(self.leaf, usage, selector, matchingType))

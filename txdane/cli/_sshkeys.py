"""
The server's host keys, as C{txdane check --ssh} fetches them: one connection with txdane's
SSH endpoint (L{hostKey}), stopped as soon as the server proved its key, and one more for
each other key type the secure SSHFP records cover (L{otherKey}), with only that type offered.
What the records say of them is judged in L{txdane.cli._checkssh}.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet.protocol import Factory, Protocol

if TYPE_CHECKING:
    from txdane.ssh.fingerprints import SSHFPAlgorithm
    from txdane.ssh.verifier import HostKeyVerdict


class HostKeySeen(Exception):
    """
    The server proved its host key: the check ends here, before any authentication.
    """


def recordingVerifier(resolver: Any, seen: list[Any]) -> Any:
    from twisted.conch.client.knownhosts import KnownHostsFile
    from twisted.internet.defer import fail
    from twisted.python.filepath import FilePath

    from txdane.ssh import SSHFPKnownHosts

    class RecordingVerifier(SSHFPKnownHosts):
        """
        Keeps the host key and the SSHFP answer it is judged by, and stops the connection.
        """

        def verifyHostKey(self, ui: Any, hostname: bytes, ip: bytes, key: Any) -> Any:
            answer = self._bound[1] if self._bound is not None else None
            seen.append((key, answer, ip))
            return fail(HostKeySeen())

    # A fallback that is never consulted: it only makes the lookup go ahead for names
    # whose records cannot vouch for any key, so that their key is still shown.
    return RecordingVerifier(resolver, KnownHostsFile(FilePath(os.devnull)))


class Silent(Protocol):
    pass


@dataclass(frozen=True)
class KeyCheck:
    """
    One host-key type the secure SSHFP records cover, and what the server showed of it.

    @ivar algorithm: the key type.
    @ivar key: the server's key of that type, when it proved one.
    @ivar verdict: what the records say about that key.
    @ivar absent: the server has no key of that type.
    @ivar error: why the key could not be fetched (the connection failed).
    """

    algorithm: SSHFPAlgorithm
    key: Any = None
    verdict: HostKeyVerdict | None = None
    absent: bool = False
    error: BaseException | None = None

    @property
    def outcome(self) -> str:
        """
        C{matched}, C{no match}, C{absent}, C{failed}, or C{not checked}.
        """
        from txdane.ssh import Outcome

        if self.verdict is not None and self.verdict.outcome is Outcome.MATCHED:
            return "matched"
        if self.verdict is not None and self.verdict.outcome is Outcome.MISMATCHED:
            return "no match"
        if self.absent:
            return "absent"
        return "failed" if self.error is not None else "not checked"

    def summary(self) -> str:
        """
        The outcome in words: C{Ed25519 matched}, C{ECDSA: the server has none}.
        """
        name = self.algorithm.mnemonic
        if self.absent:
            return f"{name}: the server has none"
        if self.error is not None:
            return f"{name}: not fetched"
        if self.verdict is None:
            return f"{name}: not checked (txdane cannot ask for {name} keys)"
        return f"{name} {self.outcome}"

    def row(self) -> str:
        """
        The key's line in the report.
        """
        from txdane.ssh.fingerprints import sha256Fingerprint

        if self.key is None:
            if self.error is not None:
                return f"{self.summary()} ({errorText(self.error)})"
            return self.summary()
        text = f"{self.key.sshType().decode()} {sha256Fingerprint(self.key.blob())}"
        if self.outcome in ("matched", "no match"):
            text += f"  {self.outcome}"
        return text

    def toJSON(self) -> dict[str, Any]:
        from txdane.ssh.fingerprints import sha256Fingerprint

        return {
            "algorithm": self.algorithm.mnemonic,
            "type": self.key.sshType().decode() if self.key is not None else None,
            "sha256": sha256Fingerprint(self.key.blob()) if self.key is not None else None,
            "outcome": self.outcome,
        }


async def hostKey(
    reactor: Any,
    resolver: Any,
    host: str,
    port: int,
    timeout: float,
    algorithms: list[bytes] | None = None,
) -> tuple[Any, Any, bytes]:
    """
    Connect once with txdane's SSH endpoint (offering only C{algorithms} of those the
    records cover, when given) and take the host key the server proves.

    @return: the key, the SSHFP answer it would be judged by, and the address.
    @raise Exception: why no key was proven: the endpoint's error.
    """
    from txdane.ssh import sshCommandEndpoint

    seen: list[Any] = []
    endpoint = sshCommandEndpoint(
        reactor,
        resolver,
        host,
        b"true",
        b"txdane-check",
        port,
        knownHosts=recordingVerifier(resolver, seen),
        allowInsecureAddresses=True,
        timeout=timeout,
        sessionTimeout=timeout,
        hostKeyAlgorithms=algorithms,
    )
    try:
        protocol: Any = await endpoint.connect(Factory.forProtocol(Silent))
        protocol.transport.loseConnection()
    except Exception:
        if not seen:
            raise
    key, answer, ip = seen[-1]
    return key, answer, ip


async def otherKey(
    reactor: Any,
    resolver: Any,
    host: str,
    port: int,
    timeout: float,
    algorithm: SSHFPAlgorithm,
    answer: Any,
) -> KeyCheck:
    """
    The server's key of C{algorithm}, asked for alone on a connection of its own, judged by
    C{answer}.
    """
    from twisted.conch.ssh.transport import SSHClientTransport

    from txdane.ssh import SSHFPNoCoveredKeyError, checkHostKey
    from txdane.ssh.fingerprints import HOST_KEY_ALGORITHMS

    names = [
        name
        for name in SSHClientTransport.supportedPublicKeys
        if HOST_KEY_ALGORITHMS.get(name) is algorithm
    ]
    try:
        key, _, _ = await hostKey(reactor, resolver, host, port, timeout, names)
    except SSHFPNoCoveredKeyError:
        return KeyCheck(algorithm, absent=True)
    except Exception as e:
        return KeyCheck(algorithm, error=e)
    return KeyCheck(algorithm, key, checkHostKey(answer, key.blob()))


def conchAlgorithms() -> list[SSHFPAlgorithm]:
    """
    The key types Conch can ask a server for, in its order of preference.
    """
    from twisted.conch.ssh.transport import SSHClientTransport

    from txdane.ssh.fingerprints import HOST_KEY_ALGORITHMS

    found = (HOST_KEY_ALGORITHMS.get(name) for name in SSHClientTransport.supportedPublicKeys)
    return list(dict.fromkeys(a for a in found if a is not None))


def errorText(error: BaseException | None) -> str:
    from txdane.cli._common import connectErrorText

    if error is None:
        return ""
    return connectErrorText(error) or str(error).strip() or type(error).__name__

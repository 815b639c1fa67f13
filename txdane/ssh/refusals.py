"""
Why a host key was refused: one error per cause, each with the facts as attributes and a
C{str()} that reads like the command line's line.
"""

from __future__ import annotations

from collections.abc import Sequence

from txdane.errors import TxdaneError
from txdane.ssh.fingerprints import (
    HOST_KEY_ALGORITHMS,
    SSHFPAlgorithm,
    SSHFPRecord,
    SSHFPType,
    sha256Fingerprint,
)
from txdane.status import Status


class SSHHostKeyError(TxdaneError):
    """
    The server's host key was refused, or could not be checked, by its SSHFP records.

    @ivar host: the host name connected to.
    """

    host: str


class SSHFPMismatchError(SSHHostKeyError):
    """
    Secure SSHFP records exist for the algorithm of the server's key and none of them matches
    it: the key is not the one the zone vouches for (a changed key, or an attacker).

    @ivar host: the host name connected to.
    @ivar keyBlob: the server's public key, as the SSH protocol sent it.
    @ivar algorithm: the SSHFP algorithm of the key.
    @ivar records: the records compared with the key.
    @ivar allRecords: every record of the RRset.
    @ivar expected: the records that would match the key (one per fingerprint type compared).
    """

    keyBlob: bytes
    algorithm: SSHFPAlgorithm
    records: Sequence[SSHFPRecord]
    allRecords: Sequence[SSHFPRecord]
    expected: Sequence[SSHFPRecord]

    def __post_init__(self) -> None:
        self.records = tuple(self.records)
        self.allRecords = tuple(self.allRecords)
        self.expected = tuple(self.expected)
        super().__post_init__()

    @property
    def fingerprint(self) -> str:
        """
        The key's fingerprint as OpenSSH prints it (C{SHA256:...}).
        """
        return sha256Fingerprint(self.keyBlob)

    def __str__(self) -> str:
        kinds = sorted({SSHFPType(r.fingerprintType).mnemonic for r in self.records})
        tried = ", ".join(r.short() for r in self.records)
        fix = "; ".join(f"{self.host}. IN SSHFP {r}" for r in self.expected)
        return (
            f"{self.host}: host key refused: no SSHFP record matched the server's "
            f"{self.algorithm.mnemonic} key {self.fingerprint} (compared {' and '.join(kinds)}: "
            f"{tried}); if the key was changed on purpose, update the SSHFP records in DNS "
            f"with the new host key: {fix}"
        )


class SSHFPUnverifiedError(SSHHostKeyError):
    """
    SSHFP verification was required, but the records cannot vouch for the server's key: they
    are insecure, absent, or have no usable record for the key's algorithm.

    @ivar host: the host name.
    @ivar status: the status of the SSHFP answer.
    @ivar reason: why the records cannot verify the key, one line.
    @ivar keyBlob: the server's public key, or C{None} when refused before connecting.
    """

    status: Status
    reason: str
    keyBlob: bytes | None

    def __str__(self) -> str:
        key = f" (the server's key is {sha256Fingerprint(self.keyBlob)})" if self.keyBlob else ""
        return f"{self.host}: host key refused: SSHFP verification required, but {self.reason}{key}"


class SSHFPLookupError(SSHHostKeyError):
    """
    The SSHFP lookup was bogus, indeterminate, or failed (timeout, SERVFAIL): the key is
    refused and no fallback is consulted, since the records may have been tampered with.

    @ivar host: the host name.
    @ivar status: the answer's status, or C{None} when the lookup did not complete.
    @ivar reason: what went wrong, one line.
    @ivar ede: the RFC 8914 extended error code, if any.
    """

    status: Status | None
    reason: str
    ede: int | None

    def __str__(self) -> str:
        what = "failed" if self.status is None else str(self.status)
        ede = f" (EDE {self.ede})" if self.ede is not None else ""
        return f"{self.host}: host key refused: SSHFP lookup {what}{ede}: {self.reason}"


class SSHFPNoCoveredKeyError(SSHHostKeyError):
    """
    The server has no host key of the types its secure SSHFP records cover: the client
    offered only those types, so the key exchange ended before the server proved any key,
    and nothing fell back to known_hosts. The host's keys were replaced by keys of other
    types (and the records not updated), or someone else answered.

    @ivar host: the host name connected to.
    @ivar covered: the SSHFP algorithms of the host-key types offered (those the secure
        records cover).
    @ivar serverKeyTypes: the host-key algorithms the server offered, as SSH names them
        (C{ecdsa-sha2-nistp256}, C{rsa-sha2-512}, ...).
    """

    covered: Sequence[SSHFPAlgorithm]
    serverKeyTypes: Sequence[str]

    def __post_init__(self) -> None:
        self.covered = tuple(self.covered)
        self.serverKeyTypes = tuple(self.serverKeyTypes)
        super().__post_init__()

    def __str__(self) -> str:
        covered = ", ".join(SSHFPAlgorithm(a).mnemonic for a in self.covered)
        return (
            f"{self.host}: host key refused: the server has no host key of the types its "
            f"secure SSHFP records cover ({covered}; it offers "
            f"{keyTypeNames(self.serverKeyTypes)}), so the key exchange failed"
        )


def keyTypeNames(keyTypes: Sequence[str]) -> str:
    """
    Host-key algorithms for people: the SSHFP names of those that have one, once each
    (C{rsa-sha2-512} and C{rsa-sha2-256} are both RSA), the others as SSH spells them;
    C{none} for none.
    """
    names: list[str] = []
    for keyType in keyTypes:
        algorithm = HOST_KEY_ALGORITHMS.get(keyType.encode("ascii", "replace"))
        name = algorithm.mnemonic if algorithm is not None else keyType
        if name not in names:
            names.append(name)
    return ", ".join(names) or "none"


class SSHSessionTimeoutError(TxdaneError, TimeoutError):
    """
    A server accepted the TCP connection but no SSH session came about in time (version
    exchange, key exchange, host key check and authentication); the connection was aborted.

    @ivar host: the host connected to.
    @ivar port: the port connected to.
    @ivar timeout: the deadline in seconds, counted from the TCP connection.
    """

    host: str
    port: int
    timeout: float
    template = "{host}:{port}: no SSH session within {timeout:g} s"

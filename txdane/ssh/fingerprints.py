"""
SSHFP records (RFC 4255, 6594, 7479, 8709): the numbers, their names, and the fingerprints of a
host key.

A fingerprint is a digest of the key blob, the key as the SSH protocol sends it (RFC 4253
section 6.6), which is also what the second field of an OpenSSH C{.pub} line holds in base64.
Nothing here needs Conch: L{recordsForBlob} works from the blob alone, so C{txdane generate
--sshfp} can read a public key file with the standard library.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import struct
from dataclasses import dataclass

import dns.rdata

from txdane.errors import TxdaneError


class SSHFPAlgorithm(enum.IntEnum):
    """
    The public key algorithm field of an SSHFP record.
    """

    RSA = 1
    DSA = 2
    ECDSA = 3
    ED25519 = 4
    ED448 = 6

    @property
    def mnemonic(self) -> str:
        """
        The algorithm's usual spelling, e.g. C{"Ed25519"}.
        """
        return _ALGORITHM_TEXT[self]


class SSHFPType(enum.IntEnum):
    """
    The fingerprint type field of an SSHFP record.
    """

    SHA1 = 1
    SHA256 = 2

    @property
    def mnemonic(self) -> str:
        """
        The digest's name, e.g. C{"SHA-256"}.
        """
        return "SHA-1" if self is SSHFPType.SHA1 else "SHA-256"

    def digest(self, blob: bytes) -> bytes:
        """
        The fingerprint of a key blob.
        """
        return hashlib.new("sha1" if self is SSHFPType.SHA1 else "sha256", blob).digest()


_ALGORITHM_TEXT = {
    SSHFPAlgorithm.RSA: "RSA",
    SSHFPAlgorithm.DSA: "DSA",
    SSHFPAlgorithm.ECDSA: "ECDSA",
    SSHFPAlgorithm.ED25519: "Ed25519",
    SSHFPAlgorithm.ED448: "Ed448",
}

#: The SSHFP algorithm of each SSH key type (the first string of a key blob).
KEY_TYPES: dict[bytes, SSHFPAlgorithm] = {
    b"ssh-rsa": SSHFPAlgorithm.RSA,
    b"ssh-dss": SSHFPAlgorithm.DSA,
    b"ecdsa-sha2-nistp256": SSHFPAlgorithm.ECDSA,
    b"ecdsa-sha2-nistp384": SSHFPAlgorithm.ECDSA,
    b"ecdsa-sha2-nistp521": SSHFPAlgorithm.ECDSA,
    b"ssh-ed25519": SSHFPAlgorithm.ED25519,
    b"ssh-ed448": SSHFPAlgorithm.ED448,
}

#: The SSHFP algorithm each host-key (signature) algorithm of the SSH transport proves a key
#: of: C{rsa-sha2-256} signs with an C{ssh-rsa} key.
HOST_KEY_ALGORITHMS: dict[bytes, SSHFPAlgorithm] = {
    **KEY_TYPES,
    b"rsa-sha2-256": SSHFPAlgorithm.RSA,
    b"rsa-sha2-512": SSHFPAlgorithm.RSA,
}


class KeyFormatError(TxdaneError, ValueError):
    """
    A key (blob or public key line) that cannot be read.

    @ivar message: what is wrong with it, one line.
    """

    message: str
    template = "{message}"


def keyType(blob: bytes) -> bytes:
    """
    The key type a key blob starts with, e.g. C{b"ssh-ed25519"}.

    @raise KeyFormatError: the blob is too short to hold one.
    """
    if len(blob) < 4:
        raise KeyFormatError("the key blob is truncated")
    (length,) = struct.unpack(">I", blob[:4])
    if len(blob) < 4 + length:
        raise KeyFormatError("the key blob is truncated")
    return blob[4 : 4 + length]


def algorithmOf(blob: bytes) -> SSHFPAlgorithm | None:
    """
    The SSHFP algorithm of a key blob, or C{None} for a key type SSHFP has no number for
    (certificates, security-key types).
    """
    return KEY_TYPES.get(keyType(blob))


@dataclass(frozen=True)
class SSHFPRecord:
    """
    The data of one SSHFP record.

    @ivar algorithm: the public key algorithm number.
    @ivar fingerprintType: the fingerprint type number.
    @ivar fingerprint: the digest.
    """

    algorithm: int
    fingerprintType: int
    fingerprint: bytes

    @classmethod
    def fromRdata(cls, rdata: dns.rdata.Rdata) -> SSHFPRecord:
        """
        The record of a dnspython SSHFP rdata.
        """
        return cls(rdata.algorithm, rdata.fp_type, rdata.fingerprint)  # type: ignore[attr-defined]

    @property
    def mnemonic(self) -> str:
        """
        The fields' names, e.g. C{"Ed25519 SHA-256"} (numbers where they have none).
        """
        try:
            algorithm = SSHFPAlgorithm(self.algorithm).mnemonic
        except ValueError:
            algorithm = f"algorithm {self.algorithm}"
        try:
            kind = SSHFPType(self.fingerprintType).mnemonic
        except ValueError:
            kind = f"type {self.fingerprintType}"
        return f"{algorithm} {kind}"

    def short(self) -> str:
        """
        The record abbreviated for messages: C{4 2 8cb0fc6c...21f1}.
        """
        text = self.fingerprint.hex()
        if len(text) > 16:
            text = f"{text[:8]}...{text[-4:]}"
        return f"{self.algorithm} {self.fingerprintType} {text}"

    def __str__(self) -> str:
        return f"{self.algorithm} {self.fingerprintType} {self.fingerprint.hex()}"


def recordsForBlob(blob: bytes) -> list[SSHFPRecord]:
    """
    The SSHFP records of a key, SHA-1 then SHA-256 (the order of C{ssh-keygen -r}).

    @raise KeyFormatError: the key's type has no SSHFP algorithm number.
    """
    algorithm = algorithmOf(blob)
    if algorithm is None:
        raise KeyFormatError(f"SSHFP has no algorithm for {keyType(blob).decode(errors='replace')}")
    return [SSHFPRecord(algorithm, kind, kind.digest(blob)) for kind in SSHFPType]


def blobFromPublicKeyLine(line: str) -> bytes:
    """
    The key blob of an OpenSSH public key line (C{ssh-ed25519 AAAA... comment}).

    @raise KeyFormatError: the line is not one.
    """
    fields = line.split()
    if line.startswith("-----BEGIN"):
        raise KeyFormatError("not an OpenSSH public key line (a PEM block: give the .pub file)")
    if len(fields) < 2:
        raise KeyFormatError("not an OpenSSH public key line (TYPE BASE64 [COMMENT])")
    try:
        blob = base64.b64decode(fields[1], validate=True)
    except ValueError:
        raise KeyFormatError("the key's base64 is malformed") from None
    if keyType(blob) != fields[0].encode():
        raise KeyFormatError(f"the key says it is {keyType(blob)!r}, the line says {fields[0]!r}")
    return blob


def sha256Fingerprint(blob: bytes) -> str:
    """
    A key's fingerprint as OpenSSH prints it: C{SHA256:} and unpadded base64.
    """
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")

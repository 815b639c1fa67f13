"""
Conch keys for the SSH tests, made once per process (RSA key generation is slow).
"""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from twisted.conch.ssh.keys import Key

from txdane.ssh import SSHFPRecord, recordsForBlob


@functools.cache
def hostKey(kind: str, which: int = 0) -> Key:
    """
    A private key of C{kind} (C{"ed25519"}, C{"ecdsa"}, C{"rsa"}); C{which} tells different
    keys of one kind apart.
    """
    if kind == "ed25519":
        return Key(ed25519.Ed25519PrivateKey.generate())
    if kind == "ecdsa":
        return Key(ec.generate_private_key(ec.SECP256R1()))
    if kind == "rsa":
        return Key(rsa.generate_private_key(65537, 2048))
    raise ValueError(kind)


def records(key: Key, *types: int) -> list[str]:
    """
    The SSHFP rdata of C{key} (of the given fingerprint types; both if none given).
    """
    return [str(r) for r in recordsOf(key) if not types or r.fingerprintType in types]


def recordsOf(key: Key) -> list[SSHFPRecord]:
    return recordsForBlob(key.public().blob())

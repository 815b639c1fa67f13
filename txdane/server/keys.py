"""
Key files in BIND's format, which C{dnssec-keygen} and C{ldns-keygen} write and C{named},
C{ldns-signzone} and this server read.

A key is two files sharing a prefix, C{K<zone>+<algorithm>+<key tag>}: C{.key} holds the DNSKEY
record (the public half) and C{.private} the private key (C{Private-key-format: v1.3}).
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from txdane.errors import TxdaneError
from txdane.server.signing import SIGNING_ALGORITHMS, SigningKey

_ALGORITHM_NAMES = {number: name for name, number in SIGNING_ALGORITHMS.items()}


class KeyFileError(TxdaneError):
    """
    A key file cannot be used.

    @ivar path: the file (given as a path, kept as text).
    @ivar reason: what is wrong with it.
    """

    path: str | os.PathLike[str]
    reason: str
    template = "{path}: {reason}"

    def __post_init__(self) -> None:
        self.path = os.fspath(self.path)
        super().__post_init__()


@dataclass(frozen=True)
class KeyFiles:
    """
    Where a key was written.

    @ivar public: the C{.key} file.
    @ivar private: the C{.private} file.
    """

    public: Path
    private: Path


def keyFilePrefix(zone: dns.name.Name, key: SigningKey) -> str:
    """
    BIND's file name prefix for C{key} of C{zone}, e.g. C{Kexample.test.+013+12345}.
    """
    return f"K{zone.to_text()}+{key.dnskey.algorithm:03d}+{key.keyTag:05d}"


def _b64int(value: int) -> str:
    return base64.b64encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")).decode()


def _intb64(text: str) -> int:
    return int.from_bytes(base64.b64decode(text), "big")


def privateKeyText(key: SigningKey) -> str:
    """
    The C{.private} file's content for C{key}.
    """
    algorithm = int(key.dnskey.algorithm)
    lines = ["Private-key-format: v1.3", f"Algorithm: {algorithm} ({_ALGORITHM_NAMES[algorithm]})"]
    private: Any = key.privateKey
    if isinstance(private, ec.EllipticCurvePrivateKey):
        scalar = private.private_numbers().private_value.to_bytes(32, "big")
        lines.append(f"PrivateKey: {base64.b64encode(scalar).decode()}")
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        from cryptography.hazmat.primitives import serialization

        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        lines.append(f"PrivateKey: {base64.b64encode(raw).decode()}")
    elif isinstance(private, rsa.RSAPrivateKey):
        numbers = private.private_numbers()
        public = numbers.public_numbers
        for label, value in (
            ("Modulus", public.n),
            ("PublicExponent", public.e),
            ("PrivateExponent", numbers.d),
            ("Prime1", numbers.p),
            ("Prime2", numbers.q),
            ("Exponent1", numbers.dmp1),
            ("Exponent2", numbers.dmq1),
            ("Coefficient", numbers.iqmp),
        ):
            lines.append(f"{label}: {_b64int(value)}")
    else:
        raise TypeError(f"unsupported key type {type(private).__name__}")
    return "\n".join(lines) + "\n"


def writeKeyFiles(zone: dns.name.Name, key: SigningKey, directory: str | Path = ".") -> KeyFiles:
    """
    Write C{key}'s C{.key} and C{.private} files into C{directory} (the private one readable
    by its owner only).

    @raise FileExistsError: a file of that name is there already (another key of the zone
        with the same algorithm and key tag: key tags collide), which is left as it was.
    """
    prefix = Path(directory) / keyFilePrefix(zone, key)
    public = prefix.with_name(prefix.name + ".key")
    private = prefix.with_name(prefix.name + ".private")
    kind = "key-signing" if key.isKeySigningKey else "zone-signing"
    # Created, never overwritten: the private half of a zone's key must not be lost to a
    # new key that happens to share its tag, nor keep an existing file's wider permissions.
    descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as f:
        f.write(privateKeyText(key))
    try:
        with open(public, "x") as f:
            f.write(
                f"; This is a {kind} key, keyid {key.keyTag}, for {zone}\n"
                f"{zone} IN DNSKEY {key.dnskey.to_text()}\n"
            )
    except OSError:
        private.unlink()
        raise
    return KeyFiles(public, private)


def readKeyFiles(path: str | Path) -> tuple[dns.name.Name, SigningKey]:
    """
    Read a key from its two files; C{path} may name either of them or their common prefix.
    Returns the zone the key belongs to and the key.

    @raise KeyFileError: a file is missing or malformed, or the halves do not match.
    """
    text = str(path)
    for suffix in (".key", ".private"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    publicPath, privatePath = Path(text + ".key"), Path(text + ".private")
    zone, dnskey = _readPublic(publicPath)
    fields = _readPrivate(privatePath)
    algorithm = int(dnskey.algorithm)
    try:
        declared = int(fields.get("Algorithm", "0").split()[0])
    except (ValueError, IndexError):
        raise KeyFileError(privatePath, "the Algorithm line is not a number") from None
    if declared != algorithm:
        reason = f"algorithm {declared} does not match the .key's {algorithm}"
        raise KeyFileError(privatePath, reason)
    try:
        private = _privateKey(algorithm, fields)
    except KeyError as e:
        # The field the key needs, by its name in the file ("PrivateKey:").
        raise KeyFileError(privatePath, f"malformed private key (no {e.args[0]}: line)") from None
    except ValueError as e:
        raise KeyFileError(privatePath, f"malformed private key ({e})") from None
    key = SigningKey.fromPrivateKey(private, algorithm, dnskey.flags)
    if key.dnskey.key != dnskey.key:
        raise KeyFileError(privatePath, f"the private key does not match {publicPath.name}")
    return zone, key


def _readPublic(path: Path) -> tuple[dns.name.Name, dns.rdtypes.ANY.DNSKEY.DNSKEY]:
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise KeyFileError(path, e.strerror or str(e)) from None
    except UnicodeDecodeError:
        raise KeyFileError(path, "not UTF-8 text") from None
    for line in lines:
        line = line.split(";", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if "DNSKEY" not in (p.upper() for p in parts):
            raise KeyFileError(path, f"not a DNSKEY record: {line[:60]!r}")
        try:
            index = [p.upper() for p in parts].index("DNSKEY")
            owner = dns.name.from_text(parts[0])
            rdata = dns.rdata.from_text(
                dns.rdataclass.IN, dns.rdatatype.DNSKEY, " ".join(parts[index + 1 :])
            )
        except (ValueError, dns.exception.DNSException) as e:
            raise KeyFileError(path, f"not a DNSKEY record ({e})") from None
        assert isinstance(rdata, dns.rdtypes.ANY.DNSKEY.DNSKEY)
        if rdata.algorithm not in _ALGORITHM_NAMES:
            raise KeyFileError(path, f"cannot sign with algorithm {rdata.algorithm}")
        return owner, rdata
    raise KeyFileError(path, "no DNSKEY record in the file")


def _readPrivate(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except OSError as e:
        raise KeyFileError(path, e.strerror or str(e)) from None
    except UnicodeDecodeError:
        raise KeyFileError(path, "not UTF-8 text") from None
    fields = {}
    for line in text.splitlines():
        if ":" in line:
            label, value = line.split(":", 1)
            fields[label.strip()] = value.strip()
    if "Private-key-format" not in fields:
        raise KeyFileError(path, "not a private key file (no Private-key-format line)")
    return fields


def _privateKey(algorithm: int, fields: dict[str, str]) -> Any:
    if algorithm == 13:
        scalar = _intb64(fields["PrivateKey"])
        return ec.derive_private_key(scalar, ec.SECP256R1())
    if algorithm == 15:
        return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(fields["PrivateKey"]))
    n, e = _intb64(fields["Modulus"]), _intb64(fields["PublicExponent"])
    numbers = rsa.RSAPrivateNumbers(
        p=_intb64(fields["Prime1"]),
        q=_intb64(fields["Prime2"]),
        d=_intb64(fields["PrivateExponent"]),
        dmp1=_intb64(fields["Exponent1"]),
        dmq1=_intb64(fields["Exponent2"]),
        iqmp=_intb64(fields["Coefficient"]),
        public_numbers=rsa.RSAPublicNumbers(e, n),
    )
    return numbers.private_key()

"""
TLSA records as values: their owner names, their RFC 7218 mnemonics, their text forms, and
how to make one from a certificate or key.

A L{TLSARecord} keeps the four fields of a TLSA rdata (RFC 6698 section 2.1) exactly as
published, including numbers this library does not know: such a record is I{unusable}
(RFC 7671 section 4) and the matching layer ignores it, but it is still shown to the user.
"""

from __future__ import annotations

import enum
import hashlib
import string
from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TLSA
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from txdane.errors import TLSAFormatError


class Usage(enum.IntEnum):
    """
    The certificate usage field (RFC 6698 section 2.1.1, names from RFC 7218).
    """

    PKIX_TA = 0
    PKIX_EE = 1
    DANE_TA = 2
    DANE_EE = 3

    @property
    def mnemonic(self) -> str:
        """
        The RFC 7218 name, e.g. C{DANE-EE}.
        """
        return self.name.replace("_", "-")


class Selector(enum.IntEnum):
    """
    The selector field (RFC 6698 section 2.1.2, names from RFC 7218).
    """

    CERT = 0
    SPKI = 1

    @property
    def mnemonic(self) -> str:
        """
        The RFC 7218 name: C{Cert} or C{SPKI}.
        """
        return {Selector.CERT: "Cert", Selector.SPKI: "SPKI"}[self]


class MatchingType(enum.IntEnum):
    """
    The matching type field (RFC 6698 section 2.1.3, names from RFC 7218).
    """

    FULL = 0
    SHA2_256 = 1
    SHA2_512 = 2

    @property
    def mnemonic(self) -> str:
        """
        The RFC 7218 name: C{Full}, C{SHA2-256} or C{SHA2-512}.
        """
        return {
            MatchingType.FULL: "Full",
            MatchingType.SHA2_256: "SHA2-256",
            MatchingType.SHA2_512: "SHA2-512",
        }[self]

    @property
    def digestLength(self) -> int | None:
        """
        The length in bytes of this type's digest, or C{None} for C{Full}.
        """
        return {MatchingType.FULL: None, MatchingType.SHA2_256: 32, MatchingType.SHA2_512: 64}[self]


_FIELDS: tuple[type[enum.IntEnum], ...] = (Usage, Selector, MatchingType)


def _mnemonicTable(enumType: type[enum.IntEnum]) -> dict[str, int]:
    table: dict[str, int] = {}
    for member in enumType:
        table[member.mnemonic.upper()] = int(member)  # type: ignore[attr-defined]
    return table


_BY_NAME = [_mnemonicTable(t) for t in _FIELDS]


def parseField(text: str, index: int) -> int:
    """
    Read TLSA field C{index} (0 usage, 1 selector, 2 matching type) given as a number
    (0-255) or an RFC 7218 mnemonic in any case.

    @raise TLSAFormatError: for anything else.
    """
    if text.isascii() and text.isdigit():
        # ASCII digits only: int() also reads other scripts' digits ("\u0663" is 3).
        value = int(text)
        if value > 255:
            raise TLSAFormatError(f"TLSA field {text} is larger than 255")
        return value
    try:
        return _BY_NAME[index][text.upper()]
    except KeyError:
        kinds = ("usage", "selector", "matching type")
        known = ", ".join(m.mnemonic for m in _FIELDS[index])  # type: ignore[attr-defined]
        raise TLSAFormatError(
            f"unknown TLSA {kinds[index]} {text!r} (expected a number or one of {known})"
        ) from None


def _hexProblem(words: list[str]) -> str:
    """
    What is wrong with the data C{words} of a TLSA record that are not hexadecimal: the first
    word with another character, or the odd number of digits.
    """
    digits = 0
    for word in words:
        for index, c in enumerate(word):
            if c not in string.hexdigits:
                if len(word) <= 40:
                    return f"TLSA data is not hexadecimal: {word!r}"
                return f"TLSA data is not hexadecimal: {c!r} at digit {digits + index + 1}"
        digits += len(word)
    return f"TLSA data has an odd number of hexadecimal digits ({digits})"


@dataclass(frozen=True)
class TLSARecord:
    """
    One TLSA record.

    @ivar usage: the certificate usage (0-255; L{Usage} names the known ones).
    @ivar selector: the selector (0-255; L{Selector}).
    @ivar matchingType: the matching type (0-255; L{MatchingType}).
    @ivar data: the certificate association data.
    """

    usage: int
    selector: int
    matchingType: int
    data: bytes

    def __post_init__(self) -> None:
        """
        @raise TypeError: for a field that is not an C{int}, or data that is not C{bytes}
            (hexadecimal text is read with L{fromText}, or C{bytes.fromhex}).
        @raise TLSAFormatError: for a field outside 0-255.
        """
        for field in ("usage", "selector", "matchingType"):
            value = getattr(self, field)
            if type(value) is not int and not isinstance(value, enum.IntEnum):
                raise TypeError(f"TLSA {field} must be an int from 0 to 255, not {value!r}")
            if not 0 <= value <= 255:
                raise TLSAFormatError(f"TLSA {field} {value} is not in 0-255")
        if not isinstance(self.data, bytes):
            raise TypeError(
                f"TLSA data must be bytes (bytes.fromhex for hexadecimal), not {self.data!r}"
            )

    @classmethod
    def fromText(cls, text: str) -> TLSARecord:
        """
        Parse C{"3 1 1 <hex>"} or C{"DANE-EE SPKI SHA2-256 <hex>"} (numbers and mnemonics may
        be mixed; the hex may be split by white space and use either case).

        @raise TLSAFormatError: if C{text} is not a TLSA record.
        @raise TypeError: for anything but a C{str}.
        """
        if not isinstance(text, str):
            raise TypeError(f"a TLSA record's text must be a str, not {text!r}")
        parts = text.split()
        if len(parts) < 4:
            raise TLSAFormatError(
                f"a TLSA record needs usage, selector, matching type and data: {text!r}"
            )
        usage, selector, mtype = (parseField(parts[i], i) for i in range(3))
        hexData = "".join(parts[3:])
        try:
            data = bytes.fromhex(hexData)
        except ValueError:
            raise TLSAFormatError(_hexProblem(parts[3:])) from None
        if not data:
            raise TLSAFormatError("TLSA data is empty")
        return cls(usage, selector, mtype, data)

    @classmethod
    def fromRdata(cls, rdata: dns.rdtypes.ANY.TLSA.TLSA) -> TLSARecord:
        """
        Wrap dnspython's TLSA rdata.
        """
        return cls(int(rdata.usage), int(rdata.selector), int(rdata.mtype), bytes(rdata.cert))

    def toRdata(self) -> dns.rdtypes.ANY.TLSA.TLSA:
        """
        The same record as dnspython's TLSA rdata.

        @raise TLSAFormatError: for a SHA2-256 or SHA2-512 record whose data has the wrong
            length, which dnspython refuses to represent.
        """
        expected = {1: 32, 2: 64}.get(self.matchingType)
        if expected is not None and len(self.data) != expected:
            raise TLSAFormatError(
                f"matching type {self.matchingType} needs {expected} bytes of data,"
                f" not {len(self.data)}"
            )
        return dns.rdtypes.ANY.TLSA.TLSA(
            dns.rdataclass.IN,
            dns.rdatatype.TLSA,
            self.usage,
            self.selector,
            self.matchingType,
            self.data,
        )

    @property
    def usable(self) -> bool:
        """
        Whether every field is one this library implements and the data fits its matching
        type (RFC 7671 section 4): a digest of the right length, or, for C{Full}, exactly one
        DER certificate or SubjectPublicKeyInfo, as the selector says (as OpenSSL and
        Postfix, which ignore a record they cannot load).
        """
        return self.unusableReason is None

    @property
    def unusableReason(self) -> str | None:
        """
        Why this record is unusable, or C{None} when it is usable.
        """
        if self.usage not in Usage._value2member_map_:
            return f"unknown certificate usage {self.usage}"
        if self.selector not in Selector._value2member_map_:
            return f"unknown selector {self.selector}"
        if self.matchingType not in MatchingType._value2member_map_:
            return f"unknown matching type {self.matchingType}"
        expected = MatchingType(self.matchingType).digestLength
        if expected is not None and len(self.data) != expected:
            return (
                f"{MatchingType(self.matchingType).mnemonic} data is {len(self.data)} bytes,"
                f" not {expected}"
            )
        if self.matchingType == MatchingType.FULL:
            if self.selector == Selector.CERT:
                try:
                    x509.load_der_x509_certificate(self.data)
                except ValueError:
                    return "Full data is not a DER certificate"
            else:
                try:
                    serialization.load_der_public_key(self.data)
                except (ValueError, UnsupportedAlgorithm):
                    return "Full data is not a DER public key of a known type"
        return None

    @property
    def mnemonic(self) -> str:
        """
        The three fields as RFC 7218 names, e.g. C{DANE-EE SPKI SHA2-256}; unknown values
        stay numbers.
        """
        names = []
        for value, enumType in zip((self.usage, self.selector, self.matchingType), _FIELDS):
            member = enumType._value2member_map_.get(value)
            names.append(member.mnemonic if member is not None else str(value))  # type: ignore[attr-defined]
        return " ".join(names)

    def shortText(self, keep: int = 4) -> str:
        """
        A one-line abbreviation for messages: C{3 1 1 8cb0fc6c...21f1}.
        """
        hexData = self.data.hex()
        if len(hexData) > 4 * keep + 3:
            hexData = f"{hexData[: 2 * keep]}...{hexData[-keep:]}"
        return f"{self.usage} {self.selector} {self.matchingType} {hexData}"

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.matchingType} {self.data.hex()}"


def selectedData(certificate: x509.Certificate, selector: int) -> bytes:
    """
    The part of C{certificate} a record with this selector covers: the whole certificate or
    its SubjectPublicKeyInfo, DER-encoded, exactly as the certificate holds them (RFC 6698
    section 2.1.2; a key may have other encodings, such as a compressed EC point, and a
    record designates the certificate's own).
    """
    if selector == Selector.CERT:
        return certificate.public_bytes(serialization.Encoding.DER)
    if selector == Selector.SPKI:
        return certificateSPKI(certificate)
    raise TLSAFormatError(f"unknown selector {selector}")


def _derElementEnd(data: bytes, offset: int) -> tuple[int, int]:
    """
    Where the content of the DER element at C{offset} of C{data} starts, and where the
    element ends (the data come from a certificate the X.509 parser accepted: single-byte
    tags, definite lengths).
    """
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return start, start + length


def certificateSPKI(certificate: x509.Certificate) -> bytes:
    """
    The DER SubjectPublicKeyInfo of C{certificate}, as encoded in it: the seventh field of
    its TBSCertificate (RFC 5280 section 4.1), counting the optional version.
    """
    tbs = certificate.tbs_certificate_bytes
    offset, _ = _derElementEnd(tbs, 0)
    if tbs[offset] == 0xA0:  # [0] EXPLICIT version
        offset = _derElementEnd(tbs, offset)[1]
    # serialNumber, signature, issuer, validity, subject
    for _ in range(5):
        offset = _derElementEnd(tbs, offset)[1]
    end = _derElementEnd(tbs, offset)[1]
    if tbs[offset] != 0x30 or end > len(tbs):
        raise ValueError("no SubjectPublicKeyInfo where the certificate should hold it")
    return tbs[offset:end]


def spkiBytes(key: PublicKeyTypes) -> bytes:
    """
    The DER SubjectPublicKeyInfo of C{key}.
    """
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def associationData(selected: bytes, matchingType: int) -> bytes:
    """
    The certificate association data for C{selected} bytes under C{matchingType}.
    """
    if matchingType == MatchingType.FULL:
        return selected
    if matchingType == MatchingType.SHA2_256:
        return hashlib.sha256(selected).digest()
    if matchingType == MatchingType.SHA2_512:
        return hashlib.sha512(selected).digest()
    raise TLSAFormatError(f"unknown matching type {matchingType}")


def recordForCertificate(
    certificate: x509.Certificate,
    usage: int = Usage.DANE_EE,
    selector: int = Selector.SPKI,
    matchingType: int = MatchingType.SHA2_256,
) -> TLSARecord:
    """
    The TLSA record that matches C{certificate} (default C{3 1 1}, RFC 7671's advice).
    """
    return TLSARecord(
        int(usage),
        int(selector),
        int(matchingType),
        associationData(selectedData(certificate, selector), matchingType),
    )


def recordForKey(
    key: PublicKeyTypes,
    usage: int = Usage.DANE_EE,
    matchingType: int = MatchingType.SHA2_256,
) -> TLSARecord:
    """
    The SPKI TLSA record that matches public C{key}.
    """
    return TLSARecord(
        int(usage),
        int(Selector.SPKI),
        int(matchingType),
        associationData(spkiBytes(key), matchingType),
    )


def loadCertificateOrKey(data: bytes) -> x509.Certificate | PublicKeyTypes:
    """
    Read a certificate, a public key or a private key (whose public half is taken) in PEM or
    DER. For PEM with several objects, the first certificate wins (a server's chain file
    starts with its own certificate).

    @raise TLSAFormatError: if C{data} holds none of these.
    """
    if b"-----BEGIN" in data:
        if b"CERTIFICATE-----" in data:
            try:
                return x509.load_pem_x509_certificates(data)[0]
            except ValueError:
                pass
        if b"PUBLIC KEY-----" in data:
            try:
                return serialization.load_pem_public_key(data)
            except ValueError:
                pass
        if b"PRIVATE KEY-----" in data:
            try:
                return serialization.load_pem_private_key(data, password=None).public_key()
            except (ValueError, TypeError):
                pass
    else:
        try:
            return x509.load_der_x509_certificate(data)
        except ValueError:
            pass
        try:
            return serialization.load_der_public_key(data)
        except ValueError:
            pass
        try:
            return serialization.load_der_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            pass
    raise TLSAFormatError("not a certificate or an unencrypted key in PEM or DER form")


def recordFromFile(
    path: str | Path,
    usage: int = Usage.DANE_EE,
    selector: int = Selector.SPKI,
    matchingType: int = MatchingType.SHA2_256,
) -> TLSARecord:
    """
    The TLSA record for the certificate or key stored in file C{path} (PEM or DER).

    @raise TLSAFormatError: if the file holds no certificate or key, or holds a bare key and
        C{selector} is C{Cert}.
    @raise OSError: if the file cannot be read.
    """
    loaded = loadCertificateOrKey(Path(path).read_bytes())
    if isinstance(loaded, x509.Certificate):
        return recordForCertificate(loaded, usage, selector, matchingType)
    if selector != Selector.SPKI:
        raise TLSAFormatError(f"{path} holds a key, not a certificate: only selector SPKI(1) fits")
    return recordForKey(loaded, usage, matchingType)

"""
Trust anchors: the keys validation starts from.

The built-in anchors are the IANA root KSKs as DS records. Others can be loaded from an
RFC 7958 C{root-anchors.xml} file, or from zone-file lines of DS or DNSKEY records (which is
also how tests use a private root).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from txdane.errors import TrustAnchorError
from txdane.names import nameFromText
from txdane.validation.algorithms import AlgorithmPolicy
from txdane.validation.cache import sameName, within
from txdane.validation.dsmatch import unsupportedDS, usableDS
from txdane.validation.rrsig import keyTag

if TYPE_CHECKING:
    import xml.etree.ElementTree as ElementTree

#: The IANA root zone KSKs (KSK-2017 and KSK-2024), as DS records.
BUILTIN_ROOT_ANCHORS = """\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
"""

#: The REVOKE flag of a DNSKEY (RFC 5011 section 2.1).
_REVOKE = 0x0080
#: The ZONE flag of a DNSKEY (RFC 4034 section 2.1.1).
_ZONE = 0x0100


@dataclasses.dataclass(frozen=True)
class TrustAnchor:
    """
    The anchors of one zone: DS records, DNSKEY records, or both.

    @ivar zone: the zone's apex.
    @ivar ds: DS records; a DNSKEY matching one of them is trusted.
    @ivar dnskeys: DNSKEY records trusted as they are.
    """

    zone: dns.name.Name
    ds: tuple[DS, ...] = ()
    dnskeys: tuple[DNSKEY, ...] = ()

    def __post_init__(self) -> None:
        for key in self.dnskeys:
            reason = _refusedKeyReason(self.zone, key)
            if reason is not None:
                raise TrustAnchorError("<anchors>", reason)

    def unusable(self, policy: AlgorithmPolicy) -> str | None:
        """
        Why a validator with C{policy} can use none of these anchors, or C{None} when it can
        use one of them. An anchor it cannot use is one whose algorithm or DS digest type
        the policy does not validate, by the rules the chain of trust applies to a zone's
        DS records (L{usableDS<txdane.validation.dsmatch.usableDS>}): under such an anchor,
        every answer would be insecure, a misconfiguration that fails open. An anchor with
        no record at all (a tracker's, once every key was revoked) is not refused here: it
        makes every answer bogus.
        """
        if not self.ds and not self.dnskeys:
            return None
        if usableDS(self.ds, policy) or any(
            policy.supportsAlgorithm(key.algorithm) for key in self.dnskeys
        ):
            return None
        whys = []
        if self.ds:
            whys.append(unsupportedDS(self.ds, policy)[0])
        if self.dnskeys:
            algorithms = sorted({key.algorithm for key in self.dnskeys})
            whys.append("algorithm " + ", ".join(str(int(a)) for a in algorithms))
        digests = set(policy.digests) | ({1} if policy.allowSHA1Digest else set())
        return (
            f"every trust anchor of {self.zone} uses an unsupported "
            + " or ".join(dict.fromkeys(whys))
            + " (supported: algorithms "
            + ", ".join(str(int(a)) for a in sorted(policy.algorithms))
            + "; DS digest types "
            + ", ".join(str(int(d)) for d in sorted(digests))
            + ")"
        )


@dataclasses.dataclass(frozen=True)
class TrustAnchors:
    """
    A set of trust anchors, by zone.

    @ivar anchors: the anchors, one per zone.
    """

    anchors: tuple[TrustAnchor, ...]

    def __post_init__(self) -> None:
        anchors = self.anchors
        if isinstance(anchors, (str, bytes)) or not all(
            isinstance(anchor, TrustAnchor) for anchor in anchors
        ):
            raise TypeError(
                f"TrustAnchors takes TrustAnchor objects, not {anchors!r} (read a file with "
                "TrustAnchors.fromFile, text with TrustAnchors.fromText)"
            )
        object.__setattr__(self, "anchors", tuple(anchors))
        if not self.anchors:
            raise TrustAnchorError("<anchors>", "no trust anchor given")

    @classmethod
    def builtin(cls) -> TrustAnchors:
        """
        The built-in IANA root anchors.
        """
        return cls.fromText(BUILTIN_ROOT_ANCHORS, source="<built-in>")

    @classmethod
    def fromRRsets(cls, rrsets: Iterable[dns.rrset.RRset]) -> TrustAnchors:
        """
        Anchors from DS and DNSKEY RRsets (e.g. the root DS RRset of a test hierarchy).
        """
        return cls._collect(
            ((rrset.name, rdata) for rrset in rrsets for rdata in rrset), "<rrsets>"
        )

    @classmethod
    def fromText(cls, text: str, source: str = "<text>") -> TrustAnchors:
        """
        Anchors from zone-file lines of DS and DNSKEY records with absolute owner names, like
        Unbound's C{trust-anchor-file} or C{delv}'s key file without the C{trust-anchors} clause.

        @raise TrustAnchorError: the text does not parse, or holds records of other types.
        """
        lines = [
            line
            for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith((";", "#"))
        ]
        try:
            zone = dns.zone.from_text(
                "$TTL 0\n" + "\n".join(lines),
                origin=dns.name.root,
                relativize=False,
                check_origin=False,
            )
        except (dns.exception.DNSException, ValueError) as e:
            raise TrustAnchorError(source, _parseProblem(text, e)) from e
        items: list[tuple[dns.name.Name, dns.rdata.Rdata]] = []
        for name, node in zone.nodes.items():
            for rdataset in node.rdatasets:
                if rdataset.rdtype not in (dns.rdatatype.DS, dns.rdatatype.DNSKEY):
                    raise TrustAnchorError(
                        source,
                        f"{name} {dns.rdatatype.to_text(rdataset.rdtype)}: only DS and DNSKEY "
                        "records can be trust anchors",
                    )
                items.extend((name, rdata) for rdata in rdataset)
        return cls._collect(items, source)

    @classmethod
    def fromXML(
        cls, data: bytes | str, source: str = "<xml>", now: datetime.datetime | None = None
    ) -> TrustAnchors:
        """
        Anchors from an RFC 7958 XML document (IANA's C{root-anchors.xml}); only the key
        digests valid at C{now} are used.

        @raise TrustAnchorError: the document is malformed or holds no valid anchor.
        """
        # Loaded here: only this format needs an XML parser.
        import xml.etree.ElementTree as ElementTree

        if now is None:
            now = datetime.datetime.now(datetime.timezone.utc)
        try:
            root = ElementTree.fromstring(data)
            zoneText = (root.findtext("Zone") or "").strip()
            zone = nameFromText(zoneText)
        except (ElementTree.ParseError, dns.exception.DNSException, LookupError, ValueError) as e:
            # LookupError, ValueError: the XML declaration names an encoding Python does not
            # know, or a multi-byte one (UTF-7) that expat cannot read.
            raise TrustAnchorError(source, f"not an RFC 7958 document: {e}") from e
        if root.tag != "TrustAnchor" or not zoneText:
            raise TrustAnchorError(source, "not an RFC 7958 document: no TrustAnchor/Zone")
        items: list[tuple[dns.name.Name, dns.rdata.Rdata]] = []
        for digest in root.iter("KeyDigest"):
            if not _validAt(digest, now):
                continue
            fields = [
                (digest.findtext(tag) or "").strip()
                for tag in ("KeyTag", "Algorithm", "DigestType", "Digest")
            ]
            try:
                rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DS, " ".join(fields))
            except (dns.exception.DNSException, ValueError) as e:
                raise TrustAnchorError(source, f"bad KeyDigest {digest.get('id')}: {e}") from e
            items.append((zone, rdata))
        if not items:
            raise TrustAnchorError(source, "no KeyDigest is valid now")
        return cls._collect(items, source)

    @classmethod
    def fromFile(cls, path: str | Path) -> TrustAnchors:
        """
        Anchors from a file: RFC 7958 XML if it starts with C{<}, else DS/DNSKEY lines.

        @raise TrustAnchorError: the file cannot be read or used.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise TrustAnchorError(str(path), e.strerror or str(e)) from e
        if data.lstrip().startswith(b"<"):
            return cls.fromXML(data, source=str(path))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise TrustAnchorError(str(path), "not UTF-8 text") from e
        return cls.fromText(text, source=str(path))

    @classmethod
    def _collect(
        cls, items: Iterable[tuple[dns.name.Name, dns.rdata.Rdata]], source: str
    ) -> TrustAnchors:
        byZone: dict[dns.name.Name, tuple[list[DS], list[DNSKEY]]] = {}
        for name, rdata in items:
            dsList, keyList = byZone.setdefault(name, ([], []))
            if isinstance(rdata, DS):
                dsList.append(rdata)
            elif isinstance(rdata, DNSKEY):
                reason = _refusedKeyReason(name, rdata)
                if reason is not None:
                    raise TrustAnchorError(source, reason)
                keyList.append(rdata)
            else:
                raise TrustAnchorError(source, f"{name}: only DS and DNSKEY can be anchors")
        if not byZone:
            raise TrustAnchorError(source, "no trust anchor found")
        return cls(
            tuple(TrustAnchor(zone, tuple(ds), tuple(keys)) for zone, (ds, keys) in byZone.items())
        )

    def checkUsable(self, policy: AlgorithmPolicy, source: str = "<anchors>") -> None:
        """
        Refuse anchors a validator with C{policy} could never use: those of a zone whose
        every anchor uses an algorithm or DS digest type the policy does not validate (see
        L{TrustAnchor.unusable}). A zone with one usable anchor is fine.

        @param source: where the anchors came from, for the error.
        @raise TrustAnchorError: naming the zone and what is unsupported.
        """
        for anchor in self.anchors:
            reason = anchor.unusable(policy)
            if reason is not None:
                raise TrustAnchorError(source, reason)

    def forZone(self, zone: dns.name.Name) -> TrustAnchor | None:
        """
        The anchor configured for exactly C{zone}, if any.
        """
        for anchor in self.anchors:
            if sameName(anchor.zone, zone):
                return anchor
        return None

    def closest(self, name: dns.name.Name) -> TrustAnchor | None:
        """
        The anchor of the closest zone at or above C{name}, if any.
        """
        best: TrustAnchor | None = None
        for anchor in self.anchors:
            if within(name, anchor.zone) and (best is None or len(anchor.zone) > len(best.zone)):
                best = anchor
        return best


def _refusedKeyReason(zone: dns.name.Name, key: DNSKEY) -> str | None:
    """
    Why the DNSKEY C{key} of C{zone} is never a trust anchor, or C{None} when it can be one:
    a revoked key must not be one (RFC 5011 section 2.1), and a key without the ZONE flag or
    of a protocol other than 3 verifies no signature (RFC 4035 section 5.3.1).
    """
    flags = int(key.flags)
    if flags & _REVOKE:
        return _revokedReason(zone, key)
    if not flags & _ZONE:
        return (
            f"{zone} DNSKEY {keyTag(key)}/{key.algorithm} lacks the ZONE flag (flags {flags}; "
            "257 for a KSK, 256 for a ZSK): a key without it verifies no signature, so it is "
            "never a trust anchor (RFC 4035 section 5.3.1)"
        )
    if key.protocol != 3:
        return (
            f"{zone} DNSKEY {keyTag(key)}/{key.algorithm} has protocol {key.protocol}, not 3: "
            "a key of another protocol verifies no signature, so it is never a trust anchor "
            "(RFC 4035 section 5.3.1)"
        )
    return None


def _revokedReason(zone: dns.name.Name, key: DNSKEY) -> str:
    """
    Why the DNSKEY C{key} of C{zone}, which has the REVOKE bit, is refused as an anchor.
    """
    return (
        f"{zone} DNSKEY {keyTag(key)}/{key.algorithm} has the REVOKE bit (flags {key.flags}): "
        "a revoked key is never a trust anchor (RFC 5011 section 2.1)"
    )


def _validAt(element: ElementTree.Element, now: datetime.datetime) -> bool:
    for attribute, test in (("validFrom", lambda t: t <= now), ("validUntil", lambda t: now < t)):
        value = element.get(attribute)
        if value is None:
            continue
        try:
            when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        if not test(when):
            return False
    return True


def _parseProblem(text: str, error: Exception) -> str:
    """
    The reason, naming the line of C{text} at fault, why the anchor lines of C{text} did not
    parse. dnspython numbers the lines it was given (C{<string>:N: reason}): a C{$TTL} line,
    then C{text} without its blank and comment lines.
    """
    match = re.fullmatch(r"<string>:(\d+): (.*)", str(error), re.S)
    if match is None:
        return f"cannot parse: {error}"
    given = [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith((";", "#"))
    ]
    index = int(match.group(1)) - 2
    where = f" line {given[index]}" if 0 <= index < len(given) else ""
    return f"cannot parse{where}: {match.group(2)}"

"""
The TSIG keys that may update zones, and what each may change.

Each C{--allow-update KEYFILE[:SUFFIX[:TYPES]]} value gives grants (L{parseAllowUpdate}): every
key of a BIND or Knot key file (L{readTSIGKeys}), limited to names at or below a suffix and to
some record types (L{UpdateGrant}). The grants are checked against each other when the server
starts (L{checkKeyNames}), against the zones it serves (L{zonesReached},
L{zonesSignedElsewhere}), and against every update a key signs (L{checkPolicy}).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import dns.exception
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.zone

from txdane.errors import TxdaneError
from txdane.server.signing import NSEC3Options
from txdane.server.updaterules import META_TYPES, SIGNER_TYPES, UpdateRefused
from txdane.server.zones import ZoneIndex
from txdane.tsig import TSIGKeyError, readTSIGKeyFile

#: The record types a key may change when its grant names none.
DEFAULT_UPDATE_TYPES = frozenset({dns.rdatatype.TLSA, dns.rdatatype.SSHFP})
#: TSIG algorithms accepted in key files (no MD5 or SHA-1).
TSIG_ALGORITHMS: dict[str, dns.name.Name] = {
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}


class UpdateKeyError(TxdaneError):
    """
    A TSIG key file or an C{--allow-update} value cannot be used.

    @ivar source: the file or the option's value.
    @ivar reason: what is wrong with it.
    """

    source: str
    reason: str
    template = "{source}: {reason}"


def readTSIGKeys(path: str | os.PathLike[str]) -> list[dns.tsig.Key]:
    """
    The TSIG keys in C{path}, every one of them: BIND's C{key "name" { algorithm ...; secret
    "..."; };} statements (what C{tsig-keygen} and C{ddns-confgen -q} write), or Knot's C{key:}
    list in YAML (what C{keymgr -t} writes); see L{txdane.tsig}. Keys must use one of
    L{TSIG_ALGORITHMS}. A BIND file holds nothing else but blanks and comments.

    @raise UpdateKeyError: the file is unreadable, holds no usable key, or holds text besides
        its key statements.
    """
    source = os.fspath(path)
    try:
        keys = readTSIGKeyFile(source)
    except TSIGKeyError as e:
        raise UpdateKeyError(source, e.reason) from None
    accepted = []
    for key in keys:
        if key.algorithm not in TSIG_ALGORITHMS:
            allowed = ", ".join(TSIG_ALGORITHMS)
            raise UpdateKeyError(
                source, f"key {key.name}: algorithm {key.algorithm} (use one of {allowed})"
            )
        accepted.append(key.toDNSPython())
    return accepted


@dataclass(frozen=True)
class UpdateGrant:
    """
    What one key may change: records of C{types} at or below C{suffix}.

    @ivar key: the TSIG key.
    @ivar suffix: the names the key may change are this one and those below it; C{None}:
        any name of any zone the server holds.
    @ivar types: the record types it may change.
    @ivar keyFile: the file the key was read from, named in errors; C{None} for a key given
        otherwise.
    """

    key: dns.tsig.Key
    suffix: dns.name.Name | None = None
    types: frozenset[int] = DEFAULT_UPDATE_TYPES
    keyFile: str | None = field(default=None, compare=False)

    def allows(self, name: dns.name.Name, rdtype: int) -> bool:
        """
        Whether this grant covers C{rdtype} records at C{name}.
        """
        if self.suffix is not None and not name.is_subdomain(self.suffix):
            return False
        return rdtype in self.types


def parseAllowUpdate(value: str) -> list[UpdateGrant]:
    """
    The grants of one C{--allow-update} value, C{KEYFILE[:SUFFIX[:TYPE,TYPE...]]}: every key
    in C{KEYFILE}, limited to names at or below C{SUFFIX} (empty or absent: anywhere) and to
    the types listed (absent: TLSA and SSHFP).

    @raise UpdateKeyError: the file or the limits are unusable.
    """
    path, _, rest = value.partition(":")
    suffixText, _, typesText = rest.partition(":")
    suffix = None
    if suffixText:
        try:
            suffix = dns.name.from_text(suffixText)
        except dns.exception.DNSException as e:
            raise UpdateKeyError(value, f"{suffixText!r} is not a domain name ({e})") from None
    types = DEFAULT_UPDATE_TYPES
    if typesText:
        chosen = set()
        for word in typesText.split(","):
            try:
                rdtype = dns.rdatatype.from_text(word.strip())
            except dns.exception.DNSException:
                raise UpdateKeyError(value, f"{word!r} is not a record type") from None
            if rdtype in SIGNER_TYPES or rdtype in META_TYPES or rdtype == dns.rdatatype.SOA:
                reason = f"{dns.rdatatype.to_text(rdtype)} records cannot be updated"
                raise UpdateKeyError(value, reason)
            chosen.add(rdtype)
        types = frozenset(chosen)
    if not path:
        raise UpdateKeyError(value, "no key file")
    return [UpdateGrant(key, suffix, types, path) for key in readTSIGKeys(path)]


def checkKeyNames(grants: Iterable[UpdateGrant]) -> None:
    """
    Refuse one key name defined two ways (another algorithm or secret) in the key files of
    C{grants}: a request signed under that name would be checked with the first definition
    only, and the holder of the other would be refused with no word why. The same definition
    read twice, from one file or two, is one key.

    @raise UpdateKeyError: naming the key and both files.
    """
    first: dict[dns.name.Name, UpdateGrant] = {}
    for grant in grants:
        earlier = first.setdefault(grant.key.name, grant)
        if earlier.key == grant.key:
            continue
        if earlier.key.algorithm != grant.key.algorithm:
            other = (
                f"algorithm ({_algorithmText(grant.key.algorithm)}, not "
                f"{_algorithmText(earlier.key.algorithm)})"
            )
        else:
            other = "secret"
        raise UpdateKeyError(
            grant.keyFile or "--allow-update",
            f"key {grant.key.name} is also in {earlier.keyFile or 'another key file'}, with "
            f"another {other}: give it one definition, or the two keys different names",
        )


def _algorithmText(algorithm: dns.name.Name) -> str:
    """
    An algorithm's name as key files write it (C{hmac-sha256}).
    """
    for text, name in TSIG_ALGORITHMS.items():
        if name == algorithm:
            return text
    return algorithm.to_text(omit_final_dot=True)


def zonesReached(
    suffix: dns.name.Name | None, origins: Iterable[dns.name.Name]
) -> set[dns.name.Name]:
    """
    The zones (of those whose apexes are C{origins}) that hold names a grant for names at or
    below C{suffix} (C{None}: anywhere) may change: the zone that holds C{suffix} (the
    closest enclosing one) and every zone at or below it. Empty when no zone holds such
    names, so that every update under the grant would be refused.
    """
    origins = list(origins)
    if suffix is None:
        return set(origins)
    reached = {origin for origin in origins if origin.is_subdomain(suffix)}
    enclosing = [origin for origin in origins if suffix.is_subdomain(origin)]
    if enclosing:
        reached.add(max(enclosing, key=len))
    return reached


def zonesSignedElsewhere(
    suffix: dns.name.Name | None,
    sources: Sequence[UpdateZone],
    zones: Sequence[ZoneIndex],
) -> list[dns.name.Name]:
    """
    The zones that a grant for names at or below C{suffix} (C{None}: anywhere) reaches, when
    every one of them is signed elsewhere: served as it is, with DNSSEC records and no key,
    so that every update to it is refused. Empty when one of them can take updates, or when
    no zone holds such names.

    The reach: the zone that holds C{suffix} (the closest enclosing one) and every zone at
    or below C{suffix}.

    @param sources: where each zone comes from, in the order of C{zones}.
    """
    reached = zonesReached(suffix, [source.origin for source in sources])
    elsewhere = {s.origin for s, served in zip(sources, zones) if signedElsewhere(s, served)}
    if not reached or not reached <= elsewhere:
        return []
    return sorted(reached)


def signedElsewhere(source: UpdateZone, served: ZoneIndex) -> bool:
    """
    Whether a zone is served as it was signed by someone else: with DNSSEC records, and no
    key to sign a change with.
    """
    return served.signed and not source.keys


class UpdateZone(Protocol):
    """
    Where an updatable zone comes from (what L{txdane.server.service.ZoneSource} holds).

    @ivar origin: the zone's apex.
    @ivar path: the master file, rewritten after each update.
    @ivar keys: key file paths; with none, the zone is served unsigned.
    @ivar nsec3: the NSEC3 options it is signed with, or C{None} for NSEC.
    """

    @property
    def origin(self) -> dns.name.Name: ...

    @property
    def path(self) -> str: ...

    @property
    def keys(self) -> tuple[str, ...]: ...

    @property
    def nsec3(self) -> NSEC3Options | None: ...


def _allowed(grants: Sequence[UpdateGrant], name: dns.name.Name, rdtype: int) -> bool:
    return any(grant.allows(name, rdtype) for grant in grants)


def checkPolicy(
    zone: dns.zone.Zone, updates: Iterable[dns.rrset.RRset], grants: Sequence[UpdateGrant]
) -> None:
    """
    REFUSED unless the key may change every record the update touches; deleting every
    RRset of a name needs the right to each type the name has.
    """
    for rrset in updates:
        if rrset.rdtype == dns.rdatatype.ANY:
            node = zone.nodes.get(rrset.name)
            types = [r.rdtype for r in node.rdatasets] if node is not None else []
            inside = [g for g in grants if g.suffix is None or rrset.name.is_subdomain(g.suffix)]
            if not inside:
                raise UpdateRefused(dns.rcode.REFUSED)
        else:
            types = [rrset.rdtype]
        for rdtype in types:
            if not _allowed(grants, rrset.name, rdtype):
                raise UpdateRefused(dns.rcode.REFUSED)

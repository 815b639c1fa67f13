"""
Host-key verification by DNSSEC-signed SSHFP records, for Conch.

L{checkHostKey} is the rule, a pure function of an answer and a key. L{SSHFPKnownHosts} puts
it where Conch looks for host-key verification (its C{knownHosts}), with a known_hosts file as
the fallback for names the DNS cannot vouch for. L{preferredHostKeyAlgorithms} narrows the
host-key algorithms a client offers to those the records cover, so the server proves a key the
records vouch for or the key exchange fails.
"""

from __future__ import annotations

import copy
import enum
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from twisted.conch.client.knownhosts import ConsoleUI, HashedEntry, KnownHostsFile
from twisted.conch.interfaces import IKnownHostEntry
from twisted.conch.ssh.keys import Key
from twisted.internet.defer import Deferred
from twisted.python.filepath import FilePath

from txdane.names import isAddress
from txdane.ssh.fingerprints import (
    HOST_KEY_ALGORITHMS,
    KeyFormatError,
    SSHFPAlgorithm,
    SSHFPRecord,
    SSHFPType,
    algorithmOf,
    keyType,
    recordsForBlob,
)
from txdane.ssh.refusals import SSHFPLookupError, SSHFPMismatchError, SSHFPUnverifiedError
from txdane.status import Status
from txdane.validation import Answer, IDNSSECResolver, LookupFailedError

#: Algorithms whose keys SSHFP records never vouch for. DSA host keys are 1024-bit and were
#: removed from OpenSSH 10.0; OpenSSH's own SSHFP check has no DSA case either (such a key
#: falls through to known_hosts), and so a DSA key is treated as if no record covered it.
UNVERIFIABLE_ALGORITHMS = frozenset({SSHFPAlgorithm.DSA})


class Outcome(enum.Enum):
    """
    What the SSHFP records say about a host key.

    @cvar MATCHED: secure records of the key's algorithm exist and one matches: accept.
    @cvar MISMATCHED: secure records of the key's algorithm exist and none matches: refuse.
    @cvar UNVERIFIABLE: the records are insecure or absent, or none is usable for the key's
        algorithm: the DNS says nothing, so the fallback (or C{require}) decides.
    @cvar FAILED: the lookup was bogus or indeterminate: refuse, never fall back.
    """

    MATCHED = "matched"
    MISMATCHED = "mismatched"
    UNVERIFIABLE = "unverifiable"
    FAILED = "failed"


@dataclass(frozen=True)
class HostKeyVerdict:
    """
    The outcome of comparing a host key with an SSHFP answer, and the evidence.

    @ivar outcome: the verdict.
    @ivar reason: why, one line.
    @ivar algorithm: the key's SSHFP algorithm (C{None} for a key type SSHFP cannot name).
    @ivar records: every SSHFP record of the answer.
    @ivar compared: the records compared with the key.
    @ivar matched: the record that matched, if any.
    @ivar expected: the key's own records for the fingerprint types compared (what to publish).
    """

    outcome: Outcome
    reason: str
    algorithm: SSHFPAlgorithm | None
    records: tuple[SSHFPRecord, ...] = ()
    compared: tuple[SSHFPRecord, ...] = ()
    matched: SSHFPRecord | None = None
    expected: tuple[SSHFPRecord, ...] = ()


def answerRecords(answer: Answer) -> tuple[SSHFPRecord, ...]:
    """
    The SSHFP records of an answer.
    """
    return tuple(SSHFPRecord.fromRdata(r) for r in answer.records)


def usableRecords(records: Sequence[SSHFPRecord], algorithm: int) -> tuple[SSHFPRecord, ...]:
    """
    The records of C{records} to compare with a key of C{algorithm}: its SHA-256 records, or,
    only when it has none, its SHA-1 records. Records of other fingerprint types are ignored.
    """
    ofAlgorithm = [r for r in records if r.algorithm == algorithm]
    strong = tuple(r for r in ofAlgorithm if r.fingerprintType == SSHFPType.SHA256)
    return strong or tuple(r for r in ofAlgorithm if r.fingerprintType == SSHFPType.SHA1)


def checkHostKey(answer: Answer, keyBlob: bytes) -> HostKeyVerdict:
    """
    Compare a host key with the SSHFP records of the host (RFC 4255 section 2.1, RFC 6594).

      - bogus or indeterminate answer: L{Outcome.FAILED};
      - insecure answer, no records, a key type without a usable SSHFP algorithm, or no
        usable record of the key's algorithm: L{Outcome.UNVERIFIABLE};
      - otherwise the key's algorithm's SHA-256 records (its SHA-1 records only when it has
        no SHA-256 record) are compared with the key's fingerprints: if any matches,
        L{Outcome.MATCHED} (so old and new keys may be published together during a key
        rotation), else L{Outcome.MISMATCHED}.

    @param answer: the validated SSHFP answer for the host name.
    @param keyBlob: the server's public key blob.
    """
    records = answerRecords(answer)
    try:
        algorithm = algorithmOf(keyBlob)
    except KeyFormatError:
        algorithm = None
    if answer.status in (Status.BOGUS, Status.INDETERMINATE):
        return HostKeyVerdict(
            Outcome.FAILED, answer.reason or f"the answer is {answer.status}", algorithm, records
        )
    if answer.status is Status.INSECURE:
        reason = "the SSHFP records are insecure (not signed with DNSSEC)"
        if not records:
            reason = "the name is not signed with DNSSEC"
        return HostKeyVerdict(Outcome.UNVERIFIABLE, reason, algorithm, records)
    if not records:
        return HostKeyVerdict(
            Outcome.UNVERIFIABLE, "the name has no SSHFP records (proven absent)", algorithm
        )
    if algorithm is None or algorithm in UNVERIFIABLE_ALGORITHMS:
        return HostKeyVerdict(
            Outcome.UNVERIFIABLE,
            f"SSHFP records do not vouch for {_keyName(keyBlob, algorithm)} keys",
            algorithm,
            records,
        )
    compared = usableRecords(records, algorithm)
    if not compared:
        return HostKeyVerdict(
            Outcome.UNVERIFIABLE,
            f"no SSHFP record covers the server's {algorithm.mnemonic} key",
            algorithm,
            records,
        )
    own = {r.fingerprintType: r for r in recordsForBlob(keyBlob)}
    expected = tuple(own[t] for t in sorted({r.fingerprintType for r in compared}))
    for record in compared:
        if hmac.compare_digest(record.fingerprint, own[record.fingerprintType].fingerprint):
            return HostKeyVerdict(
                Outcome.MATCHED,
                f"SSHFP {record.short()} ({record.mnemonic}) matched",
                algorithm,
                records,
                compared,
                record,
                expected,
            )
    return HostKeyVerdict(
        Outcome.MISMATCHED,
        f"no SSHFP record matched the server's {algorithm.mnemonic} key",
        algorithm,
        records,
        compared,
        None,
        expected,
    )


def _keyName(blob: bytes, algorithm: SSHFPAlgorithm | None) -> str:
    if algorithm is not None:
        return algorithm.mnemonic
    try:
        return keyType(blob).decode(errors="replace")
    except KeyFormatError:
        return "malformed"


def coveredAlgorithms(answer: Answer | None) -> frozenset[SSHFPAlgorithm]:
    """
    The key algorithms that secure, usable SSHFP records of C{answer} cover.
    """
    if answer is None or not answer.secure:
        return frozenset()
    covered = set()
    for record in answerRecords(answer):
        if record.fingerprintType not in SSHFPType._value2member_map_:
            continue
        try:
            algorithm = SSHFPAlgorithm(record.algorithm)
        except ValueError:
            continue
        if algorithm not in UNVERIFIABLE_ALGORITHMS:
            covered.add(algorithm)
    return frozenset(covered)


def preferredHostKeyAlgorithms(answer: Answer | None, offered: Sequence[bytes]) -> list[bytes]:
    """
    The host-key algorithms to offer, from C{offered} (a client's, most preferred first):
    where the secure SSHFP records of C{answer} cover some of them, only those, in the
    client's order; otherwise C{offered} unchanged.

    The server picks the first algorithm of the client's list it has a key for (RFC 4253
    section 7.1). Offering only the covered ones means the server must prove a key the zone
    vouches for: a server (or an attacker on the path) without such a key fails the key
    exchange, instead of presenting a key of another algorithm that only C{known_hosts} or a
    prompt would judge. OpenSSH offers its usual list whatever the records say; this is a
    deliberate difference. (Conch also lists Ed25519 last, so without this a server with
    ECDSA and Ed25519 keys would prove its ECDSA key even when the zone publishes only
    Ed25519 fingerprints.)
    """
    covered = coveredAlgorithms(answer)
    chosen = [a for a in offered if HOST_KEY_ALGORITHMS.get(a) in covered]
    return chosen or list(offered)


class SSHFPKnownHosts(KnownHostsFile):
    """
    Verifies SSH host keys by the DNSSEC-validated SSHFP records of the host name, and falls
    back to a known_hosts file where the DNS cannot vouch for a key. Give it to Conch where it
    takes a C{knownHosts} (it is a C{KnownHostsFile}, as Conch checks), or use
    L{sshCommandEndpoint<txdane.ssh.sshCommandEndpoint>}, which also does the lookup before
    connecting and offers only the host-key algorithms the records cover.

      - secure records of the key's algorithm, one matches: accepted;
      - secure records of the key's algorithm, none matches: refused with
        L{SSHFPMismatchError} (the known_hosts file is not consulted);
      - insecure or absent records, or none usable for the key's algorithm: the fallback's
        C{verifyHostKey} decides (Conch's known_hosts behaviour, prompts through C{ui}
        included), or, with C{require} or without a fallback, refused with
        L{SSHFPUnverifiedError};
      - bogus, indeterminate or failed lookup: refused with L{SSHFPLookupError}; the fallback
        is never consulted.

    See L{checkHostKey} for the matching rule.

    @ivar resolver: the validating resolver.
    @ivar fallback: the known_hosts file for unverifiable keys, or C{None}.
    @ivar require: refuse keys the records cannot vouch for instead of falling back.
    """

    def __init__(
        self,
        resolver: IDNSSECResolver,
        fallback: KnownHostsFile | None = None,
        *,
        require: bool = False,
    ) -> None:
        """
        @param resolver: the validating resolver for the SSHFP lookups.
        @param fallback: the known_hosts file consulted for keys the records cannot vouch
            for; C{None} refuses them.
        @param require: refuse keys the records cannot vouch for even with a fallback.
        @raise TypeError: for a C{require} that is not a C{bool} (C{"no"} would be true).
        """
        if type(require) is not bool:
            raise TypeError(f"require must be True or False, not {require!r}")
        savePath = fallback.savePath if fallback is not None else FilePath("/dev/null")
        super().__init__(savePath)
        self.resolver = resolver
        self.fallback = fallback
        self.require = require
        self._bound: tuple[str, Answer | None] | None = None

    def lookupFingerprints(self, hostname: str | bytes) -> Deferred[Answer | None]:
        """
        Look up and validate the SSHFP records of C{hostname}.

        @return: a C{Deferred} firing with the answer (C{None} for an address literal, which
            has no SSHFP records), or failing with L{SSHFPLookupError} when the answer is
            bogus or indeterminate or the lookup failed, and with L{SSHFPUnverifiedError}
            when verification is required and the answer cannot provide it.
        """
        return Deferred.fromCoroutine(self._lookup(_text(hostname)))

    async def _lookup(self, host: str) -> Answer | None:
        if isAddress(host.strip("[]")):
            if self.require or self.fallback is None:
                raise SSHFPUnverifiedError(
                    host, Status.INSECURE, "an address has no SSHFP records", None
                )
            return None
        try:
            answer: Answer = await self.resolver.lookupSSHFP(host)
        except LookupFailedError as e:
            raise SSHFPLookupError(host, None, e.reason, e.ede) from e
        if answer.status in (Status.BOGUS, Status.INDETERMINATE):
            raise SSHFPLookupError(host, answer.status, answer.reason, answer.ede)
        if (self.require or self.fallback is None) and not coveredAlgorithms(answer):
            raise SSHFPUnverifiedError(host, answer.status, _unverifiableReason(answer), None)
        return answer

    def boundTo(self, hostname: str | bytes, answer: Answer | None) -> SSHFPKnownHosts:
        """
        A copy of this verifier that uses C{answer} (from L{lookupFingerprints}) for
        C{hostname} instead of looking it up again: the answer that chose the host-key
        algorithms also judges the key.
        """
        bound = copy.copy(self)
        bound._bound = (_text(hostname).rstrip(".").lower(), answer)
        return bound

    def verifyHostKey(self, ui: ConsoleUI, hostname: bytes, ip: bytes, key: Key) -> Deferred[bool]:
        """
        Verify the host key of C{hostname} by its SSHFP records (see the class docstring).

        @param ui: passed to the fallback, for its prompts.
        @param hostname: the host name the user asked to connect to.
        @param ip: the address connected to (used by the fallback only).
        @param key: the server's host key.
        @return: a C{Deferred} firing with C{True}, or failing with an L{SSHHostKeyError
            <txdane.ssh.refusals.SSHHostKeyError>} or the fallback's error.
        """
        return Deferred.fromCoroutine(self._verify(ui, hostname, ip, key))

    async def _verify(self, ui: ConsoleUI, hostname: bytes, ip: bytes, key: Key) -> bool:
        host = _text(hostname)
        if self._bound is not None and self._bound[0] == host.rstrip(".").lower():
            answer = self._bound[1]
        else:
            answer = await self.lookupFingerprints(host)
        blob = key.blob()
        if answer is None:
            verdict = HostKeyVerdict(
                Outcome.UNVERIFIABLE, "an address has no SSHFP records", algorithmOf(blob)
            )
        else:
            verdict = checkHostKey(answer, blob)
        if verdict.outcome is Outcome.MATCHED:
            return True
        if verdict.outcome is Outcome.FAILED:
            assert answer is not None
            raise SSHFPLookupError(host, answer.status, verdict.reason, answer.ede)
        if verdict.outcome is Outcome.MISMATCHED:
            assert verdict.algorithm is not None
            raise SSHFPMismatchError(
                host.rstrip("."),
                blob,
                verdict.algorithm,
                verdict.compared,
                verdict.records,
                verdict.expected,
            )
        if self.require or self.fallback is None:
            status = answer.status if answer is not None else Status.INSECURE
            raise SSHFPUnverifiedError(host, status, verdict.reason, blob)
        result: bool = await self.fallback.verifyHostKey(ui, hostname, ip, key)
        return result

    def hasHostKey(self, hostname: bytes, key: Key) -> bool:
        """
        Whether the fallback file knows C{key} for C{hostname} (SSHFP records are not
        consulted: that needs a lookup, see L{verifyHostKey}).
        """
        return self.fallback is not None and self.fallback.hasHostKey(hostname, key)

    def addHostKey(self, hostname: bytes, key: Key) -> HashedEntry:
        """
        Add a key to the fallback file.

        @raise ValueError: there is none.
        """
        if self.fallback is None:
            raise ValueError("no known_hosts file to add keys to")
        return self.fallback.addHostKey(hostname, key)

    def save(self) -> None:
        """
        Save the fallback file (if there is one).
        """
        if self.fallback is not None:
            self.fallback.save()

    def iterentries(self) -> Iterable[IKnownHostEntry]:
        """
        The entries of the fallback file.
        """
        return self.fallback.iterentries() if self.fallback is not None else iter(())


def _unverifiableReason(answer: Answer) -> str:
    if answer.status is not Status.SECURE:
        return f"the SSHFP answer is {answer.status} (not signed with DNSSEC)"
    if not answer.exists:
        return "the name has no SSHFP records (proven absent)"
    return "no SSHFP record is usable (" + ", ".join(r.short() for r in answerRecords(answer)) + ")"


def _text(hostname: str | bytes) -> str:
    return hostname.decode("ascii") if isinstance(hostname, bytes) else hostname

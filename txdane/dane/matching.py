"""
The DANE matching rules (RFC 6698, RFC 7671; RFC 7672 for SMTP): do the certificates a server
presented satisfy a set of DNSSEC-validated TLSA records?

L{verifyChain} is a pure function of the records, the certificates and L{MatchOptions}; it
knows nothing of DNS status or policy (see L{txdane.dane.decision}) nor of TLS (see
L{txdane.dane.tls}). Its L{DANEResult} names the record that matched and the chain depth, or
every record that was tried and why it did not match.

Usages are tried in the order DANE-EE, DANE-TA, PKIX-EE, PKIX-TA, and the first that
authenticates the server wins, as in OpenSSL.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509

from txdane.dane._strength import strengthProblem
from txdane.dane._tapath import (
    MAX_CHAIN_LENGTH,
    MAX_SIGNATURE_CHECKS,
    extendPath,
    findTrustAnchor,
    pathProblem,
    selectedOrNone,
)
from txdane.dane.pkix import PKIXTrust, nameMismatch, verifyPath
from txdane.dane.tlsa import (
    MatchingType,
    Selector,
    TLSARecord,
    Usage,
    associationData,
)


class FailureKind(enum.Enum):
    """
    Why a set of TLSA records did not authenticate a server.
    """

    #: No usable record matched any certificate.
    NO_MATCH = "no TLSA record matched"
    #: Every record is unusable; the caller's policy decides (RFC 7671 section 4.1).
    ALL_UNUSABLE = "every TLSA record is unusable"
    #: A record matched, but the certificate is not valid for the reference identifiers.
    NAME = "the certificate does not match the name"
    #: A PKIX record matched, but no PKIX path to a trusted root exists.
    PKIX = "no trusted PKIX path"
    #: A DANE record matched, but the certificates are not valid: for DANE-TA, the path to
    #: it (dates, CA flags, length); for any usage, a key or signature too weak
    #: (L{txdane.dane._strength}).
    CHAIN = "the certificate chain is not valid"
    #: The server sent no certificate.
    NO_CERTIFICATE = "the server sent no certificate"


class CheckOutcome(enum.Enum):
    """
    What happened to one TLSA record during a verification.
    """

    MATCHED = "matched"
    NO_MATCH = "no match"
    UNUSABLE = "unusable"
    IGNORED = "ignored"
    NOT_TRIED = "not tried"


@dataclass(frozen=True)
class RecordCheck:
    """
    One record's part in a verification.

    @ivar record: the record.
    @ivar outcome: what happened to it.
    @ivar depth: the chain depth it matched at, if it matched.
    @ivar reason: why it did not match (or was unusable or ignored), for people.
    """

    record: TLSARecord
    outcome: CheckOutcome
    depth: int | None = None
    reason: str = ""

    def __str__(self) -> str:
        text = f"{self.record.shortText()} {self.record.mnemonic}: {self.outcome.value}"
        if self.depth is not None:
            text += f" at depth {self.depth}"
        return f"{text} ({self.reason})" if self.reason else text


@dataclass(frozen=True)
class MatchOptions:
    """
    How to match.

    @ivar referenceNames: the names the server's certificate must be valid for where names
        are checked: the TLSA base domain (after validated CNAME expansion, RFC 7671 section
        7) first, then any the caller adds (the MX or SRV domain).
    @ivar checkDANEEENames: check names for DANE-EE(3) too (off by default, RFC 7671 section
        5.1; web clients may turn it on).
    @ivar smtp: apply RFC 7672: PKIX usages are unusable.
    @ivar trust: the PKIX roots for PKIX-TA and PKIX-EE.
    @ivar now: the time to check validity dates at; C{None} for the current time.
    @ivar maxChainLength: see L{txdane.dane._tapath.MAX_CHAIN_LENGTH}.
    @ivar maxSignatureChecks: see L{txdane.dane._tapath.MAX_SIGNATURE_CHECKS}.
    """

    referenceNames: tuple[str, ...] = ()
    checkDANEEENames: bool = False
    smtp: bool = False
    trust: PKIXTrust = field(default_factory=PKIXTrust)
    now: datetime.datetime | None = None
    maxChainLength: int = MAX_CHAIN_LENGTH
    maxSignatureChecks: int = MAX_SIGNATURE_CHECKS

    def __post_init__(self) -> None:
        """
        @raise TypeError: for reference names given as one string (which would be read one
            letter at a time) or of another type, PKIX roots that are not L{PKIXTrust}, flags
            that are not C{bool}, a C{now} without a time zone, bounds that are not C{int}.
        @raise ValueError: for a bound below 1.
        """
        names = self.referenceNames
        if isinstance(names, (str, bytes)) or not all(isinstance(n, str) for n in names):
            raise TypeError(f"referenceNames must be a sequence of names (str), not {names!r}")
        object.__setattr__(self, "referenceNames", tuple(names))
        if not isinstance(self.trust, PKIXTrust):
            raise TypeError(f"trust must be a PKIXTrust, not {self.trust!r}")
        for flag in ("checkDANEEENames", "smtp"):
            if type(getattr(self, flag)) is not bool:
                # A string such as "no" would be true.
                raise TypeError(f"{flag} must be True or False, not {getattr(self, flag)!r}")
        now = self.now
        if now is not None and not (isinstance(now, datetime.datetime) and now.tzinfo):
            # A naive time cannot be compared with a certificate's validity dates.
            raise TypeError(f"now must be an aware datetime (with tzinfo) or None, not {now!r}")
        for bound in ("maxChainLength", "maxSignatureChecks"):
            value = getattr(self, bound)
            if type(value) is not int:
                raise TypeError(f"{bound} must be an int, not {value!r}")
            if value < 1:
                raise ValueError(f"{bound} {value} is not at least 1")


def smtpUnusableReason(record: TLSARecord) -> str | None:
    """
    Why C{record} is unusable under the SMTP rules (RFC 7672 section 3.1.3: the PKIX usages
    are not used), beside any reason of its own; C{None} for a DANE usage.
    """
    if record.usage in (Usage.PKIX_TA, Usage.PKIX_EE):
        return "PKIX usages are not used for SMTP (RFC 7672 section 3.1.3)"
    return None


@dataclass(frozen=True)
class DANEResult:
    """
    The outcome of L{verifyChain}.

    @ivar verified: whether the records authenticate the server.
    @ivar chain: the certificates the server presented, leaf first.
    @ivar checks: every record, in the order given, with what happened to it.
    @ivar record: the record that matched (on success; on failure, the one that matched
        before a later check failed), or C{None}.
    @ivar depth: the chain depth C{record} matched at, or C{None}.
    @ivar failure: why verification failed, or C{None}.
    @ivar reason: the detail of C{failure}, for people.
    @ivar path: on DANE-TA or PKIX success, the path from the leaf to the trust anchor.
    """

    verified: bool
    chain: tuple[x509.Certificate, ...]
    checks: tuple[RecordCheck, ...]
    record: TLSARecord | None = None
    depth: int | None = None
    failure: FailureKind | None = None
    reason: str = ""
    path: tuple[x509.Certificate, ...] = ()

    @property
    def usableRecords(self) -> tuple[TLSARecord, ...]:
        """
        The records that were usable (tried, ignored for agility, or matched).
        """
        return tuple(c.record for c in self.checks if c.outcome is not CheckOutcome.UNUSABLE)

    def summary(self) -> str:
        """
        One line: the verdict, then the evidence in parentheses.
        """
        if self.verified:
            assert self.record is not None
            return (
                f"verified by {self.record.shortText()} {self.record.mnemonic}"
                f" at depth {self.depth}"
            )
        assert self.failure is not None
        if self.failure is FailureKind.NO_MATCH:
            tried = [c for c in self.checks if c.outcome is CheckOutcome.NO_MATCH]
            detail = "; ".join(f"{c.record.shortText()}: {c.reason}" for c in tried)
        elif self.failure is FailureKind.ALL_UNUSABLE:
            detail = "; ".join(f"{c.record.shortText()}: {c.reason}" for c in self.checks)
        elif self.record is not None:
            detail = f"{self.record.shortText()} matched at depth {self.depth}: {self.reason}"
        else:
            detail = self.reason
        return f"{self.failure.value} ({detail})" if detail else self.failure.value


def certificateLabel(certificate: x509.Certificate) -> str:
    """
    A short description of a certificate for messages: its subject, or "no subject".
    """
    return certificate.subject.rfc4514_string() or "no subject"


def _matches(record: TLSARecord, certificate: x509.Certificate) -> bool:
    selected = selectedOrNone(certificate, record.selector)
    return selected is not None and associationData(selected, record.matchingType) == record.data


def _noMatchReason(record: TLSARecord, certificate: x509.Certificate) -> str:
    what = "key" if record.selector == Selector.SPKI else "certificate"
    selected = selectedOrNone(certificate, record.selector)
    if selected is None:
        return "the server's key is of a type this library cannot use"
    if record.matchingType == MatchingType.FULL:
        return f"the server's {what} differs"
    actual = associationData(selected, record.matchingType)
    shown = actual.hex()
    return f"the server's {what} hashes to {shown[:8]}...{shown[-4:]}"


def _sortRecords(
    records: Iterable[TLSARecord], smtp: bool
) -> tuple[list[TLSARecord], dict[int, RecordCheck]]:
    """
    Split C{records} into those to try and those unusable or ignored under digest agility
    (RFC 7671 section 9), keyed by position.
    """
    records = list(records)
    rejected: dict[int, RecordCheck] = {}
    usable: list[tuple[int, TLSARecord]] = []
    for index, record in enumerate(records):
        reason = record.unusableReason
        if reason is None and smtp:
            reason = smtpUnusableReason(record)
        if reason is not None:
            rejected[index] = RecordCheck(record, CheckOutcome.UNUSABLE, reason=reason)
        else:
            usable.append((index, record))
    strongest: dict[tuple[int, int], int] = {}
    for _, record in usable:
        if record.matchingType != MatchingType.FULL:
            key = (record.usage, record.selector)
            strongest[key] = max(strongest.get(key, 0), record.matchingType)
    kept: list[TLSARecord] = []
    for index, record in usable:
        best = strongest.get((record.usage, record.selector))
        if record.matchingType not in (MatchingType.FULL, best):
            assert best is not None
            rejected[index] = RecordCheck(
                record,
                CheckOutcome.IGNORED,
                reason=f"a {MatchingType(best).mnemonic} record is published for the same"
                " usage and selector (RFC 7671 section 9)",
            )
        else:
            kept.append(record)
    return kept, rejected


@dataclass
class _Attempt:
    """
    Accumulates the per-record outcomes and the first matched-but-failed record.
    """

    checks: dict[TLSARecord, RecordCheck] = field(default_factory=dict)
    failure: FailureKind | None = None
    failedRecord: TLSARecord | None = None
    failedDepth: int | None = None
    reason: str = ""

    def noMatch(self, record: TLSARecord, reason: str) -> None:
        self.checks.setdefault(record, RecordCheck(record, CheckOutcome.NO_MATCH, reason=reason))

    def matched(self, record: TLSARecord, depth: int, problem: str = "") -> None:
        self.checks[record] = RecordCheck(record, CheckOutcome.MATCHED, depth, problem)

    def fail(self, kind: FailureKind, record: TLSARecord, depth: int, reason: str) -> None:
        self.matched(record, depth, reason)
        if self.failure is None:
            self.failure, self.failedRecord, self.failedDepth = kind, record, depth
            self.reason = reason


def verifyChain(
    records: Iterable[TLSARecord],
    chain: Sequence[x509.Certificate],
    options: MatchOptions,
) -> DANEResult:
    """
    Decide whether C{records} authenticate a server that presented C{chain} (leaf first).
    """
    allRecords = list(records)
    chain = tuple(chain)
    kept, rejected = _sortRecords(allRecords, options.smtp)
    attempt = _Attempt()
    now = options.now or datetime.datetime.now(datetime.timezone.utc)

    def result(
        verified: bool,
        record: TLSARecord | None = None,
        depth: int | None = None,
        path: tuple[x509.Certificate, ...] = (),
    ) -> DANEResult:
        checks = []
        for index, each in enumerate(allRecords):
            if index in rejected:
                checks.append(rejected[index])
            else:
                checks.append(attempt.checks.get(each, RecordCheck(each, CheckOutcome.NOT_TRIED)))
        if verified:
            return DANEResult(True, chain, tuple(checks), record, depth, path=path)
        if not kept:
            return DANEResult(False, chain, tuple(checks), failure=FailureKind.ALL_UNUSABLE)
        if not chain:
            return DANEResult(False, chain, tuple(checks), failure=FailureKind.NO_CERTIFICATE)
        if attempt.failure is not None:
            return DANEResult(
                False,
                chain,
                tuple(checks),
                attempt.failedRecord,
                attempt.failedDepth,
                attempt.failure,
                attempt.reason,
            )
        return DANEResult(False, chain, tuple(checks), failure=FailureKind.NO_MATCH)

    if not kept or not chain:
        return result(False)
    leaf = chain[0]
    byUsage: dict[int, list[TLSARecord]] = {u: [] for u in Usage}
    for record in kept:
        byUsage[record.usage].append(record)

    # DANE-EE(3): the leaf's key or certificate; no dates, names only when asked; a key
    # strong enough, as for any usage.
    for record in byUsage[Usage.DANE_EE]:
        if not _matches(record, leaf):
            attempt.noMatch(record, _noMatchReason(record, leaf))
            continue
        problem = strengthProblem([leaf], anchorIsCertificate=True)
        if problem is not None:
            attempt.fail(FailureKind.CHAIN, record, 0, problem)
            continue
        problem = nameMismatch(leaf, options.referenceNames) if options.checkDANEEENames else None
        if problem is None:
            attempt.matched(record, 0)
            return result(True, record, 0, (leaf,))
        attempt.fail(FailureKind.NAME, record, 0, problem)

    # DANE-TA(2): a path, signature by signature, to an anchor in DNS.
    taRecords = byUsage[Usage.DANE_TA]
    if taRecords:
        search = findTrustAnchor(
            taRecords, chain, options.maxChainLength, options.maxSignatureChecks
        )
        found = search.match
        if found is None:
            for record in taRecords:
                attempt.noMatch(
                    record, search.problem or "no certificate or key of the chain matches"
                )
        else:
            for record in taRecords:
                if record != found.record:
                    attempt.noMatch(record, "a lower trust anchor matched first")
            anchorIsCertificate = not (
                found.record.selector == Selector.SPKI
                and found.record.matchingType == MatchingType.FULL
            )
            problem = pathProblem(found.path, now, anchorIsCertificate)
            if problem is not None:
                attempt.fail(FailureKind.CHAIN, found.record, found.depth, problem)
            else:
                problem = nameMismatch(leaf, options.referenceNames)
                if problem is None:
                    attempt.matched(found.record, found.depth)
                    return result(True, found.record, found.depth, found.path)
                attempt.fail(FailureKind.NAME, found.record, found.depth, problem)

    # PKIX-EE(1) and PKIX-TA(0): a PKIX path to a trusted root, and the record.
    pkixRecords = byUsage[Usage.PKIX_EE] + byUsage[Usage.PKIX_TA]
    if pkixRecords:
        # Full certificates published as PKIX-TA may fill in a missing intermediate.
        published = []
        for record in byUsage[Usage.PKIX_TA]:
            if record.selector == Selector.CERT and record.matchingType == MatchingType.FULL:
                try:
                    published.append(x509.load_der_x509_certificate(record.data))
                except ValueError:
                    pass
        outcome = verifyPath(leaf, [*chain[1:], *published], options.trust, options.now)
        # Candidates for PKIX-TA: (depth, certificate, the path up to it), lowest first.
        if outcome.valid:
            paths = [list(outcome.chain)]
            if byUsage[Usage.PKIX_TA]:
                # Past the root the local store stopped at, along the server's chain.
                paths.append(
                    extendPath(
                        outcome.chain,
                        [*chain[1:], *published],
                        options.maxChainLength,
                        options.maxSignatureChecks,
                    )
                )
        else:
            paths = [[leaf, *chain[1:], *published]]
        upper = sorted(
            ((d, c, p) for p in paths for d, c in enumerate(p) if d > 0),
            key=lambda item: item[0],
        )
        for record in pkixRecords:
            if record.usage == Usage.PKIX_EE:
                depth = 0 if _matches(record, leaf) else None
                path = paths[0]
            else:
                hit = next(((d, p) for d, c, p in upper if _matches(record, c)), None)
                depth, path = hit if hit is not None else (None, [])
            if depth is None:
                reason = (
                    _noMatchReason(record, leaf)
                    if record.usage == Usage.PKIX_EE
                    else "no certificate of the PKIX path matches"
                )
                attempt.noMatch(record, reason)
                continue
            if not outcome.valid:
                attempt.fail(FailureKind.PKIX, record, depth, outcome.error)
                continue
            # A PKIX-TA anchor above the local root: its extension was not validated.
            problem = strengthProblem(path[: depth + 1], anchorIsCertificate=True)
            if problem is not None:
                attempt.fail(FailureKind.PKIX, record, depth, problem)
                continue
            problem = nameMismatch(leaf, options.referenceNames)
            if problem is not None:
                attempt.fail(FailureKind.NAME, record, depth, problem)
                continue
            attempt.matched(record, depth)
            return result(True, record, depth, tuple(path[: depth + 1]))

    return result(False)

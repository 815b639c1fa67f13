"""
The mutation gate: every security behaviour the documentation promises, broken one line at
a time, must make its tests fail.

    python tools/mutations.py [--jobs N] [--list] [NAME ...]

Each L{Mutation} names a promise, the file that keeps it, the exact text to replace there
(it must occur exactly once), its replacement, and the test files (or test ids) that must
catch it. For each, the gate copies the source tree to a temporary directory (the working
tree is never touched), applies the mutation to the copy, and runs the named tests there with
C{pytest -x -q}: a failure is I{caught}, a pass I{survived}. Before that it runs every named
test once on an unmutated copy, since a test that already fails proves nothing. It prints one
line per mutation and exits with 1 if any mutation survived (2 if the unmutated tests fail
or a mutation no longer applies). C{--list} prints the mutations; names given on the command
line run only those.

Notes for contributors:

  - A new promise in the documentation (docs/limits.md, the guides) gets a mutation here:
    the one line whose loss would break it, and the tests that show it. Run the gate on
    the new entry (C{python tools/mutations.py NAME}) and see it caught.
  - When a change moves or rewrites a mutated line, the gate stops with "does not apply":
    update the entry's C{old} text (and C{new}) to the new code, keeping what it breaks.
  - A survivor is a missing test, not a flaky one: write the test that fails with the
    mutation in place (apply it by hand, see the test fail, revert), and name the test here.
  - Keep C{tests} to the few files that catch the mutation: the gate runs each mutation's
    tests in full, so its time is the sum of theirs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What the copies leave out: version control, virtualenvs, caches and build output.
_IGNORED = shutil.ignore_patterns(
    ".git", ".venv*", "__pycache__", "*.py[cod]", "build", "dist", "*.egg-info", "dropin.cache"
)

#: Seconds a mutation's tests may take; a mutation that makes them hang past this is
#: reported as caught (a hang fails the test run too), marked as such.
TIMEOUT = 600


@dataclass(frozen=True)
class Mutation:
    """
    One promise and the one-line change that breaks it.

    @ivar name: a short name for the command line.
    @ivar promise: the behaviour, as the documentation promises it.
    @ivar path: the file that keeps it, relative to the source tree.
    @ivar old: the exact text to replace (occurring exactly once in C{path}).
    @ivar new: its replacement.
    @ivar tests: the test files or ids (relative to the source tree) that must catch it.
    """

    name: str
    promise: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS: tuple[Mutation, ...] = (
    # Fail closed on bogus or indeterminate data, at every lookup.
    Mutation(
        "tlsa-bogus",
        "a bogus or indeterminate TLSA answer refuses the connection",
        "txdane/dane/decision.py",
        "    if status in (Status.BOGUS, Status.INDETERMINATE):\n",
        "    if False:\n",
        ("tests/dane/test_decision.py", "tests/endpoints/test_dane.py"),
    ),
    Mutation(
        "tlsa-bogus-at-target",
        "a bogus TLSA answer at a secure CNAME's target refuses (never 'no TLSA')",
        "txdane/endpoints/dane.py",
        "        if outcome.status in (Status.BOGUS, Status.INDETERMINATE) or (\n",
        "        if (\n",
        ("tests/endpoints/test_rules.py",),
    ),
    # A record authenticates only a chain it matches (the fuzz target's invariant proves it).
    Mutation(
        "tlsa-match-data",
        "a TLSA record authenticates a server only when its data matches the chain",
        "txdane/dane/matching.py",
        "    return selected is not None and associationData(selected, record.matchingType) =="
        " record.data\n",
        "    return selected is not None\n",
        ("tests/fuzz/test_fuzz.py::test_fuzzTarget[tlsa_match]",),
    ),
    Mutation(
        "address-bogus",
        "bogus or indeterminate addresses refuse the connection",
        "txdane/adapters.py",
        "            if answer.status not in self.accept:\n",
        "            if answer.status is Status.INSECURE and answer.status not in self.accept:\n",
        ("tests/test_adapters.py", "tests/endpoints/test_dane.py"),
    ),
    Mutation(
        "mx-bogus",
        "a bogus or indeterminate MX answer defers the mail",
        "txdane/endpoints/mx.py",
        "    problem = answer.problem()\n",
        "    problem = None\n",
        ("tests/mail/test_delivery.py", "tests/endpoints/test_planner.py"),
    ),
    Mutation(
        "srv-bogus",
        "a bogus or indeterminate SRV answer refuses the connection",
        "txdane/endpoints/srvplan.py",
        "    problem = outcome.problem()\n",
        "    problem = None\n",
        ("tests/endpoints/test_srvplan.py",),
    ),
    Mutation(
        "sshfp-bogus",
        "a bogus or indeterminate SSHFP answer fails the host key check",
        "txdane/ssh/verifier.py",
        "        algorithm = None\n    if answer.status in (Status.BOGUS, Status.INDETERMINATE):\n",
        "        algorithm = None\n    if False:\n",
        ("tests/ssh/test_verifier.py",),
    ),
    Mutation(
        "sshfp-bogus-endpoint",
        "a bogus or indeterminate SSHFP answer refuses the SSH connection",
        "txdane/ssh/verifier.py",
        "        if answer.status in (Status.BOGUS, Status.INDETERMINATE):\n",
        "        if False:\n",
        ("tests/ssh/test_verifier.py", "tests/ssh/test_endpoint.py"),
    ),
    # Connect only after verification; nothing in clear before TLS.
    Mutation(
        "connect-before-handshake",
        "the application is connected only after the verified handshake",
        "txdane/endpoints/_plumbing.py",
        "    def connectionMade(self) -> None:\n        pass\n",
        "    def connectionMade(self) -> None:\n        self.connectApplication()\n",
        ("tests/endpoints/test_memory.py", "tests/endpoints/test_dane.py"),
    ),
    Mutation(
        "data-before-handshake",
        "no data reaches the application before the verified handshake",
        "txdane/endpoints/_plumbing.py",
        "    def dataReceived(self, data: bytes) -> None:\n        if self.open:\n",
        "    def dataReceived(self, data: bytes) -> None:\n        if True:\n",
        ("tests/endpoints/test_memory.py", "tests/endpoints/test_dane.py"),
    ),
    Mutation(
        "late-refusal",
        "a verification refused late in the handshake leaves the application unconnected",
        "txdane/endpoints/_plumbing.py",
        "        if self.ready.called or not self.passed():\n",
        "        if self.ready.called:\n",
        ("tests/endpoints/test_memory.py", "tests/endpoints/test_plumbing_verdict.py"),
    ),
    Mutation(
        "starttls-prelude-to-app",
        "nothing the server sends before STARTTLS reaches the application",
        "txdane/endpoints/starttls/negotiator.py",
        "    def dataReceived(self, data: bytes) -> None:\n        if self.open:\n",
        "    def dataReceived(self, data: bytes) -> None:\n        if True:\n",
        ("tests/endpoints/test_starttls.py",),
    ),
    Mutation(
        "starttls-cleartext",
        "without STARTTLS the connection is refused unless the policy allows cleartext",
        "txdane/endpoints/starttls/negotiator.py",
        "        if not self.cleartextAllowed:\n",
        "        if False:\n",
        ("tests/endpoints/test_starttls.py",),
    ),
    # The address-status rule (RFC 7672 section 2.2.2).
    Mutation(
        "address-status-rule",
        "TLSA records are not consulted for insecure addresses (except behind a secure CNAME)",
        "txdane/endpoints/dane.py",
        "            return original if _secureAlias(addresses, original) else None\n",
        "            return original\n",
        ("tests/endpoints/test_rules.py",),
    ),
    # Bounds of docs/limits.md.
    Mutation(
        "limit-checks-per-rrset",
        "maxSignatureChecksPerRRset bounds the signature checks of one RRset (KeyTrap)",
        "txdane/validation/rrsig.py",
        "            if checks >= limits.maxSignatureChecksPerRRset or budget.exhausted:\n",
        "            if budget.exhausted:\n",
        ("tests/validation/test_rrsig.py", "tests/validation/test_resolver.py"),
    ),
    Mutation(
        "limit-cname-chain",
        "maxCNAMEChain bounds CNAME/DNAME chains",
        "txdane/validation/resolver.py",
        "            if hops > self.limits.maxCNAMEChain or target in seen:\n",
        "            if target in seen:\n",
        ("tests/validation/test_adversarial.py", "tests/validation/test_resolver.py"),
    ),
    Mutation(
        "limit-nsec3-iterations",
        "maxNSEC3Iterations: more iterations read as insecure, never computed",
        "txdane/validation/nsec3.py",
        "        if first.iterations > limits.maxNSEC3Iterations:\n",
        "        if False:\n",
        ("tests/validation/test_adversarial.py", "tests/validation/test_denial.py"),
    ),
    Mutation(
        "limit-queries",
        "maxQueriesPerLookup bounds the queries of one lookup",
        "txdane/validation/context.py",
        "        if self.budget.queries > limits.maxQueriesPerLookup:\n",
        "        if False:\n",
        ("tests/validation/test_adversarial.py", "tests/validation/test_resolver.py"),
    ),
    Mutation(
        "limit-answer-cache-bytes",
        "cacheBytes bounds the answer cache in bytes",
        "txdane/validation/resolver.py",
        "            clock, size, maxTTL, budget // 2, _answerCost\n",
        "            clock, size, maxTTL, None, _answerCost\n",
        ("tests/validation/test_hostile.py::test_cachesBoundedInBytes",),
    ),
    Mutation(
        "limit-key-cache-bytes",
        "cacheBytes bounds the cache of zone keys in bytes",
        "txdane/validation/resolver.py",
        "            ExpiringCache(clock, size, maxTTL, budget // 4, _zoneKeysCost),\n",
        "            ExpiringCache(clock, size, maxTTL, None, _zoneKeysCost),\n",
        ("tests/validation/test_hostile.py::test_cachesBoundedInBytes",),
    ),
    Mutation(
        "limit-ds-cache-bytes",
        "cacheBytes bounds the cache of DS results in bytes",
        "txdane/validation/resolver.py",
        "            ExpiringCache(clock, size, maxTTL, budget // 4, _dsCost),\n",
        "            ExpiringCache(clock, size, maxTTL, None, _dsCost),\n",
        ("tests/validation/test_hostile.py::test_cachesBoundedInBytes",),
    ),
    Mutation(
        "limit-starttls-prelude",
        "Negotiator.maxPrelude bounds the cleartext before the STARTTLS go-ahead",
        "txdane/endpoints/starttls/negotiator.py",
        "            if self._received > self.maxPrelude:\n",
        "            if False:\n",
        ("tests/mail/test_hostile.py",),
    ),
    Mutation(
        "limit-smtp-reply",
        "MAX_REPLY bounds an SMTP reply, its lines together",
        "txdane/mail/_client.py",
        "        if self._replyBytes > MAX_REPLY:\n",
        "        if False:\n",
        ("tests/mail/test_hostile.py",),
    ),
    # Mail.
    Mutation(
        "null-mx",
        "a null MX (RFC 7505) bounces the mail at once",
        "txdane/endpoints/mx.py",
        "        if len(hosts) == 1:\n",
        "        if False:\n",
        ("tests/mail/test_delivery.py",),
    ),
    Mutation(
        "sts-enforce-unlisted-mx",
        "an enforced MTA-STS policy excludes the MX hosts it does not list",
        "txdane/mailpolicy.py",
        "    listed = [c for c in candidates if policy.matches(c.host)]\n",
        "    listed = list(candidates)\n",
        ("tests/mail/test_policy.py", "tests/mail/test_mtasts_delivery.py"),
    ),
    Mutation(
        "5xx-before-tls",
        "a 5xx reply before TLS (a STARTTLS failure) never bounces the mail",
        "txdane/mail/_delivery.py",
        "    if isinstance(error, (TLSError, TLSRequiredError)):\n",
        "    if False:\n",
        ("tests/mail/test_permanence.py",),
    ),
    # Deadlines and rates.
    Mutation(
        "handshake-deadline",
        "handshakeTimeout bounds the time from TCP connection to verified TLS session",
        "txdane/endpoints/_plumbing.py",
        "    timer = clock.callLater(seconds, expire)\n",
        "    timer = clock.callLater(seconds + 86400, expire)\n",
        ("tests/endpoints/test_memory.py",),
    ),
    # Trust anchors that follow rollovers (RFC 5011).
    Mutation(
        "autotrust-add-hold-down",
        "a new key of the trust anchor zone is trusted only after the add hold-down",
        "txdane/validation/autotrust.py",
        "            if now - tracked.lastChange >= self.addHoldDown and count >= "
        "MIN_PENDING_FETCHES:\n",
        "            if count >= MIN_PENDING_FETCHES:\n",
        ("tests/validation/test_autotrust.py",),
    ),
    Mutation(
        "autotrust-revoke-self-signed",
        "a revocation counts only when the revoked key signed the DNSKEY RRset itself",
        "txdane/validation/autotrust.py",
        "            if not selfSigned(key):\n",
        "            if False:\n",
        ("tests/validation/test_autotrust.py",),
    ),
    Mutation(
        "autotrust-revoked-forever",
        "a revoked key is never trusted again",
        "txdane/validation/autotrust.py",
        "            return tracked.moved(KeyState.REVOKED, now)\n",
        "            return tracked.moved(KeyState.VALID, now)\n",
        ("tests/validation/test_autotrust.py",),
    ),
    Mutation(
        "ent-parent-no-cut",
        "a label is an empty non-terminal only below a parent proven no cut by its own NSEC",
        "txdane/validation/trustchain.py",
        "            and parent.cut is Cut.NONE\n",
        "            and True\n",
        ("tests/validation/test_roundtrips.py",),
    ),
    Mutation(
        "autotrust-proven-only",
        "a DNSKEY RRset that no trusted key signed changes nothing in the trust anchor state",
        "txdane/validation/trustchain.py",
        "        if keys.status is Status.SECURE and dnskeys is not None:\n",
        "        if dnskeys is not None:\n",
        ("tests/validation/test_autotrust.py",),
    ),
    Mutation(
        "autotrust-key-bound",
        "at most MAX_TRACKED_KEYS keys of the trust anchor zone are tracked",
        "txdane/validation/autotrust.py",
        "                if len(updated) >= self.maxKeys and not self._evictRemoved(updated):\n",
        "                if False:\n",
        ("tests/validation/test_autotrust.py",),
    ),
    Mutation(
        "rrl",
        "response rate limiting holds each source prefix to its rate",
        "txdane/server/ratelimit.py",
        "        if bucket.tokens >= 1:\n",
        "        if True:\n",
        ("tests/server/test_ratelimit.py",),
    ),
    # DNS over TLS to the recursive resolvers.
    Mutation(
        "dot-before-handshake",
        "no query is written to a DNS-over-TLS server before its certificate was accepted",
        "txdane/dot/_connection.py",
        "    def handshakeCompleted(self) -> None:\n",
        "    def connectionMade(self) -> None:\n        self.handshakeCompleted()\n\n"
        "    def handshakeCompleted(self) -> None:\n",
        ("tests/transport/test_dot.py",),
    ),
    Mutation(
        "dot-bogus-tlsa",
        "a bogus TLSA lookup refuses a DNS-over-TLS server, never falling back to PKIX",
        "txdane/dotauth.py",
        "        except DANEPolicyError as e:\n",
        "        except DANEPolicyError as e:  # noqa\n"
        "            return planWithoutTLSA("
        "self.serverName, server.port, str(e), trust=self.trust)\n"
        "        except ValueError as e:\n",
        ("tests/peers/test_dot.py",),
    ),
    Mutation(
        "dot-outstanding",
        "DoTClient.maxOutstanding bounds the queries outstanding on one connection",
        "txdane/dot/_connection.py",
        "            and connection.load < self.client.maxOutstanding\n",
        "            and True\n",
        ("tests/transport/test_dot.py",),
    ),
    Mutation(
        "dot-padding",
        "DNS-over-TLS queries are padded to a multiple of 128 octets",
        "txdane/dot/__init__.py",
        "            pad=PADDING_BLOCK,\n",
        "            pad=0,\n",
        ("tests/transport/test_dot.py",),
    ),
    # Malformed responses are refused by the fast reader as dnspython refuses them.
    Mutation(
        "wireread-pointer-overlap",
        "a compression pointer to a name that runs into the pointer fails the message",
        "txdane/wireread/_names.py",
        "        if suffix.segmentEnd > start:\n",
        "        if False:\n",
        ("tests/transport/test_wireread.py",),
    ),
    Mutation(
        "wireread-trailing",
        "bytes after the last record fail the message",
        "txdane/wireread/_message.py",
        "    if pos != end:\n",
        "    if pos > end:\n",
        ("tests/transport/test_wireread.py",),
    ),
    Mutation(
        "wireread-name-length",
        "a name longer than 255 octets fails the message",
        "txdane/wireread/_names.py",
        '            if length > 255:\n                raise Declined("name too long")\n'
        "            self._chargeName(len(labels), inRdata)\n",
        "            self._chargeName(len(labels), inRdata)\n",
        ("tests/transport/test_wireread.py",),
    ),
    # What the names of a response cost to parse is bounded, on both parsers' paths.
    Mutation(
        "wireread-label-bound",
        "a response whose names count more labels than MAX_MESSAGE_LABELS is refused",
        "txdane/wireread/_names.py",
        "        if self.labels > self.limit:\n",
        "        if False:\n",
        ("tests/transport/test_namebound.py",),
    ),
    Mutation(
        "wireread-suffix-labels",
        "a name inside rdata counts the labels of each of its suffixes",
        "txdane/wireread/_names.py",
        "            self.charge(2 * labels + labels * (labels + 1) // 2)\n",
        "            self.charge(2 * labels)\n",
        ("tests/transport/test_namebound.py",),
    ),
    Mutation(
        "parse-bound-fallback",
        "a response the fast reader declines is bounded before dnspython parses it",
        "txdane/transport/_parse.py",
        "    boundNames(wire, questionOnly=questionOnly)\n",
        "",
        ("tests/transport/test_namebound.py",),
    ),
    # Mail data: only the client's own "." line ends it.
    Mutation(
        "smtp-dot-chunk-start",
        "a line starting with '.' where twisted.mail's chunk starts is dot-stuffed",
        "txdane/mail/_client.py",
        '        if self._lineStart and chunk.startswith(b"."):\n',
        "        if False:\n",
        ("tests/mail/test_data.py",),
    ),
    # Web: a shared pool never hands an agent another's connection.
    Mutation(
        "agent-own-connections",
        "a daneAgent never uses a pooled connection another agent made",
        "txdane/endpoints/web.py",
        "        return self.pool.getConnection((self._token, key), endpoint)\n",
        "        return self.pool.getConnection(key, endpoint)\n",
        ("tests/endpoints/test_web.py",),
    ),
    # Only validated addresses are dialled: an MX or SRV target named by an address is not.
    Mutation(
        "numeric-target-undialled",
        "an MX or SRV target whose name is an IP address is never dialled",
        "txdane/endpoints/planner.py",
        "    unusable = unusableReason(candidate)\n    if unusable is not None:\n",
        "    unusable = unusableReason(candidate)\n    if False:\n",
        ("tests/endpoints/test_numeric_targets.py",),
    ),
    # Resolving from the root: a hostile delegation's fan-out and aim are bounded.
    Mutation(
        "iterative-glueless-bound",
        "at most maxGluelessNS name servers without glue are looked up per delegation",
        "txdane/validation/iterative/_querier.py",
        "        if attempt.lookups >= self.limits.maxGluelessNS:\n",
        "        if False:\n",
        ("tests/validation/test_iterative.py",),
    ),
    Mutation(
        "iterative-internal-addresses",
        "referrals do not aim queries at loopback, link-local or unspecified addresses",
        "txdane/validation/iterative/_querier.py",
        "                if kind is not None and kind not in self._allowedKinds:\n",
        "                if False:\n",
        ("tests/validation/test_iterative.py",),
    ),
    # DNS over TLS: bounded closes, dead connections replaced, a bounded ID space.
    Mutation(
        "dot-close-grace",
        "a DoT connection the server does not close after close_notify is aborted",
        "txdane/dot/_connection.py",
        "            self.transport.abortConnection()  # type: ignore[attr-defined]\n",
        "            pass\n",
        ("tests/transport/test_dot.py",),
    ),
    Mutation(
        "dot-dead-connection",
        "a DoT connection silent since a query timed out is not used again",
        "txdane/dot/_connection.py",
        "        if self.bytesReceived == entry.receivedBefore:\n",
        "        if False:\n",
        ("tests/transport/test_dot.py",),
    ),
    Mutation(
        "dot-max-outstanding",
        "maxOutstanding is at most MAX_OUTSTANDING",
        "txdane/dot/__init__.py",
        "        if not 1 <= maxOutstanding <= MAX_OUTSTANDING:\n",
        "        if not 1 <= maxOutstanding:\n",
        ("tests/transport/test_dot.py",),
    ),
    Mutation(
        "nsec3-unknown-hash-ignored",
        "NSEC3 records of an unknown hash algorithm are left out of a proof, never insecure",
        "txdane/validation/nsec3.py",
        "            if rdata.algorithm == _SHA1 and rdata.flags & ~_OPT_OUT == 0\n",
        "            if rdata.flags & ~_OPT_OUT == 0\n",
        ("tests/validation/test_denial.py",),
    ),
    Mutation(
        "soa-bitmap-denies-no-ds",
        "a denial record with SOA in its bitmap never proves the absence of a DS",
        "txdane/validation/denial.py",
        "        if SOA in types and where != dns.name.root:\n",
        "        if False:\n",
        ("tests/validation/test_denial.py",),
    ),
    Mutation(
        "rsa-modulus-bound",
        "no signature is checked with an RSA key over MAX_RSA_MODULUS_BITS",
        "txdane/validation/rrsig.py",
        "    if isinstance(public, PublicRSA) and public.key.key_size > MAX_RSA_MODULUS_BITS:\n",
        "    if False:\n",
        ("tests/validation/test_bounds.py",),
    ),
    Mutation(
        "canonical-form-once",
        "a lookup makes the canonical form of an RRset's records once, however many zones' "
        "keys check it",
        "txdane/validation/rrsig.py",
        "    signed = SignedData(rrset, budget.canonicalForms)\n",
        "    signed = SignedData(rrset)\n",
        ("tests/validation/test_bounds.py",),
    ),
    Mutation(
        "canonical-form-of-changed-rrset",
        "an RRset checked again in a lookup, holding other records since, is checked as it is",
        "txdane/validation/rrsig.py",
        "            and all(map(operator.is_, found[0], records))\n",
        "            and True\n",
        ("tests/validation/test_rrsig.py",),
    ),
    Mutation(
        "negative-ttl-bound",
        "a proven denial is cached no longer than maxNegativeTTL",
        "txdane/validation/resolver.py",
        "            ttl = min(ttl, self.limits.maxNegativeTTL)\n",
        "            ttl = ttl\n",
        ("tests/validation/test_bounds.py",),
    ),
    Mutation(
        "kept-responses-bound",
        "a lookup keeps at most MAX_KEPT_RESPONSE_BYTES of responses",
        "txdane/validation/context.py",
        "        if self.keptBytes + size <= MAX_KEPT_RESPONSE_BYTES:\n",
        "        if True:\n",
        (
            "tests/validation/test_bounds.py::test_keptResponsesBounded",
            "tests/validation/test_bounds.py::test_lookupMemoryBoundedByKeptResponses",
        ),
    ),
    Mutation(
        "response-bytes-per-lookup",
        "a lookup receives at most maxResponseBytesPerLookup octets of responses",
        "txdane/validation/context.py",
        "        if self.budget.responseBytes > limit:\n",
        "        if False:\n",
        ("tests/validation/test_bounds.py::test_responseBytesPerLookupBounded",),
    ),
    Mutation(
        "iterative-response-bytes",
        "one question resolved from the root receives at most maxResponseBytesPerLookup octets",
        "txdane/validation/iterative/_querier.py",
        "        if work.responseBytes > limit:\n",
        "        if False:\n",
        ("tests/validation/test_iterative.py::test_responseBytesPerLookup",),
    ),
    Mutation(
        "iterative-counts-for-lookup",
        "what a validated lookup's questions receive from the root down counts toward its bound",
        "txdane/validation/iterative/_querier.py",
        "        work.lookup = LOOKUP_BUDGET.get()\n",
        "        work.lookup = None\n",
        ("tests/validation/test_iterative.py::test_lookupResponseBytesCountUpstream",),
    ),
    Mutation(
        "iterative-refusal-counted",
        "a refusal counts toward what a question resolved from the root receives",
        "txdane/validation/iterative/_querier.py",
        "            # Read as any response (a refusal can be as large).\n"
        "            self._received(work, e.response)\n",
        "            pass\n",
        ("tests/validation/test_iterative.py::test_refusalsCountAsReceived",),
    ),
    Mutation(
        "iterative-edns-rejection-counted",
        "a response rejecting EDNS counts toward what a question resolved from the root receives",
        "txdane/validation/iterative/_querier.py",
        "            if e.response is not None:  # read as any response\n",
        "            if False:\n",
        ("tests/validation/test_iterative.py::test_refusalsCountAsReceived",),
    ),
    Mutation(
        "iterative-stops-at-lookup-bound",
        "a question resolved from the root asks nothing more once its lookup's bound is passed",
        "txdane/validation/iterative/_querier.py",
        "        if lookup is not None and lookup.responseBytes > lookup.limits"
        ".maxResponseBytesPerLookup:\n",
        "        if False:\n",
        ("tests/validation/test_iterative.py::test_lookupResponseBytesCountUpstream",),
    ),
    Mutation(
        "lookup-bound-error-from-upstream",
        "a lookup stopped by its byte bound while resolving from the root gets the lookup's error",
        "txdane/validation/context.py",
        "            if isinstance(e, IterationLimitError)"
        ' and e.limit == "maxResponseBytesPerLookup":\n',
        "            if False:\n",
        ("tests/validation/test_iterative.py::test_lookupResponseBytesCountUpstream",),
    ),
    Mutation(
        "dane-weak-signature",
        "a path signed with SHA-1 or MD5 below its anchor is refused",
        "txdane/dane/_strength.py",
        "    if isinstance(algorithm, (hashes.MD5, hashes.SHA1)):\n",
        "    if isinstance(algorithm, hashes.MD5):\n",
        ("tests/dane/test_strength.py",),
    ),
    Mutation(
        "dane-ee-weak-key",
        "a DANE-EE match with a key weaker than 112 bits is refused",
        "txdane/dane/matching.py",
        "        problem = strengthProblem([leaf], anchorIsCertificate=True)\n",
        "        problem = None\n",
        ("tests/dane/test_strength.py",),
    ),
)


class NotApplicable(Exception):
    """
    A mutation's text is not in its file exactly once: the code moved on.
    """


def mutated(mutation: Mutation, text: str) -> str:
    """
    C{text} with C{mutation} applied.

    @raise NotApplicable: the text to replace is missing or occurs more than once.
    """
    count = text.count(mutation.old)
    if count != 1:
        raise NotApplicable(f"{mutation.name}: {mutation.path} holds its text {count} times")
    return text.replace(mutation.old, mutation.new)


def copyTree(destination: Path) -> Path:
    """
    Copy the source tree (without version control, virtualenvs or caches) under
    C{destination}; return the copy's root.
    """
    copy = destination / "tree"
    shutil.copytree(ROOT, copy, ignore=_IGNORED, symlinks=True)
    return copy


def environment(tree: Path) -> dict[str, str]:
    """
    The environment for commands run on the copy C{tree}: its packages come first, before
    any installed (or editable) txdane.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def runTests(tree: Path, tests: Sequence[str]) -> tuple[int | None, str]:
    """
    Run C{tests} with pytest in C{tree}; the exit status (C{None} after L{TIMEOUT}) and the
    output's last lines.
    """
    check = subprocess.run(
        [sys.executable, "-c", "import txdane; print(txdane.__file__)"],
        cwd=tree,
        env=environment(tree),
        capture_output=True,
        text=True,
    )
    if not check.stdout.strip().startswith(str(tree)):
        raise RuntimeError(f"txdane imported from {check.stdout.strip()}, not the copy")
    argv = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    try:
        result = subprocess.run(
            argv, cwd=tree, env=environment(tree), capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT} s"
    lines = (result.stdout + result.stderr).strip().splitlines()
    return result.returncode, "\n".join(lines[-3:])


@dataclass(frozen=True)
class Outcome:
    """
    What became of one mutation.

    @ivar mutation: the mutation.
    @ivar caught: whether its tests failed.
    @ivar detail: the last lines of pytest's output.
    @ivar seconds: how long its tests took.
    """

    mutation: Mutation
    caught: bool
    detail: str
    seconds: float


def tryMutation(mutation: Mutation) -> Outcome:
    """
    Apply C{mutation} to a fresh copy of the tree and run its tests there.
    """
    with tempfile.TemporaryDirectory(prefix="txdane-mutation-") as temporary:
        tree = copyTree(Path(temporary))
        target = tree / mutation.path
        target.write_text(mutated(mutation, target.read_text()))
        started = time.monotonic()
        status, detail = runTests(tree, mutation.tests)
        seconds = time.monotonic() - started
    caught = status is None or status not in (0, 5)  # 5: no tests collected
    return Outcome(mutation, caught, detail, seconds)


def baseline(mutations: Sequence[Mutation]) -> tuple[bool, str]:
    """
    Run every test the mutations name on an unmutated copy: they must pass.
    """
    tests = sorted({test for mutation in mutations for test in mutation.tests})
    with tempfile.TemporaryDirectory(prefix="txdane-mutation-") as temporary:
        tree = copyTree(Path(temporary))
        status, detail = runTests(tree, tests)
    return status == 0, detail


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("names", nargs="*", help="run only these mutations")
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument(
        "--jobs", type=int, default=min(4, os.cpu_count() or 1), help="mutations at a time"
    )
    options = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not options.names or m.name in options.names]
    unknown = set(options.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"no such mutation: {', '.join(sorted(unknown))}")
    if options.list:
        for mutation in chosen:
            print(f"{mutation.name}: {mutation.promise}")
            print(f"    {mutation.path}: {mutation.old.strip()!r} -> {mutation.new.strip()!r}")
            print(f"    caught by: {' '.join(mutation.tests)}")
        return 0
    for mutation in chosen:
        try:
            mutated(mutation, (ROOT / mutation.path).read_text())
        except NotApplicable as e:
            print(f"does not apply: {e}", file=sys.stderr)
            return 2
    started = time.monotonic()
    passed, detail = baseline(chosen)
    if not passed:
        print(f"the unmutated tests fail, so no mutation can be judged:\n{detail}")
        return 2
    with ThreadPoolExecutor(max(1, options.jobs)) as pool:
        outcomes = list(pool.map(tryMutation, chosen))
    for outcome in outcomes:
        verdict = "caught" if outcome.caught else "SURVIVED"
        print(f"{verdict:8} {outcome.mutation.name} ({outcome.seconds:.0f} s)")
        if not outcome.caught:
            print(f"         {outcome.mutation.promise}: {' '.join(outcome.mutation.tests)}")
    caught = sum(outcome.caught for outcome in outcomes)
    elapsed = time.monotonic() - started
    print(f"{caught} caught of {len(outcomes)} ({elapsed:.0f} s)")
    return 0 if caught == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())

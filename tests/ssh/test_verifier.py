"""
The SSHFP host-key rules, in memory: L{checkHostKey}, L{SSHFPKnownHosts} with a fake resolver
and a recording fallback, and the host-key algorithm order.
"""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rdatatype
from twisted.conch.client.knownhosts import KnownHostsFile
from twisted.conch.ssh.keys import Key
from twisted.conch.ssh.transport import SSHClientTransport
from twisted.internet.defer import Deferred, succeed
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from tests.fakeresolver import FakeResolver, answer
from txdane.errors import TxdaneError
from txdane.ssh import (
    Outcome,
    SSHFPKnownHosts,
    SSHFPLookupError,
    SSHFPMismatchError,
    SSHFPUnverifiedError,
    checkHostKey,
    preferredHostKeyAlgorithms,
    sha256Fingerprint,
)
from txdane.status import Status
from txdane.validation import LookupFailedError

from .keys import hostKey, records

HOST = "ssh.example.test."
UI: Any = None

ED, ED2 = hostKey("ed25519").public(), hostKey("ed25519", 1).public()
EC = hostKey("ecdsa").public()
RSA = hostKey("rsa").public()
SHA1, SHA256 = 1, 2


def sshfp(*rdatas: str, status: Status = Status.SECURE) -> Any:
    return answer("SSHFP", *rdatas, status=status, name=HOST)


class CheckHostKeyTests(SynchronousTestCase):
    """
    L{checkHostKey}: the verdict for every kind of answer.
    """

    def outcome(self, key: Key, *rdatas: str, status: Status = Status.SECURE) -> Outcome:
        return checkHostKey(sshfp(*rdatas, status=status), key.blob()).outcome

    def test_secureMatch(self) -> None:
        verdict = checkHostKey(sshfp(*records(ED)), ED.blob())
        self.assertEqual(verdict.outcome, Outcome.MATCHED)
        self.assertEqual(verdict.matched and verdict.matched.fingerprintType, SHA256)

    def test_eachAlgorithm(self) -> None:
        everything = records(ED) + records(EC) + records(RSA)
        for key in (ED, EC, RSA):
            self.assertEqual(self.outcome(key, *everything), Outcome.MATCHED)

    def test_secureMismatch(self) -> None:
        self.assertEqual(self.outcome(ED, *records(ED2)), Outcome.MISMATCHED)

    def test_sha1OnlyCounts(self) -> None:
        """
        Without SHA-256 records for the algorithm, SHA-1 records are compared.
        """
        self.assertEqual(self.outcome(ED, *records(ED, SHA1)), Outcome.MATCHED)
        self.assertEqual(self.outcome(ED, *records(ED2, SHA1)), Outcome.MISMATCHED)

    def test_sha1IgnoredBesideSHA256(self) -> None:
        """
        A SHA-256 record of the algorithm makes its SHA-1 records irrelevant, matching or not.
        """
        self.assertEqual(
            self.outcome(ED, *records(ED, SHA1), *records(ED2, SHA256)), Outcome.MISMATCHED
        )
        self.assertEqual(
            self.outcome(ED, *records(ED2, SHA1), *records(ED, SHA256)), Outcome.MATCHED
        )

    def test_sha256OfAnotherAlgorithmDoesNotHideSHA1(self) -> None:
        self.assertEqual(
            self.outcome(ED, *records(ED, SHA1), *records(EC, SHA256)), Outcome.MATCHED
        )

    def test_rotation(self) -> None:
        """
        Old and new keys of one algorithm published together: the server's key matching
        either is accepted (OpenSSH refuses this, bz#3322; see docs/ssh.md).
        """
        self.assertEqual(self.outcome(ED, *records(ED2), *records(ED)), Outcome.MATCHED)
        self.assertEqual(self.outcome(ED2, *records(ED2), *records(ED)), Outcome.MATCHED)

    def test_noRecordForAlgorithm(self) -> None:
        verdict = checkHostKey(sshfp(*records(ED)), EC.blob())
        self.assertEqual(verdict.outcome, Outcome.UNVERIFIABLE)
        self.assertIn("ECDSA", verdict.reason)

    def test_unknownFingerprintTypeIgnored(self) -> None:
        self.assertEqual(self.outcome(ED, "4 3 " + "ab" * 32), Outcome.UNVERIFIABLE)
        self.assertEqual(self.outcome(ED, "4 3 " + "ab" * 32, *records(ED)), Outcome.MATCHED)

    def test_dsaNeverVerified(self) -> None:
        dsa = Key.fromString(
            b"ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2"
            b"NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208Ue"
            b"wwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+Gg"
            b"hdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4"
            b"TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/"
            b"7PSSoAAACBAKKSU2PFl/qOLxIwmBZPPIcJshVe7bVUpFvyl3BbJDow8rXfskl8wO63OzP/qLmcJM0+JbcR"
            b"U/53JjmiMFBpBB5tXQrXpQ3FrECkE/ngwzEtS1cmn1GudgxEtRy2nlM1UHkX42BbfQvNEWVbO3j9vHPQJPe"
            b"KjRmxaf8jG1b/jsLt"
        )
        self.assertEqual(self.outcome(dsa, *records(dsa)), Outcome.UNVERIFIABLE)

    def test_insecure(self) -> None:
        self.assertEqual(
            self.outcome(ED, *records(ED), status=Status.INSECURE), Outcome.UNVERIFIABLE
        )

    def test_absent(self) -> None:
        self.assertEqual(self.outcome(ED), Outcome.UNVERIFIABLE)

    def test_bogusAndIndeterminate(self) -> None:
        for status in (Status.BOGUS, Status.INDETERMINATE):
            self.assertEqual(self.outcome(ED, *records(ED), status=status), Outcome.FAILED)


class RecordingKnownHosts(KnownHostsFile):
    """
    A fallback that says C{answer} and remembers being asked.
    """

    def __init__(self, answer: bool = True) -> None:
        super().__init__(FilePath("/dev/null"))
        self.answer = answer
        self.asked: list[tuple[bytes, bytes]] = []

    def verifyHostKey(self, ui: Any, hostname: bytes, ip: bytes, key: Key) -> Deferred[bool]:
        self.asked.append((hostname, ip))
        return succeed(self.answer)


class SSHFPKnownHostsTests(SynchronousTestCase):
    """
    L{SSHFPKnownHosts}: the rules as Conch sees them, and when the fallback is consulted.
    """

    def verify(
        self, result: Any, key: Key = ED, *, require: bool = False, fallback: bool = True
    ) -> tuple[Any, RecordingKnownHosts]:
        resolver = FakeResolver({(HOST, "SSHFP"): result})
        recording = RecordingKnownHosts()
        verifier = SSHFPKnownHosts(resolver, recording if fallback else None, require=require)
        self.assertIsInstance(verifier, KnownHostsFile)
        d = verifier.verifyHostKey(UI, HOST.rstrip(".").encode(), b"127.0.0.1", key)
        return d, recording

    def test_matchAccepted(self) -> None:
        d, fallback = self.verify(sshfp(*records(ED)))
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(fallback.asked, [])

    def test_mismatchRefused(self) -> None:
        """
        A mismatch is refused without asking the fallback; the error names the records, the
        key and the records to publish.
        """
        d, fallback = self.verify(sshfp(*records(ED2)))
        error = self.failureResultOf(d, SSHFPMismatchError).value
        self.assertEqual(fallback.asked, [])
        self.assertIsInstance(error, TxdaneError)
        self.assertEqual(error.host, "ssh.example.test")
        self.assertEqual(error.keyBlob, ED.blob())
        self.assertEqual([str(r) for r in error.records], records(ED2, SHA256))
        self.assertEqual([str(r) for r in error.expected], records(ED, SHA256))
        text = str(error)
        self.assertTrue(text.startswith("ssh.example.test: host key refused: no SSHFP record"))
        self.assertIn(sha256Fingerprint(ED.blob()), text)
        self.assertIn(error.records[0].short(), text)
        self.assertIn(f"ssh.example.test. IN SSHFP {records(ED, SHA256)[0]}", text)
        self.assertIn("update the SSHFP records in DNS with the new host key", text)
        self.assertNotIn("\n", text)

    def test_rotationAccepted(self) -> None:
        d, _ = self.verify(sshfp(*records(ED2), *records(ED)))
        self.assertIs(self.successResultOf(d), True)

    def test_insecureFallsBack(self) -> None:
        d, fallback = self.verify(sshfp(*records(ED), status=Status.INSECURE))
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(fallback.asked, [(b"ssh.example.test", b"127.0.0.1")])

    def test_absentFallsBack(self) -> None:
        d, fallback = self.verify(sshfp())
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(len(fallback.asked), 1)

    def test_noRecordForAlgorithmFallsBack(self) -> None:
        d, fallback = self.verify(sshfp(*records(EC)), ED)
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(len(fallback.asked), 1)

    def test_fallbackRefuses(self) -> None:
        resolver = FakeResolver({(HOST, "SSHFP"): sshfp()})
        fallback = RecordingKnownHosts(False)
        verifier = SSHFPKnownHosts(resolver, fallback)
        d = verifier.verifyHostKey(UI, b"ssh.example.test", b"::1", ED)
        self.assertIs(self.successResultOf(d), False)

    def test_requireRefusesInsecure(self) -> None:
        d, fallback = self.verify(sshfp(*records(ED), status=Status.INSECURE), require=True)
        error = self.failureResultOf(d, SSHFPUnverifiedError).value
        self.assertEqual(fallback.asked, [])
        self.assertEqual(error.status, Status.INSECURE)
        self.assertIn("SSHFP verification required, but", str(error))

    def test_requireRefusesAbsent(self) -> None:
        d, fallback = self.verify(sshfp(), require=True)
        self.assertIn("no SSHFP records", str(self.failureResultOf(d, SSHFPUnverifiedError).value))
        self.assertEqual(fallback.asked, [])

    def test_requireRefusesOtherAlgorithm(self) -> None:
        d, fallback = self.verify(sshfp(*records(EC)), ED, require=True)
        error = self.failureResultOf(d, SSHFPUnverifiedError).value
        self.assertIn("no SSHFP record covers the server's Ed25519 key", str(error))
        self.assertIn(sha256Fingerprint(ED.blob()), str(error))
        self.assertEqual(fallback.asked, [])

    def test_noFallbackRefuses(self) -> None:
        d, _ = self.verify(sshfp(*records(ED), status=Status.INSECURE), fallback=False)
        self.failureResultOf(d, SSHFPUnverifiedError)

    def test_bogusRefusedNeverFallsBack(self) -> None:
        for status in (Status.BOGUS, Status.INDETERMINATE):
            d, fallback = self.verify(sshfp(*records(ED), status=status))
            error = self.failureResultOf(d, SSHFPLookupError).value
            self.assertEqual(fallback.asked, [])
            self.assertEqual(error.status, status)
            self.assertIn(f"SSHFP lookup {status}", str(error))

    def test_lookupFailedRefusedNeverFallsBack(self) -> None:
        failure = LookupFailedError(
            dns.name.from_text(HOST), dns.rdatatype.SSHFP, "timed out", ede=22
        )
        d, fallback = self.verify(failure)
        error = self.failureResultOf(d, SSHFPLookupError).value
        self.assertEqual(fallback.asked, [])
        self.assertEqual((error.status, error.ede, error.reason), (None, 22, "timed out"))
        self.assertEqual(
            str(error),
            "ssh.example.test: host key refused: SSHFP lookup failed (EDE 22): timed out",
        )

    def test_boundAnswerUsed(self) -> None:
        """
        A verifier bound to an answer judges with it and does not look up again.
        """
        resolver = FakeResolver({(HOST, "SSHFP"): sshfp(*records(ED))})
        verifier = SSHFPKnownHosts(resolver, RecordingKnownHosts())
        found = self.successResultOf(verifier.lookupFingerprints(b"ssh.example.test"))
        bound = verifier.boundTo(b"ssh.example.test", found)
        self.assertIs(
            self.successResultOf(bound.verifyHostKey(UI, b"ssh.example.test", b"", ED)), True
        )
        self.assertEqual(resolver.asked, [(HOST, "SSHFP")])

    def test_lookupRefusesEarly(self) -> None:
        """
        Before connecting: a bogus answer, or (with C{require}) one that covers no algorithm,
        is refused; an address literal has no SSHFP records.
        """
        resolver = FakeResolver(
            {
                (HOST, "SSHFP"): sshfp(status=Status.BOGUS),
                ("other.example.test.", "SSHFP"): answer(
                    "SSHFP", name="other.example.test.", status=Status.INSECURE
                ),
            }
        )
        lenient = SSHFPKnownHosts(resolver, RecordingKnownHosts())
        strict = SSHFPKnownHosts(resolver, RecordingKnownHosts(), require=True)
        self.failureResultOf(lenient.lookupFingerprints(HOST), SSHFPLookupError)
        self.assertIsNotNone(self.successResultOf(lenient.lookupFingerprints("other.example.test")))
        self.failureResultOf(strict.lookupFingerprints("other.example.test"), SSHFPUnverifiedError)
        self.assertIsNone(self.successResultOf(lenient.lookupFingerprints("::1")))
        self.failureResultOf(strict.lookupFingerprints("192.0.2.1"), SSHFPUnverifiedError)


class AlgorithmOrderTests(SynchronousTestCase):
    """
    L{preferredHostKeyAlgorithms}: only the covered algorithms, in Conch's order, where the
    secure records cover any; everything otherwise.
    """

    offered = list(SSHClientTransport.supportedPublicKeys)

    def test_conchOffersEd25519Last(self) -> None:
        self.assertEqual(self.offered[-1], b"ssh-ed25519")

    def test_ed25519Only(self) -> None:
        """
        Records of Ed25519 keys only: nothing else is offered, so a server (or anyone on the
        path) cannot answer with an ECDSA key for known_hosts to judge.
        """
        ordered = preferredHostKeyAlgorithms(sshfp(*records(ED)), self.offered)
        self.assertEqual(ordered, [b"ssh-ed25519"])

    def test_rsaGroup(self) -> None:
        ordered = preferredHostKeyAlgorithms(sshfp(*records(RSA, SHA1)), self.offered)
        self.assertEqual(ordered, [b"rsa-sha2-512", b"rsa-sha2-256", b"ssh-rsa"])

    def test_severalKeepConchOrder(self) -> None:
        ordered = preferredHostKeyAlgorithms(sshfp(*records(ED), *records(EC)), self.offered)
        ecdsa = [a for a in self.offered if a.startswith(b"ecdsa")]
        self.assertEqual(ordered, [*ecdsa, b"ssh-ed25519"])

    def test_unchangedWithoutSecureRecords(self) -> None:
        for result in (sshfp(*records(ED), status=Status.INSECURE), sshfp(), None):
            self.assertEqual(preferredHostKeyAlgorithms(result, self.offered), self.offered)

    def test_dsaNotCovered(self) -> None:
        """
        DSA records vouch for nothing (see L{UNVERIFIABLE_ALGORITHMS}): the list stays whole.
        """
        ordered = preferredHostKeyAlgorithms(sshfp("2 1 " + "ab" * 20), self.offered)
        self.assertEqual(ordered, self.offered)

"""
Mail with DANE against a real Postfix, and the verdicts compared with Postfix's own
(C{posttls-finger -l dane}) for every MX case of L{tests.mail.mxworld}.

One private Postfix per MX host, each on its own loopback address (127.0.0.2 ...) and one
shared port, as the A records of the hierarchy say; C{posttls-finger} resolves through a
validating Unbound that knows the hierarchy (L{tests.peers.resolver.ValidatingStub}).
"""

from __future__ import annotations

import io
import socket
import tempfile
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.threads import deferToThread
from twisted.mail.smtp import ESMTPSenderFactory, SMTPClientError, TLSRequiredError
from twisted.trial.unittest import TestCase

from txdane.dane.errors import DANEVerificationError
from txdane.endpoints.connection import IDANEConnection
from txdane.endpoints.errors import AllHostsFailedError, MXError, StartTLSError
from txdane.mail import DeliveryError, sendMail

from ..endpoints.world import makeWorld, reactor
from ..peers.common import Credentials, requireRoot
from ..peers.postfix import Postfix, PostTLSFingerReport, postTLSFingerCommand
from ..peers.resolver import ValidatingStub, requireNamespace
from .mxworld import ADDRESSES, MailCertificates, mailRecords

pytestmark = pytest.mark.interop

DOMAINS = (
    "verified.example.test",
    "mismatch.example.test",
    "fallback.example.test",
    "tata.example.test",
    "nostarttls.example.test",
    "nullmx.example.test",
    "implicit.example.test",
    "insecure.unsigned.test",
    "bogus.expired.test",
)

#: Case -> the verdict on the first MX host (txdane's and posttls-finger's must both be this)
#: and the final outcome (txdane.mail's and a plain ESMTPSenderFactory's over dane:mx=).
EXPECTED = {
    "verified.example.test": ("verified", "verified"),
    "mismatch.example.test": ("refused", "refused"),
    "fallback.example.test": ("refused", "verified"),
    "tata.example.test": ("verified", "verified"),
    "nostarttls.example.test": ("no-starttls", "no-starttls"),
    "nullmx.example.test": ("bounced", "bounced"),
    "implicit.example.test": ("verified", "verified"),
    "insecure.unsigned.test": ("trusted", "trusted"),
    "bogus.expired.test": ("deferred", "deferred"),
}


def errorVerdict(error: BaseException) -> str:
    """
    A failed host in the words of the verdict table.
    """
    if isinstance(error, DANEVerificationError):
        return "refused"
    if isinstance(error, TLSRequiredError) or (
        isinstance(error, StartTLSError) and "does not offer STARTTLS" in error.reason
    ):
        return "no-starttls"
    return f"failed ({error})"


class _PostfixAt(Postfix):
    """
    The harness's Postfix, listening on another loopback address than 127.0.0.1.
    """

    def __init__(self, credentials: Credentials | None, host: str, **kw: Any) -> None:
        self.host = host
        super().__init__(credentials, **kw)

    def _mainConfig(self) -> str:
        return super()._mainConfig().replace("inet_interfaces = 127.0.0.1", "inet_interfaces = all")


def _portFreeOnAll(addresses: list[str]) -> int:
    for _ in range(50):
        with socket.socket() as s:
            s.bind((addresses[0], 0))
            port = int(s.getsockname()[1])
        try:
            for address in addresses[1:]:
                with socket.socket() as s:
                    s.bind((address, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no port free on every address")


def fingerVerdict(report: PostTLSFingerReport) -> str:
    """
    posttls-finger's verdict in txdane's words.
    """
    output = report.output
    if "does not accept mail (nullMX)" in output:
        return "bounced"
    if report.daneMismatch:
        return "refused"
    if report.established == "Verified":
        return "verified"
    if report.established == "Trusted":
        return "trusted"
    if report.established in ("Untrusted", "Anonymous"):
        return "encrypted"
    if "posttls-finger: Connected to" in output and "> STARTTLS" not in output:
        return "no-starttls"
    return "deferred"


class PostfixAgreementTests(TestCase):
    async def test_everyCase(self) -> None:
        requireRoot("a private Postfix instance")
        requireNamespace()
        certs = MailCertificates.make()
        directory = Path(tempfile.mkdtemp(prefix="txdane-mail-"))
        credentials = {
            "mxa": Credentials.write(directory / "a", certs.a),
            "mxbad": Credentials.write(directory / "bad", certs.bad),
            "mxta": Credentials.write(directory / "ta", certs.taLeaf, [certs.ca.cert]),
            "mxplain": None,
        }
        port = _portFreeOnAll(list(ADDRESSES.values()))
        postfixes = {}
        for host, credential in credentials.items():
            postfix = _PostfixAt(
                credential,
                ADDRESSES[host],
                domains=[d for d in DOMAINS if d not in ("nullmx.example.test",)],
                hostname=f"{host}.example.test",
                starttls=credential is not None,
                port=port,
            )
            self.addCleanup(postfix.cleanUp)
            postfix.start()
            postfixes[host] = postfix
        world = await makeWorld(mailRecords(port, certs))
        self.addCleanup(world.dnsServer.stop)
        anchor = directory / "anchor"
        anchor.write_text(world.hierarchy.trustAnchorText())
        stub = ValidatingStub(world.hierarchy, world.dnsServer.port)
        stub.start()
        self.addCleanup(stub.stop)

        table = {}
        for domain in DOMAINS:
            # txdane.mail
            try:
                result = await sendMail(
                    reactor,
                    world.resolver,
                    "alice@client.test",
                    [f"bob@{domain}"],
                    b"Subject: " + domain.encode() + b"\r\n\r\nhello\r\n",
                    port=port,
                    timeout=10,
                )
                final = str(result.protection)
                first = errorVerdict(result.tries[0].error) if result.tries else final
            except DeliveryError as e:
                if e.tries:
                    first = errorVerdict(e.tries[0].error)
                    final = errorVerdict(e.tries[-1].error)
                else:
                    first = final = "bounced" if e.permanent else "deferred"
            # A plain ESMTPSenderFactory over dane:mx=.
            raw = await self.rawVerdict(domain, port, world.dnsServer.port, anchor)
            # posttls-finger.
            argv, env = postTLSFingerCommand(f"{domain}:{port}", chat=True)
            finished = await deferToThread(stub.run, argv, 60, env)
            report = PostTLSFingerReport.parse(finished.stdout + finished.stderr)
            finger = fingerVerdict(report)
            table[domain] = ((first, finger), (final, raw))
            print(f"{domain:24} first host: txdane={first:11} posttls-finger={finger:11}", end="")
            print(f" outcome: txdane.mail={final:11} ESMTPSenderFactory={raw}")

        expected = {d: ((a, a), (b, b)) for d, (a, b) in EXPECTED.items()}
        self.assertEqual(table, expected)
        # Postfix never saw a MAIL FROM from us on a refused host.
        for host in ("mxbad", "mxplain"):
            sessions = postfixes[host].sessions()
            self.assertTrue(sessions)
            self.assertTrue(all("mail" not in s for s in sessions), sessions)
        self.assertEqual(postfixes["mxbad"].messages(), [])
        self.assertEqual(postfixes["mxplain"].messages(), [])
        # verified, fallback, implicit and insecure, each by txdane.mail and by the factory.
        self.assertEqual(len(postfixes["mxa"].waitForMessages(8)), 8)
        [message, _] = postfixes["mxta"].waitForMessages(2)
        self.assertIn("with ESMTPS", message["Received"])

    async def rawVerdict(self, domain: str, port: int, dnsPort: int, anchor: Path) -> str:
        done: Deferred[Any] = Deferred()
        factory = _RecordingFactory(
            None,
            None,
            "alice@client.test",
            [f"bob@{domain}"],
            io.BytesIO(b"Subject: raw\r\n\r\nhello\r\n"),
            done,
            retries=3,
            contextFactory=object(),
            requireAuthentication=False,
            requireTransportSecurity=False,
        )
        endpoint = clientFromString(
            reactor,
            f"dane:mx={domain}:port={port}:resolver=127.0.0.1#{dnsPort}:trustAnchor={anchor}",
        )
        try:
            await endpoint.connect(factory)
        except MXError as e:
            return "bounced" if e.permanent else "deferred"
        except AllHostsFailedError as e:
            # Refused before the client was connected: it never said a word.
            return errorVerdict(e.attempts[-1].error)
        try:
            await done
        except SMTPClientError as e:
            attempts = getattr(e.__cause__, "attempts", ())
            return errorVerdict(attempts[-1].error) if attempts else f"failed ({e})"
        finally:
            await factory.lost
        return str(IDANEConnection(factory.last.transport).connectionInfo.protection)


class _RecordingFactory(ESMTPSenderFactory):
    """
    twisted.mail's factory, keeping its last protocol and noting when it is done.
    """

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.lost: Deferred[None] = Deferred()

    def buildProtocol(self, addr: Any) -> Any:
        self.last = super().buildProtocol(addr)
        return self.last

    def clientConnectionLost(self, connector: Any, err: Any) -> None:
        super().clientConnectionLost(connector, err)
        if self.sendFinished and not self.lost.called:
            self.lost.callback(None)

    def clientConnectionFailed(self, connector: Any, err: Any) -> None:
        super().clientConnectionFailed(connector, err)
        if (self.sendFinished or self.retries >= 0) and not self.lost.called:
            self.lost.callback(None)

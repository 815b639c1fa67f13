"""
twisted.mail's stock clients over C{dane:srv=}, on loopback against twisted.mail's own servers
with STARTTLS: C{ESMTPSenderFactory} over C{srv=submission}, C{IMAP4Client} over
C{srv=imap}, C{AdvancedPOP3Client} over C{srv=pop3}; and C{ESMTPSenderFactory} over
C{srv=submission} against a real, private Postfix (interop). The endpoint does STARTTLS and
hands each client the server's greeting once the server is verified by DANE; the clients,
which wait for a greeting, carry on unchanged.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.portal import IRealm, Portal
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.threads import deferToThread
from twisted.mail import imap4, pop3
from twisted.mail.smtp import ESMTPSenderFactory
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from txdane.dane.tlsa import recordForCertificate
from txdane.endpoints.connection import IDANEConnection, Protection

from ..dane.certs import Issued, issue
from ..dane.tlsserver import serverOptions
from ..endpoints.world import World, makeWorld, reactor
from ..peers.common import Credentials, requireRoot
from ..peers.postfix import Postfix
from .smtpserver import listenSMTP

#: The service domain; every service's SRV record names C{mail.example.test}.
DOMAIN = "corp.example.test"
MESSAGE = b"From: alice@example.test\r\nSubject: srv\r\n\r\nhello\r\n"


def srvRecords(service: str, port: int, certificate: Issued) -> dict[str, list[str]]:
    """
    The SRV record of C{service} for L{DOMAIN}, its target and the target's TLSA record.
    """
    tlsa = recordForCertificate(certificate.cert, 3, 1, 1)
    return {
        "example.test.": [
            f"_{service}._tcp.corp 300 IN SRV 0 0 {port} mail",
            "mail 300 IN A 127.0.0.1",
            f"_{port}._tcp.mail 300 IN TLSA {tlsa}",
        ]
    }


@implementer(IRealm)
class _Realm:
    """
    Alice's IMAP account (empty) and POP3 mailbox (one message).
    """

    def requestAvatar(self, avatarId: Any, mind: Any, *interfaces: Any) -> Any:
        if imap4.IAccount in interfaces:
            return imap4.IAccount, imap4.MemoryAccount(avatarId), lambda: None
        if pop3.IMailbox in interfaces:
            return pop3.IMailbox, _Mailbox([MESSAGE]), lambda: None
        raise NotImplementedError(interfaces)


class _Mailbox(pop3.Mailbox):
    def __init__(self, messages: list[bytes]) -> None:
        self.messages = messages

    def listMessages(self, index: int | None = None) -> Any:
        if index is None:
            return [len(m) for m in self.messages]
        return len(self.messages[index])

    def getMessage(self, index: int) -> Any:
        return io.BytesIO(self.messages[index])

    def getUidl(self, index: int) -> bytes:
        return b"%d" % index


def _portal() -> Portal:
    checker = InMemoryUsernamePasswordDatabaseDontUse()
    checker.addUser(b"alice", b"secret")
    return Portal(_Realm(), [checker])


class _POP3Server(pop3.POP3):
    """
    twisted.mail's POP3 server, with C{STLS} (RFC 2595), which it lacks, and without an APOP
    challenge (its APOP check compares text with bytes): the client logs in with C{USER}
    and C{PASS}, which it allows only over TLS.
    """

    magic = b"POP3 server ready"
    AUTH_CMDS = [*pop3.POP3.AUTH_CMDS, b"STLS"]

    def do_STLS(self) -> None:
        self.successResponse(b"Begin TLS negotiation now")
        transport: Any = self.transport
        factory: Any = self.factory
        transport.startTLS(factory.context)
        factory.upgraded.append(self)


@implementer(IHandshakeListener)
class _HangUpAfterTLS(Protocol):
    """
    A submission server that does STARTTLS and hangs up as soon as TLS is up.
    """

    def connectionMade(self) -> None:
        self.buffer = b""
        self.transport.write(b"220 drop.example.test ESMTP\r\n")  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        transport: Any = self.transport
        self.buffer += data
        while b"\r\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            if line.startswith(b"EHLO"):
                transport.write(b"250-drop.example.test\r\n250 STARTTLS\r\n")
            elif line == b"STARTTLS":
                transport.write(b"220 go ahead\r\n")
                transport.startTLS(self.factory.context)

    def handshakeCompleted(self) -> None:
        factory: Any = self.factory
        factory.hungUp += 1
        self.transport.loseConnection()  # type: ignore[union-attr]


class _GreetedIMAP4Client(imap4.IMAP4Client):
    def __init__(self) -> None:
        super().__init__()
        self.greeted: Deferred[Any] = Deferred()

    def serverGreeting(self, caps: Any) -> None:
        self.greeted.callback(caps)


class _GreetedPOP3Client(pop3.AdvancedPOP3Client):
    def __init__(self) -> None:
        self.greeted: Deferred[Any] = Deferred()

    def serverGreeting(self, greeting: bytes) -> None:
        super().serverGreeting(greeting)
        self.greeted.callback(greeting)


def senderFactory(done: Deferred[Any]) -> ESMTPSenderFactory:
    """
    twisted.mail's factory as a submission client would use it, TLS required.
    """
    return ESMTPSenderFactory(
        None,
        None,
        "alice@example.test",
        ["bob@example.test"],
        io.BytesIO(MESSAGE),
        done,
        contextFactory=object(),
        requireAuthentication=False,
        requireTransportSecurity=True,
    )


class SRVWorld(TestCase):
    async def world(self, records: dict[str, list[str]]) -> World:
        world = await makeWorld(records)
        self.addCleanup(world.dnsServer.stop)
        return world

    def endpoint(self, world: World, service: str) -> Any:
        directory = tempfile.mkdtemp(prefix="txdane-srv-test-")
        self.addCleanup(shutil.rmtree, directory, True)
        anchor = Path(directory) / "anchor"
        anchor.write_text(world.hierarchy.trustAnchorText())
        return clientFromString(
            reactor,
            f"dane:srv={service}:domain={DOMAIN}:resolver=127.0.0.1#{world.dnsServer.port}"
            f":trustAnchor={anchor}:timeout=10",
        )


class StockClientTests(SRVWorld):
    def listen(self, factory: Any) -> int:
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        return int(port.getHost().port)

    async def test_esmtpSenderOverSubmission(self) -> None:
        """
        C{ESMTPSenderFactory(requireTransportSecurity=True)} over C{srv=submission}: it
        answers the replayed greeting with C{EHLO} over TLS, takes the transport as secure
        (no second STARTTLS) and delivers; nothing but C{EHLO} and C{STARTTLS} was said in
        cleartext.
        """
        certificate = issue("mail.example.test")
        server = listenSMTP(serverOptions(certificate), ("127.0.0.1",))
        for listening in server.ports:
            self.addCleanup(listening.stopListening)
        world = await self.world(srvRecords("submission", server.port, certificate))
        done: Deferred[Any] = Deferred()
        protocol: Any = await self.endpoint(world, "submission").connect(senderFactory(done))
        self.addCleanup(protocol.transport.abortConnection)
        await done
        info = IDANEConnection(protocol.transport).connectionInfo
        self.assertEqual(
            (info.host, info.domain, info.protection),
            ("mail.example.test", DOMAIN, Protection.VERIFIED),
        )
        [message] = server.messages
        self.assertIn(b"Subject: srv", message)
        self.assertEqual([line.split()[0] for line in server.cleartext], [b"EHLO", b"STARTTLS"])

    async def test_esmtpSenderRetriesNextTarget(self) -> None:
        """
        A target that drops the connection once TLS is up: C{ESMTPSenderFactory} hears of
        it through C{clientConnectionLost}, retries through the connector it was given, which
        dials the next target, and the mail is delivered there.
        """
        certificate = issue("mail.example.test")
        dropping: Any = Factory.forProtocol(_HangUpAfterTLS)
        dropping.context = serverOptions(certificate)
        dropping.hungUp = 0
        first = self.listen(dropping)
        server = listenSMTP(serverOptions(certificate), ("127.0.0.1",))
        for listening in server.ports:
            self.addCleanup(listening.stopListening)
        records = srvRecords("submission", server.port, certificate)
        tlsa = recordForCertificate(certificate.cert, 3, 1, 1)
        records["example.test."] = [
            records["example.test."][0].replace("SRV 0 ", "SRV 10 "),
            *records["example.test."][1:],
            f"_submission._tcp.corp 300 IN SRV 0 0 {first} drop",
            "drop 300 IN A 127.0.0.1",
            f"_{first}._tcp.drop 300 IN TLSA {tlsa}",
        ]
        world = await self.world(records)
        done: Deferred[Any] = Deferred()
        lost: list[Any] = []
        factory = senderFactory(done)
        original = factory.clientConnectionLost

        def clientConnectionLost(connector: Any, reason: Any) -> None:
            lost.append(connector.getDestination().port)
            original(connector, reason)

        factory.clientConnectionLost = clientConnectionLost  # type: ignore[method-assign]
        built: list[Any] = []
        build = factory.buildProtocol

        def buildProtocol(addr: Any) -> Any:
            protocol = build(addr)
            built.append(protocol)
            self.addCleanup(lambda: protocol.transport.abortConnection())
            return protocol

        factory.buildProtocol = buildProtocol  # type: ignore[method-assign]
        await self.endpoint(world, "submission").connect(factory)
        await done
        self.assertEqual(dropping.hungUp, 1)
        self.assertEqual(lost[0], first)
        [message] = server.messages
        self.assertIn(b"Subject: srv", message)
        self.assertEqual(len(built), 2)
        info = IDANEConnection(built[1].transport).connectionInfo
        self.assertEqual((info.host, info.protection), ("mail.example.test", Protection.VERIFIED))

    async def test_imap4Client(self) -> None:
        """
        C{IMAP4Client} over C{srv=imap}: greeted without the cleartext capabilities, it asks
        for them again over TLS and logs in there.
        """
        certificate = issue("mail.example.test")
        servers: list[imap4.IMAP4Server] = []

        def build() -> imap4.IMAP4Server:
            server = imap4.IMAP4Server(contextFactory=serverOptions(certificate))
            server.portal = _portal()  # type: ignore[assignment]
            servers.append(server)
            return server

        port = self.listen(Factory.forProtocol(build))
        world = await self.world(srvRecords("imap", port, certificate))
        client: Any = await self.endpoint(world, "imap").connect(
            Factory.forProtocol(_GreetedIMAP4Client)
        )
        self.addCleanup(client.transport.abortConnection)
        self.assertIsNone(await client.greeted)
        await client.login(b"alice", b"secret")
        capabilities = await client.getCapabilities()
        self.assertNotIn(b"STARTTLS", capabilities)
        self.assertEqual(await client.list(b"", b"*"), [])
        [server] = servers
        self.assertTrue(server.startedTLS)
        self.assertEqual(server.state, "auth")
        info = IDANEConnection(client.transport).connectionInfo
        self.assertEqual(info.protection, Protection.VERIFIED)
        await client.logout()

    async def test_pop3Client(self) -> None:
        """
        C{AdvancedPOP3Client} over C{srv=pop3}: greeted, it takes the transport as secure,
        logs in with C{USER} and C{PASS} (which it refuses in cleartext) and reads the
        mailbox over TLS.
        """
        certificate = issue("mail.example.test")
        factory: Any = Factory()
        factory.context = serverOptions(certificate)
        factory.upgraded = []

        def build() -> _POP3Server:
            server = _POP3Server()
            server.portal = _portal()  # type: ignore[assignment]
            return server

        factory.protocol = build
        port = self.listen(factory)
        world = await self.world(srvRecords("pop3", port, certificate))
        client: Any = await self.endpoint(world, "pop3").connect(
            Factory.forProtocol(_GreetedPOP3Client)
        )
        self.addCleanup(client.transport.abortConnection)
        # The endpoint's greeting, not the server's cleartext one.
        self.assertEqual(await client.greeted, b"mail.example.test ready")
        self.assertFalse(client.allowInsecureLogin)
        await client.login(b"alice", b"secret")
        self.assertEqual(await client.stat(), (1, len(MESSAGE)))
        self.assertEqual(len(factory.upgraded), 1)
        info = IDANEConnection(client.transport).connectionInfo
        self.assertEqual(info.protection, Protection.VERIFIED)
        await client.quit()


@pytest.mark.interop
class PostfixSubmissionTests(SRVWorld):
    async def test_esmtpSenderToPostfix(self) -> None:
        """
        C{ESMTPSenderFactory(requireTransportSecurity=True)} over C{srv=submission} delivers
        to a real Postfix found by its SRV record and verified by its TLSA record: Postfix
        saw two C{EHLO}s, one C{STARTTLS} and the mail inside TLS.
        """
        requireRoot("a private Postfix instance")
        certificate = issue("mail.example.test")
        directory = Path(tempfile.mkdtemp(prefix="txdane-submission-"))
        self.addCleanup(shutil.rmtree, directory, True)
        postfix = Postfix(
            Credentials.write(directory / "credentials", certificate),
            domains=["example.test"],
            hostname="mail.example.test",
        )
        self.addCleanup(postfix.cleanUp)
        postfix.start()
        world = await self.world(srvRecords("submission", postfix.port, certificate))
        done: Deferred[Any] = Deferred()
        protocol: Any = await self.endpoint(world, "submission").connect(senderFactory(done))
        self.addCleanup(protocol.transport.abortConnection)
        await done
        info = IDANEConnection(protocol.transport).connectionInfo
        self.assertEqual((info.host, info.protection), ("mail.example.test", Protection.VERIFIED))
        [message] = postfix.waitForMessages(1)
        self.assertEqual(message["Subject"], "srv")
        self.assertIn("with ESMTPS", message["Received"])
        # The client says QUIT (the reactor must run meanwhile).
        await deferToThread(postfix.waitForLog, r"disconnect from ")
        [session] = postfix.sessions()
        self.assertEqual(
            (session.get("ehlo"), session.get("starttls"), session.get("mail")), ("2", "1", "1")
        )

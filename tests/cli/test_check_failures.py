"""
Tests for how C{txdane check} words and classifies what is not a verdict on the server's
certificate or key: a server that accepts the connection but speaks no TLS (a cleartext
greeting, silence, a hang-up), a STARTTLS server that is not, an SSH check of a server that
is not SSH, and names that provably do not exist. The servers are in-process, on loopback.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.error import CannotListenError
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase, TestCase

from txdane.cli import ExitStatus
from txdane.cli._peek import greetingProtocol
from txdane.endpoints.starttls import negotiatorFor

from ..endpoints.world import reactor
from ..peers.common import freeTCPPort
from .world import issue, makeCLIWorld, startServer

#: A fingerprint for an SSHFP record no key has.
_NO_KEY = "4 2 " + "00" * 32


class _Greeter(Protocol):
    """
    Sends the factory's C{greeting} at once, then answers every line with C{500}.
    """

    def connectionMade(self) -> None:
        greeting = self.factory.greeting
        if greeting:
            self.transport.write(greeting)  # type: ignore[union-attr]

    def dataReceived(self, data: bytes) -> None:
        if self.factory.hangUp:
            self.transport.abortConnection()  # type: ignore[union-attr]
        elif self.factory.greeting:
            self.transport.write(b"500 5.5.2 what?\r\n")  # type: ignore[union-attr]


def startCleartext(
    testCase: TestCase, greeting: bytes = b"", *, hangUp: bool = False, port: int = 0
) -> int:
    """
    Listen on 127.0.0.1 and ::1 (both addresses of C{www.example.test}) with a server that
    speaks no TLS: it sends C{greeting} first (nothing when empty) and, with C{hangUp}, cuts
    the connection as soon as the client says anything. Return the port (C{port} if given,
    else any free one).
    """
    factory: Any = Factory.forProtocol(_Greeter)
    factory.greeting, factory.hangUp = greeting, hangUp
    for interface in ("127.0.0.1", "::1"):
        listening = reactor.listenTCP(port, factory, interface=interface)
        testCase.addCleanup(listening.stopListening)
        port = listening.getHost().port
    return port


class HandshakeFailureTests(TestCase):
    """
    A server that accepted the connection but with which no TLS session came about: the
    check could not complete (exit status 4); it is no PKIX or DANE verdict.
    """

    async def test_smtpGreetingWithoutTLSA(self) -> None:
        """
        Plain TLS to a server that greets in cleartext, where no TLSA records are published
        (a PKIX plan): no TLS handshake, not a PKIX failure; the greeting names the option.
        """
        port = startCleartext(self, b"220 mail.example.test ESMTP ready\r\n")
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "www.example.test", str(port))
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[0],
            f"www.example.test:{port}  connection failed: the TLS handshake failed "
            "(wrong version number)",
        )
        self.assertEqual(
            lines[1],
            "  the server speaks SMTP ('220 mail.example.test ESMTP ready'), not TLS: "
            "try --starttls smtp",
        )
        self.assertNotIn("PKIX", output)
        self.assertIn("  addresses  ::1, 127.0.0.1  secure", lines)
        status, data = await world.json("check", "www.example.test", str(port))
        self.assertEqual((data["exit_status"], data["verified"]), (4, False))
        self.assertIn("try --starttls smtp", data["reason"])

    async def test_imapGreetingWithTLSA(self) -> None:
        """
        The same under a DANE plan, for an IMAP server.
        """
        port = startCleartext(self, b"* OK IMAP4rev1 ready\r\n")
        record = startServer(self, issue("www.example.test")).record()
        world = await makeCLIWorld(
            self, {"example.test.": [f"_{port}._tcp.www 300 IN TLSA {record}"]}
        )
        status, output = await world.run("check", "www.example.test", str(port))
        self.assertEqual(status, ExitStatus.FAILURE, output)
        self.assertIn("connection failed: the TLS handshake failed", output.splitlines()[0])
        self.assertIn("the server speaks IMAP ('* OK IMAP4rev1 ready'), not TLS", output)
        self.assertIn("try --starttls imap", output)

    async def test_silentServer(self) -> None:
        """
        A server that accepts and never answers the handshake: no TLS handshake in time.
        """
        port = startCleartext(self)
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "--timeout", "1", "www.example.test", str(port))
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[0], f"www.example.test:{port}  connection failed: no TLS handshake within 1 s"
        )
        self.assertEqual(
            lines[1], "  the server accepted the connection but did not answer the TLS handshake"
        )

    async def test_silentDirectTLSOnAPortWhereClientsSpeakFirst(self) -> None:
        """
        Direct TLS to a server that stays silent on the port of a protocol whose clients
        speak first (XMPP, LDAP) gets the same hint as with C{--starttls}: that protocol's
        option (docs/cli.md).
        """
        homes = [(5222, "xmpp-client"), (5269, "xmpp-server"), (389, "ldap")]
        while homes:
            port, name = homes.pop(0)
            try:
                startCleartext(self, port=port)
                break
            except CannotListenError:
                if not homes:
                    raise
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "--timeout", "1", "www.example.test", str(port))
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[0], f"www.example.test:{port}  connection failed: no TLS handshake within 1 s"
        )
        self.assertEqual(
            lines[1],
            "  the server accepted the connection but did not answer the TLS handshake; port"
            f" {port} is {negotiatorFor(name).title}'s, whose server waits for the client:"
            f" try --starttls {name}",
        )

    async def test_hangUp(self) -> None:
        """
        A server that drops the connection on the client's hello: it closed the connection
        during the handshake, which is no PKIX failure either.
        """
        port = startCleartext(self, hangUp=True)
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "www.example.test", str(port))
        self.assertEqual(status, ExitStatus.FAILURE, output)
        self.assertEqual(
            output.splitlines()[0],
            f"www.example.test:{port}  connection failed: the server closed the connection "
            "during the TLS handshake",
        )
        self.assertNotIn("PKIX", output)

    async def test_certificateStillPKIX(self) -> None:
        """
        A TLS server whose certificate PKIX refuses is still the documented PKIX verdict
        (exit status 1): only handshakes that never judged a certificate changed.
        """
        server = startServer(self, issue("www.example.test"))
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "www.example.test", str(server.port))
        self.assertEqual(status, ExitStatus.INSECURE, output)
        self.assertIn("no DANE, and PKIX verification failed", output.splitlines()[0])


class STARTTLSFailureTests(TestCase):
    async def test_tlsServer(self) -> None:
        """
        C{--starttls smtp} to a server that speaks TLS from the first byte: the client waited
        for the SMTP greeting, not for a handshake; the server is found to speak TLS.
        """
        server = startServer(self, issue("www.example.test"))
        world = await makeCLIWorld(self, {})
        argv = ("--timeout", "1", "--starttls", "smtp", "www.example.test", str(server.port))
        status, output = await world.run("check", *argv)
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[0],
            f"www.example.test:{server.port}  connection failed: no SMTP greeting within 1 s",
        )
        self.assertEqual(
            lines[1], "  the server speaks TLS from the first byte: try without --starttls"
        )
        self.assertIn("  protection none (STARTTLS smtp)", lines)

    async def test_silentServer(self) -> None:
        """
        C{--starttls imap} to a server that says nothing at all.
        """
        port = startCleartext(self)
        world = await makeCLIWorld(self, {})
        argv = ("--timeout", "1", "--starttls", "imap", "www.example.test", str(port))
        status, output = await world.run("check", *argv)
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertEqual(
            lines[0], f"www.example.test:{port}  connection failed: no IMAP greeting within 1 s"
        )
        self.assertEqual(lines[1], "  the server accepted the connection but said nothing")

    async def test_silentServerOnAPortWhereClientsSpeakFirst(self) -> None:
        """
        A silent server on the port of a protocol whose clients speak first (XMPP, LDAP,
        PostgreSQL) is probably one of those, waiting: the option to try is named.
        """
        homes = [(5222, "xmpp-client"), (5269, "xmpp-server"), (389, "ldap")]
        while homes:
            port, name = homes.pop(0)
            try:
                startCleartext(self, port=port)
                break
            except CannotListenError:
                if not homes:
                    raise
        world = await makeCLIWorld(self, {})
        argv = ("--timeout", "1", "--starttls", "smtp", "www.example.test", str(port))
        status, output = await world.run("check", *argv)
        self.assertEqual(status, ExitStatus.FAILURE, output)
        self.assertEqual(
            output.splitlines()[1],
            "  the server accepted the connection but said nothing; port"
            f" {port} is {negotiatorFor(name).title}'s, whose server waits for the client:"
            f" try --starttls {name}",
        )


class SSHFailureTests(TestCase):
    async def test_notSSH(self) -> None:
        """
        C{--ssh} to an SMTP server: it is not an SSH server, as its first line shows; the
        addresses and SSHFP records looked up are shown.
        """
        port = startCleartext(self, b"220 mail.example.test ESMTP\r\n")
        world = await makeCLIWorld(self, {"example.test.": [f"www 300 IN SSHFP {_NO_KEY}"]})
        status, output = await world.run("check", "--ssh", "www.example.test", str(port))
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertEqual(lines[0], f"www.example.test:{port}  connection failed: not an SSH server")
        self.assertEqual(
            lines[1],
            "  it sent '220 mail.example.test ESMTP' instead of an SSH identification "
            "string; it speaks SMTP: try --starttls smtp",
        )
        self.assertIn("  addresses  ::1, 127.0.0.1  secure", lines)
        self.assertIn("  SSHFP      www.example.test.  secure", lines)
        self.assertIn("             4 2 00000000...0000  Ed25519 SHA-256  not compared", lines)
        status, data = await world.json("check", "--ssh", "www.example.test", str(port))
        self.assertEqual((data["status"], data["sshfp_name"]), ("secure", "www.example.test."))
        self.assertEqual(data["records"][0]["outcome"], "not compared")
        self.assertIsNone(data["host_key"])

    async def test_closedPort(self) -> None:
        """
        A closed port is still a plain connection failure, with the evidence looked up.
        """
        port = freeTCPPort()
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "--ssh", "www.example.test", str(port))
        self.assertEqual(status, ExitStatus.FAILURE, output)
        lines = output.splitlines()
        self.assertEqual(lines[0], f"www.example.test:{port}  connection failed")
        self.assertIn("connection refused (nothing listens there)", lines[1])
        self.assertIn("  addresses  ::1, 127.0.0.1  secure", lines)


class NoSuchNameTests(TestCase):
    """
    A name that provably does not exist: the check completed, and there is nothing to
    connect to; DANE does not apply (exit status 1), as for a null MX.
    """

    async def test_host(self) -> None:
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "nx.example.test", "443")
        self.assertEqual(status, ExitStatus.INSECURE, output)
        lines = output.splitlines()
        self.assertEqual(lines[0], "nx.example.test:443  no such host (proven by DNSSEC)")
        self.assertIn("  addresses  -  secure", lines)
        self.assertNotIn("failed", output)
        status, data = await world.json("check", "nx.example.test", "443")
        self.assertEqual(
            (data["exit_status"], data["address_status"], data["status"]), (1, "secure", "secure")
        )

    async def test_mx(self) -> None:
        world = await makeCLIWorld(self, {})
        status, output = await world.run("check", "--mx", "nx.example.test")
        self.assertEqual(status, ExitStatus.INSECURE, output)
        self.assertEqual(
            output.splitlines()[0], "MX of nx.example.test  no such domain (proven by DNSSEC)"
        )
        status, data = await world.json("check", "--mx", "nx.example.test")
        self.assertEqual((data["exit_status"], data["hosts"]), (1, []))


class GreetingTests(SynchronousTestCase):
    def test_protocols(self) -> None:
        self.assertEqual(greetingProtocol("220 mx.example.com ESMTP Postfix"), ("SMTP", "smtp"))
        self.assertEqual(greetingProtocol("220-mx.example.com ESMTP"), ("SMTP", "smtp"))
        self.assertEqual(greetingProtocol("220 lmtp.example.com LMTP ready"), ("LMTP", "lmtp"))
        self.assertEqual(greetingProtocol("220 (vsFTPd 3.0.5)"), ("FTP", "ftp"))
        self.assertEqual(greetingProtocol("* OK [CAPABILITY IMAP4rev1] ready"), ("IMAP", "imap"))
        self.assertEqual(greetingProtocol("+OK POP3 ready"), ("POP3", "pop3"))
        self.assertEqual(greetingProtocol("SSH-2.0-OpenSSH_9.6"), ("SSH", None))
        self.assertIsNone(greetingProtocol("HTTP/1.1 400 Bad Request"))


class NumericMXTests(TestCase):
    """
    An MX host whose name is an IP address is no host name (RFC 5321 section 5.1): the check
    names it and why, and neither looks up nor dials it.
    """

    async def test_numericMX(self) -> None:
        world = await makeCLIWorld(self, {"example.test.": ["numeric 300 IN MX 10 127.0.0.1."]})
        status, output = await world.run("check", "--mx", "numeric.example.test")
        self.assertEqual(status, ExitStatus.FAILURE, output)
        self.assertIn("127.0.0.1:25  not checked: its addresses cannot be used", output)
        self.assertIn("MX host 127.0.0.1.: a numeric name, not a host name", output)

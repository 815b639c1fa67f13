"""
twisted.words' C{IRCClient} over a C{dane:} endpoint, against twisted.words' own IRC server
(C{IRCFactory} over an in-memory realm) behind TLS on loopback.
"""

from __future__ import annotations

from typing import Any

from twisted.cred.checkers import InMemoryUsernamePasswordDatabaseDontUse
from twisted.cred.portal import Portal
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure
from twisted.words.protocols import irc
from twisted.words.service import InMemoryWordsRealm, IRCFactory

from txdane.dane.errors import DANEVerificationError

from .loopback import LoopbackTestCase, reactor

PASSWORD = "secret"


def ircServer() -> IRCFactory:
    """
    twisted.words' IRC server: users log in with a password (C{alice}, C{bob}) and channels
    are made when first joined.
    """
    realm = InMemoryWordsRealm("irc.example.test")
    realm.createGroupOnRequest = True
    checker = InMemoryUsernamePasswordDatabaseDontUse()
    for name in ("alice", "bob"):
        # The server asks with the names and passwords as it decoded them, in str.
        checker.addUser(name, PASSWORD)  # type: ignore[arg-type]
    return IRCFactory(realm, Portal(realm, [checker]))


class Joiner(irc.IRCClient):
    """
    Signs on, joins C{#dane} and notes what the server said.
    """

    nickname = "alice"
    password = PASSWORD  # type: ignore[assignment]  # IRCClient's hint allows only None

    def __init__(self) -> None:
        self.welcome: list[str] = []
        self.channels: list[str] = []
        self.inChannel: Deferred[str] = Deferred()
        self.lost: Deferred[None] = Deferred()

    def irc_RPL_WELCOME(self, prefix: str, params: list[str]) -> None:
        self.welcome.append(params[-1])
        super().irc_RPL_WELCOME(prefix, params)

    def signedOn(self) -> None:
        self.join("#dane")

    def joined(self, channel: str) -> None:
        self.channels.append(channel)
        self.inChannel.callback(channel)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        super().connectionLost(reason)
        if not self.inChannel.called:
            self.inChannel.errback(reason)
        self.lost.callback(None)


class IRCTests(LoopbackTestCase):
    async def test_signOnAndJoin(self) -> None:
        """
        Over C{dane:host=...:port=...}, C{IRCClient} registers (the server's 001 welcome
        arrives), joins a channel, and the server is verified by its TLSA record.
        """
        server = await self.serve(ircServer(), "irc")
        endpoint = clientFromString(reactor, server.endpointString())
        client: Any = await endpoint.connect(Factory.forProtocol(Joiner))
        self.assertEqual(await client.inChannel, "#dane")
        self.assertEqual(client.welcome, ["connected to Twisted IRC"])
        peer = client.transport.getPeerCertificate()
        self.assertEqual(peer.to_cryptography(), server.certificate.cert)
        client.quit("bye")
        await client.lost
        self.assertIn(b"NICK alice\r\n", server.received)

    async def test_mismatchRefusedBeforeAnyIRC(self) -> None:
        """
        A server whose certificate matches no TLSA record is refused inside the TLS
        handshake: C{connect()} fails with L{DANEVerificationError}, the client's protocol is
        never connected, and the server receives not one IRC byte (no C{PASS}, C{NICK} or
        C{USER}).
        """
        server = await self.serve(ircServer(), "irc", good=False)
        endpoint = clientFromString(reactor, server.endpointString())
        built: list[Joiner] = []

        def build() -> Joiner:
            built.append(Joiner())
            return built[-1]

        error = await self.assertFailure(
            endpoint.connect(Factory.forProtocol(build)), DANEVerificationError
        )
        self.assertIn("no TLSA record matched", str(error))
        await server.allEnded()
        self.assertEqual(server.connections, 1)
        self.assertEqual(server.received, b"")
        self.assertEqual([c.channels for c in built], [[]] * len(built))

    async def test_example(self) -> None:
        """
        docs/examples/irc_join.py signs on and joins the channel.
        """
        server = await self.serve(ircServer(), "irc")
        code, out, err = await self.runExample(
            "irc_join.py",
            server.host,
            str(server.port),
            "bob",
            "#dane",
            *server.resolverArguments(),
            IRC_PASSWORD=PASSWORD,
        )
        self.assertEqual((code, out), (0, "joined #dane as bob\n"), err)

    async def test_exampleRefused(self) -> None:
        """
        docs/examples/irc_join.py, given a server that fails DANE, says so and exits with 1;
        the server never hears its nickname.
        """
        server = await self.serve(ircServer(), "irc", good=False)
        code, out, err = await self.runExample(
            "irc_join.py",
            server.host,
            str(server.port),
            "bob",
            "#dane",
            *server.resolverArguments(),
            IRC_PASSWORD=PASSWORD,
        )
        self.assertEqual((code, out), (1, ""))
        self.assertIn("refused: ", err)
        self.assertIn("no TLSA record matched", err)
        self.assertEqual(server.received, b"")

"""
Sign on to an IRC server over TLS, the server authenticated by DANE, and join a channel.

    python irc_join.py irc.example.com 6697 alice "#dane" [--resolver ADDR#PORT]
        [--trust-anchor FILE]

The server password, if it wants one, is read from the IRC_PASSWORD environment variable.
"""

import argparse
import os
import sys

from twisted.internet import defer, task
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory
from twisted.words.protocols import irc

from txdane.errors import TxdaneError


class Joiner(irc.IRCClient):
    def __init__(self, nickname, channel, password):
        self.nickname = nickname
        self.channel = channel
        self.password = password
        self.inChannel = False
        self.done = defer.Deferred()

    def signedOn(self):
        # The server's welcome (001) arrived: registration is complete.
        self.join(self.channel)

    def joined(self, channel):
        self.inChannel = True
        print(f"joined {channel} as {self.nickname}")
        self.quit("bye")

    def connectionLost(self, reason):
        super().connectionLost(reason)
        self.done.callback(self.inChannel)


async def main(reactor, options, password):
    description = f"dane:host={options.host}:port={options.port}"
    for resolver in options.resolver:
        description += ":resolver=" + resolver.replace(":", "\\:")
    if options.trust_anchor:
        description += f":trustAnchor={options.trust_anchor}"
    endpoint = clientFromString(reactor, description)

    factory = Factory.forProtocol(lambda: Joiner(options.nickname, options.channel, password))
    try:
        # connect() fires only once the server has been verified: IRCClient sends its
        # PASS, NICK and USER lines to a verified server only.
        client = await endpoint.connect(factory)
    except TxdaneError as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    if not await client.done:
        print(f"closed before {options.channel} was joined", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("nickname")
    parser.add_argument("channel")
    parser.add_argument("--resolver", action="append", default=[])
    parser.add_argument("--trust-anchor")
    options = parser.parse_args()
    password = os.environ.get("IRC_PASSWORD")
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, options, password)))

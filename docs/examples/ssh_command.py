"""
Run a command over SSH on a host whose addresses and host key are proven by DNSSEC (SSHFP).

    python ssh_command.py HOST COMMAND [--port 22] [--user NAME] [--identity KEYFILE]
        [--require] [--resolver ADDR#PORT] [--trust-anchor FILE]
"""

import argparse
import getpass
import sys

from twisted.conch.ssh.keys import Key
from twisted.internet import defer, protocol, task

from txdane.endpoints import sharedResolver
from txdane.errors import TxdaneError
from txdane.resolvconf import NameServer
from txdane.ssh import sshCommandEndpoint


class Output(protocol.Protocol):
    def __init__(self):
        self.finished = defer.Deferred()

    def dataReceived(self, data):
        sys.stdout.buffer.write(data)

    def connectionLost(self, reason):
        self.finished.callback(None)


async def main(reactor, options):
    servers = tuple(NameServer.fromString(s) for s in options.resolver) or None
    resolver = sharedResolver(reactor, servers, options.trust_anchor)
    endpoint = sshCommandEndpoint(
        reactor,
        resolver,
        options.host,
        options.command,
        options.user,
        options.port,
        keys=[Key.fromFile(options.identity)] if options.identity else [],
        require=options.require,  # True: only keys the SSHFP records vouch for
    )
    try:
        output = await endpoint.connect(protocol.Factory.forProtocol(Output))
    except TxdaneError as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    await output.finished


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("command")
    parser.add_argument("--port", type=int, default=22)
    parser.add_argument("--user", default=getpass.getuser())
    parser.add_argument("--identity", help="private key file")
    parser.add_argument("--require", action="store_true", help="refuse keys not in SSHFP")
    parser.add_argument("--resolver", action="append", default=[])
    parser.add_argument("--trust-anchor")
    options = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, options)))

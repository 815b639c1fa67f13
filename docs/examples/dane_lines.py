"""
Talk a line-based protocol over a dane: endpoint: send one line, print the first line back.

    python dane_lines.py "dane:host=mail.example.com:port=4443" "HELLO"
"""

import sys

from twisted.internet import defer, task
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory
from twisted.protocols.basic import LineReceiver

from txdane.errors import TxdaneError


class OneLine(LineReceiver):
    delimiter = b"\n"

    def __init__(self):
        self.answer = defer.Deferred()

    def lineReceived(self, line):
        if not self.answer.called:
            self.answer.callback(line.rstrip(b"\r").decode())
        self.transport.loseConnection()


async def main(reactor, description, line):
    endpoint = clientFromString(reactor, description)
    try:
        # connect() fires only once the server has been verified.
        protocol = await endpoint.connect(Factory.forProtocol(OneLine))
    except TxdaneError as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    protocol.sendLine(line.encode())
    print(await protocol.answer)


if __name__ == "__main__":
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, *sys.argv[1:3])))

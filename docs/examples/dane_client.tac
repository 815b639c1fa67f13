"""
A twistd application that keeps a DANE-verified connection to a server and logs each line
it sends. Run with:

    TXDANE_ENDPOINT="dane:host=mail.example.com:port=4443" twistd -ny dane_client.tac
"""

import os

from twisted.application import service
from twisted.application.internet import ClientService
from twisted.internet import reactor
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver

log = Logger()


class LogLines(LineReceiver):
    delimiter = b"\n"

    def connectionMade(self):
        log.info("connected to {peer}, verified", peer=self.transport.getPeer())
        self.sendLine(b"HELLO")

    def lineReceived(self, line):
        log.info("server says: {line}", line=line.decode(errors="replace"))


endpoint = clientFromString(reactor, os.environ["TXDANE_ENDPOINT"])
application = service.Application("dane-client")
ClientService(endpoint, Factory.forProtocol(LogLines)).setServiceParent(application)

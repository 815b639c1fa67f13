"""
Run inside a fresh virtualenv where txdane was installed, from its wheel or editable, as
C{python wheelcheck.py DIRECTORY}, DIRECTORY being where txdane must be imported from: serves
the signed test hierarchy and a TLS server on loopback, then connects with
C{clientFromString(reactor, "dane:...")} and C{"dnssec:..."}. Prints C{OK} on success.
"""

import sys
import tempfile
from pathlib import Path

from twisted.internet import defer, task
from twisted.internet.endpoints import clientFromString
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.tls import TLSMemoryBIOFactory

import txdane
from txdane.dane.tlsa import recordForCertificate
from txdane.testing import buildHierarchy, selfSignedCertificate


class Greeter(Protocol):
    def connectionMade(self):
        self.transport.write(b"hello")  # type: ignore[union-attr]


class Reader(Protocol):
    def __init__(self):
        self.done: defer.Deferred[bytes] = defer.Deferred()

    def dataReceived(self, data):
        if not self.done.called:
            self.done.callback(data)


async def main(reactor):
    where = Path(sys.argv[1]).resolve()
    assert Path(txdane.__file__).resolve().is_relative_to(where), (txdane.__file__, where)
    cert, private = selfSignedCertificate("www.example.test")
    tls = reactor.listenTCP(
        0,
        TLSMemoryBIOFactory(private.options(), False, Factory.forProtocol(Greeter)),
        interface="127.0.0.1",
    )
    port = tls.getHost().port
    record = recordForCertificate(cert, 3, 1, 1)
    hierarchy = buildHierarchy(
        extraRecords={"example.test.": [f"_{port}._tcp.www 300 IN TLSA {record}"]}
    )
    dns = await hierarchy.serve(reactor)
    with tempfile.NamedTemporaryFile("w", suffix=".anchor", delete=False) as anchor:
        anchor.write(hierarchy.trustAnchorText())
    common = f"resolver=127.0.0.1#{dns.port}:trustAnchor={anchor.name}"
    endpoint = clientFromString(reactor, f"dane:host=www.example.test:port={port}:{common}")
    protocol = await endpoint.connect(Factory.forProtocol(Reader))
    assert await protocol.done == b"hello"
    protocol.transport.loseConnection()
    endpoint = clientFromString(reactor, f"dnssec:host=www.example.test:port={port}:{common}")
    plain = await endpoint.connect(Factory.forProtocol(Protocol))
    plain.transport.loseConnection()
    print("OK")


if __name__ == "__main__":
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor)))
    sys.exit(0)

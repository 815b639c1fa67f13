"""
TLS handshakes per second of txdane's DANE connection creator against Twisted's
optionsForClientTLS, to the same loopback TLS server, in one run.

A separate process runs the TLS server (so it does not share this process's core). This
process opens connections one after another, each with a full handshake, and counts how many
complete per second:

  - twisted: optionsForClientTLS with PKIX to a private root and the host-name check;
  - dane:    DANEClientTLSOptions with a secure "3 1 1" TLSA record already in hand.

The two take turns over several rounds, so drift of the machine affects both alike.

Run: python bench/dane.py
"""

from __future__ import annotations

import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HANDSHAKES = 200
ROUNDS = 3
WARMUP = 20
HOST = "www.example.test"


def _certificates(directory: Path) -> None:
    from txdane.testing import issue

    root = issue("Bench Root", ca=True)
    leaf = issue(HOST, root, names=(HOST,))
    (directory / "root.pem").write_bytes(root.certPEM())
    (directory / "server.pem").write_bytes(leaf.certPEM() + leaf.keyPEM())


def server(directory: str, queue: Any) -> None:
    """
    The other process: a TLS server that completes the handshake and waits for the client
    to close.
    """
    from twisted.internet import reactor as globalReactor
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.ssl import PrivateCertificate
    from twisted.protocols.tls import TLSMemoryBIOFactory

    reactor: Any = globalReactor
    certificate = PrivateCertificate.loadPEM((Path(directory) / "server.pem").read_bytes())
    factory = TLSMemoryBIOFactory(certificate.options(), False, Factory.forProtocol(Protocol))
    port = reactor.listenTCP(0, factory, interface="127.0.0.1", backlog=256)
    queue.put(port.getHost().port)
    reactor.run()


async def handshakes(reactor: Any, port: int, creator: Any, count: int) -> float:
    """
    Complete C{count} handshakes one after another; return handshakes per second.
    """
    from twisted.internet.defer import Deferred
    from twisted.internet.endpoints import TCP4ClientEndpoint, wrapClientTLS
    from twisted.internet.interfaces import IHandshakeListener
    from twisted.internet.protocol import Factory, Protocol
    from zope.interface import implementer

    @implementer(IHandshakeListener)
    class Client(Protocol):
        def __init__(self) -> None:
            self.closed: Deferred[None] = Deferred()
            self.handshook = False

        def handshakeCompleted(self) -> None:
            self.handshook = True
            assert self.transport is not None
            self.transport.loseConnection()

        def connectionLost(self, reason: Any = None) -> None:
            self.closed.callback(None)

    endpoint = wrapClientTLS(creator, TCP4ClientEndpoint(reactor, "127.0.0.1", port))
    start = time.perf_counter()
    for _ in range(count):
        client = Client()
        await endpoint.connect(Factory.forProtocol(lambda: client))  # noqa: B023
        await client.closed
        if not client.handshook:
            raise SystemExit("a handshake failed; the comparison would be meaningless")
    return count / (time.perf_counter() - start)


def main() -> None:
    import dns.name
    from cryptography import x509
    from twisted.internet import reactor as globalReactor
    from twisted.internet.defer import Deferred, ensureDeferred
    from twisted.internet.ssl import Certificate, optionsForClientTLS

    from txdane.dane.decision import TLSAResult, planConnection
    from txdane.dane.pkix import PKIXTrust
    from txdane.dane.tls import DANEClientTLSOptions
    from txdane.dane.tlsa import recordForCertificate
    from txdane.status import Status

    reactor: Any = globalReactor
    directory = Path(tempfile.mkdtemp(prefix="bench-dane-"))
    _certificates(directory)
    queue: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=server, args=(str(directory), queue), daemon=True)
    process.start()
    port = queue.get(timeout=30)

    rootPEM = (directory / "root.pem").read_bytes()
    leaf = x509.load_pem_x509_certificate((directory / "server.pem").read_bytes())
    twisted = optionsForClientTLS(HOST, trustRoot=Certificate.loadPEM(rootPEM))
    tlsa = TLSAResult(Status.SECURE, (recordForCertificate(leaf),), dns.name.from_text(HOST))
    plan = planConnection(
        tlsa, HOST, port, trust=PKIXTrust((x509.load_pem_x509_certificate(rootPEM),))
    )
    ours = DANEClientTLSOptions(plan)

    rates: dict[str, list[float]] = {"twisted": [], "dane": []}

    async def run() -> None:
        await handshakes(reactor, port, twisted, WARMUP)
        await handshakes(reactor, port, ours, WARMUP)
        for _ in range(ROUNDS):
            rates["twisted"].append(await handshakes(reactor, port, twisted, HANDSHAKES))
            rates["dane"].append(await handshakes(reactor, port, ours, HANDSHAKES))

    done: Deferred[None] = ensureDeferred(run())
    failures: list[Any] = []
    done.addErrback(failures.append)
    done.addBoth(lambda _: reactor.stop())
    reactor.run()
    process.terminate()
    process.join()
    shutil.rmtree(directory, ignore_errors=True)
    if failures:
        failures[0].raiseException()

    twistedRate = sum(rates["twisted"]) / ROUNDS
    daneRate = sum(rates["dane"]) / ROUNDS
    print(f"twisted optionsForClientTLS: {twistedRate:8.1f} handshakes/s")
    print(f"txdane DANEClientTLSOptions: {daneRate:8.1f} handshakes/s")
    print("handshakes per second, DANE creator (3 1 1 in hand) over Twisted's optionsForClientTLS")
    print(f"ratio: {daneRate / twistedRate:.3f}")


if __name__ == "__main__":
    main()

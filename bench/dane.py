"""
TLS handshakes per second of txdane's DANE connection creator against Twisted's
optionsForClientTLS, to the same loopback TLS server, in one run, doing the same work.

A separate process runs the TLS server (so it does not share this process's core). This
process opens connections one after another, each with a full handshake, and counts how many
complete per second:

  - twisted:   optionsForClientTLS with PKIX to a private root and the host-name check;
  - dane-pkix: DANEClientTLSOptions with the plan of a secure "no TLSA" answer: the same PKIX
               path validation to the same root and the same host-name check, through the
               DANE creator (the ratio);
  - dane-2-0-1: a secure "2 0 1" record naming the root: a DANE-TA path to it, checked
               signature by signature, and the host-name check (equal work by another road);
  - dane-3-1-1: a secure "3 1 1" record of the leaf's key: no path and no name check, less
               work than PKIX by design (printed, not the ratio).

They take turns over several rounds, so drift of the machine affects all alike. The ratio
compares the two that do the same checks (PKIX path and name) over the same chain.

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
    from twisted.internet.ssl import Certificate, CertificateOptions, PrivateCertificate
    from twisted.protocols.tls import TLSMemoryBIOFactory

    reactor: Any = globalReactor
    certificate = PrivateCertificate.loadPEM((Path(directory) / "server.pem").read_bytes())
    root = Certificate.loadPEM((Path(directory) / "root.pem").read_bytes())
    # The chain includes the root, as a DANE-TA(2) server must send its trust anchor
    # (RFC 7671 section 5.2.2); every client gets the same chain.
    options = CertificateOptions(
        privateKey=certificate.privateKey.original,
        certificate=certificate.original,
        extraCertChain=[root.original],
    )
    factory = TLSMemoryBIOFactory(options, False, Factory.forProtocol(Protocol))
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
    from txdane.dane.tlsa import Selector, TLSARecord, Usage, recordForCertificate
    from txdane.status import Status

    reactor: Any = globalReactor
    directory = Path(tempfile.mkdtemp(prefix="bench-dane-"))
    _certificates(directory)
    queue: Any = multiprocessing.Queue()
    process = multiprocessing.Process(target=server, args=(str(directory), queue), daemon=True)
    process.start()
    port = queue.get(timeout=30)

    rootPEM = (directory / "root.pem").read_bytes()
    root = x509.load_pem_x509_certificate(rootPEM)
    leaf = x509.load_pem_x509_certificate((directory / "server.pem").read_bytes())
    trust = PKIXTrust((root,))
    base = dns.name.from_text(HOST)

    def creator(*records: TLSARecord) -> DANEClientTLSOptions:
        plan = planConnection(TLSAResult(Status.SECURE, records, base), HOST, port, trust=trust)
        return DANEClientTLSOptions(plan)

    creators = {
        "twisted": optionsForClientTLS(HOST, trustRoot=Certificate.loadPEM(rootPEM)),
        "dane-pkix": creator(),
        "dane-2-0-1": creator(recordForCertificate(root, Usage.DANE_TA, Selector.CERT)),
        "dane-3-1-1": creator(recordForCertificate(leaf)),
    }
    rates: dict[str, list[float]] = {name: [] for name in creators}

    async def run() -> None:
        for each in creators.values():
            await handshakes(reactor, port, each, WARMUP)
        for _ in range(ROUNDS):
            for name, each in creators.items():
                rates[name].append(await handshakes(reactor, port, each, HANDSHAKES))

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

    mean = {name: sum(values) / ROUNDS for name, values in rates.items()}
    labels = {
        "twisted": "twisted optionsForClientTLS (PKIX, name check)",
        "dane-pkix": "txdane DANE creator, PKIX plan (no TLSA)",
        "dane-2-0-1": "txdane DANE creator, 2 0 1 (DANE-TA, name check)",
        "dane-3-1-1": "txdane DANE creator, 3 1 1 (no path, no name)",
    }
    for name, label in labels.items():
        print(f"  {label:50} {mean[name]:8.1f} handshakes/s")
    twistedRate = mean["twisted"]
    print(f"  2 0 1 over twisted: {mean['dane-2-0-1'] / twistedRate:.3f}")
    print(f"  3 1 1 over twisted: {mean['dane-3-1-1'] / twistedRate:.3f} (less work)")
    print(
        "handshakes per second, DANE creator with a PKIX plan over Twisted's "
        "optionsForClientTLS (same root, same name check)"
    )
    print(f"ratio: {mean['dane-pkix'] / twistedRate:.3f}")


if __name__ == "__main__":
    main()

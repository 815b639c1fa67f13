"""
Connect-and-handshake time of the dane: endpoint against the tls: endpoint, to the same TLS
server on loopback, in one run.

A separate process serves the signed test hierarchy (txdane's DNS server) and a TLS server
whose key matches a secure TLSA record. This process builds each endpoint once, before any
timing (the strings are parsed, and the tls: endpoint's trust roots read, outside the timer),
then opens connections one after another and times each from connect() to the completed
handshake:

  - tls:   Twisted's own endpoint (host given as 127.0.0.1, PKIX to a private root);
  - dane:  warm cache (the resolver has validated the records already);
  - dane:  cold cache (a new resolver for every connection, made before the timer starts),
           with the DNS queries it needed and the CPU time it took in this process (steadier
           than the time on the clock on a busy machine).

Ends with the warm dane: time over the tls: time; the cold one's ratio is printed above it.

Run: python bench/endpoint.py
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CONNECTIONS = 200
ROUNDS = 3
#: Cold connections, each with a resolver of its own; their median is printed.
COLD_CONNECTIONS = 60


def _certificates(directory: Path) -> None:
    from txdane.testing import issue

    root = issue("Bench Root", ca=True)
    leaf = issue("www.example.test", root, names=("www.example.test", "127.0.0.1"))
    (directory / "root.pem").write_bytes(root.certPEM())
    (directory / "server.pem").write_bytes(leaf.certPEM() + leaf.keyPEM())


def servers(directory: str, queue: Any) -> None:
    """
    The other process: the DNS server with the hierarchy, and the TLS server.
    """
    from cryptography import x509
    from twisted.internet import reactor as globalReactor
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.ssl import PrivateCertificate
    from twisted.protocols.tls import TLSMemoryBIOFactory

    from txdane.dane.tlsa import recordForCertificate
    from txdane.testing import buildHierarchy

    reactor: Any = globalReactor
    pem = (Path(directory) / "server.pem").read_bytes()
    certificate = PrivateCertificate.loadPEM(pem)
    factory = TLSMemoryBIOFactory(certificate.options(), False, Factory.forProtocol(Protocol))
    tls = reactor.listenTCP(0, factory, interface="127.0.0.1")
    port = tls.getHost().port
    # www.example.test has an IPv6 address too, which Happy Eyeballs tries first.
    reactor.listenTCP(port, factory, interface="::1")
    record = recordForCertificate(x509.load_pem_x509_certificate(pem), 3, 1, 1)
    hierarchy = buildHierarchy(
        extraRecords={"example.test.": [f"_{port}._tcp.www 300 IN TLSA {record}"]}
    )
    (Path(directory) / "anchor").write_text(hierarchy.trustAnchorText())

    def started(dns: Any) -> None:
        queue.put((port, dns.port))

    hierarchy.serve(reactor).addCallback(started)
    # Without signal handlers, the terminate() at the end stops this process without a word.
    reactor.run(installSignalHandlers=False)


def main() -> None:
    from twisted.internet import reactor as globalReactor
    from twisted.internet.defer import Deferred
    from twisted.internet.endpoints import clientFromString
    from twisted.internet.interfaces import IHandshakeListener
    from twisted.internet.protocol import Factory, Protocol
    from zope.interface import implementer

    from txdane.endpoints import DANEEndpoint
    from txdane.settings import ResolverSettings

    reactor: Any = globalReactor
    directory = tempfile.mkdtemp()
    _certificates(Path(directory))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=servers, args=(directory, queue), daemon=True)
    process.start()
    tlsPort, dnsPort = queue.get(timeout=60)
    anchor = Path(directory) / "anchor"

    @implementer(IHandshakeListener)
    class Handshaker(Protocol):
        def __init__(self) -> None:
            self.done: Deferred[None] = Deferred()

        def handshakeCompleted(self) -> None:
            self.done.callback(None)

    async def connectOnce(endpoint: Any) -> float:
        start = time.perf_counter()
        protocol: Any = await endpoint.connect(Factory.forProtocol(Handshaker))
        await protocol.done
        elapsed = time.perf_counter() - start
        protocol.transport.abortConnection()
        return elapsed

    # Each endpoint is built once, here: parsing is not what is measured.
    tls = clientFromString(reactor, f"tls:host=127.0.0.1:port={tlsPort}:trustRoots={directory}")
    dane = clientFromString(
        reactor,
        f"dane:host=www.example.test:port={tlsPort}:resolver=127.0.0.1#{dnsPort}"
        f":trustAnchor={anchor}",
    )
    results: dict[str, list[float]] = {"tls": [], "warm": [], "cold": [], "coldCPU": []}
    queries: list[int] = []
    probes: list[int] = []

    async def run() -> None:
        await connectOnce(tls)
        await connectOnce(dane)
        for _ in range(ROUNDS):
            results["tls"].append(
                statistics.median([await connectOnce(tls) for _ in range(CONNECTIONS)])
            )
            results["warm"].append(
                statistics.median([await connectOnce(dane) for _ in range(CONNECTIONS)])
            )
        settings = ResolverSettings.fromStrings([f"127.0.0.1#{dnsPort}"], str(anchor))
        for _ in range(COLD_CONNECTIONS):
            resolver: Any = settings.build(reactor)
            fresh = DANEEndpoint(reactor, resolver, "www.example.test", tlsPort)
            cpu = time.process_time()
            results["cold"].append(await connectOnce(fresh))
            results["coldCPU"].append(time.process_time() - cpu)
            queries.append(resolver.querier.stats.udpQueries)
            probes.append(2 * len(getattr(resolver.querier, "verdicts", ())))

    failures: list[Any] = []
    d = Deferred.fromCoroutine(run())
    d.addErrback(failures.append)
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    process.terminate()
    process.join(10)
    if failures:
        raise SystemExit(f"benchmark failed: {failures[0]}")
    tlsTime = min(results["tls"])
    warm = min(results["warm"])
    cold = statistics.median(results["cold"])
    print(f"tls:  connect + handshake, median:              {tlsTime * 1000:7.2f} ms")
    print(f"dane: connect + handshake, warm cache, median: {warm * 1000:7.2f} ms")
    print(f"dane: connect + handshake, cold cache, median: {cold * 1000:7.2f} ms")
    print(
        "dane: cold connect's CPU time in this process, median:"
        f" {statistics.median(results['coldCPU']) * 1000:.2f} ms"
    )
    print(
        f"dane: cold connect's DNS queries, median: {statistics.median(queries):.0f}"
        f" (and {statistics.median(probes):.0f} roadblock probe queries, which a resolver"
        " sends once every five minutes)"
    )
    print(f"dane: (cold cache) time over tls: time: {cold / tlsTime:.2f}")
    print("dane: (warm cache) time over tls: time, connect to completed handshake")
    print(f"ratio: {warm / tlsTime:.2f}")


if __name__ == "__main__":
    main()

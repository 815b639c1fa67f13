"""
Queries per second over loopback UDP: txdane's DNSClient against dnspython's synchronous
dns.query.udp, one query after another, against the same local responder (a separate process,
so it does not share the client's core).

Run: python bench/transport.py
"""

from __future__ import annotations

import multiprocessing
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dns.flags
import dns.message
import dns.query

QUERIES = 3000
ROUNDS = 3
WARMUP = 300
NAME = "_443._tcp.www.example.test."


def responder(ready: Any, port: Any) -> None:
    """
    Answer every datagram at once with the query itself turned into a response (QR and AA
    set): a valid, matching answer that costs the responder almost nothing.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port.value = sock.getsockname()[1]
    ready.set()
    while True:
        data, addr = sock.recvfrom(65535)
        if len(data) >= 12:
            sock.sendto(data[:2] + bytes([data[2] | 0x84]) + data[3:], addr)


def benchDnspython(port: int, count: int) -> float:
    """
    What a dnspython user does per query: build it (random ID, EDNS, DO, CD), send it with
    dns.query.udp (new socket each time), read and parse the answer.
    """
    start = time.perf_counter()
    for _ in range(count):
        query = dns.message.make_query(
            NAME, "TLSA", want_dnssec=True, payload=1232, flags=dns.flags.RD | dns.flags.CD
        )
        dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
    return count / (time.perf_counter() - start)


def measure(port: int) -> tuple[float, float]:
    """
    Alternate the two clients, best of L{ROUNDS} each, so load from elsewhere on the machine
    hits both alike. Returns (dnspython, txdane) queries per second.
    """
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    from txdane.transport import DNSClient

    client = DNSClient(reactor, [f"127.0.0.1#{port}"], timeout=2, attempts=1)
    baselines: list[float] = []
    results: list[float] = []

    async def txdaneQueries(count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            await client.query(NAME, "TLSA", dnssecOK=True, checkingDisabled=True)
        return count / (time.perf_counter() - start)

    async def run() -> None:
        benchDnspython(port, WARMUP)
        await txdaneQueries(WARMUP)
        for _ in range(ROUNDS):
            # dnspython blocks; inside the reactor's callback that is fine for a benchmark.
            baselines.append(benchDnspython(port, QUERIES))
            results.append(await txdaneQueries(QUERIES))

    d = Deferred.fromCoroutine(run())
    failures: list[object] = []
    d.addErrback(failures.append)
    d.addBoth(lambda _: reactor.stop())
    reactor.run()
    if failures:
        raise SystemExit(f"benchmark failed: {failures[0]}")
    return max(baselines), max(results)


def main() -> None:
    ready = multiprocessing.Event()
    port = multiprocessing.Value("i", 0)
    process = multiprocessing.Process(target=responder, args=(ready, port), daemon=True)
    process.start()
    ready.wait(10)
    try:
        baseline, ours = measure(port.value)
        print(f"dnspython dns.query.udp, sequential: {baseline:9.0f} queries/s")
        print(f"txdane DNSClient, sequential:        {ours:9.0f} queries/s")
        print("txdane DNSClient queries/s over dnspython dns.query.udp queries/s (sequential)")
        print(f"ratio: {ours / baseline:.2f}")
    finally:
        process.terminate()


if __name__ == "__main__":
    main()

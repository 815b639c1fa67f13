"""
Messages delivered per second to a local SMTP server with STARTTLS: by txdane.mail (MX
lookup, TLSA, the MTA-STS TXT lookup, STARTTLS negotiated by the endpoint, DANE in the
handshake; warm DNS cache) and by twisted.mail's ESMTPSenderFactory over a tcp: endpoint
with STARTTLS verified by PKIX and no DANE, in one run.

A separate process serves the signed test hierarchy (an MX record for bench.example.test
pointing at mxa.example.test, 127.0.0.2, with a secure DANE-EE record) and an in-process
twisted.mail SMTP server with STARTTLS on 127.0.0.2. This process sends messages one after
another, each on its own connection, and counts how many per second each way delivers (each
delivery ends when the connection is closed).

Run: python bench/mail.py
"""

from __future__ import annotations

import io
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MESSAGES = 100
ROUNDS = 3
ADDRESS = "127.0.0.2"
MESSAGE = b"From: a@client.test\r\nTo: b@bench.example.test\r\nSubject: bench\r\n\r\nhello\r\n"


def _serve(queue: Any) -> None:
    from twisted.internet import reactor

    from tests.dane.certs import issue
    from tests.dane.tlsserver import serverOptions
    from tests.mail.smtpserver import listenSMTP
    from txdane.dane.tlsa import recordForCertificate
    from txdane.testing import buildHierarchy

    certificate = issue("mxa.example.test")
    smtp = listenSMTP(serverOptions(certificate), (ADDRESS,))
    record = recordForCertificate(certificate.cert, 3, 1, 1)
    hierarchy = buildHierarchy(
        extraRecords={
            "example.test.": [
                f"mxa 300 IN A {ADDRESS}",
                f"_{smtp.port}._tcp.mxa 300 IN TLSA {record}",
                "bench 300 IN MX 10 mxa",
            ]
        }
    )

    def started(server: Any) -> None:
        queue.put((server.port, smtp.port, hierarchy.trustAnchorText(), certificate.certPEM()))

    hierarchy.serve(reactor).addCallback(started)
    reactor.run()


async def _bench(reactor: Any, dnsPort: int, smtpPort: int, anchor: str, pem: bytes) -> None:
    from twisted.internet.defer import Deferred
    from twisted.internet.endpoints import TCP4ClientEndpoint
    from twisted.internet.ssl import Certificate, optionsForClientTLS
    from twisted.mail.smtp import ESMTPSender, ESMTPSenderFactory

    from txdane.mail import sendMail
    from txdane.mtasts import PolicyResolver
    from txdane.transport import DNSClient
    from txdane.validation import TrustAnchors, ValidatingResolver

    client = DNSClient(reactor, [f"127.0.0.1#{dnsPort}"])
    resolver = ValidatingResolver(client, trustAnchors=TrustAnchors.fromText(anchor), clock=reactor)
    trust = Certificate.loadPEM(pem)
    # MTA-STS on, as txdane send has it: the domain publishes no policy, so each delivery
    # also looks up its _mta-sts TXT record (from the warm cache).
    policies = PolicyResolver(reactor, resolver)

    async def viaTxdane() -> None:
        result = await sendMail(
            reactor,
            resolver,
            "a@client.test",
            ["b@bench.example.test"],
            MESSAGE,
            port=smtpPort,
            mtaSTS=policies,
        )
        assert str(result.protection) == "verified", result

    async def viaTCP() -> None:
        done: Deferred[Any] = Deferred()
        closed: Deferred[None] = Deferred()

        class Sender(ESMTPSender):
            def connectionLost(self, reason: Any = None) -> None:
                super().connectionLost(reason)
                closed.callback(None)

        factory = ESMTPSenderFactory(
            None,
            None,
            "a@client.test",
            ["b@bench.example.test"],
            io.BytesIO(MESSAGE),
            done,
            retries=0,
            contextFactory=optionsForClientTLS("mxa.example.test", trustRoot=trust),
            requireAuthentication=False,
            requireTransportSecurity=True,
        )
        factory.protocol = Sender
        await TCP4ClientEndpoint(reactor, ADDRESS, smtpPort).connect(factory)
        await done
        await closed

    async def rate(send: Any) -> float:
        start = time.perf_counter()
        for _ in range(MESSAGES):
            await send()
        return MESSAGES / (time.perf_counter() - start)

    await viaTxdane()  # warm the DNS cache
    await viaTCP()
    tcpRates, daneRates = [], []
    for _ in range(ROUNDS):
        tcpRates.append(await rate(viaTCP))
        daneRates.append(await rate(viaTxdane))
    tcp, dane = statistics.median(tcpRates), statistics.median(daneRates)
    print(f"messages: {MESSAGES} per round, {ROUNDS} rounds, one connection each, median rate")
    print(f"ESMTPSenderFactory over tcp:, STARTTLS (PKIX): {tcp:8.1f} messages/s")
    print(f"txdane.mail over dane:mx=, warm DNS cache:     {dane:8.1f} messages/s")
    print("txdane.mail messages/s over ESMTPSenderFactory (tcp:, STARTTLS) messages/s")
    print(f"ratio: {dane / tcp:.2f}")


def main() -> None:
    from twisted.internet import reactor
    from twisted.internet.defer import Deferred

    # Spawned, not forked: a forked child would share this process's reactor (its epoll).
    context = multiprocessing.get_context("spawn")
    queue: Any = context.Queue()
    server = context.Process(target=_serve, args=(queue,), daemon=True)
    server.start()
    try:
        dnsPort, smtpPort, anchor, pem = queue.get(timeout=60)
        outcome: list[Any] = []

        def run() -> None:
            d = Deferred.fromCoroutine(_bench(reactor, dnsPort, smtpPort, anchor, pem))
            d.addBoth(outcome.append)
            d.addBoth(lambda _: reactor.stop())

        reactor.callWhenRunning(run)
        reactor.run()
        if outcome and hasattr(outcome[0], "raiseException"):
            outcome[0].raiseException()
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()

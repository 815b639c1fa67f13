"""
C{txdane demo}: DNSSEC and DANE end to end on loopback, with no network.

Builds a signed DNS hierarchy under a private root, serves it with txdane's own DNS server on
127.0.0.1, starts two TLS servers (one whose key its TLSA record names, one whose key does
not), and shows what txdane makes of them: validated lookups (secure, insecure, bogus) and
DANE connections (verified, refused).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import dns.rdatatype
from twisted.internet.interfaces import IHandshakeListener
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.tls import TLSMemoryBIOFactory
from zope.interface import implementer

from txdane.cli import ExitStatus
from txdane.cli._common import runOnReactor
from txdane.dane.errors import DANEError
from txdane.dane.matching import DANEResult
from txdane.dane.tlsa import TLSARecord, recordForCertificate
from txdane.endpoints import DANEEndpoint
from txdane.status import Status
from txdane.testing import buildHierarchy, selfSignedCertificate
from txdane.transport import DNSClient
from txdane.validation import TrustAnchors, ValidatingResolver, edeText

#: The lookups shown, with the verdict each must reach.
LOOKUPS = (
    ("www.example.test.", "A", Status.SECURE),
    ("nx.example.test.", "A", Status.SECURE),
    ("www.unsigned.test.", "A", Status.INSECURE),
    ("www.badds.test.", "A", Status.BOGUS),
    ("www.expired.test.", "A", Status.BOGUS),
)


def addArguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", "-q", action="store_true", help="print nothing; the exit status tells"
    )


@implementer(IHandshakeListener)
class _Greeter(Protocol):
    def handshakeCompleted(self) -> None:
        assert self.transport is not None
        self.transport.write(b"hello\r\n")
        self.transport.loseConnection()


@dataclass
class _Report:
    out: TextIO
    quiet: bool
    surprises: int = 0

    def line(self, text: str = "") -> None:
        if not self.quiet:
            print(text, file=self.out)

    def expect(self, ok: bool) -> str:
        if not ok:
            self.surprises += 1
        return "" if ok else "   <- unexpected!"


def _short(record: TLSARecord) -> str:
    return f"{record.shortText()}  {record.mnemonic}"


async def demo(reactor: Any, out: TextIO, quiet: bool = False) -> int:
    """
    Run the demonstration; return 0 when every result was the expected one.
    """
    report = _Report(out, quiet)
    servers = {}
    listening = []
    for label in ("good", "bad"):
        certificate, private = selfSignedCertificate(f"{label}.example.test")
        factory = TLSMemoryBIOFactory(private.options(), False, Factory.forProtocol(_Greeter))
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        listening.append(port)
        servers[label] = (certificate, port.getHost().port)
    goodCert, goodPort = servers["good"]
    badPort = servers["bad"][1]
    published = recordForCertificate(goodCert, 3, 1, 1)
    stale = recordForCertificate(selfSignedCertificate("bad.example.test")[0], 3, 1, 1)
    hierarchy = buildHierarchy(
        extraRecords={
            "example.test.": [
                "good 300 IN A 127.0.0.1",
                f"_{goodPort}._tcp.good 300 IN TLSA {published}",
                "bad 300 IN A 127.0.0.1",
                f"_{badPort}._tcp.bad 300 IN TLSA {stale}",
            ]
        }
    )
    dnsServer = await hierarchy.serve(reactor)
    try:
        client = DNSClient(reactor, [f"127.0.0.1#{dnsServer.port}"], timeout=2, attempts=2)
        resolver = ValidatingResolver(
            client, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]), clock=reactor
        )
        report.line(
            "txdane demo: a signed DNS hierarchy (root, test., example.test. and friends) served "
            f"by txdane on 127.0.0.1#{dnsServer.port},"
        )
        report.line("and two TLS servers on loopback. Nothing here touches the network.")
        report.line()
        report.line("DNSSEC lookups, validated from the demo's private root trust anchor:")
        for name, rdtype, expected in LOOKUPS:
            answer = await resolver.lookup(name, rdtype)
            if answer.status is Status.BOGUS:
                data = "(not used)"
            elif answer.records:
                data = ", ".join(r.to_text() for r in answer.records)
            else:
                data = "no such name" if answer.rcode == 3 else "no such record"
            verdict = str(answer.status)
            if answer.ede is not None and answer.status is not Status.SECURE:
                verdict += f" (EDE {answer.ede}, {edeText(answer.ede) or 'unknown'})"
            question = f"{name} {dns.rdatatype.to_text(answer.rdtype)}"
            report.line(
                f"  {question:<24} {verdict:<36} {data}" + report.expect(answer.status is expected)
            )
            if answer.status is not Status.SECURE:
                report.line(f"      {answer.reason}")
        report.line()
        report.line("DANE connections (the server's key must match its DNSSEC-signed TLSA record):")
        for label, port, shouldPass in (("good", goodPort, True), ("bad", badPort, False)):
            seen: list[DANEResult] = []
            host = f"{label}.example.test"
            endpoint = DANEEndpoint(reactor, resolver, host, port, observer=seen.append)
            try:
                protocol = await endpoint.connect(Factory.forProtocol(Protocol))
            except DANEError as e:
                report.line(f"  {host}:{port}  refused{report.expect(not shouldPass)}")
                report.line(f"      {e}")
                if seen and seen[0].chain:
                    actual = recordForCertificate(seen[0].chain[0], 3, 1, 1)
                    report.line(
                        f"      fix: publish the record of the key the server now uses: {actual}"
                    )
                continue
            transport: Any = getattr(protocol, "transport", None)
            if transport is not None:
                transport.loseConnection()
            result = seen[0] if seen else None
            report.line(f"  {host}:{port}  verified by DANE{report.expect(shouldPass)}")
            if result is not None and result.record is not None:
                report.line(f"      {_short(result.record)}  matched the server's key")
        report.line()
        if report.surprises:
            report.line(f"{report.surprises} result(s) were not what they should be.")
            return ExitStatus.FAILURE
        report.line("Every result is the expected one. Try: txdane lookup --help")
        return ExitStatus.OK
    finally:
        await dnsServer.stop()
        for port in listening:
            await port.stopListening()


def run(options: argparse.Namespace) -> int:
    return runOnReactor(lambda reactor: demo(reactor, sys.stdout, options.quiet))

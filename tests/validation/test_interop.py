"""
Cross-check against a real validator: every case of the test hierarchy gets the same verdict
from txdane - asking through a non-validating Unbound, validating itself - as from a
validating Unbound given the same data and the same trust anchor.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.support import requireProgram
from txdane.status import Status
from txdane.testing import CASES, Case, Hierarchy, buildHierarchy
from txdane.transport import DNSClient
from txdane.validation import LookupFailedError, TrustAnchors, ValidatingResolver

pytestmark = pytest.mark.interop


MORE = [
    ("host.wild.example.test.", "AAAA"),
    ("host.wild.nsec3.test.", "AAAA"),
    ("a.b.wild.example.test.", "TXT"),
    ("alias2.example.test.", "A"),
    ("alias2.nsec3.test.", "AAAA"),
    ("example.test.", "DNSKEY"),
    ("example.test.", "DS"),
    ("nsec3.test.", "DS"),
    ("unsigned.test.", "DS"),
    ("insecure.optout.test.", "DS"),
    ("nx.optout.test.", "A"),
    ("nx.unsigned.test.", "A"),
    ("a.b.nx.nsec3.test.", "A"),
    ("www.example.test.", "TXT"),
    ("www.nsec3.test.", "TXT"),
    ("_tcp.www.example.test.", "A"),
    ("_tcp.www.nsec3.test.", "A"),
    ("nx.redirect.example.test.", "A"),
    ("_443._tcp.www.unsigned.test.", "TLSA"),
    ("mx.example.test.", "A"),
    ("test.", "SOA"),
    ("nx.test.", "A"),
    ("www.badds.test.", "DS"),
    ("badds.test.", "DS"),
    ("www.expired.test.", "AAAA"),
]


def freePort() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unboundConfig(
    directory: Path, hierarchy: Hierarchy, serverPort: int, port: int, *, validating: bool
) -> Path:
    lines = [
        "server:",
        "    verbosity: 0",
        "    interface: 127.0.0.1",
        f"    port: {port}",
        "    do-ip6: no",
        "    use-syslog: no",
        '    logfile: ""',
        '    chroot: ""',
        '    username: ""',
        f'    directory: "{directory}"',
        '    pidfile: ""',
        "    do-not-query-localhost: no",
        '    local-zone: "test." nodefault',
        "    qname-minimisation: no",
        "    ede: yes",
    ]
    if validating:
        anchor = directory / "anchor.txt"
        anchor.write_text(hierarchy.trustAnchorText())
        lines.append(f'    trust-anchor-file: "{anchor}"')
    else:
        lines.append('    module-config: "iterator"')
    lines += ["remote-control:", "    control-enable: no"]
    for origin in hierarchy.zones:
        lines += ["stub-zone:", f'    name: "{origin}"', f"    stub-addr: 127.0.0.1@{serverPort}"]
    config = directory / ("validating.conf" if validating else "plain.conf")
    config.write_text("\n".join(lines) + "\n")
    return config


def unboundVerdict(response: dns.message.Message) -> Status:
    if response.rcode() == dns.rcode.SERVFAIL:
        return Status.BOGUS
    return Status.SECURE if response.flags & dns.flags.AD else Status.INSECURE


class UnboundAgreesTests(TestCase):
    """
    txdane through a plain Unbound reaches the verdict of a validating Unbound, case by case.
    """

    def startUnbound(self, hierarchy: Hierarchy, serverPort: int, *, validating: bool) -> int:
        unbound = requireProgram("unbound")
        directory = Path(tempfile.mkdtemp(prefix="txdane-unbound-"))
        port = freePort()
        config = unboundConfig(directory, hierarchy, serverPort, port, validating=validating)
        process = subprocess.Popen(
            [unbound, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

        def stop() -> None:
            process.terminate()
            process.wait(10)

        self.addCleanup(stop)
        self.processes.append(process)
        return port

    def ask(self, port: int, case: Case) -> dns.message.Message:
        query = dns.message.make_query(case.name, case.rdtype, want_dnssec=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                return dns.query.udp(query, "127.0.0.1", port=port, timeout=2)
            except (dns.exception.Timeout, ConnectionRefusedError):
                if time.monotonic() > deadline or any(p.poll() is not None for p in self.processes):
                    raise

    async def setUpUnbounds(self) -> tuple[ValidatingResolver, int]:
        hierarchy = buildHierarchy()
        server = await hierarchy.serve(reactor)
        self.addCleanup(server.stop)
        self.processes: list[subprocess.Popen[bytes]] = []
        reference = self.startUnbound(hierarchy, server.port, validating=True)
        plain = self.startUnbound(hierarchy, server.port, validating=False)
        # Wait until both answer.
        await deferToThread(self.ask, reference, CASES[0])
        await deferToThread(self.ask, plain, CASES[0])
        client = DNSClient(reactor, servers=[("127.0.0.1", plain)], timeout=2)
        resolver = ValidatingResolver(
            client, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor])
        )
        return resolver, reference

    async def test_moreQuestions(self) -> None:
        """
        Questions beyond the table (wildcard NODATA, DS and DNSKEY lookups, names below
        unsigned or missing names, chains into NXDOMAIN) get Unbound's verdict and RCODE.
        """
        resolver, reference = await self.setUpUnbounds()
        disagreements = []
        for name, rdtype in MORE:
            case = Case(name, rdtype, Status.INDETERMINATE)
            response = await deferToThread(self.ask, reference, case)
            theirs = unboundVerdict(response)
            try:
                answer = await resolver.lookup(name, rdtype)
            except LookupFailedError as e:
                disagreements.append((name, rdtype, str(e), str(theirs)))
                continue
            same = answer.status == theirs and (
                theirs is Status.BOGUS or answer.rcode == response.rcode()
            )
            if not same:
                disagreements.append((name, rdtype, str(answer), str(theirs)))
        self.assertEqual(disagreements, [])

    async def test_everyCase(self) -> None:
        resolver, reference = await self.setUpUnbounds()
        disagreements = []
        for case in CASES:
            try:
                answer = await resolver.lookup(case.name, case.rdtype)
                ours = answer.status
                rcode = dns.rcode.to_text(answer.rcode)
            except LookupFailedError as e:
                ours, rcode = Status.INDETERMINATE, str(e)
            theirs = unboundVerdict(await deferToThread(self.ask, reference, case))
            # Where the reference knowingly accepts what RFC 4035 forbids (the table records
            # it), txdane must keep to the RFC and the reference to its recorded verdict.
            expectedTheirs = case.peerStatus or ours
            if ours != case.status or theirs != expectedTheirs or rcode != case.rcode:
                disagreements.append((case.name, case.rdtype, str(ours), str(theirs), rcode))
        self.assertEqual(disagreements, [])

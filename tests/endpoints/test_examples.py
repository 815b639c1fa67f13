"""
The endpoint guide's examples (docs/examples) run against servers on loopback, verified by
DANE through the signed hierarchy.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Factory, ProcessProtocol, Protocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.protocols.basic import LineReceiver
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from txdane.dane.tlsa import recordForCertificate

from ..dane.certs import issue
from ..dane.tlsserver import serverOptions
from .world import World, makeWorld, reactor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


class Echo(LineReceiver):
    delimiter = b"\n"

    def lineReceived(self, line: bytes) -> None:
        self.sendLine(b"you said " + line)


class Page(Resource):
    isLeaf = True

    def render_GET(self, request: Any) -> bytes:
        return b"a page"


class ExampleTests(TestCase):
    async def serve(self, factory: Any, good: bool = True) -> tuple[World, int, Path]:
        certificate = issue("www.example.test")
        port = reactor.listenTCP(
            0,
            TLSMemoryBIOFactory(serverOptions(certificate), False, factory),
            interface="127.0.0.1",
        )
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        published = certificate if good else issue("www.example.test")
        record = recordForCertificate(published.cert, 3, 1, 1)
        world = await makeWorld({"example.test.": [f"_{number}._tcp.www 300 IN TLSA {record}"]})
        self.addCleanup(world.dnsServer.stop)
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        anchor = Path(directory.name) / "anchor"
        anchor.write_text(world.hierarchy.trustAnchorText())
        return world, number, anchor

    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONPATH": str(ROOT)}

    async def test_httpsGet(self) -> None:
        world, port, anchor = await self.serve(Site(Page()))
        out, err, code = await getProcessOutputAndValue(
            sys.executable,
            [
                str(EXAMPLES / "https_get.py"),
                f"https://www.example.test:{port}/",
                "--resolver",
                world.resolverAddress,
                "--trust-anchor",
                str(anchor),
            ],
            env=self.env(),
        )
        self.assertEqual((code, out.strip()), (0, b"200 a page"), err)

    async def test_linesRefused(self) -> None:
        world, port, anchor = await self.serve(Factory.forProtocol(Echo), good=False)
        description = (
            f"dane:host=www.example.test:port={port}:resolver={world.resolverAddress}"
            f":trustAnchor={anchor}"
        )
        _, err, code = await getProcessOutputAndValue(
            sys.executable, [str(EXAMPLES / "dane_lines.py"), description, "HELLO"], env=self.env()
        )
        self.assertEqual(code, 1)
        self.assertIn(b"refused: ", err)
        self.assertIn(b"no TLSA record matched", err)

    async def test_linesNotTLS(self) -> None:
        """
        A server that does not speak TLS: the example's C{except TxdaneError} catches the
        failed handshake and says what happened, without a traceback.
        """

        class Greeter(Protocol):
            def connectionMade(self) -> None:
                self.transport.write(b"220 mail.example.test ESMTP\r\n")  # type: ignore[union-attr]

        port = reactor.listenTCP(0, Factory.forProtocol(Greeter), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        world = await makeWorld(
            {"example.test.": [f"_{number}._tcp.www 300 IN TLSA 3 1 1 {'ab' * 32}"]}
        )
        self.addCleanup(world.dnsServer.stop)
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        anchor = Path(directory.name) / "anchor"
        anchor.write_text(world.hierarchy.trustAnchorText())
        description = (
            f"dane:host=www.example.test:port={number}:resolver={world.resolverAddress}"
            f":trustAnchor={anchor}"
        )
        _, err, code = await getProcessOutputAndValue(
            sys.executable, [str(EXAMPLES / "dane_lines.py"), description, "HELLO"], env=self.env()
        )
        self.assertEqual(code, 1, err)
        self.assertEqual(
            err.decode().strip(),
            f"refused: www.example.test:{number}: the TLS handshake failed: wrong version number",
        )

    async def test_lines(self) -> None:
        world, port, anchor = await self.serve(Factory.forProtocol(Echo))
        description = (
            f"dane:host=www.example.test:port={port}:resolver={world.resolverAddress}"
            f":trustAnchor={anchor}"
        )
        out, err, code = await getProcessOutputAndValue(
            sys.executable, [str(EXAMPLES / "dane_lines.py"), description, "HELLO"], env=self.env()
        )
        self.assertEqual((code, out.strip()), (0, b"you said HELLO"), err)

    async def twistd(self, good: bool, waitFor: bytes) -> str:
        """
        Run the C{.tac} example under C{twistd -n} against a server whose TLSA record matches
        its key (C{good}) or not, until its log shows C{waitFor}; return the log.
        """
        world, port, anchor = await self.serve(Factory.forProtocol(Echo), good)
        description = (
            f"dane:host=www.example.test:port={port}:resolver={world.resolverAddress}"
            f":trustAnchor={anchor}"
        )
        seen: Deferred[None] = Deferred()
        ended: Deferred[None] = Deferred()

        class Watch(ProcessProtocol):
            output = b""

            def outReceived(self, data: bytes) -> None:
                self.output += data
                if waitFor in self.output and not seen.called:
                    seen.callback(None)

            errReceived = outReceived

            def processEnded(self, reason: Any) -> None:
                if not seen.called:
                    seen.errback(AssertionError(self.output.decode(errors="replace")))
                ended.callback(None)

        twistd = str(Path(sys.executable).parent / "twistd")
        directory = tempfile.mkdtemp()
        watch = Watch()
        process = reactor.spawnProcess(
            watch,
            twistd,
            [twistd, "-ny", str(EXAMPLES / "dane_client.tac"), "--logfile=-", "--pidfile="],
            env={**self.env(), "TXDANE_ENDPOINT": description},
            path=directory,
        )
        try:
            await seen
        finally:
            if not ended.called:
                process.signalProcess("TERM")
            await ended
        return watch.output.decode(errors="replace")

    def assertQuiet(self, log: str) -> None:
        """
        No line of C{log} is about a DNS query's UDP socket or TCP factory.
        """
        for noise in ("_UDPExchange", "UDP Port", "_TCPFactory", "(UDP)"):
            self.assertNotIn(noise, log)

    async def test_twistdApplication(self) -> None:
        """
        Under C{twistd}, the application connects and talks; the log has no line per DNS
        query (no UDP port starting or closing, no DNS-over-TCP factory).
        """
        log = await self.twistd(True, b"server says: you said HELLO")
        self.assertQuiet(log)

    async def test_twistdRefusal(self) -> None:
        """
        Under C{twistd}, a server refused by DANE: the log says so once per attempt, naming
        the host, port and reason, before C{ClientService}'s line scheduling the retry.
        """
        log = await self.twistd(False, b"Scheduling retry 1 to connect")
        self.assertQuiet(log)
        lines = log.splitlines()
        [retry] = [i for i, line in enumerate(lines) if "Scheduling retry 1 to connect" in line]
        self.assertRegex(
            lines[retry - 1],
            r"\[txdane\.endpoints#warn\] <DANEEndpoint www\.example\.test:\d+ policy=default> "
            r"failed: www\.example\.test:\d+ refused: no TLSA record matched",
        )
        self.assertEqual(sum("txdane.endpoints" in line for line in lines), 1)

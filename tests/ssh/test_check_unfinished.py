"""
C{txdane check --ssh} against servers with which no SSH key exchange comes about: one that
accepts the connection and says nothing, one that trickles a byte at a time. C{--timeout}
bounds the key exchange as it bounds a TLS handshake: the check could not complete (exit
status 4, C{connection failed}), and it says so in time. The servers are in-process, on
loopback; no sshd is needed.
"""

from __future__ import annotations

import time
from typing import Any

from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import LoopingCall
from twisted.trial.unittest import TestCase

from txdane.cli import ExitStatus

from ..cli.world import CLIWorld, makeCLIWorld
from ..endpoints.world import reactor
from ..peers.common import freeTCPPort

#: An SSHFP record no key has, for C{www.example.test} (whose addresses are 127.0.0.1, ::1).
RECORDS = {"example.test.": ["www 300 IN SSHFP 4 2 " + "00" * 32]}


class _Trickle(Protocol):
    """
    Sends one byte every 0.3 s, never a whole line.
    """

    def connectionMade(self) -> None:
        assert self.transport is not None
        self.loop = LoopingCall(self.transport.write, b"x")
        self.loop.clock = reactor
        self.loop.start(0.3)

    def connectionLost(self, reason: Any = None) -> None:
        if self.loop.running:
            self.loop.stop()


def listen(testCase: TestCase, protocol: type[Protocol]) -> int:
    """
    Listen on 127.0.0.1 and ::1 with C{protocol}; return the port.
    """
    port = 0
    for interface in ("127.0.0.1", "::1"):
        listening = reactor.listenTCP(port, Factory.forProtocol(protocol), interface=interface)
        testCase.addCleanup(listening.stopListening)
        port = listening.getHost().port
    return port


class UnfinishedKeyExchangeTests(TestCase):
    #: Far above what the checks may take: a check that hangs fails here.
    timeout = 20

    async def check(self, world: CLIWorld, port: int, *argv: str) -> tuple[int, list[str], float]:
        start = time.monotonic()
        argv = ("--ssh", "--timeout", "1", "www.example.test", str(port), *argv)
        status, output = await world.run("check", *argv)
        return status, output.splitlines(), time.monotonic() - start

    async def test_silentServer(self) -> None:
        """
        A server that accepts the connection and says nothing: C{connection failed} within
        C{--timeout} (and the 1 s look at what the server says), with the evidence.
        """
        port = listen(self, Protocol)
        world = await makeCLIWorld(self, RECORDS)
        status, lines, elapsed = await self.check(world, port)
        self.assertEqual(status, ExitStatus.FAILURE, lines)
        self.assertEqual(
            lines[:2],
            [
                f"www.example.test:{port}  connection failed: the server did not complete the "
                "SSH key exchange within 1 s",
                "  it accepted the connection but sent no SSH identification string",
            ],
        )
        self.assertIn("  SSHFP      www.example.test.  secure", lines)
        self.assertLess(elapsed, 5)

    async def test_tricklingServer(self) -> None:
        """
        A server that keeps sending a byte now and then, so that no read ever times out:
        the key exchange is still bounded as a whole.
        """
        port = listen(self, _Trickle)
        world = await makeCLIWorld(self, RECORDS)
        status, lines, elapsed = await self.check(world, port)
        self.assertEqual(status, ExitStatus.FAILURE, lines)
        self.assertEqual(
            lines[0],
            f"www.example.test:{port}  connection failed: the server did not complete the SSH "
            "key exchange within 1 s",
        )
        self.assertTrue(lines[1].startswith("  it sent 'x"), lines)
        self.assertLess(elapsed, 5)

    async def test_verboseShowsTheSSHFPChainOfTrust(self) -> None:
        """
        C{-v} prints the chain of trust of the SSHFP records, as it does that of the TLSA
        records, also when the connection failed.
        """
        world = await makeCLIWorld(self, RECORDS)
        status, lines, _ = await self.check(world, freeTCPPort(), "-v")
        self.assertEqual(status, ExitStatus.FAILURE, lines)
        self.assertIn("  chain of trust", lines)
        signature = [line for line in lines if line.lstrip().startswith("answer")]
        self.assertEqual(len(signature), 1, lines)
        self.assertIn("RRSIG SSHFP by example.test.", signature[0])

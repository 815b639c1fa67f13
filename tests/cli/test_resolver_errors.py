"""
A resolver the network cannot reach, as the library and the command line report it: refused
(a closed UDP port, a refused TCP connection after a truncated answer) and silent are told
apart, refused carries EDE 23 (Network Error), and C{txdane lookup} prints the library's own
text.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import dns.flags
import dns.message
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from txdane.errors import LookupFailedError
from txdane.settings import ResolverSettings

from ..transport.scriptserver import Reply, ScriptServer, answer

ROOT = Path(__file__).resolve().parents[2]


def lookup(resolver: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "txdane", "lookup", "--resolver", resolver, *extra, "www.example"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def closedUDPPort() -> int:
    """
    A loopback UDP port nothing listens on.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


class RefusedResolverTests(TestCase):
    async def libraryError(self, resolver: str) -> LookupFailedError:
        built = ResolverSettings.fromStrings([resolver]).build(reactor)
        error: LookupFailedError = await self.assertFailure(
            built.lookup("www.example", "A"), LookupFailedError
        )
        return error

    async def test_closedUDPPort(self) -> None:
        """
        A closed UDP port: EDE 23, "port unreachable", and the command line's one line is the
        library's error.
        """
        resolver = f"127.0.0.1#{closedUDPPort()}"
        error = await self.libraryError(resolver)
        self.assertEqual(error.ede, 23)
        self.assertIn(
            f"cannot reach {resolver}: port unreachable (nothing listens there)", str(error)
        )
        result = await deferToThread(lookup, resolver)
        self.assertEqual((result.returncode, result.stderr), (4, f"txdane: {error}\n"))

    async def test_refusedTCP(self) -> None:
        """
        A server that answers over UDP with TC set and whose TCP port is closed: the TCP
        connection is refused, reported at once with EDE 23 after one UDP and one TCP attempt
        (not retried), and the command line says the same.
        """

        def truncate(query: dns.message.Message, transport: str) -> list[Reply]:
            response = answer(query)
            response.flags |= dns.flags.TC
            return [Reply(response.to_wire())]

        server = ScriptServer(truncate)
        server.start()
        self.addCleanup(server.stop)
        stopped = server.tcpPort.stopListening()
        assert stopped is not None
        await stopped
        error = await self.libraryError(server.address)
        self.assertEqual(error.ede, 23)
        self.assertIn(
            f"cannot reach {server.address}: TCP connection refused (nothing listens there)",
            str(error),
        )
        # The lookup's own question went once over UDP and was not retried (the other
        # questions are the DNSSEC roadblock probes, which take the refusal as a network
        # failure too).
        asked = lambda: [  # noqa: E731
            t for q, t in server.queries if q.question[0].name.to_text() == "www.example."
        ]
        self.assertEqual(asked(), ["udp"])
        result = await deferToThread(lookup, server.address)
        self.assertEqual((result.returncode, result.stderr), (4, f"txdane: {error}\n"))
        self.assertEqual(asked(), ["udp", "udp"])

    async def test_silent(self) -> None:
        """
        A server that never answers is a timeout, said differently, with EDE 22 (No Reachable
        Authority) rather than 23.
        """
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        resolver = f"127.0.0.1#{silent.getsockname()[1]}"
        result = await deferToThread(lookup, resolver, "--timeout", "1")
        self.assertEqual(result.returncode, 4)
        self.assertRegex(result.stderr, rf"no answer from {resolver} after \d+ quer(y|ies)\n")
        self.assertIn("lookup failed (EDE 22): ", result.stderr)
        self.assertNotIn("unreachable", result.stderr)

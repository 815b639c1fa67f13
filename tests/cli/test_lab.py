"""
C{txdane lab} and L{txdane.testing.startLab}: every service's endpoint string gives the
outcome the lab names for it, from another process as from this one, and the lab stops
cleanly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import clientFromString
from twisted.internet.error import CannotListenError, ConnectionRefusedError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from txdane.endpoints.connection import IDANEConnection
from txdane.errors import TxdaneError
from txdane.testing import LAB_SERVERS, REFUSED, VERIFIED, Lab, startLab

from ..endpoints.world import reactor

ROOT = Path(__file__).resolve().parents[2]

#: The cases every lab has, with their outcome.
CASES = {
    "dane-ee": VERIFIED,
    "dane-ta": VERIFIED,
    "mismatch": REFUSED,
    "expired-cert": VERIFIED,
    "pkix": REFUSED,
    "pkix-trusted": VERIFIED,
    "unsigned": VERIFIED,
    "bogus": REFUSED,
    "mx": VERIFIED,
    "expiring": VERIFIED,
    "mx-fallback": VERIFIED,
    "srv": VERIFIED,
    "https": VERIFIED,
    "no-starttls": REFUSED,
}


class Closing(Protocol):
    """
    A protocol whose C{lost} fires when its connection is closed.
    """

    def __init__(self) -> None:
        self.lost: Deferred[None] = Deferred()

    def connectionLost(self, reason: object = None) -> None:
        self.lost.callback(None)


async def outcome(endpoint: str) -> str:
    """
    Connect through C{endpoint}: L{VERIFIED} when C{connect()} fires, L{REFUSED} when it fails
    with a L{TxdaneError}; anything else is raised.
    """
    try:
        protocol: Any = await clientFromString(reactor, endpoint).connect(
            Factory.forProtocol(Protocol)
        )
    except TxdaneError:
        return REFUSED
    protocol.transport.loseConnection()
    return VERIFIED


class LabCommandTests(TestCase):
    async def test_json(self) -> None:
        """
        C{txdane lab --json} prints the lab as JSON on its first line and keeps serving: each
        endpoint string, used in this process, gives the outcome it names; SIGTERM stops the
        lab with status 0 and removes its files.
        """
        process = subprocess.Popen(
            [sys.executable, "-m", "txdane", "lab", "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.addCleanup(process.kill)
        assert process.stdout is not None
        line = await deferToThread(process.stdout.readline)
        lab = json.loads(line)
        self.assertRegex(lab["resolver"], r"^127\.0\.0\.1#\d+$")
        self.assertTrue(Path(lab["trustAnchor"]).is_file())
        self.assertEqual({s["name"]: s["expect"] for s in lab["services"]}, CASES)
        for service in lab["services"]:
            self.assertLessEqual(
                {"name", "host", "port", "starttls", "endpoint", "expect"}, set(service)
            )
            self.assertIn(f"resolver={lab['resolver']}", service["endpoint"])
            self.assertEqual(await outcome(service["endpoint"]), service["expect"], service["name"])
        self.assertEqual([s["starttls"] for s in lab["services"] if s["name"] == "mx"], ["smtp"])
        process.send_signal(signal.SIGTERM)
        status = await deferToThread(process.wait, 30)
        self.assertEqual(status, 0, process.stderr.read() if process.stderr else "")
        self.assertFalse(Path(lab["trustAnchor"]).exists())

    async def test_text(self) -> None:
        """
        Without C{--json}, the lab prints the resolver, the trust anchor file and each case
        with its outcome and endpoint string; C{--directory} puts the files in a directory it
        creates, from which it removes only them.
        """
        parent = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, parent, ignore_errors=True)
        directory = parent / "lab"
        process = subprocess.Popen(
            [sys.executable, "-m", "txdane", "lab", "--directory", str(directory)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.addCleanup(process.kill)
        assert process.stdout is not None
        lines: list[str] = []
        while not (lines and lines[-1].startswith("Try one:")):
            lines.append(await deferToThread(process.stdout.readline))
            self.assertTrue(lines[-1], "the lab ended early")
        self.assertTrue((directory / "trust-anchor.txt").is_file())
        process.send_signal(signal.SIGINT)
        self.assertEqual(await deferToThread(process.wait, 30), 0)
        self.assertEqual(list(directory.iterdir()), [])
        output = "".join(lines)
        self.assertIn(f"trust anchor: {directory / 'trust-anchor.txt'}\n", output)
        self.assertRegex(output, r"resolver: +127\.0\.0\.1#\d+\n")
        self.assertIn("trust anchor: ", output)
        self.assertRegex(output, r"mismatch +refused +the TLSA record names another key")
        self.assertIn("    dane:mx=mail.example.test:port=", output)
        self.assertRegex(
            output,
            r'Point txdane at it: LAB="--resolver 127\.0\.0\.1#\d+ --trust-anchor '
            + re.escape(str(directory / "trust-anchor.txt"))
            + r'"\nTry one: txdane check \$LAB dane-ee\.example\.test \d+\n',
        )

    def test_badPort(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "txdane", "lab", "--port", "70000"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
        self.assertEqual(
            (result.returncode, result.stderr), (2, "txdane: --port 70000 is not in 0-65525\n")
        )

    def test_busyPort(self) -> None:
        """
        A DNS port already taken stops the lab before it serves anything: one line on standard
        error, exit status 4.
        """
        taken, port = _takenPortBeforeFreeOnes(len(LAB_SERVERS))
        self.addCleanup(taken.close)
        result = subprocess.run(
            [sys.executable, "-m", "txdane", "lab", "--port", str(port)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )
        self.assertEqual((result.returncode, result.stdout), (4, ""))
        self.assertRegex(result.stderr, rf"^txdane: lab: .*127\.0\.0\.1:{port}.*in use.*\n$")


def _takenPortBeforeFreeOnes(count: int) -> tuple[socket.socket, int]:
    """
    A UDP socket bound to a port of 127.0.0.1 and that port, chosen so that the C{count}
    TCP ports after it were free a moment ago (the lab's servers listen there before its
    DNS server binds the port: a port of theirs taken by another process would stop the lab
    first, naming that port).
    """
    while True:
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        taken.bind(("127.0.0.1", 0))
        port = int(taken.getsockname()[1])
        try:
            for number in range(port + 1, port + 1 + count):
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                    probe.bind(("127.0.0.1", number))
        except OSError:
            taken.close()
            continue
        return taken, port


class StartLabTests(TestCase):
    async def test_services(self) -> None:
        """
        L{startLab} starts the same lab in this process: each service's endpoint gives its
        outcome, and L{Lab.stop} stops the servers and removes the files.
        """
        lab: Lab = await startLab(reactor)
        self.addCleanup(lab.stop)
        self.assertEqual({s.name: s.expect for s in lab.services}, CASES)
        self.assertEqual(lab.toJSON()["resolver"], lab.resolver)
        for service in lab.services:
            self.assertEqual(await outcome(service.endpoint), service.expect, service.name)
        self.assertEqual(lab.service("mx").starttls, "smtp")
        self.assertIn(f"trustRoots={lab.labCA}", lab.service("pkix-trusted").endpoint)
        await lab.stop()
        self.assertFalse(Path(lab.directory).exists())
        with self.assertRaises(ConnectionRefusedError):  # the records are still cached
            await outcome(lab.service("dane-ee").endpoint)
        await lab.stop()  # again: nothing to do

    async def test_directory(self) -> None:
        """
        Given a directory, the lab writes its files there, and L{Lab.stop} removes only them.
        """
        directory = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        (directory / "mine.txt").write_text("kept")
        lab = await startLab(reactor, directory=str(directory))
        self.addCleanup(lab.stop)
        self.assertEqual(Path(lab.trustAnchor).parent, directory)
        self.assertEqual(Path(lab.labCA).read_bytes()[:27], b"-----BEGIN CERTIFICATE-----")
        await lab.stop()
        self.assertEqual([p.name for p in directory.iterdir()], ["mine.txt"])


def check(lab: Lab, *arguments: str) -> dict[str, Any]:
    """
    The JSON verdict of C{txdane check} run with C{arguments} against C{lab}.
    """
    result = subprocess.run(
        [
            *(sys.executable, "-m", "txdane", "check", "--json", "--resolver", lab.resolver),
            *("--trust-anchor", lab.trustAnchor, *arguments),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    data: dict[str, Any] = json.loads(result.stdout)
    assert data["exit_status"] == result.returncode, result.stderr
    return data


class LabCasesTests(TestCase):
    """
    The cases whose outcome is more than C{connect()} firing or failing: what C{txdane check}
    says of them.
    """

    async def startLab(self) -> Lab:
        lab = await startLab(reactor)
        self.addCleanup(lab.stop)
        return lab

    async def test_expiring(self) -> None:
        """
        C{expiring}: verified, with a warning that the TLSA records' signature expires in 3
        days; C{dane-ee}, the same server, has no such warning.
        """
        self.lab = await self.startLab()
        expiring = self.lab.service("expiring")
        data = await deferToThread(check, self.lab, expiring.host, str(expiring.port))
        self.assertEqual((data["verified"], data["exit_status"]), (True, 0))
        [warning] = [w for w in data["warnings"] if w["code"] == "signature-expires-soon"]
        self.assertEqual(warning["message"], "the signature over the records expires in 3 days")
        self.assertIn(f"_{expiring.port}._tcp.expiring.example.test.", warning["subject"])
        ee = self.lab.service("dane-ee")
        data = await deferToThread(check, self.lab, ee.host, str(ee.port))
        self.assertEqual(
            [w["code"] for w in data["warnings"] if w["code"] == "signature-expires-soon"], []
        )

    async def test_mxFallback(self) -> None:
        """
        C{mx-fallback}: the first MX host is refused by DANE, the second verified; a connection
        through the endpoint string reaches the second.
        """
        self.lab = await self.startLab()
        service = self.lab.service("mx-fallback")
        data = await deferToThread(
            check, self.lab, "--mx", service.host, "--port", str(service.port)
        )
        self.assertEqual(
            [(h["host"], h["verified"]) for h in data["hosts"]],
            [("mxbad.example.test", False), ("smtp.example.test", True)],
        )
        self.assertIn("no TLSA record matched", data["hosts"][0]["reason"])
        protocol: Any = await clientFromString(reactor, service.endpoint).connect(
            Factory.forProtocol(Closing)
        )
        info = IDANEConnection(protocol.transport).connectionInfo
        self.assertEqual((info.host, info.port), ("smtp.example.test", service.port))
        self.assertEqual(str(info.protection), "verified")
        protocol.transport.abortConnection()
        await protocol.lost

    async def test_srv(self) -> None:
        """
        C{srv}: the SRV records of C{chat.example.test} name the XMPP server, which offers
        STARTTLS and is verified by DANE.
        """
        self.lab = await self.startLab()
        service = self.lab.service("srv")
        data = await deferToThread(check, self.lab, "--srv", "xmpp-client", service.host)
        self.assertEqual(
            [(h["host"], h["port"], h["verified"]) for h in data["hosts"]],
            [("xmpp.example.test", service.port, True)],
        )


class LabPortsTests(TestCase):
    async def test_servicePort(self) -> None:
        """
        Given C{servicePort}, the servers listen on it and the ports after it, in the order of
        L{LAB_SERVERS}; each case names its server's port.
        """
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        start = probe.getsockname()[1]
        probe.close()
        for first in range(start, start + 5 * len(LAB_SERVERS), len(LAB_SERVERS)):
            try:
                lab = await startLab(reactor, servicePort=first)
            except CannotListenError:
                continue
            break
        else:
            self.fail("no free range of ports")
        self.addCleanup(lab.stop)
        for offset, name in enumerate(LAB_SERVERS):
            self.assertEqual(lab.service(name).port, first + offset, name)
        self.assertEqual(lab.service("expiring").port, first)
        self.assertEqual(lab.service("mx-fallback").port, lab.service("mx").port)

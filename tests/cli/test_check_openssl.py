"""
C{txdane check} reaches the verdict of OpenSSL's own DANE code, C{openssl s_client
-dane_tlsa_domain NAME -dane_tlsa_rrdata "..." -verify_return_error}, against the same
loopback TLS server and the same records (published in the signed hierarchy for txdane, given
on the command line to OpenSSL).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.support import requireProgram
from txdane.dane.tlsa import recordForCertificate

from .world import Issued, issue, makeCLIWorld, startServer

pytestmark = pytest.mark.interop

NAME = "www.example.test"


def _wrong(record: str) -> str:
    usage, selector, mtype, data = record.split()
    return f"{usage} {selector} {mtype} {bytes(b ^ 0x55 for b in bytes.fromhex(data)).hex()}"


#: case -> (records for (ca, leaf), whether the server sends the CA, leaf name, verdict)
Records = Callable[[Issued, Issued], list[str]]
CASES: dict[str, tuple[Records, bool, str, bool]] = {
    "3 1 1": (lambda ca, leaf: [str(recordForCertificate(leaf.cert))], True, NAME, True),
    "3 1 1 wrong": (
        lambda ca, leaf: [_wrong(str(recordForCertificate(leaf.cert)))],
        True,
        NAME,
        False,
    ),
    "3 0 1": (lambda ca, leaf: [str(recordForCertificate(leaf.cert, 3, 0, 1))], True, NAME, True),
    "3 1 2": (lambda ca, leaf: [str(recordForCertificate(leaf.cert, 3, 1, 2))], True, NAME, True),
    "3 1 1 other name": (
        lambda ca, leaf: [str(recordForCertificate(leaf.cert))],
        True,
        "other.test",
        True,
    ),
    "wrong and right": (
        lambda ca, leaf: [
            _wrong(str(recordForCertificate(leaf.cert))),
            str(recordForCertificate(leaf.cert)),
        ],
        True,
        NAME,
        True,
    ),
    "2 0 1": (lambda ca, leaf: [str(recordForCertificate(ca.cert, 2, 0, 1))], True, NAME, True),
    "2 1 1": (lambda ca, leaf: [str(recordForCertificate(ca.cert, 2, 1, 1))], True, NAME, True),
    "2 0 1 CA not sent": (
        lambda ca, leaf: [str(recordForCertificate(ca.cert, 2, 0, 1))],
        False,
        NAME,
        False,
    ),
    "2 0 1 other name": (
        lambda ca, leaf: [str(recordForCertificate(ca.cert, 2, 0, 1))],
        True,
        "other.test",
        False,
    ),
    "2 0 1 wrong": (
        lambda ca, leaf: [_wrong(str(recordForCertificate(ca.cert, 2, 0, 1)))],
        True,
        NAME,
        False,
    ),
}


def opensslVerdict(port: int, records: list[str]) -> bool:
    command = [
        requireProgram("openssl"),
        "s_client",
        "-connect",
        f"127.0.0.1:{port}",
        "-servername",
        NAME,
        "-dane_tlsa_domain",
        NAME,
        "-dane_ee_no_namechecks",
        "-verify_return_error",
        "-no-CApath",
        "-no-CAstore",
    ]
    for record in records:
        command += ["-dane_tlsa_rrdata", record]
    done = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30
    )
    verified = "Verify return code: 0 (ok)" in done.stdout
    assert verified == (done.returncode == 0), done.stdout + done.stderr
    return verified


class OpenSSLAgreesTests(TestCase):
    async def test_verdictsAgree(self) -> None:
        requireProgram("openssl")
        ca = issue("Example CA", ca=True)
        servers: dict[str, Any] = {}
        lines = []
        for case, (records, sendCA, name, _) in CASES.items():
            leaf = issue(name, ca)
            server = startServer(self, leaf, *([ca] if sendCA else []))
            servers[case] = (server, records(ca, leaf))
            lines += [f"_{server.port}._tcp.www 300 IN TLSA {r}" for r in records(ca, leaf)]
        world = await makeCLIWorld(self, {"example.test.": lines})
        table = []
        for case, (server, records) in servers.items():
            status, data = await world.json("check", NAME, str(server.port))
            self.assertEqual(status, 0 if data["verified"] else 6, case)
            theirs = await deferToThread(opensslVerdict, server.port, records)
            table.append((case, data["verified"], theirs, CASES[case][3]))
        self.assertEqual([row for row in table if not row[1] == row[2] == row[3]], [])

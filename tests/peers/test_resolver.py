"""
Smoke tests of the validating stub: a program's C library resolver, and only that program's,
sees the test hierarchy through a validating Unbound.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.support import requireProgram
from txdane.testing import buildHierarchy

from .resolver import ValidatingStub, requireNamespace

pytestmark = pytest.mark.interop


class ValidatingStubTests(TestCase):
    async def test_cLibraryResolver(self) -> None:
        """
        C{getent} resolves names of the secure and the insecure zones, fails on a bogus one
        (Unbound answers SERVFAIL), and the host's C{/etc/resolv.conf} stays as it was.
        """
        requireNamespace()
        getent = requireProgram("getent")
        before = Path("/etc/resolv.conf").read_bytes()
        hierarchy = buildHierarchy()
        server = await hierarchy.serve(reactor)
        self.addCleanup(server.stop)
        stub = ValidatingStub(hierarchy, server.port)
        stub.start()
        self.addCleanup(stub.stop)

        seen = await deferToThread(stub.run, ["cat", "/etc/resolv.conf"], 30)
        self.assertEqual(seen.stdout, f"nameserver {stub.address}\noptions edns0 trust-ad\n")
        for name, address in [
            ("www.example.test", "127.0.0.1"),
            ("ssh.example.test", "127.0.0.3"),
            ("www.unsigned.test", "127.0.0.1"),
        ]:
            result = await deferToThread(stub.run, [getent, "ahostsv4", name], 30)
            self.assertEqual(result.returncode, 0, (name, result.stderr, stub.log()))
            self.assertEqual(result.stdout.split()[0], address)
        bogus = await deferToThread(stub.run, [getent, "ahostsv4", "www.badds.test"], 30)
        self.assertNotEqual(bogus.returncode, 0, bogus.stdout)
        self.assertEqual(Path("/etc/resolv.conf").read_bytes(), before)

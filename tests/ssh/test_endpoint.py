"""
L{sshCommandEndpoint} in memory: what it dials, and the host-key algorithms it offers on that
connection.
"""

from __future__ import annotations

from typing import Any

from twisted.conch.ssh.transport import SSHClientTransport
from twisted.internet.interfaces import ITCPTransport
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from tests.fakeresolver import FakeResolver, answer
from txdane.ssh import SSHFPKnownHosts, SSHFPLookupError, SSHSessionTimeoutError, sshCommandEndpoint
from txdane.status import Status

from .keys import hostKey, records
from .world import outputFactory

HOST = "ssh.example.test."


@implementer(ITCPTransport)
class _TCPTransport(StringTransport):
    """
    A TCP connection in memory: what Conch aborts when a connection is cancelled.
    """

    def getTcpKeepAlive(self) -> bool:
        return False

    def setTcpKeepAlive(self, enabled: bool) -> None:
        pass

    def getTcpNoDelay(self) -> bool:
        return False

    def setTcpNoDelay(self, enabled: bool) -> None:
        pass

    def loseWriteConnection(self) -> None:
        pass


class EndpointTests(SynchronousTestCase):
    def endpoint(self, sshfp: Any, **kw: Any) -> tuple[MemoryReactorClock, Any]:
        resolver = FakeResolver(
            {
                (HOST, "A"): answer("A", "192.0.2.1", name=HOST),
                (HOST, "AAAA"): answer("AAAA", name=HOST),
                (HOST, "SSHFP"): sshfp,
            }
        )
        reactor = MemoryReactorClock()
        endpoint = sshCommandEndpoint(
            reactor, resolver, "ssh.example.test", b"true", b"me", 2222, require=True, **kw
        )
        return reactor, endpoint

    def offered(self, reactor: MemoryReactorClock) -> list[bytes]:
        """
        The host-key algorithms in the KEXINIT of the connection the reactor was asked for.
        """
        reactor.advance(0)
        host, port, factory, _, _ = reactor.tcpClients[0]
        self.assertEqual((host, port), ("192.0.2.1", 2222))
        protocol = factory.buildProtocol(None)
        assert protocol is not None
        transport = StringTransport()
        protocol.makeConnection(transport)
        written = transport.value()
        kexinit = written[written.index(b"\r\n") + 2 :]
        # packet length, padding length, type 20, cookie, then name-lists.
        payload = kexinit[5 + 1 + 16 :]
        lists = []
        for _ in range(2):
            length = int.from_bytes(payload[:4], "big")
            lists.append(payload[4 : 4 + length])
            payload = payload[4 + length :]
        return lists[1].split(b",")

    def test_onlyCoveredOffered(self) -> None:
        """
        Secure records of an Ed25519 key: the connection offers Ed25519 only, so nothing but
        a key the records cover can be proven.
        """
        reactor, endpoint = self.endpoint(answer("SSHFP", *records(hostKey("ed25519")), name=HOST))
        endpoint.connect(outputFactory())
        self.assertEqual(self.offered(reactor), [b"ssh-ed25519"])
        # Only that connection: Conch's own list is untouched.
        self.assertEqual(SSHClientTransport.supportedPublicKeys[-1], b"ssh-ed25519")

    def test_bogusDialsNothing(self) -> None:
        reactor, endpoint = self.endpoint(answer("SSHFP", status=Status.BOGUS, name=HOST))
        d = endpoint.connect(outputFactory())
        reactor.advance(0)
        self.failureResultOf(d, SSHFPLookupError)
        self.assertEqual(reactor.tcpClients, [])

    def test_sessionTimeout(self) -> None:
        """
        With C{sessionTimeout}, a server that accepts the connection and stays silent is cut
        off at the deadline: the connection is aborted and C{connect()} fails with
        L{SSHSessionTimeoutError}. Without it, the connection waits.
        """
        sshfp = answer("SSHFP", *records(hostKey("ed25519")), name=HOST)
        for limit in (5, None):
            reactor, endpoint = self.endpoint(sshfp, sessionTimeout=limit)
            d = endpoint.connect(outputFactory())
            reactor.advance(0)
            _, _, factory, _, _ = reactor.tcpClients[0]
            protocol = factory.buildProtocol(None)
            assert protocol is not None
            transport = _TCPTransport()
            protocol.makeConnection(transport)
            reactor.advance(4.9)
            self.assertNoResult(d)
            reactor.advance(0.2)
            if limit is None:
                self.assertNoResult(d)
                self.assertFalse(transport.disconnecting)
                d.cancel()
                self.failureResultOf(d)
                continue
            error = self.failureResultOf(d, SSHSessionTimeoutError).value
            self.assertEqual(str(error), "ssh.example.test:2222: no SSH session within 5 s")
            self.assertTrue(transport.disconnecting)

    def test_argumentsChecked(self) -> None:
        """
        Arguments that would be read as something else are refused when the endpoint is
        made: C{require="no"} would be true, one key alone would be iterated, a command of
        C{None} would fail only once connected.
        """
        resolver = FakeResolver({})
        reactor = MemoryReactorClock()
        cases: list[tuple[dict[str, Any], str]] = [
            ({"require": "no"}, "require must be True or False"),
            ({"keys": hostKey("ed25519")}, "keys must be a sequence"),
            ({"keys": ["/home/me/.ssh/id_ed25519"]}, "keys must be a sequence"),
        ]
        for kw, message in cases:
            with self.assertRaises(TypeError) as caught:
                sshCommandEndpoint(reactor, resolver, HOST, b"true", b"me", **kw)
            self.assertIn(message, str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            sshCommandEndpoint(reactor, resolver, HOST, None, b"me")  # type: ignore[arg-type]
        self.assertIn("command must be a str or bytes", str(caught.exception))
        with self.assertRaises(TypeError) as caught:
            SSHFPKnownHosts(resolver, require="no")  # type: ignore[arg-type]
        self.assertIn("require must be True or False", str(caught.exception))

    def test_sessionTimeoutChecked(self) -> None:
        for bad in (0, -1, float("inf"), "30"):
            with self.assertRaises(ValueError):
                self.endpoint(answer("SSHFP", name=HOST), sessionTimeout=bad)

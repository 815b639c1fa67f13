"""
L{sshCommandEndpoint} in memory: what it dials, and the host-key algorithms it offers on that
connection.
"""

from __future__ import annotations

import struct
from typing import Any

from twisted.conch.ssh.common import NS
from twisted.conch.ssh.transport import SSHClientTransport
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import ITCPTransport
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from tests.fakeresolver import FakeResolver, answer
from txdane.ssh import (
    SSHFPAlgorithm,
    SSHFPKnownHosts,
    SSHFPLookupError,
    SSHFPNoCoveredKeyError,
    SSHSessionTimeoutError,
    sshCommandEndpoint,
)
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


def serverHello(hostKeyAlgorithms: list[bytes]) -> bytes:
    """
    What an SSH server sends first: its identification string and a KEXINIT (RFC 4253
    section 7.1) offering C{hostKeyAlgorithms}, in a packet without encryption.
    """
    payload = bytes([20]) + bytes(16) + NS(b"curve25519-sha256") + NS(b",".join(hostKeyAlgorithms))
    payload += NS(b"aes128-ctr") * 2 + NS(b"hmac-sha2-256") * 2 + NS(b"none") * 2 + NS(b"") * 2
    payload += bytes(1 + 4)
    padding = 8 - (5 + len(payload)) % 8
    padding += 8 if padding < 4 else 0
    packet = struct.pack(">IB", 1 + len(payload) + padding, padding) + payload + bytes(padding)
    return b"SSH-2.0-Fake_1.0\r\n" + packet


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
        kw.setdefault("require", True)
        endpoint = sshCommandEndpoint(
            reactor, resolver, "ssh.example.test", b"true", b"me", 2222, **kw
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

    def test_hostKeyAlgorithms(self) -> None:
        """
        C{hostKeyAlgorithms} limits the algorithms offered before the records narrow them:
        records of Ed25519 and ECDSA keys, and only Ed25519 asked for, offer Ed25519 alone;
        asked for an algorithm the records do not cover, the list given is offered whole.
        """
        sshfp = answer("SSHFP", *records(hostKey("ed25519")), *records(hostKey("ecdsa")), name=HOST)
        reactor, endpoint = self.endpoint(sshfp)
        endpoint.connect(outputFactory())
        covered = [
            a
            for a in SSHClientTransport.supportedPublicKeys
            if a.startswith(b"ecdsa-") or a == b"ssh-ed25519"
        ]
        self.assertEqual(self.offered(reactor), covered)
        reactor, endpoint = self.endpoint(sshfp, hostKeyAlgorithms=[b"ssh-ed25519"])
        endpoint.connect(outputFactory())
        self.assertEqual(self.offered(reactor), [b"ssh-ed25519"])
        rsa = ["rsa-sha2-512", b"ssh-rsa"]
        reactor, endpoint = self.endpoint(sshfp, hostKeyAlgorithms=rsa)
        endpoint.connect(outputFactory())
        self.assertEqual(self.offered(reactor), [b"rsa-sha2-512", b"ssh-rsa"])

    def test_hostKeyAlgorithmsChecked(self) -> None:
        sshfp = answer("SSHFP", name=HOST)
        for bad in ([], [b"ssh-unknown"]):
            with self.assertRaises(ValueError):
                self.endpoint(sshfp, hostKeyAlgorithms=bad)
        for wrong in (b"ssh-ed25519", [1]):
            with self.assertRaises(TypeError):
                self.endpoint(sshfp, hostKeyAlgorithms=wrong)

    def connectToServer(self, sshfp: Any, hello: bytes, **kw: Any) -> Any:
        """
        Connect to a server that sends C{hello} and then closes the connection; return
        the result of C{connect()}.
        """
        reactor, endpoint = self.endpoint(sshfp, **kw)
        d = endpoint.connect(outputFactory())
        reactor.advance(0)
        _, _, factory, _, _ = reactor.tcpClients[0]
        protocol = factory.buildProtocol(None)
        assert protocol is not None
        protocol.makeConnection(_TCPTransport())
        protocol.dataReceived(hello)
        protocol.connectionLost(Failure(ConnectionDone()))
        return d

    def test_noCoveredKey(self) -> None:
        """
        Secure records of an Ed25519 key, and a server whose KEXINIT offers only ECDSA and
        RSA keys: the key exchange cannot agree on a host key, and C{connect()} fails with
        L{SSHFPNoCoveredKeyError}, naming the types covered and those the server offers,
        not with the bare closed connection.
        """
        sshfp = answer("SSHFP", *records(hostKey("ed25519")), name=HOST)
        hello = serverHello([b"ecdsa-sha2-nistp256", b"rsa-sha2-512", b"rsa-sha2-256"])
        error = self.failureResultOf(
            self.connectToServer(sshfp, hello), SSHFPNoCoveredKeyError
        ).value
        self.assertEqual(error.host, "ssh.example.test")
        self.assertEqual(error.covered, (SSHFPAlgorithm.ED25519,))
        self.assertEqual(
            error.serverKeyTypes, ("ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256")
        )
        self.assertEqual(
            str(error),
            "ssh.example.test: host key refused: the server has no host key of the types its "
            "secure SSHFP records cover (Ed25519; it offers ECDSA, RSA), so the key exchange "
            "failed",
        )

    def test_closedForAnotherReason(self) -> None:
        """
        A connection closed before the host key, by a server that has a key of a covered
        type, or before its KEXINIT, or when the offer was not narrowed (no secure records),
        fails as it did: the records are not blamed.
        """
        sshfp = answer("SSHFP", *records(hostKey("ed25519")), name=HOST)
        hello = serverHello([b"ecdsa-sha2-nistp256", b"ssh-ed25519"])
        self.failureResultOf(self.connectToServer(sshfp, hello), ConnectionDone)
        self.failureResultOf(self.connectToServer(sshfp, b"SSH-2.0-Fake\r\n"), ConnectionDone)
        insecure = answer("SSHFP", *records(hostKey("ed25519")), status=Status.INSECURE, name=HOST)
        hello = serverHello([b"ssh-dss"])
        d = self.connectToServer(insecure, hello, require=False, knownHosts="/dev/null")
        self.failureResultOf(d, ConnectionDone)

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

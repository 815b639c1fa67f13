"""
One of Twisted's servers behind TLS on loopback, its name and TLSA record in the signed test
hierarchy, and a record of every application byte it received.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IProtocolFactory, IProtocolNegotiationFactory
from twisted.internet.utils import getProcessOutputAndValue
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import alsoProvides

from txdane.dane.tlsa import recordForCertificate

from ..dane.certs import Issued, issue
from ..dane.tlsserver import serverOptions
from ..endpoints.world import World, makeWorld, reactor

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"

__all__ = ["EXAMPLES", "Loopback", "LoopbackTestCase", "reactor"]


class _Spy(ProtocolWrapper):
    """
    Sits between the TLS layer and the server's protocol: notes what the protocol receives
    (the decrypted application bytes) and when the connection ends.
    """

    factory: _SpyFactory

    def dataReceived(self, data: bytes) -> None:
        self.factory.received.append(data)
        super().dataReceived(data)

    def connectionLost(self, reason: Failure) -> None:  # type: ignore[override]
        super().connectionLost(reason)
        self.factory.ended(self)


class _SpyFactory(WrappingFactory):
    """
    Builds a L{_Spy} around each protocol of the server's factory.

    Twisted's TLS server asks the factory behind it which ALPN protocols it speaks
    (C{IProtocolNegotiationFactory}, which C{Site} provides), and fails the handshake of a
    client that offers only others; the spy answers as the server's factory would, or with
    C{alpn}.
    """

    protocol = _Spy

    def __init__(self, wrappedFactory: IProtocolFactory, alpn: Sequence[bytes] = ()) -> None:
        super().__init__(wrappedFactory)
        negotiating = IProtocolNegotiationFactory(wrappedFactory, None)
        self._alpn = list(alpn) if negotiating is None else negotiating.acceptableProtocols()
        if self._alpn:
            alsoProvides(self, IProtocolNegotiationFactory)
        self.received: list[bytes] = []
        self.connections = 0
        self._ends: dict[_Spy, Deferred[None]] = {}

    def buildProtocol(self, addr: Any) -> _Spy:
        self.connections += 1
        # WrappingFactory is generic only in recent Twisted: not subscripted here.
        spy = _Spy(self, self.wrappedFactory.buildProtocol(addr))  # type: ignore[arg-type]
        self._ends[spy] = Deferred()
        return spy

    def acceptableProtocols(self) -> list[bytes]:
        return self._alpn

    def ended(self, spy: _Spy) -> None:
        self._ends[spy].callback(None)

    def allEnded(self) -> Deferred[Any]:
        return gatherResults(list(self._ends.values()))


@dataclass
class Loopback:
    """
    A server on loopback and the world that names it.

    @ivar host: the server's name in the signed hierarchy.
    @ivar port: its port on 127.0.0.1.
    @ivar certificate: the certificate it presents.
    @ivar world: the signed hierarchy, its DNS server and a validating resolver.
    @ivar anchorFile: the hierarchy's trust anchor, in a file.
    """

    host: str
    port: int
    certificate: Issued
    world: World
    anchorFile: Path
    spy: _SpyFactory = field(repr=False)

    @property
    def received(self) -> bytes:
        """
        Every application byte the server's protocols received, in order.
        """
        return b"".join(self.spy.received)

    @property
    def connections(self) -> int:
        """
        How many TCP connections the server accepted.
        """
        return self.spy.connections

    def allEnded(self) -> Deferred[Any]:
        """
        Fires once every connection the server accepted so far has ended.
        """
        return self.spy.allEnded()

    def endpointString(self) -> str:
        """
        The C{dane:} endpoint string for the server, asking the hierarchy's DNS server.
        """
        return (
            f"dane:host={self.host}:port={self.port}:resolver={self.world.resolverAddress}"
            f":trustAnchor={self.anchorFile}"
        )

    def resolverArguments(self) -> list[str]:
        """
        The options that make an example ask the hierarchy's DNS server.
        """
        return ["--resolver", self.world.resolverAddress, "--trust-anchor", str(self.anchorFile)]


class LoopbackTestCase(TestCase):
    """
    Serves a factory behind TLS, publishes its TLSA record, and runs examples.
    """

    #: Each test takes well under two seconds; one that hangs fails quickly.
    timeout = 15

    async def serve(
        self,
        factory: IProtocolFactory,
        label: str,
        *,
        good: bool = True,
        certificateName: str | None = None,
        alpn: Sequence[bytes] = (),
    ) -> Loopback:
        """
        Serve C{factory} behind TLS on 127.0.0.1 as C{LABEL.example.test}: a certificate of
        that name (or of C{certificateName}), and the name's address and TLSA record
        (DANE-EE, SPKI, SHA2-256) in the signed hierarchy. With C{good=False} the record is
        that of another certificate, so every C{dane:} connection to the server must be
        refused. C{alpn} are the ALPN protocols of a server whose factory does not say
        (C{Site} does).
        """
        host = f"{label}.example.test"
        certificate = issue(certificateName or host)
        spy = _SpyFactory(factory, alpn)
        port = reactor.listenTCP(
            0, TLSMemoryBIOFactory(serverOptions(certificate), False, spy), interface="127.0.0.1"
        )
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        published = certificate if good else issue(host)
        record = recordForCertificate(published.cert, 3, 1, 1)
        world = await makeWorld(
            {
                "example.test.": [
                    f"{label} 300 IN A 127.0.0.1",
                    f"_{number}._tcp.{label} 300 IN TLSA {record}",
                ]
            }
        )
        self.addCleanup(world.dnsServer.stop)
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        anchor = Path(directory.name) / "anchor"
        anchor.write_text(world.hierarchy.trustAnchorText())
        # The server's connections end before the test does (its client closes them).
        self.addCleanup(spy.allEnded)
        return Loopback(host, number, certificate, world, anchor, spy)

    async def runExample(self, name: str, *arguments: str, **env: str) -> tuple[int, str, str]:
        """
        Run C{docs/examples/NAME} with C{arguments}: its exit code, output and errors.
        """
        out, err, code = await getProcessOutputAndValue(
            sys.executable,
            [str(EXAMPLES / name), *arguments],
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        )
        return code, out.decode(), err.decode()

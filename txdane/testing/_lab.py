"""
A running lab: the hierarchy served on loopback and its servers, one per case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from txdane.testing._hierarchy import Hierarchy

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred


#: What a lab service's client should see: C{connect()} fires (the server passed DANE or
#: PKIX), or fails with a L{TxdaneError<txdane.errors.TxdaneError>}.
VERIFIED = "verified"
REFUSED = "refused"


@dataclass(frozen=True)
class LabService:
    """
    One server of the lab (L{startLab}), under a name that shows one case.

    @ivar name: the case (C{"dane-ee"}, C{"dane-ta"}, C{"mismatch"} ...).
    @ivar host: the DNS name to connect to (for the C{mx} cases, the mail domain; for
        C{srv}, the domain whose SRV records name the server).
    @ivar port: the TCP port on 127.0.0.1.
    @ivar starttls: the STARTTLS protocol the server speaks (C{"smtp"}, C{"xmpp-client"}), or
        C{None} for TLS from the first byte.
    @ivar endpoint: a C{dane:} endpoint string that reaches it through the lab's resolver
        and trust anchor.
    @ivar expect: L{VERIFIED} (C{connect()} fires) or L{REFUSED} (C{connect()} fails with a
        L{TxdaneError<txdane.errors.TxdaneError>}).
    @ivar description: what the case shows, in one line.
    """

    name: str
    host: str
    port: int
    starttls: str | None
    endpoint: str
    expect: str
    description: str

    def toJSON(self) -> dict[str, object]:
        """
        The service as a JSON object (what C{txdane lab --json} prints).
        """
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "starttls": self.starttls,
            "endpoint": self.endpoint,
            "expect": self.expect,
            "description": self.description,
        }


@dataclass
class Lab:
    """
    A running lab: the signed hierarchy served on loopback and servers to try clients
    against (see L{startLab}).

    @ivar hierarchy: the hierarchy served.
    @ivar resolver: the DNS server's address, C{ADDR#PORT} (the C{resolver=} of the
        endpoint strings).
    @ivar trustAnchor: the path of the file holding the trust anchor (DS lines).
    @ivar labCA: the path of the PEM file of the lab's certificate authority, which issued
        the certificates of the PKIX cases (give it as C{trustRoots=} to trust them).
    @ivar directory: the directory holding those files: a temporary one, removed by L{stop},
        unless L{startLab} was given one.
    @ivar services: the servers, one per case.
    """

    hierarchy: Hierarchy
    resolver: str
    trustAnchor: str
    labCA: str
    directory: str
    services: tuple[LabService, ...]
    _stoppers: list[Callable[[], object]] = field(default_factory=list, repr=False)

    def service(self, name: str) -> LabService:
        """
        The service of case C{name}.

        @raise KeyError: for a name no service has.
        """
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(name)

    def toJSON(self) -> dict[str, object]:
        """
        The lab as a JSON object: C{resolver}, C{trustAnchor}, C{labCA} and C{services}.
        """
        return {
            "resolver": self.resolver,
            "trustAnchor": self.trustAnchor,
            "labCA": self.labCA,
            "services": [s.toJSON() for s in self.services],
        }

    def stop(self) -> Deferred[None]:
        """
        Stop every server and remove the files the lab wrote (and the temporary directory it
        made for them); the C{Deferred} fires when all are stopped. Calling it again does
        nothing.
        """
        from twisted.internet.defer import DeferredList, maybeDeferred

        stoppers, self._stoppers = self._stoppers, []
        waits = [maybeDeferred(stop) for stop in stoppers]
        return DeferredList(waits, consumeErrors=True).addCallback(lambda _: None)


#: The lab's servers, in the order of their ports when L{startLab} is given a C{servicePort}
#: (C{txdane lab --port N} puts the DNS server on N and these on N+1, N+2 ...). The cases not
#: named here share a server: C{pkix-trusted} C{pkix}'s, C{expiring} and C{bogus}
#: C{dane-ee}'s, C{mx-fallback} C{mx}'s.
LAB_SERVERS = (
    "dane-ee",
    "dane-ta",
    "mismatch",
    "expired-cert",
    "pkix",
    "unsigned",
    "mx",
    "srv",
    "https",
    "no-starttls",
)

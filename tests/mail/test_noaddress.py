"""
A domain none of whose MX hosts has an address (RFC 5321 section 5.1: "this situation MUST
be reported as an error"): the implicit MX of a domain with no MX, A or AAAA records, or MX
hosts whose names do not exist or have no address records, as DNS answers it, secure or
insecure. A bounce, not a deferral retried for days; but a lookup that failed, a bogus
answer, or a host that failed some other way leaves the message deferred. In memory.
"""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
from twisted.internet.defer import Deferred

from txdane.errors import LookupFailedError
from txdane.mail import PermanentDeliveryError, TemporaryDeliveryError, sendMail
from txdane.status import Status

from ..fakeresolver import FakeResolver, answer
from .test_hostile import MemoryMail

DOMAIN = "example.org."


def noAddress(name: str, rcode: int = dns.rcode.NOERROR, status: Status = Status.SECURE) -> Any:
    """
    The records of a host C{name} that has no address: A, AAAA and TLSA answered
    C{rcode}, with C{status}.
    """
    tlsa = f"_25._tcp.{name}"
    return {
        (name, "A"): answer("A", name=name, rcode=rcode, status=status),
        (name, "AAAA"): answer("AAAA", name=name, rcode=rcode, status=status),
        (tlsa, "TLSA"): answer("TLSA", name=tlsa, rcode=rcode, status=status),
    }


def withAddress(name: str, address: str) -> Any:
    tlsa = f"_25._tcp.{name}"
    return {
        (name, "A"): answer("A", address, name=name),
        (name, "AAAA"): answer("AAAA", name=name),
        (tlsa, "TLSA"): answer("TLSA", name=tlsa),
    }


def mx(*hosts: str, status: Status = Status.SECURE) -> Any:
    records = (f"{10 * (i + 1)} {host}" for i, host in enumerate(hosts))
    return {(DOMAIN, "MX"): answer("MX", *records, name=DOMAIN, status=status)}


class NoAddressTests(MemoryMail):
    def deliver(self, table: Any, **kw: Any) -> Deferred[Any]:
        return sendMail(
            self.reactor,
            FakeResolver(table),
            "alice@example.net",
            ["bob@example.org"],
            b"Subject: hi\r\n\r\nhello\r\n",
            heloName="client.example.net",
            **kw,
        )

    def test_noImplicitMX(self) -> None:
        """
        No MX records, and the domain itself, the implicit MX, has no address either: a
        bounce, and nothing dialled.
        """
        table = {(DOMAIN, "MX"): answer("MX", name=DOMAIN), **noAddress(DOMAIN)}
        error = self.failureResultOf(self.deliver(table), PermanentDeliveryError).value
        self.assertIn("no MX host has an address", str(error))
        self.assertIn("example.org: no address records (secure NODATA)", str(error))
        self.assertEqual(self.reactor.tcpClients, [])

    def test_hostDoesNotExist(self) -> None:
        """
        An MX host whose name does not exist (NXDOMAIN, proven by DNSSEC): a bounce.
        """
        host = "mx.example.org."
        table = {**mx(host), **noAddress(host, dns.rcode.NXDOMAIN)}
        error = self.failureResultOf(self.deliver(table), PermanentDeliveryError).value
        self.assertIn("mx.example.org: no address records (secure NXDOMAIN)", str(error))
        self.assertEqual(len(error.tries), 1)

    def test_insecureAbsence(self) -> None:
        """
        The same from an unsigned zone: no address records is all DNS says there, as for a
        domain that does not exist.
        """
        host = "mx.example.org."
        table = {
            **mx(host, status=Status.INSECURE),
            **noAddress(host, dns.rcode.NXDOMAIN, Status.INSECURE),
        }
        self.failureResultOf(self.deliver(table), PermanentDeliveryError)

    def test_everyHost(self) -> None:
        """
        Two MX hosts, one that does not exist and one without address records: a bounce
        naming both.
        """
        table = {
            **mx("mx1.example.org.", "mx2.example.org."),
            **noAddress("mx1.example.org.", dns.rcode.NXDOMAIN),
            **noAddress("mx2.example.org."),
        }
        error = self.failureResultOf(self.deliver(table), PermanentDeliveryError).value
        self.assertEqual([t.host for t in error.tries], ["mx1.example.org", "mx2.example.org"])

    def test_anotherHostFailedOtherwise(self) -> None:
        """
        One MX host without an address, the other unreachable: deferred.
        """
        table = {
            **mx("mx1.example.org.", "mx2.example.org."),
            **noAddress("mx1.example.org.", dns.rcode.NXDOMAIN),
            **withAddress("mx2.example.org.", "192.0.2.2"),
        }
        sending = self.deliver(table)
        self.refuseAll()
        self.failureResultOf(sending, TemporaryDeliveryError)

    def test_lookupFailedIsNoProof(self) -> None:
        """
        An address lookup that failed (SERVFAIL, a timeout) proves nothing: deferred.
        """
        host = "mx.example.org."
        table = {
            **mx(host),
            **noAddress(host),
            (host, "A"): LookupFailedError(
                dns.name.from_text(host), dns.rdatatype.A, "SERVFAIL from 192.0.2.53"
            ),
        }
        error = self.failureResultOf(self.deliver(table), TemporaryDeliveryError).value
        self.assertIn("address lookup failed", str(error))

    def test_bogusIsNoProof(self) -> None:
        """
        A bogus denial of the addresses (anyone on the path can forge one) is no proof:
        deferred.
        """
        host = "mx.example.org."
        table = {**mx(host), **noAddress(host, dns.rcode.NXDOMAIN, Status.BOGUS)}
        error = self.failureResultOf(self.deliver(table), TemporaryDeliveryError).value
        self.assertIn("cannot be trusted", str(error))

    def test_hostsNotTried(self) -> None:
        """
        Hosts beyond the limit of hosts to try were never looked up: deferred.
        """
        table = {
            **mx("mx1.example.org.", "mx2.example.org."),
            **noAddress("mx1.example.org.", dns.rcode.NXDOMAIN),
            **withAddress("mx2.example.org.", "192.0.2.2"),
        }
        error = self.failureResultOf(self.deliver(table, maxHosts=1), TemporaryDeliveryError)
        self.assertEqual(error.value.skipped, ("mx2.example.org:25",))

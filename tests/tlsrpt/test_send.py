"""
Sending reports on loopback: by mail to twisted.mail's SMTP server through
L{txdane.mail.sendMail}, by HTTPS POST to twisted.web over TLS verified by DANE, to the
destinations of TLSRPT records in the signed test hierarchy; and C{txdane tlsrpt --send} as
a program.
"""

from __future__ import annotations

import email
import email.policy
import gzip
import json
import os
import sys
import time
from typing import Any

from twisted.internet.defer import Deferred, fail
from twisted.internet.utils import getProcessOutputAndValue
from twisted.web.client import HTTPConnectionPool

from txdane.cli import ExitStatus
from txdane.endpoints import daneAgent
from txdane.tlsrpt import ReportStore, ResultType, SendOutcome, aggregate, sendReports

from ..endpoints.headerflood import FLOOD_CAP, TLS_RECORD, countReceived
from ..endpoints.world import reactor
from ..fakeresolver import FakeResolver, answer
from .samples import result
from .test_record import outcome
from .world import ReportWorld

DOMAINS = (
    "verified.example.test",
    "mismatch.example.test",
    "fallback.example.test",
    "tata.example.test",
    "bogus.expired.test",
)


def reports() -> list[dict[str, Any]]:
    results = [result(domain=domain, mx=f"mx.{domain}") for domain in DOMAINS]
    results.append(result(ResultType.CERTIFICATE_NOT_TRUSTED, domain="verified.example.test"))
    return aggregate(results, "Example Org", "tlsrpt@example.org")


class SendTests(ReportWorld):
    def send(self, made: list[dict[str, Any]], **kw: Any) -> Deferred[list[SendOutcome]]:
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.addCleanup(pool.closeCachedConnections)
        kw.setdefault("agent", daneAgent(reactor, self.world.resolver, pool=pool))
        return sendReports(
            reactor,
            self.world.resolver,
            made,
            submitter="mail.example.org",
            sender="tlsrpt@example.org",
            port=self.port,
            **kw,
        )

    def test_submitterChecked(self) -> None:
        """
        A submitter that is no domain name would fail every report sent by mail: it is
        refused at once, before anything is looked up.
        """
        with self.assertRaises(ValueError) as raised:
            sendReports(
                reactor,
                self.world.resolver,
                reports(),
                submitter="mail example org",
                sender="tlsrpt@example.org",
            )
        self.assertIn(
            "submitter: 'mail example org' is not a valid domain name", str(raised.exception)
        )

    async def test_sent(self) -> None:
        """
        A domain whose record names a mail address and an HTTPS URL gets the report at both:
        the message of L{reportMessage} through its verified MX host, the compressed JSON by
        POST.
        """
        made = reports()
        report = made[4]
        assert report["policies"][0]["policy"]["policy-domain"] == "verified.example.test"
        outcomes = await self.send([report])
        self.assertEqual(
            [(o.reportID, o.destination, o.sent, o.failed) for o in outcomes],
            [
                (report["report-id"], "mailto:tlsrpt@verified.example.test", True, False),
                (report["report-id"], self.reportsURL, True, False),
            ],
        )
        self.assertTrue(
            outcomes[0].outcome.startswith(
                "sent: delivered to mxa.example.test [127.0.0.2] verified: 250"
            ),
            outcomes[0].outcome,
        )
        self.assertEqual(outcomes[1].outcome, "sent: HTTP 200 OK")
        (raw,) = self.servers["mxa"].messages
        message: Any = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(message.get_content_type(), "multipart/report")
        self.assertEqual(message.get_param("report-type"), "tlsrpt")
        self.assertEqual(message["TLS-Report-Domain"], "verified.example.test")
        self.assertEqual(message["TLS-Report-Submitter"], "mail.example.org")
        self.assertEqual(message["To"], "tlsrpt@verified.example.test")
        self.assertEqual(
            message["Subject"],
            "Report Domain: verified.example.test Submitter: mail.example.org "
            f"Report-ID: <{report['report-id']}>",
        )
        _, attachment = message.iter_parts()
        self.assertEqual(attachment.get_content_type(), "application/tlsrpt+gzip")
        self.assertEqual(json.loads(gzip.decompress(attachment.get_payload(decode=True))), report)
        ((path, contentType, body),) = self.collector.posts
        self.assertEqual((path, contentType), (b"/tlsrpt", b"application/tlsrpt+gzip"))
        self.assertEqual(json.loads(gzip.decompress(body)), report)

    async def test_eachOutcome(self) -> None:
        """
        Every report and destination gets its outcome, and none stops the others: a refused
        MX host, an HTTPS server refused by DANE, one answering 500, a domain without a
        TLSRPT record, one with two, and a bogus lookup.
        """
        made = reports()
        outcomes = await self.send(made)
        byDomain = {
            report["policies"][0]["policy"]["policy-domain"]: [
                o for o in outcomes if o.reportID == report["report-id"]
            ]
            for report in made
        }
        self.assertEqual(len(byDomain["verified.example.test"]), 2)
        self.assertTrue(all(o.sent for o in byDomain["verified.example.test"]))

        mail, evil, failing = byDomain["mismatch.example.test"]
        self.assertEqual(
            [o.destination for o in (mail, evil, failing)],
            ["mailto:tlsrpt@mismatch.example.test", self.evilURL, self.failURL],
        )
        self.assertTrue(all(o.failed for o in (mail, evil, failing)))
        self.assertIn("mail for mismatch.example.test deferred", mail.outcome)
        self.assertIn("no TLSA record matched", evil.outcome)
        self.assertEqual(failing.outcome, "failed: HTTP 500 Internal Server Error")
        self.assertEqual(self.servers["mxbad"].messages, [])

        (nothing,) = byDomain["fallback.example.test"]
        self.assertEqual(
            (nothing.destination, nothing.outcome),
            ("", "not sent: fallback.example.test publishes no TLSRPT record"),
        )
        self.assertFalse(nothing.sent or nothing.failed)
        (two,) = byDomain["tata.example.test"]
        self.assertEqual(
            two.outcome,
            "not sent: _smtp._tls.tata.example.test. has 2 TLSRPT records, so none is used",
        )
        (bogus,) = byDomain["bogus.expired.test"]
        self.assertTrue(bogus.failed)
        self.assertIn("_smtp._tls.bogus.expired.test. TXT: bogus", bogus.outcome)
        self.assertEqual(len(self.collector.posts), 2)  # verified's, and the one answered 500

    async def test_boundedResponses(self) -> None:
        """
        A destination that never answers fails at the deadline; one whose body floods or
        never ends took the report all the same, its status says so, and the rest of its
        body is not read.
        """
        made = aggregate(
            [result(domain=f"{name}.example.test") for name in ("flood", "stall", "trickle")],
            "Example Org",
            "tlsrpt@example.org",
        )
        started = reactor.seconds()
        outcomes = await self.send(made, timeout=1)
        self.assertEqual(
            [o.outcome for o in outcomes],
            ["sent: HTTP 200 OK", "failed: no response within 1 s", "sent: HTTP 200 OK"],
        )
        self.assertLess(reactor.seconds() - started, 10)
        self.assertEqual(len(self.collector.posts), 3)

    async def test_headerFlood(self) -> None:
        """
        A destination that answers C{200 OK} and then sends header lines without end, to
        the default agent: its connection is aborted once L{MAX_RESPONSE} plus
        L{HEADER_ALLOWANCE} bytes arrived, and the destination failed at once, not at the
        deadline.
        """
        from txdane.endpoints.web import HEADER_ALLOWANCE
        from txdane.tlsrpt import MAX_RESPONSE

        (report,) = aggregate(
            [result(domain="headers.example.test")], "Example Org", "tlsrpt@example.org"
        )
        received = countReceived(self)
        started = reactor.seconds()
        (outcome,) = await self.send([report], agent=None, timeout=5)
        await self.flood.lost
        limit = MAX_RESPONSE + HEADER_ALLOWANCE
        origin = self.floodURL.removesuffix("/tlsrpt")
        self.assertEqual(
            (outcome.destination, outcome.outcome),
            (self.floodURL, f"failed: {origin}: the response is larger than {limit} bytes"),
        )
        self.assertLess(reactor.seconds() - started, 4)
        (count,) = received
        self.assertLessEqual(count, limit + TLS_RECORD)
        self.assertLess(self.flood.sent, FLOOD_CAP)

    async def test_mailSenderFails(self) -> None:
        """
        A mail sender that fails, even with an unexpected error, is one failed outcome.
        """
        calls: list[tuple[Any, ...]] = []

        def broken(*args: Any, **kw: Any) -> Deferred[Any]:
            calls.append(args)
            return fail(RuntimeError("the queue is full"))

        report = reports()[4]
        outcomes = await self.send([report], mailSender=broken)
        self.assertEqual(outcomes[0].outcome, "failed: the queue is full")
        self.assertTrue(outcomes[1].sent)
        (args,) = calls
        self.assertEqual(args[2:4], ("tlsrpt@example.org", ["tlsrpt@verified.example.test"]))


class CommandTests(ReportWorld):
    """
    C{txdane tlsrpt --send} as a program, against the world.
    """

    async def txdane(self, *arguments: str) -> tuple[int, str, str]:
        out, err, status = await getProcessOutputAndValue(
            sys.executable,
            [
                "-m",
                "txdane",
                "tlsrpt",
                str(self.directory / "store"),
                "--org",
                "Example Org",
                "--contact",
                "tlsrpt@example.org",
                "--send",
                "--from",
                "tlsrpt@example.org",
                "--resolver",
                self.world.resolverAddress,
                "--trust-anchor",
                str(self.anchorFile),
                "--port",
                str(self.port),
                *arguments,
            ],
            env=dict(os.environ),
        )
        return status, out.decode(), err.decode()

    async def test_send(self) -> None:
        """
        Sent reports leave the store, and so do those of domains that take none; a report no
        destination took stays, and the exit status says so. With C{--keep}, all stay.
        """
        store = ReportStore(self.directory / "store")
        twoDaysAgo = time.time() - 2 * 86400
        for domain in ("verified.example.test", "mismatch.example.test", "fallback.example.test"):
            store.record(result(domain=domain, when=twoDaysAgo))
        store.record(result(domain="verified.example.test", when=time.time()))
        status, out, err = await self.txdane("--json", "--keep")
        self.assertEqual((status, err), (ExitStatus.FAILURE, ""))
        output = json.loads(out)
        self.assertEqual(output["exit_status"], ExitStatus.FAILURE)
        self.assertEqual(len(output["reports"]), 3)
        statuses = [(d["destination"], d["status"]) for d in output["deliveries"]]
        self.assertEqual(
            statuses,
            [
                ("", "not sent"),
                ("mailto:tlsrpt@mismatch.example.test", "failed"),
                (self.evilURL, "failed"),
                (self.failURL, "failed"),
                ("mailto:tlsrpt@verified.example.test", "sent"),
                (self.reportsURL, "sent"),
            ],
        )
        self.assertEqual(len(store.results()), 4)

        status, out, err = await self.txdane()
        self.assertEqual((status, err), (ExitStatus.FAILURE, ""))
        lines = out.splitlines()
        self.assertRegex(
            lines[0], r"^3 reports \(3 domains, [-0-9]+\): 1 sent, 1 failed, 1 not sent$"
        )
        self.assertIn("  failed     mailto:tlsrpt@mismatch.example.test: mail for", out)
        self.assertIn(f"  sent       {self.reportsURL}: HTTP 200 OK", out)
        self.assertIn("  not sent   fallback.example.test publishes no TLSRPT record", out)
        remaining = sorted((r.policyDomain, r.when) for r in store.results())
        self.assertEqual(
            [(domain, when > twoDaysAgo) for domain, when in remaining],
            [("mismatch.example.test", False), ("verified.example.test", True)],
        )
        self.assertEqual(len(self.servers["mxa"].messages), 2)

    async def test_fromRefused(self) -> None:
        """
        A C{--from} that mail cannot come from is a usage error before anything is sent: the
        report stays in the store for its C{mailto:} destination, rather than leave it once
        the C{https:} one took it.
        """
        store = ReportStore(self.directory / "store")
        store.record(result(domain="verified.example.test", when=time.time() - 2 * 86400))
        status, out, err = await self.txdane("--from", "Reports <tlsrpt@example.org>")
        self.assertEqual((status, out), (ExitStatus.USAGE, ""))
        self.assertEqual(
            err,
            "txdane: --from 'Reports <tlsrpt@example.org>': give the address alone, without a "
            "name or angle brackets: tlsrpt@example.org\n",
        )
        self.assertEqual(len(store.results()), 1)
        self.assertEqual(len(self.servers["mxa"].messages), 0)
        self.assertEqual(self.collector.posts, [])


def test_unusable() -> None:
    """
    A report that is not one, and a destination of another scheme, are outcomes too; nothing
    is dialled for them.
    """
    name = "_smtp._tls.example.com."
    resolver = FakeResolver(
        {(name, "TXT"): answer("TXT", '"v=TLSRPTv1; rua=urn:example:later"', name=name)}
    )
    made = aggregate([result()], "Example Org", "tlsrpt@example.org")
    outcomes = outcome(
        sendReports(
            None,
            resolver,
            [{"report-id": "broken", "policies": []}, *made],
            submitter="mail.example.org",
            sender="tlsrpt@example.org",
        )
    )
    assert outcomes == [
        SendOutcome("broken", "", "not sent: not a report: report 'broken': not one policy domain"),
        SendOutcome(
            made[0]["report-id"],
            "urn:example:later",
            "not sent: urn: URIs are not supported (only mailto: and https:)",
        ),
    ]


def test_drainStops() -> None:
    """
    A response body is read up to L{MAX_RESPONSE} bytes, then its transport is stopped.
    """
    from txdane.tlsrpt import MAX_RESPONSE, _Drain

    class Transport:
        stopped = 0

        def stopProducing(self) -> None:
            self.stopped += 1

    done: Deferred[None] = Deferred()
    drain = _Drain(done)
    transport = Transport()
    drain.makeConnection(transport)
    drain.dataReceived(b"x" * MAX_RESPONSE)
    assert transport.stopped == 0
    drain.dataReceived(b"x")
    assert transport.stopped == 1
    assert not done.called
    drain.connectionLost()
    assert done.called

"""
The delivery of reports (L{sendReports}) to every destination their domain's TLSRPT
record names: by mail (L{txdane.mail.sendMail}, with DANE) or by HTTPS POST (through
L{daneAgent<txdane.endpoints.web.daneAgent>}, with DANE); what became of each report for
each destination (L{SendOutcome}).

An HTTPS destination is a URL the reported domain publishes, so its server may be anyone's:
besides the deadline (L{POST_TIMEOUT}) and the body read (L{MAX_RESPONSE}), the default agent
takes at most L{MAX_RESPONSE} plus L{HEADER_ALLOWANCE<txdane.endpoints.web.HEADER_ALLOWANCE>}
bytes of a response, its status and header lines included (twisted.web's client keeps every
header line it is sent, however many); past them the connection is aborted and the
destination failed, unless its status had come.

Tests: C{tests/tlsrpt/test_send.py}.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure

from txdane.tlsrpt._errors import TLSRPTError, TLSRPTLookupError
from txdane.tlsrpt._message import (
    _checkedSubmitter,
    _reportDomain,
    compressReport,
    reportMessage,
)
from txdane.tlsrpt._record import lookupReportAddresses

if TYPE_CHECKING:
    from twisted.web.iweb import IAgent

    from txdane.validation.interfaces import IDNSSECResolver

#: The most bytes of an HTTPS reporting server's response body read (and then dropped). The
#: default agent of L{sendReports} takes at most this and
#: L{HEADER_ALLOWANCE<txdane.endpoints.web.HEADER_ALLOWANCE>} bytes of a response in all.
MAX_RESPONSE = 65536

#: Seconds an HTTPS POST of a report may take, connection to response.
POST_TIMEOUT = 300.0


class SendOutcome(NamedTuple):
    """
    What became of a report for one destination: a C{(reportID, destination, outcome)}
    tuple.

    @ivar reportID: the report's C{report-id}.
    @ivar destination: the C{rua} URI, or C{""} when the report went nowhere (no TLSRPT
        record, or its lookup failed).
    @ivar outcome: one line, starting with C{"sent: "} (the destination took the report),
        C{"failed: "} (it did not, or the lookup failed: try again later) or C{"not sent: "}
        (the domain takes no report: no TLSRPT record, a malformed one, several, or a URI
        of another scheme than C{mailto} and C{https}).
    """

    reportID: str
    destination: str
    outcome: str

    @property
    def sent(self) -> bool:
        """
        Whether the destination took the report.
        """
        return self.outcome.startswith("sent: ")

    @property
    def failed(self) -> bool:
        """
        Whether sending failed (or the lookup of the destinations did): worth trying again.
        """
        return self.outcome.startswith("failed: ")


class _Drain(Protocol):
    """
    Reads a response body and drops it, stopping after L{MAX_RESPONSE} bytes.
    """

    def __init__(self, done: Deferred[None]) -> None:
        self.done = done
        self.received = 0

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > MAX_RESPONSE and self.transport is not None:
            self.transport.stopProducing()  # type: ignore[attr-defined]

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if not self.done.called:
            self.done.callback(None)


def _describe(error: BaseException) -> str:
    """
    An error in one line, through the wrappers of twisted.web's client.
    """
    reasons = getattr(error, "reasons", None)
    if reasons and isinstance(reasons[0], Failure) and reasons[0].value is not None:
        return _describe(reasons[0].value)
    return str(error) or type(error).__name__


async def _post(reactor: Any, agent: IAgent, uri: str, body: bytes, timeout: float) -> str:
    """
    POST a compressed report to C{uri}, within C{timeout} seconds from the connection to the
    end of the response (or L{MAX_RESPONSE} bytes of it): the status says whether it was
    taken.
    """
    from twisted.web.client import FileBodyProducer
    from twisted.web.http_headers import Headers

    headers = Headers(
        {b"Content-Type": [b"application/tlsrpt+gzip"], b"User-Agent": [b"txdane tlsrpt"]}
    )
    request = agent.request(
        b"POST", uri.encode("ascii"), headers, FileBodyProducer(io.BytesIO(body))
    )
    done: Deferred[None] = Deferred()
    drain: _Drain | None = None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        if drain is None:
            request.cancel()
            return
        # The status is in; the body did not end in time.
        if drain.transport is not None:
            drain.transport.stopProducing()  # type: ignore[attr-defined]
        if not done.called:
            done.callback(None)

    timer = reactor.callLater(timeout, expire)
    try:
        try:
            response = await request
        except Exception as e:
            if expired:
                return f"failed: no response within {timeout:g} s"
            return f"failed: {_describe(e)}"
        drain = _Drain(done)
        response.deliverBody(drain)
        await done
    finally:
        if timer.active():
            timer.cancel()
    phrase = response.phrase.decode("utf-8", "replace")
    if 200 <= response.code < 300:
        return f"sent: HTTP {response.code} {phrase}".rstrip()
    return f"failed: HTTP {response.code} {phrase}".rstrip()


def sendReports(
    reactor: Any,
    resolver: IDNSSECResolver,
    reports: Iterable[Mapping[str, Any]],
    *,
    submitter: str,
    sender: str,
    agent: IAgent | None = None,
    mailSender: Callable[..., Deferred[Any]] | None = None,
    port: int = 25,
    timeout: float = POST_TIMEOUT,
) -> Deferred[list[SendOutcome]]:
    """
    Send each report to every destination its domain's TLSRPT record names
    (L{lookupReportAddresses}), one report after the other: C{mailto:} URIs get the message
    of L{reportMessage}, delivered with DANE by C{mailSender}; C{https:} URIs get a POST of
    the compressed report (L{compressReport}) with C{Content-Type: application/tlsrpt+gzip}
    through C{agent}, a 2xx status meaning taken (RFC 8460 section 5.4).

    Nothing is raised for one report or one destination: each outcome is listed.

    @param resolver: the validating resolver, for the TLSRPT records, and for the default
        mail sender and agent.
    @param reports: reports of L{aggregate}.
    @param submitter: the domain of the reporting system (C{TLS-Report-Submitter}),
        checked before anything is sent (as L{reportMessage} checks it).
    @param sender: the address reports by mail come from (envelope and C{From}).
    @param agent: the C{IAgent} for C{https:} destinations (default: a
        L{daneAgent<txdane.endpoints.web.daneAgent>} of C{resolver}, a new connection for
        each POST, taking at most L{MAX_RESPONSE} plus L{HEADER_ALLOWANCE
        <txdane.endpoints.web.HEADER_ALLOWANCE>} bytes of each response: give an agent of
        your own a bound too, its C{maxResponseBytes}).
    @param mailSender: called as L{sendMail<txdane.mail.sendMail>} is, C{(reactor, resolver,
        sender, [recipient], message, port=port)}, for C{mailto:} destinations (default:
        L{txdane.mail.sendMail}).
    @param port: the SMTP port of the MX hosts.
    @param timeout: seconds an HTTPS POST may take (L{POST_TIMEOUT}).
    @return: a Deferred firing with a L{SendOutcome} per report and destination (one with
        destination C{""} for a report that went nowhere), in order.
    @raise ValueError: C{submitter} is no domain name (it would fail every mail).
    """
    submitter = _checkedSubmitter(submitter)
    reports = list(reports)

    async def send() -> list[SendOutcome]:
        nonlocal agent, mailSender
        outcomes: list[SendOutcome] = []
        for report in reports:
            reportID = str(report.get("report-id", ""))
            try:
                domain = _reportDomain(report)
            except (KeyError, TypeError, ValueError) as e:
                outcomes.append(SendOutcome(reportID, "", f"not sent: not a report: {e}"))
                continue
            try:
                destinations = await lookupReportAddresses(resolver, domain)
            except TLSRPTLookupError as e:
                outcomes.append(SendOutcome(reportID, "", f"failed: {e}"))
                continue
            except TLSRPTError as e:
                outcomes.append(SendOutcome(reportID, "", f"not sent: {e}"))
                continue
            except Exception as e:
                outcomes.append(SendOutcome(reportID, "", f"failed: {_describe(e)}"))
                continue
            if not destinations:
                outcomes.append(
                    SendOutcome(reportID, "", f"not sent: {domain} publishes no TLSRPT record")
                )
            for uri in destinations:
                scheme = uri.split(":", 1)[0].lower()
                if scheme == "mailto":
                    if mailSender is None:
                        from txdane.mail import sendMail

                        mailSender = sendMail
                    outcome = await _mail(
                        reactor, resolver, report, uri, submitter, sender, mailSender, port
                    )
                elif scheme == "https":
                    if agent is None:
                        from txdane.endpoints.web import HEADER_ALLOWANCE, daneAgent

                        # The server is the reported domain's choice: bound what it sends,
                        # header lines included, on connections that carry one POST each.
                        agent = daneAgent(
                            reactor, resolver, maxResponseBytes=MAX_RESPONSE + HEADER_ALLOWANCE
                        )
                    outcome = await _post(reactor, agent, uri, compressReport(report), timeout)
                else:
                    outcome = (
                        f"not sent: {scheme}: URIs are not supported (only mailto: and https:)"
                    )
                outcomes.append(SendOutcome(reportID, uri, outcome))
        return outcomes

    return Deferred.fromCoroutine(send())


async def _mail(
    reactor: Any,
    resolver: IDNSSECResolver,
    report: Mapping[str, Any],
    uri: str,
    submitter: str,
    sender: str,
    mailSender: Callable[..., Deferred[Any]],
    port: int,
) -> str:
    recipient = unquote(uri.split(":", 1)[1].split("?", 1)[0])
    try:
        message = reportMessage(report, submitter=submitter, sender=sender, recipient=recipient)
        result = await mailSender(reactor, resolver, sender, [recipient], message, port=port)
    except Exception as e:
        return f"failed: {_describe(e)}"
    mx = getattr(result, "mx", None)
    if mx is None:
        return "sent: delivered"
    return f"sent: delivered to {mx} [{result.address}] {result.protection}: {result.reply}"

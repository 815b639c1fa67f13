"""
One delivery: the MX hosts walked in turn, each within its deadline, with twisted.mail's
client over the connection the endpoint secured; which failures are final; the recipients
refused for good, never offered to the next host; and the TLS outcome of each session, told
to the reporter.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import dns.rcode
import dns.rdatatype
from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.mail.smtp import SMTPClientError, TLSError, TLSRequiredError
from twisted.python.failure import Failure

from txdane.adapters import NoAddressesError
from txdane.dane.decision import Action, Policy
from txdane.endpoints.connection import IDANEConnection, Protection
from txdane.endpoints.errors import AllHostsFailedError, HostAttempt
from txdane.endpoints.planner import (
    Candidate,
    HostFailed,
    HostSettings,
    HostWalk,
    UnusableHostError,
    connectCandidate,
)
from txdane.errors import TxdaneError
from txdane.mail._client import _SenderFactory
from txdane.mail._outcome import (
    DeliveryResult,
    NotInPolicyError,
    PermanentDeliveryError,
    RecipientReply,
    ServerLimitError,
    TemporaryDeliveryError,
)
from txdane.mailpolicy import (
    MailPolicy,
    PolicyOutcomeLike,
    TLSSession,
    failureType,
    planPolicy,
    policyCandidates,
    sessionPolicy,
)
from txdane.status import Status
from txdane.validation.interfaces import IDNSSECResolver

# The namespace of the module this package was: log observers that filter on it still see
# these events.
_log = Logger(namespace="txdane.mail")


def _text(data: bytes | str) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def _recipientReplies(error: BaseException) -> list[RecipientReply]:
    """
    The server's reply to each recipient's C{RCPT}, as twisted.mail's error carries them
    (none for an error before C{RCPT}, or no SMTP error).
    """
    addresses: Any = (
        getattr(error, "addresses", None) if isinstance(error, SMTPClientError) else None
    )
    return [(_text(a), code, _text(r)) for a, code, r in addresses or ()]


def _accepted(code: int) -> bool:
    return 200 <= code < 300


def _isPermanent(error: BaseException) -> bool:
    """
    Whether C{error}, over the session, is final for the message: a 5yz reply to the
    message, or to every recipient when none was accepted. Each recipient's reply counts
    for it alone (RFC 5321 section 4.2.1): one refused with a 4yz code makes the failure
    temporary, whatever the others' replies, and whichever was last (twisted.mail's error
    has the code of the last recipient's reply).
    """
    if isinstance(error, (TLSError, TLSRequiredError)):
        return False  # a STARTTLS problem is the host's: try the next
    if isinstance(error, SMTPClientError):
        codes = [code for _, code, _ in _recipientReplies(error)]
        if codes and not any(_accepted(code) for code in codes):
            return all(500 <= code < 600 for code in codes)
        return 500 <= error.code < 600
    return False


def _provenAbsent(error: BaseException) -> bool:
    """
    Whether C{error} says a host has no address that may be used: its address lookup proved
    it has none (NXDOMAIN or NODATA for both A and AAAA, each answer secure or insecure: a
    negative answer from an unsigned zone is all DNS says there, as for the MX lookup's
    NXDOMAIN), or its name is an IP address (L{UnusableHostError}). A lookup that failed (a
    timeout, SERVFAIL) or was bogus or indeterminate proves nothing.
    """
    if isinstance(error, UnusableHostError):
        return True  # a numeric name: no address may be used (RFC 5321 section 5.1)
    if not isinstance(error, NoAddressesError):
        return False
    types = {answer.rdtype for answer in error.answers}
    return types >= {dns.rdatatype.A, dns.rdatatype.AAAA} and all(
        answer.status in (Status.SECURE, Status.INSECURE)
        and answer.rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN)
        and not answer.exists
        for answer in error.answers
    )


class _OutOfTime(TxdaneError):
    """
    The whole delivery ran out of time before another host could be tried (a signal
    within this module: it becomes a L{TemporaryDeliveryError}).
    """


class _Delivery:
    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        sender: str,
        recipients: Sequence[str],
        message: bytes,
        domain: str,
        heloName: str | None,
        timeout: float,
        settings: HostSettings,
        attemptTimeout: float,
        deliveryTimeout: float,
    ) -> None:
        self.reactor = reactor
        self.resolver = resolver
        self.sender = sender
        #: The recipients, as given.
        self.given = list(recipients)
        #: Those still to be sent to: a recipient a host refused with a 5yz code is not
        #: offered to the next.
        self.recipients = list(recipients)
        #: Per recipient a server refused, the last refusal.
        self.refusals: dict[str, RecipientReply] = {}
        self.message = message
        #: Whether the message has 8-bit bytes, for C{BODY=8BITMIME} (decided once).
        self.eightBit = not message.isascii()
        self.domain = domain
        self.heloName = heloName
        self.timeout = timeout
        self.settings = settings
        self.attemptTimeout = attemptTimeout
        self.deliveryTimeout = deliveryTimeout
        self.deadline = reactor.seconds() + deliveryTimeout
        self.tries: list[HostAttempt] = []
        self.skipped: tuple[str, ...] = ()
        #: The domain's MTA-STS policy outcome, if one was looked up.
        self.sts: PolicyOutcomeLike | None = None
        #: Told of each session's TLS outcome (SMTP TLS reporting), if given.
        self.reporter: Callable[[TLSSession], object] | None = None

    async def run(self, candidates: Sequence[Candidate]) -> DeliveryResult:
        candidates, excluded = policyCandidates(candidates, self.sts)
        walk = HostWalk(f"MX of {self.domain}", candidates, maxHosts=self.settings.maxHosts)
        for outside in excluded:
            walk.failed(outside, NotInPolicyError(outside.host, outside.port, self.domain))
        self.tries = walk.attempts
        self.skipped = tuple(f"{c.host}:{c.port}" for c in walk.skipped)

        def final(error: BaseException) -> bool:
            return _isPermanent(error) or isinstance(error, _OutOfTime)

        try:
            return await walk.next(self.tryHost, final=final)
        except AllHostsFailedError:
            reasons = "; ".join(str(t) for t in self.tries) or "no MX host"
            if self.skipped:
                reasons += f" ({len(self.skipped)} more not tried: {', '.join(self.skipped)})"
            if self.tries and not self.skipped and all(_provenAbsent(t.error) for t in self.tries):
                # RFC 5321 section 5.1: MX hosts none of which is usable, or an implicit MX
                # that is not, are an error to report, not to retry for days.
                raise PermanentDeliveryError(
                    self.domain,
                    f"no MX host has an address: {reasons}",
                    self.tries,
                    self.skipped,
                    self.refused(),
                ) from None
            raise TemporaryDeliveryError(
                self.domain,
                f"no MX host took it: {reasons}",
                self.tries,
                self.skipped,
                self.refused(),
            ) from None
        except _OutOfTime as e:
            self.tries.pop()  # the host that was never tried
            raise TemporaryDeliveryError(
                self.domain, str(e), self.tries, self.skipped, self.refused()
            ) from None
        except Exception as e:
            if not _isPermanent(e):
                raise
            host = self.tries[-1].host
            replies = _recipientReplies(e)
            if replies and not any(_accepted(code) for _, code, _ in replies):
                reason = f"{host} refused every recipient: " + "; ".join(
                    f"{address}: {code} {reply}" for address, code, reply in replies
                )
            else:
                reason = f"{host} refused: {e}"
            raise PermanentDeliveryError(
                self.domain, reason, self.tries, self.skipped, self.refused()
            ) from e

    def refused(self) -> tuple[RecipientReply, ...]:
        """
        The recipients a server refused, each with its last refusal, in the order given.
        """
        return tuple(self.refusals[r] for r in self.given if r in self.refusals)

    def withRefused(self, replies: Sequence[RecipientReply]) -> tuple[RecipientReply, ...]:
        """
        The replies of the host that took the message, and the refusals of the recipients
        that earlier hosts refused for good, in the order the recipients were given.
        """
        byAddress = {reply[0]: reply for reply in replies}
        for address, reply in self.refusals.items():
            byAddress.setdefault(address, reply)
        ordered = [byAddress.pop(r) for r in self.given if r in byAddress]
        return (*ordered, *byAddress.values())

    def noteReplies(self, replies: Sequence[RecipientReply]) -> None:
        """
        Note a host's reply to each recipient of a message it did not take: a recipient
        refused with a 5yz code is refused for good (RFC 5321 section 4.2.1), and not
        offered to the next host; one refused with a 4yz code is offered again.
        """
        for reply in replies:
            address, code, _ = reply
            if _accepted(code):
                self.refusals.pop(address, None)
                continue
            self.refusals[address] = reply
            if 500 <= code < 600:
                self.recipients = [r for r in self.recipients if r != address]

    async def tryHost(self, candidate: Candidate) -> DeliveryResult:
        """
        One host. Under an MTA-STS policy in C{testing} mode, first as the policy would
        have it (TLS verified by PKIX): a TLS failure is reported, and the host is tried
        again as without the policy.
        """
        if sessionPolicy(self.sts) is MailPolicy.MTA_STS_TESTING and candidate.policy is not (
            Policy.SMTP_STS
        ):
            strict = dataclasses.replace(candidate, policy=Policy.SMTP_STS)
            try:
                return await self.tryHostOnce(strict)
            except Exception as e:
                error = e.error if isinstance(e, HostFailed) else e
                if failureType(error) is None:
                    raise
        return await self.tryHostOnce(candidate)

    async def tryHostOnce(self, candidate: Candidate) -> DeliveryResult:
        """
        One host, within its deadline: the smaller of the attempt's and what is left of the
        delivery's; its TLS outcome reported.
        """
        state = _Attempt()
        try:
            result = await self.tryHostInTime(candidate, state)
        except Exception as e:
            if isinstance(e, _OutOfTime):
                raise
            error = e.error if isinstance(e, HostFailed) else e
            address = e.address if isinstance(e, HostFailed) else None
            local = e.localAddress if isinstance(e, HostFailed) else None
            kind = failureType(error)
            if kind is not None:
                self.report(candidate, None, address, kind, str(error), error, sendingIP=local)
            raise
        kind, reason = None, ""
        if result.protection is Protection.CLEARTEXT:
            # A session without TLS (SMTP's opportunistic policy, and a server that offers no
            # STARTTLS) is no successfully negotiated TLS session (RFC 8460 section 4.4).
            kind, reason = "starttls-not-supported", "the server does not offer STARTTLS"
        self.report(
            candidate,
            result.policy,
            result.address,
            kind,
            reason,
            None,
            result.tlsa,
            sendingIP=state.sendingIP,
        )
        return result

    def report(
        self,
        candidate: Candidate,
        policy: MailPolicy | None,
        address: str | None,
        kind: str | None,
        reason: str,
        error: BaseException | None,
        tlsa: tuple[str, ...] = (),
        sendingIP: str | None = None,
    ) -> None:
        """
        Tell the reporter, if any, of one session's TLS outcome: under DANE, with the host's
        TLSA records (C{tlsa} for a session that succeeded, those its error checked for one
        that failed), in one order whatever order DNS gave them in, so that the sessions of
        one RRset are counted under one policy; with this side's address (C{sendingIP}) and
        the server's (C{address}) when a connection was made.
        """
        if self.reporter is None:
            return
        checks = getattr(error, "checks", ()) or ()
        if policy is MailPolicy.DANE or checks:
            policyType = "tlsa"
            strings = tlsa or _recordTexts(check.record for check in checks)
        elif candidate.policy is Policy.SMTP_STS and self.sts is not None:
            policyType = "sts"
            strings = tuple(self.sts.policy.lines())
        else:
            policyType, strings = "no-policy-found", ()
        _tell(
            self.reporter,
            TLSSession(
                self.domain,
                policyType,
                strings,
                candidate.host,
                sendingIP,
                address,
                kind,
                reason,
                self.reactor.seconds(),
            ),
        )

    async def tryHostInTime(self, candidate: Candidate, state: _Attempt) -> DeliveryResult:
        """
        One host, within its deadline: the smaller of the attempt's and what is left of the
        delivery's.
        """
        left = self.deadline - self.reactor.seconds()
        if left <= 0:
            raise _OutOfTime(f"the delivery was not done within {self.deliveryTimeout:g} s")
        limit = min(self.attemptTimeout, left)
        attempt = Deferred.fromCoroutine(self.session(candidate, state))

        def expire() -> None:
            state.expired = True
            if state.transport is not None:
                state.transport.abortConnection()
            attempt.cancel()

        timer = self.reactor.callLater(limit, expire)
        try:
            return await attempt
        except Exception as e:
            if not state.expired:
                raise
            late = ServerLimitError(
                candidate.host, candidate.port, f"the session took more than {limit:g} s"
            )
            raise HostFailed(late, state.address, state.sendingIP) from e
        finally:
            if timer.active():
                timer.cancel()

    async def session(self, candidate: Candidate, state: _Attempt) -> DeliveryResult:
        done: Deferred[Any] = Deferred()
        factory = _SenderFactory(
            None,
            None,
            self.sender,
            self.recipients,
            io.BytesIO(self.message),
            done,
            retries=0,
            timeout=self.timeout,
            # The endpoint does STARTTLS: the client never starts TLS itself.
            contextFactory=None,
            requireAuthentication=False,
            requireTransportSecurity=False,
        )
        factory.eightBit = self.eightBit
        if self.heloName is not None:
            factory.domain = self.heloName.encode("ascii")

        closed: Deferred[None] = Deferred()

        def lost(reason: Failure) -> None:
            # twisted.mail hears of a lost connection only through clientConnectionLost,
            # which endpoints never call: end the attempt with the connection's reason.
            if not done.called:
                done.errback(reason)
            closed.callback(None)

        protocol: Any = await connectCandidate(
            self.reactor,
            self.resolver,
            candidate,
            factory,
            settings=self.settings,
            onLost=lost,
        )
        state.transport = protocol.transport
        info = IDANEConnection(protocol.transport).connectionInfo
        address = info.address.host if info.address is not None else None
        state.address = address
        if info.localAddress is not None:
            state.sendingIP = info.localAddress.host
        if info.plan.tlsRequired and not info.tls:
            # Never reached: the endpoint connects only with the protection the plan
            # requires. Checked here all the same, since delivery depends on it.
            done.addErrback(lambda _: None)
            protocol.transport.abortConnection()
            await closed
            raise HostFailed(
                ServerLimitError(candidate.host, candidate.port, "TLS required, not in place"),
                address,
                state.sendingIP,
            )
        # The attempt ends with the connection, whichever way it ends: each way out below
        # waits for it. Not in a finally: a session that is closed without finishing (its
        # Deferred dropped and collected while it waits) may not wait for anything, and one
        # that tries is reported ignoring GeneratorExit.
        try:
            _, addresses = await done
        except CancelledError:
            if not state.expired:
                # The caller cancelled: end the session now, and say so as it is. Read as
                # this host's failure, the delivery would go on to the next host, and a
                # message the server took in the meantime would be reported deferred (and
                # sent again).
                protocol.transport.abortConnection()
            await closed
            raise
        except Exception as e:
            error: BaseException = e
            if factory.exceeded is not None:
                error = ServerLimitError(candidate.host, candidate.port, factory.exceeded)
            self.noteReplies(_recipientReplies(error))
            await closed
            raise HostFailed(error, address, state.sendingIP) from e
        # The client says QUIT and the server closes.
        await closed
        code, resp = factory.reply or (250, b"")
        plan = info.plan
        return DeliveryResult(
            self.domain,
            candidate.host,
            address,
            candidate.port,
            info.protection,
            f"{code} {_text(resp)}",
            self.withRefused([(_text(a), c, _text(r)) for a, c, r in addresses]),
            tuple(self.tries),
            self.skipped,
            planPolicy(plan, self.sts),
            _recordTexts(plan.records) if plan.action is Action.DANE else (),
        )


class _Attempt:
    """
    What the deadline of one host needs to end its session: the transport, once connected;
    and this side's address of the connection, for TLS reports.
    """

    transport: Any = None
    address: str | None = None
    sendingIP: str | None = None
    expired = False


def _recordTexts(records: Iterable[object]) -> tuple[str, ...]:
    """
    TLSA records as text, sorted: one RRset gives one tuple, whatever order DNS gave it in.
    """
    return tuple(sorted(str(record) for record in records))


def _tell(reporter: Callable[[TLSSession], object], session: TLSSession) -> None:
    """
    Give C{reporter} a session's outcome; a reporter that fails (a full disk) is logged and
    never stops the delivery.
    """
    try:
        reporter(session)
    except Exception:
        _log.failure("while recording a TLS report session")

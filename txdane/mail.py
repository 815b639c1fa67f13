"""
Mail delivery with DANE (RFC 7672): one message to the recipients of one domain, through
twisted.mail's C{ESMTPSenderFactory}, over the MX hosts of C{dane:mx=}::

    result = await sendMail(reactor, resolver, "alice@example.org", ["bob@example.com"], message)
    print(result.mx, result.protection, result.reply)

For each MX host in turn (by preference, L{txdane.endpoints.mx.planMX}, walked by the
endpoints' one L{HostWalk<txdane.endpoints.planner.HostWalk>}): the endpoint negotiates
STARTTLS itself and hands twisted.mail's client a connection only once its handshake passed
verification by DANE (or, for a host without usable TLSA records that offers no STARTTLS,
the cleartext RFC 7672 allows), so that nothing the server said before TLS reaches the
client and nothing of the message leaves before it. A host that fails - no connection, a
failed TLSA lookup, a DANE mismatch, TLS owed but not offered, a handshake dropped, a 4xx
reply - makes it move to the next host. A 5xx reply over the connection is final.

Tests: C{tests/mail/test_delivery.py}, C{tests/mail/test_postfix.py}.

The outcome is a L{DeliveryResult} (host, address, protection, the server's reply to the
message), or a L{DeliveryError} that says whether to defer (L{TemporaryDeliveryError}) or
bounce (L{PermanentDeliveryError}), with every host tried and why.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.utils import parseaddr
from typing import IO, Any, ClassVar

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.mail.smtp import (
    ESMTPSender,
    ESMTPSenderFactory,
    SMTPClient,
    SMTPClientError,
    TLSError,
    TLSRequiredError,
)
from twisted.python.failure import Failure

from txdane.dane.decision import Action, Policy
from txdane.endpoints.connection import IDANEConnection, Protection
from txdane.endpoints.errors import AllHostsFailedError, HostAttempt, MXError
from txdane.endpoints.mx import Shuffle, planMX
from txdane.endpoints.planner import (
    Candidate,
    HostFailed,
    HostSettings,
    HostWalk,
    connectCandidate,
    refuseHostFields,
)
from txdane.errors import TxdaneError
from txdane.mailpolicy import (
    MailPolicy,
    PolicyOutcomeLike,
    PolicySource,
    TLSSession,
    failureType,
    planPolicy,
    policyCandidates,
    sessionPolicy,
)
from txdane.names import heloDomain, isAddress, mailDomain
from txdane.validation.interfaces import IDNSSECResolver

_log = Logger()

__all__ = [
    "ATTEMPT_TIMEOUT",
    "DELIVERY_TIMEOUT",
    "MAX_REPLY",
    "MAX_REPLY_LINE",
    "DeliveryError",
    "DeliveryResult",
    "NotInPolicyError",
    "PermanentDeliveryError",
    "ServerLimitError",
    "TemporaryDeliveryError",
    "recipientDomain",
    "sendMail",
]

#: The longest reply line accepted from an SMTP server, in bytes (RFC 5321 section 4.5.3.1.5
#: sets 512 octets; no real server comes near this).
MAX_REPLY_LINE = 4096

#: The most bytes one reply may hold, all its lines together (a multi-line EHLO reply of a
#: real server is well under 1 KiB).
MAX_REPLY = 65536

#: Seconds one MX host may take, from the start of its lookups to the end of the session.
ATTEMPT_TIMEOUT = 600.0

#: Seconds a whole delivery may take, every host included.
DELIVERY_TIMEOUT = 1800.0


@dataclass(frozen=True)
class DeliveryResult:
    """
    A message accepted by an MX host.

    @ivar domain: the recipients' domain.
    @ivar mx: the MX host that took the message.
    @ivar address: the address connected to.
    @ivar port: the port.
    @ivar protection: the connection's L{Protection} when the message was sent.
    @ivar reply: the server's reply to the message's data (C{"250 2.0.0 Ok: queued"}).
    @ivar recipients: per recipient, C{(address, code, reply)} from the server.
    @ivar tries: the hosts that failed before, each with why.
    @ivar skipped: the MX hosts beyond the limit of hosts to try (C{"host:port"}).
    @ivar policy: what protected the delivery: DANE, MTA-STS (enforced or testing) or none
        (L{MailPolicy<txdane.mailpolicy.MailPolicy>}).
    @ivar tlsa: under DANE, the host's TLSA records as text (C{"3 1 1 e3b0..."}), in the
        order of their text: those the connection was authenticated by, and those unusable
        beside them.
    """

    domain: str
    mx: str
    address: str | None
    port: int
    protection: Protection
    reply: str
    recipients: tuple[tuple[str, int, str], ...] = ()
    tries: tuple[HostAttempt, ...] = ()
    skipped: tuple[str, ...] = ()
    policy: MailPolicy = MailPolicy.NONE
    tlsa: tuple[str, ...] = ()


class DeliveryError(TxdaneError):
    """
    The message was not delivered.

    @ivar domain: the recipients' domain.
    @ivar reason: the cause in words.
    @ivar tries: every host tried, each with why it failed.
    @ivar skipped: the MX hosts beyond the limit of hosts to try, never tried.
    @cvar permanent: bounce (C{True}) or defer (C{False}).
    """

    domain: str
    reason: str
    tries: Sequence[HostAttempt] = ()
    skipped: Sequence[str] = ()
    permanent: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.tries = tuple(self.tries)
        self.skipped = tuple(self.skipped)
        super().__post_init__()

    def __str__(self) -> str:
        kind = "bounced" if self.permanent else "deferred"
        return f"mail for {self.domain} {kind}: {self.reason}"


class ServerLimitError(TxdaneError):
    """
    An MX host went past a bound on what a server may cost a delivery (a reply line or a
    reply too long, its session too slow): that host failed, and the next one is tried.

    @ivar host: the host.
    @ivar port: the port.
    @ivar reason: which bound, in words.
    """

    host: str
    port: int
    reason: str
    template = "{host}:{port}: {reason}"


class NotInPolicyError(TxdaneError):
    """
    An MX host that the domain's enforced MTA-STS policy does not list: it is not tried
    (RFC 8461 section 4.1).

    @ivar host: the MX host.
    @ivar port: the port.
    @ivar domain: the policy's domain.
    """

    host: str
    port: int
    domain: str
    template = "{host}:{port}: not an MX host of the MTA-STS policy of {domain}"


class TemporaryDeliveryError(DeliveryError):
    """
    Try again later: the MX lookup failed or was bogus, or no host took the message.
    """


class PermanentDeliveryError(DeliveryError):
    """
    Do not try again: null MX, no such domain, or a 5xx reply.
    """

    permanent = True


#: An atom of a local part (RFC 5321 section 4.1.2, C{atext}).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"

#: A local part as RFC 5321 spells it: atoms separated by single dots, or a quoted string.
#: Quoted pairs (backslashes) are left out: twisted.mail cannot send an escaped quote.
_LOCAL_PART = re.compile(rf'(?:{_ATOM}(?:\.{_ATOM})*|"[ !#-\[\]-~]*")\Z')

#: The longest local part and address an SMTP server must accept (RFC 5321 section 4.5.3.1).
MAX_LOCAL_PART = 64
MAX_ADDRESS = 254


def mailAddress(text: str) -> str:
    """
    Check that C{text} is an address mail can be sent from or to here: a plain
    C{local@domain} (RFC 5321), its local part in ASCII (SMTPUTF8 is not supported), its
    domain a DNS name as RFC 5321 spells one: letters, digits and hyphens (no underscore,
    which DNS alone allows), a hyphen neither first nor last in a label; not an address
    literal (mail goes to a domain's MX hosts). Nothing else gets into the SMTP commands: a
    line break or an angle bracket in an address would add a command of the caller's
    making, or a recipient in another domain.

    @return: the address, its domain in ASCII (an internationalized domain in A-labels) and
        without a final dot.
    @raise ValueError: saying what is wrong.
    @raise TypeError: for anything but a C{str}.
    """
    if not isinstance(text, str):
        raise TypeError(f"an address must be a str, not {text!r}")
    if text.endswith(">"):
        # "Name <addr>" or "<addr>": no domain ends with ">", so this is never an addr-spec.
        bare = parseaddr(text)[1]
        hint = f": {bare}" if bare else ""
        raise ValueError(f"give the address alone, without a name or angle brackets{hint}")
    local, at, domain = text.rpartition("@")
    if not (at and local and domain):
        raise ValueError("not an address with a domain")
    if not local.isascii():
        raise ValueError("a non-ASCII local part needs SMTPUTF8 (RFC 6531), which is not supported")
    if not _LOCAL_PART.match(local):
        if local.startswith('"') and "\\" in local:
            raise ValueError("a quoted local part with a backslash, which cannot be sent")
        raise ValueError(f"{local!r} is not a valid local part (RFC 5321)")
    if len(local) > MAX_LOCAL_PART:
        raise ValueError(f"the local part is longer than {MAX_LOCAL_PART} characters")
    if domain.startswith("["):
        raise ValueError(
            f"{domain} is an address literal, which is not supported: mail goes to the MX "
            "hosts of a domain"
        )
    if isAddress(domain):
        raise ValueError(f"{domain} is an address, not a domain: mail goes to its MX hosts")
    address = f"{local}@{mailDomain(domain)}"
    if len(address) > MAX_ADDRESS:
        raise ValueError(f"longer than {MAX_ADDRESS} characters")
    return address


def recipientDomain(recipients: Sequence[str]) -> str:
    """
    The one domain of C{recipients}.

    @raise ValueError: for no recipient, an address L{mailAddress} refuses, or several
        domains.
    """
    domains = set()
    for recipient in recipients:
        try:
            checked = mailAddress(recipient)
        except ValueError as e:
            raise ValueError(f"{recipient!r}: {e}") from None
        domains.add(checked.rpartition("@")[2].lower())
    if not domains:
        raise ValueError("no recipient")
    if len(domains) > 1:
        raise ValueError(f"the recipients are in several domains: {', '.join(sorted(domains))}")
    return domains.pop()


class _Sender(ESMTPSender):
    """
    twisted.mail's sender, noting the server's reply to the message for the result.
    """

    MAX_LENGTH = MAX_REPLY_LINE
    _replyBytes = 0

    def sentMail(self, code: int, resp: bytes, numOk: int, addresses: Any, log: Any) -> None:
        self.factory.reply = (code, resp)
        super().sentMail(code, resp, numOk, addresses, log)

    def lineReceived(self, line: bytes) -> None:
        # twisted.mail keeps every line of a multi-line reply and resets its timeout on
        # each: bound the reply as a whole.
        self._replyBytes += len(line) + 2
        if self._replyBytes > MAX_REPLY:
            self._exceeded(f"a reply longer than {MAX_REPLY} bytes")
            return
        if line[3:4] != b"-":
            self._replyBytes = 0
        super().lineReceived(line)

    def sendError(self, exc: Exception) -> None:
        if self.factory.sendFinished:
            # The outcome is in (its Deferred has fired and is gone): an error after it, such
            # as a malformed reply to QUIT, only ends the session. twisted.mail would fail
            # on the missing Deferred inside dataReceived.
            SMTPClient.sendError(self, exc)
            return
        super().sendError(exc)

    def lineLengthExceeded(self, line: bytes) -> None:
        self._exceeded(f"a reply line longer than {MAX_REPLY_LINE} bytes")

    def _exceeded(self, reason: str) -> None:
        if self.factory.exceeded is None:
            self.factory.exceeded = reason
        assert self.transport is not None
        self.transport.abortConnection()  # type: ignore[attr-defined]


class _SenderFactory(ESMTPSenderFactory):
    protocol = _Sender
    reply: tuple[int, bytes] | None = None
    #: The bound a server went past, if any.
    exceeded: str | None = None


def _text(data: bytes | str) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def _isPermanent(error: BaseException) -> bool:
    if isinstance(error, (TLSError, TLSRequiredError)):
        return False  # a STARTTLS problem is the host's: try the next
    if isinstance(error, SMTPClientError):
        code = error.code
        addresses: Any = getattr(error, "addresses", None)
        if code == -1 and addresses:
            codes = [c for _, c, _ in addresses]
            return bool(codes) and all(500 <= c < 600 for c in codes)
        return 500 <= code < 600
    return False


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
        self.recipients = list(recipients)
        self.message = message
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
            raise TemporaryDeliveryError(
                self.domain, f"no MX host took it: {reasons}", self.tries, self.skipped
            ) from None
        except _OutOfTime as e:
            self.tries.pop()  # the host that was never tried
            raise TemporaryDeliveryError(self.domain, str(e), self.tries, self.skipped) from None
        except Exception as e:
            if not _isPermanent(e):
                raise
            host = self.tries[-1].host
            raise PermanentDeliveryError(
                self.domain, f"{host} refused: {e}", self.tries, self.skipped
            ) from e

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
        try:
            result = await self.tryHostInTime(candidate)
        except Exception as e:
            if isinstance(e, _OutOfTime):
                raise
            error = e.error if isinstance(e, HostFailed) else e
            address = e.address if isinstance(e, HostFailed) else None
            kind = failureType(error)
            if kind is not None:
                self.report(candidate, None, address, kind, str(error), error)
            raise
        self.report(candidate, result.policy, result.address, None, "", None, result.tlsa)
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
    ) -> None:
        """
        Tell the reporter, if any, of one session's TLS outcome: under DANE, with the host's
        TLSA records (C{tlsa} for a session that succeeded, those its error checked for one
        that failed), in one order whatever order DNS gave them in, so that the sessions of
        one RRset are counted under one policy.
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
                None,
                address,
                kind,
                reason,
                self.reactor.seconds(),
            ),
        )

    async def tryHostInTime(self, candidate: Candidate) -> DeliveryResult:
        """
        One host, within its deadline: the smaller of the attempt's and what is left of the
        delivery's.
        """
        left = self.deadline - self.reactor.seconds()
        if left <= 0:
            raise _OutOfTime(f"the delivery was not done within {self.deliveryTimeout:g} s")
        limit = min(self.attemptTimeout, left)
        state = _Attempt()
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
            raise HostFailed(late, state.address) from e
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
        if info.plan.tlsRequired and not info.tls:
            # Never reached: the endpoint connects only with the protection the plan
            # requires. Checked here all the same, since delivery depends on it.
            done.addErrback(lambda _: None)
            protocol.transport.abortConnection()
            await closed
            raise HostFailed(
                ServerLimitError(candidate.host, candidate.port, "TLS required, not in place"),
                address,
            )
        try:
            _, addresses = await done
        except CancelledError:
            if not state.expired:
                # The caller cancelled: end the session now, and say so as it is. Read as
                # this host's failure, the delivery would go on to the next host, and a
                # message the server took in the meantime would be reported deferred (and
                # sent again).
                protocol.transport.abortConnection()
            raise
        except Exception as e:
            error: BaseException = e
            if factory.exceeded is not None:
                error = ServerLimitError(candidate.host, candidate.port, factory.exceeded)
            raise HostFailed(error, address) from e
        finally:
            # The client says QUIT and the server closes: the attempt ends with the connection.
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
            tuple((_text(a), c, _text(r)) for a, c, r in addresses),
            tuple(self.tries),
            self.skipped,
            planPolicy(plan, self.sts),
            _recordTexts(plan.records) if plan.action is Action.DANE else (),
        )


class _Attempt:
    """
    What the deadline of one host needs to end its session: the transport, once connected.
    """

    transport: Any = None
    address: str | None = None
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


async def _policyOf(source: PolicySource, domain: str) -> PolicyOutcomeLike | None:
    """
    The domain's MTA-STS policy outcome; C{None} when the lookup itself broke (delivery is
    then as without a policy, RFC 8461 section 5.1).
    """
    try:
        outcome: PolicyOutcomeLike = await source.policyFor(domain)
    except CancelledError:
        raise
    except Exception:
        return None
    return outcome


def _oneHeloName(given: object, settings: str | None) -> str | None:
    """
    The name to greet every host with: C{given} (L{sendMail}'s C{heloName}, checked as
    L{heloDomain} checks) or that of the settings' options, which must not differ.

    @raise ValueError: for a name that cannot be used, or two different names.
    """
    if given is None:
        return settings
    name = heloDomain(given)
    if settings is not None and settings.lower() != name.lower():
        raise ValueError(
            f"heloName {name!r} differs from settings.options.heloName {settings!r}: give one"
        )
    return name


def _preludeDeadline(
    settings: HostSettings, timeout: float, handshakeTimeout: float | None
) -> float:
    """
    The seconds each host has from its TCP connection to a verified TLS session (or, for a
    host that offers no STARTTLS where SMTP's opportunistic TLS allows cleartext, to its
    reply to C{EHLO}): the server's greeting, its replies to C{EHLO} and C{STARTTLS}, and
    the handshake, which the endpoint negotiates before twisted.mail's client (and its
    C{timeout}) has the connection.

    C{handshakeTimeout} when the caller gives it; else that of C{settings}, but never longer
    than C{timeout}, which bounds the wait for every server reply, the greeting included: a
    host that accepts the connection and then says nothing is given up after C{timeout}
    seconds, as one that stops answering later in the session is, rather than after the
    settings' 30 s.
    """
    if handshakeTimeout is not None:
        return handshakeTimeout
    return min(settings.handshakeTimeout, timeout)


def _checkArguments(
    resolver: object,
    port: object,
    mtaSTS: object,
    reporter: object,
    timeout: object,
    attemptTimeout: object,
    deliveryTimeout: object,
) -> None:
    """
    Refuse arguments of L{sendMail} that would fail only once a host is dialled, as a
    temporary failure that retrying never mends, or be ignored: an MTA-STS source of the
    wrong kind would read as "no policy", and an enforced policy would not apply.

    @raise TypeError: for an argument of the wrong type.
    @raise ValueError: for a value that cannot be used.
    """
    if not callable(getattr(resolver, "lookupMX", None)):
        raise TypeError(f"resolver must be a validating resolver, not {resolver!r}")
    if type(port) is not int or not 0 < port < 65536:
        raise ValueError(f"port must be an int from 1 to 65535, not {port!r}")
    if mtaSTS is not None and not callable(getattr(mtaSTS, "policyFor", None)):
        raise TypeError(f"mtaSTS must be a policy source (a PolicyResolver), not {mtaSTS!r}")
    if reporter is not None and not callable(reporter):
        raise TypeError(
            f"reporter must be callable (as ReportStore.recordSession), not {reporter!r}"
        )
    for name, value in (
        ("timeout", timeout),
        ("attemptTimeout", attemptTimeout),
        ("deliveryTimeout", deliveryTimeout),
    ):
        if type(value) not in (int, float) or not 0 < value < float("inf"):  # type: ignore[operator]
            raise ValueError(f"{name} {value!r} is not a positive number of seconds")


def sendMail(
    reactor: Any,
    resolver: IDNSSECResolver,
    sender: str,
    recipients: Iterable[str],
    message: bytes | IO[bytes],
    *,
    port: int = 25,
    heloName: str | None = None,
    timeout: float = 60,
    settings: HostSettings | None = None,
    shuffle: Shuffle | None = None,
    handshakeTimeout: float | None = None,
    maxHosts: int | None = None,
    attemptTimeout: float = ATTEMPT_TIMEOUT,
    deliveryTimeout: float = DELIVERY_TIMEOUT,
    mtaSTS: PolicySource | None = None,
    reporter: Callable[[TLSSession], object] | None = None,
) -> Deferred[DeliveryResult]:
    """
    Deliver C{message} from C{sender} to C{recipients} (all in one domain) through the
    domain's MX hosts, with DANE.

    @param resolver: the validating resolver (e.g. C{ResolverSettings(...).build(reactor)}).
    @param message: the message (RFC 5322 bytes, CRLF or LF line ends), or a file of it.
    @param port: the SMTP port of the MX hosts.
    @param heloName: the name to greet each host with, before STARTTLS (the endpoint's
        C{EHLO}) and after it (twisted.mail's): a domain (an internationalized one is sent in
        A-labels) or an address literal, as L{txdane.names.heloDomain} checks; or that of
        C{settings.options}. Default: the connection's local address as a literal before
        STARTTLS, this machine's name (twisted.mail's default) after it.
    @param timeout: seconds to wait for each server reply, the greeting included. The
        endpoint reads the greeting and the replies before TLS itself, under the deadline of
        C{handshakeTimeout}; unless that is given, it is no longer than C{timeout}, so a host
        that accepts the connection and stays silent is given up after C{timeout} seconds
        (at most 30 with the default settings) and the next host is tried.
    @param settings: per-host connection options; their C{options} may not set a policy, a
        STARTTLS protocol or a TLSA host, which each MX host has its own of.
    @param shuffle: orders MX hosts of equal preference (see L{planMX}).
    @param handshakeTimeout: seconds each host has from the TCP connection to a verified TLS
        session: the greeting, C{EHLO}, C{STARTTLS} and the TLS handshake (default: that of
        C{settings}, 30 s, or C{timeout} if that is shorter). A host that stays silent
        before its session is secured is cut off at this deadline and the next host is
        tried; when no host is left the delivery fails with a L{TemporaryDeliveryError}
        naming the deadline. Give it to let the prelude take longer than C{timeout}.
    @param maxHosts: how many MX hosts are tried at most (default: that of C{settings}, 5,
        as Postfix); the others are listed in the result's or the error's C{skipped}.
    @param attemptTimeout: seconds one MX host may take, lookups to C{QUIT}
        (L{ATTEMPT_TIMEOUT}); past it the host fails with a L{ServerLimitError} and the
        next is tried.
    @param deliveryTimeout: seconds the whole delivery may take (L{DELIVERY_TIMEOUT});
        past it, a L{TemporaryDeliveryError}.
    @param mtaSTS: where to find the domain's MTA-STS policy (a
        L{txdane.mtasts.PolicyResolver}); C{None} for none. DANE takes precedence where it
        applies to an MX host (RFC 8461 section 2); an C{enforce} policy excludes the MX
        hosts it does not list and requires TLS verified by PKIX for the others; a
        C{testing} policy is checked and its failures reported, but delivery goes on as
        without it.
    @param reporter: called with a L{TLSSession<txdane.mailpolicy.TLSSession>} for each
        session's TLS outcome and each failed policy fetch, for SMTP TLS reporting
        (L{txdane.tlsrpt}).
    @return: a Deferred firing with a L{DeliveryResult}, or failing with a
        L{TemporaryDeliveryError} or L{PermanentDeliveryError}.
    @raise ValueError: for recipients in several domains, or none, an address
        L{mailAddress} refuses, a port, HELO name or timeout that cannot be used, or
        C{settings} whose options set a field each host has its own of.
    @raise TypeError: for an argument of the wrong type (a message as C{str}, recipients as
        one C{str}, a resolver's settings for the resolver, an MTA-STS source, a reporter or
        a shuffle of the wrong kind, a C{maxHosts} that is no C{int}).
    """
    _checkArguments(resolver, port, mtaSTS, reporter, timeout, attemptTimeout, deliveryTimeout)
    if isinstance(recipients, (str, bytes)) or not isinstance(recipients, Iterable):
        raise TypeError(f"recipients must be a list of addresses, not {recipients!r}")
    # Once: a generator read here for the domain would be empty when the addresses are sent.
    recipients = list(recipients)
    domain = recipientDomain(recipients)
    sender = mailAddress(sender)
    recipients = [mailAddress(recipient) for recipient in recipients]
    if isinstance(message, bytes):
        data = message
    elif callable(getattr(message, "read", None)):
        data = message.read()
        if not isinstance(data, bytes):
            raise TypeError("message must be bytes or a file opened in binary mode")
    else:
        raise TypeError(f"message must be bytes or a binary file, not {type(message).__name__}")
    # twisted.mail turns every LF into CRLF as it sends: a message with CRLF line ends would
    # go out with CR CR LF.
    data = data.replace(b"\r\n", b"\n")
    hosts = settings or HostSettings(timeout=min(timeout, 30))
    refuseHostFields(hosts, "policy", "starttls", "tlsaHost")
    heloName = _oneHeloName(heloName, hosts.options.heloName)
    if heloName is not None:
        # The endpoint greets each host with it before STARTTLS, twisted.mail's client after.
        hosts = dataclasses.replace(
            hosts, options=dataclasses.replace(hosts.options, heloName=heloName)
        )
    hosts = dataclasses.replace(
        hosts, handshakeTimeout=_preludeDeadline(hosts, timeout, handshakeTimeout)
    )
    if shuffle is not None and not callable(shuffle):
        raise TypeError(f"shuffle must be callable (as random.shuffle), not {shuffle!r}")
    if maxHosts is not None:
        if type(maxHosts) is not int:
            raise TypeError(f"maxHosts must be an int, not {maxHosts!r}")
        if maxHosts < 1:
            raise ValueError(f"maxHosts={maxHosts}: try at least one host")
        hosts = dataclasses.replace(hosts, maxHosts=maxHosts)
    delivery = _Delivery(
        reactor,
        resolver,
        sender,
        recipients,
        data,
        domain,
        heloName,
        timeout,
        hosts,
        attemptTimeout,
        deliveryTimeout,
    )

    delivery.reporter = reporter

    async def deliver() -> DeliveryResult:
        # The MTA-STS policy is looked up (and fetched) while the MX records are.
        sts = None if mtaSTS is None else Deferred.fromCoroutine(_policyOf(mtaSTS, domain))
        try:
            candidates = await planMX(resolver, domain, port, shuffle=shuffle)
        except MXError as e:
            if sts is not None:
                sts.cancel()
                sts.addErrback(lambda _: None)
            kind = PermanentDeliveryError if e.permanent else TemporaryDeliveryError
            raise kind(domain, str(e)) from e
        if sts is not None:
            delivery.sts = await sts
            failure = getattr(delivery.sts, "failure", None)
            if failure is not None and reporter is not None:
                _tell(
                    reporter,
                    TLSSession(
                        domain,
                        "sts",
                        (),
                        None,
                        None,
                        None,
                        str(getattr(failure, "value", failure)),
                        getattr(delivery.sts, "reason", ""),
                        reactor.seconds(),
                    ),
                )
        return await delivery.run(candidates)

    return Deferred.fromCoroutine(deliver())

"""
L{sendMail}: its arguments checked, the MX hosts planned and the domain's MTA-STS policy
looked up, and the delivery run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import IO, Any

from twisted.internet.defer import CancelledError, Deferred

from txdane.endpoints.errors import MXError
from txdane.endpoints.mx import Shuffle, planMX
from txdane.endpoints.planner import HostSettings, refuseHostFields
from txdane.mail._address import mailAddress, recipientDomain
from txdane.mail._delivery import _Delivery, _tell
from txdane.mail._outcome import DeliveryResult, PermanentDeliveryError, TemporaryDeliveryError
from txdane.mailpolicy import PolicyOutcomeLike, PolicySource, TLSSession
from txdane.names import heloDomain
from txdane.validation.interfaces import IDNSSECResolver

#: Seconds one MX host may take, from the start of its lookups to the end of the session.
ATTEMPT_TIMEOUT = 600.0

#: Seconds a whole delivery may take, every host included.
DELIVERY_TIMEOUT = 1800.0


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


#: The longest line of a message, its line end not counted (RFC 5321 section 4.5.3.1.6).
MAX_LINE = 998


def checkLines(data: bytes) -> None:
    """
    Refuse a message SMTP cannot carry as it is: one with a line longer than L{MAX_LINE}
    bytes (RFC 5321 section 4.5.3.1.6), its line end (CRLF, LF or a lone CR) not counted.
    L{sendMail} makes this check itself; call it to refuse such a message earlier, before
    anything is looked up.

    @raise ValueError: saying how long the longest line is (servers refuse or cut it; such a
        message needs a MIME encoding, quoted-printable or base64).
    """
    if len(data) <= MAX_LINE:
        return
    longest = max(map(len, data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")))
    if longest > MAX_LINE:
        raise ValueError(
            f"a line of {longest} bytes, longer than the {MAX_LINE} SMTP allows (RFC 5321"
            " section 4.5.3.1.6); encode the text (quoted-printable or base64)"
        )


def _lineEnds(data: bytes) -> bytes:
    """
    The message C{data} with LF line ends only, as twisted.mail's client takes it (it writes
    each LF as CRLF: a CRLF would go out as CR CR LF). A CR on its own is a line end too: RFC
    5321 section 2.3.8 allows CR and LF in the data only as CRLF, and a lone one is what
    smuggling attacks on servers that read it as a line end rely on.

    @raise ValueError: for a line longer than L{MAX_LINE} bytes (L{checkLines}).
    """
    checkLines(data)
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


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
        Each line end goes out as CRLF (a lone CR is one too), each line that starts with
        "." with one more (RFC 5321 section 4.5.2), and a message with 8-bit bytes is
        declared with C{BODY=8BITMIME} to a server that offers it (RFC 6152; one that does
        not gets it as it is).
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
        L{TemporaryDeliveryError} or L{PermanentDeliveryError}. Either says which
        recipients a server refused (C{refused}): one refused with a 5yz code is refused for
        good and not offered to the next host; the message was delivered to the others.
    @raise ValueError: for recipients in several domains, or none, an address
        L{mailAddress} refuses, a message with a line longer than L{MAX_LINE} bytes, a
        port, HELO name or timeout that cannot be used, or C{settings} whose options set a
        field each host has its own of.
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
    data = _lineEnds(data)
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

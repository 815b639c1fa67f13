"""
The endpoints built in Python check their arguments (L{txdane.endpoints._arguments}): a wrong
value fails when the endpoint is made, naming the argument, and is never read as something
else. A policy given in words used to be ignored (the connection fell back to PKIX where
DANE was required), and a proto other than tcp looked up TLSA records nobody publishes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from twisted.internet.testing import MemoryReactorClock

from txdane.dane.decision import Policy
from txdane.dane.pkix import PKIXTrust
from txdane.endpoints import DANEEndpoint, DANEOptions, DNSSECEndpoint, mxEndpoint
from txdane.endpoints.planner import HostSettings
from txdane.mail import sendMail
from txdane.settings import ResolverSettings

from ..fakeresolver import PendingResolver

reactor: Any = MemoryReactorClock()
resolver = PendingResolver()


def dane(host: Any = "www.example.test", port: Any = 443, **kwargs: Any) -> DANEEndpoint:
    return DANEEndpoint(reactor, resolver, host, port, **kwargs)


@pytest.mark.parametrize(
    ("given", "policy"),
    [
        ("dane-only", Policy.DANE_ONLY),
        ("DANE-ONLY", Policy.DANE_ONLY),
        ("smtp", Policy.SMTP),
        (Policy.SMTP_STS, Policy.SMTP_STS),
    ],
)
def test_policyInWords(given: Any, policy: Policy) -> None:
    """
    A policy in words, as endpoint strings write it, is the L{Policy}: it is enforced, not
    ignored.
    """
    assert dane(policy=given).options.policy is policy
    assert DANEOptions(policy=given).policy is policy


@pytest.mark.parametrize("given", ["dane_only", "required", True, 1, None])
def test_policyUnknown(given: Any) -> None:
    with pytest.raises(ValueError, match=r"policy=.*not a Policy, nor one of default, dane-only"):
        dane(policy=given)


@pytest.mark.parametrize("given", ["udp", "sctp", "", 6])
def test_protoOnlyTCP(given: Any) -> None:
    """
    The endpoints connect over TCP, so only C{_tcp} TLSA records apply: another proto would
    find none and fall back to PKIX.
    """
    with pytest.raises(ValueError, match="only tcp is supported"):
        dane(proto=given)
    assert dane(proto="TCP").options.proto == "tcp"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"port": "443"}, TypeError, "port must be an int from 1 to 65535, not '443'"),
        ({"port": True}, TypeError, "port must be an int"),
        ({"port": 0}, ValueError, "port 0 is not in 1-65535"),
        ({"port": 70000}, ValueError, "port 70000 is not in 1-65535"),
        ({"host": b"www.example.test"}, TypeError, "host must be a host name or an IP address"),
        ({"host": "a..b"}, ValueError, "host 'a..b' is not a host name"),
        ({"host": "."}, ValueError, "it names the root"),
        ({"host": "999.1.1.1"}, ValueError, "neither an IP address nor a host name"),
        ({"host": "1.2.3"}, ValueError, "neither an IP address nor a host name"),
        ({"handshakeTimeout": "30"}, TypeError, "handshakeTimeout must be a number of seconds"),
        ({"handshakeTimeout": 0}, ValueError, "not a positive number of seconds"),
        ({"timeout": -1}, ValueError, "timeout -1 is not a positive number of seconds"),
        ({"timeout": float("nan")}, ValueError, "timeout nan"),
        ({"attemptDelay": float("inf")}, ValueError, "attemptDelay inf"),
        ({"bindAddress": "127.0.0.1"}, TypeError, r"bindAddress must be \(IP address, port\)"),
        ({"bindAddress": ("localhost", 0)}, ValueError, "'localhost' is not an IP address"),
        ({"bindAddress": ("127.0.0.1", 70000)}, ValueError, "port 70000 is not in 0-65535"),
        ({"tlsaHost": "a..b"}, ValueError, "tlsaHost 'a..b' is not a host name"),
        ({"trustRoots": "ca.pem"}, TypeError, r"trustRoots must be a PKIXTrust.*PKIXTrust\("),
        ({"clientCertificate": "client.pem"}, TypeError, "clientCertificate must be a"),
        ({"checkDANEEENames": "no"}, TypeError, "checkDANEEENames must be True or False"),
        ({"extraNames": "example.test"}, TypeError, "extraNames must be a sequence of names"),
        ({"extraNames": ["a..b"]}, ValueError, "extraNames 'a..b' is not a host name"),
        ({"acceptableProtocols": b"h2"}, TypeError, "acceptableProtocols must be a sequence"),
        ({"acceptableProtocols": ["h2"]}, TypeError, r"'h2' is not one"),
        ({"observer": "print"}, TypeError, "observer must be callable"),
        ({"starttls": 25}, TypeError, "starttls must be a protocol name"),
        ({"options": {"policy": "dane-only"}}, TypeError, "options must be a DANEOptions"),
    ],
)
def test_refusedAtOnce(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    """
    A value of the wrong type, or one that cannot be used, fails when the endpoint is made,
    with a message naming the argument.
    """
    with pytest.raises(error, match=message):
        dane(**kwargs)


def test_accepted() -> None:
    """
    Every kind of value the checks allow still makes the endpoint, as given.
    """
    endpoint = dane(
        "2001:db8::1",
        65535,
        timeout=5,
        handshakeTimeout=2.5,
        bindAddress=("::1", 0),
        attemptDelay=0.1,
        extraNames=["example.test"],
        acceptableProtocols=[b"h2", b"http/1.1"],
        trustRoots=PKIXTrust(),
        observer=print,
        checkDANEEENames=True,
    )
    assert (endpoint.host, endpoint.port, endpoint.handshakeTimeout) == ("2001:db8::1", 65535, 2.5)
    assert endpoint.options.extraNames == ("example.test",)
    assert endpoint.options.acceptableProtocols == (b"h2", b"http/1.1")
    assert dane("mail.example.test.").host == "mail.example.test."


def test_resolverNotSettings() -> None:
    """
    The settings a resolver is built from are not a resolver: the message says what to give.
    """
    with pytest.raises(TypeError, match=r"give settings.build\(reactor\)"):
        DANEEndpoint(reactor, ResolverSettings(), "www.example.test", 443)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="resolver must be a validating resolver, not None"):
        DNSSECEndpoint(reactor, None, "www.example.test", 443)  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["no", "yes", 1, None])
def test_allowInsecureFlag(given: Any) -> None:
    """
    C{allowInsecure} takes only C{True} and C{False}: the string C{"no"} would be true, and
    connect to addresses nobody signed.
    """
    with pytest.raises(TypeError, match="allowInsecure must be True or False"):
        DNSSECEndpoint(reactor, resolver, "www.example.test", 22, allowInsecure=given)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"timeout": "30"}, TypeError, "timeout must be a number of seconds"),
        ({"handshakeTimeout": 0}, ValueError, "handshakeTimeout 0 is not a positive number"),
        ({"bindAddress": ("host", 0)}, ValueError, "'host' is not an IP address"),
        ({"options": {"policy": "dane-only"}}, TypeError, "options must be a DANEOptions"),
        ({"maxHosts": 0}, ValueError, "maxHosts=0 is not a whole number in 1-1000"),
        ({"maxHosts": "5"}, ValueError, "maxHosts='5' is not a whole number"),
    ],
)
def test_hostSettings(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    """
    The per-host settings of the planned endpoints (MX, SRV) are checked as an endpoint's
    arguments are.
    """
    with pytest.raises(error, match=message):
        HostSettings(**kwargs)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (DANEOptions(policy=Policy.DANE_ONLY), "options.policy=<Policy.DANE_ONLY"),
        (DANEOptions(starttls="imap"), "options.starttls='imap'"),
        (DANEOptions(tlsaHost="mx.example.test"), "options.tlsaHost='mx.example.test'"),
    ],
)
def test_mxOwnFields(options: DANEOptions, message: str) -> None:
    """
    Each MX host has its own policy (RFC 7672's), STARTTLS protocol (SMTP) and TLSA host (its
    name): settings that set one for every host are refused, for C{dane:mx=}'s endpoint and for
    L{sendMail}, instead of being replaced without a word. Trust roots apply to every host,
    and are taken.
    """
    settings = HostSettings(options=options)
    with pytest.raises(ValueError, match=message + ".*each host of the plan has its own"):
        mxEndpoint(reactor, resolver, "example.test", settings=settings)
    with pytest.raises(ValueError, match=message):
        sendMail(reactor, resolver, "a@example.org", ["b@example.test"], b"x", settings=settings)
    mxEndpoint(
        reactor,
        resolver,
        "example.test",
        settings=HostSettings(options=DANEOptions(trustRoots=PKIXTrust())),
    )
    with pytest.raises(TypeError, match="settings must be a HostSettings"):
        mxEndpoint(reactor, resolver, "example.test", settings=options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ("h example.test", r"' ' is not allowed \(a host name has letters, digits, hyphens"),
        ("h/x.example.test", r"'/' is not allowed \(give the host alone, without a scheme"),
        ("h\x00.example.test", r"'\\x00' is not allowed"),
        ("*.example.test", r"'\*' is not allowed \(a wildcard names no one host\)"),
        ("user:pw@www.example.test", r"'@' is not allowed \(give the host alone, without a user"),
        ("www.example.test:443", r"':' is not allowed \(give the host alone: the port is given"),
        ("https://www.example.test/", "is a URL, not a host name: give the host name alone"),
        ("www\\.example.test", r"'\\\\' is not allowed"),
        ("-www.example.test", "a label starts or ends with a hyphen"),
        ("www-.example.test", "a label starts or ends with a hyphen"),
        ("[::1]", r"is an IP address in brackets: give the address without them \(::1\)"),
        ("[2001:db8::1]:443", r"give the address without them \(2001:db8::1\)"),
        ("fe80::1%lo", r"is a scoped IPv6 address: its zone index \(lo\) would be dropped"),
        ("\U0001f4a9.example.test", "is not a host name: IDNA"),
    ],
)
def test_hostNotAName(host: str, message: str) -> None:
    """
    A host is an IP address or a host name: text that DNS could hold but that names no host
    (a space, a slash, a wildcard, a user name, a URL, an address in brackets) is refused
    when the endpoint is made, saying which character is wrong and, where it is clear, what
    was meant; so is a TLSA host or a reference identifier.
    """
    for make in (
        lambda: dane(host),
        lambda: DNSSECEndpoint(reactor, resolver, host, 22),
    ):
        with pytest.raises(ValueError, match=f"host {re.escape(repr(host))} .*" + message):
            make()
    # A TLSA host is a name: an address in brackets, or scoped, is refused as an address.
    bracketed = host.startswith("[") or "%" in host
    with pytest.raises(
        ValueError, match="tlsaHost .*" + ("is an address" if bracketed else message)
    ):
        dane(tlsaHost=host)
    with pytest.raises(ValueError, match="extraNames .*" + message):
        dane(extraNames=[host])


@pytest.mark.parametrize(
    "host",
    [
        "_xmpp.example.test",
        "a_b.example.test",
        "mail.example.test.",
        "xn--bcher-kva.example.test",
        "B\u00dcCHER.example.test",
        "Stra\u00dfe.example.test",
        "www.example.123abc",
        "127.0.0.1",
        "2001:db8::1",
    ],
)
def test_oddHostsAccepted(host: str) -> None:
    """
    Names DNS and host names both allow, odd as they look (service labels' underscores, a
    final dot, internationalized names in any case, A-labels), are taken as given.
    """
    assert dane(host).host == host
    assert DNSSECEndpoint(reactor, resolver, host, 22).host == host


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (
            ("example.test", "5307"),
            {},
            TypeError,
            "port must be an int from 1 to 65535, not '5307'",
        ),
        (("example.test", 0), {}, ValueError, "port 0 is not in 1-65535"),
        (("example.test", 65536), {}, ValueError, "port 65536 is not in 1-65535"),
        ((None,), {}, TypeError, "domain must be a domain name as str, not None"),
        ((b"example.test",), {}, TypeError, "domain must be a domain name as str"),
        (("",), {}, ValueError, "domain '' is not a host name: it is empty"),
        ((".",), {}, ValueError, "domain '.' is not a host name: it names the root"),
        (("127.0.0.1",), {}, ValueError, "domain '127.0.0.1' is an address, not a domain name"),
        (("2001:db8::1",), {}, ValueError, "domain '2001:db8::1' is an address, not a domain"),
        (("[::1]",), {}, ValueError, r"domain '\[::1\]' is an address, not a domain name"),
        (("mail..example.test",), {}, ValueError, "domain 'mail..example.test' is not a host"),
        (("*.example.test",), {}, ValueError, "domain '\\*.example.test' is not a host name"),
        (("example.test",), {"shuffle": "random"}, TypeError, "shuffle must be callable"),
    ],
)
def test_mxRefusedAtOnce(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    """
    L{mxEndpoint} checks its arguments when it is made, by the rules of C{dane:mx=}: a port
    given as text or out of range, and a domain that is no domain (none, the root, an
    address, an empty label), failed only at C{connect()}, after DNS lookups, or looked up
    the root's MX records.
    """
    with pytest.raises(error, match=message):
        mxEndpoint(reactor, resolver, *args, **kwargs)


def test_mxResolverChecked() -> None:
    with pytest.raises(TypeError, match=r"give settings.build\(reactor\)"):
        mxEndpoint(reactor, ResolverSettings(), "example.test")  # type: ignore[arg-type]


def test_mxAccepted() -> None:
    """
    Domains and ports the checks allow still make the endpoint.
    """
    for domain in ("example.test", "example.test.", "b\u00fccher.example", "_mx.example.test"):
        endpoint = mxEndpoint(reactor, resolver, domain, 2525, shuffle=lambda hosts: None)
        assert endpoint.service == f"MX of {domain}"


@pytest.mark.parametrize("host", ["127.0.0.1", "2001:db8::1"])
def test_addressLiteralNoTLSALookup(host: str) -> None:
    """
    An IP address has no TLSA records: a C{dane:} endpoint for one plans PKIX at once,
    asking DNS nothing (a lookup at C{_443._tcp.127.0.0.1.} would tell DNS the address, and
    fail the connection whenever DNS fails); with C{tlsaHost} its TLSA records are used.
    """
    from twisted.internet.defer import Deferred
    from twisted.python.failure import Failure

    from txdane.dane.decision import Action
    from txdane.dane.errors import DANEPolicyError

    pending = PendingResolver()
    outcomes: list[Any] = []
    Deferred.fromCoroutine(DANEEndpoint(reactor, pending, host, 443).plan()).addBoth(
        outcomes.append
    )
    (planned,) = outcomes
    addresses, plan = planned
    assert pending.pending == {}
    assert [a.host for a in addresses.addresses] == [host]
    assert plan.action is Action.PKIX
    assert plan.reason == "an IP address has no TLSA records"
    Deferred.fromCoroutine(
        DANEEndpoint(reactor, pending, host, 443, policy="dane-only").plan()
    ).addBoth(outcomes.append)
    failure = outcomes[-1]
    assert isinstance(failure, Failure) and failure.check(DANEPolicyError)
    assert "DANE is required but an IP address has no TLSA records" in str(failure.value)
    Deferred.fromCoroutine(
        DANEEndpoint(reactor, pending, host, 443, tlsaHost="www.example.test").plan()
    )
    assert ("_443._tcp.www.example.test.", "TLSA") in pending.pending

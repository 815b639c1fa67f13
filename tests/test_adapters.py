"""
Tests for L{txdane.adapters}: validated lookups behind Twisted's resolver interfaces.
"""

from __future__ import annotations

from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver, IResolver
from twisted.names import dns as tdns
from twisted.names.error import DNSNameError
from twisted.python.failure import Failure
from zope.interface import implementer
from zope.interface.verify import verifyObject

from txdane.adapters import (
    AddressValidationError,
    NoAddressesError,
    StaticHostnameResolver,
    TwistedNamesResolver,
    ValidatedAddresses,
    ValidatingHostnameResolver,
    ValidationFailedError,
)
from txdane.status import Status
from txdane.validation import Answer, ChainLink, LookupFailedError

from .fakeresolver import NAME, FakeResolver, answer


def resolved(d: Deferred[Any]) -> Any:
    box: list[Any] = []
    d.addBoth(box.append)
    assert box, "not fired"
    if isinstance(box[0], Failure):
        box[0].raiseException()
    return box[0]


@implementer(IResolutionReceiver)
class Receiver:
    def __init__(self) -> None:
        self.addresses: list[Any] = []
        self.complete = False
        self.errors: list[Exception] = []
        self.resolution: Any = None

    def resolutionBegan(self, resolution: Any) -> None:
        self.resolution = resolution

    def addressResolved(self, address: Any) -> None:
        self.addresses.append(address)

    def resolutionComplete(self) -> None:
        self.complete = True

    def validationFailed(self, error: Exception) -> None:
        self.errors.append(error)


SECURE = {
    (NAME, "A"): answer("A", "192.0.2.1"),
    (NAME, "AAAA"): answer("AAAA", "2001:db8::1"),
}


def test_interfaces() -> None:
    resolver = FakeResolver(SECURE)
    assert verifyObject(IHostnameResolver, ValidatingHostnameResolver(resolver))
    assert verifyObject(IHostnameResolver, StaticHostnameResolver([]))
    assert verifyObject(IResolver, TwistedNamesResolver(resolver))


def test_secureAddresses() -> None:
    """
    Secure A and AAAA answers give their addresses, IPv6 first, with the port asked for.
    """
    result = resolved(ValidatingHostnameResolver(FakeResolver(SECURE)).resolveAddresses(NAME, 443))
    assert isinstance(result, ValidatedAddresses)
    assert result.addresses == (
        IPv6Address("TCP", "2001:db8::1", 443),
        IPv4Address("TCP", "192.0.2.1", 443),
    )
    assert result.status is Status.SECURE


def test_addressTypes() -> None:
    """
    Only the families asked for are looked up.
    """
    fake = FakeResolver(SECURE)
    result = resolved(ValidatingHostnameResolver(fake).resolveAddresses(NAME, 80, [IPv4Address]))
    assert result.addresses == (IPv4Address("TCP", "192.0.2.1", 80),)
    assert fake.asked == [(NAME, "A")]


@pytest.mark.parametrize("status", [Status.BOGUS, Status.INDETERMINATE])
def test_untrustworthyFamilyFailsTheLookup(status: Status) -> None:
    """
    A bogus or indeterminate answer in either family fails the whole lookup with a distinct
    error, even when the other family is secure, and even with allowInsecure.
    """
    table = dict(SECURE)
    table[(NAME, "AAAA")] = answer("AAAA", "2001:db8::66", status=status, ede=6)
    resolver = ValidatingHostnameResolver(FakeResolver(table), allowInsecure=True)
    with pytest.raises(AddressValidationError) as caught:
        resolved(resolver.resolveAddresses(NAME, 443))
    assert caught.value.status is status
    assert caught.value.ede == 6
    assert isinstance(caught.value, DNSLookupError)
    assert "AAAA" in str(caught.value) and "cannot be trusted" in str(caught.value)


def test_insecureRefusedByDefault() -> None:
    table = {
        (NAME, "A"): answer("A", "192.0.2.1", status=Status.INSECURE),
        (NAME, "AAAA"): answer("AAAA", status=Status.INSECURE),
    }
    with pytest.raises(AddressValidationError, match="is not secure"):
        resolved(ValidatingHostnameResolver(FakeResolver(table)).resolveAddresses(NAME))
    allowed = resolved(
        ValidatingHostnameResolver(FakeResolver(table), allowInsecure=True).resolveAddresses(NAME)
    )
    assert allowed.addresses == (IPv4Address("TCP", "192.0.2.1", 0),)
    assert allowed.status is Status.INSECURE


def test_lookupFailureIsAnError() -> None:
    """
    A failed lookup (timeout, SERVFAIL) is an error naming the cause, never "no addresses".
    """
    failure = LookupFailedError(dns.name.from_text(NAME), dns.rdatatype.A, "timed out")
    table: dict[tuple[str, str], Answer | Exception] = {
        (NAME, "A"): failure,
        (NAME, "AAAA"): SECURE[(NAME, "AAAA")],
    }
    with pytest.raises(AddressValidationError, match="timed out") as caught:
        resolved(ValidatingHostnameResolver(FakeResolver(table)).resolveAddresses(NAME))
    assert caught.value.cause is failure


def test_provenAbsence() -> None:
    table = {
        (NAME, "A"): answer("A", rcode=dns.rcode.NXDOMAIN),
        (NAME, "AAAA"): answer("AAAA", rcode=dns.rcode.NXDOMAIN),
    }
    with pytest.raises(NoAddressesError, match="secure NXDOMAIN"):
        resolved(ValidatingHostnameResolver(FakeResolver(table)).resolveAddresses(NAME))


def test_literal() -> None:
    """
    An address literal needs no lookup.
    """
    fake = FakeResolver({})
    result = resolved(ValidatingHostnameResolver(fake).resolveAddresses("::1", 22))
    assert result.addresses == (IPv6Address("TCP", "::1", 22),)
    assert fake.asked == []


def test_resolveHostName() -> None:
    receiver = Receiver()
    ValidatingHostnameResolver(FakeResolver(SECURE)).resolveHostName(receiver, NAME, 443)
    assert receiver.complete and len(receiver.addresses) == 2 and receiver.errors == []


def test_resolveHostNameFailure() -> None:
    """
    Through IHostnameResolver a failure gives no address, and the error is kept on the
    resolution and given to the receiver's validationFailed hook.
    """
    table = dict(SECURE)
    table[(NAME, "A")] = answer("A", "203.0.113.66", status=Status.BOGUS)
    receiver = Receiver()
    resolution: Any = ValidatingHostnameResolver(FakeResolver(table)).resolveHostName(
        receiver, NAME, 443
    )
    assert receiver.complete and receiver.addresses == []
    assert isinstance(resolution.failure, AddressValidationError)
    assert receiver.errors == [resolution.failure]


def test_staticResolver() -> None:
    receiver = Receiver()
    StaticHostnameResolver(
        [IPv4Address("TCP", "127.0.0.1", 0), IPv6Address("TCP", "::1", 0)]
    ).resolveHostName(receiver, "ignored", 8443, [IPv6Address])
    assert receiver.addresses == [IPv6Address("TCP", "::1", 8443)]
    assert receiver.complete


def test_twistedNamesLookupAddress() -> None:
    """
    twisted.names callers get RRHeaders, CNAMEs first.
    """
    cname = dns.rrset.from_text("alias.example.test.", 300, "IN", "CNAME", NAME)
    aliased = answer(
        "A",
        "192.0.2.1",
        chain=(ChainLink(cname, Status.SECURE),),
    )
    resolver = TwistedNamesResolver(FakeResolver({("alias.example.test.", "A"): aliased}))
    answers, authority, additional = resolved(resolver.lookupAddress("alias.example.test"))
    assert [(str(r.name), r.type) for r in answers] == [
        ("alias.example.test", tdns.CNAME),
        (NAME.rstrip("."), tdns.A),
    ]
    assert answers[1].payload.dottedQuad() == "192.0.2.1"
    assert (authority, additional) == ([], [])


def test_twistedNamesTLSAQuery() -> None:
    """
    Types twisted.names does not know (TLSA) come through as its UnknownRecord.
    """
    owner = "_443._tcp.www.example.test."
    tlsa = answer("TLSA", "3 1 1 " + "ab" * 32, name=owner)
    resolver = TwistedNamesResolver(FakeResolver({(owner, "TLSA"): tlsa}))
    answers, _, _ = resolved(resolver.query(tdns.Query(owner, 52)))
    assert answers[0].payload.data == bytes([3, 1, 1]) + bytes.fromhex("ab" * 32)


def test_twistedNamesNegative() -> None:
    table: dict[tuple[str, str], Answer | Exception] = {
        (NAME, "A"): answer("A", rcode=dns.rcode.NXDOMAIN),
        (NAME, "MX"): answer("MX"),
        (NAME, "TXT"): answer("TXT", '"x"', status=Status.BOGUS, ede=7),
        (NAME, "SRV"): LookupFailedError(dns.name.from_text(NAME), dns.rdatatype.SRV, "SERVFAIL"),
    }
    resolver = TwistedNamesResolver(FakeResolver(table))
    with pytest.raises(DNSNameError):
        resolved(resolver.lookupAddress(NAME))
    assert resolved(resolver.lookupMailExchange(NAME)) == ([], [], [])
    with pytest.raises(ValidationFailedError, match="bogus") as caught:
        resolved(resolver.lookupText(NAME))
    assert caught.value.answer is table[(NAME, "TXT")]
    with pytest.raises(ValidationFailedError, match="SERVFAIL"):
        resolved(resolver.lookupService(NAME))


def test_twistedNamesBadNamesFailTheDeferred() -> None:
    """
    IResolver methods return a Deferred whatever the name: a name that cannot be a DNS name
    fails it with ValidationFailedError (a DomainError) instead of raising.
    """
    resolver = TwistedNamesResolver(FakeResolver({}))
    for bad in (b"a..b", b"x" * 64 + b".test", ("x." * 128).encode()):
        d = resolver.lookupAddress(bad)
        with pytest.raises(ValidationFailedError, match="not a valid name"):
            resolved(d)


def test_twistedNamesBytesAreOctets() -> None:
    """
    twisted.names gives names as octets: one that is not ASCII is looked up as those octets,
    never as another name made by replacing them.
    """
    octets = b"\xffwww.example.test"
    owner = dns.name.from_text(octets)
    fake = FakeResolver({(str(owner), "A"): answer("A", "192.0.2.1", name=str(owner))})
    resolver = TwistedNamesResolver(fake)
    answers, _, _ = resolved(resolver.lookupAddress(octets))
    assert fake.asked == [(str(owner), "A")]
    assert answers[0].name.name == octets


def test_hostnameResolverArguments() -> None:
    """
    L{ValidatingHostnameResolver} is made from a resolver and a flag: the settings a resolver
    is built from, or a string for the flag (C{"no"} would be true), are refused when made.
    """
    from txdane.adapters import ValidatingHostnameResolver
    from txdane.settings import ResolverSettings

    with pytest.raises(TypeError, match="resolver must be a validating resolver"):
        ValidatingHostnameResolver(ResolverSettings())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="allowInsecure must be True or False"):
        ValidatingHostnameResolver(FakeResolver({}), allowInsecure="no")  # type: ignore[arg-type]

"""
Validated lookups for code written against Twisted's resolver interfaces.

  - L{ValidatingHostnameResolver} is an C{IHostnameResolver}: give it to
    C{HostnameEndpoint} (or install it on a reactor) and only addresses whose DNSSEC status
    the caller accepts are dialled. Its L{resolveAddresses
    <ValidatingHostnameResolver.resolveAddresses>} method does the same lookup but fails with
    a distinct L{AddressValidationError} (or L{NoAddressesError}), which endpoints use so that
    a validation failure never looks like a bare "no addresses".
  - L{StaticHostnameResolver} hands fixed, already validated addresses to C{HostnameEndpoint}.
  - L{TwistedNamesResolver} is a C{twisted.internet.interfaces.IResolver} (the twisted.names
    interface), so existing twisted.names code can use validated lookups.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
from twisted.internet import error as internetError
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from twisted.logger import Logger
from twisted.names import dns as tdns
from twisted.names import error as namesError
from twisted.names.common import ResolverBase
from twisted.python.failure import Failure
from zope.interface import implementer

from txdane.errors import LookupFailedError, TxdaneError
from txdane.names import nameFromText
from txdane.status import Status
from txdane.validation.answer import Answer
from txdane.validation.interfaces import IDNSSECResolver

_log = Logger()

#: The statuses a caller may choose to accept. Bogus and indeterminate data is never used.
ACCEPTABLE = frozenset({Status.SECURE, Status.INSECURE})


def _acceptSet(allowInsecure: bool) -> frozenset[Status]:
    return ACCEPTABLE if allowInsecure else frozenset({Status.SECURE})


class AddressLookupError(TxdaneError, internetError.DNSLookupError):
    """
    A validated address lookup gave no usable address. A C{DNSLookupError}, so code that
    already catches that keeps working, with the validator's facts as attributes.

    @ivar hostName: the name looked up.
    @ivar message: what went wrong, one line.
    @ivar answers: the validator's answers (A and/or AAAA) that were obtained.
    """

    hostName: str
    message: str
    answers: Sequence[Answer] = ()
    template = "{message}"

    def __post_init__(self) -> None:
        self.answers = tuple(self.answers)
        super().__post_init__()


class AddressValidationError(AddressLookupError):
    """
    The addresses of a name could not be trusted: an answer was bogus or indeterminate, was
    insecure when only secure data was acceptable, or the lookup failed (timeout, SERVFAIL).

    @ivar status: the weakest status met, or C{None} when the lookup itself failed.
    @ivar ede: the RFC 8914 extended error code of the failing answer, if any.
    @ivar cause: the L{LookupFailedError} when the lookup failed, else C{None}.
    """

    status: Status | None = None
    ede: int | None = None
    cause: BaseException | None = None


class NoAddressesError(AddressLookupError):
    """
    The name provably has no address of the families asked for (NXDOMAIN or NODATA).
    """


@dataclass(frozen=True)
class ValidatedAddresses:
    """
    The result of L{ValidatingHostnameResolver.resolveAddresses}.

    @ivar hostName: the name looked up.
    @ivar addresses: the addresses, IPv6 first (as Happy Eyeballs prefers).
    @ivar status: the weakest status of the answers used.
    @ivar answers: the validator's answers.
    """

    hostName: str
    addresses: tuple[IPv4Address | IPv6Address, ...]
    status: Status
    answers: tuple[Answer, ...] = field(default=())


def _literal(hostName: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(hostName.split("%", 1)[0])
    except ValueError:
        return None


@implementer(IHostResolution)
@dataclass
class _Resolution:
    name: str
    deferred: Deferred[Any] | None = None
    failure: BaseException | None = None

    def cancel(self) -> None:
        if self.deferred is not None:
            self.deferred.cancel()


@implementer(IHostnameResolver)
class ValidatingHostnameResolver:
    """
    An C{IHostnameResolver} whose addresses come from DNSSEC-validated A and AAAA lookups.

    @param resolver: the validating resolver (an L{IDNSSECResolver}).
    @param allowInsecure: also accept addresses from unsigned zones. Bogus and indeterminate
        answers, and failed lookups, are never accepted.
    """

    def __init__(self, resolver: IDNSSECResolver, *, allowInsecure: bool = False) -> None:
        if not callable(getattr(resolver, "lookupAddress", None)):
            # A resolver's settings, say: refused here, not at the first connection.
            raise TypeError(f"resolver must be a validating resolver, not {resolver!r}")
        if type(allowInsecure) is not bool:
            raise TypeError(f"allowInsecure must be True or False, not {allowInsecure!r}")
        self.resolver = resolver
        self.accept = _acceptSet(allowInsecure)

    def resolveAddresses(
        self,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> Deferred[ValidatedAddresses]:
        """
        Look up the addresses of C{hostName} and check their status.

        @return: a Deferred firing with L{ValidatedAddresses}, or failing with
            L{AddressValidationError} (a bogus, indeterminate, unacceptable insecure answer
            or a failed lookup, in either family) or L{NoAddressesError}.
        """
        return Deferred.fromCoroutine(
            self._resolve(hostName, portNumber, addressTypes, transportSemantics)
        )

    async def _resolve(
        self,
        hostName: str,
        portNumber: int,
        addressTypes: Sequence[type[IAddress]] | None,
        transportSemantics: str,
    ) -> ValidatedAddresses:
        semantics: Literal["TCP", "UDP"] = "UDP" if transportSemantics == "UDP" else "TCP"
        literal = _literal(hostName)
        if literal is not None:
            # No DNS involved: the caller chose the address.
            if literal.version == 6:
                return ValidatedAddresses(
                    hostName,
                    (IPv6Address(semantics, str(literal), portNumber),),
                    Status.SECURE,
                )
            return ValidatedAddresses(
                hostName,
                (IPv4Address(semantics, str(literal), portNumber),),
                Status.SECURE,
            )
        types = []
        if addressTypes is None or IPv6Address in addressTypes:
            types.append(dns.rdatatype.AAAA)
        if addressTypes is None or IPv4Address in addressTypes:
            types.append(dns.rdatatype.A)
        try:
            answers: list[Answer] = await gatherResults(
                [self.resolver.lookup(hostName, t) for t in types], consumeErrors=True
            )
        except Exception as e:
            cause = getattr(e, "subFailure", None)
            error = cause.value if isinstance(cause, Failure) else e
            if isinstance(error, LookupFailedError):
                raise AddressValidationError(
                    hostName,
                    f"{hostName}: address lookup failed: {error}",
                    ede=error.ede,
                    cause=error,
                ) from None
            raise error from None  # type: ignore[misc]
        status = Status.weakest(*(a.status for a in answers))
        for answer in answers:
            if answer.status not in self.accept:
                what = "is not secure" if answer.status is Status.INSECURE else "cannot be trusted"
                raise AddressValidationError(
                    hostName,
                    f"{hostName}: the {dns.rdatatype.to_text(answer.rdtype)} answer {what}: "
                    f"{answer}",
                    answers,
                    answer.status,
                    answer.ede,
                )
        addresses: list[IPv4Address | IPv6Address] = []
        for answer in answers:
            for record in answer.records:
                if answer.rrset is not None and answer.rrset.rdtype == dns.rdatatype.AAAA:
                    addresses.append(
                        IPv6Address(semantics, record.address, portNumber)  # type: ignore[attr-defined]
                    )
                elif answer.rrset is not None and answer.rrset.rdtype == dns.rdatatype.A:
                    addresses.append(
                        IPv4Address(semantics, record.address, portNumber)  # type: ignore[attr-defined]
                    )
        if not addresses:
            nx = any(a.rcode == dns.rcode.NXDOMAIN for a in answers)
            raise NoAddressesError(
                hostName,
                f"{hostName}: no address records ({status} {'NXDOMAIN' if nx else 'NODATA'})",
                answers,
            )
        return ValidatedAddresses(hostName, tuple(addresses), status, tuple(answers))

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        """
        C{IHostnameResolver.resolveHostName}: report the acceptable addresses to the receiver.

        On failure no address is reported; the error is logged, kept as the resolution's
        C{failure} attribute, and given to the receiver's C{validationFailed(error)} method if
        it has one. C{HostnameEndpoint} then fails with "no results": use L{resolveAddresses}
        (or txdane's endpoints, which do) to get the distinct error instead.
        """
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        d = self.resolveAddresses(hostName, portNumber, addressTypes, transportSemantics)
        resolution.deferred = d

        def resolved(result: ValidatedAddresses) -> None:
            for address in result.addresses:
                resolutionReceiver.addressResolved(address)
            resolutionReceiver.resolutionComplete()

        def failed(failure: Failure) -> None:
            resolution.failure = failure.value
            _log.failure("validated lookup of {name} failed", failure, name=hostName)
            hook = getattr(resolutionReceiver, "validationFailed", None)
            if hook is not None:
                hook(failure.value)
            resolutionReceiver.resolutionComplete()

        d.addCallbacks(resolved, failed)
        return resolution


@implementer(IHostnameResolver)
class StaticHostnameResolver:
    """
    An C{IHostnameResolver} that reports fixed addresses (with the port asked for) for any
    name: feeds addresses validated beforehand to C{HostnameEndpoint} without touching the
    reactor's global resolver.
    """

    def __init__(self, addresses: Iterable[IPv4Address | IPv6Address]) -> None:
        self.addresses = tuple(addresses)

    def resolveHostName(
        self,
        resolutionReceiver: IResolutionReceiver,
        hostName: str,
        portNumber: int = 0,
        addressTypes: Sequence[type[IAddress]] | None = None,
        transportSemantics: str = "TCP",
    ) -> IHostResolution:
        resolution = _Resolution(hostName)
        resolutionReceiver.resolutionBegan(resolution)
        for address in self.addresses:
            if addressTypes is None or type(address) in addressTypes:
                semantics: Literal["TCP", "UDP"] = "UDP" if transportSemantics == "UDP" else "TCP"
                resolutionReceiver.addressResolved(
                    type(address)(semantics, address.host, portNumber)
                )
        resolutionReceiver.resolutionComplete()
        return resolution


class ValidationFailedError(TxdaneError, namesError.DomainError):
    """
    A twisted.names lookup refused because the data failed validation or was not secure
    enough. A C{DomainError}, as twisted.names callers expect.

    @ivar message: why, one line.
    @ivar answer: the validator's answer, when there is one.
    @ivar cause: the L{LookupFailedError}, when the lookup itself failed.
    """

    message: str
    answer: Answer | None = None
    cause: BaseException | None = None
    template = "{message}"


_Result = tuple[list[tdns.RRHeader], list[tdns.RRHeader], list[tdns.RRHeader]]


class TwistedNamesResolver(ResolverBase):
    """
    A twisted.names C{IResolver} whose answers are validated: C{lookupAddress},
    C{lookupMailExchange}, C{lookupService}, C{query} and the rest fire with the usual
    C{(answers, authority, additional)} tuple of C{RRHeader}s (CNAMEs followed first, as a
    recursive resolver returns them).

    NXDOMAIN fails with C{twisted.names.error.DNSNameError} and NODATA gives empty lists, as
    twisted.names does; data that is bogus, indeterminate, insecure when only secure data is
    acceptable, or a failed lookup fails with L{ValidationFailedError}.

    @param resolver: the validating resolver.
    @param allowInsecure: also accept data from unsigned zones.
    """

    def __init__(self, resolver: IDNSSECResolver, *, allowInsecure: bool = False) -> None:
        super().__init__()
        self.resolver = resolver
        self.accept = _acceptSet(allowInsecure)

    def _lookup(
        self, name: bytes | str, cls: int, type: int, timeout: Any = None
    ) -> Deferred[_Result]:
        text = name.decode("ascii", "backslashreplace") if isinstance(name, bytes) else name
        if cls != tdns.IN:
            return Deferred.fromCoroutine(self._refuse(f"{text}: only class IN is supported"))
        try:
            # twisted.names names are octets: parse them as such, never as replaced text.
            qname = nameFromText(name or ".")
            d: Deferred[Answer] = self.resolver.lookup(qname, type)
        except (dns.exception.DNSException, ValueError) as e:
            return Deferred.fromCoroutine(self._refuse(f"{text}: not a valid name: {e}"))
        return d.addCallbacks(self._convert, self._failed, errbackArgs=(text,))

    async def _refuse(self, message: str) -> _Result:
        raise ValidationFailedError(message)

    def _failed(self, failure: Failure, name: str) -> Failure:
        if failure.check(LookupFailedError):
            return Failure(ValidationFailedError(str(failure.value), cause=failure.value))
        return failure

    def _convert(self, answer: Answer) -> _Result:
        if answer.status not in self.accept:
            raise ValidationFailedError(str(answer), answer)
        if answer.rcode == dns.rcode.NXDOMAIN and answer.rrset is None:
            raise namesError.DNSNameError(str(answer.name))
        message = dns.message.Message()
        message.flags |= 0x8000
        for link in answer.chain:
            message.answer.append(link.rrset)
        if answer.rrset is not None:
            message.answer.append(answer.rrset)
        parsed = tdns.Message()
        parsed.fromStr(message.to_wire())
        return (list(parsed.answers), [], [])

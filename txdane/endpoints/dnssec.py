"""
L{DNSSECEndpoint}: plain TCP to addresses proven by DNSSEC.

Tests: C{tests/endpoints/test_dane.py}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import HostnameEndpoint
from twisted.internet.interfaces import IProtocol, IProtocolFactory, IStreamClientEndpoint
from zope.interface import implementer

from txdane.adapters import StaticHostnameResolver, ValidatedAddresses, ValidatingHostnameResolver
from txdane.endpoints._arguments import (
    checkedBindAddress,
    checkedFlag,
    checkedHost,
    checkedPort,
    checkedResolver,
    checkedSeconds,
)
from txdane.endpoints._plumbing import logFailure, reactorWithResolver
from txdane.names import asciiHostName, isAddress
from txdane.validation.interfaces import IDNSSECResolver

__all__ = ["DNSSECEndpoint"]


@implementer(IStreamClientEndpoint)
class DNSSECEndpoint:
    """
    A TCP client endpoint that connects only to addresses whose A/AAAA records are secure
    (or, with C{allowInsecure}, insecure; never bogus), racing IPv6 and IPv4 with Twisted's
    own C{HostnameEndpoint} (Happy Eyeballs). For protocols that do their own security (SSH
    with SSHFP) or that start TLS later (SMTP, XMPP).

    C{connect()} fails with L{AddressValidationError<txdane.adapters.AddressValidationError>}
    or L{NoAddressesError<txdane.adapters.NoAddressesError>} when the addresses cannot be
    used, before any connection is attempted.

    @param reactor: the reactor.
    @param resolver: the validating resolver.
    @param host: the host name (or an address literal, used as it is).
    @param port: the TCP port.
    @param allowInsecure: also connect to addresses from unsigned zones.
    @param timeout: seconds per connection attempt.
    @param bindAddress: the local C{(host, port)} to bind to.
    @param attemptDelay: seconds between Happy Eyeballs attempts (Twisted's default if
        omitted).
    @raise TypeError: for a value of the wrong type (a port given as a string, a string
        for C{allowInsecure}, a resolver's settings instead of the resolver).
    @raise ValueError: for a value that cannot be used: a port out of range, a host that is
        neither a name nor an address, a timeout that is not a positive number of seconds, a
        bind address that is not an IP address and port.
    """

    def __init__(
        self,
        reactor: Any,
        resolver: IDNSSECResolver,
        host: str,
        port: int,
        *,
        allowInsecure: bool = False,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
        attemptDelay: float | None = None,
    ) -> None:
        self._reactor = reactor
        self.resolver = checkedResolver(resolver)
        self.host = checkedHost(host)
        # The name as it is looked up (in A-labels: Twisted refuses Unicode that IDNA 2008
        # does not allow as it is, upper case or a sharp s), or the address.
        self._asLookedUp = self.host if isAddress(self.host) else asciiHostName(self.host)
        self.port = checkedPort(port)
        self.allowInsecure = checkedFlag(allowInsecure, "allowInsecure")
        self.timeout = checkedSeconds(timeout, "timeout")
        self.bindAddress = None if bindAddress is None else checkedBindAddress(bindAddress)
        self.attemptDelay = (
            None if attemptDelay is None else checkedSeconds(attemptDelay, "attemptDelay")
        )
        self._addresses = ValidatingHostnameResolver(resolver, allowInsecure=allowInsecure)

    def __repr__(self) -> str:
        insecure = " allowInsecure" if self.allowInsecure else ""
        return f"<DNSSECEndpoint {self.host}:{self.port}{insecure}>"

    def resolveAddresses(self) -> Deferred[ValidatedAddresses]:
        """
        The validated addresses this endpoint would dial.
        """
        return self._addresses.resolveAddresses(self.host, self.port)

    def connectTo(
        self, addresses: ValidatedAddresses, protocolFactory: IProtocolFactory
    ) -> Deferred[IProtocol]:
        """
        Connect to the given, already validated addresses (and only to them).
        """
        endpoint = self._hostnameEndpoint(addresses, self._asLookedUp)
        if getattr(endpoint, "_badHostname", False) and addresses.addresses:
            # Twisted checks the name by IDNA 2008, which refuses names DNS has (underscores,
            # some A-labels): it only names the connection in Twisted's messages, so the
            # first address does.
            endpoint = self._hostnameEndpoint(addresses, addresses.addresses[0].host)
        return endpoint.connect(protocolFactory)

    def _hostnameEndpoint(self, addresses: ValidatedAddresses, name: str) -> HostnameEndpoint:
        """
        Twisted's C{HostnameEndpoint} for C{name}, dialling C{addresses} and no others.
        """
        extra: dict[str, Any] = {}
        if self.attemptDelay is not None:
            extra["attemptDelay"] = self.attemptDelay
        return HostnameEndpoint(
            reactorWithResolver(self._reactor, StaticHostnameResolver(addresses.addresses)),
            name,
            self.port,
            timeout=self.timeout,
            bindAddress=self.bindAddress,
            **extra,
        )

    def connect(self, protocolFactory: IProtocolFactory) -> Deferred[IProtocol]:
        """
        Connect to the validated addresses; a failure is also logged, once, with its reason
        (L{logFailure<txdane.endpoints._plumbing.logFailure>}).
        """
        return logFailure(self, Deferred.fromCoroutine(self._connect(protocolFactory)))

    async def _connect(self, protocolFactory: IProtocolFactory) -> IProtocol:
        addresses = await self.resolveAddresses()
        return await self.connectTo(addresses, protocolFactory)

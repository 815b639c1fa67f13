"""
The C{dane:} and C{dnssec:} endpoint-string parsers (registered as Twisted plugins in
C{twisted/plugins/txdane_endpoints.py})::

    dane:host=www.example.com:port=443
    dnssec:host=git.example.com:port=22

Options, named in Twisted's style (values may be str or bytes; escape colons in IPv6
literals, as everywhere in endpoint strings: C{resolver=2001\\:db8\\:\\:53#53}):

  - both: C{host}, C{port} (required); C{timeout} (seconds per connection attempt);
    C{bindAddress} (local address); C{resolver} (comma-separated C{address#port} recursive
    resolvers; default C{/etc/resolv.conf}; C{iterative}: resolve from the root hints instead,
    asking the authoritative servers); C{rootHints} (a root hints file as IANA publishes
    C{named.root}; default the IANA root servers, built in); C{trustAnchor} (trust anchor file;
    default the built-in root anchors); C{trustAnchorState} (an RFC 5011 state file: the
    anchors follow the zone's key rollovers); C{trustAD} (C{yes}: trust the AD bit of
    C{resolver} instead of validating; only for resolvers on loopback unless
    C{trustADRemote=yes}); C{strictNSEC3} (C{yes}: a TLSA lookup that only the NSEC3 iteration
    limit makes insecure is bogus, so DANE is refused rather than downgraded to PKIX; excludes
    C{trustAD}); C{dnsTimeout} (the most seconds one DNS query may take, every retry included);
  - C{dnssec:} only: C{allowInsecure} (C{yes}: also dial addresses from unsigned zones);
  - C{dane:} only: C{handshakeTimeout} (seconds the TLS handshake may take; default 30);
    the options that set fields of L{DANEOptions
    <txdane.endpoints.options.DANEOptions>}, documented there: C{proto}, C{tlsaHost},
    C{require} or C{policy}, C{certificate} and C{privateKey}, C{trustRoots}, C{starttls}
    (a protocol of L{PROTOCOLS<txdane.endpoints.starttls.PROTOCOLS>}, whose STARTTLS the
    endpoint negotiates);
  - C{dane:mx=DOMAIN} (instead of C{host}): the MX hosts of a mail domain (RFC 7672), at
    most C{maxHosts} of them tried (default 5);
  - C{dane:srv=SERVICE:domain=DOMAIN} (instead of C{host} and C{port}): the servers the
    service's SRV records name (RFC 7673, XEP-0368), at most C{maxHosts} of them tried
    (default 5); the L{DANEOptions
    <txdane.endpoints.options.DANEOptions>} options other than C{proto}, C{tlsaHost} and
    C{starttls} apply to each.

Tests: C{tests/endpoints/test_strings.py}.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import (
    IStreamClientEndpoint,
    IStreamClientEndpointStringParserWithReactor,
)
from twisted.plugin import IPlugin
from zope.interface import implementer

from txdane.endpoints._strings import COMMON_OPTIONS, OptionReader
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.errors import NoSuchServiceError
from txdane.endpoints.mx import mxEndpoint
from txdane.endpoints.options import (
    DEFAULT_HANDSHAKE_TIMEOUT,
    DANEOptions,
    optionsFromStrings,
    stringOptions,
)
from txdane.endpoints.planner import DEFAULT_MAX_HOSTS, HostSettings
from txdane.endpoints.srv import SRVEndpoint
from txdane.endpoints.srvplan import serviceByName

__all__ = ["DANEEndpointParser", "DNSSECEndpointParser"]

#: The C{dane:} options that name hosts to plan over instead of C{host}: C{mx}, and C{srv}
#: with C{domain}.
_PLANNED_OPTIONS = frozenset({"mx", "srv", "domain", "handshakeTimeout", "maxHosts"})


@implementer(IPlugin, IStreamClientEndpointStringParserWithReactor)
class DNSSECEndpointParser:
    """
    Parses C{dnssec:host=...:port=...} into a L{DNSSECEndpoint}.
    """

    prefix = "dnssec"

    def parseStreamClient(self, reactor: Any, *args: Any, **kwargs: Any) -> IStreamClientEndpoint:
        options = OptionReader(self.prefix, COMMON_OPTIONS | {"allowInsecure"}, args, kwargs)
        return DNSSECEndpoint(
            reactor,
            options.resolver(reactor),
            options.hostName("host", address=True),
            options.port(),
            allowInsecure=options.flag("allowInsecure"),
            timeout=options.timeout(),
            bindAddress=options.bindAddress(),
        )


@implementer(IPlugin, IStreamClientEndpointStringParserWithReactor)
class DANEEndpointParser:
    """
    Parses C{dane:host=...:port=...} into a L{DANEEndpoint}.
    """

    prefix = "dane"

    def parseStreamClient(self, reactor: Any, *args: Any, **kwargs: Any) -> IStreamClientEndpoint:
        options = OptionReader(
            self.prefix, COMMON_OPTIONS | stringOptions() | _PLANNED_OPTIONS, args, kwargs
        )
        if options.given("domain") and not options.given("srv"):
            raise options.error("domain goes with srv, the service whose SRV records to follow")
        if options.given("srv"):
            return _srvEndpoint(reactor, options)
        if options.given("mx"):
            return _mxEndpoint(reactor, options)
        if options.given("maxHosts"):
            raise options.error("maxHosts is for mx= and srv=, which try several hosts")
        if options.given("heloName") and not options.given("starttls"):
            raise options.error("heloName goes with starttls=smtp or lmtp, or with mx=")
        return DANEEndpoint(
            reactor,
            options.resolver(reactor),
            options.hostName("host", address=True),
            options.port(),
            options=optionsFromStrings(options),
            timeout=options.timeout(),
            handshakeTimeout=options.seconds("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT),
            bindAddress=options.bindAddress(),
        )


def _mxEndpoint(reactor: Any, options: OptionReader) -> IStreamClientEndpoint:
    """
    C{dane:mx=DOMAIN[:port=25]}: mail to a domain's MX hosts (RFC 7672), STARTTLS for SMTP.
    """
    for name in ("host", "tlsaHost", "require", "policy", "trustRoots", "proto"):
        if options.given(name):
            raise options.error(f"mx and {name} exclude each other")
    starttls = options.get("starttls")
    if starttls is not None and starttls.lower() != "smtp":
        raise options.error(f"mx implies starttls=smtp, not {starttls!r}")
    if not options.given("port"):
        options.values["port"] = "25"
    danes = optionsFromStrings(options)
    return mxEndpoint(
        reactor,
        options.resolver(reactor),
        options.hostName("mx"),
        options.port(),
        settings=HostSettings(
            timeout=options.timeout(),
            handshakeTimeout=options.seconds("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT),
            bindAddress=options.bindAddress(),
            options=DANEOptions(clientCertificate=danes.clientCertificate, heloName=danes.heloName),
            maxHosts=options.count("maxHosts", DEFAULT_MAX_HOSTS),
        ),
    )


def _srvEndpoint(reactor: Any, options: OptionReader) -> IStreamClientEndpoint:
    """
    C{dane:srv=SERVICE:domain=DOMAIN}: the servers of a service by its SRV records (RFC 7673,
    XEP-0368); the SRV records say the hosts, the ports and how TLS starts.
    """
    for name in ("host", "port", "mx", "proto", "tlsaHost", "starttls", "heloName"):
        if options.given(name):
            raise options.error(f"srv and {name} exclude each other")
    try:
        service = serviceByName(options.required("srv"))
    except NoSuchServiceError as e:
        raise options.error(f"srv: {e}") from None
    return SRVEndpoint(
        reactor,
        options.resolver(reactor),
        service,
        options.hostName("domain"),
        options=optionsFromStrings(options),
        timeout=options.timeout(),
        handshakeTimeout=options.seconds("handshakeTimeout", DEFAULT_HANDSHAKE_TIMEOUT),
        bindAddress=options.bindAddress(),
        maxHosts=options.count("maxHosts", DEFAULT_MAX_HOSTS),
    )

"""
The C{dane:} and C{dnssec:} endpoint-string parsers (registered as Twisted plugins in
C{twisted/plugins/txdane_endpoints.py}):

    dane:host=www.example.com:port=443
    dnssec:host=git.example.com:port=22

Options, named in Twisted's style (values may be str or bytes; escape colons in IPv6
literals, as everywhere in endpoint strings: C{resolver=2001\\:db8\\:\\:53#53}):

  - both: C{host}, C{port} (required); C{timeout} (seconds per connection attempt);
    C{bindAddress} (local address); C{resolver} (comma-separated C{address#port} recursive
    resolvers; default C{/etc/resolv.conf}); C{trustAnchor} (trust anchor file; default the
    built-in root anchors); C{trustAD} (C{yes}: trust the AD bit of C{resolver} instead of
    validating);
  - C{dnssec:} only: C{allowInsecure} (C{yes}: also dial addresses from unsigned zones);
  - C{dane:} only: C{proto} (TLSA protocol label, C{tcp}); C{tlsaHost} (TLSA base name other
    than C{host}); C{require} (C{yes}: DANE required even when the zone has no TLSA);
    C{certificate} and C{privateKey} (PEM files of a client certificate); C{trustRoots} (a PEM
    file or directory of PKIX roots for the fallback; default the system's); C{starttls}
    (connect in cleartext for a protocol that upgrades: smtp, lmtp, imap, pop3, xmpp-client,
    xmpp-server, ldap, ftp, postgres); C{mx} (instead of C{host}: the MX hosts of this mail
    domain, RFC 7672, with C{starttls=smtp}; C{port} defaults to 25).
  - C{dane:srv=SERVICE:domain=DOMAIN} (instead of C{host} and C{port}): the service's SRV
    records name the servers (RFC 7673, XEP-0368); C{require}, C{certificate},
    C{privateKey}, C{trustRoots} and the common options other than C{host} and C{port}
    apply.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
from cryptography import x509
from twisted.internet.interfaces import (
    IStreamClientEndpoint,
    IStreamClientEndpointStringParserWithReactor,
)
from twisted.internet.ssl import PrivateCertificate
from twisted.plugin import IPlugin
from zope.interface import implementer

from txdane.dane.decision import Policy
from txdane.dane.pkix import PKIXTrust
from txdane.endpoints.dane import DANEEndpoint
from txdane.endpoints.dnssec import DNSSECEndpoint
from txdane.endpoints.guard import CHECKERS
from txdane.endpoints.mx import mxEndpoint
from txdane.endpoints.planner import HostSettings
from txdane.endpoints.resolvers import sharedResolver
from txdane.endpoints.srv import SRVEndpoint
from txdane.endpoints.srvplan import NoSuchServiceError, serviceByName
from txdane.errors import TxdaneError
from txdane.resolvconf import NameServer, NameServerError
from txdane.validation import TrustAnchorError

_COMMON = {"host", "port", "timeout", "bindAddress", "resolver", "trustAnchor", "trustAD"}
_DNSSEC = _COMMON | {"allowInsecure"}
_DANE = _COMMON | {
    "proto",
    "tlsaHost",
    "require",
    "certificate",
    "privateKey",
    "trustRoots",
    "starttls",
    "mx",
}
#: C{dane:srv=SERVICE:domain=DOMAIN}: the SRV records name the hosts, ports and how TLS starts.
_SRV = (_DANE - {"host", "port", "proto", "tlsaHost", "starttls", "mx"}) | {"srv", "domain"}

_TRUE = {"yes", "true", "1", "on"}
_FALSE = {"no", "false", "0", "off"}


class EndpointStringError(TxdaneError, ValueError):
    """
    An endpoint string could not be used; the message names the option and the problem.
    """


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise EndpointStringError(f"{value!r} is not UTF-8") from None
    return value


def _flag(prefix: str, name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise EndpointStringError(f"{prefix}: {name}={value!r} is not yes or no")


class _Options:
    def __init__(self, prefix: str, allowed: set[str], args: tuple[Any, ...], kwargs: dict) -> None:
        self.prefix = prefix
        values = {_text(k): _text(v) for k, v in kwargs.items()}
        positional = [_text(a) for a in args]
        # Twisted's style also allows the first two fields positionally: dane:host:port.
        for name, value in zip(("host", "port"), positional):
            if name in values:
                raise EndpointStringError(f"{prefix}: {name} given twice")
            values[name] = value
        if len(positional) > 2:
            raise EndpointStringError(f"{prefix}: unexpected field {positional[2]!r}")
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise EndpointStringError(
                f"{prefix}: unknown option {unknown[0]!r} (known: {', '.join(sorted(allowed))})"
            )
        self.values = values

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def required(self, name: str) -> str:
        value = self.values.get(name)
        if not value:
            raise EndpointStringError(f"{self.prefix}: {name} is required")
        return value

    def hostName(self, name: str) -> str:
        """
        The host name in option C{name} (required), checked to be a valid DNS name.
        """
        value = self.required(name)
        try:
            dns.name.from_text(value)
        except dns.exception.DNSException as e:
            raise EndpointStringError(f"{self.prefix}: {name}={value!r}: {e}") from None
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        return False if value is None else _flag(self.prefix, name, value)

    def port(self) -> int:
        text = self.required("port")
        try:
            port = int(text)
        except ValueError:
            raise EndpointStringError(f"{self.prefix}: port={text!r} is not a number") from None
        if not 0 < port < 65536:
            raise EndpointStringError(f"{self.prefix}: port={port} is not in 1-65535")
        return port

    def timeout(self) -> float:
        text = self.get("timeout", "30")
        assert text is not None
        try:
            value = float(text)
        except ValueError:
            raise EndpointStringError(f"{self.prefix}: timeout={text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise EndpointStringError(f"{self.prefix}: timeout={text!r} must be positive")
        return value

    def bindAddress(self) -> tuple[str, int] | None:
        text = self.get("bindAddress")
        return (text, 0) if text else None

    def resolver(self, reactor: Any) -> Any:
        servers = None
        text = self.get("resolver")
        if text:
            try:
                servers = tuple(NameServer.fromString(s) for s in text.split(",") if s.strip())
            except NameServerError as e:
                raise EndpointStringError(f"{self.prefix}: resolver: {e}") from None
            if not servers:
                raise EndpointStringError(f"{self.prefix}: resolver={text!r} names no server")
        trustAD = self.flag("trustAD")
        anchor = self.get("trustAnchor")
        if trustAD and anchor:
            raise EndpointStringError(f"{self.prefix}: trustAD and trustAnchor exclude each other")
        try:
            return sharedResolver(reactor, servers, anchor, trustAD)
        except (TrustAnchorError, OSError, ValueError) as e:
            raise EndpointStringError(f"{self.prefix}: trustAnchor: {e}") from None


def _readFile(prefix: str, option: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise EndpointStringError(f"{prefix}: {option}={path!r}: {e.strerror}") from None
    except ValueError as e:  # a NUL in the path
        raise EndpointStringError(f"{prefix}: {option}={path!r}: {e}") from None


def _clientCertificate(options: _Options) -> PrivateCertificate | None:
    certificate, key = options.get("certificate"), options.get("privateKey")
    if not certificate and not key:
        return None
    certificatePEM = _readFile("dane", "certificate", options.required("certificate"))
    keyPEM = (
        _readFile("dane", "privateKey", key) if key else certificatePEM
    )  # one PEM file may hold both
    try:
        return PrivateCertificate.loadPEM(certificatePEM + b"\n" + keyPEM)
    except Exception as e:
        raise EndpointStringError(
            f"dane: certificate/privateKey: not a PEM certificate and key ({e})"
        ) from None


def _trustRoots(options: _Options) -> PKIXTrust | None:
    path = options.get("trustRoots")
    if not path:
        return None
    files = sorted(Path(path).glob("*.pem")) if Path(path).is_dir() else [Path(path)]
    roots: list[x509.Certificate] = []
    for file in files:
        data = _readFile("dane", "trustRoots", str(file))
        try:
            roots.extend(x509.load_pem_x509_certificates(data))
        except ValueError as e:
            raise EndpointStringError(f"dane: trustRoots={str(file)!r}: {e}") from None
    if not roots:
        raise EndpointStringError(f"dane: trustRoots={path!r} holds no certificate")
    return PKIXTrust(tuple(roots))


@implementer(IPlugin, IStreamClientEndpointStringParserWithReactor)
class DNSSECEndpointParser:
    """
    Parses C{dnssec:host=...:port=...} into a L{DNSSECEndpoint}.
    """

    prefix = "dnssec"

    def parseStreamClient(self, reactor: Any, *args: Any, **kwargs: Any) -> IStreamClientEndpoint:
        options = _Options(self.prefix, _DNSSEC, args, kwargs)
        return DNSSECEndpoint(
            reactor,
            options.resolver(reactor),
            options.hostName("host"),
            options.port(),
            allowInsecure=options.flag("allowInsecure"),
            timeout=options.timeout(),
            bindAddress=options.bindAddress(),
        )


def _mxEndpoint(reactor: Any, options: _Options) -> IStreamClientEndpoint:
    """
    C{dane:mx=DOMAIN[:port=25]}: mail to a domain's MX hosts (RFC 7672), STARTTLS for SMTP.
    """
    for name in ("host", "tlsaHost", "require", "trustRoots"):
        if options.get(name):
            raise EndpointStringError(f"dane: mx and {name} exclude each other")
    starttls = options.get("starttls")
    if starttls not in (None, "smtp"):
        raise EndpointStringError(f"dane: mx implies starttls=smtp, not {starttls!r}")
    if options.get("port") is None:
        options.values["port"] = "25"
    certificate = _clientCertificate(options)
    return mxEndpoint(
        reactor,
        options.resolver(reactor),
        options.hostName("mx"),
        options.port(),
        settings=HostSettings(
            timeout=options.timeout(),
            bindAddress=options.bindAddress(),
            extra={"clientCertificate": certificate} if certificate else {},
        ),
    )


@implementer(IPlugin, IStreamClientEndpointStringParserWithReactor)
class DANEEndpointParser:
    """
    Parses C{dane:host=...:port=...} into a L{DANEEndpoint}.
    """

    prefix = "dane"

    def parseStreamClient(self, reactor: Any, *args: Any, **kwargs: Any) -> IStreamClientEndpoint:
        if "srv" in kwargs or b"srv" in kwargs:
            return _parseSRV(reactor, _Options(self.prefix, _SRV, args, kwargs))
        options = _Options(self.prefix, _DANE, args, kwargs)
        proto = options.get("proto", "tcp") or "tcp"
        if proto.lower() != "tcp":
            raise EndpointStringError(f"dane: proto={proto!r}: only tcp is supported")
        if options.get("mx"):
            return _mxEndpoint(reactor, options)
        starttls = options.get("starttls")
        if starttls is not None and starttls not in CHECKERS:
            raise EndpointStringError(
                f"dane: starttls={starttls!r}: not one of {', '.join(sorted(CHECKERS))}"
            )
        return DANEEndpoint(
            reactor,
            options.resolver(reactor),
            options.hostName("host"),
            options.port(),
            proto="tcp",
            tlsaHost=options.hostName("tlsaHost") if options.get("tlsaHost") else None,
            policy=Policy.DANE_ONLY if options.flag("require") else Policy.DEFAULT,
            clientCertificate=_clientCertificate(options),
            trustRoots=_trustRoots(options),
            timeout=options.timeout(),
            bindAddress=options.bindAddress(),
            starttls=starttls,
        )


def _parseSRV(reactor: Any, options: _Options) -> IStreamClientEndpoint:
    """
    C{dane:srv=SERVICE:domain=DOMAIN[:option=value...]} as an L{SRVEndpoint}.
    """
    try:
        service = serviceByName(options.required("srv"))
    except NoSuchServiceError as e:
        raise EndpointStringError(f"dane: srv: {e}") from None
    return SRVEndpoint(
        reactor,
        options.resolver(reactor),
        service,
        options.hostName("domain"),
        policy=Policy.DANE_ONLY if options.flag("require") else Policy.DEFAULT,
        clientCertificate=_clientCertificate(options),
        trustRoots=_trustRoots(options),
        timeout=options.timeout(),
        bindAddress=options.bindAddress(),
    )

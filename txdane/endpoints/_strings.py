"""
Reading the options of an endpoint string: the values as text, checked one by one, each error
naming the option.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from txdane.endpoints._arguments import hostProblem
from txdane.endpoints.errors import EndpointStringError
from txdane.names import isAddress
from txdane.settings import ResolverSettings, ResolverSettingsError, sharedResolver

_TRUE = {"yes", "true", "1", "on"}
_FALSE = {"no", "false", "0", "off"}

#: The options every endpoint string takes.
COMMON_OPTIONS = frozenset(
    {
        "host",
        "port",
        "timeout",
        "bindAddress",
        "resolver",
        "trustAnchor",
        "trustAnchorState",
        "trustAD",
        "trustADRemote",
        "strictNSEC3",
        "dnsTimeout",
        "rootHints",
        "resolverTLS",
        "resolverTrustRoots",
    }
)

#: How an endpoint string spells each field of L{ResolverSettings
#: <txdane.settings.ResolverSettings>}, for error messages.
_RESOLVER_OPTIONS = {
    "servers": "resolver",
    "trustAnchors": "trustAnchor",
    "trustAD": "trustAD",
    "trustADRemote": "trustADRemote=yes",
    "strictNSEC3Iterations": "strictNSEC3",
    "timeout": "dnsTimeout",
    "iterative": "resolver=iterative",
    "rootHints": "rootHints",
    "trustAnchorState": "trustAnchorState",
    "resolverTLS": "resolverTLS",
    "resolverTrustRoots": "resolverTrustRoots",
}


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise EndpointStringError(f"{value!r} is not UTF-8") from None
    return value


def _closest(name: str, known: Iterable[str]) -> str | None:
    """
    The known option C{name} was most likely meant to be: one with the same letters in
    another order (a typing slip such as C{prot} for C{port}), else the closest spelling.
    """
    letters = sorted(name.lower())
    for option in sorted(known):
        if sorted(option.lower()) == letters:
            return option
    guesses = difflib.get_close_matches(name, list(known), n=1)
    return guesses[0] if guesses else None


def _decimal(text: str) -> bool:
    """
    Whether C{text} is a whole number in ASCII digits: C{int()} also takes blanks, a sign,
    underscores (C{4_43}) and other scripts' digits.
    """
    return text.isascii() and text.isdigit()


class OptionReader:
    """
    The options of one endpoint string, as Twisted passes them to a parser.

    @ivar prefix: the endpoint type (C{dane}, C{dnssec}), which starts every error message.
    @ivar values: the options given, by name.
    """

    def __init__(
        self, prefix: str, allowed: Iterable[str], args: tuple[Any, ...], kwargs: dict[Any, Any]
    ) -> None:
        self.prefix = prefix
        values = {_text(k): _text(v) for k, v in kwargs.items()}
        positional = [_text(a) for a in args]
        if positional:
            _refuseUnescapedColons(prefix, values, positional)
        # Twisted's style also allows the first two fields positionally: dane:host:port, or,
        # as its tcp: endpoint reads them, the one of the two not given by name
        # (dane:host=example.com:443).
        unnamed = [name for name in ("host", "port") if name not in values]
        for index, value in enumerate(positional):
            if not value:
                raise EndpointStringError(f"{prefix}: an empty field (a colon too many?)")
            if index >= len(unnamed):
                raise EndpointStringError(
                    f"{prefix}: unexpected field {value!r} (host and port are given): options"
                    " are written name=value, and a colon inside a value is escaped with a"
                    " backslash (\\:)"
                )
            values[unnamed[index]] = value
        known = set(allowed)
        unknown = sorted(set(values) - known)
        if unknown:
            guess = _closest(unknown[0], known)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise EndpointStringError(
                f"{prefix}: unknown option {unknown[0]!r}{hint} (known: {', '.join(sorted(known))})"
            )
        empty = sorted(name for name, value in values.items() if not value)
        if empty:
            # An empty value is never read as the default: policy=${POLICY} with the variable
            # unset must not quietly become the default policy.
            raise EndpointStringError(
                f"{prefix}: {empty[0]}= has no value (give one, or leave the option out for "
                "its default)"
            )
        self.values = values

    def error(self, message: str) -> EndpointStringError:
        """
        An error for this string: C{message} after the endpoint type.
        """
        return EndpointStringError(f"{self.prefix}: {message}")

    def given(self, *names: str) -> bool:
        """
        Whether any of the options C{names} was given a non-empty value.
        """
        return any(self.values.get(name) for name in names)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.values.get(name, default)

    def required(self, name: str) -> str:
        value = self.values.get(name)
        if not value:
            raise self.error(f"{name} is required")
        return value

    def hostName(self, name: str, address: bool = False) -> str:
        """
        The host name in option C{name} (required), checked as the endpoints check their hosts
        (L{hostProblem<txdane.endpoints._arguments.hostProblem>}).

        @param address: whether an IP address literal is taken too (for C{host}; a domain,
            an MX domain or a TLSA host is a name).
        """
        value = self.required(name)
        problem = hostProblem(value, address=address)
        if problem is not None:
            raise self.error(f"{name}={value!r} {problem}")
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if value is None or value.lower() in _FALSE:
            return False
        if value.lower() in _TRUE:
            return True
        raise self.error(f"{name}={value!r} is not yes or no")

    def port(self) -> int:
        text = self.required("port")
        if not _decimal(text):
            raise self.error(f"port={text!r} is not a number")
        port = int(text)
        if not 0 < port < 65536:
            raise self.error(f"port={port} is not in 1-65535")
        return port

    def timeout(self) -> float:
        return self.seconds("timeout", 30)

    def count(self, name: str, default: int, most: int = 1000) -> int:
        """
        The whole number from 1 to C{most} in option C{name}, or C{default} when it is not
        given.
        """
        text = self.get(name)
        if text is None:
            return default
        if not _decimal(text):
            raise self.error(f"{name}={text!r} is not a whole number")
        value = int(text)
        if not 1 <= value <= most:
            raise self.error(f"{name}={value} is not in 1-{most}")
        return value

    def seconds(self, name: str, default: float) -> float:
        """
        The positive number of seconds in option C{name}, or C{default} when it is not given.
        """
        text = self.get(name)
        if text is None:
            return default
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"{name}={text!r} is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise self.error(f"{name}={text!r} must be positive")
        return value

    def bindAddress(self) -> tuple[str, int] | None:
        """
        The local address to bind to (option C{bindAddress}, an IP address), any port.
        """
        text = self.get("bindAddress")
        if not text:
            return None
        if not isAddress(text):
            raise self.error(f"bindAddress={text!r} is not an IP address")
        return (text, 0)

    def readFile(self, option: str, path: str) -> bytes:
        """
        The contents of the file C{path} named by C{option}.
        """
        try:
            return Path(path).read_bytes()
        except OSError as e:
            raise self.error(f"{option}={path!r}: {e.strerror}") from None
        except ValueError as e:  # a NUL in the path
            raise self.error(f"{option}={path!r}: {e}") from None

    def resolver(self, reactor: Any) -> Any:
        """
        The shared resolver for the C{resolver}, C{trustAnchor}, C{trustAnchorState},
        C{trustAD}, C{trustADRemote}, C{strictNSEC3}, C{dnsTimeout}, C{rootHints},
        C{resolverTLS} and C{resolverTrustRoots} options (C{resolver=iterative}: resolve from
        the root hints, asking no recursive resolver).
        """
        text = self.get("resolver")
        iterative = text is not None and text.strip().lower() == "iterative"
        if iterative:
            text = None
        dnsTimeout = self.seconds("dnsTimeout", 0) if self.given("dnsTimeout") else None
        try:
            settings = _resolverSettings(
                tuple(text.split(",")) if text else None,
                self.get("trustAnchor"),
                self.flag("trustAD"),
                self.flag("trustADRemote"),
                self.flag("strictNSEC3"),
                dnsTimeout,
                iterative,
                self.get("rootHints"),
                self.get("trustAnchorState"),
                self.get("resolverTLS") or None,
                self.get("resolverTrustRoots") or None,
            )
        except ResolverSettingsError as e:
            raise self.error(e.describe(_RESOLVER_OPTIONS.__getitem__)) from None
        return sharedResolver(reactor, settings)


@functools.lru_cache(maxsize=64)
def _resolverSettings(
    servers: tuple[str, ...] | None,
    trustAnchorFile: str | None,
    trustAD: bool,
    trustADRemote: bool = False,
    strictNSEC3Iterations: bool = False,
    timeout: float | None = None,
    iterative: bool = False,
    rootHintsFile: str | None = None,
    trustAnchorState: str | None = None,
    resolverTLS: str | None = None,
    resolverTrustRootsFile: str | None = None,
) -> ResolverSettings:
    """
    The settings for these options. An endpoint string is often parsed once per connection:
    the trust anchor file is read once per path, as when shared resolvers were keyed by it.
    """
    return ResolverSettings.fromStrings(
        servers,
        trustAnchorFile,
        trustAD,
        trustADRemote=trustADRemote,
        strictNSEC3Iterations=strictNSEC3Iterations,
        timeout=timeout,
        iterative=iterative,
        rootHintsFile=rootHintsFile,
        trustAnchorState=trustAnchorState,
        resolverTLS=resolverTLS,
        resolverTrustRootsFile=resolverTrustRootsFile,
    )


def _refuseUnescapedColons(prefix: str, values: dict[str, str], positional: list[str]) -> None:
    """
    Twisted splits an endpoint string at every colon that is not escaped: an IPv6 literal
    written as it is (C{host=::1}) leaves its first part as the option's value and the rest as
    positional fields. Say how to write it when the parts join into an IP address (in
    brackets, as a URL writes one, without them).
    """
    rest = ":".join(positional)
    candidates = [
        (name, f"{value}:{rest}")
        for name, value in values.items()
        if name in ("host", "bindAddress", "resolver")  # the options that take addresses
    ]
    if not values and len(positional) > 2:  # dane:::1:443
        candidates.append(("host", ":".join(positional[:-1])))
    for name, joined in candidates:
        if joined.startswith("["):
            _refuseBrackets(prefix, name, joined[1:].partition("]")[0])
        for part in joined.split(","):
            try:
                ipaddress.IPv6Address(part.split("#")[0].split("%")[0].strip())
            except ValueError:
                continue
            escaped = joined.replace(":", "\\:")
            raise EndpointStringError(
                f"{prefix}: {name}={joined}: escape each colon of an IPv6 address with a "
                f'backslash, as in {name}={escaped} (in Python source: r"{name}={escaped}")'
            )


def _refuseBrackets(prefix: str, name: str, inside: str) -> None:
    """
    Refuse an IPv6 address written in brackets, its colons not escaped (C{host=[::1]}),
    showing it as it is written: without brackets, each colon escaped.
    """
    if isAddress(inside):
        escaped = inside.replace(":", "\\:")
        raise EndpointStringError(
            f"{prefix}: {name}=[{inside}]: give the address without brackets, each colon "
            f"escaped with a backslash, as in {name}={escaped} (in Python source: "
            f'r"{name}={escaped}")'
        )

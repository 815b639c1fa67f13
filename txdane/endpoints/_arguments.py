"""
Checks of the arguments the endpoints are built with in Python, so that a wrong value fails
at once, naming the argument, instead of deep inside a connection attempt (or, worse, being
read as something else: a string given for a flag is true, a string given for a list of names
is a list of letters).

The endpoint strings check their options themselves (L{txdane.endpoints._strings}); these
are for the values they, and Python callers, hand to the constructors.

Tests: C{tests/endpoints/test_arguments.py}.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import dns.exception
import dns.name

from txdane.names import asciiHostName, isAddress, nameFromText

_T = TypeVar("_T")
_R = TypeVar("_R")


def checkedPort(port: object, what: str = "port") -> int:
    """
    C{port} as a TCP port (an C{int} from 1 to 65535).

    @raise TypeError: for anything but an C{int}.
    @raise ValueError: out of range.
    """
    if type(port) is not int:
        raise TypeError(f"{what} must be an int from 1 to 65535, not {port!r}")
    if not 0 < port < 65536:
        raise ValueError(f"{what} {port} is not in 1-65535")
    return port


#: The characters a host name is written with, besides non-ASCII letters (which IDNA maps):
#: ASCII letters, digits, hyphens, the underscores of service labels, and the dots between
#: labels.
_HOST_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.")

#: Why a character that no host name has was probably typed, for the message.
_CHARACTER_HINTS = {
    "*": "a wildcard names no one host",
    "@": "give the host alone, without a user name",
    "/": "give the host alone, without a scheme or a path",
    ":": "give the host alone: the port is given on its own",
}

#: What L{hostProblem} says of an address given for a domain.
_NOT_A_DOMAIN = "is an address, not a domain name"


def hostProblem(host: str, *, address: bool = True) -> str | None:
    """
    What is wrong with C{host} as an IP address literal or a host name, in words that
    follow it ("is not a host name: ..."); C{None} when nothing is.

    A host name is what DNS names a host with: labels of letters, digits and hyphens (not
    at either end), and the underscores of service labels, separated by dots, with an
    optional final dot; internationalized labels are taken, as IDNA maps them to A-labels
    (L{asciiHostName<txdane.names.asciiHostName>}). Anything else that DNS could name
    (a space, a slash, a wildcard, C{user@host}) is refused, and so is an address in
    brackets, as URLs write IPv6 ones.

    @param address: whether an IP address literal is taken too (not for a domain, such as
        an MX domain, which is a name).
    """
    if isAddress(host):
        if "%" in host and address:
            # The connection would be made without the zone index (the interface), which
            # a link-local address needs: it would fail with "Invalid argument".
            return (
                f"is a scoped IPv6 address: its zone index ({host.partition('%')[2]}) would"
                " be dropped, and a link-local address is not reached without it; give a"
                " global address"
            )
        return None if address else _NOT_A_DOMAIN
    if not address and _bracketsProblem(host) is not None:
        return _NOT_A_DOMAIN
    for problem in (_bracketsProblem, _structureProblem, _characterProblem, _labelProblem):
        found = problem(host)
        if found is not None:
            return found
    return None


def _bracketsProblem(host: str) -> str | None:
    """
    An IPv6 address in brackets, as a URL writes it (C{[::1]}, C{[::1]:443}).
    """
    if host.startswith("["):
        inside = host[1:].partition("]")[0]
        if isAddress(inside):
            return f"is an IP address in brackets: give the address without them ({inside})"
    return None


def _structureProblem(host: str) -> str | None:
    """
    What DNS refuses in C{host}: an empty label, a label or name too long, the root.
    """
    if not host:
        return "is not a host name: it is empty"
    try:
        name = nameFromText(host)
    except (dns.exception.DNSException, UnicodeError, ValueError) as e:
        return f"is not a host name: {e}"
    if name == dns.name.root:
        return "is not a host name: it names the root"
    return None


def _characterProblem(host: str) -> str | None:
    """
    The first ASCII character of C{host} that no host name has (a user name's C{@} or a
    URL's C{://} named before anything else they hold).
    """
    if "://" in host:
        return "is a URL, not a host name: give the host name alone"
    bad = [c for c in host if c.isascii() and c not in _HOST_CHARACTERS]
    if not bad:
        return None
    character = "@" if "@" in bad else bad[0]
    hint = _CHARACTER_HINTS.get(
        character, "a host name has letters, digits, hyphens and underscores, between dots"
    )
    return f"is not a host name: {character!r} is not allowed ({hint})"


def _labelProblem(host: str) -> str | None:
    """
    What is wrong with the labels of C{host}, written with the right characters: a hyphen
    at either end of one, an internationalized label IDNA refuses, or a top-level label
    that is all digits.
    """
    try:
        name = asciiHostName(host)
    except ValueError as e:
        if str(e):
            return f"is not a host name: {e}"
        if any(label.startswith("-") or label.endswith("-") for label in host.split(".")):
            return "is not a host name: a label starts or ends with a hyphen"
        return "is not a host name: a label has a character no host name has"
    if name.rpartition(".")[2].isdigit():
        # RFC 1123 section 2.1: a top-level label is never all digits, so this was meant as
        # an address.
        return "is neither an IP address nor a host name"
    return None


def checkedHost(host: object, what: str = "host", *, address: bool = True) -> str:
    """
    C{host} as a host name or an IP address literal (L{hostProblem}).

    @param address: whether an IP address literal is taken (not for a domain).
    @raise TypeError: for anything but a C{str}.
    @raise ValueError: for text that is neither, naming C{what} and saying why.
    """
    if not isinstance(host, str):
        kind = "a host name or an IP address" if address else "a domain name"
        raise TypeError(f"{what} must be {kind} as str, not {host!r}")
    problem = hostProblem(host, address=address)
    if problem is not None:
        raise ValueError(f"{what} {host!r} {problem}")
    return host


def checkedBindAddress(value: object) -> tuple[str, int]:
    """
    C{value} as a local address to bind to: C{(IP address, port)}, the port 0 for any.

    @raise TypeError: for anything but a pair of a C{str} and an C{int}.
    @raise ValueError: for an address that is not an IP address, or a port out of range.
    """
    if not (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and type(value[1]) is int
    ):
        raise TypeError(f"bindAddress must be (IP address, port), not {value!r}")
    host, port = value
    if not isAddress(host):
        raise ValueError(f"bindAddress {host!r} is not an IP address")
    if not 0 <= port < 65536:
        raise ValueError(f"bindAddress port {port} is not in 0-65535")
    return (host, port)


def checkedSeconds(value: object, what: str) -> float:
    """
    C{value} as a number of seconds: a finite number above zero.

    @raise TypeError: for anything but an C{int} or C{float}.
    @raise ValueError: for zero, a negative number, infinity or NaN.
    """
    if type(value) not in (int, float):
        raise TypeError(f"{what} must be a number of seconds, not {value!r}")
    seconds = float(value)  # type: ignore[arg-type]
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{what} {value!r} is not a positive number of seconds")
    return seconds


def checkedFlag(value: object, what: str) -> bool:
    """
    C{value} as a flag: only C{True} and C{False} (a string such as C{"no"} would be true).

    @raise TypeError: for anything else.
    """
    if type(value) is not bool:
        raise TypeError(f"{what} must be True or False, not {value!r}")
    return value


def checkedSequence(values: object, what: str, itemType: type[_T], describe: str) -> tuple[_T, ...]:
    """
    C{values} as a tuple of C{itemType} items: a sequence, not one C{str} or C{bytes}
    (which would otherwise be read item by item, one letter or one byte at a time).

    @param describe: what an item is, in words, for the message.
    @raise TypeError: for one string, something that is not a sequence, or an item of another
        type.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{what} must be a sequence of {describe}, not {values!r}")
    items = tuple(values)
    for item in items:
        if not isinstance(item, itemType):
            raise TypeError(f"{what} must be a sequence of {describe}; {item!r} is not one")
    return items


def checkedInstance(value: object, what: str, kind: type[_T], hint: str = "") -> _T:
    """
    C{value}, which must be a C{kind}.

    @param hint: added to the message, e.g. how to make one from a file.
    @raise TypeError: otherwise.
    """
    if not isinstance(value, kind):
        extra = f" ({hint})" if hint else ""
        raise TypeError(f"{what} must be a {kind.__name__}, not {value!r}{extra}")
    return value


def checkedCallable(value: object, what: str) -> Callable[..., Any]:
    """
    C{value}, which must be callable.

    @raise TypeError: otherwise.
    """
    if not callable(value):
        raise TypeError(f"{what} must be callable, not {value!r}")
    return value


def checkedResolver(resolver: _R) -> _R:
    """
    C{resolver}, which must be a validating resolver (it must have the lookups of
    L{IDNSSECResolver<txdane.validation.interfaces.IDNSSECResolver>}), not the settings one is
    built from.

    @raise TypeError: otherwise.
    """
    missing = [
        name
        for name in ("lookup", "lookupAddress", "lookupTLSA")
        if not callable(getattr(resolver, name, None))
    ]
    if missing:
        hint = ""
        if callable(getattr(resolver, "build", None)):
            hint = " (these look like resolver settings: give settings.build(reactor))"
        raise TypeError(f"resolver must be a validating resolver, not {resolver!r}{hint}")
    return resolver

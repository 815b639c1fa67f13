"""
Name servers and query settings: parsed from C{/etc/resolv.conf} or given explicitly.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from txdane.errors import TxdaneError

#: Port of a name server when none is given.
DEFAULT_PORT = 53
#: Seconds to wait for one answer from one server (glibc's default for C{options timeout:}).
DEFAULT_TIMEOUT = 5.0
#: Rounds over the server list (glibc's default for C{options attempts:}).
DEFAULT_ATTEMPTS = 2
#: glibc's caps on C{options timeout:} and C{options attempts:}.
MAX_TIMEOUT = 30.0
MAX_ATTEMPTS = 5
#: The forms of a name server address L{NameServer.fromString} reads, for its errors.
FORMS = "ADDR or ADDR#PORT, e.g. 192.0.2.1#5353, ::1#5353 or [::1]#5353"
#: How many C{nameserver} lines count (glibc's C{MAXNS}); later ones are ignored.
MAX_NAMESERVERS = 3


class NameServerError(TxdaneError, ValueError):
    """
    A name server address could not be understood.

    @ivar message: what is wrong, one line.
    """

    message: str
    template = "{message}"


@dataclass(frozen=True, order=True)
class NameServer:
    """
    The address and port of a DNS server.

    @ivar host: an IPv4 or IPv6 address literal (IPv6 may carry a C{%scope}).
    @ivar port: the UDP and TCP port.
    """

    host: str
    port: int = DEFAULT_PORT

    def __post_init__(self) -> None:
        try:
            if not isinstance(self.host, str):
                raise ValueError
            # Only IPv6 addresses take a %scope; an IPv4 one with it would fail every send.
            ipaddress.ip_address(self.host)
        except ValueError:
            raise NameServerError(
                f"name server {self.host!r} is not an IPv4 or IPv6 address"
            ) from None
        if isinstance(self.port, bool) or not isinstance(self.port, int):
            raise NameServerError(f"name server port {self.port!r} is not a number in 1-65535")
        if not 0 < self.port < 65536:
            raise NameServerError(f"name server port {self.port!r} is not in 1-65535")

    @property
    def isIPv6(self) -> bool:
        """
        Whether C{host} is an IPv6 address.
        """
        return ":" in self.host

    @classmethod
    def fromString(cls, text: str) -> NameServer:
        """
        Parse C{ADDR} or C{ADDR#PORT} (the BIND and Unbound notation), where an IPv6 C{ADDR}
        may be in brackets (C{[::1]#5353}, also C{[::1]:5353} as in URLs). White space around
        the text is ignored; inside it, it is refused (C{"192.0.2.1# 53"} is a typo).

        @raise NameServerError: if C{text} is not one of those, saying which forms are.
        """
        text = text.strip()

        def refused(problem: str, forms: bool = True) -> NameServerError:
            also = f" (give {FORMS})" if forms else ""
            return NameServerError(f"name server {text!r}: {problem}{also}")

        if not text:
            raise refused("no address")
        if any(c.isspace() for c in text):
            raise refused("white space inside")
        host, hasPort, port = text.partition("#")
        if "#" in port:
            raise refused("more than one '#'")
        if host.startswith("["):
            host, closed, after = host[1:].partition("]")
            if not closed:
                raise refused("'[' without ']'")
            if after and (hasPort or not after.startswith(":")):
                raise refused(f"{after!r} after ']'")
            if after:
                hasPort, port = "#", after[1:]
            if isinstance(_address(host), ipaddress.IPv4Address):
                raise refused("brackets are for IPv6 addresses only")
        elif "]" in host:
            raise refused("']' without '['")
        else:
            address, colon, number = host.rpartition(":")
            if colon and number.isdigit() and isinstance(_address(address), ipaddress.IPv4Address):
                raise refused(f"the port goes after '#': {address}#{number}", forms=False)
        if _address(host) is None:
            raise refused(f"{host!r} is not an IPv4 or IPv6 address" if host else "no address")
        if not hasPort:
            return cls(host)
        if not re.fullmatch("[0-9]{1,5}", port):
            raise refused(f"port {port!r} is not a number")
        if not 0 < int(port) < 65536:
            raise refused(f"port {int(port)} is not in 1-65535")
        return cls(host, int(port))

    @classmethod
    def fromValue(cls, value: NameServer | str | tuple[str, int]) -> NameServer:
        """
        Accept a L{NameServer}, an C{address#port} string or an C{(address, port)} tuple.
        """
        if isinstance(value, NameServer):
            return value
        if isinstance(value, str):
            return cls.fromString(value)
        if isinstance(value, tuple) and len(value) == 2:
            return cls(str(value[0]), value[1])
        raise NameServerError(f"cannot use {value!r} as a name server")

    def __str__(self) -> str:
        return self.host if self.port == DEFAULT_PORT else f"{self.host}#{self.port}"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """
    The IP address C{text} is, or C{None}.
    """
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class ResolverConfig:
    """
    What C{resolv.conf} says about querying: servers, per-attempt timeout, rounds, rotation.
    """

    servers: tuple[NameServer, ...] = field(default_factory=tuple)
    timeout: float = DEFAULT_TIMEOUT
    attempts: int = DEFAULT_ATTEMPTS
    rotate: bool = False


def parseResolvConf(lines: Iterable[str]) -> ResolverConfig:
    """
    Read the lines of a C{resolv.conf} file the way glibc does for the parts that matter here:
    C{nameserver} (IPv4 and IPv6; the first L{MAX_NAMESERVERS} usable ones), and
    C{options timeout:N attempts:N rotate}. Unknown
    keywords and unparseable addresses are skipped, as the C library skips them. With no usable
    C{nameserver} line the local host is used, as the C library does.
    """
    servers: list[NameServer] = []
    timeout, attempts, rotate = DEFAULT_TIMEOUT, DEFAULT_ATTEMPTS, False
    for raw in lines:
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        words = line.split()
        if not words:
            continue
        if words[0] == "nameserver" and len(words) >= 2:
            if len(servers) >= MAX_NAMESERVERS:
                continue
            try:
                servers.append(NameServer(words[1]))
            except NameServerError:
                continue
        elif words[0] == "options":
            for option in words[1:]:
                name, _, value = option.partition(":")
                try:
                    if name == "timeout":
                        timeout = min(max(float(int(value)), 1.0), MAX_TIMEOUT)
                    elif name == "attempts":
                        attempts = min(max(int(value), 1), MAX_ATTEMPTS)
                except ValueError:
                    continue
                if name == "rotate":
                    rotate = True
    if not servers:
        servers = [NameServer("127.0.0.1")]
    return ResolverConfig(tuple(servers), timeout, attempts, rotate)


def readResolvConf(path: str = "/etc/resolv.conf") -> ResolverConfig:
    """
    Parse the file at C{path}; a missing or unreadable file gives the C library's defaults.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parseResolvConf(f)
    except OSError:
        return parseResolvConf([])


def nameServers(values: Sequence[NameServer | str | tuple[str, int]]) -> tuple[NameServer, ...]:
    """
    Convert each of C{values} with L{NameServer.fromValue}.

    @raise TypeError: if C{values} is not a list (or other sequence) of servers: one server
        (a string, one C{(address, port)} pair, a L{NameServer}) is refused, not read as a
        sequence of characters or of an address and a port.
    """
    value: object = values
    one: object
    if isinstance(value, (str, bytes, NameServer)):
        one = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        what = f"a {type(value).__name__}"
    elif (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and type(value[1]) is int
    ):
        one, what = value, "one (address, port) pair"
    elif not isinstance(value, Iterable):
        raise TypeError(f"servers must be a list of name servers, not {value!r}")
    else:
        return tuple(NameServer.fromValue(v) for v in values)
    raise TypeError(f"servers must be a list of name servers, not {what}: give [{one!r}]")

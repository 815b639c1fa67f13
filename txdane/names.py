"""
Domain names as txdane uses them, at the bottom of the layers: the owner names of service
records (TLSA at C{_port._proto.host}) and the conversion of user-given text to names.
"""

from __future__ import annotations

import ipaddress
import re

import dns.exception
import dns.name

from txdane.errors import TLSAFormatError

__all__ = ["asName", "asciiHostName", "isAddress", "tlsaName"]


def asName(name: dns.name.Name | str) -> dns.name.Name:
    """
    C{name} as an absolute C{dns.name.Name} (text is read as absolute; the root is C{"."}).

    Nothing else is read as a name: dnspython reads C{None} and the empty text as the root,
    so a missing value would be a lookup at the root, whose secure denial of a C{_443._tcp.}
    TLSA record would read as "no TLSA records here".

    @raise TypeError: for anything but a C{dns.name.Name} or a C{str}.
    @raise ValueError: for the empty text.
    @raise dns.exception.DNSException: for text that is no domain name.
    """
    if isinstance(name, dns.name.Name):
        return name
    if not isinstance(name, str):
        raise TypeError(f"a domain name must be a str or a dns.name.Name, not {name!r}")
    if not name:
        raise ValueError('the empty text is not a domain name (the root is ".")')
    return dns.name.from_text(name)


def tlsaName(host: dns.name.Name | str, port: int, protocol: str = "tcp") -> dns.name.Name:
    """
    The owner name of the TLSA records for a service: C{_port._protocol.host.}
    (RFC 6698 section 3).

    @raise TLSAFormatError: for a port out of range, a bad protocol label or host name (it is
        also a C{ValueError}).
    @raise TypeError: for a port that is not an C{int} (C{True} would be the label C{_True})
        or a host that is neither text nor a name.
    """
    if type(port) is not int:
        raise TypeError(f"port must be an int, not {port!r}")
    if not 0 <= port <= 65535:
        raise TLSAFormatError(f"port {port} is out of range")
    if not protocol or "." in protocol:
        raise TLSAFormatError(f"bad protocol label {protocol!r}")
    try:
        return dns.name.Name([f"_{port}".encode(), f"_{protocol}".encode()]).concatenate(
            asName(host)
        )
    except (dns.exception.DNSException, ValueError) as e:  # e.g. an empty or long label
        raise TLSAFormatError(str(e)) from None


def isAddress(text: str) -> bool:
    """
    Whether C{text} is an IPv4 or IPv6 address literal (not a name).
    """
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


#: A label of a host name after IDNA: letters, digits, hyphens (not at either end), and the
#: underscores of service names.
_HOST_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")


def asciiHostName(text: str) -> str:
    """
    The host name C{text} (internationalized names are taken) in ASCII, its labels in
    A-labels, without a final dot.

    @raise ValueError: for text that is no host name; the reason, when there is more to say
        than that, is the message.
    """
    try:
        name = dns.name.from_unicode(text.rstrip(".") or ".")
    except (dns.exception.DNSException, UnicodeError, ValueError) as e:
        raise ValueError(str(e)) from None
    labels = [label.decode("ascii", "replace") for label in name.labels if label]
    if not labels or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError("")
    return name.to_text(omit_final_dot=True)

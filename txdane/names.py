"""
Domain names as txdane uses them, at the bottom of the layers: the owner names of service
records (TLSA at C{_port._proto.host}), the conversion of user-given text to names, and the
domains SMTP takes (in addresses and C{EHLO}), which are fewer than DNS allows.
"""

from __future__ import annotations

import ipaddress
import re
import string

import dns.exception
import dns.name

from txdane.errors import TLSAFormatError

__all__ = [
    "IDNA_CODEC",
    "asName",
    "asciiHostName",
    "heloDomain",
    "isAddress",
    "mailDomain",
    "nameFromText",
    "tlsaName",
]

#: How txdane writes an internationalized name in DNS: IDNA 2008 with the UTS 46 mapping
#: (C{Stra\u00dfe} is C{xn--strae-oqa}, as browsers and registries write it), whatever
#: dnspython's default (IDNA 2003, which makes it C{strasse}, before dnspython 2.9).
IDNA_CODEC = dns.name.IDNA_2008_Practical


def nameFromText(text: str | bytes, origin: dns.name.Name | None = dns.name.root) -> dns.name.Name:
    """
    C{dns.name.from_text} with txdane's IDNA codec (C{IDNA_CODEC}): every name txdane reads
    from text is the same name with every release of dnspython it supports.

    @raise dns.exception.DNSException: for text that is no domain name.
    """
    return dns.name.from_text(text, origin, idna_codec=IDNA_CODEC)


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
    return nameFromText(name)


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
        name = dns.name.from_unicode(text.rstrip(".") or ".", idna_codec=IDNA_CODEC)
    except (dns.exception.DNSException, UnicodeError, ValueError) as e:
        raise ValueError(str(e)) from None
    labels = [label.decode("ascii", "replace") for label in name.labels if label]
    if not labels or not all(_HOST_LABEL.match(label) for label in labels):
        raise ValueError("")
    return name.to_text(omit_final_dot=True)


#: A label of a mail domain in ASCII (RFC 5321 section 4.1.2, C{sub-domain}): letters, digits
#: and hyphens, a hyphen neither first nor last. DNS allows more (the underscores of service
#: names), SMTP does not.
_MAIL_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")

#: What a mail domain may hold in ASCII, dots included; other characters (non-ASCII) are left
#: to IDNA.
_MAIL_DOMAIN_ASCII = frozenset(string.ascii_letters + string.digits + "-.")


def mailDomain(domain: str) -> str:
    """
    A domain as SMTP takes it (RFC 5321 section 4.1.2, C{Domain}): a DNS name whose labels
    are letters, digits and hyphens, a hyphen neither first nor last; an internationalized
    domain is taken and given in A-labels. The one check of a mail domain, for
    L{txdane.mail.mailAddress} (and through it L{txdane.mail.recipientDomain}) and for the
    argument of C{EHLO} (L{heloDomain}): what reaches an SMTP command or an MX lookup is what
    RFC 5321 allows, never a name only DNS allows (C{mail_host.example}).

    Every ASCII character of C{domain} is checked as given, before the name is read: DNS
    text reads a backslash as an escape (C{exa\\mple.org} would become C{example.org}, and
    C{\\095} an underscore). The labels are checked again in A-labels, so that nothing IDNA
    maps to ASCII gets past.

    @return: the domain in ASCII, without a final dot.
    @raise ValueError: saying what is wrong.
    """
    for character in domain:
        if character.isascii() and character not in _MAIL_DOMAIN_ASCII:
            raise ValueError(
                f"{domain!r} is not a valid domain name ({character!r}: a mail domain has "
                "only letters, digits and hyphens, RFC 5321)"
            )
    if domain.endswith(".."):
        # asciiHostName takes one final dot, and would drop them all.
        raise ValueError(f"{domain!r} is not a valid domain name ({dns.name.EmptyLabel()})")
    for label in domain.removesuffix(".").split("."):
        if label.startswith("-") or label.endswith("-"):
            raise ValueError(
                f"{domain!r} is not a valid domain name ({label!r}: a label of a mail domain "
                "neither starts nor ends with a hyphen, RFC 5321)"
            )
    try:
        ascii = asciiHostName(domain)
    except ValueError as e:
        why = f" ({e})" if str(e) else ""
        raise ValueError(f"{domain!r} is not a valid domain name{why}") from None
    for label in ascii.split("."):
        if not _MAIL_LABEL.match(label):
            raise ValueError(
                f"{domain!r} is not a valid domain name ({label!r}: a label of a mail domain "
                "has only letters, digits and hyphens, a hyphen neither first nor last, "
                "RFC 5321)"
            )
    return ascii


def heloDomain(name: object) -> str:
    """
    Check C{name} as the argument of C{EHLO} (RFC 5321 section 4.1.1.1): a domain as
    L{mailDomain} checks one (letters, digits and hyphens; an internationalized domain in
    A-labels), or, for a host without a name (section 4.1.4), an address literal:
    C{[192.0.2.1]} or C{[IPv6:2001:db8::1]}. A server that checks its clients' greetings
    (Postfix's C{reject_invalid_helo_hostname}) refuses any other, after the connection is
    made: each MX host would fail the delivery for the same mistake.

    @return: the name as it is sent: in ASCII, without a final dot.
    @raise ValueError: saying what is wrong.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"heloName {name!r} is not a host name or an address literal")
    if name.startswith("[") and name.endswith("]"):
        inner = name[1:-1]
        version, text = (6, inner[5:]) if inner[:5].lower() == "ipv6:" else (4, inner)
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            address = None
        if address is None or address.version != version:
            raise ValueError(
                f"heloName {name!r} is not an address literal ([192.0.2.1] or "
                "[IPv6:2001:db8::1], RFC 5321 section 4.1.3)"
            )
        return name
    if isAddress(name):
        literal = f"[{name}]" if ":" not in name else f"[IPv6:{name}]"
        raise ValueError(f"heloName {name!r} is an address: greet with the literal {literal}")
    try:
        return mailDomain(name)
    except ValueError as e:
        raise ValueError(f"heloName: {e}") from None

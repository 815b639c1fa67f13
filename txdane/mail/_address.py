"""
The addresses mail is sent from and to: L{mailAddress} checks one, L{recipientDomain} finds
the one domain of the recipients.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email.utils import parseaddr

from txdane.names import isAddress, mailDomain

#: An atom of a local part (RFC 5321 section 4.1.2, C{atext}).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"

#: A local part as RFC 5321 spells it: atoms separated by single dots, or a quoted string.
#: Quoted pairs (backslashes) are left out: twisted.mail cannot send an escaped quote.
_LOCAL_PART = re.compile(rf'(?:{_ATOM}(?:\.{_ATOM})*|"[ !#-\[\]-~]*")\Z')

#: The longest local part and address an SMTP server must accept (RFC 5321 section 4.5.3.1).
MAX_LOCAL_PART = 64
MAX_ADDRESS = 254


def mailAddress(text: str) -> str:
    """
    Check that C{text} is an address mail can be sent from or to here: a plain
    C{local@domain} (RFC 5321), its local part in ASCII (SMTPUTF8 is not supported), its
    domain a DNS name as RFC 5321 spells one: letters, digits and hyphens (no underscore,
    which DNS alone allows), a hyphen neither first nor last in a label; not an address
    literal (mail goes to a domain's MX hosts). Nothing else gets into the SMTP commands: a
    line break or an angle bracket in an address would add a command of the caller's
    making, or a recipient in another domain.

    @return: the address, its domain in ASCII (an internationalized domain in A-labels) and
        without a final dot.
    @raise ValueError: saying what is wrong.
    @raise TypeError: for anything but a C{str}.
    """
    if not isinstance(text, str):
        raise TypeError(f"an address must be a str, not {text!r}")
    if text.endswith(">"):
        # "Name <addr>" or "<addr>": no domain ends with ">", so this is never an addr-spec.
        bare = parseaddr(text)[1]
        hint = f": {bare}" if bare else ""
        raise ValueError(f"give the address alone, without a name or angle brackets{hint}")
    local, at, domain = text.rpartition("@")
    if not (at and local and domain):
        raise ValueError("not an address with a domain")
    if not local.isascii():
        raise ValueError("a non-ASCII local part needs SMTPUTF8 (RFC 6531), which is not supported")
    if not _LOCAL_PART.match(local):
        if local.startswith('"') and "\\" in local:
            raise ValueError("a quoted local part with a backslash, which cannot be sent")
        raise ValueError(f"{local!r} is not a valid local part (RFC 5321)")
    if len(local) > MAX_LOCAL_PART:
        raise ValueError(f"the local part is longer than {MAX_LOCAL_PART} characters")
    if domain.startswith("["):
        raise ValueError(
            f"{domain} is an address literal, which is not supported: mail goes to the MX "
            "hosts of a domain"
        )
    if isAddress(domain):
        raise ValueError(f"{domain} is an address, not a domain: mail goes to its MX hosts")
    address = f"{local}@{mailDomain(domain)}"
    if len(address) > MAX_ADDRESS:
        raise ValueError(f"longer than {MAX_ADDRESS} characters")
    return address


def recipientDomain(recipients: Sequence[str]) -> str:
    """
    The one domain of C{recipients}.

    @raise ValueError: for no recipient, an address L{mailAddress} refuses, or several
        domains.
    """
    domains = set()
    for recipient in recipients:
        try:
            checked = mailAddress(recipient)
        except ValueError as e:
            raise ValueError(f"{recipient!r}: {e}") from None
        domains.add(checked.rpartition("@")[2].lower())
    if not domains:
        raise ValueError("no recipient")
    if len(domains) > 1:
        raise ValueError(f"the recipients are in several domains: {', '.join(sorted(domains))}")
    return domains.pop()

"""
Where a domain wants its reports: the C{rua} of its TLSRPT record, the C{_smtp._tls} TXT
record (RFC 8460 section 3), parsed (L{parseTLSRPTRecord}) and looked up
(L{lookupReportAddresses}).

Tests: C{tests/tlsrpt/test_record.py}.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import dns.rdatatype
from twisted.internet.defer import Deferred

from txdane.errors import LookupFailedError
from txdane.tlsrpt._errors import TLSRPTError, TLSRPTLookupError
from txdane.tlsrpt._results import _domain

if TYPE_CHECKING:
    from txdane.validation.interfaces import IDNSSECResolver

#: A field of a TLSRPT record other than the version (RFC 8460 section 3).
_EXTENSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
_EXTENSION_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+")

#: The start of a TLSRPT record: records that do not start so are not TLSRPT records.
_VERSION = re.compile(r"v=TLSRPTv1[ \t]*(?:;|$)")


def _shown(text: str) -> str:
    """
    C{text} as an error message quotes it: its first 80 characters, as a Python literal, so
    that a message stays one short line however long the record.
    """
    return repr(text[:80]) + ("..." if len(text) > 80 else "")


def _checkURI(uri: str, record: str) -> None:
    """
    Check one C{rua} URI: C{mailto:} with an address, or C{https:} with a host; another
    scheme only for its syntax (RFC 3986), since it may name a later way of sending.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[\x21-\x7e]+", uri) or "," in uri:
        raise TLSRPTError(f"{_shown(record)}: {_shown(uri)} is not a URI")
    scheme = uri.split(":", 1)[0].lower()
    if scheme == "mailto":
        address = unquote(uri.split(":", 1)[1].split("?", 1)[0])
        local, at, domain = address.rpartition("@")
        if not (at and local and domain) or any(c.isspace() for c in address):
            raise TLSRPTError(f"{_shown(record)}: {_shown(uri)} names no mail address")
    elif scheme == "https":
        try:
            parts = urlsplit(uri)
        except ValueError:  # an unbalanced "[" or "]" of an IPv6 host
            raise TLSRPTError(f"{_shown(record)}: {_shown(uri)} is not a URI") from None
        if not parts.hostname:
            raise TLSRPTError(f"{_shown(record)}: {_shown(uri)} names no host")


def parseTLSRPTRecord(text: str) -> tuple[str, ...]:
    """
    The reporting URIs (C{rua}) of a TLSRPT record (RFC 8460 section 3)::

        >>> parseTLSRPTRecord("v=TLSRPTv1; rua=mailto:a@x.example,https://r.example/tlsrpt")
        ('mailto:a@x.example', 'https://r.example/tlsrpt')

    Fields are separated by C{;} with optional blanks around it (and may end with one); the
    version C{v=TLSRPTv1} comes first, C{rua} once; other fields (extensions) must be well
    formed and are ignored.

    @raise TLSRPTError: the text is not a well-formed TLSRPT record, or has no C{rua}.
    """
    if not _VERSION.match(text):
        raise TLSRPTError(f"{_shown(text)} does not start with v=TLSRPTv1")
    fields = [field.strip(" \t") for field in text.split(";")]
    if len(fields) > 1 and fields[-1] == "":
        fields.pop()  # a final ";"
    addresses: tuple[str, ...] | None = None
    for field in fields[1:]:
        name, equals, value = field.partition("=")
        if not equals or not _EXTENSION_NAME.fullmatch(name):
            raise TLSRPTError(f"{_shown(text)}: {_shown(field)} is not a field")
        if name == "rua":
            if addresses is not None:
                raise TLSRPTError(f"{_shown(text)}: rua is given twice")
            uris = tuple(uri.strip(" \t") for uri in value.split(","))
            for uri in uris:
                _checkURI(uri, text)
            addresses = uris
        elif not _EXTENSION_VALUE.fullmatch(value):
            raise TLSRPTError(f"{_shown(text)}: {_shown(field)} is not a field")
    if addresses is None:
        raise TLSRPTError(f"{_shown(text)} has no rua")
    return addresses


def lookupReportAddresses(resolver: IDNSSECResolver, domain: str) -> Deferred[tuple[str, ...]]:
    """
    Where C{domain} wants its reports: the C{rua} URIs of its TLSRPT record, the TXT record
    at C{_smtp._tls.DOMAIN} that starts with C{v=TLSRPTv1} (RFC 8460 section 3), looked up
    with C{resolver}. A TXT record's strings are joined; TXT records that do not start with
    the version are ignored. A secure or insecure answer is used (DNSSEC is not required).

    @return: a Deferred firing with the URIs, or C{()} when the domain has no such record
        (no name, no TXT record, or none with the version); failing with a L{TLSRPTError}
        when it has several or a malformed one (the domain then takes no report, section 3),
        or with a L{TLSRPTLookupError} when the lookup failed or its answer is bogus or
        indeterminate.
    """
    name = f"_smtp._tls.{_domain(domain)}."

    async def lookup() -> tuple[str, ...]:
        try:
            answer = await resolver.lookup(name, dns.rdatatype.TXT)
        except LookupFailedError as e:
            raise TLSRPTLookupError(str(e)) from e
        problem = answer.problem()
        if problem is not None:
            raise TLSRPTLookupError(f"{name} TXT: {problem}")
        records = []
        for rdata in answer.records:
            text = b"".join(rdata.strings).decode("utf-8", "replace")
            if _VERSION.match(text):
                records.append(text)
        if not records:
            return ()
        if len(records) > 1:
            raise TLSRPTError(f"{name} has {len(records)} TLSRPT records, so none is used")
        return parseTLSRPTRecord(records[0])

    return Deferred.fromCoroutine(lookup())

"""
A fake validating resolver answering from a table, for tests of the layers above validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
from twisted.internet.defer import Deferred, fail, succeed
from zope.interface import implementer

from txdane.status import Status
from txdane.validation import Answer, IDNSSECResolver
from txdane.validation.lookups import TypedLookups

NAME = "www.example.test."


def answer(
    rdtype: str, *rdatas: str, status: Status = Status.SECURE, name: str = NAME, **kw: Any
) -> Answer:
    rrset = dns.rrset.from_text(name, 300, "IN", rdtype, *rdatas) if rdatas else None
    return Answer(
        name=dns.name.from_text(name),
        rdtype=dns.rdatatype.from_text(rdtype),
        rcode=kw.pop("rcode", dns.rcode.NOERROR),
        rrset=rrset,
        status=status,
        reason=kw.pop("reason", "" if status is Status.SECURE else f"test says {status}"),
        **kw,
    )


@implementer(IDNSSECResolver)
class FakeResolver(TypedLookups):
    """
    Answers from a table of (name, type) -> Answer or exception.
    """

    def __init__(self, table: Mapping[tuple[str, str], Answer | Exception]) -> None:
        self.table = table
        self.asked: list[tuple[str, str]] = []

    def lookup(self, name: Any, rdtype: Any) -> Deferred[Answer]:
        key = (str(dns.name.from_text(str(name))), dns.rdatatype.to_text(rdtype))
        self.asked.append(key)
        result = self.table[key]
        if isinstance(result, Exception):
            return fail(result)
        return succeed(result)

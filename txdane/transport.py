"""
The transport layer: an EDNS(0) DNS client over Twisted, returning dnspython messages.
"""

from __future__ import annotations

from typing import Protocol

import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
from twisted.internet.defer import Deferred

from txdane.errors import TxdaneError


class DNSError(TxdaneError):
    """
    A DNS query failed.
    """


class DNSQuerier(Protocol):
    """
    Anything that can send one DNS query and deliver the matching response: L{DNSClient}, or a
    fake in tests. The validator is written against this.
    """

    def query(
        self,
        name: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str | int,
        rdclass: dns.rdataclass.RdataClass | str | int = dns.rdataclass.IN,
        *,
        dnssecOK: bool = False,
        checkingDisabled: bool = False,
        recursionDesired: bool = True,
    ) -> Deferred[dns.message.Message]:
        """
        Send one query and return a Deferred that fires with the response, or fails with a
        L{DNSError}: L{DNSTimeoutError}, L{DNSServerError} (an RCODE other than NOERROR and
        NXDOMAIN), L{DNSMalformedError} or L{EDNSUnsupportedError}. NXDOMAIN is a response,
        not an error.
        """

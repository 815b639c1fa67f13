"""
The interface every validating resolver of txdane provides.
"""

from __future__ import annotations

import dns.name
import dns.rdatatype
from twisted.internet.defer import Deferred
from zope.interface import Interface


class IDNSSECResolver(Interface):
    """
    Looks up DNS data and says how far it can be trusted.

    Every lookup returns a C{Deferred} that fires with an
    L{Answer<txdane.validation.answer.Answer>} (whose status may be secure, insecure, bogus or
    indeterminate), or fails with
    L{LookupFailedError<txdane.errors.LookupFailedError>} when the lookup could not
    complete (timeout, SERVFAIL, malformed response, a work limit). A failure is never reported
    as an answer without records.

    Of the work limits (L{ValidationLimits<txdane.validation.limits.ValidationLimits>}),
    those on signature checks (per RRset and per lookup: KeyTrap), keys per key tag, DS
    mismatches and NSEC3 records per proof make the data bogus (EDE 6 or 27), as Unbound and
    Knot Resolver do; those on queries, NSEC3 hashes, the CNAME chain and time fail the
    lookup with a L{WorkLimitExceededError<txdane.errors.WorkLimitExceededError>}. NSEC3
    iterations over the limit make a denial insecure (RFC 9276; see C{strictNSEC3Iterations});
    no other limit makes data read as unsigned, or as proven absent.
    """

    def lookup(name: dns.name.Name | str, rdtype: dns.rdatatype.RdataType | str | int) -> Deferred:
        """
        Look up C{rdtype} records of C{name}, following CNAME and DNAME records.

        @return: C{Deferred} firing with an L{Answer<txdane.validation.answer.Answer>}.
        """

    def lookupAddress(name: dns.name.Name | str) -> Deferred:
        """
        Look up the A and AAAA records of C{name}.

        @return: C{Deferred} firing with a tuple of two answers, A then AAAA.
        """

    def lookupTLSA(host: dns.name.Name | str, port: int, proto: str = "tcp") -> Deferred:
        """
        Look up the TLSA records of C{_port._proto.host} (RFC 6698 section 3).
        """

    def lookupMX(name: dns.name.Name | str) -> Deferred:
        """
        Look up the MX records of C{name}.
        """

    def lookupSRV(name: dns.name.Name | str) -> Deferred:
        """
        Look up the SRV records of C{name} (e.g. C{_xmpp-client._tcp.example.com}).
        """

    def lookupSSHFP(name: dns.name.Name | str) -> Deferred:
        """
        Look up the SSHFP records of C{name}.
        """

    def lookupDS(name: dns.name.Name | str) -> Deferred:
        """
        Look up the DS records of C{name} (answered by the parent zone).
        """

    def lookupDNSKEY(name: dns.name.Name | str) -> Deferred:
        """
        Look up the DNSKEY records of C{name}.
        """

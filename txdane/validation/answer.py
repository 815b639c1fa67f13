"""
What a validated lookup returns: the data or its proven absence, with the evidence.
"""

from __future__ import annotations

import dataclasses

import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rrset

from txdane.errors import InsecureAnswerError
from txdane.status import Status


@dataclasses.dataclass(frozen=True)
class SignatureUse:
    """
    A signature that validated an RRset.

    @ivar owner: the owner name of the RRset.
    @ivar covered: the type the signature covers.
    @ivar signer: the zone that signed it.
    @ivar keyTag: the key tag of the DNSKEY that verified it.
    @ivar algorithm: the signature's algorithm number.
    @ivar inception: the start of its validity, seconds since the epoch.
    @ivar expiration: the end of its validity, seconds since the epoch.
    """

    owner: dns.name.Name
    covered: dns.rdatatype.RdataType
    signer: dns.name.Name
    keyTag: int
    algorithm: int
    inception: int
    expiration: int


@dataclasses.dataclass(frozen=True)
class ZoneTrust:
    """
    One zone of the chain of trust, as used for an answer.

    @ivar zone: the zone's apex.
    @ivar status: the zone's status: secure when its DNSKEY RRset is proven, insecure below an
        unsigned delegation or with only unsupported algorithms, bogus when the proof failed.
    @ivar ds: the DS RRset (from the parent, or the trust anchor's DS), or C{None}.
    @ivar dnskey: the zone's DNSKEY RRset, or C{None} when it was not needed or not found.
    @ivar anchored: whether the zone's keys were proven by a configured trust anchor.
    @ivar dsKeyTags: key tags of the DNSKEYs that a DS (or anchor) matched and that signed the
        DNSKEY RRset.
    @ivar signatures: the signatures that proved the DS and DNSKEY RRsets.
    @ivar reason: why the zone has its status, one line.
    """

    zone: dns.name.Name
    status: Status
    ds: dns.rrset.RRset | None = None
    dnskey: dns.rrset.RRset | None = None
    anchored: bool = False
    dsKeyTags: tuple[int, ...] = ()
    signatures: tuple[SignatureUse, ...] = ()
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class ChainLink:
    """
    One CNAME or DNAME record followed on the way to the answer.

    @ivar rrset: the CNAME or DNAME RRset.
    @ivar status: the status of that link.
    @ivar synthesized: for a CNAME, whether it was synthesized from a DNAME.
    """

    rrset: dns.rrset.RRset
    status: Status
    synthesized: bool = False


@dataclasses.dataclass(frozen=True)
class Answer:
    """
    The result of a validated lookup.

    @ivar name: the name asked for.
    @ivar rdtype: the type asked for.
    @ivar rcode: the final response code: NOERROR (data or NODATA) or NXDOMAIN.
    @ivar rrset: the records found at the end of any CNAME/DNAME chain, or C{None} when the
        name or type does not exist.
    @ivar status: the weakest status of everything the answer depends on.
    @ivar reason: one line saying why the answer has its status.
    @ivar ede: the RFC 8914 extended error code when the answer is not secure, else C{None}.
    @ivar chain: the CNAME and DNAME links followed, in order.
    @ivar denial: the NSEC or NSEC3 RRsets that prove the non-existence, if any.
    @ivar signatures: the signatures that validated the answer's RRsets.
    @ivar trustChain: the zones of the chain of trust, from the trust anchor down.
    @ivar ttl: how long the answer may be used, capped by the signatures' expiry.
    @ivar securedBy: how the status was established: C{"validation"} when this library
        validated it, or C{"AD bit from <resolver>"} in trust-AD mode.
    """

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    rcode: dns.rcode.Rcode
    rrset: dns.rrset.RRset | None
    status: Status
    reason: str
    ede: int | None = None
    chain: tuple[ChainLink, ...] = ()
    denial: tuple[dns.rrset.RRset, ...] = ()
    signatures: tuple[SignatureUse, ...] = ()
    trustChain: tuple[ZoneTrust, ...] = ()
    ttl: int = 0
    securedBy: str = "validation"

    @property
    def secure(self) -> bool:
        """
        Whether the answer (the data or its absence) is proven by DNSSEC.
        """
        return self.status is Status.SECURE

    @property
    def exists(self) -> bool:
        """
        Whether the answer holds records.
        """
        return self.rrset is not None and len(self.rrset) > 0

    @property
    def records(self) -> list[dns.rdata.Rdata]:
        """
        The records of the answer (empty when the name or type does not exist).
        """
        return list(self.rrset) if self.rrset is not None else []

    @property
    def canonicalName(self) -> dns.name.Name:
        """
        The name at the end of the CNAME/DNAME chain (the name itself when there is none).
        """
        return self.rrset.name if self.rrset is not None else self._chainEnd()

    def _chainEnd(self) -> dns.name.Name:
        name = self.name
        for link in self.chain:
            if link.rrset.rdtype == dns.rdatatype.CNAME and link.rrset.name == name:
                name = link.rrset[0].target
        return name

    def require(self, *, allowInsecure: bool = False) -> Answer:
        """
        Return this answer if its status is good enough, else raise.

        @param allowInsecure: accept insecure answers as well as secure ones.
        @raise InsecureAnswerError: the answer is bogus or indeterminate, or insecure and
            C{allowInsecure} is false.
        """
        if self.status is Status.SECURE or (allowInsecure and self.status is Status.INSECURE):
            return self
        raise InsecureAnswerError(self)

    def problem(self) -> str | None:
        """
        Why this answer must not be used, in words (C{"bogus (EDE 7): expired"}): when it is
        bogus or indeterminate; C{None} when it is secure or insecure.
        """
        if self.status not in (Status.BOGUS, Status.INDETERMINATE):
            return None
        text = str(self.status)
        if self.ede is not None:
            text += f" (EDE {self.ede})"
        if self.reason:
            text += f": {self.reason}"
        return text

    def __str__(self) -> str:
        text = f"{self.name} {dns.rdatatype.to_text(self.rdtype)}: {self.status}"
        if self.ede is not None:
            text += f" (EDE {self.ede})"
        if self.reason:
            text += f": {self.reason}"
        return text

"""
Checking the TSIG signature of a request (RFC 8945), for dynamic updates and queries alike.

L{checkTSIG} takes a request parsed without checking its TSIG record and the key its record
names (if the server has it), and gives either the request, its signature verified (a
response made from it with C{dns.message.make_response} is signed with the key), or a
L{TSIGRefusal}: the response RFC 8945 section 5.2 prescribes, and why, for the log.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TSIG
import dns.tsig

#: The full MAC length of each HMAC algorithm a key may have.
_MAC_SIZES: dict[dns.name.Name, int] = {
    dns.tsig.HMAC_SHA224: 28,
    dns.tsig.HMAC_SHA256: 32,
    dns.tsig.HMAC_SHA384: 48,
    dns.tsig.HMAC_SHA512: 64,
}
_TSIG_HEAD = struct.Struct("!HHIH")


@dataclass(frozen=True)
class TSIGRefusal:
    """
    A request whose signature the server does not accept.

    @ivar response: the response to send.
    @ivar why: the refusal in words, for the log.
    """

    response: bytes
    why: str


def requestTSIG(request: dns.message.Message) -> dns.rdtypes.ANY.TSIG.TSIG | None:
    """
    The TSIG record of C{request} (parsed with C{keyring=False}), if it has one.
    """
    if request.tsig is None:
        return None
    tsig = request.tsig[0]
    assert isinstance(tsig, dns.rdtypes.ANY.TSIG.TSIG)
    return tsig


def checkTSIG(
    data: bytes,
    request: dns.message.Message,
    key: dns.tsig.Key | None,
    now: Callable[[], float],
    *,
    oneRRPerRRset: bool = False,
) -> dns.message.Message | TSIGRefusal:
    """
    Check the signature of C{request} (parsed from C{data} with C{keyring=False}, and known
    to have a TSIG record) with C{key}, the server's key of the name and algorithm its TSIG
    record names (C{None}: it has none).

    @param now: the server's clock, for the time it gives in a BADTIME response.
    @param oneRRPerRRset: how to parse C{data} again (C{True} for UPDATE messages).
    @return: C{request} parsed again, its signature checked; or the refusal: NOTAUTH with
        BADKEY (unknown key), BADTRUNC (a truncated MAC) or BADSIG (a wrong one) in an
        unsigned TSIG record (RFC 8945 section 5.3.2), FORMERR for a MAC whose size no
        signer may give (section 5.2.2.1), NOTAUTH with BADTIME, signed, for a time too far
        from the server's.
    """
    tsig = requestTSIG(request)
    assert tsig is not None and request.tsig is not None
    keyName = request.tsig.name
    if key is None:
        response = tsigErrorResponse(request, keyName, tsig, dns.rcode.BADKEY)
        return TSIGRefusal(response, "BADKEY (no such key for this algorithm)")
    full = _MAC_SIZES.get(key.algorithm)
    if full is not None and len(tsig.mac) != full:
        if len(tsig.mac) > full or len(tsig.mac) < max(10, full // 2):
            # RFC 8945 section 5.2.2.1: no signer may send it; the message is dropped.
            formErr = dns.message.make_response(request)
            formErr.set_rcode(dns.rcode.FORMERR)
            why = f"FORMERR (a MAC of {len(tsig.mac)} bytes, not {full})"
            return TSIGRefusal(formErr.to_wire(), why)
        # A truncated MAC: this server's minimum is the whole MAC.
        response = tsigErrorResponse(request, keyName, tsig, dns.rcode.BADTRUNC)
        return TSIGRefusal(response, f"BADTRUNC (a MAC truncated to {len(tsig.mac)} bytes)")
    try:
        return dns.message.from_wire(data, keyring={keyName: key}, one_rr_per_rrset=oneRRPerRRset)
    except dns.tsig.BadTime:
        response = badTimeResponse(request, key, int(now()))
        return TSIGRefusal(response, "BADTIME (the clocks differ by more than the fudge)")
    except dns.exception.DNSException:
        response = tsigErrorResponse(request, keyName, tsig, dns.rcode.BADSIG)
        return TSIGRefusal(response, "BADSIG (the signature does not verify)")


def tsigErrorResponse(
    request: dns.message.Message,
    keyName: dns.name.Name,
    tsig: dns.rdtypes.ANY.TSIG.TSIG,
    error: int,
) -> bytes:
    """
    NOTAUTH with an unsigned TSIG record carrying C{error} (RFC 8945 section 5.3.2): the
    server cannot sign with a key it does not have or that the client misuses.
    """
    response = dns.message.make_response(request)
    response.set_rcode(dns.rcode.NOTAUTH)
    wire = bytearray(response.to_wire())
    record = dns.rdtypes.ANY.TSIG.TSIG(
        dns.rdataclass.ANY,
        dns.rdatatype.TSIG,
        tsig.algorithm,
        tsig.time_signed,
        tsig.fudge,
        b"",
        tsig.original_id,
        error,
        b"",
    )
    rdata = record.to_wire()
    assert rdata is not None
    owner = keyName.to_wire()
    assert owner is not None
    wire += owner + _TSIG_HEAD.pack(dns.rdatatype.TSIG, dns.rdataclass.ANY, 0, len(rdata))
    wire += rdata
    (additional,) = struct.unpack_from("!H", wire, 10)
    struct.pack_into("!H", wire, 10, additional + 1)
    return bytes(wire)


def badTimeResponse(request: dns.message.Message, key: dns.tsig.Key, now: int) -> bytes:
    """
    NOTAUTH/BADTIME, signed with the key, the server's time in the other data (RFC 8945
    section 5.2.3).
    """
    response = dns.message.make_response(request)
    response.set_rcode(dns.rcode.NOTAUTH)
    response.use_tsig(key, tsig_error=dns.rcode.BADTIME, other_data=now.to_bytes(6, "big"))
    response.request_mac = request.mac or b""
    wire: bytes = response.to_wire()
    return wire

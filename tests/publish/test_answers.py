"""
L{txdane.publish} against a primary on loopback that answers as a test tells it to: reads
refused, updates accepted but not applied, answers whose TSIG does not verify. Each must be an
error that says what happened, never a success nor a misleading cause.
"""

from __future__ import annotations

import base64
import struct
import time
from collections.abc import Callable
from typing import Any

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.tsig
import pytest
from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

import txdane.publish
from tests.dane.certs import issue
from txdane.dane.tlsa import recordForCertificate
from txdane.publish import (
    TSIGKey,
    TSIGRejectedError,
    UpdateRejectedError,
    publishTLSA,
)
from txdane.resolvconf import NameServer

SECRET = base64.b64decode("EIgbzExr622/fmdbjf/OzDklYI8JVL6+UQIawzfFA7c=")
KEY = TSIGKey(dns.name.from_text("up."), "hmac-sha256", SECRET)
ZONE = "example.test."
OWNER = f"_443._tcp.www.{ZONE}"

#: What the fake primary answers: the request, read with the key when signed -> the answer.
Handler = Callable[[dns.message.Message], dns.message.Message | bytes]


class _Exchange(Protocol):
    def __init__(self, handler: Handler, seen: list[dns.message.Message]) -> None:
        self.handler = handler
        self.seen = seen
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) < 2:
            return
        (length,) = struct.unpack("!H", self.buffer[:2])
        if len(self.buffer) < 2 + length:
            return
        wire, self.buffer = self.buffer[2 : 2 + length], self.buffer[2 + length :]
        request = dns.message.from_wire(wire, keyring=KEY.toDNSPython())
        self.seen.append(request)
        answer = self.handler(request)
        out = answer if isinstance(answer, bytes) else answer.to_wire()
        self.transport.write(struct.pack("!H", len(out)) + out)  # type: ignore[union-attr]


def honest(request: dns.message.Message) -> dns.message.Message:
    """
    An authoritative answer for C{ZONE} with nothing at the TLSA name (signed when asked
    signed), and NOERROR to updates.
    """
    response = dns.message.make_response(request)
    response.flags |= dns.flags.AA
    if request.opcode() == dns.opcode.QUERY and request.question[0].rdtype == dns.rdatatype.SOA:
        response.authority.append(
            dns.rrset.from_text(ZONE, 300, "IN", "SOA", f"ns1.{ZONE} h.{ZONE} 1 2 3 4 5")
        )
    return response


class _FakePrimaryTests(TestCase):
    def serve(self, handler: Handler) -> NameServer:
        """
        Listen on loopback with C{handler}; the requests it gets are in C{self.seen}.
        """
        self.seen: list[dns.message.Message] = []
        factory = Factory.forProtocol(lambda: _Exchange(handler, self.seen))
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")  # type: ignore[arg-type]
        self.addCleanup(port.stopListening)
        return NameServer("127.0.0.1", port.getHost().port)  # type: ignore[attr-defined]

    async def publish(self, server: NameServer) -> Any:
        record = recordForCertificate(issue("www.example.test").cert)
        return await publishTLSA(reactor, server, KEY, "www.example.test", 443, [record], timeout=3)

    def updates(self) -> list[dns.message.Message]:
        return [m for m in self.seen if m.opcode() == dns.opcode.UPDATE]


class ReadRcodeTests(_FakePrimaryTests):
    """
    A read of the RRset answered with an error is that error, not "no RRset".
    """

    async def test_readRefused(self) -> None:
        """
        The TLSA read answered REFUSED (or SERVFAIL): an L{UpdateRejectedError} naming the read
        and its rcode, and no update sent (which the server would have answered YXRRSET, "someone
        else added it").
        """
        for rcode in (dns.rcode.REFUSED, dns.rcode.SERVFAIL):

            def handler(
                request: dns.message.Message, rcode: dns.rcode.Rcode = rcode
            ) -> dns.message.Message:
                response = honest(request)
                if request.question[0].rdtype == dns.rdatatype.TLSA:
                    response.set_rcode(rcode)
                if request.opcode() == dns.opcode.UPDATE:
                    response.set_rcode(dns.rcode.YXRRSET)
                return response

            server = self.serve(handler)
            with pytest.raises(UpdateRejectedError) as raised:
                await self.publish(server)
            error = raised.value
            assert type(error) is UpdateRejectedError
            assert error.rcode == dns.rcode.to_text(rcode) and error.zone == ZONE
            assert f"the query for the TLSA records of {OWNER} failed" in str(error)
            assert self.updates() == []


class IgnoredUpdateTests(_FakePrimaryTests):
    """
    A signed NOERROR to an update the server did not apply is found by reading the RRset again.
    """

    async def test_accepted_notApplied(self) -> None:
        """
        The server answers the update NOERROR, signed, and goes on serving no TLSA records (as
        RFC 2136 section 3.4.2.2 has a server do with an add beside a CNAME): an
        L{UpdateRejectedError} saying so, after the RRset was read again with a signed query.
        """
        self.patch(txdane.publish, "CONFIRM_TIME", 0.2)
        server = self.serve(honest)
        with pytest.raises(UpdateRejectedError) as raised:
            await self.publish(server)
        assert raised.value.rcode == "NOERROR"
        assert str(raised.value).endswith(
            f"the server accepted the update but did not apply it: 0.2 s later it serves none"
            f" of the 1 TLSA record(s) sent at {OWNER}"
        ), str(raised.value)
        after = self.seen[self.seen.index(self.updates()[0]) + 1 :]
        assert after and all(m.had_tsig for m in after)
        assert all(m.question[0].rdtype == dns.rdatatype.TLSA for m in after)

    async def test_applied(self) -> None:
        """
        A server that serves what was sent once it answered: the publication succeeds.
        """
        published: list[dns.rrset.RRset] = []

        def handler(request: dns.message.Message) -> dns.message.Message:
            response = honest(request)
            if request.opcode() == dns.opcode.UPDATE:
                additions = request.sections[2]  # the update section (RFC 2136 section 2.5)
                published[:] = [r for r in additions if r.rdtype == dns.rdatatype.TLSA]
            elif request.question[0].rdtype == dns.rdatatype.TLSA and published:
                response.answer.append(
                    dns.rrset.from_rdata_list(OWNER, 300, [r for r in published[-1]])
                )
            return response

        result = await self.publish(self.serve(handler))
        assert result.previous is None and result.changed


class AnswerSignatureTests(_FakePrimaryTests):
    """
    An answer to the update whose TSIG does not verify is L{TSIGRejectedError} (exit status
    8), saying that the update may have been applied; never "no answer".
    """

    async def check(self, sign: Callable[[dns.message.Message], bytes], cause: str) -> None:
        def handler(request: dns.message.Message) -> dns.message.Message | bytes:
            if request.opcode() == dns.opcode.UPDATE:
                return sign(request)
            return honest(request)

        with pytest.raises(TSIGRejectedError) as raised:
            await self.publish(self.serve(handler))
        message = str(raised.value)
        assert raised.value.rcode == "NOERROR", message
        assert f"the answer's TSIG signature does not verify ({cause}" in message, message
        assert "an update may have been applied all the same" in message, message

    def signedWith(
        self, request: dns.message.Message, key: dns.tsig.Key, mac: bytes | None
    ) -> bytes:
        response = dns.message.make_response(request)
        response.use_tsig(key)
        response.request_mac = mac or b""
        return response.to_wire()

    async def test_otherKeyName(self) -> None:
        other = dns.tsig.Key("other.", SECRET, dns.tsig.HMAC_SHA256)
        await self.check(lambda r: self.signedWith(r, other, r.mac), "it names another key")

    async def test_otherAlgorithm(self) -> None:
        other = dns.tsig.Key("up.", SECRET, dns.tsig.HMAC_SHA512)
        await self.check(
            lambda r: self.signedWith(r, other, r.mac), "it names another algorithm than the key's"
        )

    async def test_otherRequest(self) -> None:
        await self.check(
            lambda r: self.signedWith(r, KEY.toDNSPython(), b"\0" * 32), "its MAC is wrong"
        )

    async def test_timeSkew(self) -> None:
        def skewed(request: dns.message.Message) -> bytes:
            real = time.time
            time.time = lambda: real() - 3600
            try:
                return self.signedWith(request, KEY.toDNSPython(), request.mac)
            finally:
                time.time = real

        await self.check(skewed, "its time is outside the fudge")

    async def test_truncatedMAC(self) -> None:
        def truncated(request: dns.message.Message) -> bytes:
            wire = self.signedWith(request, KEY.toDNSPython(), request.mac)
            message = dns.message.from_wire(wire, keyring=False)
            assert message.tsig is not None
            cut = message.tsig[0].replace(mac=message.tsig[0].mac[:10])
            message.tsig = dns.rrset.from_rdata(message.tsig.name, 0, cut)
            return message.to_wire()

        await self.check(truncated, "its MAC is wrong")

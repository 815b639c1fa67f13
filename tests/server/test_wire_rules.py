"""
Tests for the server's answers to unusual queries on the wire: TSIG-signed queries (RFC 8945
section 5.3), meta types as questions, FORMERR with an OPT record for EDNS queries that do
not parse, and TCP messages too short to be one.
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import pytest
from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.internet.threads import deferToThread
from twisted.trial.unittest import TestCase

from tests.server.test_update import KEY_NAME, OTHER_SECRET, SECRET, Setup, makeSetup
from txdane.server.protocol import DNSStreamFactory, DNSStreamProtocol, ResponderHolder
from txdane.server.responder import Responder
from txdane.server.service import listenDNS
from txdane.server.zones import ZoneStore


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return makeSetup(tmp_path)


def signedQuery(
    name: str = "www.zone.test.", rdtype: str = "A", secret: str = SECRET, key: str = KEY_NAME
) -> dns.message.QueryMessage:
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    query.use_tsig(dns.tsigkeyring.from_text({key: secret}), algorithm=dns.tsig.HMAC_SHA256)
    return query


class TestSignedQueries:
    """
    A TSIG-signed query is answered signed when the server has the key (those it takes
    updates from); otherwise NOTAUTH with the TSIG error of RFC 8945 section 5.3.2.
    """

    def test_knownKeySigned(self, setup: Setup) -> None:
        query = signedQuery()
        for tcp in (False, True):
            wire = setup.responder.respondWire(query.to_wire(), tcp=tcp)
            assert wire is not None
            # dnspython checks the response's signature against the request's MAC.
            response = dns.message.from_wire(wire, keyring=setup.keyring, request_mac=query.mac)
            assert response.had_tsig
            assert response.rcode() == dns.rcode.NOERROR
            assert response.flags & dns.flags.AA
            assert response.edns == 0
            assert [r.to_text() for r in response.answer[0]] == ["127.0.0.2"]

    def test_truncatedSigned(self, setup: Setup) -> None:
        """
        An answer too large for UDP goes out empty with TC=1, signed all the same.
        """
        query = signedQuery("zone.test.", "ANY")
        query.use_edns(0, dns.flags.DO, 512)
        wire = setup.responder.respondWire(query.to_wire())
        assert wire is not None and len(wire) <= 512
        response = dns.message.from_wire(wire, keyring=setup.keyring, request_mac=query.mac)
        assert response.flags & dns.flags.TC and response.had_tsig
        assert response.answer == []
        full = setup.responder.respondWire(query.to_wire(), tcp=True)
        assert full is not None and len(full) > 512

    @pytest.mark.parametrize(
        ("secret", "key", "error"),
        [
            (SECRET, "other-key.", dns.rcode.BADKEY),
            (OTHER_SECRET, KEY_NAME, dns.rcode.BADSIG),
        ],
        ids=["unknown key", "bad MAC"],
    )
    def test_refused(self, setup: Setup, secret: str, key: str, error: int) -> None:
        query = signedQuery(secret=secret, key=key)
        wire = setup.responder.respondWire(query.to_wire())
        assert wire is not None
        response = dns.message.from_wire(wire, keyring=False)
        assert response.rcode() == dns.rcode.NOTAUTH
        assert (response.tsig_error, response.mac) == (error, b"")
        assert response.id == query.id and response.answer == []

    def test_noKeysAtAll(self, setup: Setup) -> None:
        """
        A server that takes no updates has no keys: BADKEY.
        """
        responder = Responder(setup.responder.store)
        wire = responder.respondWire(signedQuery().to_wire())
        assert wire is not None
        response = dns.message.from_wire(wire, keyring=False)
        assert (response.rcode(), response.tsig_error) == (dns.rcode.NOTAUTH, dns.rcode.BADKEY)

    def test_notCached(self, setup: Setup) -> None:
        """
        Signed answers are never cached: the same bytes again are checked again.
        """
        query = signedQuery(secret=OTHER_SECRET)
        for _ in range(2):
            wire = setup.responder.respondWire(query.to_wire())
            assert wire is not None
            assert dns.message.from_wire(wire, keyring=False).tsig_error == dns.rcode.BADSIG


class SignedQueryOverTheNetworkTests(TestCase):
    async def test_digMinusY(self) -> None:
        """
        What C{dig -y} sends, over UDP and TCP on loopback: a signed answer that dnspython
        verifies.
        """
        setup = makeSetup(Path(tempfile.mkdtemp(prefix="txdane-wire-")))
        server = await listenDNS(reactor, setup.responder)
        self.addCleanup(server.stop)
        for send in (dns.query.udp, dns.query.tcp):
            query = signedQuery()
            response = await deferToThread(send, query, "127.0.0.1", 5, server.port)
            self.assertEqual(response.rcode(), dns.rcode.NOERROR)
            self.assertTrue(response.had_tsig)


@pytest.mark.parametrize(
    ("rdtype", "rcode"),
    [
        ("OPT", dns.rcode.FORMERR),
        ("TSIG", dns.rcode.FORMERR),
        ("TKEY", dns.rcode.FORMERR),
        ("MAILA", dns.rcode.NOTIMP),
        ("MAILB", dns.rcode.NOTIMP),
    ],
)
@pytest.mark.parametrize("edns", [False, True])
def test_metaTypeQuestions(setup: Setup, rdtype: str, rcode: int, edns: bool) -> None:
    """
    Types that are never a question's (OPT, TSIG, TKEY) get FORMERR; the obsolete mail
    types, NOTIMP; never a NODATA as if they were data.
    """
    query = dns.message.make_query("www.zone.test.", rdtype, use_edns=0 if edns else None)
    wire = setup.responder.respondWire(query.to_wire())
    assert wire is not None
    response = dns.message.from_wire(wire)
    assert response.rcode() == rcode
    assert response.answer == [] and response.authority == []
    assert response.edns == (0 if edns else -1)


def test_formErrWithOPT(setup: Setup) -> None:
    """
    An EDNS query that does not parse (a COOKIE option of 5 bytes, RFC 7873 section 5.2.2)
    gets FORMERR with an OPT record, as every answer to an EDNS query; without OPT, none.
    """
    cookie = dns.edns.GenericOption(dns.edns.OptionType.COOKIE, b"12345")
    query = dns.message.make_query("www.zone.test.", "A", use_edns=0, options=[cookie])
    wire = setup.responder.respondWire(query.to_wire())
    assert wire is not None
    response = dns.message.from_wire(wire)
    assert response.rcode() == dns.rcode.FORMERR
    assert response.edns == 0 and response.payload == 1232
    assert response.id == query.id
    garbage = struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + b"\x05ab"
    response = dns.message.from_wire(setup.responder.respondWire(garbage) or b"")
    assert (response.rcode(), response.edns) == (dns.rcode.FORMERR, -1)


class TestShortTCPMessages:
    """
    A TCP message too short for a header (an empty one included) is no message: the
    connection is closed after the answers already given, not left to the idle timeout.
    """

    def connect(self, setup: Setup) -> tuple[DNSStreamProtocol, StringTransport]:
        holder = ResponderHolder(Responder(ZoneStore(setup.responder.store)))
        protocol = DNSStreamFactory(holder, clock=Clock()).buildProtocol(None)
        assert isinstance(protocol, DNSStreamProtocol)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    @pytest.mark.parametrize("size", [0, 5, 11])
    def test_closed(self, setup: Setup, size: int) -> None:
        protocol, transport = self.connect(setup)
        query = dns.message.make_query("www.zone.test.", "A").to_wire()
        protocol.dataReceived(struct.pack("!H", len(query)) + query)
        protocol.dataReceived(struct.pack("!H", size) + b"\x00" * size)
        assert transport.disconnecting
        out = transport.value()
        (length,) = struct.unpack_from("!H", out)
        assert len(out) == 2 + length
        assert dns.message.from_wire(out[2:]).rcode() == dns.rcode.NOERROR

    def test_headerOnlyAnswered(self, setup: Setup) -> None:
        """
        A header alone is a message (with no question): FORMERR, and the connection stays.
        """
        protocol, transport = self.connect(setup)
        protocol.dataReceived(struct.pack("!HHHHHHH", 12, 0x1234, 0x0100, 0, 0, 0, 0))
        assert not transport.disconnecting
        assert dns.message.from_wire(transport.value()[2:]).rcode() == dns.rcode.FORMERR

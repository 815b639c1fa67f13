"""
Property tests of L{txdane.transport.parseMessage}: wherever dnspython's strict parser
accepts a message, the lenient one gives the same message, record for record.
"""

from __future__ import annotations

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from txdane.transport import MalformedTLSA, parseMessage

_LABELS = ["www", "_443", "_tcp", "_25", "mx", "example", "test", "a", "xn--fa-hia", "*"]

names = st.lists(st.sampled_from(_LABELS), min_size=0, max_size=4).map(
    lambda labels: dns.name.from_text(".".join(labels) or ".")
)


def _tlsa(usage: int, selector: int, mtype: int, data: bytes) -> str:
    return f"{usage} {selector} {mtype} {data.hex() or '00'}"


tlsaTexts = st.one_of(
    st.builds(
        lambda u, s, d: _tlsa(u, s, 1, d),
        st.integers(0, 3),
        st.integers(0, 1),
        st.binary(min_size=32, max_size=32),
    ),
    st.builds(
        lambda u, s, d: _tlsa(u, s, 2, d),
        st.integers(0, 255),
        st.integers(0, 255),
        st.binary(min_size=64, max_size=64),
    ),
    st.builds(
        _tlsa,
        st.integers(0, 255),
        st.integers(0, 255),
        st.sampled_from([0, 3, 255]),
        st.binary(min_size=1, max_size=80),
    ),
)

rdataTexts = st.one_of(
    st.tuples(st.just("TLSA"), tlsaTexts),
    st.tuples(st.just("A"), st.ip_addresses(v=4).map(str)),
    st.tuples(st.just("AAAA"), st.ip_addresses(v=6).map(str)),
    st.tuples(
        st.just("TXT"),
        st.text("abc xyz=", max_size=40).map(lambda t: '"' + t + '"'),
    ),
    st.tuples(st.just("MX"), st.integers(0, 65535).map(lambda p: f"{p} mx.example.test.")),
    st.tuples(st.just("CNAME"), st.just("www.example.test.")),
    st.tuples(
        st.just("RRSIG"),
        st.builds(
            lambda tag, sig: (
                f"TLSA 13 5 300 20300101000000 20200101000000 {tag} example.test. "
                + __import__("base64").b64encode(sig).decode()
            ),
            st.integers(0, 65535),
            st.binary(min_size=1, max_size=64),
        ),
    ),
)

records = st.tuples(
    st.sampled_from(["answer", "authority", "additional"]),
    names,
    st.integers(0, 2**31 - 1),
    rdataTexts,
)


def _message(entries: list[tuple[str, dns.name.Name, int, tuple[str, str]]], dnssec: bool) -> bytes:
    query = dns.message.make_query("_443._tcp.www.example.test.", "TLSA", want_dnssec=dnssec)
    response = dns.message.make_response(query)
    for section, name, ttl, (rdtype, text) in entries:
        rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, text)
        rrset = response.find_rrset(
            getattr(response, section),
            name,
            dns.rdataclass.IN,
            rdata.rdtype,
            rdata.covers(),
            create=True,
        )
        rrset.add(rdata, ttl)
    return response.to_wire()


def _ttls(message: dns.message.Message) -> list[list[int]]:
    return [[rrset.ttl for rrset in section] for section in message.sections]


def _same(wire: bytes, questionOnly: bool = False) -> None:
    """
    If dnspython parses C{wire} strictly, C{parseMessage} parses it to the same message.
    """
    try:
        strict = dns.message.from_wire(wire, question_only=questionOnly)
    except (dns.exception.DNSException, ValueError):
        return
    lenient = parseMessage(wire, questionOnly=questionOnly)
    assert lenient == strict
    assert [list(s) for s in lenient.sections] == [list(s) for s in strict.sections]
    assert _ttls(lenient) == _ttls(strict)
    assert not any(
        isinstance(rdata, MalformedTLSA) for s in lenient.sections for r in s for rdata in r
    )
    assert (lenient.id, lenient.flags, lenient.edns, lenient.ednsflags) == (
        strict.id,
        strict.flags,
        strict.edns,
        strict.ednsflags,
    )


_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@_SETTINGS
@given(st.lists(records, max_size=8), st.booleans(), st.booleans())
def test_wellFormedMessagesParseAlike(
    entries: list[tuple[str, dns.name.Name, int, tuple[str, str]]],
    dnssec: bool,
    questionOnly: bool,
) -> None:
    """
    A message dnspython wrote (so one it parses strictly) parses to the same records.
    """
    _same(_message(entries, dnssec), questionOnly)


@_SETTINGS
@given(
    st.lists(records, min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 2**16), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutatedMessagesParseAlike(
    entries: list[tuple[str, dns.name.Name, int, tuple[str, str]]],
    edits: list[tuple[int, int]],
) -> None:
    """
    The same for a message with bytes overwritten: wherever dnspython still parses it.
    """
    wire = bytearray(_message(entries, True))
    for position, value in edits:
        wire[position % len(wire)] = value
    _same(bytes(wire))

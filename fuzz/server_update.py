"""
Fuzz the authoritative server's TSIG-checked paths: dynamic updates (RFC 2136) and
TSIG-signed queries (RFC 8945), sent to a server that holds a zone it signs and takes updates
for with one key. Any bytes get an answer with the request's ID, or none only when they are
too short for a header or a response themselves; never an exception, and never the SERVFAIL
that stands for one. Inputs may be signed with the server's key by the target (so that what
a mutation makes reaches the checks after the signature). The zone is still served whole
afterwards (its SOA answers).

    python fuzz/server_update.py -runs=100000
"""

from __future__ import annotations

import base64
import struct
import sys
import tempfile
from pathlib import Path

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.server.keys import writeKeyFiles
    from txdane.server.protocol import ResponderHolder
    from txdane.server.responder import Responder
    from txdane.server.service import ZoneSource, loadZones
    from txdane.server.update import ZoneUpdater, parseAllowUpdate
    from txdane.server.zones import ZoneStore

from fuzz._fixed import NOW, derivedSigningKeys

_ORIGIN = dns.name.from_text("zone.test.")
_KEY_NAME = "update-key."
_SECRET = base64.b64encode(b"fuzz-update-secret-of-32-bytes!!").decode()
_ZONE = """$ORIGIN zone.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.2
_443._tcp.www IN TLSA 3 1 1 8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1
sub IN NS ns.sub
ns.sub IN A 192.0.2.3
alias IN DNAME www.zone.test.
"""


def _world() -> tuple[ResponderHolder, dns.message.Message]:
    """
    The server (its responder, with an updater for the one key) and the query whose answer
    shows the zone is whole.
    """
    directory = Path(tempfile.mkdtemp(prefix="fuzz-update-"))
    zonePath = directory / "zone.test.zone"
    zonePath.write_text(_ZONE)
    keyFile = directory / "update.key"
    keyFile.write_text(f'key "{_KEY_NAME}" {{ algorithm hmac-sha256; secret "{_SECRET}"; }};\n')
    with derivedSigningKeys("zone.test."):
        from txdane.server.signing import SigningKey

        files = writeKeyFiles(_ORIGIN, SigningKey.generate(), directory)
    source = ZoneSource(_ORIGIN, str(zonePath), (str(files.private),))
    holder = ResponderHolder(Responder(ZoneStore(loadZones([source]))))
    grants = parseAllowUpdate(f"{keyFile}:zone.test.:TLSA,A,AAAA,TXT,DS,DNAME,CNAME,NS")
    updater = ZoneUpdater(holder, [source], grants, clock=lambda: float(NOW))
    holder.responder.updater = updater
    probe = dns.message.make_query("zone.test.", "SOA", want_dnssec=True, id=7)
    return holder, probe


_HOLDER, _PROBE = _world()
_KEYRING = dns.tsigkeyring.from_text({_KEY_NAME: _SECRET})


class _FixedClock:
    """
    The clock dnspython signs and checks TSIG records by, stopped at the fuzz worlds' time:
    the seeds are the same bytes in every run, and their signatures check on any day.
    """

    @staticmethod
    def time() -> float:
        return float(NOW)


dns.message.time = _FixedClock  # type: ignore[assignment]


def _signed(message: dns.message.Message, ident: int) -> bytes:
    message.id = ident
    message.use_tsig(_KEYRING, keyname=_KEY_NAME, algorithm=dns.tsig.HMAC_SHA256)
    return message.to_wire()


def seeds() -> list[bytes]:
    """
    Updates that add, replace and delete, with prerequisites; refused ones (a DS at the apex,
    data below the DNAME, another class); signed queries; an unsigned update; a wrong key.
    """
    out: list[bytes] = []
    tlsa = "3 1 1 " + "ab" * 32

    def update(build: object) -> None:
        message = dns.update.UpdateMessage("zone.test.")
        build(message)  # type: ignore[operator]
        out.append(_signed(message, len(out)))

    update(lambda u: u.add("_25._tcp.mail", 300, "TLSA", tlsa))
    update(lambda u: u.replace("_443._tcp.www", 300, "TLSA", tlsa))
    update(lambda u: u.delete("_443._tcp.www", "TLSA"))
    update(lambda u: (u.present("www", "A"), u.add("www", 300, "A", "192.0.2.9")))
    update(lambda u: (u.absent("nothere"), u.add("nothere", 300, "TXT", '"x"')))
    update(lambda u: u.add("@", 300, "DS", "1 13 2 " + "00" * 32))
    update(lambda u: u.add("x.alias", 300, "A", "192.0.2.4"))
    update(lambda u: u.delete("sub", "NS"))
    for name, rdtype in [("www.zone.test.", "A"), ("zone.test.", "DNSKEY")]:
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        out.append(_signed(query, len(out)))
    plain = dns.update.UpdateMessage("zone.test.", id=len(out))
    plain.add("_25._tcp.mail", 300, "TLSA", tlsa)
    out.append(plain.to_wire())
    other = dns.update.UpdateMessage("zone.test.", id=len(out))
    other.use_tsig(
        dns.tsigkeyring.from_text({"other-key.": _SECRET}),
        keyname="other-key.",
        algorithm=dns.tsig.HMAC_SHA256,
    )
    out.append(other.to_wire())
    return out


def _signedAgain(body: bytes) -> bytes | None:
    """
    C{body} read as a message and signed with the server's key, so that what a mutation made
    of it reaches the checks after the signature; C{None} when it is no message.
    """
    try:
        message = dns.message.from_wire(body, keyring=False, one_rr_per_rrset=True)
        message.tsig = None
        message.use_tsig(_KEYRING, keyname=_KEY_NAME, algorithm=dns.tsig.HMAC_SHA256)
        return message.to_wire()
    except (dns.exception.DNSException, ValueError, TypeError):
        return None


def testOneInput(data: bytes) -> str:
    """
    The first byte: bit 0, over TCP; bit 1, sign the rest with the server's key first.
    """
    tcp = bool(data[:1]) and data[0] & 1 == 1
    request = data[1:]
    if data[:1] and data[0] & 2:
        signed = _signedAgain(request)
        if signed is None:
            return "no message"
        request = signed
    answer = _HOLDER.responder.respondWire(request, tcp=tcp)
    if answer is None:
        assert len(request) < 12 or request[2] & 0x80, "a request went unanswered"
        return "unanswered"
    assert answer[:2] == request[:2], "the answer's ID differs from the request's"
    assert len(answer) <= (65535 if tcp else 1232), len(answer)
    # SERVFAIL is the answer to an exception the server did not expect: a bug found.
    assert answer[3] & 0xF != dns.rcode.SERVFAIL, "SERVFAIL: the server met an unexpected error"
    struct.unpack_from("!HHHHHH", answer)
    if len(answer) > 12:
        dns.message.from_wire(answer, keyring=False)
    # The zone is still served whole, whatever the request did to it.
    whole = _HOLDER.responder.respondWire(_PROBE.to_wire(), tcp=True)
    assert whole is not None
    served = dns.message.from_wire(whole)
    assert served.rcode() == dns.rcode.NOERROR, dns.rcode.to_text(served.rcode())
    assert served.get_rrset(served.answer, _ORIGIN, dns.rdataclass.IN, dns.rdatatype.SOA)
    return f"rcode-{answer[3] & 0xF}"


def unsignedSeeds() -> list[bytes]:
    """
    The updates of L{seeds} without their signature, for the inputs the target signs.
    """
    out = []
    for seed in seeds()[:8]:
        message = dns.message.from_wire(seed, keyring=False, one_rr_per_rrset=True)
        message.tsig = None
        out.append(message.to_wire())
    return out


if __name__ == "__main__":
    corpus = [bytes([t]) + q for q in seeds() for t in (0, 1)]
    corpus += [bytes([t]) + q for q in unsignedSeeds() for t in (2, 3)]
    main(testOneInput, corpus)

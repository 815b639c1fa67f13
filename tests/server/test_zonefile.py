"""
Tests for what a zone file may hold (L{txdane.server.zonefile}, L{txdane.server.zonerules}):
records dnspython reads without a word but that no zone may serve are refused with the file
and the line, and TTLs of 2**31 or more are served as 0.
"""

from __future__ import annotations

from pathlib import Path

import dns.name
import dns.rdatatype
import pytest

from txdane.server.signing import SigningKey
from txdane.server.zones import ZoneError, loadZoneFile

ORIGIN = dns.name.from_text("zone.test.")
#: Six lines: a record appended is on line 7.
ZONE = """$ORIGIN zone.test.
$TTL 300
@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
sub IN NS ns.elsewhere.test.
"""
DS = "DS 12345 13 2 " + "00" * 32


def load(tmp_path: Path, extra: str) -> Path:
    """
    Write the zone with C{extra} lines after its six, and return its path.
    """
    path = tmp_path / "zone.test.zone"
    path.write_text(ZONE + extra)
    return path


def refused(tmp_path: Path, extra: str) -> ZoneError:
    path = load(tmp_path, extra)
    with pytest.raises(ZoneError) as info:
        loadZoneFile(path, ORIGIN)
    assert info.value.path == str(path)
    return info.value


class TestDS:
    """
    A DS record belongs at a delegation point, in the parent (RFC 4034 section 5, RFC 4035
    section 2.4).
    """

    def test_atApex(self, tmp_path: Path) -> None:
        """
        A DS record at the apex is refused at its line, as named-checkzone refuses it ("DS
        record at top of zone").
        """
        error = refused(tmp_path, f"www IN A 192.0.2.1\n@ IN {DS}\n")
        assert error.line == 8
        assert error.reason == (
            "DS record at the zone's apex zone.test.: a DS record belongs at a delegation, in"
            " the parent zone (RFC 4035 section 2.4), not in the zone it is about"
        )

    def test_notADelegation(self, tmp_path: Path) -> None:
        """
        A DS record at a name without NS records is refused at its line.
        """
        error = refused(tmp_path, f"www IN A 192.0.2.1\nwww IN {DS}\n")
        assert error.line == 8
        assert "DS record at www.zone.test., which is not a delegation (no NS" in error.reason

    def test_belowADelegation(self, tmp_path: Path) -> None:
        """
        A DS record below a delegation (occluded, another zone's name) is refused, even where
        that name has NS records of its own.
        """
        extra = f"deep.sub IN NS ns.elsewhere.test.\ndeep.sub IN {DS}\n"
        error = refused(tmp_path, extra)
        assert error.line == 8
        assert "DS record at deep.sub.zone.test., below the delegation at sub.zone.test." in (
            error.reason
        )

    def test_atADelegation(self, tmp_path: Path) -> None:
        """
        A DS record at a delegation point is the zone's.
        """
        zone = loadZoneFile(load(tmp_path, f"sub IN {DS}\n"), ORIGIN)
        name = dns.name.from_text("sub.zone.test.")
        assert zone.get_rdataset(name, dns.rdatatype.DS) is not None


def test_belowDNAME(tmp_path: Path) -> None:
    """
    A name below a DNAME is refused at its line (RFC 6672 section 2.3): it would never be
    served; so is a DNAME above names already written.
    """
    tlsa = "_443._tcp.www.old IN TLSA 3 1 1 " + "ab" * 32
    error = refused(tmp_path, f"old IN DNAME new.test.\n{tlsa}\n")
    assert error.line == 8
    assert error.reason == (
        "_443._tcp.www.old.zone.test. is below the DNAME at old.zone.test.: no name may exist"
        " below a DNAME (RFC 6672 section 2.3), and it would never be served"
    )
    error = refused(tmp_path, f"{tlsa}\nold IN DNAME new.test.\n")
    assert error.line == 7
    # Data at the DNAME's own name is served.
    loadZoneFile(load(tmp_path, "old IN DNAME new.test.\nold IN TXT here\n"), ORIGIN)


@pytest.mark.parametrize(
    ("record", "ttl"),
    [
        ("www 4294967295 IN A 192.0.2.1", 0),
        ("www 2147483648 IN A 192.0.2.1", 0),
        ("www 2147483647 IN A 192.0.2.1", 2147483647),
        ("$TTL 4294967295\nwww IN A 192.0.2.1", 0),
    ],
)
def test_largeTTLServedAsZero(tmp_path: Path, record: str, ttl: int) -> None:
    """
    A TTL of 2**31 or more is read as 0 (RFC 2181 section 8), as named-checkzone reads it and
    as the server takes it in an UPDATE.
    """
    zone = loadZoneFile(load(tmp_path, record + "\n"), ORIGIN)
    rdataset = zone.get_rdataset(dns.name.from_text("www.zone.test."), dns.rdatatype.A)
    assert rdataset is not None
    assert rdataset.ttl == ttl


def test_ttlOutOfRange(tmp_path: Path) -> None:
    """
    A TTL above 2**32 - 1 is said to be one, not taken for an unknown type.
    """
    error = refused(tmp_path, "www 99999999999 A 192.0.2.1\n")
    assert error.line == 7
    assert error.reason.startswith("TTL 99999999999 is out of range: a TTL is at most 4294967295")


def test_twoSOA(tmp_path: Path) -> None:
    """
    A second, different SOA record at the apex is refused at its line, not silently put in
    the first one's place; the same record twice is one record.
    """
    error = refused(tmp_path, "@ IN SOA ns1 hostmaster 2 7200 3600 1209600 300\n")
    assert (error.line, error.reason) == (7, "more than one SOA record at zone.test.")
    zone = loadZoneFile(load(tmp_path, "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"), ORIGIN)
    soa = zone.get_rdataset(ORIGIN, dns.rdatatype.SOA)
    assert soa is not None and len(soa) == 1


@pytest.mark.parametrize(
    "record",
    [
        "www.example.org. IN A 192.0.2.1",
        "$ORIGIN example.org.\nwww IN A 192.0.2.1",
    ],
)
def test_outsideTheZone(tmp_path: Path, record: str) -> None:
    """
    A record outside the zone is an error naming its line (BIND says "ignoring out-of-zone
    data"): dropped without a word, it is a mistake no one sees.
    """
    error = refused(tmp_path, record + "\n")
    assert error.line == 6 + record.count("\n") + 1
    assert error.reason == "www.example.org. is outside the zone zone.test."


def test_generateOutsideTheZone(tmp_path: Path) -> None:
    error = refused(tmp_path, "$GENERATE 1-3 host$.example.org. A 192.0.2.$\n")
    assert (error.line, error.reason) == (7, "host1.example.org. is outside the zone zone.test.")


class TestDNSKEY:
    def test_notAKey(self, tmp_path: Path) -> None:
        """
        A DNSKEY whose key does not decode for its algorithm is refused at its line: signed
        and published, it would validate nothing.
        """
        error = refused(tmp_path, "www IN A 192.0.2.1\n@ IN DNSKEY 257 3 13 AAAA\n")
        assert error.line == 8
        # The words in brackets are dnspython's, which differ between its releases.
        assert error.reason.startswith(
            "DNSKEY record: the key is not a key of algorithm ECDSAP256SHA256 ("
        )
        error = refused(tmp_path, "@ IN DNSKEY 257 3 15 AAAA\n")
        assert "algorithm ED25519" in error.reason

    def test_keysAccepted(self, tmp_path: Path) -> None:
        """
        A real key is published; so is a key of an algorithm nothing here knows (validators
        ignore those).
        """
        key = SigningKey.generate().dnskey.to_text()
        zone = loadZoneFile(
            load(tmp_path, f"@ IN DNSKEY {key}\n@ IN DNSKEY 257 3 200 AAAA\n"), ORIGIN
        )
        dnskeys = zone.get_rdataset(ORIGIN, dns.rdatatype.DNSKEY)
        assert dnskeys is not None and len(dnskeys) == 2


def test_rrsetTooLarge(tmp_path: Path) -> None:
    """
    An RRset that no DNS message can hold is refused at its first record's line: it could
    only be answered with an empty truncated response, over TCP too.
    """
    records = "".join(f'big IN TXT "{index:04d}{"x" * 250}"\n' for index in range(300))
    error = refused(tmp_path, "www IN A 192.0.2.1\n" + records)
    assert error.line == 8
    assert error.reason.startswith("the TXT RRset at big.zone.test. takes ")
    assert error.reason.endswith(
        "bytes in an answer, and a DNS message holds at most 65535: it could never be served"
    )
    # One that fits is served.
    loadZoneFile(load(tmp_path, records.replace("x" * 250, "x" * 150)), ORIGIN)

"""
Crashes the fuzz targets found, one test each.
"""

from __future__ import annotations

import time

import pytest

from txdane.mtasts.errors import PolicySyntaxError
from txdane.mtasts.policy import parsePolicy, parseRecord
from txdane.server.zones import ZoneError, loadZoneFile
from txdane.tlsrpt import TLSRPTError, parseTLSRPTRecord
from txdane.validation import TrustAnchorError, TrustAnchors


@pytest.mark.parametrize("encoding", ["UT0-8", "UTF-7"])
def test_xmlAnchorsUnknownEncoding(encoding: str) -> None:
    """
    An RFC 7958 document whose XML declaration names an encoding Python does not know, or
    a multi-byte one expat cannot read, is a L{TrustAnchorError}, not a C{LookupError} or
    C{ValueError} (found by C{fuzz/trust_anchors.py}).
    """
    document = f'<?xml version="1.0" encoding="{encoding}"?>\n<TrustAnchor/>'.encode()
    with pytest.raises(TrustAnchorError, match="not an RFC 7958 document"):
        TrustAnchors.fromXML(document)


def test_zoneFileNotUTF8(tmp_path) -> None:
    """
    A malformed zone file that is not UTF-8 is a L{ZoneError} naming the line, not a
    C{UnicodeDecodeError} from finding that line (found by C{fuzz/zone_file.py}).
    """
    path = tmp_path / "zone"
    path.write_bytes(b"@ IN S I\x10zN \xd3")
    with pytest.raises(ZoneError) as caught:
        loadZoneFile(path, "zone.test.")
    assert caught.value.line == 1


def test_policyLongInnerBlanksLinear() -> None:
    """
    A policy line with a long run of blanks inside its value is parsed in linear time: a
    policy file of 64 KiB, the most a fetch reads, is refused at once rather than after a
    minute (found by C{fuzz/mail_policy.py}); blanks after a value are still dropped.
    """
    text = "version: STSv1\nmode: none\nmax_age: 1\nnote: a" + " " * 65000 + "b\n"
    started = time.perf_counter()
    policy = parsePolicy(text, "1", 0.0)
    assert time.perf_counter() - started < 1.0
    assert policy.maxAge == 1
    bad = "version: STSv1\nmode: none" + " \t" * 32000 + "x\nmax_age: 1\n"
    with pytest.raises(PolicySyntaxError, match="unknown mode"):
        parsePolicy(bad, "1", 0.0)
    assert parsePolicy("version: STSv1 \t\nmode: none\t\nmax_age: 5  \n", "1", 0.0).maxAge == 5


def test_tlsrptLongRecordShortMessage() -> None:
    """
    The error for a malformed TLSRPT record of 64 KiB quotes only the start of the record
    and of the faulty part: one short line, not the whole record twice (found by
    C{fuzz/mail_policy.py}).
    """
    record = "v=TLSRPTv1; rua=" + "a" * 65000
    with pytest.raises(TLSRPTError, match="is not a URI") as caught:
        parseTLSRPTRecord(record)
    assert len(str(caught.value)) < 300
    with pytest.raises(TLSRPTError, match="is not a field") as caught:
        parseTLSRPTRecord("v=TLSRPTv1; " + "x" * 65000)
    assert len(str(caught.value)) < 300


def test_recordLongBlanksLinear() -> None:
    """
    An C{_mta-sts} record with a long run of blanks that no C{;} follows is refused in
    linear time, not after minutes (found by C{fuzz/mail_policy.py}); blanks around a C{;}
    are still delimiters, and blanks ending the record are not.
    """
    text = "v=STSv1; id=5" + " " * 65000 + "id=5"
    started = time.perf_counter()
    with pytest.raises(PolicySyntaxError, match="is not NAME=VALUE"):
        parseRecord(text)
    assert time.perf_counter() - started < 1.0
    assert parseRecord("v=STSv1 \t; \tid=5 ;x=y\t;").extensions == (("x", "y"),)
    with pytest.raises(PolicySyntaxError, match="is not NAME=VALUE"):
        parseRecord("v=STSv1; id=5 ")


@pytest.mark.parametrize("uri", ["https://[", "https://x]", "https://[::1"])
def test_tlsrptUnbalancedIPv6(uri: str) -> None:
    """
    A TLSRPT record whose C{https} URI has an unbalanced C{[} or C{]} is a L{TLSRPTError},
    not the C{ValueError} of C{urlsplit} (found by C{fuzz/mail_policy.py}).
    """
    with pytest.raises(TLSRPTError, match="is not a URI"):
        parseTLSRPTRecord(f"v=TLSRPTv1;rua={uri}")

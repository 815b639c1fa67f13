"""
Tests for L{txdane.validation.ede}: the EDE codes, numbered and named as dnspython has them.
"""

from __future__ import annotations

import dns.edns

from txdane.validation import EDE, edeText


def test_codesAreDnspythons() -> None:
    """
    L{EDE} numbers the codes as dnspython's enumeration does, under the same names, and its
    members are numbers (equal to dnspython's members of the same number).
    """
    for code in dns.edns.EDECode:
        assert EDE[code.name] == code and code == EDE[code.name]
    assert [code.value for code in EDE] == list(range(len(EDE)))
    assert EDE.DNSKEY_MISSING == 9 and f"{EDE.DNSKEY_MISSING}" == "9"
    assert EDE.UNSUPPORTED_NSEC3_ITERATIONS_VALUE == 27  # past what dnspython 2.8 names


def test_namesOfTheCodesTheValidatorReports() -> None:
    """
    The codes the validator reports are named as RFC 8914 names them, acronyms kept.
    """
    assert {code: edeText(code) for code in (0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 25, 27)} == {
        0: "other error",
        1: "unsupported DNSKEY algorithm",
        2: "unsupported DS digest type",
        5: "DNSSEC indeterminate",
        6: "DNSSEC bogus",
        7: "signature expired",
        8: "signature not yet valid",
        9: "DNSKEY missing",
        10: "RRSIGs missing",
        11: "no zone key bit set",
        12: "NSEC missing",
        25: "signature expired before valid",
        27: "unsupported NSEC3 iterations value",
    }


def test_everyRegisteredCodeHasAName() -> None:
    """
    Codes an upstream resolver may send are named too; an unassigned number has no name.
    """
    assert edeText(22) == "no reachable authority"
    assert edeText(19) == "stale NXDOMAIN answer"
    assert all(edeText(code) for code in EDE)
    assert edeText(max(EDE) + 1) is None

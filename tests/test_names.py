"""
L{txdane.names}: names read from text are the same names with every dnspython release txdane
supports (2.8 reads Unicode by IDNA 2003, 2.9 by IDNA 2008).
"""

from __future__ import annotations

import dns.name
import pytest

from txdane.names import asciiHostName, asName, nameFromText


@pytest.mark.parametrize(
    "text, ascii",
    [
        ("Stra\u00dfe.example", "xn--strae-oqa.example."),
        ("B\u00dcCHER.example", "xn--bcher-kva.example."),
        ("www.example.", "www.example."),
    ],
)
def test_idna2008(text: str, ascii: str) -> None:
    """
    IDNA 2008 with the UTS 46 mapping, as browsers and registries write names: a sharp s
    stays one (IDNA 2003 made it "ss", a different name).
    """
    expected = dns.name.from_text(ascii)
    assert nameFromText(text) == expected
    assert asName(text) == expected
    assert asciiHostName(text) == ascii.rstrip(".")

"""
L{TSIGKey} reads the key files of BIND's C{tsig-keygen} and Knot's C{keymgr -t}.
"""

from __future__ import annotations

import base64

import dns.name
import pytest

from txdane.publish import TSIGKey, TSIGKeyError

SECRET = "EIgbzExr622/fmdbjf/OzDklYI8JVL6+UQIawzfFA7c="

BIND = f"""key "up.example." {{
\talgorithm hmac-sha256;
\tsecret "{SECRET}";
}};
"""

KNOT = f"""# hmac-sha512:up.example.:{SECRET}
key:
  - id: up.example.
    algorithm: hmac-sha512
    secret: {SECRET}
"""


@pytest.mark.parametrize(
    "text, algorithm",
    [
        (BIND, "hmac-sha256"),
        (KNOT, "hmac-sha512"),
        (f"hmac-sha384:up.example.:{SECRET}", "hmac-sha384"),
        (BIND.replace("hmac-sha256", "HMAC-SHA256"), "hmac-sha256"),
    ],
    ids=["tsig-keygen", "keymgr", "knsupdate -y", "upper case"],
)
def test_formats(text: str, algorithm: str) -> None:
    key = TSIGKey.fromText(text)
    assert key.name == dns.name.from_text("up.example.")
    assert key.algorithm == algorithm
    assert key.secret == base64.b64decode(SECRET)
    assert key.toDNSPython().name == key.name


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "no key found"),
        (BIND.replace("hmac-sha256", "hmac-whirlpool"), "unknown algorithm"),
        (BIND.replace(SECRET, "not base64!"), "not base64"),
        ('key "up." { algorithm hmac-sha256; };', "no secret"),
    ],
)
def test_refused(text: str, reason: str) -> None:
    with pytest.raises(TSIGKeyError) as raised:
        TSIGKey.fromText(text, "up.key")
    assert reason in str(raised.value)
    assert str(raised.value).startswith("TSIG key up.key: ")


def test_secretNotInRepr() -> None:
    assert SECRET not in repr(TSIGKey.fromText(BIND))


def test_unreadable(tmp_path: object) -> None:
    with pytest.raises(TSIGKeyError, match="cannot read it"):
        TSIGKey.fromFile("/nonexistent/up.key")

"""
L{TSIGKey} reads the key files of BIND's C{tsig-keygen} and Knot's C{keymgr -t}.
"""

from __future__ import annotations

import base64
from pathlib import Path

import dns.name
import pytest

from txdane.publish import TSIGKey, TSIGKeyError
from txdane.tsig import parseTSIGKeys

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
        # One name, two secrets: which one would sign is a guess.
        (BIND + BIND.replace(SECRET, "c2Vjb25kIHNlY3JldA=="), "key up.example. is given twice"),
    ],
)
def test_refused(text: str, reason: str) -> None:
    with pytest.raises(TSIGKeyError) as raised:
        TSIGKey.fromText(text, "up.key")
    assert reason in str(raised.value)
    assert str(raised.value).startswith("TSIG key up.key: ")


def test_secretNotInRepr() -> None:
    assert SECRET not in repr(TSIGKey.fromText(BIND))


def test_unreadable(tmp_path: Path) -> None:
    with pytest.raises(TSIGKeyError, match="cannot read it"):
        TSIGKey.fromFile("/nonexistent/up.key")
    binary = tmp_path / "up.key"
    binary.write_bytes(b"\x87\x00\xff")
    with pytest.raises(TSIGKeyError, match=r"not a TSIG key file \(not text\)"):
        TSIGKey.fromFile(str(binary))


OTHER = "c2Vjb25kIGtleSBzZWNyZXQgYnl0ZXMhIQ=="

KNOT_TWO = f"""key:
  - id: up.example.
    algorithm: hmac-sha512
    secret: {SECRET}
  - id: other.example.
    secret: {OTHER}
"""


@pytest.mark.parametrize(
    "text",
    [BIND + BIND.replace("up.example.", "other.example.").replace(SECRET, OTHER), KNOT_TWO],
    ids=["tsig-keygen twice", "keymgr list"],
)
def test_severalKeys(text: str) -> None:
    """
    A file with several keys gives each, whole (a Knot entry without an algorithm line is
    hmac-sha256, not the algorithm of the entry before it); one is chosen by name, and without
    a name the file is refused with the names it holds.
    """
    keys = parseTSIGKeys(text, "keys.conf")
    assert [k.name.to_text() for k in keys] == ["up.example.", "other.example."]
    assert keys[1].secret == base64.b64decode(OTHER)
    assert keys[1].algorithm == "hmac-sha256"
    chosen = TSIGKey.fromText(text, "keys.conf", "other.example")
    assert chosen == keys[1]
    with pytest.raises(TSIGKeyError) as raised:
        TSIGKey.fromText(text, "keys.conf")
    assert "holds 2 keys (up.example., other.example.): say which one" in str(raised.value)
    with pytest.raises(TSIGKeyError, match=r"no key named third\. \(it holds up"):
        TSIGKey.fromText(text, "keys.conf", "third")


@pytest.mark.parametrize(
    "text, reason",
    [
        ("key:\n  - algorithm: hmac-sha256\n    secret: " + SECRET + "\n", "has no id"),
        (KNOT.replace("    secret:", "    algorithm: hmac-sha256\n    secret:"), "two 'algorithm'"),
        ('key "up." { algorithm hmac-sha256; secret ""; };', "no secret"),
    ],
)
def test_severalRefused(text: str, reason: str) -> None:
    with pytest.raises(TSIGKeyError, match=reason):
        parseTSIGKeys(text)


def test_publishChoosesByName(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """
    C{txdane publish --tsig-key-name} picks the key; without it a file of two keys is a usage
    error naming them, before any server is asked.
    """
    from tests.dane.certs import issue
    from txdane.cli import main

    keys = tmp_path / "keys.yaml"
    keys.write_text(KNOT_TWO)
    cert = tmp_path / "cert.pem"
    cert.write_bytes(issue("www.example.test").certPEM())
    argv = ["publish", "www.example.test", "443", "--cert", str(cert), "--server",
            "127.0.0.1#9", "--tsig-key", str(keys), "--zone", "example.test"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "holds 2 keys (up.example., other.example.)" in err and err.count("\n") == 1, err
    import argparse

    from txdane.cli.publish import addArguments, prepare

    parser = argparse.ArgumentParser()
    addArguments(parser)
    options = parser.parse_args([*argv[1:], "--tsig-key-name", "other.example."])
    assert prepare(options).key.name == dns.name.from_text("other.example.")


@pytest.mark.parametrize(
    "tail",
    [
        "zone example. { update-policy { grant up. zonesub ANY; }; };\n",
        'key "other." { algorithm hmac-sha256;\n',
    ],
    ids=["named.conf snippet", "statement cut short"],
)
def test_textBesideTheKeyRefused(tail: str) -> None:
    """
    A BIND key file is its key statements, blanks and comments: text beside them (the
    C{named.conf} snippet C{ddns-confgen} prints without C{-q}, a second key cut short) is
    refused with its line, rather than the keys found taken and the rest dropped, for the
    server's C{--allow-update} and C{txdane publish --tsig-key} alike.
    """
    line = BIND.count("\n") + 2
    with pytest.raises(
        TSIGKeyError, match=rf"unexpected text after the key statement, line {line}:"
    ):
        parseTSIGKeys(BIND + "\n" + tail, "keys.conf")


def test_commentsBesideTheKey() -> None:
    """
    Comments of named.conf's three forms and blank lines may stand around the key.
    """
    text = "# made by tsig-keygen\n// for updates\n/* two\nlines */\n" + BIND + "\n\n"
    assert [k.name.to_text() for k in parseTSIGKeys(text, "keys.conf")] == ["up.example."]


#: A secret of another length and alphabet (hmac-sha384's 48 octets: no C{=}).
SECRET_384 = base64.b64encode(bytes(range(7, 55))).decode()

BIND_TWICE = f'key "up." {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n'


@pytest.mark.parametrize(
    "text",
    [
        f"{SECRET}:up",
        f"hmac-sha256:{SECRET}:up",
        f"hmac-sha384:{SECRET_384}:up",
        f"{SECRET_384}:up",
        f'{BIND_TWICE}\tsecret "{SECRET}";\n',
        f"{BIND_TWICE}\tsecret {SECRET};\n",
        f"{BIND_TWICE}{SECRET}\n",
        f"{BIND_TWICE}# {SECRET}\nx {SECRET_384}\n",
        f'key "{SECRET}" {{ algorithm hmac-sha256; secret "up"; }};\n',
        f"key:\n  - id: up.\n    algorithm: {SECRET}\n    secret: {SECRET}\n",
    ],
    ids=[
        "secret:name",
        "algorithm:secret:name",
        "algorithm:secret:name, no =",
        "secret:name, no =",
        "stray secret line",
        "stray secret unquoted",
        "stray secret alone",
        "stray base64 word",
        "secret as the BIND key name",
        "secret as the algorithm",
    ],
)
def test_secretNeverInErrors(text: str) -> None:
    """
    No error about a key file holds the secret or any part of it of 8 characters: a name and
    a secret swapped, a line quoted from after the key statement.
    """
    with pytest.raises(TSIGKeyError) as raised:
        parseTSIGKeys(text, "up.key")
    message = str(raised.value)
    assert message.count("\n") == 0
    for secret in (SECRET, SECRET_384):
        for start in range(len(secret) - 8):
            assert secret[start : start + 8] not in message, message


def test_swappedNameSaysSo() -> None:
    """
    A name that looks like a secret is refused without being shown, with the order.
    """
    with pytest.raises(TSIGKeyError) as raised:
        parseTSIGKeys(f"{SECRET}:up", "up.key")
    assert "are the name and the secret swapped?" in str(raised.value)
    assert "ALGORITHM:NAME:SECRET" in str(raised.value)


@pytest.mark.parametrize(
    "name",
    ["update-key.", "publish_key.example.", "k1.", "transferkeyexample", "Key2UpdateExampleZone"],
)
def test_ordinaryNamesAccepted(name: str) -> None:
    """
    Key names as people give them are not taken for secrets.
    """
    [key] = parseTSIGKeys(f"hmac-sha256:{name}:{SECRET}")
    assert key.name == dns.name.from_text(name)

"""
TSIG keys (RFC 8945) and the files they come in: what C{txdane publish --tsig-key} signs its
updates with and what the server's C{--allow-update} accepts.

Three formats are read, each possibly holding several keys:

  - BIND's C{key "name" { algorithm ...; secret "..."; };} statements (C{tsig-keygen},
    C{ddns-confgen});
  - Knot's C{key:} list in YAML (C{keymgr -t}: C{- id: name}, C{algorithm:}, C{secret:});
  - C{algorithm:name:secret} lines (C{knsupdate -y}, and the comment line C{keymgr -t} writes
    above its YAML; ignored when the YAML is there).

Tests: tests/publish/test_tsigkey.py, tests/server/test_update.py.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.tsig

from txdane.errors import TxdaneError

__all__ = ["ALGORITHMS", "TSIGKey", "TSIGKeyError", "parseTSIGKeys", "readTSIGKeyFile"]

#: The HMAC algorithms of TSIG, by the names key files give them.
ALGORITHMS: dict[str, dns.name.Name] = {
    "hmac-md5": dns.tsig.HMAC_MD5,
    "hmac-sha1": dns.tsig.HMAC_SHA1,
    "hmac-sha224": dns.tsig.HMAC_SHA224,
    "hmac-sha256": dns.tsig.HMAC_SHA256,
    "hmac-sha384": dns.tsig.HMAC_SHA384,
    "hmac-sha512": dns.tsig.HMAC_SHA512,
}

_BIND_KEY = re.compile(r'key\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;', re.DOTALL | re.IGNORECASE)
_BIND_ALGORITHM = re.compile(r'algorithm\s+"?([\w.-]+)"?\s*;', re.IGNORECASE)
_BIND_SECRET = re.compile(r'secret\s+"([^"]*)"\s*;', re.IGNORECASE)
_KNOT_LIST = re.compile(r"^key\s*:", re.MULTILINE)
_KNOT_FIELD = re.compile(r"^\s*(-\s+)?(id|algorithm|secret)\s*:\s*(\S+)\s*$")

#: What may stand around and between the key statements of a BIND key file (those that
#: L{_BIND_KEY} finds, so that what is left is what it would skip): blanks, and
#: comments in named.conf's three forms.
_BIND_FILLER = re.compile(r"(?:\s+|#[^\n]*|//[^\n]*|/\*.*?\*/)+", re.DOTALL)


class TSIGKeyError(TxdaneError, ValueError):
    """
    A TSIG key file could not be read, or holds no usable key.

    @ivar source: where the key came from (a file name, or C{<text>}).
    @ivar reason: what is wrong, one line.
    """

    source: str
    reason: str
    template = "TSIG key {source}: {reason}"


@dataclass(frozen=True)
class TSIGKey:
    """
    A TSIG key: its name, algorithm and secret.

    @ivar name: the key's name, as the server knows it.
    @ivar algorithm: the HMAC algorithm, such as C{hmac-sha256} (a key of L{ALGORITHMS}).
    @ivar secret: the shared secret.
    """

    name: dns.name.Name
    algorithm: str
    secret: bytes = field(repr=False)

    @classmethod
    def fromText(cls, text: str, source: str = "<text>", name: str | None = None) -> TSIGKey:
        """
        The key of a key file's text (see the module docstring for the formats).

        @param name: which key, when the text holds several; without it, the text must hold
            exactly one.
        @raise TSIGKeyError: if there is no such key, it is incomplete, or the choice is
            ambiguous.
        """
        return _choose(parseTSIGKeys(text, source), source, name)

    @classmethod
    def fromFile(cls, path: str | os.PathLike[str], name: str | None = None) -> TSIGKey:
        """
        The key of a key file (see L{fromText}).

        @raise TSIGKeyError: if it cannot be read, or as L{fromText}.
        """
        source = os.fspath(path)
        return _choose(readTSIGKeyFile(source), source, name)

    def toDNSPython(self) -> dns.tsig.Key:
        """
        The key as dnspython signs and verifies with it.
        """
        return dns.tsig.Key(self.name, self.secret, ALGORITHMS[self.algorithm])


def parseTSIGKeys(text: str, source: str = "<text>") -> list[TSIGKey]:
    """
    Every key of a key file's text, in the order given.

    @param source: named in errors.
    @raise TSIGKeyError: if it holds none, one that is incomplete or unusable (an unknown
        algorithm, a secret that is not base64, a name that is not a DNS name), or two keys
        of one name, or if a BIND file holds anything but key statements, blanks and
        comments (text after the key, a statement cut short, a snippet of C{named.conf}).
    """
    keys: list[TSIGKey] = []
    for match in _BIND_KEY.finditer(text):
        body = match.group(2)
        algorithm = _BIND_ALGORITHM.search(body)
        secret = _BIND_SECRET.search(body)
        keys.append(
            _make(
                source,
                match.group(1),
                algorithm.group(1) if algorithm else "hmac-sha256",
                secret.group(1) if secret else None,
            )
        )
    if not keys and _KNOT_LIST.search(text):
        entries: list[dict[str, str]] = []
        for line in text.splitlines():
            found = _KNOT_FIELD.match(line)
            if found is None:
                continue
            dash, key, value = found.groups()
            if dash or key == "id" or not entries:
                entries.append({})
            if key in entries[-1]:
                raise TSIGKeyError(source, f"a key has two {key!r} lines")
            entries[-1][key] = value.strip("\"'")
        for entry in entries:
            if "id" not in entry:
                raise TSIGKeyError(source, "a key of the key: list has no id")
            named = entry.get("algorithm", "hmac-sha256")
            keys.append(_make(source, entry["id"], named, entry.get("secret")))
    if not keys:
        for line in text.splitlines():
            line = line.strip().lstrip("#").strip()
            parts = line.split(":")
            if len(parts) == 3 and parts[0].lower() in ALGORITHMS:
                keys.append(_make(source, parts[1], parts[0], parts[2]))
            elif len(parts) == 2 and line and " " not in line:
                keys.append(_make(source, parts[0], "hmac-sha256", parts[1]))
    if not keys:
        raise TSIGKeyError(source, "no key found (expected a BIND or Knot TSIG key file)")
    unexpected = _unexpectedText(text)
    if unexpected is not None:
        raise TSIGKeyError(source, unexpected)
    names = [key.name for key in keys]
    twice = next((name for name in names if names.count(name) > 1), None)
    if twice is not None:
        # One name, two secrets: which one signs is a guess nobody should have to make.
        raise TSIGKeyError(source, f"key {twice} is given twice")
    return keys


def _unexpectedText(text: str) -> str | None:
    """
    What a BIND key file holds besides its key statements, blanks and comments, said with
    its line; C{None} if nothing (or if the file is in another format).

    The key statements are found wherever they are, so a file with anything else in it (a
    statement cut short, a second key mistyped, a snippet of C{named.conf} pasted after the
    key) would otherwise give its keys and silently drop the rest.
    """
    if _BIND_KEY.search(text) is None:
        return None
    position = statements = 0
    while position < len(text):
        filler = _BIND_FILLER.match(text, position)
        if filler is not None:
            position = filler.end()
            continue
        statement = _BIND_KEY.match(text, position)
        if statement is not None:
            position = statement.end()
            statements += 1
            continue
        line = text.count("\n", 0, position) + 1
        found = _withoutSecrets(text[position:].splitlines()[0].strip())
        if len(found) > 40:
            found = found[:40] + "..."
        where = "after the key statement" if statements else "before the key statement"
        if statements > 1:
            where += "s"
        return f"unexpected text {where}, line {line}: {found!r}"
    return None


#: What a line quoted in an error is searched for secrets in: its quoted strings, and its
#: runs of base64 characters long enough to hold part of one.
_QUOTED_OR_WORD = re.compile(r'"[^"]*("|$)|[A-Za-z0-9+/=]{8,}')


def _looksLikeSecret(word: str) -> bool:
    """
    Whether C{word}, given as a key's name or algorithm, may be a secret, and so must not be
    quoted in an error: it holds a character that is neither a letter, a digit, C{-}, C{_}
    nor a dot (base64's C{+}, C{/}, C{=}), or a run of 16 letters and digits mixing capitals,
    small letters and digits, as random base64 does.
    """
    if re.fullmatch(r"[A-Za-z0-9._-]+", word) is None:
        return True
    return any(
        re.search("[0-9]", run) and re.search("[a-z]", run) and re.search("[A-Z]", run)
        for run in re.findall(r"[A-Za-z0-9]{16,}", word)
    )


def _withoutSecrets(line: str) -> str:
    """
    C{line} as an error may quote it: whatever follows C{secret} blanked out, and so is every
    quoted string or word that looks like a secret (L{_looksLikeSecret}).
    """
    line = re.sub(r"(?i)(secret\b).*", r"\1 ...", line)

    def blanked(match: re.Match[str]) -> str:
        text = match.group(0)
        if not _looksLikeSecret(text.strip('"')):
            return text
        return '"..."' if text.startswith('"') else "..."

    return _QUOTED_OR_WORD.sub(blanked, line)


def readTSIGKeyFile(path: str | os.PathLike[str]) -> list[TSIGKey]:
    """
    Every key of a key file (see L{parseTSIGKeys}).

    @raise TSIGKeyError: if it cannot be read, or as L{parseTSIGKeys}.
    """
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise TSIGKeyError(source, "not a TSIG key file (not text)") from None
    except OSError as e:
        raise TSIGKeyError(source, f"cannot read it: {e.strerror or e}") from None
    return parseTSIGKeys(text, source)


def _choose(keys: Sequence[TSIGKey], source: str, name: str | None) -> TSIGKey:
    names = ", ".join(key.name.to_text() for key in keys)
    if name is None:
        if len(keys) > 1:
            raise TSIGKeyError(source, f"holds {len(keys)} keys ({names}): say which one")
        return keys[0]
    try:
        wanted = dns.name.from_text(name)
    except dns.exception.DNSException as e:
        raise TSIGKeyError(source, f"{name!r} is not a key name: {e}") from None
    for key in keys:
        if key.name == wanted:
            return key
    raise TSIGKeyError(source, f"no key named {wanted} (it holds {names})")


def _make(source: str, name: str, algorithm: str, secret: str | None) -> TSIGKey:
    # The name is checked first and never quoted when it may be a secret: a name and a secret
    # swapped (SECRET:NAME, ALGORITHM:SECRET:NAME) must not print the secret in the error. A
    # name with base64's own characters is refused; one that merely looks random (letters
    # and digits) is taken, and only kept out of the errors.
    swapped = (
        "are the name and the secret swapped? (the order is ALGORITHM:NAME:SECRET; a key name"
        " is letters, digits, '-', '_' and dots)"
    )
    if re.fullmatch(r"[A-Za-z0-9._-]+", name) is None:
        raise TSIGKeyError(
            source, f"a key name looks like a secret (base64), so it is not shown: {swapped}"
        )
    key = f"key {name}"
    if _looksLikeSecret(name):
        key = f"a key whose name looks like a secret (not shown: {swapped})"
    try:
        keyName = dns.name.from_text(name)
    except dns.exception.DNSException as e:
        if _looksLikeSecret(name):
            raise TSIGKeyError(source, f"{key}, and it is not a name: {e}") from None
        raise TSIGKeyError(source, f"the key name {name!r} is not a name: {e}") from None
    algorithm = algorithm.lower().rstrip(".")
    if algorithm not in ALGORITHMS:
        shown = (
            "(not shown: it looks like a secret)"
            if _looksLikeSecret(algorithm)
            else (repr(algorithm))
        )
        raise TSIGKeyError(source, f"{key}: unknown algorithm {shown}")
    if not secret:
        raise TSIGKeyError(source, f"{key}: the key has no secret")
    try:
        decoded = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError) as e:
        raise TSIGKeyError(source, f"{key}: the secret is not base64: {e}") from None
    if not decoded:
        raise TSIGKeyError(source, f"{key}: the secret is empty")
    return TSIGKey(keyName, algorithm, decoded)

"""
Fuzz the C{dane:} and C{dnssec:} endpoint-string parsers: any string gives an endpoint or
a L{TxdaneError} (L{EndpointStringError}, a C{ValueError}, names the option) with a message
starting with the endpoint type, never another exception; and an endpoint round-trips: its
options, written out again as a canonical string (every option by name, in order, escaped)
and parsed, give an equal endpoint (the same host, port, timeouts, DANE options and the same
shared resolver).

Strings naming files outside the working directory (a C{/}) are skipped; the fuzzer runs in
a directory holding a trust-anchor file, a PEM file and an empty file.

    python fuzz/endpoint_string.py -runs=100000
"""

from __future__ import annotations

import dataclasses
import enum
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from twisted.internet.endpoints import _parse
from twisted.internet.ssl import PrivateCertificate
from twisted.internet.testing import MemoryReactorClock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.endpoints import parsers
    from txdane.endpoints._strings import OptionReader
    from txdane.endpoints.parsers import DANEEndpointParser, DNSSECEndpointParser
    from txdane.errors import TxdaneError

from fuzz._fixed import fixedChain

_DIRECTORY = tempfile.mkdtemp(prefix="fuzz-endpoint-")
_ANCHOR = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"


def _files() -> None:
    chain = fixedChain("www.example.test")
    Path(_DIRECTORY, "anchor").write_text(_ANCHOR)
    Path(_DIRECTORY, "client.pem").write_bytes(chain.leafPEM())
    Path(_DIRECTORY, "roots.pem").write_bytes(chain.root.public_bytes(Encoding.PEM))
    Path(_DIRECTORY, "empty").write_bytes(b"")
    os.chdir(_DIRECTORY)


class _Recording(OptionReader):
    """
    The parsers' option reader, remembering the options it last read.
    """

    last: OptionReader | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _Recording.last = self


parsers.OptionReader = _Recording  # type: ignore[misc]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:").replace("=", "\\=")


def render(prefix: str, values: dict[str, str]) -> str:
    """
    The canonical endpoint string of C{values}: every option by name, sorted, escaped.
    """
    return ":".join([prefix, *(f"{k}={_escape(v)}" for k, v in sorted(values.items()))])


def describe(value: object, depth: int = 0) -> object:
    """
    What equal endpoints share: their settings, recursively; the resolver by identity (an
    equal string gets the same shared resolver of the reactor).
    """
    if value is None or isinstance(value, (str, bytes, int, float, bool, enum.Enum)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(describe(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), describe(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, PrivateCertificate):
        return value.dumpPEM()
    if isinstance(value, x509.Certificate):
        return value.fingerprint(hashes.SHA256())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (
            type(value).__name__,
            tuple(describe(getattr(value, f.name), depth + 1) for f in fields),
        )
    if type(value).__module__.startswith("txdane.endpoints") and depth < 3:
        items = {
            k: ("resolver", id(v)) if "resolver" in k.lower() else describe(v, depth + 1)
            for k, v in vars(value).items()
            if k not in ("_reactor", "reactor") and not callable(v)
        }
        return (type(value).__name__, describe(items, depth + 1))
    return type(value).__name__


def _parsed(prefix: str, text: str, reactor: MemoryReactorClock) -> object:
    args, kwargs = _parse(text)
    parser = DANEEndpointParser() if prefix == "dane" else DNSSECEndpointParser()
    return parser.parseStreamClient(reactor, *args, **kwargs)


def testOneInput(data: bytes) -> str:
    """
    The first byte picks the prefix (Twisted's own parsing of a string without one is not
    ours to fuzz); the rest follows it.
    """
    if not data:
        return "empty"
    try:
        body = data[1:].decode("utf-8")
    except UnicodeDecodeError:
        body = data[1:].decode("latin-1")  # other text: every byte a character
    text = ("dane:" if data[0] & 1 else "dnssec:") + body
    if "/" in text or "\0" in text:
        return "skipped"
    prefix, _, rest = text.partition(":")
    try:
        _parse(rest)
    except ValueError:
        return "tokens"  # clientFromString raises it too (a non-ASCII option name)
    except (RuntimeError, IndexError):
        # Twisted's own tokenizer fails on some strings (a final backslash): not ours.
        return "tokens"
    reactor = MemoryReactorClock()
    _Recording.last = None
    try:
        endpoint = _parsed(prefix, rest, reactor)
    except TxdaneError as e:
        assert isinstance(e, ValueError), repr(e)
        assert str(e).startswith(f"{prefix}: "), str(e)
        return "error"
    reader = _Recording.last
    assert reader is not None
    canonical = render(prefix, reader.values)
    again = _parsed(prefix, canonical.partition(":")[2], reactor)
    assert describe(again) == describe(endpoint), (text, canonical)
    return type(endpoint).__name__


_SEEDS = [
    "dane:host=www.example.test:port=443",
    "dane:www.example.test:443:timeout=5:require=yes:proto=tcp:tlsaHost=example.test",
    "dane:host=www.example.test:port=443:resolver=127.0.0.1#5353,::1:trustAnchor=anchor",
    "dane:host=mail.example.test:port=25:certificate=client.pem:trustRoots=empty",
    r"dane:host=www.example.test:port=443:resolver=2001\:db8\:\:53#53:trustAD=yes",
    "dnssec:host=www.example.test:port=22:strictNSEC3=yes:trustAnchor=anchor",
    "dnssec:host=git.example.test:port=22:allowInsecure=yes:bindAddress=127.0.0.1",
    "dnssec:git.example.test:22:timeout=0.5:trustAnchor=empty",
    "dane:host=www.example.test:port=443:trustRoots=roots.pem:policy=smtp:dnsTimeout=3",
    "dane:mx=example.test:maxHosts=3:certificate=client.pem:handshakeTimeout=9",
    "dane:srv=xmpp-client:domain=example.test:trustADRemote=yes:resolver=192.0.2.1",
    "dane:host=imap.example.test:port=143:starttls=imap:checkDANEEENames=yes",
]

if __name__ == "__main__":
    _files()
    main(
        testOneInput,
        [bytes([s.startswith("dane:")]) + s.partition(":")[2].encode() for s in _SEEDS],
    )

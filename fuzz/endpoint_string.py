"""
Fuzz the C{dane:} and C{dnssec:} endpoint-string parsers: any string gives an endpoint or
a C{ValueError} (L{EndpointStringError} names the option), never another exception.

Strings naming files outside the working directory (a C{/}) are skipped; the fuzzer runs in
a directory holding a trust-anchor file, a PEM file and an empty file.

    python fuzz/endpoint_string.py -runs=100000
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from twisted.internet.endpoints import _parse
from twisted.internet.testing import MemoryReactorClock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.endpoints.parsers import DANEEndpointParser, DNSSECEndpointParser
    from txdane.testing import selfSignedCertificate

_DIRECTORY = tempfile.mkdtemp(prefix="fuzz-endpoint-")
_ANCHOR = ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"


def _files() -> None:
    _, private = selfSignedCertificate("www.example.test")
    Path(_DIRECTORY, "anchor").write_text(_ANCHOR)
    Path(_DIRECTORY, "client.pem").write_bytes(private.dumpPEM())
    Path(_DIRECTORY, "empty").write_bytes(b"")
    os.chdir(_DIRECTORY)


def testOneInput(data: bytes) -> None:
    """
    The first byte picks the prefix (Twisted's own parsing of a string without one is not
    ours to fuzz); the rest follows it.
    """
    if not data:
        return
    try:
        text = ("dane:" if data[0] & 1 else "dnssec:") + data[1:].decode("utf-8")
    except UnicodeDecodeError:
        return
    if "/" in text or "\0" in text:
        return
    prefix, _, rest = text.partition(":")
    try:
        args, kwargs = _parse(rest)
    except ValueError:
        return  # clientFromString raises it too (a non-ASCII option name)
    except (RuntimeError, IndexError):
        # Twisted's own tokenizer fails on some strings (a final backslash): not ours.
        return
    parser = DANEEndpointParser() if prefix == "dane" else DNSSECEndpointParser()
    reactor = MemoryReactorClock()
    try:
        parser.parseStreamClient(reactor, *args, **kwargs)
    except ValueError:
        pass


_SEEDS = [
    "dane:host=www.example.test:port=443",
    "dane:www.example.test:443:timeout=5:require=yes:proto=tcp:tlsaHost=example.test",
    "dane:host=www.example.test:port=443:resolver=127.0.0.1#5353,::1:trustAnchor=anchor",
    "dane:host=mail.example.test:port=25:certificate=client.pem:trustRoots=empty",
    r"dane:host=www.example.test:port=443:resolver=2001\:db8\:\:53#53:trustAD=yes",
    "dnssec:host=www.example.test:port=22:strictNSEC3=yes:trustAnchor=anchor",
    "dnssec:host=git.example.test:port=22:allowInsecure=yes:bindAddress=127.0.0.1",
    "dnssec:git.example.test:22:timeout=0.5:trustAnchor=empty",
]

if __name__ == "__main__":
    _files()
    main(
        testOneInput,
        [bytes([s.startswith("dane:")]) + s.partition(":")[2].encode() for s in _SEEDS],
    )

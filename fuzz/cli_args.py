"""
Fuzz the command line's argument parsing: any argument list (NUL-separated in the input)
gives parsed options and checked resolver settings, or a usage error, never another
exception. Commands are not run (they would use the network).

Arguments naming files outside the working directory (a C{/}) are skipped.

    python fuzz/cli_args.py -runs=100000
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.cli import UsageError, _buildParser
    from txdane.cli._common import resolverSettings

_DIRECTORY = tempfile.mkdtemp(prefix="fuzz-cli-")


def testOneInput(data: bytes) -> None:
    try:
        argv = data.decode("utf-8").split("\0")
    except UnicodeDecodeError:
        return
    if any("/" in arg for arg in argv):
        return
    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            parser, _ = _buildParser(argv)
            options = parser.parse_args(argv)
    except UsageError:
        return
    except SystemExit as e:
        # --help and --version print and exit 0; nothing else may exit.
        assert e.code == 0, e.code
        return
    if hasattr(options, "trust_ad") and hasattr(options, "resolver"):
        try:
            resolverSettings(options)
        except UsageError:
            return


_SEEDS = [
    ["lookup", "www.example.test", "A"],
    ["lookup", "--resolver", "127.0.0.1#5353", "--trust-ad", "example.test", "TLSA"],
    ["tlsa", "www.example.test", "443", "--timeout", "3"],
    ["verify", "www.example.test", "--port", "443", "--trust-anchor", "anchor"],
    ["check", "example.test"],
    ["generate", "--usage", "3", "--selector", "1", "cert.pem"],
    ["keygen", "-a", "ED25519", "--zsk", "-d", "keys", "example.test"],
    ["serve", "--help"],
    ["demo", "--version"],
]

if __name__ == "__main__":
    os.chdir(_DIRECTORY)
    Path(_DIRECTORY, "anchor").write_text(
        ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n"
    )
    main(testOneInput, ["\0".join(argv).encode() for argv in _SEEDS])

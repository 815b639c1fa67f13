"""
Fuzz the command line's argument parsing: any argument list (NUL-separated in the input),
given to C{txdane}'s entry point, reaches the command with parsed options and checked
resolver settings, or ends with a usage error: exit status 2 and C{txdane: MESSAGE} on
standard error (one line, unless the message quotes an argument holding line breaks; the
help when no command is named), never a traceback or another exception; C{--help} and
C{--version} exit with status 0 after printing.
Commands are not run (they would use the network): each is replaced by a check of its
resolver options that returns 0.

Arguments naming files outside the working directory (a C{/}) are skipped; input that is
not UTF-8 is read as Latin-1 (every byte a character).

    python fuzz/cli_args.py -runs=100000
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    import txdane.cli as cli
    from txdane.cli import ExitStatus
    from txdane.cli._common import resolverSettings

_DIRECTORY = tempfile.mkdtemp(prefix="fuzz-cli-")


class _Checked:
    """
    A command that checks its resolver options instead of running.
    """

    def run(self, options: object) -> int:
        if hasattr(options, "trust_ad") and hasattr(options, "resolver"):
            resolverSettings(options)  # type: ignore[arg-type]
        return 0


_realBuildParser = cli._buildParser


def _buildParser(argv: Sequence[str]) -> tuple[object, dict[str, object]]:
    parser, commands = _realBuildParser(argv)
    return parser, {name: _Checked() for name in commands}


cli._buildParser = _buildParser  # type: ignore[assignment]


def testOneInput(data: bytes) -> str:
    try:
        argv = data.decode("utf-8").split("\0")
    except UnicodeDecodeError:
        argv = data.decode("latin-1").split("\0")
    if any("/" in arg for arg in argv):
        return "skipped"
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(argv)
    except SystemExit as e:
        # --help and --version print and exit 0; nothing else may exit.
        assert e.code == 0, (e.code, err.getvalue())
        assert out.getvalue().strip(), "exited 0 without printing"
        return "help"
    errors = err.getvalue()
    assert "Traceback" not in errors, errors
    if status == 0:
        return "parsed"
    assert status == ExitStatus.USAGE, (status, errors)
    if errors.startswith("usage:"):
        return "no-command"  # no command named: the help, on standard error
    # One line, unless the message quotes an argument holding line breaks.
    assert errors.startswith("txdane: ") and errors.endswith("\n") and errors[8:].strip(), errors
    return "usage-error"


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

"""
C{txdane serve}: the authoritative DNSSEC server in the foreground, with the options of the
C{twistd txdane-dns} plugin (L{txdane.server.tap.Options}) and the same behaviour as
C{python -m txdane.server}, which it runs.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any

#: Placeholders for the options that take a value through an C{opt_} method.
_METAVARS = {
    "zone": "ORIGIN=FILE",
    "key": "KEYFILE",
    "nsec3": "ORIGIN",
    "interface": "ADDRESS",
    "allow-update": "KEYFILE[:SUFFIX[:TYPES]]",
}


def _methodOptions(options: type) -> list[tuple[str, str]]:
    """
    The C{opt_NAME} methods C{options} itself defines, with their help: C{(NAME, help)}.
    """
    found = []
    for attribute, value in vars(options).items():
        if attribute.startswith("opt_") and callable(value):
            doc = " ".join((inspect.getdoc(value) or "").split())
            found.append((attribute[4:].replace("_", "-"), doc))
    return found


def addArguments(parser: argparse.ArgumentParser) -> None:
    from txdane.server.tap import Options

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = (
        f"{parser.description}\n\n{Options.longdesc}\n\nThe options are those of "
        "'twistd -n txdane-dns' and 'python -m txdane.server'. Example:\n"
        "  txdane serve --zone example.test.=example.test.zone "
        "--key Kexample.test.+013+12345 --port 5353"
    )
    for name, doc in _methodOptions(Options):
        parser.add_argument(
            f"--{name}",
            dest=f"serve_{name}",
            action="append",
            default=[],
            metavar=_METAVARS.get(name, "VALUE"),
            help=doc.replace("%", "%%"),
        )
    parameters: list[list[Any]] = Options.optParameters  # type: ignore[assignment]
    for long, short, default, doc, *_ in parameters:
        flags = [f"--{long}"] + ([f"-{short}"] if short else [])
        parser.add_argument(
            *flags,
            dest=f"serve_{long}",
            metavar=long.split("-")[-1].upper(),
            help=_withDefault(doc, default).replace("%", "%%"),
        )
    flagOptions: list[list[Any]] = Options.optFlags
    for long, short, doc in flagOptions:
        flags = [f"--{long}"] + ([f"-{short}"] if short else [])
        parser.add_argument(*flags, dest=f"serve_{long}", action="store_true", help=doc)


def _withDefault(doc: str, default: Any) -> str:
    """
    An option's help with its default, unless the help already says it or there is none.
    """
    if "(default" in doc or default is None:
        return doc
    if isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"{doc} (default: {str(default) or 'none'})"


def serverArguments(options: argparse.Namespace) -> list[str]:
    """
    The command line of the server for the parsed options.
    """
    from txdane.server.tap import Options

    argv: list[str] = []
    for name, _ in _methodOptions(Options):
        for value in getattr(options, f"serve_{name}"):
            argv += [f"--{name}", value]
    parameters: list[list[Any]] = Options.optParameters  # type: ignore[assignment]
    for long, *_ in parameters:
        given: Any = getattr(options, f"serve_{long}")
        if given is not None:
            argv += [f"--{long}", given]
    flagOptions: list[list[Any]] = Options.optFlags
    for long, *_ in flagOptions:
        if getattr(options, f"serve_{long}"):
            argv.append(f"--{long}")
    return argv


def run(options: argparse.Namespace) -> int:
    from txdane.server.__main__ import main

    return main(serverArguments(options), program="txdane")

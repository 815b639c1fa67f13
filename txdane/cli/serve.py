"""
C{txdane serve}: the authoritative DNSSEC server in the foreground, with the options of the
C{twistd txdane-dns} plugin (L{txdane.server.tap.Options}) and the same behaviour as
C{python -m txdane.server}, which it runs.
"""

from __future__ import annotations

import argparse
import inspect
from typing import Any

from txdane.cli import ExitStatus

#: The exit status of C{python -m txdane.server} when it cannot listen.
_CANNOT_LISTEN = 1

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


def checkOptions(options: argparse.Namespace) -> None:
    """
    Refuse, before the server reads them, a zone file or a TSIG key file that is not text
    (the server would say what the codec says), and a port that is not in ASCII digits (the
    server's C{int()} would read C{" 53"} and other scripts' digits).

    @raise UsageError: naming the option and the value.
    """
    from txdane.cli import UsageError
    from txdane.cli._common import checkText
    from txdane.cli._target import isDigits

    port = options.serve_port
    if port is not None and not isDigits(port):
        raise UsageError(f"--port wants a whole number, not {port!r}")

    for value in options.serve_zone:
        _, sep, path = value.partition("=")
        if sep and path:
            checkText("--zone", value, path, "a zone file")
    for value in getattr(options, "serve_allow-update"):
        path = value.partition(":")[0]
        if path:
            checkText("--allow-update", value, path, "a TSIG key file")


def run(options: argparse.Namespace) -> int:
    from txdane.server.__main__ import main

    checkOptions(options)
    status = main(serverArguments(options), program="txdane")
    # The server's own program exits 1 when it cannot listen (its only failure after its
    # options); txdane's status for that is 4, as for lab (docs/cli.md, exit statuses).
    return ExitStatus.FAILURE if status == _CANNOT_LISTEN else status

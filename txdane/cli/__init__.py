"""
The C{txdane} command line (also C{python -m txdane}).

Each subcommand lives in a module of this package and is listed, with its name and one-line
description, in L{SUBCOMMANDS}. Such a module provides:

  - C{addArguments(parser)}: declares its options on an C{argparse} parser;
  - C{run(options) -> int}: does the work and returns the exit status.

Only the module of the subcommand being run is imported: C{txdane --help} loads neither the
reactor nor TLS nor the DNS client and validator.

A subcommand reports a user's mistake by raising L{UsageError} and any other expected failure
by raising L{CommandError} (a L{UsageError} is one): each becomes one line on standard error
(never a traceback) and the exit status it carries.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Protocol

from txdane import __version__
from txdane.errors import TxdaneError

#: The subcommands, in the order C{--help} lists them: name, module, one-line description.
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("lookup", "txdane.cli.lookup", "look up and validate DNS records (like delv)"),
    ("send", "txdane.cli.send", "send one message to a domain's MX hosts with DANE (RFC 7672)"),
    (
        "tlsrpt",
        "txdane.cli.tlsrpt",
        "make the daily SMTP TLS reports (RFC 8460) of recorded sessions, and send them",
    ),
    (
        "tlsa",
        "txdane.cli.tlsa",
        "show the TLSA records of a service, their DNSSEC status and which are usable",
    ),
    (
        "verify",
        "txdane.cli.verify",
        "check a certificate or chain file against TLSA records, before deploying it",
    ),
    (
        "check",
        "txdane.cli.check",
        "connect to a server and verify it by DANE (TLS) or SSHFP (SSH), with advice",
    ),
    (
        "generate",
        "txdane.cli.generate",
        "print the TLSA record of a certificate or key file, or the SSHFP records of an SSH key",
    ),
    (
        "keygen",
        "txdane.cli.keygen",
        "make a DNSSEC key for a zone (BIND key files) and print the DS record for the parent",
    ),
    (
        "publish",
        "txdane.cli.publish",
        "replace the TLSA (or SSHFP) records of a service by a TSIG-signed dynamic update",
    ),
    ("serve", "txdane.cli.serve", "run the authoritative DNSSEC server in the foreground"),
    ("demo", "txdane.cli.demo", "show DNSSEC validation and DANE on loopback (no network needed)"),
    (
        "lab",
        "txdane.cli.lab",
        "serve the signed test hierarchy and TLS and SMTP servers on loopback to try clients on",
    ),
]


class ExitStatus:
    """
    The exit statuses of C{txdane}, shared by every subcommand.
    """

    #: Success; for C{lookup}, the answer is secure.
    OK = 0
    #: The answer is insecure (no DNSSEC proof, but no failure either).
    INSECURE = 1
    #: Wrong usage: unknown option, bad value, unreadable file.
    USAGE = 2
    #: Validation failed: the answer is bogus.
    BOGUS = 3
    #: The lookup or connection could not complete (timeout, SERVFAIL, network error).
    FAILURE = 4
    #: The answer could not be classified (no trust anchor covers it).
    INDETERMINATE = 5
    #: C{check}, C{verify}: the server (or certificate) was refused: no TLSA or SSHFP record
    #: matched, or the records that matched did not authenticate it.
    NOT_VERIFIED = 6
    #: C{publish}: the update's prerequisite failed (NXRRSET, YXRRSET): the RRset changed since
    #: it was read; nothing was changed.
    PREREQUISITE_FAILED = 7
    #: C{publish}: the server refused the TSIG key or its signature (NOTAUTH, BADSIG, BADKEY,
    #: BADTIME).
    NOT_AUTHORIZED = 8
    #: C{publish}: the server refused the update (REFUSED, or another error code).
    REFUSED = 9
    #: C{publish --wait}: the new records were not seen secure in time; C{check --ready}: the
    #: next certificate may not be switched to yet.
    NOT_READY = 10


class CommandError(TxdaneError):
    """
    An expected failure with its own exit status, reported as one line.

    @ivar message: the line.
    @ivar status: the exit status.
    """

    message: str
    status: int = ExitStatus.FAILURE
    template = "{message}"


class UsageError(CommandError):
    """
    The user asked for something that cannot be done as asked: a L{CommandError} whose exit
    status is L{ExitStatus.USAGE} (2).
    """

    status: int = ExitStatus.USAGE


class _Subcommand(Protocol):
    def addArguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, options: argparse.Namespace) -> int: ...


class _Parser(argparse.ArgumentParser):
    #: The parser of the subcommand the command line names, once made.
    chosen: argparse.ArgumentParser | None = None

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _optionLike(argv: Sequence[str], parser: argparse.ArgumentParser) -> str | None:
    """
    The first of C{argv} (the arguments after the subcommand's name) that starts with C{-}
    but is none of C{parser}'s options nor an abbreviation of one: a value such as
    C{-www.example.com} that C{argparse} took for an option, leaving an argument missing.
    """
    known = [o for action in parser._actions for o in action.option_strings]
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-") or word == "-":
            continue
        name = word.split("=", 1)[0]
        if name in known or (name.startswith("--") and any(o.startswith(name) for o in known)):
            continue
        if not name.startswith("--") and name[:2] in known:
            continue  # a short option with its value attached: -d/tmp
        return word
    return None


def _usageError(
    error: UsageError, arguments: Sequence[str], chosen: argparse.ArgumentParser | None
) -> UsageError:
    """
    C{error}, from C{argparse}, with a hint when an argument is missing because a value that
    starts with C{-} was read as an option.
    """
    message = str(error)
    if chosen is None or not message.startswith("the following arguments are required"):
        return error
    words = list(arguments)
    name = next((a for a in words if not a.startswith("-")), None)
    after = words[words.index(name) + 1 :] if name in words else words
    suspect = _optionLike(after, chosen)
    if suspect is None:
        return error
    return UsageError(
        f"{message} ({suspect!r} was read as an option: to give it as a value, put -- "
        f"before it, after the options: txdane {name} [OPTIONS] -- {suspect})"
    )


def _buildParser(argv: Sequence[str]) -> tuple[_Parser, dict[str, _Subcommand]]:
    """
    The parser for C{argv}: every subcommand is listed, and only the one C{argv} names (its
    first argument that is not an option) is imported and given its options.
    """
    parser = _Parser(
        prog="txdane",
        description="DANE and DNSSEC for Twisted: look up, verify and debug TLSA records.",
    )
    parser.add_argument("--version", action="version", version=f"txdane {__version__}")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    commands: dict[str, _Subcommand] = {}
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, moduleName, description in SUBCOMMANDS:
        commandParser = sub.add_parser(name, help=description, description=description)
        if name == chosen:
            module: _Subcommand = importlib.import_module(moduleName)
            module.addArguments(commandParser)
            commands[name] = module
            parser.chosen = commandParser
    return parser, commands


def main(argv: Sequence[str] | None = None) -> int:
    """
    Run the command line with C{argv} (default: C{sys.argv[1:]}) and return the exit status.
    """
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser, commands = _buildParser(arguments)
    try:
        try:
            options = parser.parse_args(arguments)
        except UsageError as e:
            raise _usageError(e, arguments, parser.chosen) from None
        command = commands.get(getattr(options, "command", None) or "")
        if command is None:
            parser.print_help(sys.stderr)
            return ExitStatus.USAGE
        return command.run(options)
    except CommandError as e:
        print(f"txdane: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print("txdane: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Whoever reads standard output stopped (C{| head}): end quietly, the way a program
        # killed by SIGPIPE does, with nothing left to flush into the closed pipe at exit.
        _silenceStdout()
        return 128 + 13


def _silenceStdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no file descriptor behind sys.stdout
        pass


def run() -> None:
    """
    Console-script entry point.
    """
    sys.exit(main())

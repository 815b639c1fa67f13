"""
What C{tlsa}, C{verify} and C{check} share before any lookup: reading the host and port a
user typed, the output options, the exit status of several verdicts, and progress on a
terminal.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import TextIO

from txdane.cli import ExitStatus, UsageError

#: The order of severity of exit statuses, least severe first: the status of several checks
#: is that of the worst.
_SEVERITY = (
    ExitStatus.OK,
    ExitStatus.INSECURE,
    ExitStatus.NOT_VERIFIED,
    ExitStatus.INDETERMINATE,
    ExitStatus.FAILURE,
    ExitStatus.BOGUS,
)


def hostName(text: str) -> str:
    """
    Check that C{text} is a DNS host name (internationalized names are accepted) and return
    it without a final dot.

    @raise UsageError: for an address, a C{HOST:PORT} or URL, or anything else that is not a
        host name, saying what to type instead.
    """
    from txdane.names import asciiHostName

    if "://" in text:
        raise UsageError(f"{text!r} is a URL: give the host name alone (and the port after it)")
    if _isAddress(text):
        raise UsageError(
            f"{text} is an address, not a host name: TLSA and SSHFP records are found by name"
        )
    host, colon, port = text.rpartition(":")
    if colon and isDigits(port) and host:
        if _isAddress(host):
            raise UsageError(
                f"{text} is an address and a port, not a host name: TLSA and SSHFP records "
                f"are found by name (give the server's name and the port: NAME {port})"
            )
        raise UsageError(f"give the port as its own argument: {host} {port}")
    try:
        return asciiHostName(text)
    except ValueError as e:
        why = f" ({e})" if str(e) else ""
        raise UsageError(f"{text!r} is not a valid host name{why}") from None


def _isAddress(text: str) -> bool:
    """
    Whether C{text} is an IP address, in brackets or not.
    """
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return False
    return True


def isDigits(text: str) -> bool:
    """
    Whether C{text} is made of ASCII digits only: C{int()} would also read other scripts'
    digits (C{"١٥٣٠١"}), blanks around them, a sign and underscores, none of which a port
    or a count is typed with.
    """
    return text.isascii() and text.isdigit()


def wholeNumber(text: str) -> int:
    """
    An C{argparse} type for a count or a port that may be 0: ASCII digits only.
    """
    if not isDigits(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    return int(text)


def portNumber(text: str) -> int:
    """
    An C{argparse} type for a TCP port: 1-65535, in ASCII digits.
    """
    if not isDigits(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number")
    port = int(text)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not in 1-65535")
    return port


def addTargetArguments(
    parser: argparse.ArgumentParser,
    portHelp: str,
    *,
    defaultPort: int | None = None,
    hostOptional: bool = False,
) -> None:
    """
    Declare the C{HOST [PORT]} arguments of C{tlsa}, C{verify} and C{check}: C{options.host}
    and C{options.port} (C{defaultPort} when not given).
    """
    parser.add_argument(
        "host",
        metavar="HOST",
        nargs="?" if hostOptional else None,
        help="the server's host name, e.g. www.example.com",
    )
    parser.add_argument(
        "port", metavar="PORT", nargs="?", type=portNumber, default=defaultPort, help=portHelp
    )


def addOutputArguments(parser: argparse.ArgumentParser) -> None:
    """
    Declare C{--json} and C{-v}.
    """
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object (its keys: docs/cli.md)"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the chain of trust of the TLSA (or SSHFP) records",
    )


def worst(statuses: list[int]) -> int:
    """
    The exit status of several verdicts: the most severe.
    """
    if not statuses:
        return ExitStatus.OK
    return max(statuses, key=lambda s: _SEVERITY.index(s) if s in _SEVERITY else len(_SEVERITY))


class Progress:
    """
    A one-line progress report on standard error, shown only on a terminal: nothing at all
    when standard error is a pipe or a file.
    """

    def __init__(self, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self._width = 0

    def show(self, text: str) -> None:
        """
        Replace the line with C{text}.
        """
        if not self.enabled:
            return
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def clear(self) -> None:
        """
        Remove the line, before the report is printed.
        """
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

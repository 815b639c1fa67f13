"""
What the subcommands share: running a coroutine on the reactor, and the resolver options.

The resolver itself is built by L{txdane.settings}, imported only when a command needs it, so
that C{txdane --help} loads neither the DNS client nor the validator.
"""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from txdane.cli import CommandError, ExitStatus, UsageError

if TYPE_CHECKING:
    from txdane.settings import ResolverSettings
    from txdane.validation.iterative import Resolution

T = TypeVar("T")

#: Seconds a command-line lookup may take in all, unless C{--timeout} says otherwise.
DEFAULT_TIMEOUT = 10.0


def runOnReactor(main: Callable[[Any], Coroutine[Any, Any, T]]) -> T:
    """
    Run C{main(reactor)} on the global reactor until it finishes; return its result or raise
    its exception.
    """
    from twisted.internet import reactor

    outcome: list[object] = []

    def start() -> None:
        d = Deferred.fromCoroutine(main(reactor))
        d.addBoth(outcome.append)
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run()
    if not outcome:
        raise KeyboardInterrupt()
    result = outcome[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result  # type: ignore[return-value]


def addResolverArguments(parser: argparse.ArgumentParser) -> None:
    """
    Declare C{--resolver}, C{--trust-anchor}, C{--trust-anchor-state}, C{--trust-ad},
    C{--trust-ad-remote}, C{--strict-nsec3}, C{--iterative}, C{--root-hints},
    C{--resolver-tls}, C{--resolver-ca-file} and C{--timeout}.
    """
    group = parser.add_argument_group("DNS")
    group.add_argument(
        "--resolver",
        metavar="ADDR[#PORT]",
        action="append",
        help="recursive resolver to ask: ADDR or ADDR#PORT, e.g. 192.0.2.1#5353 or [::1]#5353 "
        "(repeatable; default: the nameservers of /etc/resolv.conf)",
    )
    group.add_argument(
        "--trust-anchor",
        metavar="FILE",
        help="trust anchors: DS or DNSKEY lines, or an RFC 7958 root-anchors.xml "
        "(default: the built-in IANA root anchors)",
    )
    group.add_argument(
        "--trust-anchor-state",
        metavar="FILE",
        help="follow the trust anchor's key rollovers (RFC 5011), keeping their state in FILE "
        "(Unbound's auto-trust-anchor-file format); made from the trust anchors if it does "
        "not exist, and its trusted keys are the anchors once it does",
    )
    group.add_argument(
        "--trust-ad",
        action="store_true",
        help="do not validate: trust the AD bit of the resolver (only for a validating "
        "resolver you trust; it must be on loopback unless --trust-ad-remote is given)",
    )
    group.add_argument(
        "--trust-ad-remote",
        action="store_true",
        help="with --trust-ad, also trust a resolver that is not on loopback (only when you "
        "secure the path to it yourself: anyone on that path can set the AD bit)",
    )
    group.add_argument(
        "--strict-nsec3",
        action="store_true",
        help="treat TLSA answers that are insecure only because their zone's NSEC3 iterations "
        "exceed the limit as bogus (an on-path attacker could otherwise make them look absent)",
    )
    group.add_argument(
        "--iterative",
        action="store_true",
        help="resolve from the root hints, asking the authoritative servers, never a recursive "
        "resolver (without it, txdane does so only when every resolver is a DNSSEC roadblock)",
    )
    group.add_argument(
        "--root-hints",
        metavar="FILE",
        help="root hints for resolving from the root: a file as IANA publishes named.root "
        "(default: the IANA root servers, built in)",
    )
    group.add_argument(
        "--resolver-tls",
        metavar="NAME",
        help="speak DNS over TLS to every resolver (port 853 unless ADDR#PORT), authenticated "
        "as NAME: by DANE where _853._tcp.NAME has secure TLSA records, else by PKIX (an "
        "address as NAME: by PKIX, among the certificate's IP addresses); never in clear",
    )
    group.add_argument(
        "--resolver-ca-file",
        metavar="FILE",
        help="with --resolver-tls, the PEM root certificates the resolvers' certificates must "
        "chain to (default: the system's trust store)",
    )
    group.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=positiveSeconds,
        default=DEFAULT_TIMEOUT,
        help=f"give up after this long (default: {DEFAULT_TIMEOUT:g})",
    )


def positiveSeconds(text: str) -> float:
    """
    An C{argparse} type for a number of seconds (C{--timeout}, C{--wait}): a positive,
    finite number (C{inf} or C{1e400} would wait for ever, C{nan} compares with nothing).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


#: The errors of a path that its user can fix (a usage error, exit status 2); any other, such as
#: a full disk or an I/O error, is a failure of the command (exit status 4).
_PATH_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.EEXIST,
        errno.ELOOP,
        errno.ENAMETOOLONG,
        errno.ENXIO,
    }
)


def osErrorText(error: OSError) -> str:
    """
    What C{error} says, in words and without its errno or file name: C{"is a directory"}.
    """
    text = error.strerror or (os.strerror(error.errno) if error.errno else str(error))
    return text[:1].lower() + text[1:]


def pathError(option: str, path: object, error: OSError, doing: str = "") -> CommandError:
    """
    The one-line error for C{error}, met reading or writing C{path}, which the user gave as
    C{option}: C{"--state /tmp/adir: is a directory"}.

    @param doing: what failed, when the error alone does not say (C{"cannot write the key
        files"}). A file other than C{path} (one inside it) is named too.
    @return: a L{UsageError} when the path is at fault (missing, a directory, not
        permitted), else a L{CommandError} with L{ExitStatus.FAILURE}.
    """
    words = osErrorText(error)
    if error.filename is not None:
        filename = os.fsdecode(error.filename)
        if filename != str(path):
            inside = os.path.relpath(filename, str(path))
            words = f"{filename if inside.startswith('..') else inside}: {words}"
    if doing:
        words = f"{doing}: {words}"
    message = f"{option} {path}: {words}"
    if error.errno in _PATH_ERRNOS:
        return UsageError(message)
    return CommandError(message, ExitStatus.FAILURE)


def makeDirectory(option: str, path: str) -> None:
    """
    Make the directory C{path}, given as C{option}, and its parents, unless it exists.

    @raise UsageError: when something other than a directory is in the way (C{"--tlsrpt
        report.txt: not a directory (a file is in the way)"}) or it cannot be made; a
        L{CommandError} for a failure that is not the path's fault (see L{pathError}).
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{option} {path}: not a directory (a file is in the way)")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        if e.errno in (errno.EEXIST, errno.ENOTDIR):
            # A file in the way higher up: name it.
            raise UsageError(f"{option} {path}: not a directory (a file is in the way)") from None
        raise pathError(option, path, e) from None


def checkReadable(option: str, path: str | None) -> None:
    """
    Refuse C{path}, given as C{option}, unless it is a file that can be opened for reading.

    @raise UsageError: saying why not (see L{pathError}).
    """
    if not path:
        return
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        raise pathError(option, path, e) from None


def checkText(option: str, value: str, path: str, what: str) -> None:
    """
    Refuse C{path}, a file given in C{value} of C{option}, when it is not UTF-8 text, in
    words of its own rather than the codec's. A file that cannot be read is left to the
    code that reads it, which says why.

    @param what: what the file should be, with its article (C{"a zone file"}).
    @raise UsageError: C{"--zone x.=bin.dat: bin.dat is not a zone file (not text)"}.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        where = f"{option} {value}: {path} is" if value != path else f"{option} {path}:"
        raise UsageError(f"{where} not {what} (not text)") from None


#: A TLSA owner name: C{_PORT._PROTO.} then the host.
_OWNER_NAME = re.compile(r"^_(\d+)\._([A-Za-z0-9-]+)\.(.+)$")


def protoLabel(text: str) -> str:
    """
    An C{argparse} type for C{--proto}: the transport protocol label of a TLSA name, without
    its underscore (C{tcp}, C{udp}, C{sctp}), as RFC 6698 section 3 names it.
    """
    if text.startswith("_"):
        # Refused rather than stripped: "__tcp" would otherwise be looked up without a word.
        raise argparse.ArgumentTypeError(
            f"give the label without its underscore: --proto {text.lstrip('_') or 'tcp'}"
        )
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,61}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a protocol label, such as tcp")
    return text


def refuseOwnerName(command: str, host: str) -> None:
    """
    Refuse a C{HOST} that is already a TLSA owner name (C{_443._tcp.www.example.com}), which
    would be looked up under a second C{_PORT._PROTO} prefix, showing the command line meant.

    @param command: the command line up to C{HOST}, without C{txdane} (C{"tlsa"}).
    @raise UsageError: when C{host} starts with C{_PORT._PROTO.}.
    """
    found = _OWNER_NAME.match(host)
    if found is None:
        return
    port, label, rest = found.groups()
    proto = "" if label.lower() == "tcp" else f" --proto {label}"
    raise UsageError(
        f"{host} is a TLSA owner name, not a host name: "
        f"txdane {command}{proto} {rest.rstrip('.')} {int(port)}"
    )


#: The largest TTL a record may carry (RFC 2181 section 8).
MAX_TTL = 2**31 - 1


def mailAddress(option: str, text: str) -> str:
    """
    Check C{text}, given as C{option}, as L{txdane.mail.mailAddress} does: an address mail
    can come from or go to (C{txdane send}, C{txdane tlsrpt --send}).

    @return: the address, its domain in ASCII and without a final dot.
    @raise UsageError: naming C{option} and C{text}, and what is wrong.
    """
    from txdane.mail import mailAddress as checked

    try:
        return checked(text)
    except ValueError as e:
        raise UsageError(f"{option} {text!r}: {e}") from None


def ttlValue(text: str) -> int:
    """
    An C{argparse} type for a C{--ttl} option: an integer in 0-L{MAX_TTL}.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= MAX_TTL:
        raise argparse.ArgumentTypeError(f"{text!r} is not in 0-{MAX_TTL}")
    return value


#: How the command line spells each field of L{ResolverSettings}, for error messages.
_OPTION_NAMES = {
    "servers": "--resolver",
    "trustAnchors": "--trust-anchor",
    "trustAD": "--trust-ad",
    "timeout": "--timeout",
    "trustADRemote": "--trust-ad-remote",
    "strictNSEC3Iterations": "--strict-nsec3",
    "iterative": "--iterative",
    "rootHints": "--root-hints",
    "trustAnchorState": "--trust-anchor-state",
    "resolverTLS": "--resolver-tls",
    "resolverTrustRoots": "--resolver-ca-file",
}


def resolverSettings(options: argparse.Namespace) -> ResolverSettings:
    """
    The resolver settings of the options declared by L{addResolverArguments}, checked before
    the reactor starts; L{ResolverSettings.build<txdane.settings.ResolverSettings.build>} builds the
    resolver from them.

    @raise UsageError: for a bad resolver address, an unusable trust anchor file or trust
        anchor state file, or C{--trust-ad} with C{--trust-anchor} or C{--trust-anchor-state}.
    """
    from txdane.settings import ResolverSettings, ResolverSettingsError

    _refuseEmpty(options)
    if getattr(options, "resolver_tls", None):
        _checkReadableRoots(getattr(options, "resolver_ca_file", None))
    try:
        return ResolverSettings.fromStrings(
            options.resolver,
            options.trust_anchor,
            options.trust_ad,
            options.timeout,
            trustADRemote=options.trust_ad_remote,
            strictNSEC3Iterations=options.strict_nsec3,
            iterative=getattr(options, "iterative", False),
            rootHintsFile=getattr(options, "root_hints", None),
            trustAnchorState=options.trust_anchor_state,
            resolverTLS=options.resolver_tls,
            resolverTrustRootsFile=options.resolver_ca_file,
        )
    except ResolverSettingsError as e:
        # A file that cannot be opened is reported as every other path is, not in the words
        # (or the errno) of the code that reads it.
        files = {
            "trustAnchors": options.trust_anchor,
            "rootHints": getattr(options, "root_hints", None),
        }
        if len(e.options) == 1:
            checkReadable(_OPTION_NAMES[e.options[0]], files.get(e.options[0]))
        raise UsageError(e.describe(_OPTION_NAMES.__getitem__)) from None


#: The options of L{addResolverArguments} that name something, by their attribute: each is
#: refused when given empty, rather than read as not given (an empty C{--resolver-tls} would
#: otherwise send every query in clear).
_NAMED_OPTIONS = {
    "resolver_tls": "--resolver-tls",
    "resolver_ca_file": "--resolver-ca-file",
    "trust_anchor": "--trust-anchor",
    "trust_anchor_state": "--trust-anchor-state",
    "root_hints": "--root-hints",
}


#: What to give instead of an empty value, where it is not a file.
_EMPTY_HINTS = {
    "resolver_tls": "give the name the resolvers' certificates must prove, or leave the "
    "option out to speak plain DNS",
}


def _refuseEmpty(options: argparse.Namespace) -> None:
    """
    @raise UsageError: for an option of L{_NAMED_OPTIONS} given an empty value (an unset
        shell variable, C{--resolver-tls ""}).
    """
    for attribute, option in _NAMED_OPTIONS.items():
        value = getattr(options, attribute, None)
        if value is not None and not value.strip():
            hint = _EMPTY_HINTS.get(attribute, "give a file, or leave the option out")
            raise UsageError(f"{option}: empty ({hint})")


def _checkReadableRoots(path: str | None) -> None:
    """
    Refuse a C{--resolver-ca-file} that is a file holding no PEM certificate, in words of
    its own rather than those of the PEM parser (a directory is read by the settings).

    @raise UsageError: naming the option and the file.
    """
    if not path or os.path.isdir(path):
        return
    checkReadable("--resolver-ca-file", path)
    readPEMCertificates("--resolver-ca-file", path)


def readPEMCertificates(option: str, path: str) -> list[Any]:
    """
    The certificates of the PEM file C{path}, given as C{option} (C{--ca-file}).

    @raise UsageError: when it cannot be read or holds no PEM certificate.
    """
    from cryptography import x509

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise pathError(option, path, e) from None
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        pass
    if b"-----BEGIN CERTIFICATE-----" in data:
        raise UsageError(f"{option} {path}: a PEM certificate in it is damaged")
    raise UsageError(
        f"{option} {path}: no PEM certificate in it (give a file of "
        "-----BEGIN CERTIFICATE----- blocks)"
    )


def resolutionOf(resolver: object) -> Resolution | None:
    """
    How C{resolver} fetches its answers (from the recursive resolvers, or from the root and
    why), when it says: the C{resolution} of its querier.
    """
    resolution = getattr(getattr(resolver, "querier", None), "resolution", None)
    from txdane.validation.iterative import Resolution

    return resolution if isinstance(resolution, Resolution) else None


def addResolution(data: dict[str, Any], resolver: object) -> dict[str, Any]:
    """
    C{data} (a command's JSON object) with a C{"resolution"} member: C{{"mode": "recursive"
    or "iterative", "reason": why or null}}, when C{resolver} says how it resolved.
    """
    resolution = resolutionOf(resolver)
    if resolution is not None:
        data["resolution"] = resolution.toJSON()
    return data


def resolutionLines(resolver: object) -> list[str]:
    """
    The C{-v} line saying that (and why) C{resolver} resolved from the root hints, or that
    it left some resolvers aside; none when it asked its recursive resolvers as usual.
    """
    resolution = resolutionOf(resolver)
    if resolution is None or (resolution.mode == "recursive" and resolution.reason is None):
        return []
    if resolution.mode == "iterative":
        return [f"  resolution  from the root hints ({resolution.reason})"]
    return [f"  resolution  recursive ({resolution.reason})"]


def connectErrorText(error: BaseException) -> str | None:
    """
    A TCP connection that could not be made, in plain words (C{"connection refused"}), for
    Twisted's errors, whose own text reads C{"Connection was refused by other side: 111:
    Connection refused."}; C{None} for any other error, whose text says what happened.
    """
    from twisted.internet import error as twistedErrors

    if isinstance(error, twistedErrors.ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(error, (twistedErrors.TCPTimedOutError, twistedErrors.TimeoutError)):
        return "connection timed out"
    if isinstance(error, twistedErrors.NoRouteError):
        return "no route to host"
    if isinstance(error, twistedErrors.ConnectError):
        return f"cannot connect: {_osErrorWords(error)}"
    return None


def _osErrorWords(error: BaseException) -> str:
    """
    What a Twisted C{ConnectError} says, without its class name and errno:
    C{"network is unreachable"}.
    """
    text = (str(getattr(error, "osError", None) or "") or str(error)).strip().rstrip(".")
    words = text.rpartition(": ")[2] or type(error).__name__
    return words[:1].lower() + words[1:]

"""
The C{txdane-dns} C{twistd} plugin: options and service::

    twistd -n txdane-dns --zone example.test.=example.test.zone \\
        --key Kexample.test.+013+12345 --interface 127.0.0.1 --port 5353

Zones and keys are read (and zones signed) while the options are checked, so a bad zone file
stops the start with its path, line and reason, before any port is opened; so does an
C{--allow-update} that could only ever be refused. A port that cannot be listened on ends
C{twistd} with one line saying which and why (L{TwistdDNSServerService}).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.name
from twisted.application.service import IService
from twisted.internet.error import CannotListenError
from twisted.python import usage

from txdane.errors import TxdaneError
from txdane.server.keys import readKeyFiles
from txdane.server.ratelimit import (
    DEFAULT_IPV4_PREFIX,
    DEFAULT_IPV6_PREFIX,
    DEFAULT_RATE,
    DEFAULT_SLIP,
    RateLimit,
)
from txdane.server.service import (
    DEFAULT_SIGNATURE_VALIDITY,
    DNSServerService,
    ZoneSource,
    listenError,
    loadZones,
)
from txdane.server.signing import NSEC3Options
from txdane.server.update import (
    checkKeyNames,
    parseAllowUpdate,
    zonesReached,
    zonesSignedElsewhere,
)

#: The longest signature validity: RRSIG times are serial numbers (RFC 4034 section 3.1.5), so
#: an expiration more than 2**31 seconds after the inception would read as before it.
_MAX_VALIDITY_DAYS = (2**31 - 1) // 86400


#: What a number option's value may be: ASCII digits, with a fraction for a C{float} option
#: (Python's own C{int} and C{float} also take spaces, underscores, signs and other scripts'
#: digits, which no one means in a port).
_WHOLE = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _number(option: str, kind: Callable[[str], Any] = int) -> Callable[[str], Any]:
    """
    The coercion of C{--option}'s value by C{kind} (C{int} or C{float}), whose error names the
    option: Twisted's own says only "Parameter type enforcement failed" and Python's reason.
    The value is ASCII digits (and a decimal point for C{float}), as C{txdane serve} takes it.
    """
    words = "a whole number" if kind is int else "a number"
    form = _WHOLE if kind is int else _DECIMAL

    def coerce(text: str) -> Any:
        if not form.fullmatch(text):
            raise usage.UsageError(f"--{option} wants {words}, not {text!r}")
        return kind(text)

    return coerce


class Options(usage.Options):
    """
    Command-line options of C{twistd txdane-dns}.
    """

    synopsis = "--zone ORIGIN=FILE [--zone ...] [--key KEYFILE ...] [options]"
    longdesc = (
        "An authoritative DNS server for DNSSEC-signed zones (TLSA included). Zones given keys "
        "are signed when loaded and again on SIGHUP; other zones are served as they are."
    )
    optParameters = [
        ["port", "p", 53, "Port for both UDP and TCP.", _number("port")],
        [
            "signature-validity",
            None,
            DEFAULT_SIGNATURE_VALIDITY // 86400,
            "Days the signatures made at load time are valid.",
            _number("signature-validity"),
        ],
        [
            "nsec3-iterations",
            None,
            0,
            "Extra NSEC3 iterations (RFC 9276: keep 0).",
            _number("nsec3-iterations"),
        ],
        ["nsec3-salt", None, "", "NSEC3 salt in hex (RFC 9276: keep empty)."],
        [
            "rrl-rate",
            None,
            DEFAULT_RATE,
            "UDP answers per second per source prefix (response rate limiting); 0: off.",
            _number("rrl-rate", float),
        ],
        [
            "rrl-burst",
            None,
            None,
            "Answers a prefix may get at once (default: the rate).",
            _number("rrl-burst", float),
        ],
        [
            "rrl-slip",
            None,
            DEFAULT_SLIP,
            "Send every Nth limited answer truncated (TC=1), drop the rest; 0: drop all.",
            _number("rrl-slip"),
        ],
        [
            "rrl-ipv4-prefix",
            None,
            DEFAULT_IPV4_PREFIX,
            "IPv4 source prefix length.",
            _number("rrl-ipv4-prefix"),
        ],
        [
            "rrl-ipv6-prefix",
            None,
            DEFAULT_IPV6_PREFIX,
            "IPv6 source prefix length.",
            _number("rrl-ipv6-prefix"),
        ],
    ]
    optFlags = [
        ["no-udp", None, "Do not listen on UDP."],
        ["no-tcp", None, "Do not listen on TCP."],
        ["opt-out", None, "Use NSEC3 opt-out for unsigned delegations."],
    ]

    def __init__(self) -> None:
        super().__init__()
        self["zones"] = []
        self["keys"] = []
        self["nsec3"] = []
        self["interfaces"] = []
        self["updateGrants"] = []
        # Each --allow-update value with its suffix, checked against the zones once loaded.
        self["updateSuffixes"] = []

    def opt_zone(self, value: str) -> None:
        """
        ORIGIN=FILE: serve zone ORIGIN from master file FILE (repeatable).
        """
        origin, sep, path = value.partition("=")
        if not sep or not origin or not path:
            raise usage.UsageError(f"--zone wants ORIGIN=FILE, not {value!r}")
        self["zones"].append((_name(origin), path))

    def opt_key(self, value: str) -> None:
        """
        Key file (BIND format, .key/.private or their prefix) to sign its zone with
        (repeatable; the zone is the key's owner name).
        """
        self["keys"].append(value)

    def opt_nsec3(self, value: str) -> None:
        """
        Sign zone ORIGIN with NSEC3 instead of NSEC (repeatable).
        """
        self["nsec3"].append(_name(value))

    def opt_allow_update(self, value: str) -> None:
        """
        KEYFILE[:SUFFIX[:TYPE,...]]: accept dynamic updates (RFC 2136) signed with the TSIG
        keys in KEYFILE (BIND's tsig-keygen or Knot's keymgr -t format), for names at or
        below SUFFIX (default: anywhere) and the types listed (default: TLSA,SSHFP);
        repeatable. Updated zone files are rewritten.
        """
        try:
            grants = parseAllowUpdate(value)
            checkKeyNames([*self["updateGrants"], *grants])
        except TxdaneError as e:
            raise usage.UsageError(str(e)) from None
        self["updateGrants"] += grants
        self["updateSuffixes"].append((value, grants[0].suffix))

    def opt_interface(self, value: str) -> None:
        """
        Address to listen on (repeatable; default 127.0.0.1 and ::1).
        """
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise usage.UsageError(f"--interface wants an IP address, not {value!r}") from None
        if any(ipaddress.ip_address(given) == address for given in self["interfaces"]):
            # Else the second listen fails, and says the address is in use (by this server).
            raise usage.UsageError(f"--interface {value} is given twice")
        self["interfaces"].append(value)

    def parseArgs(self, *args: str) -> None:
        """
        Refuse arguments that are not options: everything is given by an option, and
        Twisted's own refusal says only "Wrong number of arguments".
        """
        if args:
            raise usage.UsageError(
                f"unexpected argument {args[0]!r}: every setting is an option"
                " (--zone ORIGIN=FILE for a zone)"
            )

    def postOptions(self) -> None:
        if not self["zones"]:
            raise usage.UsageError("give at least one --zone ORIGIN=FILE")
        if self["no-udp"] and self["no-tcp"]:
            raise usage.UsageError("--no-udp and --no-tcp leave nothing to listen on")
        if not self["interfaces"]:
            self["interfaces"] = ["127.0.0.1", "::1"]
        if not 0 <= self["port"] <= 65535:
            raise usage.UsageError(f"--port must be in 0-65535, not {self['port']}")
        if not 1 <= self["signature-validity"] <= _MAX_VALIDITY_DAYS:
            raise usage.UsageError(
                f"--signature-validity must be in 1-{_MAX_VALIDITY_DAYS} days, "
                f"not {self['signature-validity']}"
            )
        if not 0 <= self["nsec3-iterations"] <= 65535:
            raise usage.UsageError(
                f"--nsec3-iterations must be in 0-65535, not {self['nsec3-iterations']}"
            )
        try:
            salt = bytes.fromhex(self["nsec3-salt"])
        except ValueError:
            raise usage.UsageError("--nsec3-salt must be hexadecimal") from None
        if len(salt) > 255:
            raise usage.UsageError(f"--nsec3-salt is {len(salt)} bytes; the most is 255")
        if not self["nsec3"]:
            # Without a zone signed with NSEC3 they would change nothing, unnoticed.
            given = [
                option
                for option, isSet in (
                    ("--opt-out", bool(self["opt-out"])),
                    ("--nsec3-iterations", self["nsec3-iterations"] != 0),
                    ("--nsec3-salt", bool(self["nsec3-salt"])),
                )
                if isSet
            ]
            if given:
                raise usage.UsageError(
                    f"{given[0]} applies to zones signed with NSEC3: give --nsec3 ORIGIN too"
                )
        nsec3 = NSEC3Options(self["nsec3-iterations"], salt, bool(self["opt-out"]))
        try:
            self["rateLimit"] = RateLimit(
                rate=self["rrl-rate"],
                burst=self["rrl-burst"],
                slip=self["rrl-slip"],
                ipv4Prefix=self["rrl-ipv4-prefix"],
                ipv6Prefix=self["rrl-ipv6-prefix"],
            )
        except ValueError as e:
            raise usage.UsageError(f"response rate limiting: {e}") from None
        origins = [origin for origin, _ in self["zones"]]
        twice = sorted({o for o in origins if origins.count(o) > 1}, key=str)
        if twice:
            raise usage.UsageError(f"--zone {twice[0]} is given twice")
        keysByZone: dict[dns.name.Name, list[str]] = {o: [] for o in origins}
        try:
            for path in self["keys"]:
                owner, _ = readKeyFiles(path)
                if owner not in keysByZone:
                    raise usage.UsageError(f"{path}: key of {owner}, which no --zone serves")
                keysByZone[owner].append(path)
            for origin in self["nsec3"]:
                if not keysByZone.get(origin):
                    raise usage.UsageError(f"--nsec3 {origin}: that zone has no --key to sign")
            self["sources"] = [
                ZoneSource(
                    origin,
                    path,
                    tuple(keysByZone[origin]),
                    nsec3 if origin in self["nsec3"] else None,
                )
                for origin, path in self["zones"]
            ]
            self["loaded"] = loadZones(self["sources"], validity=self["signature-validity"] * 86400)
        except TxdaneError as e:
            raise usage.UsageError(str(e)) from None
        origins = [source.origin for source in self["sources"]]
        for value, suffix in self["updateSuffixes"]:
            if not zonesReached(suffix, origins):
                raise usage.UsageError(
                    f"--allow-update {value}: no zone served here holds {suffix} or names"
                    " below it, so every update under this key would be refused"
                )
            # Documented: such zones refuse every update. A grant that reaches no other zone
            # is a mistake better said now than by a REFUSED to each update.
            refused = zonesSignedElsewhere(suffix, self["sources"], self["loaded"])
            if len(refused) == 1:
                raise usage.UsageError(
                    f"--allow-update {value}: zone {refused[0]} is signed elsewhere (served as "
                    "it is, with no --key), so every update to it would be refused"
                )
            if refused:
                zones = ", ".join(str(origin) for origin in refused)
                raise usage.UsageError(
                    f"--allow-update {value}: zones {zones} are signed elsewhere (served as "
                    "they are, with no --key), so every update to them would be refused"
                )


def _name(text: str) -> dns.name.Name:
    try:
        return dns.name.from_text(text)
    except dns.exception.DNSException as e:
        raise usage.UsageError(f"{text!r} is not a domain name ({e})") from None


class ServerCannotStart(SystemExit, TxdaneError):
    """
    The server cannot start under C{twistd}; the message says why, in one line.

    A C{SystemExit}, so that the interpreter prints only the message (into C{twistd}'s log,
    where its standard error goes) and exits with status 1, with no traceback (its
    constructor, which comes first, makes the message the exit code); and an C{Exception}
    too, as every L{TxdaneError}, so that C{twistd} catches it on its way out as it catches
    any failure to start: it removes its PID file and, when it runs as a daemon, passes the
    message to the process that started it, which prints it and exits with status 1. (That
    process prints at most 100 bytes of it, the class's name included: hence no program name
    in front of the message.)
    """


class TwistdDNSServerService(DNSServerService):
    """
    The server as C{twistd} runs it: a port that cannot be listened on ends the start with
    L{ServerCannotStart} and one line saying which and why, as C{python -m txdane.server}
    says it, not with Twisted's traceback of C{CannotListenError}.
    """

    def privilegedStartService(self) -> None:
        try:
            super().privilegedStartService()
        except CannotListenError as e:
            raise ServerCannotStart(listenError(e)) from None

    def startService(self) -> None:
        try:
            super().startService()
        except CannotListenError as e:
            raise ServerCannotStart(listenError(e)) from None


def serverService(options: Any) -> DNSServerService:
    """
    The server service for parsed L{Options}, whose C{startService} raises
    C{CannotListenError} for a port it cannot listen on (C{python -m txdane.server} and
    C{txdane serve} say it themselves).
    """
    return _service(DNSServerService, options)


def makeService(options: Any) -> IService:
    """
    The server service for parsed L{Options}, as the C{twistd} plugin runs it
    (L{TwistdDNSServerService}).
    """
    return _service(TwistdDNSServerService, options)


def _service(kind: type[DNSServerService], options: Any) -> DNSServerService:
    return kind(
        options["sources"],
        options["loaded"],
        options["interfaces"],
        options["port"],
        udp=not options["no-udp"],
        tcp=not options["no-tcp"],
        validity=options["signature-validity"] * 86400,
        rateLimit=options["rateLimit"],
        updateGrants=options["updateGrants"],
    )

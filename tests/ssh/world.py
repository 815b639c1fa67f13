"""
The SSH interop world: a private sshd with Ed25519, ECDSA and RSA host keys on 127.0.0.1 and
::1, the signed test hierarchy with one name per case (its A/AAAA and SSHFP records), served on
loopback, and a validating resolver that asks it.

L{CASES} is the table both the Conch tests and the OpenSSH agreement test use: what
txdane decides and what C{ssh -o VerifyHostKeyDNS=yes -o StrictHostKeyChecking=yes} decides
for the same server and the same records.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import dns.name
import dns.rdatatype
from twisted.conch.client.knownhosts import KnownHostsFile
from twisted.conch.ssh.keys import Key
from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred, succeed
from twisted.internet.protocol import Factory, Protocol
from twisted.python.filepath import FilePath

from txdane.ssh import sshCommandEndpoint
from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import DNSClient
from txdane.validation import TrustAnchors, ValidatingResolver

from .sshd import KEY_TYPES, ClientKey, HostKeys, SSHServer, makeHostKeys, startSSHServer

reactor: Any = _reactor

ACCEPTED, REFUSED = "accepted", "refused"


@dataclass(frozen=True)
class Keys:
    """
    The server's host keys and other keys of the same types (never on the server).
    """

    server: HostKeys
    other: HostKeys
    client: ClientKey

    def records(self, kind: str, *types: int, other: bool = False) -> list[str]:
        from .keys import records

        key = (self.other if other else self.server).key(kind)
        return records(key, *types)


@functools.cache
def keys() -> Keys:
    """
    Host keys made once per test run by C{ssh-keygen}, and the client's key.
    """
    directory = Path(tempfile.mkdtemp(prefix="txdane-ssh-keys-"))
    atexit.register(shutil.rmtree, directory, True)
    (directory / "server").mkdir()
    (directory / "other").mkdir()
    return Keys(
        makeHostKeys(directory / "server"),
        makeHostKeys(directory / "other"),
        ClientKey.make(directory),
    )


def _all(k: Keys, *types: int, other: bool = False) -> list[str]:
    return [r for kind in KEY_TYPES for r in k.records(kind, *types, other=other)]


@dataclass(frozen=True)
class SSHCase:
    """
    A host name with its records, and the two verdicts.

    @ivar name: the host name.
    @ivar records: the SSHFP rdata published for it.
    @ivar txdane: txdane's verdict (fallback: the known_hosts file, never a prompt).
    @ivar openssh: the verdict of C{ssh -o VerifyHostKeyDNS=yes -o StrictHostKeyChecking=yes}.
    @ivar knownHosts: whether the known_hosts file holds the server's keys (else it is empty).
    @ivar why: what the case shows.
    @ivar strip: remove the signature of the SSHFP RRset (a bogus answer).
    """

    name: str
    records: Callable[[Keys], list[str]]
    txdane: str
    openssh: str
    why: str
    knownHosts: bool = False
    strip: bool = False

    @property
    def zone(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def agrees(self) -> bool:
        return self.txdane == self.openssh


#: The cases; where the verdicts differ, on purpose (docs/ssh.md says why).
CASES: tuple[SSHCase, ...] = (
    SSHCase("all.example.test.", _all, ACCEPTED, ACCEPTED, "secure, every key, SHA-1 and SHA-256"),
    SSHCase(
        "ed25519.example.test.",
        lambda k: k.records("ed25519"),
        ACCEPTED,
        ACCEPTED,
        "secure, Ed25519 only (the server also has ECDSA and RSA keys)",
    ),
    SSHCase(
        "sha1.example.test.",
        lambda k: _all(k, 1),
        ACCEPTED,
        ACCEPTED,
        "secure, SHA-1 records only",
    ),
    SSHCase(
        "wrong.example.test.",
        lambda k: _all(k, other=True),
        REFUSED,
        REFUSED,
        "secure, every record for other keys",
    ),
    SSHCase(
        "wrong256.example.test.",
        lambda k: k.records("ed25519", 1) + k.records("ed25519", 2, other=True),
        REFUSED,
        REFUSED,
        "secure, Ed25519 SHA-1 matches, SHA-256 is another key's",
    ),
    SSHCase(
        "absent.example.test.",
        lambda k: [],
        REFUSED,
        REFUSED,
        "secure, no SSHFP records, key not in known_hosts",
    ),
    SSHCase(
        "absentknown.example.test.",
        lambda k: [],
        ACCEPTED,
        ACCEPTED,
        "secure, no SSHFP records, key in known_hosts",
        knownHosts=True,
    ),
    SSHCase(
        "host.unsigned.test.",
        _all,
        REFUSED,
        REFUSED,
        "insecure (unsigned zone), matching records, key not in known_hosts",
    ),
    SSHCase(
        "known.unsigned.test.",
        _all,
        ACCEPTED,
        ACCEPTED,
        "insecure (unsigned zone), key in known_hosts",
        knownHosts=True,
    ),
    SSHCase(
        "nosig.example.test.",
        _all,
        REFUSED,
        REFUSED,
        "bogus SSHFP (signature stripped), matching records",
        strip=True,
    ),
    SSHCase(
        "host.expired.test.",
        _all,
        REFUSED,
        REFUSED,
        "bogus zone (expired signatures), addresses too",
    ),
    # Deliberate differences.
    SSHCase(
        "rotation.example.test.",
        lambda k: k.records("ed25519", other=True) + k.records("ed25519"),
        ACCEPTED,
        REFUSED,
        "key rotation: records of the old and the new Ed25519 key (OpenSSH bz#3322)",
    ),
    SSHCase(
        "stalesha1.example.test.",
        lambda k: k.records("ed25519", 1, other=True) + k.records("ed25519", 2),
        ACCEPTED,
        REFUSED,
        "SHA-256 matches; a stale SHA-1 record is ignored beside it",
    ),
    SSHCase(
        "ecdsa.example.test.",
        lambda k: k.records("ecdsa"),
        ACCEPTED,
        REFUSED,
        "ECDSA only: txdane asks for the ECDSA key, ssh gets Ed25519 and has no record for it",
    ),
    SSHCase(
        "staletype.example.test.",
        lambda k: k.records("ed25519", other=True) + k.records("ecdsa"),
        ACCEPTED,
        REFUSED,
        "a stale Ed25519 record beside matching ECDSA records: txdane asks for the ECDSA key "
        "(Conch's order), ssh for the Ed25519 key",
    ),
    SSHCase(
        "wrongknown.example.test.",
        lambda k: _all(k, other=True),
        REFUSED,
        ACCEPTED,
        "secure mismatch, key in known_hosts: ssh warns and trusts known_hosts",
        knownHosts=True,
    ),
    SSHCase(
        "nosigknown.example.test.",
        _all,
        REFUSED,
        ACCEPTED,
        "bogus SSHFP, key in known_hosts: ssh takes the failed lookup as no records",
        knownHosts=True,
        strip=True,
    ),
)

#: Names for the address family tests: IPv6 only and IPv4 only, every key's records.
V6, V4 = "v6.example.test.", "v4.example.test."


def extraRecords(k: Keys) -> dict[str, list[str]]:
    """
    The hierarchy's extra records for every case.
    """
    zones: dict[str, list[str]] = {}
    for case in CASES:
        lines = zones.setdefault(case.zone, [])
        lines += [f"{case.name} 300 IN A 127.0.0.1", f"{case.name} 300 IN AAAA ::1"]
        lines += [f"{case.name} 300 IN SSHFP {r}" for r in case.records(k)]
    zones["example.test."] += [f"{V6} 300 IN AAAA ::1", f"{V4} 300 IN A 127.0.0.1"]
    zones["example.test."] += [f"{n} 300 IN SSHFP {r}" for n in (V6, V4) for r in _all(k)]
    return zones


def knownHostsText(k: Keys, name: str, port: int | None = None) -> str:
    """
    known_hosts lines giving the server's keys for C{name} (OpenSSH writes C{[name]:port} for
    a port other than 22; Conch ignores ports).
    """
    host = name.rstrip(".")
    if port is not None:
        host = f"[{host}]:{port}"
    return "".join(
        f"{host} {' '.join(k.server.publicLine(kind).split()[:2])}\n" for kind in KEY_TYPES
    )


@dataclass
class SSHWorld:
    keys: Keys
    hierarchy: Hierarchy
    dnsServer: Any
    resolver: ValidatingResolver
    sshd: SSHServer
    directory: Path


async def makeSSHWorld(testCase: Any) -> SSHWorld:
    """
    Start sshd and the signed hierarchy (with every case's records) for C{testCase}.
    """
    k = keys()
    directory = Path(tempfile.mkdtemp(prefix="txdane-ssh-"))
    testCase.addCleanup(shutil.rmtree, directory, True)
    sshd = startSSHServer(testCase, directory, list(k.server.private.values()), k.client)
    hierarchy = buildHierarchy(extraRecords=extraRecords(k))
    for case in CASES:
        if case.strip:
            zone = hierarchy.zones[dns.name.from_text(case.zone)]
            zone.delete_rdataset(
                dns.name.from_text(case.name), dns.rdatatype.RRSIG, dns.rdatatype.SSHFP
            )
    server = await hierarchy.serve(reactor)
    testCase.addCleanup(server.stop)
    client = DNSClient(reactor, [f"127.0.0.1#{server.port}"], timeout=2, attempts=1)
    resolver = ValidatingResolver(
        client, trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]), clock=reactor
    )
    return SSHWorld(k, hierarchy, server, resolver, sshd, directory)


class NoUI:
    """
    A Conch UI that answers "no" to every prompt and records warnings.
    """

    def __init__(self) -> None:
        self.prompts: list[bytes] = []
        self.warnings: list[bytes] = []

    def prompt(self, text: bytes) -> Deferred[bool]:
        self.prompts.append(text)
        return succeed(False)

    def warn(self, text: bytes) -> None:
        self.warnings.append(text)


class Output(Protocol):
    """
    Collects a command's output; C{done} fires with it when the channel closes.
    """

    def __init__(self) -> None:
        self.received = b""
        self.done: Deferred[bytes] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Any = None) -> None:
        self.done.callback(self.received)


def outputFactory() -> Factory:
    return Factory.forProtocol(Output)


def clientKey() -> Key:
    return keys().client.key


def conchKnownHosts(world: SSHWorld, name: str, known: bool) -> KnownHostsFile:
    """
    A known_hosts file for Conch: the server's keys for C{name}, or empty.
    """
    path = world.directory / f"known_hosts-{name}"
    path.write_text(knownHostsText(world.keys, name) if known else "")
    return KnownHostsFile.fromPath(FilePath(str(path)))


async def runCommand(world: SSHWorld, name: str, **kw: Any) -> bytes:
    """
    Run C{echo hello} as root on C{name} through L{sshCommandEndpoint}; return the output.
    """
    if "knownHosts" not in kw:
        kw["knownHosts"] = conchKnownHosts(world, name, False)
    kw.setdefault("allowInsecureAddresses", True)
    endpoint = sshCommandEndpoint(
        reactor,
        world.resolver,
        name.rstrip("."),
        b"echo hello",
        b"root",
        world.sshd.port,
        keys=[world.keys.client.key],
        ui=cast(Any, NoUI()),
        **kw,
    )
    protocol = await endpoint.connect(outputFactory())
    assert isinstance(protocol, Output)
    return await protocol.done


async def txdaneVerdict(world: SSHWorld, case: SSHCase) -> tuple[str, BaseException | None]:
    """
    txdane's verdict on C{case}: C{echo hello} ran, or the error that refused it.
    """
    try:
        output = await runCommand(
            world, case.name, knownHosts=conchKnownHosts(world, case.name, case.knownHosts)
        )
    except Exception as e:
        return REFUSED, e
    assert output == b"hello\n", output
    return ACCEPTED, None

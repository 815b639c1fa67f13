"""
L{sshCommandEndpoint}: run a command over SSH on a host whose addresses and host key are
proven by DNSSEC.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from twisted.conch.client.knownhosts import ConsoleUI, KnownHostsFile
from twisted.conch.endpoints import (
    SSHCommandClientEndpoint,
    _CommandTransport,
    _NewConnectionHelper,
)
from twisted.conch.ssh.common import getNS
from twisted.conch.ssh.keys import Key
from twisted.conch.ssh.transport import SSHClientTransport
from twisted.internet.defer import Deferred, FirstError, gatherResults
from twisted.internet.defer import TimeoutError as DeferredTimeoutError
from twisted.internet.error import ConnectionClosed
from twisted.internet.interfaces import IAddress, IStreamClientEndpoint
from twisted.internet.protocol import Factory, Protocol

from txdane.endpoints import DNSSECEndpoint
from txdane.ssh.fingerprints import HOST_KEY_ALGORITHMS, SSHFPAlgorithm
from txdane.ssh.refusals import SSHFPNoCoveredKeyError, SSHSessionTimeoutError
from txdane.ssh.verifier import (
    SSHFPKnownHosts,
    coveredAlgorithms,
    preferredHostKeyAlgorithms,
)
from txdane.validation import IDNSSECResolver


def sshCommandEndpoint(
    reactor: Any,
    resolver: IDNSSECResolver,
    host: str,
    command: bytes | str,
    username: bytes | str,
    port: int = 22,
    *,
    keys: Sequence[Key] = (),
    password: bytes | str | None = None,
    agentEndpoint: IStreamClientEndpoint | None = None,
    knownHosts: KnownHostsFile | str | None = None,
    ui: ConsoleUI | None = None,
    require: bool = False,
    allowInsecureAddresses: bool = False,
    timeout: float = 30,
    bindAddress: tuple[str, int] | None = None,
    attemptDelay: float | None = None,
    sessionTimeout: float | None = None,
    hostKeyAlgorithms: Sequence[bytes | str] | None = None,
) -> IStreamClientEndpoint:
    """
    An endpoint that connects to C{host} over SSH, checks its host key against the host's
    DNSSEC-signed SSHFP records, authenticates, and runs C{command}; the protocol built by
    the factory given to C{connect()} is connected to the command's standard input and
    output (Conch's C{SSHCommandClientEndpoint}, over a connection made by txdane).

    Each C{connect()}:

      1. looks up and validates, in parallel, the host's addresses and its SSHFP records, and
         fails before dialling when the addresses cannot be used (see L{DNSSECEndpoint}) or
         the SSHFP lookup is bogus, indeterminate or failed (L{SSHFPLookupError
         <txdane.ssh.refusals.SSHFPLookupError>}), or, with C{require}, when the records
         cannot verify any key (L{SSHFPUnverifiedError
         <txdane.ssh.refusals.SSHFPUnverifiedError>});
      2. connects to the validated addresses, racing IPv6 and IPv4 (Happy Eyeballs);
      3. offers only the host-key algorithms the secure records cover, when they cover any
         the client has (see L{preferredHostKeyAlgorithms
         <txdane.ssh.verifier.preferredHostKeyAlgorithms>}), so the server proves a key the
         zone vouches for, or the key exchange fails (L{SSHFPNoCoveredKeyError
         <txdane.ssh.refusals.SSHFPNoCoveredKeyError>}) and nothing falls back to
         known_hosts;
      4. verifies the host key with L{SSHFPKnownHosts<txdane.ssh.verifier.SSHFPKnownHosts>}
         before any authentication: a mismatch fails with L{SSHFPMismatchError
         <txdane.ssh.refusals.SSHFPMismatchError>}; a key the records cannot vouch for goes to
         the known_hosts file (unless C{require}).

    The connection is closed when the command ends.

    @param reactor: the reactor.
    @param resolver: the validating resolver for the addresses and the SSHFP records.
    @param host: the server's host name.
    @param command: the command line to run (interpreted by the server's shell).
    @param username: the user to log in as.
    @param port: the server's port.
    @param keys: private keys to authenticate with.
    @param password: a password to authenticate with.
    @param agentEndpoint: an endpoint reaching an SSH agent, to authenticate with its keys.
    @param knownHosts: the fallback for keys the SSHFP records cannot vouch for (insecure or
        absent records, none for the key's algorithm): a C{KnownHostsFile} or the path of
        one; C{None} means C{~/.ssh/known_hosts}, as in Conch. An L{SSHFPKnownHosts
        <txdane.ssh.verifier.SSHFPKnownHosts>} is used as it is (C{require} must then be
        set on it).
    @param ui: how the fallback asks about unknown keys; C{None}: Conch's console prompt on
        C{/dev/tty}, or "no" without one.
    @param require: refuse keys that secure SSHFP records do not vouch for, never consulting
        C{knownHosts}.
    @param allowInsecureAddresses: also connect to addresses from unsigned zones (never to
        bogus ones); the host key is still checked.
    @param timeout: seconds per TCP connection attempt.
    @param bindAddress: the local C{(host, port)} to connect from.
    @param attemptDelay: seconds between Happy Eyeballs attempts (Twisted's default if
        omitted).
    @param sessionTimeout: seconds from the TCP connection to an authenticated session
        (version and key exchange, host key check, authentication); past it the connection
        is aborted and C{connect()} fails with L{SSHSessionTimeoutError
        <txdane.ssh.refusals.SSHSessionTimeoutError>}. C{None} (the default) waits as long as
        the server takes, and as the known_hosts prompt of C{ui} does: give one for
        unattended use, where a silent server would otherwise hold the connection forever.
    @param hostKeyAlgorithms: the host-key algorithms the client may offer, most preferred
        first, as SSH names them (C{ssh-ed25519}, C{ecdsa-sha2-nistp256}, C{rsa-sha2-512},
        ...), like OpenSSH's C{HostKeyAlgorithms}; C{None} (the default): every one Conch
        has, in Conch's order. Step 3 narrows them further to those the records cover.
    @return: an C{IStreamClientEndpoint}.
    @raise ValueError: for a C{sessionTimeout} that is not a positive number of seconds, or
        C{hostKeyAlgorithms} that are empty or name one Conch does not have.
    @raise TypeError: for a C{command} or C{username} that is not text, C{keys} that are not
        a sequence of C{Key}, a C{require} that is not a C{bool}, or C{hostKeyAlgorithms}
        that are not a sequence of names.
    """
    _checkArguments(command, username, keys, require)
    if sessionTimeout is not None and (
        type(sessionTimeout) not in (int, float) or not 0 < sessionTimeout < float("inf")
    ):
        raise ValueError(f"sessionTimeout {sessionTimeout!r} is not a positive number of seconds")
    algorithms = _hostKeyAlgorithms(hostKeyAlgorithms)
    if isinstance(knownHosts, SSHFPKnownHosts):
        if require:
            raise ValueError("set require on the SSHFPKnownHosts given as knownHosts")
        verifier = knownHosts
    else:
        if isinstance(knownHosts, KnownHostsFile):
            fallback = knownHosts
        else:
            fallback = _NewConnectionHelper._knownHosts(knownHosts)
        verifier = SSHFPKnownHosts(resolver, fallback, require=require)
    dialer = DNSSECEndpoint(
        reactor,
        resolver,
        host,
        port,
        allowInsecure=allowInsecureAddresses,
        timeout=timeout,
        bindAddress=bindAddress,
        attemptDelay=attemptDelay,
    )
    helper = _ValidatedConnectionHelper(
        reactor,
        dialer,
        _bytes(host),
        port,
        _bytes(command),
        _bytes(username),
        list(keys),
        None if password is None else _bytes(password),
        agentEndpoint,
        verifier,
        ui,
    )
    helper.sessionTimeout = sessionTimeout
    helper.hostKeyAlgorithms = algorithms
    endpoint: IStreamClientEndpoint = SSHCommandClientEndpoint(helper, _bytes(command))
    return endpoint


def _checkArguments(command: object, username: object, keys: object, require: object) -> None:
    """
    Refuse the arguments of L{sshCommandEndpoint} that would fail only once connected, or be
    read as something else: C{require="no"} would be true, one key given alone would be
    iterated.

    @raise TypeError: naming the argument.
    """
    for name, value in (("command", command), ("username", username)):
        if not isinstance(value, (str, bytes)):
            raise TypeError(f"{name} must be a str or bytes, not {value!r}")
    if (
        isinstance(keys, (str, bytes))
        or not isinstance(keys, Sequence)
        or not all(isinstance(key, Key) for key in keys)
    ):
        raise TypeError(f"keys must be a sequence of twisted.conch.ssh.keys.Key, not {keys!r}")
    if type(require) is not bool:
        raise TypeError(f"require must be True or False, not {require!r}")


class _ValidatedConnectionHelper(_NewConnectionHelper):
    """
    Conch's connection creator for new connections, connecting through a L{DNSSECEndpoint}
    and checking the host key with a per-connection L{SSHFPKnownHosts}, bound to the SSHFP
    answer that also chose the host-key algorithms.
    """

    knownHosts: SSHFPKnownHosts
    sessionTimeout: float | None = None
    hostKeyAlgorithms: list[bytes] | None = None

    def __init__(
        self,
        reactor: Any,
        dialer: DNSSECEndpoint,
        hostname: bytes,
        port: int,
        command: bytes,
        username: bytes,
        keys: list[Key],
        password: bytes | None,
        agentEndpoint: IStreamClientEndpoint | None,
        knownHosts: SSHFPKnownHosts,
        ui: ConsoleUI | None,
    ) -> None:
        super().__init__(
            reactor,
            hostname,
            port,
            command,
            username,
            keys,
            password,
            agentEndpoint,
            knownHosts,
            ui,
        )
        self.dialer = dialer

    def secureConnection(self) -> Deferred[Any]:
        return Deferred.fromCoroutine(self._secureConnection())

    async def _secureConnection(self) -> Any:
        lookups: Deferred[list[Any]] = gatherResults(
            [
                self.dialer.resolveAddresses(),
                self.knownHosts.lookupFingerprints(self.hostname),
            ],
            consumeErrors=True,
        )
        try:
            addresses, answer = await lookups
        except FirstError as e:
            e.subFailure.raiseException()
        connection = copy.copy(self)
        connection.knownHosts = self.knownHosts.boundTo(self.hostname, answer)
        transport = _CommandTransport(connection)
        offered = preferredHostKeyAlgorithms(
            answer, self.hostKeyAlgorithms or transport.supportedPublicKeys
        )
        transport.supportedPublicKeys = offered
        ready = transport.connectionReady
        await self.dialer.connectTo(addresses, _OneProtocol(transport))
        host = self.hostname.decode("utf-8", "replace")
        try:
            return await self._ready(ready, host)
        except ConnectionClosed:
            refusal = _noCoveredKey(host, coveredAlgorithms(answer), offered, transport)
            if refusal is None:
                raise
            raise refusal from None

    async def _ready(self, ready: Deferred[Any], host: str) -> Any:
        """
        Wait for the session of a connection, at most L{sessionTimeout} seconds.
        """
        limit = self.sessionTimeout
        if limit is None:
            return await ready
        # Cancelling the Deferred aborts the connection (Conch's canceller).
        ready.addTimeout(limit, self.reactor)
        try:
            return await ready
        except DeferredTimeoutError:
            raise SSHSessionTimeoutError(host, self.port, limit) from None


def _noCoveredKey(
    host: str,
    covered: frozenset[SSHFPAlgorithm],
    offered: Sequence[bytes],
    transport: SSHClientTransport,
) -> SSHFPNoCoveredKeyError | None:
    """
    Why a connection closed before the server proved a host key, when the reason is that
    the client offered only the host-key algorithms the records cover and the server has
    no key of their types, as its own offer (its KEXINIT) shows; C{None} otherwise (the
    offer was not narrowed, the server made none, or it has a key of a type offered).
    """
    if not offered or not all(HOST_KEY_ALGORITHMS.get(name) in covered for name in offered):
        return None
    algorithms = list(dict.fromkeys(HOST_KEY_ALGORITHMS[name] for name in offered))
    theirs = _serverHostKeyAlgorithms(transport)
    if theirs is None or any(HOST_KEY_ALGORITHMS.get(name) in algorithms for name in theirs):
        return None
    return SSHFPNoCoveredKeyError(
        host, algorithms, [name.decode("ascii", "replace") for name in theirs]
    )


def _serverHostKeyAlgorithms(transport: SSHClientTransport) -> list[bytes] | None:
    """
    The host-key algorithms of the server's KEXINIT (RFC 4253 section 7.1), or C{None} when
    none was received (or it cannot be read).
    """
    payload = getattr(transport, "otherKexInitPayload", None)
    if not payload:
        return None
    try:
        # The message type and 16 bytes of cookie, then name-lists: the key exchange
        # algorithms and the host-key algorithms.
        _, keyAlgorithms, _ = getNS(payload[17:], 2)
    except Exception:
        return None
    return [name for name in keyAlgorithms.split(b",") if name]


def _hostKeyAlgorithms(algorithms: Sequence[bytes | str] | None) -> list[bytes] | None:
    """
    The C{hostKeyAlgorithms} of L{sshCommandEndpoint}, as bytes, checked against Conch's.

    @raise ValueError: for an empty list, or a name Conch does not have.
    @raise TypeError: for something else than a sequence of names.
    """
    if algorithms is None:
        return None
    if isinstance(algorithms, (str, bytes)) or not isinstance(algorithms, Sequence):
        raise TypeError(f"hostKeyAlgorithms must be a sequence of names, not {algorithms!r}")
    names = []
    for algorithm in algorithms:
        if not isinstance(algorithm, (str, bytes)):
            raise TypeError(f"hostKeyAlgorithms must be a sequence of names, not {algorithms!r}")
        name = _bytes(algorithm)
        if name not in SSHClientTransport.supportedPublicKeys:
            raise ValueError(f"Conch has no host-key algorithm {name.decode(errors='replace')!r}")
        names.append(name)
    if not names:
        raise ValueError("hostKeyAlgorithms is empty")
    return names


class _OneProtocol(Factory):
    """
    A factory handing out one protocol instance (what C{connectProtocol} does).
    """

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol  # type: ignore[assignment]

    def buildProtocol(self, addr: IAddress | None) -> Protocol:
        return self.protocol  # type: ignore[return-value]


def _bytes(value: bytes | str) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


__all__ = ["sshCommandEndpoint"]

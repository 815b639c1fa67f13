"""
Tests of L{txdane.settings}: resolver settings, checked once, and the resolvers built from them.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest
from twisted.internet.testing import MemoryReactorClock

from txdane.resolvconf import NameServer
from txdane.settings import ResolverSettings, ResolverSettingsError, sharedResolver
from txdane.testing import buildHierarchy
from txdane.validation import (
    ADTrustingResolver,
    TrustAnchors,
    ValidatingResolver,
    ValidationLimits,
)


@pytest.fixture(scope="module")
def anchorFile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("anchors") / "anchor"
    path.write_text(buildHierarchy().trustAnchorText())
    return path


def test_fromStrings(anchorFile: Path) -> None:
    settings = ResolverSettings.fromStrings(["127.0.0.1#5353", " ::1 "], str(anchorFile))
    assert settings.servers == (NameServer("127.0.0.1", 5353), NameServer("::1", 53))
    assert settings.trustAnchors == TrustAnchors.fromFile(anchorFile)
    assert settings == ResolverSettings.fromStrings(["127.0.0.1#5353", "::1"], str(anchorFile))
    assert ResolverSettings.fromStrings() == ResolverSettings()


@pytest.mark.parametrize(
    "arguments, fields, message",
    [
        ((["dns.example"],), ("servers",), "servers: "),
        (([" ", ""],), ("servers",), "servers: names no server"),
        ((None, "/nonexistent"), ("trustAnchors",), "trustAnchors: "),
        ((None, "/x", True), ("trustAD", "trustAnchors"), "trustAD and trustAnchors exclude"),
        ((None, None, False, 0.0), ("timeout",), "timeout: 0.0 is not positive"),
        (
            (["127.0.0.1"], None, True, None, False, True),
            ("trustAD", "strictNSEC3Iterations"),
            "trustAD and strictNSEC3Iterations exclude each other: the NSEC3 iteration limit",
        ),
        # An empty text is never the default: an empty resolverTLS would be cleartext.
        (([b"127.0.0.1"],), ("servers",), "servers: [b'127.0.0.1']: give each address as"),
        ((None, ""), ("trustAnchors",), "trustAnchors: '' is not a value"),
        ((None, " "), ("trustAnchors",), "trustAnchors: ' ' is not a value"),
    ],
)
def test_fromStringsErrors(arguments: tuple, fields: tuple[str, ...], message: str) -> None:
    """
    Each unusable setting is one error naming it, in the caller's spelling if asked.
    """
    with pytest.raises(ResolverSettingsError) as caught:
        ResolverSettings.fromStrings(*arguments)
    assert caught.value.options == fields
    assert str(caught.value).startswith(message)
    assert caught.value.describe(str.upper).startswith(fields[0].upper())


def test_rulesCheckedOnTheValueToo(anchorFile: Path) -> None:
    """
    The rules hold however the settings are made, not only from strings.
    """
    with pytest.raises(ResolverSettingsError, match="exclude each other"):
        ResolverSettings(trustAnchors=TrustAnchors.fromFile(anchorFile), trustAD=True)
    servers = (NameServer("127.0.0.1"),)
    with pytest.raises(ResolverSettingsError, match="with trust-AD the resolver's AD bit"):
        ResolverSettings(servers, trustAD=True, strictNSEC3Iterations=True)


def test_serversAsListAndText() -> None:
    """
    Servers given as a list, or as C{"ADDR[#PORT]"} text, are the same settings as a tuple of
    L{NameServer}s: hashable, so L{sharedResolver} can key on them, and checked as servers.
    """
    given = ResolverSettings(servers=["127.0.0.1#5353", NameServer("::1")])  # type: ignore[arg-type]
    assert given.servers == (NameServer("127.0.0.1", 5353), NameServer("::1"))
    assert given == ResolverSettings(servers=(NameServer("127.0.0.1", 5353), NameServer("::1")))
    assert hash(given) == hash(ResolverSettings.fromStrings(["127.0.0.1#5353", "::1"]))
    sharedResolver(MemoryReactorClock(), given)
    trusting = ResolverSettings(servers=["127.0.0.1"], trustAD=True)  # type: ignore[arg-type]
    assert trusting.servers == (NameServer("127.0.0.1"),)


@pytest.mark.parametrize(
    "arguments, field, message",
    [
        ({"servers": "127.0.0.1"}, "servers", "is not a sequence of servers (give a list"),
        ({"servers": [("127.0.0.1", 53)]}, "servers", "is not a server"),
        ({"servers": ["dns.example"]}, "servers", "servers: "),
        ({"rootHints": "198.41.0.4"}, "rootHints", "is not a sequence of servers"),
        ({"trustAnchors": "anchor.txt"}, "trustAnchors", "TrustAnchors.fromFile(path)"),
        ({"trustAD": "no"}, "trustAD", "'no' is not True or False"),
        ({"iterative": 1}, "iterative", "1 is not True or False"),
        ({"timeout": "5"}, "timeout", "'5' is not a number"),
        ({"resolverTLS": True}, "resolverTLS", "True is not a str"),
        ({"resolverTLS": "yes"}, "resolverTLS", "'yes' is not a host name"),
        ({"resolverTrustRoots": ["ca.pem"], "resolverTLS": "dns.example"}, "resolverTrustRoots",
         "is not a sequence of certificates"),
    ],
)  # fmt: skip
def test_typesChecked(arguments: dict, field: str, message: str) -> None:
    """
    A value of the wrong type is refused when the settings are made, naming the setting, not
    when the resolver is built or used (a string of flags would be true, a string of servers
    would be read letter by letter).
    """
    with pytest.raises(ResolverSettingsError) as caught:
        ResolverSettings(**arguments)
    assert caught.value.options == (field,)
    assert message in str(caught.value)


def test_trustADRemoteNeedsTrustAD() -> None:
    """
    C{trustADRemote} only widens C{trustAD}: alone it is a mistake, not a no-op.
    """
    with pytest.raises(ResolverSettingsError) as caught:
        ResolverSettings(trustADRemote=True)
    assert caught.value.options == ("trustADRemote",)
    assert str(caught.value) == (
        "trustADRemote: applies only when the AD bit is trusted (give trustAD to accept it)"
    )


@pytest.mark.parametrize(
    "keyword, field",
    [
        ("resolverTLS", "resolverTLS"),
        ("rootHintsFile", "rootHints"),
        ("trustAnchorState", "trustAnchorState"),
        ("resolverTrustRootsFile", "resolverTrustRoots"),
    ],
)
def test_fromStringsEmptyIsNotTheDefault(keyword: str, field: str) -> None:
    """
    An empty text (a variable left unset) is refused, naming the setting, not read as "not
    given": an empty C{resolverTLS} used to send every query in clear.
    """
    given: dict[str, Any] = {keyword: ""}
    with pytest.raises(ResolverSettingsError) as caught:
        ResolverSettings.fromStrings(["127.0.0.1"], **given)
    assert caught.value.options == (field,)
    assert "'' is not a value" in str(caught.value)


def test_fromStringsServersAsOneString() -> None:
    with pytest.raises(ResolverSettingsError, match="is not a list of addresses"):
        ResolverSettings.fromStrings("127.0.0.1#53")


def test_trustAnchorState(anchorFile: Path, tmp_path: Path) -> None:
    """
    A trust anchor state file is made from the trust anchors when the settings are read, and
    every resolver built from them (or from other settings naming the same file) follows
    rollovers with one tracker of that file.
    """
    state = tmp_path / "root.state"
    settings = ResolverSettings.fromStrings(
        ["127.0.0.1"], str(anchorFile), trustAnchorState=str(state)
    )
    assert settings.trustAnchorState == str(state)
    assert state.read_text().startswith("; autotrust trust anchor file\n;;id: . 1\n")
    reactor = MemoryReactorClock()
    resolver = settings.build(reactor)
    assert isinstance(resolver, ValidatingResolver)
    tracker = resolver.trustAnchorTracker
    assert tracker is not None
    assert tracker.path == state.absolute()
    assert tracker.anchor().ds == TrustAnchors.fromFile(anchorFile).anchors[0].ds
    other = ResolverSettings.fromStrings(["127.0.0.2"], trustAnchorState=str(state))
    built = other.build(reactor)
    assert isinstance(built, ValidatingResolver)
    assert built.trustAnchorTracker is tracker
    assert settings != ResolverSettings.fromStrings(["127.0.0.1"], str(anchorFile))


def test_trustAnchorStateErrors(tmp_path: Path) -> None:
    """
    A corrupt or unwritable state file, or one given with C{trustAD}, is refused when the
    settings are read, naming the setting and the file.
    """
    corrupt = tmp_path / "corrupt.state"
    corrupt.write_text(";;id: . 1\n. 3600 IN DNSKEY 257 3 13 AAAA\n")
    with pytest.raises(ResolverSettingsError) as caught:
        ResolverSettings.fromStrings(trustAnchorState=str(corrupt))
    assert caught.value.options == ("trustAnchorState",)
    assert str(caught.value) == (
        f"trustAnchorState: trust anchor state file {corrupt}: line 2: no ;;state= annotation"
    )
    absent = tmp_path / "absent" / "root.state"
    with pytest.raises(ResolverSettingsError, match="cannot write: No such file or directory"):
        ResolverSettings.fromStrings(trustAnchorState=str(absent))
    with pytest.raises(ResolverSettingsError, match="trustAD and trustAnchorState exclude"):
        ResolverSettings.fromStrings(["127.0.0.1"], trustAD=True, trustAnchorState="x")
    with pytest.raises(ResolverSettingsError, match="trustAD and trustAnchorState exclude"):
        ResolverSettings((NameServer("127.0.0.1"),), trustAD=True, trustAnchorState="x")


def test_unusableTrustAnchorsRefused(tmp_path: Path) -> None:
    """
    A trust anchor file, or a state file, whose anchors the resolver could never use (a DS
    of an unsupported digest type, making everything below the zone insecure) is refused
    when the settings are read, naming the setting, the file and the zone.
    """
    ds = next(iter(buildHierarchy().trustAnchor))
    text = f". IN DS {ds.key_tag} {ds.algorithm} 3 {ds.digest.hex()}\n"
    anchors = tmp_path / "anchor"
    anchors.write_text(text)
    why = "every trust anchor of . uses an unsupported digest type 3 (supported: "
    with pytest.raises(ResolverSettingsError) as caught:
        ResolverSettings.fromStrings(["127.0.0.1"], str(anchors))
    assert caught.value.options == ("trustAnchors",)
    assert str(caught.value).startswith(f"trustAnchors: trust anchors from {anchors}: {why}")
    state = tmp_path / "root.state"
    state.write_text(text)
    with pytest.raises(ResolverSettingsError) as caught:
        ResolverSettings.fromStrings(["127.0.0.1"], trustAnchorState=str(state))
    assert caught.value.options == ("trustAnchorState",)
    assert str(caught.value).startswith(
        f"trustAnchorState: trust anchor state file {state.absolute()}: {why}"
    )
    assert "\n" not in str(caught.value)


def test_build(anchorFile: Path) -> None:
    reactor = MemoryReactorClock()
    validating = ResolverSettings.fromStrings(["127.0.0.1"], str(anchorFile), timeout=3).build(
        reactor
    )
    assert isinstance(validating, ValidatingResolver)
    assert validating.querier.servers == (NameServer("127.0.0.1"),)  # type: ignore[attr-defined]
    assert not validating.limits.strictNSEC3Iterations
    trusting = ResolverSettings.fromStrings(["127.0.0.1"], trustAD=True).build(reactor)
    assert isinstance(trusting, ADTrustingResolver)


def test_buildStrictNSEC3Iterations(anchorFile: Path) -> None:
    """
    C{strictNSEC3Iterations} reaches the validator's limits, leaving the others at their
    defaults, and keys the shared resolvers apart.
    """
    reactor = MemoryReactorClock()
    settings = ResolverSettings.fromStrings(
        ["127.0.0.1"], str(anchorFile), strictNSEC3Iterations=True
    )
    assert settings.strictNSEC3Iterations
    strict = settings.build(reactor)
    assert isinstance(strict, ValidatingResolver)
    assert strict.limits == ValidationLimits(strictNSEC3Iterations=True)
    default = ResolverSettings.fromStrings(["127.0.0.1"], str(anchorFile))
    assert settings != default
    assert sharedResolver(reactor, settings) is not sharedResolver(reactor, default)


def test_sharedPerReactorAndSettings() -> None:
    """
    One resolver per reactor and settings; a reactor's resolvers go with it.
    """
    first, second = MemoryReactorClock(), MemoryReactorClock()
    settings = ResolverSettings.fromStrings(["127.0.0.1"])
    other = ResolverSettings.fromStrings(["127.0.0.2"])
    resolver = sharedResolver(first, settings)
    assert sharedResolver(first, ResolverSettings.fromStrings(["127.0.0.1"])) is resolver
    assert sharedResolver(first, other) is not resolver
    assert sharedResolver(second, settings) is not resolver
    reactorGone, resolverGone = weakref.ref(first), weakref.ref(resolver)
    del first, resolver
    gc.collect()
    assert reactorGone() is None and resolverGone() is None


def test_reactorWithoutAttributes() -> None:
    """
    A reactor that takes no attributes still gets a resolver, unshared.
    """

    class Frozen:
        __slots__ = ("clock",)

        def __init__(self) -> None:
            self.clock = MemoryReactorClock()

        def __getattr__(self, name: str) -> object:
            return getattr(self.clock, name)

    reactor = Frozen()
    settings = ResolverSettings.fromStrings(["127.0.0.1"])
    assert sharedResolver(reactor, settings) is not sharedResolver(reactor, settings)


@pytest.mark.parametrize(
    "servers, remote",
    [
        (["10.0.0.53"], "10.0.0.53"),
        (["127.0.0.1", "192.0.2.53#5353"], "192.0.2.53#5353"),
        (["2001:db8::53"], "2001:db8::53"),
    ],
)
def test_trustADRefusesRemoteResolvers(servers: list[str], remote: str) -> None:
    """
    The AD bit of a resolver reached over the network can be set by anyone on the path:
    trusting it is refused, naming the resolver and the override.
    """
    with pytest.raises(ResolverSettingsError) as caught:
        ResolverSettings.fromStrings(servers, trustAD=True)
    assert caught.value.options == ("trustAD",)
    message = str(caught.value)
    assert message.startswith("trustAD: ")
    assert remote in message and "not on loopback" in message
    assert "trustADRemote" in message
    spelling = {"trustAD": "--trust-ad", "trustADRemote": "--trust-ad-remote"}
    assert caught.value.describe(spelling.__getitem__).startswith("--trust-ad: ")
    assert "(give --trust-ad-remote to accept it)" in caught.value.describe(spelling.__getitem__)


def test_trustADRemoteReadsResolvConf(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without servers, those of /etc/resolv.conf are the ones whose AD bit would be trusted.
    """
    monkeypatch.setattr(
        "txdane.settings._systemServers", lambda: (NameServer("127.0.0.53"), NameServer("10.1.1.1"))
    )
    with pytest.raises(ResolverSettingsError, match=r"10\.1\.1\.1"):
        ResolverSettings(trustAD=True)
    monkeypatch.setattr("txdane.settings._systemServers", lambda: (NameServer("127.0.0.53"),))
    assert ResolverSettings(trustAD=True).trustAD


def test_trustADServersCheckedAreServersUsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    /etc/resolv.conf is read once for trust-AD: if it changes between the settings and the
    resolver (a remote server added), the resolver still asks only the servers that were
    checked, never one whose AD bit nobody vetted.
    """
    monkeypatch.setattr("txdane.settings._systemServers", lambda: (NameServer("127.0.0.53"),))
    settings = ResolverSettings(trustAD=True)
    assert settings.servers == (NameServer("127.0.0.53"),)
    monkeypatch.setattr("txdane.settings._systemServers", lambda: (NameServer("10.1.1.1"),))
    resolver = settings.build(MemoryReactorClock())
    assert isinstance(resolver, ADTrustingResolver)
    assert resolver.querier.servers == (NameServer("127.0.0.53"),)  # type: ignore[attr-defined]
    assert resolver.resolverName == "127.0.0.53"


def test_trustADLoopbackAndOverride() -> None:
    """
    Loopback resolvers (127.0.0.0/8, ::1) are trusted as they are; others with the explicit
    override, for users who secure the path themselves.
    """
    assert ResolverSettings.fromStrings(["127.0.0.1#5353", "127.1.2.3", "::1"], trustAD=True)
    settings = ResolverSettings.fromStrings(["192.0.2.53"], trustAD=True, trustADRemote=True)
    assert settings.trustAD and settings.trustADRemote
    assert isinstance(settings.build(MemoryReactorClock()), ADTrustingResolver)
    with pytest.raises(ResolverSettingsError, match="not on loopback"):
        ResolverSettings(servers=(NameServer("192.0.2.53"),), trustAD=True)


def test_resolverTLSPorts() -> None:
    """
    With C{resolverTLS}, a resolver written without a port is asked on 853; one with a port
    on that port, 53 included. Without it, nothing changes.
    """
    texts = ["192.0.2.1", "192.0.2.2#8853", "[2001:db8::1]:53", "2001:db8::2"]
    settings = ResolverSettings.fromStrings(texts, resolverTLS="dns.example.net")
    assert settings.servers == (
        NameServer("192.0.2.1", 853),
        NameServer("192.0.2.2", 8853),
        NameServer("2001:db8::1", 53),
        NameServer("2001:db8::2", 853),
    )
    assert settings.resolverTLS == "dns.example.net"
    plain = ResolverSettings.fromStrings(texts)
    assert [s.port for s in plain.servers or ()] == [53, 8853, 53, 53]
    assert plain.resolverTLS is None


def test_resolverTLSReadsResolvConf(monkeypatch: pytest.MonkeyPatch) -> None:
    """
    Without servers, those of /etc/resolv.conf are asked over TLS on port 853.
    """
    monkeypatch.setattr("txdane.settings._systemServers", lambda: (NameServer("192.0.2.53"),))
    settings = ResolverSettings(resolverTLS="dns.example.net")
    assert settings.servers == (NameServer("192.0.2.53", 853),)


def test_resolverTLSBuild(tmp_path: Path) -> None:
    """
    C{build} makes a validating resolver over a L{DoTClient} for the name, with the roots
    read from the file; with C{trustAD} (on loopback) an AD-trusting one over the same.
    """
    from txdane.dot import DoTClient
    from txdane.dotauth import UpstreamAuthenticator
    from txdane.testing import issue

    ca = issue("Resolver CA", ca=True)
    caFile = tmp_path / "ca.pem"
    caFile.write_bytes(ca.certPEM())
    settings = ResolverSettings.fromStrings(
        ["192.0.2.1"], resolverTLS="dns.example.net", resolverTrustRootsFile=str(caFile)
    )
    assert settings.resolverTrustRoots == (ca.cert,)
    resolver = settings.build(MemoryReactorClock())
    assert isinstance(resolver, ValidatingResolver)
    client = resolver.querier
    assert isinstance(client, DoTClient)
    assert client.serverName == "dns.example.net"
    assert client.servers == (NameServer("192.0.2.1", 853),)
    authenticate = client._authenticate
    assert isinstance(authenticate, UpstreamAuthenticator)
    assert authenticate.trust.roots == (ca.cert,)
    trusting = ResolverSettings.fromStrings(
        ["127.0.0.1"], trustAD=True, resolverTLS="dns.example.net"
    ).build(MemoryReactorClock())
    assert isinstance(trusting, ADTrustingResolver)
    assert isinstance(trusting.querier, DoTClient)
    assert trusting.resolverName == "127.0.0.1#853 (TLS, dns.example.net)"


@pytest.mark.parametrize(
    "arguments, fields, message",
    [
        ({"resolverTrustRootsFile": "/x.pem"}, ("resolverTrustRoots",), "only to DNS over TLS"),
        ({"resolverTLS": "a..example"}, ("resolverTLS",), "not a host name"),
        ({"resolverTLS": "."}, ("resolverTLS",), "not a host name"),
        (
            {"resolverTLS": "dns.example", "resolverTrustRootsFile": "/nonexistent.pem"},
            ("resolverTrustRoots",),
            "No such file",
        ),
        (
            {"resolverTLS": "dns.example", "resolverTrustRootsFile": "/dev/null"},
            ("resolverTrustRoots",),
            "no PEM certificate|holds no certificate",
        ),
        (
            {"resolverTLS": "dns.example", "resolverTrustRootsFile": __file__},
            ("resolverTrustRoots",),
            r"no PEM certificate in it \(give a file of -----BEGIN CERTIFICATE----- blocks\)$",
        ),
    ],
)
def test_resolverTLSErrors(arguments: dict, fields: tuple[str, ...], message: str) -> None:
    """
    Unusable DNS-over-TLS settings are refused, naming the setting.
    """
    with pytest.raises(ResolverSettingsError, match=message) as raised:
        ResolverSettings.fromStrings(["192.0.2.1"], **arguments)
    assert raised.value.options == fields


def test_resolverTLSExcludesIterative() -> None:
    """
    DNS over TLS is spoken to recursive resolvers; resolving from the root asks none: the two
    are refused together, from text and on the value.
    """
    with pytest.raises(ResolverSettingsError) as raised:
        ResolverSettings.fromStrings(iterative=True, resolverTLS="dns.example")
    assert raised.value.options == ("iterative", "resolverTLS")
    assert "exclude each other" in str(raised.value)
    with pytest.raises(ResolverSettingsError):
        ResolverSettings(iterative=True, resolverTLS="dns.example")


def test_resolverTrustRootsNeedTLS() -> None:
    """
    Roots without a name to check them for are refused on the value too.
    """
    from txdane.testing import issue

    with pytest.raises(ResolverSettingsError, match="resolverTrustRoots"):
        ResolverSettings(resolverTrustRoots=(issue("CA", ca=True).cert,))


def test_resolverTLSCommandLine(tmp_path: Path) -> None:
    """
    C{--resolver-tls} and C{--resolver-ca-file} reach the settings, and their errors are
    spelt as the command line spells them.
    """
    import argparse

    from txdane.cli._common import UsageError, addResolverArguments, resolverSettings

    parser = argparse.ArgumentParser()
    addResolverArguments(parser)
    options = parser.parse_args(["--resolver", "192.0.2.1", "--resolver-tls", "dns.example"])
    settings = resolverSettings(options)
    assert settings.resolverTLS == "dns.example"
    assert settings.servers == (NameServer("192.0.2.1", 853),)
    options = parser.parse_args(["--resolver-ca-file", str(tmp_path / "none.pem")])
    with pytest.raises(UsageError, match=r"^--resolver-ca-file: applies only to DNS over TLS"):
        resolverSettings(options)


def test_buildIterativeTimeout() -> None:
    """
    Resolving from the root, C{timeout} bounds each question, and a third of it each server;
    neither is made longer than the querier's defaults.
    """
    from txdane.validation.iterative import IterativeLimits, IterativeQuerier

    hints = (NameServer("127.53.1.1", 5353),)
    resolver = ResolverSettings(iterative=True, rootHints=hints, timeout=1.5).build(
        MemoryReactorClock()
    )
    assert isinstance(resolver, ValidatingResolver)
    querier = resolver.querier
    assert isinstance(querier, IterativeQuerier)
    assert querier.limits.serverTimeout == 0.5
    assert querier.limits.questionTimeout == 1.5
    assert querier.port == 5353
    for timeout in (None, 10.0, 60.0):
        settings = ResolverSettings(iterative=True, rootHints=hints, timeout=timeout)
        resolver = settings.build(MemoryReactorClock())
        assert isinstance(resolver, ValidatingResolver)
        assert isinstance(resolver.querier, IterativeQuerier)
        assert resolver.querier.limits == IterativeLimits()

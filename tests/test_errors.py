"""
The errors: every exception class of the package is a L{TxdaneError} that reads as one line,
pickles, and keeps its facts as attributes; and the base that declares them.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import pytest

import txdane
from txdane.errors import TxdaneError
from txdane.resolvconf import NameServer
from txdane.ssh.fingerprints import SSHFPAlgorithm, SSHFPRecord
from txdane.status import Status
from txdane.transport import DNSConnectionError

#: Exceptions that do not derive from TxdaneError: signals raised and caught inside the
#: package, which no caller sees (L{txdane.wireread.Declined} is caught by
#: L{txdane.transport.parseMessage}; the package imports only dnspython).
_NOT_TXDANE_ERRORS = {
    "txdane.cli._sshkeys.HostKeySeen",
    "txdane.wireread._names.Declined",
    # A dnspython FormError, as parseMessage raises for any message it cannot parse: the
    # transport says it as a DNSMalformedError.
    "txdane.wireread._names.TooManyLabels",
    # Raised inside dnspython's zone reader, which passes on its own exceptions only; the
    # loader says it as a ZoneError with the file and line.
    "txdane.server.zonefile._RecordError",
    # Raised from expat's handlers to stop the parse; the negotiator says it as a refusal.
    "txdane.endpoints.starttls.xmpp._RestrictedXML",
}


def _qualifiedName(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _errorClasses() -> Iterator[type[BaseException]]:
    """
    Every exception class defined in a module of txdane (whose modules are imported, never
    run: C{__main__} modules are skipped).
    """
    seen: set[type] = set()
    for module in pkgutil.walk_packages(txdane.__path__, "txdane."):
        if module.name.rsplit(".", 1)[-1] == "__main__":
            continue
        namespace = importlib.import_module(module.name)
        for value in vars(namespace).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == namespace.__name__
                and value not in seen
            ):
                seen.add(value)
                yield value


_ALL = sorted(_errorClasses(), key=_qualifiedName)
_ERRORS = [cls for cls in _ALL if issubclass(cls, TxdaneError)]


def _response() -> dns.message.Message:
    query = dns.message.make_query("www.example.test.", "A")
    response = dns.message.make_response(query)
    response.set_rcode(dns.rcode.SERVFAIL)
    return response


_RECORD = SSHFPRecord(4, 2, bytes(32))

#: A value for each field (or constructor argument) of that name.
_SAMPLES: dict[str, Any] = {
    "algorithm": SSHFPAlgorithm.ED25519,
    "allRecords": [_RECORD],
    "answer": "www.example.test. A: insecure",
    "answers": [],
    "attempts": 3,
    "cause": ValueError("the cause"),
    "covered": [SSHFPAlgorithm.ED25519],
    "domain": "example.test",
    "ede": 22,
    "expected": [_RECORD],
    "host": "www.example.test",
    "hostName": "www.example.test",
    "keyBlob": b"\x00\x00\x00\x0bssh-ed25519" + bytes(36),
    "line": 5,
    "malformed": "the datagram is truncated",
    "message": "the message",
    "name": dns.name.from_text("www.example.test."),
    "options": ("trustAD", "trustAnchors"),
    "owner": dns.name.from_text("_853._tcp.dns.example.test."),
    "override": "trustADRemote",
    "path": "example.test.zone",
    "port": 443,
    "problem": "exclude each other",
    "protocol": "smtp",
    "rcode": dns.rcode.FORMERR,
    "rdtype": dns.rdatatype.TLSA,
    "reason": "the reason",
    "records": [_RECORD],
    "response": _response(),
    "server": NameServer("192.0.2.53"),
    "serverKeyTypes": ["ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"],
    "serverName": "dns.example.test",
    "servers": [NameServer("192.0.2.53"), NameServer("2001:db8::53")],
    "service": "xmpp-client",
    "source": "root-anchors.xml",
    "status": Status.BOGUS,
    "timeout": 2.5,
    "tries": (),
    "what": "AUTH",
    "zone": "example.test.",
    "explanation": "the explanation",
}

#: Values for a field of one class (and its subclasses) that differ from L{_SAMPLES}.
_CLASS_SAMPLES: dict[str, dict[str, Any]] = {
    "txdane.cli.CommandError": {"status": 4},
    "txdane.endpoints.errors.AllHostsFailedError": {"attempts": ()},
    "txdane.endpoints.errors.UnknownProtocolError": {"name": "gopher", "known": ["smtp"]},
    "txdane.endpoints.errors.NoSuchServiceError": {"name": "gopher", "known": ["imap"]},
    "txdane.endpoints.planner.HostFailed": {"error": ValueError("refused")},
    "txdane.publish.PublishTimeoutError": {"server": "192.0.2.53#53"},
    "txdane.dot._errors._Retry": {
        "error": DNSConnectionError("the connection closed", NameServer("192.0.2.53", 853))
    },
    "txdane.publish.UpdateRejectedError": {"server": "192.0.2.53#53", "rcode": "REFUSED"},
    "txdane.endpoints.errors.ResponseTooLargeError": {
        "url": "https://rpc.example.test/",
        "limit": 10,
    },
}


def _fields(cls: type[TxdaneError]) -> list[inspect.Parameter]:
    """
    The fields of C{cls}: the parameters of its constructor (none for an error that takes
    C{Exception}'s arguments).
    """
    try:
        parameters = inspect.signature(cls).parameters.values()
    except ValueError:
        return []
    variable = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [parameter for parameter in parameters if parameter.kind not in variable]


def _arguments(cls: type[TxdaneError]) -> dict[str, Any]:
    """
    Arguments to make a C{cls}: a sample for every field that has one, as keywords.
    """
    samples = dict(_SAMPLES)
    for ancestor in reversed(cls.__mro__):
        samples.update(_CLASS_SAMPLES.get(_qualifiedName(ancestor), {}))
    arguments = {}
    for field in _fields(cls):
        if field.name in samples:
            arguments[field.name] = samples[field.name]
        elif field.default is inspect.Parameter.empty:
            raise AssertionError(f"no sample for {field.name!r} of {_qualifiedName(cls)}")
    return arguments


def _make(cls: type[TxdaneError]) -> TxdaneError:
    arguments = _arguments(cls)
    if not _fields(cls):
        return cls("the message")
    return cls(**arguments)


def _kept(value: object, given: object) -> bool:
    """
    Whether an attribute holds the value given for it: the same, or, for a sequence, the
    same items in a tuple; an exception compares by its type and message.
    """
    if isinstance(given, BaseException):
        return type(value) is type(given) and str(value) == str(given)
    if isinstance(given, list):
        return value == tuple(given)
    return value == given


def test_discovered() -> None:
    """
    The walk finds the errors of every layer.
    """
    names = {_qualifiedName(cls) for cls in _ALL}
    assert {
        "txdane.errors.LookupFailedError",
        "txdane.dane.errors.DANEVerificationError",
        "txdane.transport.errors.DNSTimeoutError",
        "txdane.ssh.refusals.SSHFPMismatchError",
        "txdane.cli.UsageError",
    } <= names
    assert _NOT_TXDANE_ERRORS <= names


@pytest.mark.parametrize("cls", _ALL, ids=_qualifiedName)
def test_isTxdaneError(cls: type[BaseException]) -> None:
    """
    Every exception of the package derives from L{TxdaneError}, but for the few listed
    signals.
    """
    expected = _qualifiedName(cls) not in _NOT_TXDANE_ERRORS
    assert issubclass(cls, TxdaneError) is expected


@pytest.mark.parametrize("cls", _ERRORS, ids=_qualifiedName)
def test_oneLine(cls: type[TxdaneError]) -> None:
    """
    An error reads as one line, not empty.
    """
    text = str(_make(cls))
    assert text
    assert "\n" not in text


@pytest.mark.parametrize("cls", _ERRORS, ids=_qualifiedName)
def test_fieldsAreAttributes(cls: type[TxdaneError]) -> None:
    """
    Each field is an attribute holding what was given; a declared error keeps the fields'
    values in C{args}, in the constructor's order.
    """
    arguments = _arguments(cls)
    error = _make(cls)
    for field in _fields(cls):
        assert hasattr(error, field.name)
        if field.name in arguments:
            assert _kept(getattr(error, field.name), arguments[field.name]), field.name
    if dataclasses.is_dataclass(cls):
        names = [field.name for field in dataclasses.fields(cls)]
        assert names == [field.name for field in _fields(cls)]
        assert error.args == tuple(getattr(error, name) for name in names)


@pytest.mark.parametrize("cls", _ERRORS, ids=_qualifiedName)
def test_pickles(cls: type[TxdaneError]) -> None:
    """
    An error survives pickling: same type, same message, same fields.
    """
    error = _make(cls)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is cls
    assert str(copy) == str(error)
    for field in _fields(cls):
        assert _kept(getattr(copy, field.name), getattr(error, field.name)), field.name


class _Refused(TxdaneError):
    host: str
    port: int = 443
    reason: str = "refused"
    template = "{host}:{port} {reason}"


class _RefusedSlowly(_Refused):
    timeout: float = 30.0
    template = "{host}:{port} {reason} after {timeout:g} s ({address})"

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}"


class _RefusedAgain(_Refused):
    """
    Declares no field: the constructor is its parent's.
    """


class _Abstract(TxdaneError):
    kind: ClassVar[str] = "abstract"


class _Listed(TxdaneError):
    hosts: Sequence[str]

    def __post_init__(self) -> None:
        self.hosts = tuple(self.hosts)
        super().__post_init__()


class _Plain(TxdaneError):
    detail: str


def test_defaults() -> None:
    """
    Fields with defaults may be left out.
    """
    error = _Refused("mx.example.test")
    assert (error.host, error.port, error.reason) == ("mx.example.test", 443, "refused")
    assert error.args == ("mx.example.test", 443, "refused")


def test_keywords() -> None:
    """
    Fields may be given by keyword, in any order, and by position. mypy checks these calls
    against the generated constructor: were it C{Exception}'s, the keywords would be errors
    and the ignore below unused.
    """
    error = _Refused(port=25, host="mx.example.test")
    assert (error.host, error.port) == ("mx.example.test", 25)
    assert _Refused("mx.example.test", 25, reason="closed").reason == "closed"
    with pytest.raises(TypeError):
        _Refused()  # type: ignore[call-arg]


def test_template() -> None:
    """
    A template reads the error's fields and properties, with format specifications.
    """
    assert str(_Refused("mx.example.test", 25)) == "mx.example.test:25 refused"
    error = _RefusedSlowly("mx.example.test", 25, "timed out", 2.50)
    assert str(error) == "mx.example.test:25 timed out after 2.5 s ([mx.example.test]:25)"


def test_subclassAddsFields() -> None:
    """
    A subclass's fields come after its parent's; one that declares none takes its parent's.
    """
    error = _RefusedSlowly("mx.example.test", 25, "closed", 1.0)
    assert error.args == ("mx.example.test", 25, "closed", 1.0)
    again = _RefusedAgain("mx.example.test")
    assert str(again) == "mx.example.test:443 refused"
    assert isinstance(again, _Refused)


def test_noFields() -> None:
    """
    A subclass that declares no field (a class variable is none) takes C{Exception}'s
    arguments and reads as C{Exception} does.
    """
    error = _Abstract("any text", 2)
    assert error.args == ("any text", 2)
    assert str(_Abstract("any text")) == "any text"
    assert not dataclasses.is_dataclass(_Abstract)


def test_withoutTemplate() -> None:
    """
    A declared error with neither template nor C{__str__} reads as C{Exception} with its
    fields' values as arguments.
    """
    assert str(_Plain("what happened")) == "what happened"


def test_postInit() -> None:
    """
    A subclass may normalize a field in C{__post_init__}; C{args} holds the normalized value.
    """
    error = _Listed(["a.example.test", "b.example.test"])
    assert error.hosts == ("a.example.test", "b.example.test")
    assert error.args == (("a.example.test", "b.example.test"),)


def test_identity() -> None:
    """
    Errors compare and hash by identity, as exceptions do.
    """
    one, other = _Refused("mx.example.test"), _Refused("mx.example.test")
    assert one != other
    assert len({one, other}) == 2


def test_repr() -> None:
    """
    The C{repr} names the fields.
    """
    assert repr(_Refused("mx.example.test", 25)) == (
        "_Refused(host='mx.example.test', port=25, reason='refused')"
    )


def test_pickleDeclared() -> None:
    """
    A declared error pickles with its fields, normalized ones included.
    """
    copy = pickle.loads(pickle.dumps(_RefusedSlowly("mx.example.test", 25, "closed", 1.0)))
    assert (copy.host, copy.port, copy.reason, copy.timeout) == ("mx.example.test", 25, "closed", 1)
    assert pickle.loads(pickle.dumps(_Listed(["a.example.test"]))).hosts == ("a.example.test",)

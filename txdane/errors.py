"""
The errors txdane raises on purpose, for every layer below DANE; the DANE layer's are in
L{txdane.dane.errors}, and each layer above keeps its own next to the code that raises them.

All derive from L{TxdaneError} so a caller can catch everything txdane raises deliberately in
one clause. The C{str()} of each error is one line that reads like the command line's message
for the same failure, and the facts are attributes.

A lookup whose data could be classified ends in an L{Answer<txdane.validation.answer.Answer>}
(secure, insecure, bogus or indeterminate). A lookup that could not finish - the recursive
resolver timed out, answered SERVFAIL or something malformed, or a work limit stopped it -
fails with L{LookupFailedError}: never an empty answer, so that no caller can mistake a failure
for "no such record".

An error declares its facts once, as annotated class attributes in the order its constructor
takes them, and says how it reads either with a L{template<TxdaneError.template>} or with its
own C{__str__}::

    class TrustAnchorError(ValidationError):
        source: str
        reason: str
        template = "trust anchors from {source}: {reason}"

L{TxdaneError} makes each such subclass a dataclass: a constructor taking the fields by
position or by keyword, with their defaults, and a C{repr} that names them; C{args} holds the
fields' values, so the error pickles. A subclass may add fields after those it inherits, and
one that declares none keeps the constructor of its parent (that of C{Exception} for the
abstract bases, such as L{ValidationError}).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import typing
from typing import Any, ClassVar

import dns.name
import dns.rdatatype

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:
    from typing_extensions import dataclass_transform

#: A class variable's annotation in text (as C{from __future__ import annotations} leaves it).
_CLASS_VARIABLE = re.compile(r"(?:typing\.)?ClassVar\b")


def _isClassVariable(annotation: object) -> bool:
    if isinstance(annotation, str):
        return _CLASS_VARIABLE.match(annotation) is not None
    return annotation is ClassVar or typing.get_origin(annotation) is ClassVar


def _hasFields(cls: type) -> bool:
    """
    Whether C{cls} declares a field or inherits one.
    """
    own = inspect.get_annotations(cls).values()
    if any(not _isClassVariable(annotation) for annotation in own):
        return True
    return any(_fieldNames(base) for base in cls.__bases__)


def _fieldNames(cls: type) -> tuple[str, ...]:
    """
    The names of the fields of C{cls}, in the constructor's order; none for a class that is
    not a dataclass.
    """
    if not dataclasses.is_dataclass(cls):
        return ()
    return tuple(field.name for field in dataclasses.fields(cls))


class _Attributes:
    """
    An error's attributes as the mapping that C{str.format_map} reads a template's fields
    from.
    """

    def __init__(self, error: TxdaneError) -> None:
        self._error = error

    def __getitem__(self, name: str) -> object:
        try:
            return getattr(self._error, name)
        except AttributeError:
            raise KeyError(name) from None


@dataclass_transform(eq_default=False, field_specifiers=(dataclasses.field,))
class TxdaneError(Exception):
    """
    Base class of every error txdane raises deliberately.

    A subclass declares its fields as annotated class attributes and becomes a dataclass
    (without C{__eq__}: errors compare, and hash, by identity). A subclass that normalizes a
    field (a sequence into a tuple) does so in C{__post_init__} and then calls this one.

    @cvar template: how the error reads: a C{str.format} template whose fields name the
        error's attributes (fields or properties), for example
        C{"{host}:{port}: no TLS handshake within {timeout:g} s"}. C{None} for an error
        that writes its own C{__str__}, or reads as C{Exception} does.
    """

    template: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if _hasFields(cls):
            dataclasses.dataclass(eq=False)(cls)

    def __post_init__(self) -> None:
        """
        Keep the fields' values in C{args}, as C{Exception} would keep its arguments: for
        pickling, and for code that reads C{args}.
        """
        self.args = tuple(getattr(self, name) for name in _fieldNames(type(self)))

    def __str__(self) -> str:
        if self.template is None:
            return super().__str__()
        return self.template.format_map(_Attributes(self))


class ValidationError(TxdaneError):
    """
    Base class of the validation layer's errors.
    """


class LookupFailedError(ValidationError):
    """
    A lookup could not complete, so its data is neither proven nor disproven.

    @ivar name: the name looked up.
    @ivar rdtype: the type looked up.
    @ivar reason: one human-readable line saying why.
    @ivar ede: the RFC 8914 extended error code that describes the failure, if any.
    @ivar cause: the underlying exception (a L{txdane.transport.DNSError} for transport
        failures), or C{None}.
    """

    name: dns.name.Name
    rdtype: dns.rdatatype.RdataType
    reason: str
    ede: int | None = None
    cause: BaseException | None = None

    def __str__(self) -> str:
        ede = f" (EDE {self.ede})" if self.ede is not None else ""
        return (
            f"{self.name} {dns.rdatatype.to_text(self.rdtype)}: lookup failed{ede}: {self.reason}"
        )


class WorkLimitExceededError(LookupFailedError):
    """
    A lookup used up a budget that bounds the work one lookup may cause (queries, total time).
    """


class TrustAnchorError(ValidationError):
    """
    A trust anchor file or text could not be used.

    @ivar source: where the anchors came from (a path or C{"<text>"}).
    @ivar reason: why they could not be used.
    """

    source: str
    reason: str
    template = "trust anchors from {source}: {reason}"


class TrustAnchorStateError(TrustAnchorError):
    """
    An RFC 5011 trust anchor state file could not be read, parsed or written.

    @ivar source: the path of the state file.
    @ivar reason: what went wrong, naming the line at fault where there is one.
    """

    template = "trust anchor state file {source}: {reason}"


class InsecureAnswerError(ValidationError):
    """
    Raised by L{Answer.require<txdane.validation.answer.Answer.require>} when the caller
    needs more than the answer's status gives.

    @ivar answer: the answer.
    """

    answer: object
    template = "{answer}"


class BudgetExceededError(TxdaneError):
    """
    A computation needed more of a bounded kind of work (NSEC3 hashes in a lookup, signature
    checks in a DANE-TA chain search) than its budget allows. Raised and caught inside
    txdane: the layer that set the budget reports the failure in its own terms (a lookup
    with L{WorkLimitExceededError}).

    @ivar message: what ran out, one line.
    """

    message: str
    template = "{message}"


class TLSAFormatError(TxdaneError, ValueError):
    """
    A TLSA record, its text form, its owner name or a certificate/key file could not be
    understood.

    @ivar message: what could not be understood, one line.
    """

    message: str
    template = "{message}"


class HandshakeTimeoutError(TxdaneError, TimeoutError):
    """
    A server accepted the connection but did not complete the TLS handshake in time (it
    stayed silent, or answered too slowly); the connection was aborted before any
    application data.

    @ivar host: the host connected to.
    @ivar port: the port connected to.
    @ivar timeout: the deadline in seconds, counted from the start of the handshake.
    """

    host: str
    port: int
    timeout: float
    template = "{host}:{port}: no TLS handshake within {timeout:g} s"

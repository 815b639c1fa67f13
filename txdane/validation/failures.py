"""
How a query that failed becomes the reason and the EDE code of a
L{LookupFailedError<txdane.errors.LookupFailedError>}, the same way for every resolver.
"""

from __future__ import annotations

import dns.message


def queryFailure(what: str, error: Exception) -> str:
    """
    The reason of a lookup that failed because the query for C{what} (C{"name type"}) did:
    the transport's message, which names the question itself when it is that one.
    """
    detail = str(error)
    return detail if detail.startswith(what) else f"query {what}: {detail}"


def edeOf(error: Exception) -> int | None:
    """
    The EDE code an error of the transport carries: the first EDE option of the response
    that caused it (a L{DNSServerError<txdane.transport.DNSServerError>}), or its C{ede}
    attribute; L{None} when it has neither.
    """
    for option in getattr(error, "extendedErrors", ()):
        return int(option.code)
    ede = getattr(error, "ede", None)
    if isinstance(ede, int):
        return ede
    code = getattr(ede, "code", None)
    return code if isinstance(code, int) else None


def edeFromMessage(message: dns.message.Message) -> int | None:
    """
    The code of the first EDE option of a response, or L{None}.
    """
    errors = message.extended_errors()
    return int(errors[0].code) if errors else None

"""
The errors of TLS reporting: a TLSRPT record, a stored session result or a report that
cannot be used (L{TLSRPTError}), and a lookup of a TLSRPT record that failed
(L{TLSRPTLookupError}).

Tests: C{tests/tlsrpt/test_record.py}, C{tests/tlsrpt/test_store.py}.
"""

from __future__ import annotations

from txdane.errors import TxdaneError


class TLSRPTError(TxdaneError):
    """
    A TLSRPT record, a stored session result or a report could not be used: a record that is
    malformed or not alone (RFC 8460 section 3: the domain then does not take reports), or a
    file of a L{ReportStore} that is not a session result.

    @ivar message: what is wrong, one line.
    """

    message: str
    template = "{message}"


class TLSRPTLookupError(TLSRPTError):
    """
    The lookup of a domain's TLSRPT record failed, or its answer was bogus or indeterminate:
    where to send the domain's reports is unknown for now, try again later.
    """

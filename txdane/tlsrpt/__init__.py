"""
SMTP TLS Reporting (RFC 8460): what a sending mail server tells a recipient domain, once a
day, about the TLS sessions it attempted with the domain's MX hosts.

Four steps, each usable alone:

  - L{SessionResult}: one session, successful or failed with a L{ResultType}, as delivery
    records it;
  - L{ReportStore}: keeps the results on disk, one file per session, safe with several
    processes recording at once;
  - L{aggregate}: the reports, one per recipient domain and UTC day, as RFC 8460 section 4
    defines them (JSON objects, ready for C{json.dumps});
  - L{lookupReportAddresses}, L{reportMessage} and L{sendReports}: where a domain wants its
    reports (the C{rua} of its C{_smtp._tls} TXT record, L{parseTLSRPTRecord}), and their
    delivery by mail (L{txdane.mail.sendMail}, with DANE) or by HTTPS POST (through
    L{daneAgent<txdane.endpoints.web.daneAgent>}, with DANE).

The C{txdane tlsrpt} command (L{txdane.cli.tlsrpt}) runs the last three over a store.

The modules, by concept, private to the package (import the names from here):
L{_results<txdane.tlsrpt._results>} (a session's result and its JSON),
L{_store<txdane.tlsrpt._store>} (the results on disk),
L{_aggregate<txdane.tlsrpt._aggregate>} (the reports),
L{_record<txdane.tlsrpt._record>} (the TLSRPT record and its lookup),
L{_message<txdane.tlsrpt._message>} (a report as it is sent),
L{_send<txdane.tlsrpt._send>} (the delivery of reports) and
L{_errors<txdane.tlsrpt._errors>}.

Tests: C{tests/tlsrpt/test_results.py}, C{tests/tlsrpt/test_store.py},
C{tests/tlsrpt/test_aggregate.py}, C{tests/tlsrpt/test_record.py},
C{tests/tlsrpt/test_message.py}, C{tests/tlsrpt/test_send.py}, C{tests/tlsrpt/test_cli.py}.
"""

from __future__ import annotations

from txdane.tlsrpt._aggregate import aggregate
from txdane.tlsrpt._errors import TLSRPTError, TLSRPTLookupError
from txdane.tlsrpt._message import compressReport, reportFileName, reportMessage
from txdane.tlsrpt._record import lookupReportAddresses, parseTLSRPTRecord
from txdane.tlsrpt._results import POLICY_TYPES, ResultType, SessionResult, sessionResult
from txdane.tlsrpt._send import MAX_RESPONSE, POST_TIMEOUT, SendOutcome, sendReports

# Private, but importable from here as from the module this package was: the tests use it.
from txdane.tlsrpt._send import _Drain as _Drain
from txdane.tlsrpt._store import ReportStore

__all__ = [
    "MAX_RESPONSE",
    "POLICY_TYPES",
    "POST_TIMEOUT",
    "ReportStore",
    "ResultType",
    "SendOutcome",
    "SessionResult",
    "TLSRPTError",
    "TLSRPTLookupError",
    "aggregate",
    "compressReport",
    "lookupReportAddresses",
    "parseTLSRPTRecord",
    "reportFileName",
    "reportMessage",
    "sendReports",
    "sessionResult",
]

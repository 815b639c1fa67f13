"""
The errors of MTA-STS, and the RFC 8460 result types of a policy that could not be had.

Tests: C{tests/mtasts/test_policy.py}, C{tests/mtasts/test_fetch.py}.
"""

from __future__ import annotations

import enum

from txdane.errors import TxdaneError

__all__ = ["MTASTSError", "PolicyFailure", "PolicySyntaxError"]


class PolicyFailure(enum.Enum):
    """
    Why no fresh policy could be had, as the result types of RFC 8460 section 4.3.2 name it.

    @cvar FETCH_ERROR: the policy host could not be reached, or answered other than 200,
        with another media type than C{text/plain}, with a redirect, too slowly or with too
        much.
    @cvar INVALID: the policy file does not follow RFC 8461 section 3.2.
    @cvar WEBPKI_INVALID: the policy host's certificate is not valid for C{mta-sts.DOMAIN}
        under the trusted roots.
    """

    FETCH_ERROR = "sts-policy-fetch-error"
    INVALID = "sts-policy-invalid"
    WEBPKI_INVALID = "sts-webpki-invalid"


class MTASTSError(TxdaneError):
    """
    A domain's MTA-STS policy could not be fetched or used.

    @ivar domain: the mail domain.
    @ivar reason: why, one line.
    @ivar failure: the RFC 8460 result type of the failure.
    """

    domain: str
    reason: str
    failure: PolicyFailure = PolicyFailure.FETCH_ERROR
    template = "{domain}: MTA-STS policy: {reason}"


class PolicySyntaxError(TxdaneError, ValueError):
    """
    A policy file or an C{_mta-sts} TXT record does not follow the syntax of RFC 8461.

    @ivar message: what is wrong, one line.
    """

    message: str
    template = "{message}"

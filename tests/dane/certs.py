"""
Certificates for the DANE tests: L{txdane.testing.issue} makes them; here, a root,
intermediate and leaf hierarchy and the reference times.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509

from txdane.testing import Issued, issue

__all__ = ["DAY", "NOW", "Hierarchy", "Issued", "hierarchy", "issue"]

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Hierarchy:
    """
    A root, an intermediate and a leaf for C{example.com}.
    """

    root: Issued
    intermediate: Issued
    leaf: Issued

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self.leaf.cert, self.intermediate.cert]


def hierarchy(name: str = "example.com", **leafOptions: object) -> Hierarchy:
    root = issue("Test Root CA", ca=True)
    intermediate = issue("Test Issuer CA", root, ca=True)
    leaf = issue(name, intermediate, **leafOptions)  # type: ignore[arg-type]
    return Hierarchy(root, intermediate, leaf)

"""
Shared pytest configuration.
"""

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _noRealRootServers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """
    Tests never reach the real DNS: where a resolver would resolve from the built-in IANA root
    servers (asked, or as the fallback past DNSSEC roadblocks), it asks a closed loopback port
    instead, which fails at once. Tests that resolve from the root give root hints of a private
    hierarchy.
    """
    from txdane.resolvconf import NameServer
    from txdane.validation import iterative

    monkeypatch.setattr(iterative, "IANA_ROOT_HINTS", (NameServer("127.0.0.1", 9),))
    yield

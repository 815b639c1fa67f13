"""
The endpoint strings' C{resolver=iterative} and C{rootHints=} options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from twisted.internet.endpoints import clientFromString
from twisted.internet.testing import MemoryReactorClock

from txdane.endpoints import EndpointStringError
from txdane.resolvconf import NameServer
from txdane.testing import buildHierarchy
from txdane.validation import IterativeQuerier, RoadblockAvoidingClient

HINTS = ". 3600000 NS a.root-servers.test.\na.root-servers.test. 3600000 A 127.53.1.1\n"


def parse(text: str) -> Any:
    return clientFromString(MemoryReactorClock(), text)


@pytest.fixture(scope="module")
def anchor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("anchor") / "anchor.txt"
    path.write_text(buildHierarchy().trustAnchorText())
    return path


def test_iterative(anchor: Path, tmp_path: Path) -> None:
    """
    C{resolver=iterative} resolves from the root hints (C{rootHints=} when given), asking
    no recursive resolver.
    """
    hints = tmp_path / "named.root"
    hints.write_text(
        ". 3600000 NS a.root-servers.test.\na.root-servers.test. 3600000 A 127.53.1.1\n"
    )
    endpoint = parse(
        f"dane:host=www.example.test:port=443:resolver=iterative:trustAnchor={anchor}"
        f":rootHints={hints}"
    )
    querier = endpoint.resolver.querier
    assert isinstance(querier, IterativeQuerier)
    assert querier.rootHints == (NameServer("127.53.1.1"),)
    endpoint = parse(
        f"dnssec:host=git.example.test:port=22:resolver=iterative:trustAnchor={anchor}"
    )
    # The built-in hints (under the tests, a closed loopback port stands in for the IANA root
    # servers: see tests/conftest.py).
    assert endpoint.resolver.querier.rootHints == (NameServer("127.0.0.1", 9),)


def test_rootHintsForTheFallback(anchor: Path, tmp_path: Path) -> None:
    """
    Without C{resolver=iterative}, C{rootHints=} is where the fallback past roadblocks
    starts.
    """
    hints = tmp_path / "named.root"
    hints.write_text(
        ". 3600000 NS a.root-servers.test.\na.root-servers.test. 3600000 A 127.53.1.1\n"
    )
    endpoint = parse(
        f"dane:host=www.example.test:port=443:resolver=127.0.0.1#5353:trustAnchor={anchor}"
        f":rootHints={hints}"
    )
    querier = endpoint.resolver.querier
    assert isinstance(querier, RoadblockAvoidingClient)
    assert isinstance(querier.iterative, IterativeQuerier)
    assert querier.iterative.rootHints == (NameServer("127.53.1.1"),)
    # Private anchors and no root hints: no fallback.
    endpoint = parse(f"dane:host=h:port=443:resolver=127.0.0.1#5353:trustAnchor={anchor}")
    assert endpoint.resolver.querier.iterative is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("dane:host=h:port=443:rootHints=/nonexistent/named.root", "rootHints: root hints from"),
        (
            "dane:host=h:port=443:resolver=iterative:trustAD=yes",
            "trustAD and resolver=iterative exclude each other",
        ),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(EndpointStringError, match=message):
        parse(text)

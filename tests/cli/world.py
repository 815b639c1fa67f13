"""
A loopback world for the command-line tests: the signed hierarchy (with extra records) served
by txdane's DNS server, a validating resolver that asks it, TLS servers, and a way to run a
subcommand's C{execute} in-process and get its exit status and output.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from twisted.trial.unittest import TestCase

from txdane.testing import Hierarchy, buildHierarchy
from txdane.transport import DNSClient
from txdane.validation import TrustAnchors, ValidatingResolver

from ..dane.certs import Issued, issue
from ..endpoints.world import TLSServer, reactor, startTLSServer

__all__ = ["CLIWorld", "Issued", "TLSServer", "issue", "makeCLIWorld", "parse", "startServer"]


def parse(command: str, *argv: str) -> argparse.Namespace:
    """
    The options of C{txdane COMMAND ARGV...}, parsed by the subcommand's own parser.
    """
    module = importlib.import_module(f"txdane.cli.{command}")
    parser = argparse.ArgumentParser()
    module.addArguments(parser)
    return parser.parse_args(list(argv))


@dataclass
class CLIWorld:
    hierarchy: Hierarchy
    dnsServer: Any
    resolver: ValidatingResolver

    async def run(self, command: str, *argv: str) -> tuple[int, str]:
        """
        Run C{txdane COMMAND ARGV...} against this world; return the status and the output.
        """
        module = importlib.import_module(f"txdane.cli.{command}")
        out = io.StringIO()
        status = await module.execute(reactor, self.resolver, parse(command, *argv), out)
        return status, out.getvalue()

    async def json(self, command: str, *argv: str) -> tuple[int, dict[str, Any]]:
        status, output = await self.run(command, *argv, "--json")
        return status, json.loads(output)


async def makeCLIWorld(
    testCase: TestCase,
    extraRecords: dict[str, list[str]],
    querier: Callable[[DNSClient], Any] | None = None,
    **kw: Any,
) -> CLIWorld:
    """
    Build and serve the hierarchy with C{extraRecords} (C{kw} goes to L{buildHierarchy}) for
    C{testCase}; C{querier} wraps the DNS client (to make some queries fail).
    """
    hierarchy = buildHierarchy(extraRecords=extraRecords, **kw)
    server = await hierarchy.serve(reactor)
    testCase.addCleanup(server.stop)
    client = DNSClient(reactor, [f"127.0.0.1#{server.port}"], timeout=2, attempts=1)
    resolver = ValidatingResolver(
        querier(client) if querier else client,
        trustAnchors=TrustAnchors.fromRRsets([hierarchy.trustAnchor]),
        clock=reactor,
    )
    return CLIWorld(hierarchy, server, resolver)


def startServer(testCase: TestCase, leaf: Issued, *chain: Issued) -> TLSServer:
    """
    A TLS server presenting C{leaf} (and C{chain}), stopped after C{testCase}.
    """
    server = startTLSServer(leaf, *chain)
    for port in server.ports:
        testCase.addCleanup(port.stopListening)
    return server

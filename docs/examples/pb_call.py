"""
Call a method of a Perspective Broker server over TLS, the server authenticated by DANE.

    python pb_call.py pb.example.com 8789 add 2 3 [--resolver ADDR#PORT] [--trust-anchor FILE]

Each argument is a Python literal (2, 'text', [1, 2]); the result is printed.
"""

import argparse
import ast
import sys

from twisted.internet import defer, task
from twisted.internet.endpoints import clientFromString
from twisted.spread import pb

from txdane.errors import TxdaneError


async def call(endpoint, method, arguments):
    factory = pb.PBClientFactory()
    try:
        # connect() fires only once the server has been verified. Wait for it before
        # getRootObject(): an endpoint does not tell the factory of a failed connection.
        await endpoint.connect(factory)
    except TxdaneError as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    try:
        root = await factory.getRootObject()
        return await root.callRemote(method, *arguments)
    finally:
        factory.disconnect()


async def main(reactor, options):
    description = f"dane:host={options.host}:port={options.port}"
    for resolver in options.resolver:
        description += ":resolver=" + resolver.replace(":", "\\:")
    if options.trust_anchor:
        description += f":trustAnchor={options.trust_anchor}"
    endpoint = clientFromString(reactor, description)
    arguments = [ast.literal_eval(a) for a in options.arguments]
    print(await call(endpoint, options.method, arguments))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("method")
    parser.add_argument("arguments", nargs="*")
    parser.add_argument("--resolver", action="append", default=[])
    parser.add_argument("--trust-anchor")
    options = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, options)))

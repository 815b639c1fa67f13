"""
Fetch a page with treq over HTTPS, the server authenticated by DANE.

    python treq_get.py https://www.example.com/ [--resolver ADDR#PORT] [--trust-anchor FILE]
"""

import argparse
import sys

from treq.client import HTTPClient
from twisted.internet import defer, task

from txdane import ResolverSettings, TxdaneError, daneAgent


async def main(reactor, options):
    settings = ResolverSettings.fromStrings(options.resolver or None, options.trust_anchor)
    client = HTTPClient(daneAgent(reactor, settings.build(reactor)))
    try:
        response = await client.get(options.url)
        body = await response.text()
    except TxdaneError as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    print(response.code, body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--resolver", action="append", default=[])
    parser.add_argument("--trust-anchor")
    options = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, options)))

"""
Fetch a page over HTTPS, the server authenticated by DANE.

    python https_get.py https://www.example.com/ [--resolver ADDR#PORT] [--trust-anchor FILE]
"""

import argparse
import sys

from twisted.internet import defer, task
from twisted.web.client import HTTPConnectionPool, readBody

from txdane import ResolverSettings, TxdaneError, daneAgent


async def main(reactor, options):
    settings = ResolverSettings.fromStrings(options.resolver or None, options.trust_anchor)
    resolver = settings.build(reactor)
    pool = HTTPConnectionPool(reactor)
    agent = daneAgent(reactor, resolver, pool=pool)
    try:
        response = await agent.request(b"GET", options.url.encode())
        body = await readBody(response)
    except TxdaneError as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        await pool.closeCachedConnections()
    print(response.code, body.decode())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--resolver", action="append", default=[])
    parser.add_argument("--trust-anchor")
    options = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, options)))

"""
Call an XML-RPC method over HTTPS, the server authenticated by DANE.

    python xmlrpc_call.py https://rpc.example.com/RPC2 add 2 3 [--resolver ADDR#PORT]
        [--trust-anchor FILE]

Each argument is a Python literal (2, 'text', [1, 2]); the result is printed.
"""

import argparse
import ast
import sys
from xmlrpc.client import Fault

from twisted.internet import defer, task

from txdane import ResolverSettings, TxdaneError
from txdane.xmlrpc import daneXMLRPCProxy


async def main(reactor, options):
    settings = ResolverSettings.fromStrings(options.resolver or None, options.trust_anchor)
    proxy = daneXMLRPCProxy(reactor, settings.build(reactor), options.url)
    arguments = [ast.literal_eval(a) for a in options.arguments]
    try:
        # Each call connects anew; nothing is sent before the server has been verified.
        result = await proxy.callRemote(options.method, *arguments)
    except TxdaneError as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    except Fault as e:
        print(f"fault {e.faultCode}: {e.faultString}", file=sys.stderr)
        raise SystemExit(2) from None
    print(result)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("method")
    parser.add_argument("arguments", nargs="*")
    parser.add_argument("--resolver", action="append", default=[])
    parser.add_argument("--trust-anchor")
    options = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, options)))

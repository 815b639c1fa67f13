"""
Serve the signed test hierarchy on loopback, ask it for a signed TLSA record and print the
answer and the private root's trust anchor.

    python docs/examples/hierarchy.py
"""

import dns.message
import dns.query
from twisted.internet import defer, task, threads

from txdane.testing import buildHierarchy


async def main(reactor):
    hierarchy = buildHierarchy(
        extraRecords={"example.test.": ["_25._tcp.mx 300 IN TLSA 3 1 1 " + "ab" * 32]}
    )
    server = await hierarchy.serve(reactor)
    try:
        query = dns.message.make_query("_25._tcp.mx.example.test.", "TLSA", want_dnssec=True)
        response = await threads.deferToThread(
            dns.query.udp, query, server.host, port=server.port, timeout=5
        )
        for rrset in response.answer:
            print(rrset)
        print(hierarchy.trustAnchorText(), end="")
    finally:
        await server.stop()


if __name__ == "__main__":
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor)))

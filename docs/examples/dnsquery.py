"""
Ask one DNS server for one record type, with DNSSEC records, and print the answer.

    python dnsquery.py 127.0.0.1#5353 _443._tcp.www.example.test TLSA
"""

import sys

from twisted.internet import defer, task

from txdane.transport import DNSClient, DNSError


async def main(reactor, server, name, rdtype):
    client = DNSClient(reactor, [server], timeout=2, attempts=2)
    try:
        response = await client.query(name, rdtype, dnssecOK=True, checkingDisabled=True)
    except DNSError as e:
        print(e, file=sys.stderr)
        raise SystemExit(1) from None
    for rrset in response.answer:
        print(rrset)


if __name__ == "__main__":
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, *sys.argv[1:4])))

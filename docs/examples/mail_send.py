"""
Deliver one message with DANE through the recipients' MX hosts, with txdane.mail.

    python mail_send.py alice@example.org bob@example.com [--port 25]
        [--resolver ADDR#PORT] [--trust-anchor FILE] < message.eml
"""

import argparse
import sys

from twisted.internet import defer, task

from txdane import ResolverSettings
from txdane.mail import DeliveryError, sendMail


async def main(reactor, options):
    settings = ResolverSettings.fromStrings(options.resolver or None, options.trust_anchor)
    resolver = settings.build(reactor)
    message = sys.stdin.buffer.read()
    try:
        result = await sendMail(
            reactor, resolver, options.sender, [options.recipient], message, port=options.port
        )
    except DeliveryError as e:
        # e.permanent: bounce; otherwise try again later. e.tries: each host and why.
        print(e, file=sys.stderr)
        raise SystemExit(3 if e.permanent else 4) from None
    print(f"{result.mx} [{result.address}] {result.protection}: {result.reply}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("sender")
    parser.add_argument("recipient")
    parser.add_argument("--port", type=int, default=25)
    parser.add_argument("--resolver", action="append", default=[])
    parser.add_argument("--trust-anchor")
    options = parser.parse_args()
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, options)))

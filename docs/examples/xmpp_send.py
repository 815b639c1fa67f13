"""
Log in to an XMPP server found by its SRV records, authenticated by DANE, and send a message.

    python xmpp_send.py juliet@example.com romeo@example.net "Hello" [--password-file FILE]
        [--resolver ADDR#PORT] [--trust-anchor FILE]

The password is read from the file, or from the XMPP_PASSWORD environment variable.
"""

import argparse
import os
import sys
from pathlib import Path

from twisted.internet import defer, task
from twisted.internet.endpoints import clientFromString
from twisted.words.protocols.jabber import xmlstream
from twisted.words.protocols.jabber.jid import JID
from twisted.words.xish import domish

from txdane.errors import TxdaneError
from txdane.xmpp import xmppClientFactory


async def main(reactor, options, password):
    jid = JID(options.jid)
    description = f"dane:srv=xmpp-client:domain={jid.host}"
    for resolver in options.resolver:
        description += ":resolver=" + resolver.replace(":", "\\:")
    if options.trust_anchor:
        description += f":trustAnchor={options.trust_anchor}"
    endpoint = clientFromString(reactor, description)

    factory = xmppClientFactory(jid, password)
    authenticated = defer.Deferred()
    factory.addBootstrap(xmlstream.STREAM_AUTHD_EVENT, authenticated.callback)
    factory.addBootstrap(xmlstream.INIT_FAILED_EVENT, authenticated.errback)
    try:
        # connect() fires once a server of the domain has been verified by DANE (or by
        # PKIX for the domain where DANE does not apply).
        await endpoint.connect(factory)
    except TxdaneError as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(1) from None
    xs = await authenticated

    message = domish.Element((None, "message"))
    message["to"] = options.to
    message["type"] = "chat"
    message.addElement("body", content=options.message)
    xs.send(message)
    # A ping answered means the server has the message; then close the stream.
    ping = xmlstream.IQ(xs, "get")
    ping.addElement(("urn:xmpp:ping", "ping"))
    await ping.send(jid.host)
    factory.stopTrying()  # the factory would reconnect, to the next target, once closed
    xs.sendFooter()
    print(f"sent to {options.to} as {xs.authenticator.jid.full()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("jid")
    parser.add_argument("to")
    parser.add_argument("message")
    parser.add_argument("--password-file")
    parser.add_argument("--resolver", action="append", default=[])
    parser.add_argument("--trust-anchor")
    options = parser.parse_args()
    if options.password_file:
        password = Path(options.password_file).read_text().strip()
    else:
        password = os.environ["XMPP_PASSWORD"]
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, options, password)))

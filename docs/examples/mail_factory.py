"""
twisted.mail's own ESMTPSenderFactory, given a dane:mx= endpoint instead of a tcp: one.

    python mail_factory.py "dane:mx=example.com" alice@example.org bob@example.com < message.eml
"""

import io
import sys

from twisted.internet import defer, task
from twisted.internet.endpoints import clientFromString
from twisted.mail.smtp import ESMTPSenderFactory

from txdane.endpoints.connection import IDANEConnection


class SenderFactory(ESMTPSenderFactory):
    """
    twisted.mail's factory, keeping its last protocol to ask where the message went.
    """

    def buildProtocol(self, addr):
        self.lastProtocol = super().buildProtocol(addr)
        return self.lastProtocol


async def main(reactor, description, sender, recipient):
    done = defer.Deferred()
    factory = SenderFactory(
        None,  # no SMTP AUTH between mail servers
        None,
        sender,
        [recipient],
        io.BytesIO(sys.stdin.buffer.read()),
        done,
        contextFactory=None,  # the endpoint does STARTTLS, checked by DANE
        requireAuthentication=False,
        requireTransportSecurity=False,  # the endpoint requires TLS where DANE says so
    )
    try:
        await clientFromString(reactor, description).connect(factory)
    except Exception as e:  # every MX host was refused before the client said a word
        print(f"not delivered: {e}", file=sys.stderr)
        raise SystemExit(4) from None
    try:
        await done  # a 4xx reply makes the factory retry on the next MX host
    except Exception as e:
        print(f"not delivered: {e}", file=sys.stderr)
        raise SystemExit(4) from None
    info = IDANEConnection(factory.lastProtocol.transport).connectionInfo
    print(f"{info.host} [{info.address.host}] {info.protection}")


if __name__ == "__main__":
    task.react(lambda reactor: defer.Deferred.fromCoroutine(main(reactor, *sys.argv[1:4])))

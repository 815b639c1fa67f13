"""
Starting the lab: its certificates, its servers and the records that name them, added to
the hierarchy it serves.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from txdane.testing._build import _resign, buildHierarchy
from txdane.testing._certificates import Issued, issue
from txdane.testing._lab import REFUSED, VERIFIED, Lab, LabService
from txdane.testing._zones import _DAY

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred


def _escape(value: str) -> str:
    """
    C{value} as an endpoint string's value: backslashes and colons escaped.
    """
    return value.replace("\\", "\\\\").replace(":", "\\:")


def startLab(
    reactor: object,
    *,
    dnsPort: int = 0,
    directory: str | None = None,
    servicePort: int = 0,
) -> Deferred[Lab]:
    """
    Start the lab on 127.0.0.1: the signed hierarchy (L{buildHierarchy}) served by txdane's
    DNS server, and one server per case, each under a name whose records show it:

      - C{dane-ee}: a DANE-EE (3 1 1) record matches the server's key: verified;
      - C{dane-ta}: a DANE-TA (2 0 1) record names the lab CA that issued the server's
        certificate (sent in the chain): verified;
      - C{mismatch}: the TLSA record names another key: refused;
      - C{expired-cert}: the certificate expired a month ago, and DANE-EE ignores validity
        dates (RFC 7671 section 5.1): verified;
      - C{pkix}: no TLSA record, so PKIX applies, and the certificate is issued by the lab
        CA, which no client trusts by default: refused;
      - C{pkix-trusted}: the same server, with the lab CA given as C{trustRoots}: verified;
      - C{unsigned}: a name in the unsigned zone C{unsigned.test.}, whose (wrong) TLSA
        record is therefore not used: PKIX with the lab CA as C{trustRoots}: verified;
      - C{bogus}: a name in C{badds.test.}, whose DS matches no key: refused;
      - C{expiring}: the C{dane-ee} server under C{expiring.example.test}, whose A and TLSA
        records are signed for only three more days: verified, and C{txdane check} warns
        (C{signature-expires-soon});
      - C{mx}: the MX host of C{mail.example.test}, an SMTP server (twisted.mail's ESMTP)
        with STARTTLS, matched by DANE-EE: verified;
      - C{mx-fallback}: the mail domain C{fallback.example.test}, whose first MX host
        (C{mxbad.example.test}, the same server) fails DANE (its TLSA record names another
        key) and whose second (C{smtp.example.test}) is verified: verified, by the second;
      - C{srv}: the C{xmpp-client} service of C{chat.example.test}, found by SRV records: an
        XMPP-style server that offers STARTTLS (RFC 6120 section 5.4), matched by DANE-EE:
        verified;
      - C{https}: a twisted.web server, C{web.example.test}, matched by DANE-EE, which answers
        C{GET /} with a line of text and XML-RPC calls of C{add} at C{/RPC2}: verified;
      - C{no-starttls}: an SMTP server, C{mxplain.example.test}, that does not offer
        STARTTLS, though a secure TLSA record requires TLS: refused.

    The trust anchor and the lab CA are written to files in a new temporary directory, which
    L{Lab.stop} removes, or in C{directory}, from which it removes only those files.

    @param reactor: a reactor providing TCP, UDP and time.
    @param dnsPort: the DNS server's port (0: any free one).
    @param directory: where to write the files (default: a new temporary directory).
    @param servicePort: the first of the servers' ports, which then use the L{LAB_SERVERS}
        ports from it on, in that order (C{dane-ee} on C{servicePort}, C{dane-ta} on the next
        ...); 0: any free ones.
    """
    from twisted.internet.defer import Deferred as _Deferred

    return _Deferred.fromCoroutine(_startLab(reactor, dnsPort, directory, servicePort))


_XMPP_STREAM = (
    b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    b"xmlns:stream='http://etherx.jabber.org/streams' id='lab' from='chat.example.test' "
    b"version='1.0'>"
)
_XMPP_STARTTLS_FEATURE = b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"

#: How long the signatures of the C{expiring} case have left when the lab starts.
_EXPIRING = 3 * _DAY + 3600


async def _startLab(reactor: Any, dnsPort: int, directory: str | None, servicePort: int) -> Lab:
    from twisted.internet.interfaces import IHandshakeListener
    from twisted.internet.protocol import Factory, Protocol
    from twisted.internet.ssl import CertificateOptions
    from twisted.mail import smtp
    from twisted.protocols.tls import TLSMemoryBIOFactory
    from zope.interface import implementer

    from txdane.dane.tlsa import recordForCertificate

    @implementer(IHandshakeListener)
    class Greeter(Protocol):
        def handshakeCompleted(self) -> None:
            assert self.transport is not None
            self.transport.write(b"hello from the txdane lab\r\n")
            self.transport.loseConnection()

    @implementer(smtp.IMessage)
    class Discarded:
        def lineReceived(self, line: bytes) -> None:
            pass

        def eomReceived(self) -> Any:
            from twisted.internet.defer import succeed

            return succeed(b"accepted and discarded")

        def connectionLost(self) -> None:
            pass

    @implementer(smtp.IMessageDelivery)
    class Delivery:
        def receivedHeader(self, helo: Any, origin: Any, recipients: Any) -> bytes:
            return b"Received: by the txdane lab"

        def validateFrom(self, helo: Any, origin: Any) -> Any:
            return origin

        def validateTo(self, user: Any) -> Any:
            return Discarded

    def serverOptions(leaf: Issued, *chain: Issued) -> CertificateOptions:
        return CertificateOptions(
            privateKey=leaf.key,  # type: ignore[arg-type]
            certificate=leaf.cert,  # type: ignore[arg-type]
            extraCertChain=[c.cert for c in chain],  # type: ignore[misc]
        )

    class XMPPServer(Protocol):
        """
        Enough of an XMPP server (RFC 6120) for STARTTLS: it answers each stream opening with
        its own and its features (STARTTLS, required, before TLS; none after), and
        C{<starttls/>} with C{<proceed/>} and the TLS handshake.
        """

        context: CertificateOptions
        secure = False

        def dataReceived(self, data: bytes) -> None:
            assert self.transport is not None
            if b"<stream:stream" in data:
                features = b"" if self.secure else _XMPP_STARTTLS_FEATURE
                self.transport.write(_XMPP_STREAM + b"<stream:features>" + features)
                self.transport.write(b"</stream:features>")
            elif b"<starttls" in data and not self.secure:
                self.secure = True
                self.transport.write(b"<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
                self.transport.startTLS(self.context)  # type: ignore[attr-defined]

    ports: list[Any] = []

    def listen(factory: Any) -> int:
        number = servicePort + len(ports) if servicePort else 0
        port = reactor.listenTCP(number, factory, interface="127.0.0.1")
        ports.append(port)
        return int(port.getHost().port)

    def listenTLS(leaf: Issued, *chain: Issued) -> int:
        factory = TLSMemoryBIOFactory(
            serverOptions(leaf, *chain), False, Factory.forProtocol(Greeter)
        )
        return listen(factory)

    def listenHTTPS(leaf: Issued) -> int:
        from twisted.web import resource, server, xmlrpc

        class Page(resource.Resource):
            isLeaf = True

            def render_GET(self, request: Any) -> bytes:
                request.setHeader(b"content-type", b"text/plain; charset=utf-8")
                return b"hello from the txdane lab\n"

        class Calculator(xmlrpc.XMLRPC):
            def xmlrpc_add(self, a: Any, b: Any) -> Any:
                return a + b

        root = resource.Resource()
        root.putChild(b"", Page())
        root.putChild(b"RPC2", Calculator())
        site = server.Site(root)
        site.noisy = False
        site.log = lambda request: None  # type: ignore[method-assign]  # no access log
        return listen(TLSMemoryBIOFactory(serverOptions(leaf), False, site))

    def listenXMPP(leaf: Issued) -> int:
        factory = Factory.forProtocol(XMPPServer)
        XMPPServer.context = serverOptions(leaf)
        return listen(factory)

    def listenSMTP(leaf: Issued | None, domain: bytes) -> int:
        """
        An SMTP server that offers STARTTLS with C{leaf}'s certificate, or none without one.
        """
        context = serverOptions(leaf) if leaf is not None else None

        class SMTPFactory(smtp.SMTPFactory):
            protocol = smtp.ESMTP

            def buildProtocol(self, addr: Any) -> Any:
                protocol = super().buildProtocol(addr)
                protocol.delivery = Delivery()
                protocol.ctx = context
                return protocol

        factory = SMTPFactory()
        factory.domain = domain
        return listen(factory)

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    labCA = issue("txdane lab CA", ca=True)
    eeLeaf = issue("dane-ee.example.test")
    taLeaf = issue("dane-ta.example.test", labCA)
    mismatchLeaf = issue("mismatch.example.test")
    expiredLeaf = issue(
        "expired-cert.example.test",
        notBefore=now - datetime.timedelta(days=60),
        notAfter=now - datetime.timedelta(days=30),
    )
    pkixLeaf = issue("pkix.example.test", labCA)
    unsignedLeaf = issue("lab.unsigned.test", labCA)
    smtpLeaf = issue("smtp.example.test")
    xmppLeaf = issue("xmpp.example.test")
    webLeaf = issue("web.example.test")
    try:
        eePort = listenTLS(eeLeaf)
        taPort = listenTLS(taLeaf, labCA)
        mismatchPort = listenTLS(mismatchLeaf)
        expiredPort = listenTLS(expiredLeaf)
        pkixPort = listenTLS(pkixLeaf)
        unsignedPort = listenTLS(unsignedLeaf)
        smtpPort = listenSMTP(smtpLeaf, b"smtp.example.test")
        xmppPort = listenXMPP(xmppLeaf)
        webPort = listenHTTPS(webLeaf)
        plainPort = listenSMTP(None, b"mxplain.example.test")
    except BaseException:
        for port in ports:
            port.stopListening()
        raise

    other = recordForCertificate(issue("someone-else.example.test").cert, 3, 1, 1)
    hierarchy = buildHierarchy(
        extraRecords={
            "example.test.": [
                "dane-ee 300 IN A 127.0.0.1",
                f"_{eePort}._tcp.dane-ee 300 IN TLSA {recordForCertificate(eeLeaf.cert, 3, 1, 1)}",
                "dane-ta 300 IN A 127.0.0.1",
                f"_{taPort}._tcp.dane-ta 300 IN TLSA {recordForCertificate(labCA.cert, 2, 0, 1)}",
                "mismatch 300 IN A 127.0.0.1",
                f"_{mismatchPort}._tcp.mismatch 300 IN TLSA {other}",
                "expired-cert 300 IN A 127.0.0.1",
                f"_{expiredPort}._tcp.expired-cert 300 IN TLSA "
                f"{recordForCertificate(expiredLeaf.cert, 3, 1, 1)}",
                "pkix 300 IN A 127.0.0.1",
                "mail 300 IN MX 10 smtp.example.test.",
                "smtp 300 IN A 127.0.0.1",
                f"_{smtpPort}._tcp.smtp 300 IN TLSA {recordForCertificate(smtpLeaf.cert, 3, 1, 1)}",
                "expiring 300 IN A 127.0.0.1",
                f"_{eePort}._tcp.expiring 300 IN TLSA {recordForCertificate(eeLeaf.cert, 3, 1, 1)}",
                "fallback 300 IN MX 10 mxbad.example.test.",
                "fallback 300 IN MX 20 smtp.example.test.",
                "mxbad 300 IN A 127.0.0.1",
                f"_{smtpPort}._tcp.mxbad 300 IN TLSA {other}",
                f"_xmpp-client._tcp.chat 300 IN SRV 10 0 {xmppPort} xmpp.example.test.",
                "xmpp 300 IN A 127.0.0.1",
                f"_{xmppPort}._tcp.xmpp 300 IN TLSA {recordForCertificate(xmppLeaf.cert, 3, 1, 1)}",
                "mxplain 300 IN A 127.0.0.1",
                f"_{plainPort}._tcp.mxplain 300 IN TLSA "
                f"{recordForCertificate(smtpLeaf.cert, 3, 1, 1)}",
                "web 300 IN A 127.0.0.1",
                f"_{webPort}._tcp.web 300 IN TLSA {recordForCertificate(webLeaf.cert, 3, 1, 1)}",
            ],
            "unsigned.test.": [
                "lab 300 IN A 127.0.0.1",
                f"_{unsignedPort}._tcp.lab 300 IN TLSA {other}",
            ],
            "badds.test.": [
                "lab 300 IN A 127.0.0.1",
                f"_{eePort}._tcp.lab 300 IN TLSA {recordForCertificate(eeLeaf.cert, 3, 1, 1)}",
            ],
        }
    )
    signedAt = int(time.time())
    _resign(hierarchy, "expiring.example.test.", ["A"], signedAt - 3600, signedAt + _EXPIRING)
    _resign(
        hierarchy,
        f"_{eePort}._tcp.expiring.example.test.",
        ["TLSA"],
        signedAt - 3600,
        signedAt + _EXPIRING,
    )
    try:
        dnsServer = await hierarchy.serve(reactor, "127.0.0.1", dnsPort)
    except BaseException:
        for port in ports:
            port.stopListening()
        raise

    folder = (
        Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="txdane-lab-"))
    )
    anchorFile = folder / "trust-anchor.txt"
    caFile = folder / "lab-ca.pem"

    def removeFiles() -> None:
        if directory is None:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            anchorFile.unlink(missing_ok=True)
            caFile.unlink(missing_ok=True)

    try:
        anchorFile.write_text(hierarchy.trustAnchorText())
        caFile.write_bytes(labCA.certPEM())
    except BaseException:
        removeFiles()
        await dnsServer.stop()
        for port in ports:
            port.stopListening()
        raise
    resolver = f"127.0.0.1#{dnsServer.port}"
    common = f"resolver={_escape(resolver)}:trustAnchor={_escape(str(anchorFile))}"
    trusting = f"{common}:trustRoots={_escape(str(caFile))}"

    def tls(
        name: str, host: str, port: int, expect: str, description: str, extra: str = ""
    ) -> LabService:
        endpoint = f"dane:host={host}:port={port}:{extra or common}"
        return LabService(name, host, port, None, endpoint, expect, description)

    services = (
        tls(
            "dane-ee",
            "dane-ee.example.test",
            eePort,
            VERIFIED,
            "a DANE-EE (3 1 1) record matches the server's key",
        ),
        tls(
            "dane-ta",
            "dane-ta.example.test",
            taPort,
            VERIFIED,
            "a DANE-TA (2 0 1) record names the lab CA, which issued the server's certificate",
        ),
        tls(
            "mismatch",
            "mismatch.example.test",
            mismatchPort,
            REFUSED,
            "the TLSA record names another key",
        ),
        tls(
            "expired-cert",
            "expired-cert.example.test",
            expiredPort,
            VERIFIED,
            "the certificate expired a month ago; DANE-EE ignores validity dates",
        ),
        tls(
            "pkix",
            "pkix.example.test",
            pkixPort,
            REFUSED,
            "no TLSA record: PKIX, and the client does not trust the lab CA",
        ),
        tls(
            "pkix-trusted",
            "pkix.example.test",
            pkixPort,
            VERIFIED,
            "no TLSA record: PKIX, with the lab CA as trustRoots",
            trusting,
        ),
        tls(
            "unsigned",
            "lab.unsigned.test",
            unsignedPort,
            VERIFIED,
            "an unsigned zone: its TLSA record is not used; PKIX with the lab CA as trustRoots",
            trusting,
        ),
        tls(
            "bogus",
            "lab.badds.test",
            eePort,
            REFUSED,
            "a bogus zone (its DS matches no key): nothing from it is used",
        ),
        LabService(
            "mx",
            "mail.example.test",
            smtpPort,
            "smtp",
            f"dane:mx=mail.example.test:port={smtpPort}:{common}",
            VERIFIED,
            "an SMTP server with STARTTLS, the MX host of mail.example.test, matched by DANE-EE",
        ),
        tls(
            "expiring",
            "expiring.example.test",
            eePort,
            VERIFIED,
            "the dane-ee server; its records' signatures expire in 3 days, and txdane check warns",
        ),
        LabService(
            "mx-fallback",
            "fallback.example.test",
            smtpPort,
            "smtp",
            f"dane:mx=fallback.example.test:port={smtpPort}:{common}",
            VERIFIED,
            "the first MX host (mxbad.example.test) fails DANE; the second "
            "(smtp.example.test) takes the connection",
        ),
        LabService(
            "srv",
            "chat.example.test",
            xmppPort,
            "xmpp-client",
            f"dane:srv=xmpp-client:domain=chat.example.test:{common}",
            VERIFIED,
            "the xmpp-client service of chat.example.test (SRV): an XMPP server "
            "with STARTTLS, matched by DANE-EE",
        ),
        tls(
            "https",
            "web.example.test",
            webPort,
            VERIFIED,
            "a web server (twisted.web) matched by DANE-EE: GET / and XML-RPC at /RPC2 (add)",
        ),
        LabService(
            "no-starttls",
            "mxplain.example.test",
            plainPort,
            "smtp",
            f"dane:host=mxplain.example.test:port={plainPort}:starttls=smtp:{common}",
            REFUSED,
            "an SMTP server that does not offer STARTTLS, though its TLSA records require TLS",
        ),
    )
    lab = Lab(hierarchy, resolver, str(anchorFile), str(caFile), str(folder), services)
    lab._stoppers.append(dnsServer.stop)
    lab._stoppers.extend(port.stopListening for port in ports)
    lab._stoppers.append(removeFiles)
    return lab

"""
The mail cases of the end-to-end tests: MX records in the signed test hierarchy, each MX host
on its own loopback address (127.0.0.x) with one SMTP port for all, and the certificates of
their servers.

| domain                      | MX                      | what it exercises                  |
|-----------------------------|-------------------------|------------------------------------|
| verified.example.test       | mxa (DANE-EE matches)   | verified delivery                  |
| mismatch.example.test       | mxbad (DANE-EE differs) | refused, no MAIL FROM              |
| fallback.example.test       | mxbad 10, mxa 20        | the second MX takes it             |
| tata.example.test           | mxta (DANE-TA)          | the next-hop domain as cert name   |
| nostarttls.example.test     | mxplain (TLSA, no TLS)  | nothing sent                       |
| opportunistic.example.test  | mxopen (mxplain's address, no TLSA) | cleartext allowed      |
| nullmx.example.test         | MX 0 .                  | permanent failure                  |
| implicit.example.test       | none (A + TLSA)         | the implicit MX                    |
| insecure.unsigned.test      | mxa.example.test        | trusted, not verified              |
| bogus.expired.test          | mxa.example.test        | temporary failure, nothing dialled |
"""

from __future__ import annotations

from dataclasses import dataclass

from txdane.dane.tlsa import recordForCertificate

from ..dane.certs import Issued, issue

#: The loopback address of each MX host.
ADDRESSES = {
    "mxa": "127.0.0.2",
    "mxbad": "127.0.0.3",
    "mxta": "127.0.0.4",
    "mxplain": "127.0.0.5",
}


@dataclass(frozen=True)
class MailCertificates:
    """
    The server certificates: C{a} for mxa, C{bad} for mxbad (its TLSA record names another
    key), C{taLeaf} issued by C{ca} for the next-hop domain only, C{plain}'s is never used.
    """

    a: Issued
    bad: Issued
    ca: Issued
    taLeaf: Issued
    other: Issued

    @classmethod
    def make(cls) -> MailCertificates:
        ca = issue("Mail Test CA", ca=True)
        return cls(
            a=issue("mxa.example.test"),
            bad=issue("mxbad.example.test"),
            ca=ca,
            taLeaf=issue("tata.example.test", ca),
            other=issue("unrelated.example.test"),
        )


def mailRecords(port: int, certs: MailCertificates) -> dict[str, list[str]]:
    """
    The extra records of the hierarchy for the mail cases, TLSA at C{_PORT._tcp}.
    """

    def tlsa(host: str, certificate: Issued, usage: int = 3) -> str:
        return (
            f"_{port}._tcp.{host} 300 IN TLSA {recordForCertificate(certificate.cert, usage, 1, 1)}"
        )

    return {
        "example.test.": [
            *(f"{host} 300 IN A {address}" for host, address in ADDRESSES.items()),
            tlsa("mxa", certs.a),
            tlsa("mxbad", certs.other),
            tlsa("mxta", certs.ca, usage=2),
            tlsa("mxplain", certs.a),
            "verified 300 IN MX 10 mxa",
            "mismatch 300 IN MX 10 mxbad",
            "fallback 300 IN MX 10 mxbad",
            "fallback 300 IN MX 20 mxa",
            "tata 300 IN MX 10 mxta",
            "nostarttls 300 IN MX 10 mxplain",
            # The same server under a name without TLSA records: opportunistic TLS.
            f"mxopen 300 IN A {ADDRESSES['mxplain']}",
            "opportunistic 300 IN MX 10 mxopen",
            "nullmx 300 IN MX 0 .",
            f"implicit 300 IN A {ADDRESSES['mxa']}",
            tlsa("implicit", certs.a),
        ],
        "unsigned.test.": ["insecure 300 IN MX 10 mxa.example.test."],
        "expired.test.": ["bogus 300 IN MX 10 mxa.example.test."],
    }

"""
TLS for the binary protocols that ask for it first: LDAP's StartTLS extended operation (RFC
4511 section 4.14) and PostgreSQL's SSLRequest. The client speaks first in both, so the
application gets no greeting. A server whose answer is not the protocol's (the greeting of a
server that speaks first, say) speaks another protocol: L{StartTLSWrongProtocolError
<txdane.endpoints.errors.StartTLSWrongProtocolError>}.

Tests: C{tests/endpoints/test_starttls.py}.
"""

from __future__ import annotations

from txdane.endpoints.starttls.negotiator import Negotiator

__all__ = [
    "LDAP_STARTTLS_OID",
    "POSTGRES_SSL_REQUEST",
    "LDAPStartTLS",
    "PostgresStartTLS",
    "startTLSRequest",
]

#: The LDAP StartTLS extended operation (RFC 4511 section 4.14).
LDAP_STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"

#: PostgreSQL's SSLRequest: length 8, code 80877103.
POSTGRES_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


def _berLength(data: bytes, offset: int) -> tuple[int, int] | None:
    """
    The BER definite length at C{offset}: (length, offset of the contents); C{None} if more
    bytes are needed; a length of -1 for one no LDAP response uses.
    """
    if offset >= len(data):
        return None
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > 3:
        return -1, offset
    if offset + 1 + count > len(data):
        return None
    return int.from_bytes(data[offset + 1 : offset + 1 + count], "big"), offset + 1 + count


def startTLSRequest(messageID: int = 1) -> bytes:
    """
    The LDAP StartTLS extended request, as message C{messageID} (1 to 127).
    """
    oid = b"\x80" + bytes([len(LDAP_STARTTLS_OID)]) + LDAP_STARTTLS_OID
    operation = b"\x77" + bytes([len(oid)]) + oid
    body = b"\x02\x01" + bytes([messageID]) + operation
    return b"\x30" + bytes([len(body)]) + body


class LDAPStartTLS(Negotiator):
    """
    StartTLS for LDAP (RFC 4511 section 4.14): the StartTLS extended request as message 1;
    an extended response with C{resultCode} success starts TLS.
    """

    protocolName = "ldap"
    title = "LDAP"
    firstWords = "answer to StartTLS"
    defaultPort = 389

    def begin(self) -> None:
        self._buffer = b""
        self.send(startTLSRequest())

    def received(self, data: bytes) -> None:
        if not self._buffer and data and data[:1] != b"\x30":
            # Every LDAP message is a SEQUENCE.
            self.wrongProtocol(data)
            return
        self._buffer += data
        code = self._resultCode()
        if code is None:
            return
        if code == 0:
            self.upgrade()
        elif code < 0:
            self.refuse("a malformed LDAP response")
        elif code in (2, 52):
            # protocolError (2) or unavailable (52): no StartTLS here.
            self.notOffered(f"the server answered StartTLS with resultCode {code}")
        else:
            self.refuse(f"the server answered StartTLS with resultCode {code}")

    def _resultCode(self) -> int | None:
        """
        The resultCode of the extended response in the buffer; C{None} until it is whole,
        -1 when it is no extended response.
        """
        data = self._buffer
        header = _berLength(data, 1)
        if header is None:
            return None
        length, start = header
        if data[0] != 0x30 or length < 0:
            return -1
        if start + length > len(data):
            return None
        # The message is whole: read nothing beyond it (it may be empty, or end too soon).
        data = data[: start + length]
        messageID = _berLength(data, start + 1)
        if data[start : start + 1] != b"\x02" or messageID is None or messageID[0] < 0:
            return -1
        op = messageID[1] + messageID[0]
        opHeader = _berLength(data, op + 1)
        if data[op : op + 1] != b"\x78" or opHeader is None:
            return -1
        code = opHeader[1]
        if data[code : code + 2] != b"\x0a\x01" or code + 2 >= len(data):
            return -1
        return data[code + 2]

    def where(self) -> str:
        return "before answering StartTLS"


class PostgresStartTLS(Negotiator):
    """
    TLS for PostgreSQL: the SSLRequest packet; C{S} starts TLS, C{N} declines it.
    """

    protocolName = "postgres"
    title = "PostgreSQL"
    firstWords = "answer to SSLRequest"
    defaultPort = 5432

    def begin(self) -> None:
        self.send(POSTGRES_SSL_REQUEST)

    def received(self, data: bytes) -> None:
        answer = data[:1]
        if not answer:
            return
        if answer == b"S":
            self.upgrade()
        elif answer == b"N":
            self.notOffered("the server does not offer SSL (it answered SSLRequest with N)")
        elif answer == b"E":
            # An ErrorResponse: a PostgreSQL server that will not do SSL.
            self.refuse(f"the server answered SSLRequest with {answer!r}")
        else:
            self.wrongProtocol(data)

    def where(self) -> str:
        return "before answering SSLRequest"

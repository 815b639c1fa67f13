"""
Where resolving from the root starts: the IANA root servers built in (L{IANA_ROOT_HINTS}), or
those of a root hints file (L{readRootHints}).
"""

from __future__ import annotations

from txdane.resolvconf import NameServer
from txdane.transport import DNSError

#: The IANA root servers (a to m.root-servers.net), IPv4 then IPv6, as C{named.root}
#: publishes them.
IANA_ROOT_HINTS: tuple[NameServer, ...] = tuple(
    NameServer(address)
    for address in (
        "198.41.0.4",
        "170.247.170.2",
        "192.33.4.12",
        "199.7.91.13",
        "192.203.230.10",
        "192.5.5.241",
        "192.112.36.4",
        "198.97.190.53",
        "192.36.148.17",
        "192.58.128.30",
        "193.0.14.129",
        "199.7.83.42",
        "202.12.27.33",
        "2001:503:ba3e::2:30",
        "2801:1b8:10::b",
        "2001:500:2::c",
        "2001:500:2d::d",
        "2001:500:a8::e",
        "2001:500:2f::f",
        "2001:500:12::d0d",
        "2001:500:1::53",
        "2001:7fe::53",
        "2001:503:c27::2:30",
        "2001:7fd::1",
        "2001:500:9f::42",
        "2001:dc3::35",
    )
)


class RootHintsError(DNSError, ValueError):
    """
    A root hints file could not be used.

    @ivar source: the file.
    @ivar reason: what is wrong with it.
    """

    source: str
    reason: str
    template = "root hints from {source}: {reason}"


def readRootHints(path: str, port: int = 53) -> tuple[NameServer, ...]:
    """
    The root server addresses of a root hints file as IANA publishes it (C{named.root}: the
    root's NS records and the A and AAAA records of their names, in master-file format).

    @param path: the file.
    @param port: the port of every address (the file has none).
    @raise RootHintsError: the file cannot be read, is not in master-file format, or gives
        no address of a root name server.
    """
    import dns.exception
    import dns.zone

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        # The words only ("No such file or directory"): the message names the path already.
        raise RootHintsError(path, e.strerror or str(e)) from None
    except UnicodeDecodeError as e:
        raise RootHintsError(path, f"not UTF-8 text ({e.reason})") from None
    try:
        zone = dns.zone.from_text(
            text, dns.name.root, relativize=False, check_origin=False, allow_include=False
        )
    except (dns.exception.DNSException, ValueError) as e:
        raise RootHintsError(path, f"not a root hints file: {e}") from None
    ns = zone.get_rdataset(dns.name.root, dns.rdatatype.NS)
    if ns is None:
        raise RootHintsError(path, "no NS records for the root (.)")
    servers: list[NameServer] = []
    for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        for rdata in ns:
            addresses = zone.get_rdataset(rdata.target, rdtype)
            for address in addresses or ():
                server = NameServer(address.address, port)
                if server not in servers:
                    servers.append(server)
    if not servers:
        raise RootHintsError(path, "no A or AAAA record for any of the root's name servers")
    return tuple(servers)

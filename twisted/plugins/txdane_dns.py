"""
The C{txdane-dns} C{twistd} plugin: C{twistd -n txdane-dns --help}.
"""

from twisted.application.service import ServiceMaker

txdaneDNS = ServiceMaker(
    "txdane-dns",
    "txdane.server.tap",
    "An authoritative DNSSEC server: serves and signs zones, TLSA included.",
    "txdane-dns",
)

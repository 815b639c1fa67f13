"""
What a certificate may be used for, as the DANE-TA and PKIX checks both need to know.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID


def allowsTLSServer(certificate: x509.Certificate) -> bool:
    """
    Whether C{certificate}'s extended key usage, if it has one, allows a TLS server.
    """
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.SERVER_AUTH in usages or (
        ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages
    )

"""
PKIX checks for the PKIX-TA(0) and PKIX-EE(1) usages: path validation to a trust store (the
system's, or roots the caller gives) with OpenSSL's own verifier, and host-name checks with
C{service_identity}.
"""

from __future__ import annotations

import datetime
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography import x509
from OpenSSL import crypto
from service_identity import CertificateError
from service_identity.hazmat import DNS_ID, DNSPattern

from txdane.dane._strength import keyProblem, signatureProblem
from txdane.dane._usage import allowsTLSServer

_systemStore: crypto.X509Store | None = None

#: OpenSSL's X509_V_ERR_INVALID_PURPOSE.
_X509_V_ERR_INVALID_PURPOSE = 26

#: OpenSSL's X509_V_ERR_EE_KEY_TOO_SMALL, X509_V_ERR_CA_KEY_TOO_SMALL and
#: X509_V_ERR_CA_MD_TOO_WEAK.
_X509_V_ERR_EE_KEY_TOO_SMALL = 66
_X509_V_ERR_CA_KEY_TOO_SMALL = 67
_X509_V_ERR_CA_MD_TOO_WEAK = 68


@dataclass(frozen=True)
class PKIXTrust:
    """
    The roots PKIX paths must end in.

    @ivar roots: trusted root certificates; C{None} means the system's trust store.
    """

    roots: tuple[x509.Certificate, ...] | None = None

    def __post_init__(self) -> None:
        """
        @raise TypeError: for roots that are not a sequence of certificates (a path is read
            with C{x509.load_pem_x509_certificates(Path(path).read_bytes())}).
        """
        roots = self.roots
        if roots is None:
            return
        if (
            isinstance(roots, (str, bytes))
            or not isinstance(roots, Sequence)
            or not all(isinstance(root, x509.Certificate) for root in roots)
        ):
            raise TypeError(
                f"PKIXTrust roots must be a sequence of x509.Certificate, not {roots!r} "
                "(read a PEM file with x509.load_pem_x509_certificates)"
            )
        object.__setattr__(self, "roots", tuple(roots))

    def store(self, now: datetime.datetime | None = None) -> crypto.X509Store:
        """
        An OpenSSL certificate store holding these roots, verifying at time C{now} (default:
        the current time).
        """
        global _systemStore
        if self.roots is None and now is None and _systemStore is not None:
            return _systemStore
        store = crypto.X509Store()
        if self.roots is None:
            paths = ssl.get_default_verify_paths()
            try:
                store.load_locations(paths.cafile, paths.capath)
            except crypto.Error:
                pass  # an empty store: every PKIX path then fails, closed.
            if now is None:
                _systemStore = store
        else:
            for root in self.roots:
                store.add_cert(crypto.X509.from_cryptography(root))
        if now is not None:
            store.set_time(now)
        return store


@dataclass(frozen=True)
class PKIXOutcome:
    """
    The outcome of PKIX path validation.

    @ivar chain: the validated path, leaf first and trust anchor last; empty on failure.
    @ivar error: OpenSSL's reason on failure, else C{""}.
    @ivar errorCode: OpenSSL's X509_V_ERR code on failure, else 0.
    """

    chain: tuple[x509.Certificate, ...]
    error: str = ""
    errorCode: int = 0

    @property
    def valid(self) -> bool:
        return not self.error


def verifyPath(
    leaf: x509.Certificate,
    untrusted: Sequence[x509.Certificate],
    trust: PKIXTrust,
    now: datetime.datetime | None = None,
) -> PKIXOutcome:
    """
    Validate a PKIX path from C{leaf} through any of C{untrusted} to one of C{trust}'s roots,
    with keys and signatures as strong as OpenSSL's security level 2 demands in a handshake
    (L{txdane.dane._strength}). Host names are not checked here: see L{nameMismatch}.
    """
    context = crypto.X509StoreContext(
        trust.store(now),
        crypto.X509.from_cryptography(leaf),
        [crypto.X509.from_cryptography(c) for c in untrusted],
    )
    try:
        context.verify_certificate()
    except crypto.X509StoreContextError as e:
        code = int(e.errors[0]) if e.errors else -1
        return PKIXOutcome((), str(e) or "certificate path not trusted", code)
    path = tuple(c.to_cryptography() for c in context.get_verified_chain())
    # OpenSSL checks the purpose (a TLS server) inside a handshake, not here: do it, for
    # every certificate (an issuer's extended key usage constrains what it issues).
    for depth, certificate in enumerate(path):
        if not allowsTLSServer(certificate):
            return PKIXOutcome(
                (),
                f"certificate {depth} is not for TLS servers (its extended key usage excludes it)",
                _X509_V_ERR_INVALID_PURPOSE,
            )
    # Nor does it check the strength of keys and signatures outside a handshake.
    for depth, certificate in enumerate(path):
        problem = keyProblem(certificate)
        code = _X509_V_ERR_CA_KEY_TOO_SMALL if depth else _X509_V_ERR_EE_KEY_TOO_SMALL
        if problem is None and depth < len(path) - 1:
            problem, code = signatureProblem(certificate), _X509_V_ERR_CA_MD_TOO_WEAK
        if problem is not None:
            return PKIXOutcome((), f"certificate {depth} {problem}", code)
    return PKIXOutcome(path)


def nameMismatch(certificate: x509.Certificate, names: Iterable[str]) -> str | None:
    """
    C{None} if C{certificate} is valid for one of C{names} (DNS-IDs in the subject alternative
    names; a wildcard only as the whole left-most label, through C{service_identity}), else
    why not. A subject alternative name that is no valid pattern (an address, a misplaced
    wildcard, C{*.com}) matches nothing, and does not keep the others from matching, as in
    OpenSSL.
    """
    wanted = [n.rstrip(".") for n in names if n]
    if not wanted:
        return "no reference identifier to check the certificate against"
    try:
        patterns = _dnsPatterns(certificate)
    except (ValueError, x509.DuplicateExtension) as e:
        return f"the certificate's names cannot be read: {e}"
    problems = []
    for name in wanted:
        try:
            identity = DNS_ID(name)
        except ValueError:
            # Not a DNS name at all (an address literal), so it matches no DNS-ID.
            problems.append(name)
            continue
        if any(identity.verify(pattern) for pattern in patterns):
            return None
        problems.append(name)
    shown = ", ".join(problems)
    presented = ", ".join(certificateNames(certificate)) or "none"
    return f"the certificate is not valid for {shown} (its names: {presented})"


def _dnsPatterns(certificate: x509.Certificate) -> list[DNSPattern]:
    """
    The valid DNS-ID patterns among C{certificate}'s subject alternative names.
    """
    patterns = []
    for name in certificateNames(certificate):
        try:
            patterns.append(DNSPattern.from_bytes(name.encode("utf-8")))
        except CertificateError:
            continue
    return patterns


def certificateNames(certificate: x509.Certificate) -> list[str]:
    """
    The DNS names a certificate is issued for (subject alternative names).
    """
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.value.get_values_for_type(x509.DNSName)]

"""
SSH host keys proven by DNSSEC-signed SSHFP records (RFC 4255, 6594, 7479, 8709), for Twisted
Conch::

    from txdane.ssh import sshCommandEndpoint
    endpoint = sshCommandEndpoint(reactor, resolver, "git.example.com", b"uptime", b"me",
                                  keys=[key])
    protocol = await endpoint.connect(factory)

L{sshCommandEndpoint} runs a command on a host whose addresses and host key are validated;
L{SSHFPKnownHosts} is the host-key verifier on its own, for any Conch client that takes a
C{knownHosts}; L{checkHostKey} is the rule both apply.
"""

from txdane.ssh.endpoint import sshCommandEndpoint
from txdane.ssh.fingerprints import (
    KeyFormatError,
    SSHFPAlgorithm,
    SSHFPRecord,
    SSHFPType,
    blobFromPublicKeyLine,
    recordsForBlob,
    sha256Fingerprint,
)
from txdane.ssh.refusals import (
    SSHFPLookupError,
    SSHFPMismatchError,
    SSHFPNoCoveredKeyError,
    SSHFPUnverifiedError,
    SSHHostKeyError,
    SSHSessionTimeoutError,
)
from txdane.ssh.verifier import (
    HostKeyVerdict,
    Outcome,
    SSHFPKnownHosts,
    checkHostKey,
    preferredHostKeyAlgorithms,
)

__all__ = [
    "HostKeyVerdict",
    "KeyFormatError",
    "Outcome",
    "SSHFPAlgorithm",
    "SSHFPKnownHosts",
    "SSHFPLookupError",
    "SSHFPMismatchError",
    "SSHFPNoCoveredKeyError",
    "SSHFPRecord",
    "SSHFPType",
    "SSHFPUnverifiedError",
    "SSHHostKeyError",
    "SSHSessionTimeoutError",
    "blobFromPublicKeyLine",
    "checkHostKey",
    "preferredHostKeyAlgorithms",
    "recordsForBlob",
    "sha256Fingerprint",
    "sshCommandEndpoint",
]

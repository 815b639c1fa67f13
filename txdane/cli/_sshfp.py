"""
C{txdane generate --sshfp KEY.pub [NAME]}: the SSHFP records of an SSH public key, the lines
C{ssh-keygen -r NAME -f KEY.pub} prints (SHA-1, then SHA-256).
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path

from txdane.cli import ExitStatus, UsageError
from txdane.ssh import KeyFormatError, SSHFPRecord, blobFromPublicKeyLine, recordsForBlob


def keyFileRecords(path: Path) -> list[SSHFPRecord]:
    """
    The SSHFP records (SHA-1 and SHA-256) of every key of an OpenSSH public key file.

    @raise UsageError: for a file that cannot be read or holds no public key.
    """
    try:
        text = path.read_text()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not an OpenSSH public key file") from None
    # Blank lines and comment lines, indented or not, as OpenSSH skips them.
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise UsageError(f"{path}: no public key in the file")
    try:
        return [r for line in lines for r in recordsForBlob(blobFromPublicKeyLine(line))]
    except KeyFormatError as e:
        raise UsageError(f"{path}: {e}") from None


def generateSSHFP(options: argparse.Namespace) -> int:
    """
    Print the SSHFP records of the public key file C{options.sshfp} for C{options.host}
    (default: this machine's fully qualified name).
    """
    if options.port is not None:
        raise UsageError("--sshfp takes a key file and a host name, no port")
    path: Path = options.sshfp
    name = options.host or socket.getfqdn()
    records = keyFileRecords(path)
    if options.json:
        print(
            json.dumps(
                {
                    "name": name,
                    "records": [
                        {
                            "algorithm": r.algorithm,
                            "fingerprint_type": r.fingerprintType,
                            "fingerprint": r.fingerprint.hex(),
                            "mnemonic": r.mnemonic,
                            "record": str(r),
                        }
                        for r in records
                    ],
                },
                indent=2,
            )
        )
        return ExitStatus.OK
    if sys.stdout.isatty():
        print(f"; SSHFP records of {path}")
    for record in records:
        print(f"{name} IN SSHFP {record}")
    return ExitStatus.OK

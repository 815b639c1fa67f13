"""
C{txdane serve} follows the exit statuses of docs/cli.md: a port it cannot listen on is one
line on standard error and exit status 4, as for C{txdane lab}.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

ZONE = """\
example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
example.test. 300 IN NS ns.example.test.
ns.example.test. 300 IN A 127.0.0.1
"""


def test_cannotListen(tmp_path: Path) -> None:
    """
    The port is taken (over TCP and UDP): exit status 4, the reason in one line.
    """
    zone = tmp_path / "example.test.zone"
    zone.write_text(ZONE)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        tcp.bind(("127.0.0.1", 0))
        tcp.listen(1)
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))
        done = subprocess.run(
            [sys.executable, "-m", "txdane", "serve", "--zone", f"example.test.={zone}",
             "--interface", "127.0.0.1", "--port", str(port)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=60,
        )  # fmt: skip
    finally:
        tcp.close()
        udp.close()
    assert (done.returncode, done.stdout) == (4, "")
    assert done.stderr == (
        f"txdane: cannot listen on 127.0.0.1 port {port}: address already in use\n"
    )

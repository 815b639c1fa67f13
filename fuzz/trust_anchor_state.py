"""
Fuzz RFC 5011 trust anchor state files (Unbound's C{auto-trust-anchor-file} format). Each
gives a state, which writes back to a text that reads as the same state, or a
L{TrustAnchorStateError}, never another exception.

    python fuzz/trust_anchor_state.py -runs=100000
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz._harness import instrumented, main

with instrumented():
    from txdane.errors import TrustAnchorStateError
    from txdane.validation.anchorstate import formatState, parseState

_STATE = (
    b"; autotrust trust anchor file\n"
    b";;id: . 1\n"
    b";;last_queried: 1765000000 ;;Sat Dec  6 05:46:40 2025\n"
    b";;last_success: 1765000000 ;;Sat Dec  6 05:46:40 2025\n"
    b";;next_probe_time: 1765043200 ;;Sat Dec  6 17:46:40 2025\n"
    b";;query_failed: 0\n"
    b";;query_interval: 43200\n"
    b";;retry_time: 8640\n"
    b".\t3600\tIN\tDNSKEY\t257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= "
    b";{id = 3467 (ksk), size = 256b} ;;state=1 [ ADDPEND ] ;;count=1 "
    b";;lastchange=1765000000 ;;Sat Dec  6 05:46:40 2025\n"
    b".\t0\tIN\tDS\t20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D "
    b";;state=2 [  VALID  ] ;;count=0 ;;lastchange=0 ;;Thu Jan  1 00:00:00 1970\n"
)
_PLAIN = b". 3600 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=\n"


def testOneInput(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # as bytes a file could hold: parsed, or refused
    try:
        state = parseState(text, "<fuzz>")
    except TrustAnchorStateError as e:
        assert str(e), "an error without a message"
        return "refused"
    again = parseState(formatState(state), "<written>")
    assert again == state, (again, state)
    return "round-trip"


if __name__ == "__main__":
    main(testOneInput, [_STATE, _PLAIN])

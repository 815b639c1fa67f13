"""
The zones of the test hierarchy: what each holds, how it is signed and how it is broken,
and the constants the tests need to recognise them.
"""

from __future__ import annotations

from dataclasses import dataclass

from txdane.server.signing import NSEC3Options

#: The NSEC3 iteration count of C{iterations.test.}: above every validator's limit
#: (Unbound 150, BIND 50, Knot and PowerDNS 50).
NSEC3_HIGH_ITERATIONS = 200
#: An algorithm number no validator implements (unassigned in the IANA registry).
UNKNOWN_ALGORITHM = 200
#: A DS digest type no validator implements (unassigned).
UNKNOWN_DIGEST = 200

_DAY = 86400

#: A fixed TLSA record (DANE-EE, SPKI, SHA2-256) served at C{_443._tcp.www} of the leaf zones.
TLSA_RDATA = "3 1 1 8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1"


_NS = "ns1.test."

_LEAF = """
@ 3600 IN NS {ns}
www 300 IN A 127.0.0.1
www 300 IN AAAA ::1
_443._tcp.www 300 IN TLSA {tlsa}
@ 300 IN MX 10 mx
mx 300 IN A 127.0.0.2
_xmpp-client._tcp 300 IN SRV 5 0 5222 www
ssh 300 IN A 127.0.0.3
ssh 300 IN SSHFP 4 2 {sshfp}
*.wild 300 IN A 127.0.0.5
*.wild 300 IN TXT "wildcard"
alias 300 IN CNAME www
alias2 300 IN CNAME alias
nodata 300 IN A 127.0.0.4
"""

_SSHFP = "0" * 64


def _soa(origin: str) -> str:
    contact = "hostmaster." + (origin if origin != "." else "")
    return f"@ 3600 IN SOA {_NS} {contact} 1 7200 3600 1209600 300"


@dataclass(frozen=True)
class _Spec:
    origin: str
    body: str
    nsec3: NSEC3Options | None = None
    signed: bool = True
    timing: str = "valid"  # "valid", "expired", "future"
    ds: str = "good"  # how the parent's DS looks: good, none, bad, unknownalg, unknowndigest
    splitKeys: bool = False


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        ".",
        f"@ 3600 IN NS {_NS}\nns1.test. 3600 IN A 127.0.0.1\nns1.test. 3600 IN AAAA ::1\n",
        splitKeys=True,
    ),
    _Spec("test.", "@ 3600 IN NS ns1\nns1 3600 IN A 127.0.0.1\nns1 3600 IN AAAA ::1\n"),
    _Spec(
        "example.test.",
        _LEAF
        + "redirect 300 IN DNAME nsec3.test.\n"
        + "nosig 300 IN A 127.0.0.6\n"
        + "wrongsigner 300 IN A 127.0.0.7\n"
        + "tounsigned 300 IN CNAME www.unsigned.test.\n",
    ),
    _Spec("nsec3.test.", _LEAF, nsec3=NSEC3Options()),
    _Spec(
        "optout.test.",
        "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n_443._tcp.www 300 IN TLSA {tlsa}\n"
        "insecure 3600 IN NS {ns}\n",
        nsec3=NSEC3Options(optOut=True),
    ),
    _Spec("insecure.optout.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", signed=False),
    _Spec("unsigned.test.", _LEAF, signed=False, ds="none"),
    _Spec("expired.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", timing="expired"),
    _Spec("future.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", timing="future"),
    _Spec("badds.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", ds="bad"),
    _Spec("unknownalg.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", ds="unknownalg"),
    _Spec("unknowndigest.test.", "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n", ds="unknowndigest"),
    _Spec(
        "iterations.test.",
        "@ 3600 IN NS {ns}\nwww 300 IN A 127.0.0.1\n",
        nsec3=NSEC3Options(iterations=NSEC3_HIGH_ITERATIONS),
    ),
)
